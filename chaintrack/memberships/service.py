"""Chain memberships: which enterprise sits on which chain (and node), in which role.

A membership is **current on D** when ``started_on <= D`` and (``ended_on`` is empty or
``ended_on > D``): ``ended_on`` is the first day it no longer holds. That rule lives in
:func:`current_on` and nowhere else; reports reuse it. Memberships are history: they
end, they are never deleted. Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, joinedload

from chaintrack.chains.service import require_chain
from chaintrack.common.concurrency import check_if_match
from chaintrack.common.pagination import PageParams, paginate, sort_clause
from chaintrack.errors import Conflict, FieldError, ValidationProblem, not_found
from chaintrack.history import membership_current as current_on
from chaintrack.history import office_today
from chaintrack.memberships.schemas import MembershipCreate, MembershipEnd, MembershipUpdate
from chaintrack.models import Chain, Enterprise, MapNode, Membership
from chaintrack.models.enums import MembershipRole
from chaintrack.models.membership import MEMBERSHIP_OVERLAP
from chaintrack.regions import in_region, region_prefixes

API = "/api/v1"


def periods_meet(
    start: dt.date, end: dt.date | None, other_start: dt.date, other_end: dt.date | None
) -> bool:
    """Two periods [started_on, ended_on) have a day in common (None: open-ended).
    The same rule as :func:`_overlapping`, for rows already loaded."""
    return (other_end is None or other_end > start) and (end is None or other_start < end)


def _overlapping(start: dt.date, end: dt.date | None) -> ColumnElement[bool]:
    """SQL: the membership's period [started_on, ended_on) meets [start, end)."""
    cond = or_(Membership.ended_on.is_(None), Membership.ended_on > start)
    if end is not None:
        cond = and_(cond, Membership.started_on < end)
    return cond


def _loaded() -> Select[tuple[Membership]]:
    """Memberships with enterprise, chain and node loaded by joins (no lazy loads)."""
    return (
        select(Membership)
        .join(Membership.enterprise)
        .options(
            contains_eager(Membership.enterprise),
            joinedload(Membership.chain, innerjoin=True),
            joinedload(Membership.node),
        )
    )


def get_membership(session: Session, membership_id: int, *, refresh: bool = False) -> Membership:
    stmt = _loaded().where(Membership.id == membership_id)
    if refresh:
        stmt = stmt.execution_options(populate_existing=True)
    membership = session.scalars(stmt).unique().one_or_none()
    if membership is None:
        raise not_found("membership", membership_id)
    return membership


# --- checks -------------------------------------------------------------------------


def _require_enterprise_field(session: Session, enterprise_id: int) -> None:
    if session.get(Enterprise, enterprise_id) is None:
        raise ValidationProblem.for_field(
            "enterprise_id",
            f"企业{enterprise_id}不存在 / enterprise {enterprise_id} does not exist; "
            "register it first (POST /enterprises)",
            code="unknown_reference",
        )


def _check_node(session: Session, chain_id: int, node_id: int | None) -> None:
    if node_id is None:
        return
    node = session.get(MapNode, node_id)
    if node is None:
        raise ValidationProblem.for_field(
            "node_id",
            f"图谱节点{node_id}不存在 / map node {node_id} does not exist",
            code="unknown_reference",
        )
    if node.chain_id != chain_id:
        other = session.get(Chain, node.chain_id)
        other_name = f"“{other.name_zh}”({other.code})" if other else str(node.chain_id)
        raise ValidationProblem.for_field(
            "node_id",
            f"图谱节点{node_id}“{node.name_zh}”属于产业链{other_name}，不属于本链{chain_id} / "
            f"map node {node_id} belongs to chain {node.chain_id}, not to chain {chain_id}: "
            "a membership can only sit on a node of its own chain",
            code="cross_chain",
        )


