"""Rules and queries for chain groups and chains.

Leadership terms live in ``service_leaders.py``. Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, joinedload

from chaintrack.chains.schemas import ChainCreate, ChainGroupCreate, ChainGroupUpdate, ChainUpdate
from chaintrack.common.concurrency import check_if_match
from chaintrack.common.pagination import PageParams, paginate, sort_clause
from chaintrack.errors import Conflict, ValidationProblem, not_found
from chaintrack.models import Chain, ChainGroup, Region
from chaintrack.models.enums import ChainStatus

API = "/api/v1"

# --- chain groups -----------------------------------------------------------------

GROUP_SORTS = {
    "position": ChainGroup.position,
    "code": ChainGroup.code,
    "name_zh": ChainGroup.name_zh,
    "created_at": ChainGroup.created_at,
}


def get_group(session: Session, group_id: int) -> ChainGroup:
    group = session.get(ChainGroup, group_id)
    if group is None:
        raise not_found("chain group", group_id)
    return group


def _check_group_code_free(session: Session, code: str, exclude_id: int | None = None) -> None:
    stmt = select(ChainGroup.id).where(ChainGroup.code == code)
    if exclude_id is not None:
        stmt = stmt.where(ChainGroup.id != exclude_id)
    existing = session.scalar(stmt)
    if existing is not None:
        raise Conflict(
            f"产业链分组代码“{code}”已存在 / chain group code '{code}' is already used "
            f"by chain group {existing}",
            field="code",
            existing_id=existing,
            existing=f"{API}/chain-groups/{existing}",
        )


def create_group(session: Session, data: ChainGroupCreate) -> ChainGroup:
    _check_group_code_free(session, data.code)
    group = ChainGroup(**data.model_dump())
    session.add(group)
    session.flush()
    return group


def update_group(
    session: Session, group_id: int, data: ChainGroupUpdate, if_match: str | None
) -> ChainGroup:
    group = get_group(session, group_id)
    check_if_match(if_match, group)
    changes = data.model_dump(exclude_unset=True)
    if "code" in changes and changes["code"] != group.code:
        _check_group_code_free(session, changes["code"], exclude_id=group.id)
    for name, value in changes.items():
        setattr(group, name, value)
    session.flush()
    return group


def list_groups(
    session: Session, page: PageParams, *, q: str | None = None, sort: str | None = None
) -> tuple[int, Sequence[ChainGroup]]:
    stmt: Select[tuple[ChainGroup]] = select(ChainGroup)
    if q:
        stmt = stmt.where(_name_filter(q, ChainGroup))
    stmt = stmt.order_by(*sort_clause(sort, GROUP_SORTS, [ChainGroup.position, ChainGroup.id]))
    return paginate(session, stmt, page)


# --- chains ---------------------------------------------------------------------

CHAIN_SORTS = {
    "code": Chain.code,
    "name_zh": Chain.name_zh,
    "name_en": Chain.name_en,
    "status": Chain.status,
    "created_at": Chain.created_at,
    "updated_at": Chain.updated_at,
}


def _name_filter(q: str, model: Any) -> Any:
    return or_(
        model.name_zh.contains(q, autoescape=True),
        model.name_en.icontains(q, autoescape=True),
        model.code.icontains(q, autoescape=True),
    )


def _chain_query() -> Select[tuple[Chain]]:
    return select(Chain).options(joinedload(Chain.group))


def get_chain(session: Session, chain_id: int) -> Chain:
    """The chain with its group summary loaded (404 when unknown)."""
    chain = session.scalars(_chain_query().where(Chain.id == chain_id)).one_or_none()
    if chain is None:
        raise not_found("chain", chain_id)
    return chain


def require_chain(session: Session, chain_id: int) -> int:
    """404 unless the chain exists; one cheap statement. Returns the id."""
    found = session.scalar(select(Chain.id).where(Chain.id == chain_id))
    if found is None:
        raise not_found("chain", chain_id)
    return found


def _reload(session: Session, chain_id: int) -> Chain:
    stmt = _chain_query().where(Chain.id == chain_id).execution_options(populate_existing=True)
    return session.scalars(stmt).one()


def _check_chain_code_free(session: Session, code: str, exclude_id: int | None = None) -> None:
    stmt = select(Chain.id).where(Chain.code == code)
    if exclude_id is not None:
        stmt = stmt.where(Chain.id != exclude_id)
    existing = session.scalar(stmt)
    if existing is not None:
        raise Conflict(
            f"产业链代码“{code}”已存在 / chain code '{code}' is already used by chain {existing}",
            field="code",
            existing_id=existing,
            existing=f"{API}/chains/{existing}",
        )


def _check_group_exists(session: Session, group_id: int | None) -> None:
    if group_id is None:
        return
    if session.get(ChainGroup, group_id) is None:
        raise ValidationProblem.for_field(
            "group_id",
            f"产业链分组{group_id}不存在 / chain group {group_id} does not exist",
            code="unknown_reference",
        )


def _check_region(session: Session, code: str) -> None:
    region = session.get(Region, code)
    if region is None:
        raise ValidationProblem.for_field(
            "region_code",
            f"行政区划代码“{code}”不在区划目录中 / region code '{code}' is not in the "
            "region catalogue (GET /regions)",
            code="unknown_reference",
        )
    if region.abolished_on is not None:
        successor = f"，请使用{region.successor_code}" if region.successor_code else ""
        successor_en = f"; use {region.successor_code}" if region.successor_code else ""
        raise ValidationProblem.for_field(
            "region_code",
            f"行政区划“{region.name_zh}”（{code}）已于{region.abolished_on}撤销{successor} / "
            f"region {code} was abolished on {region.abolished_on}{successor_en}",
            code="abolished_region",
        )


def create_chain(session: Session, data: ChainCreate) -> Chain:
    _check_chain_code_free(session, data.code)
    _check_group_exists(session, data.group_id)
    _check_region(session, data.region_code)
    chain = Chain(**data.model_dump())
    session.add(chain)
    session.flush()
    return _reload(session, chain.id)


def update_chain(session: Session, chain_id: int, data: ChainUpdate, if_match: str | None) -> Chain:
    chain = get_chain(session, chain_id)
    check_if_match(if_match, chain)
    changes = data.model_dump(exclude_unset=True)
    if "code" in changes and changes["code"] != chain.code:
        _check_chain_code_free(session, changes["code"], exclude_id=chain.id)
    if "group_id" in changes:
        _check_group_exists(session, changes["group_id"])
    if "region_code" in changes and changes["region_code"] != chain.region_code:
        _check_region(session, changes["region_code"])
    for name, value in changes.items():
        setattr(chain, name, value)
    session.flush()
    return _reload(session, chain.id)


def list_chains(
    session: Session,
    page: PageParams,
    *,
    group_id: int | None = None,
    status: ChainStatus | None = None,
    region_code: str | None = None,
    q: str | None = None,
    sort: str | None = None,
) -> tuple[int, Sequence[Chain]]:
    stmt = _chain_query()
    if group_id is not None:
        stmt = stmt.where(Chain.group_id == group_id)
    if status is not None:
        stmt = stmt.where(Chain.status == status)
    if region_code:
        stmt = stmt.where(Chain.region_code == region_code)
    if q:
        stmt = stmt.where(_name_filter(q, Chain))
    stmt = stmt.order_by(*sort_clause(sort, CHAIN_SORTS, [Chain.code, Chain.id]))
    return paginate(session, stmt, page)
