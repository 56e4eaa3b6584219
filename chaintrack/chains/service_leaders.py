"""Leadership terms on a chain (总链长 / 链长 / 副链长 / 联络员).

Terms are history: they end (``end_on``), they are never deleted. ``end_on`` is the
day the term ended, i.e. the successor's first day, so a term is in office on D when
``start_on <= D < end_on`` — the same half-open rule as memberships.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from chaintrack.chains.schemas import ChainLeaderCreate, ChainLeaderUpdate
from chaintrack.chains.service import API, require_chain
from chaintrack.common.concurrency import check_if_match
from chaintrack.common.pagination import PageParams, paginate, sort_clause
from chaintrack.errors import Conflict, ValidationProblem, not_found
from chaintrack.history import leader_current as leader_in_office_on
from chaintrack.history import office_today
from chaintrack.models import ChainLeader
from chaintrack.models.enums import LeaderRole

ROLE_ORDER = case({role.value: i for i, role in enumerate(LeaderRole)}, value=ChainLeader.role)
LEADER_SORTS: dict[str, Any] = {
    "role": ROLE_ORDER,
    "start_on": ChainLeader.start_on,
    "end_on": ChainLeader.end_on,
    "person_name": ChainLeader.person_name,
}


def get_leader(session: Session, leader_id: int) -> ChainLeader:
    leader = session.get(ChainLeader, leader_id)
    if leader is None:
        raise not_found("chain leader", leader_id)
    return leader


def _check_term(start_on: dt.date, end_on: dt.date | None, field: str = "end_on") -> None:
    if end_on is not None and end_on < start_on:
        raise ValidationProblem.for_field(
            field,
            f"任期结束日期{end_on}早于开始日期{start_on} / the term cannot end ({end_on}) "
            f"before it starts ({start_on})",
            code="date_order",
        )


def _check_no_overlap(
    session: Session,
    chain_id: int,
    role: LeaderRole,
    person_name: str,
    start_on: dt.date,
    end_on: dt.date | None,
    exclude_id: int | None = None,
) -> None:
    """The same person cannot hold two overlapping terms in the same role on a chain."""
    stmt = select(ChainLeader.id).where(
        ChainLeader.chain_id == chain_id,
        ChainLeader.role == role,
        ChainLeader.person_name == person_name,
        or_(ChainLeader.end_on.is_(None), ChainLeader.end_on > start_on),
    )
    if end_on is not None:
        stmt = stmt.where(ChainLeader.start_on < end_on)
    if exclude_id is not None:
        stmt = stmt.where(ChainLeader.id != exclude_id)
    existing = session.scalar(stmt.limit(1))
    if existing is not None:
        raise Conflict(
            f"{person_name}在该链已有重叠的{role.label_zh}任期 / {person_name} already holds an "
            f"overlapping {role.value} term on this chain (chain leader {existing})",
            existing_id=existing,
            existing=f"{API}/chain-leaders/{existing}",
        )


def create_leader(session: Session, chain_id: int, data: ChainLeaderCreate) -> ChainLeader:
    require_chain(session, chain_id)
    _check_term(data.start_on, data.end_on)
    _check_no_overlap(session, chain_id, data.role, data.person_name, data.start_on, data.end_on)
    leader = ChainLeader(chain_id=chain_id, **data.model_dump())
    session.add(leader)
    session.flush()
    return leader


def update_leader(
    session: Session, leader_id: int, data: ChainLeaderUpdate, if_match: str | None
) -> ChainLeader:
    leader = get_leader(session, leader_id)
    check_if_match(if_match, leader)
    changes = data.model_dump(exclude_unset=True)
    start_on = changes.get("start_on", leader.start_on)
    end_on = changes.get("end_on", leader.end_on)
    _check_term(start_on, end_on, "end_on" if "end_on" in changes else "start_on")
    _check_no_overlap(
        session,
        leader.chain_id,
        changes.get("role", leader.role),
        changes.get("person_name", leader.person_name),
        start_on,
        end_on,
        exclude_id=leader.id,
    )
    for name, value in changes.items():
        setattr(leader, name, value)
    session.flush()
    return leader


def list_leaders(
    session: Session,
    chain_id: int,
    page: PageParams,
    *,
    current: bool = False,
    as_of: dt.date | None = None,
    role: LeaderRole | None = None,
    sort: str | None = None,
) -> tuple[int, Sequence[ChainLeader]]:
    require_chain(session, chain_id)
    stmt = select(ChainLeader).where(ChainLeader.chain_id == chain_id)
    if current or as_of is not None:
        stmt = stmt.where(leader_in_office_on(as_of or office_today()))
    if role is not None:
        stmt = stmt.where(ChainLeader.role == role)
    default = [ROLE_ORDER, ChainLeader.start_on.desc(), ChainLeader.id]
    stmt = stmt.order_by(*sort_clause(sort, LEADER_SORTS, default))
    return paginate(session, stmt, page)