def check_no_overlap(
    role: MembershipRole,
    start: dt.date,
    end: dt.date | None,
    others: Iterable[tuple[int, dt.date, dt.date | None]],
) -> None:
    """One enterprise cannot hold two overlapping memberships with the same chain, node and
    role: 409 naming the first of ``others`` (id, started_on, ended_on: the enterprise's
    other memberships of that chain, node and role) whose period meets [start, end)."""
    for other_id, other_start, other_end in others:
        if periods_meet(start, end, other_start, other_end):
            raise Conflict(
                f"该企业已以{role.label_zh}身份在本链（同一节点）登记，见成员关系{other_id}"
                f"（自{other_start}起） / the enterprise already holds a {role.value} "
                f"membership on this chain and node for this period: membership {other_id}",
                errors=[
                    FieldError(
                        location="body",
                        field="started_on",
                        message="overlapping membership",
                        code="overlap",
                    )
                ],
                existing_id=other_id,
                existing=f"{API}/memberships/{other_id}",
            )


def check_date_order(started_on: dt.date, ended_on: dt.date | None, field: str) -> None:
    """A membership ends (``ended_on``, its first day no longer held) on or after its start."""
    if ended_on is not None and ended_on < started_on:
        raise ValidationProblem.for_field(
            field,
            f"结束日期{ended_on}早于开始日期{started_on} / ended_on ({ended_on}) cannot be "
            f"before started_on ({started_on})",
            code="date_order",
        )


def _check_duplicate(
    session: Session,
    *,
    enterprise_id: int,
    chain_id: int,
    node_id: int | None,
    role: MembershipRole,
    start: dt.date,
    end: dt.date | None,
    exclude_id: int | None = None,
) -> None:
    stmt = select(Membership.id, Membership.started_on, Membership.ended_on).where(
        Membership.enterprise_id == enterprise_id,
        Membership.chain_id == chain_id,
        Membership.role == role,
        Membership.node_id.is_(None) if node_id is None else Membership.node_id == node_id,
        _overlapping(start, end),
    )
    if exclude_id is not None:
        stmt = stmt.where(Membership.id != exclude_id)
    row = session.execute(stmt.order_by(Membership.id).limit(1)).first()
    check_no_overlap(role, start, end, [tuple(row)] if row is not None else [])


def _is_overlap(exc: IntegrityError) -> bool:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None) == MEMBERSHIP_OVERLAP


@contextmanager
def _refusing_overlap(session: Session, slot: dict[str, Any]) -> Iterator[None]:
    """Apply the change made in the block and flush it; an overlap is the check's 409.

    ``slot`` holds the arguments :func:`_check_duplicate` was called with. The check
    cannot see a row another transaction has not committed yet; on PostgreSQL the
    exclusion constraint waits for that transaction and fires if it commits. The change
    is made and flushed in a SAVEPOINT (begun before the change: beginning one flushes
    what is pending), so that after a refusal the check runs again, now sees the
    committed row and raises the Conflict that names it.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield  # SQLite serialises writers: the check has seen every row.
        session.flush()
        return
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError as exc:
        if not _is_overlap(exc):
            raise
        with session.no_autoflush:
            _check_duplicate(session, **slot)
        raise Conflict(  # the other row is gone again (its writer rolled it back since)
            "该企业在本链同一节点同一身份的成员关系期间重叠，请刷新后重试 / the enterprise "
            "already holds a membership of this role on this chain and node for this "
            "period; reload and try again"
        ) from exc


# --- writes -------------------------------------------------------------------------


def create_membership(session: Session, chain_id: int, data: MembershipCreate) -> Membership:
    require_chain(session, chain_id)
    _require_enterprise_field(session, data.enterprise_id)
    _check_node(session, chain_id, data.node_id)
    slot: dict[str, Any] = {
        "enterprise_id": data.enterprise_id,
        "chain_id": chain_id,
        "node_id": data.node_id,
        "role": data.role,
        "start": data.started_on,
        "end": None,
    }
    _check_duplicate(session, **slot)
    membership = Membership(chain_id=chain_id, **data.model_dump())
    with _refusing_overlap(session, slot):
        session.add(membership)
    return get_membership(session, membership.id, refresh=True)


def update_membership(
    session: Session, membership_id: int, data: MembershipUpdate, if_match: str | None
) -> Membership:
    membership = get_membership(session, membership_id)
    check_if_match(if_match, membership)
    changes = data.model_dump(exclude_unset=True)
    node_id = changes.get("node_id", membership.node_id)
    role = changes.get("role", membership.role)
    started_on = changes.get("started_on", membership.started_on)
    if "node_id" in changes:
        _check_node(session, membership.chain_id, node_id)
    check_date_order(started_on, membership.ended_on, "started_on")
    slot: dict[str, Any] = {
        "enterprise_id": membership.enterprise_id,
        "chain_id": membership.chain_id,
        "node_id": node_id,
        "role": role,
        "start": started_on,
        "end": membership.ended_on,
        "exclude_id": membership.id,
    }
    if {"node_id", "role", "started_on"} & changes.keys():
        _check_duplicate(session, **slot)
    with _refusing_overlap(session, slot):
        for name, value in changes.items():
            setattr(membership, name, value)
    return get_membership(session, membership.id, refresh=True)


def end_membership(
    session: Session, membership_id: int, data: MembershipEnd, if_match: str | None
) -> Membership:
    membership = get_membership(session, membership_id)
    check_if_match(if_match, membership)
    if membership.ended_on is not None:
        raise Conflict(
            f"该成员关系已于{membership.ended_on}结束 / membership {membership.id} already "
            f"ended on {membership.ended_on}",
            ended_on=membership.ended_on.isoformat(),
        )
    check_date_order(membership.started_on, data.ended_on, "ended_on")
    membership.ended_on = data.ended_on
    membership.end_reason = data.reason
    session.flush()
    return get_membership(session, membership.id, refresh=True)


# --- lists --------------------------------------------------------------------------

SORTS: dict[str, Any] = {
    "started_on": Membership.started_on,
    "ended_on": Membership.ended_on,
    "role": Membership.role,
    "name": Enterprise.name,
    "uscc": Enterprise.uscc,
    "region_code": Enterprise.region_code,
    "created_at": Membership.created_at,
}


def region_filter(session: Session, region_code: str) -> ColumnElement[bool]:
    """Enterprises registered in the region or below it, including under abolished codes
    that the region took over (济南 370100 covers old 莱芜 3712xx codes): the one rule in
    chaintrack.regions."""
    return in_region(Enterprise.region_code, region_prefixes(session, region_code))


def enterprise_text(q: str) -> ColumnElement[bool]:
    return or_(Enterprise.name.contains(q, autoescape=True), Enterprise.uscc == q.strip().upper())


def list_chain_memberships(
    session: Session,
    chain_id: int,
    page: PageParams,
    *,
    role: MembershipRole | None = None,
    current: bool = True,
    as_of: dt.date | None = None,
    node_id: int | None = None,
    region_code: str | None = None,
    q: str | None = None,
    sort: str | None = None,
) -> tuple[int, Sequence[Membership]]:
    require_chain(session, chain_id)
    stmt = _loaded().where(Membership.chain_id == chain_id)
    if current or as_of is not None:
        stmt = stmt.where(current_on(as_of or office_today()))
    if role is not None:
        stmt = stmt.where(Membership.role == role)
    if node_id is not None:
        stmt = stmt.where(Membership.node_id == node_id)
    if region_code:
        stmt = stmt.where(region_filter(session, region_code))
    if q:
        stmt = stmt.where(enterprise_text(q))
    default = [Membership.role, Enterprise.name, Membership.id]
    stmt = stmt.order_by(*sort_clause(sort, SORTS, default))
    return paginate(session, stmt, page)


def list_enterprise_memberships(
    session: Session,
    enterprise_id: int,
    page: PageParams,
    *,
    chain_id: int | None = None,
    role: MembershipRole | None = None,
    current: bool = False,
    as_of: dt.date | None = None,
    sort: str | None = None,
) -> tuple[int, Sequence[Membership]]:
    if session.get(Enterprise, enterprise_id) is None:
        raise not_found("enterprise", enterprise_id)
    stmt = _loaded().where(Membership.enterprise_id == enterprise_id)
    if current or as_of is not None:
        stmt = stmt.where(current_on(as_of or office_today()))
    if chain_id is not None:
        stmt = stmt.where(Membership.chain_id == chain_id)
    if role is not None:
        stmt = stmt.where(Membership.role == role)
    default = [Membership.started_on.desc(), Membership.id.desc()]
    stmt = stmt.order_by(*sort_clause(sort, SORTS, default))
    return paginate(session, stmt, page)
