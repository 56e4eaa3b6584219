"""Lists per chain and period (清单). Services flush, never commit.

Every list carries its ``chain_id``, so a later per-chain permission check can be
applied to every write path here and in service_entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from chaintrack.common.concurrency import check_if_match
from chaintrack.common.pagination import PageParams, paginate, sort_clause
from chaintrack.errors import Conflict, ValidationProblem, not_found
from chaintrack.lists.schemas import ChainListCreate, ChainListUpdate
from chaintrack.models import Chain, ChainList, ListEntry, ListType


@dataclass(frozen=True)
class ListView:
    """A list with its type and how many entries it holds."""

    chain_list: ChainList
    list_type: ListType
    entry_count: int


_SORTS = {
    "period": ChainList.period,
    "created_at": ChainList.created_at,
    "updated_at": ChainList.updated_at,
    "type": ListType.code,
}


def get_chain(session: Session, chain_id: int) -> Chain:
    chain = session.get(Chain, chain_id)
    if chain is None:
        raise not_found("chain", chain_id)
    return chain


def get_list(session: Session, list_id: int) -> ChainList:
    row = session.get(ChainList, list_id)
    if row is None:
        raise not_found("list", list_id)
    return row


def _entry_count(session: Session, list_id: int) -> int:
    return session.scalar(select(func.count()).where(ListEntry.list_id == list_id)) or 0


def list_view(session: Session, list_id: int) -> ListView:
    """One list with its full type and entry count (two statements)."""
    row = session.execute(
        select(ChainList, ListType)
        .join(ListType, ListType.id == ChainList.list_type_id)
        .where(ChainList.id == list_id)
    ).first()
    if row is None:
        raise not_found("list", list_id)
    return ListView(row[0], row[1], _entry_count(session, list_id))


def list_chain_lists(
    session: Session,
    chain_id: int,
    page: PageParams,
    *,
    list_type_id: int | None = None,
    type_code: str | None = None,
    period: str | None = None,
    year: int | None = None,
    sort: str | None = None,
) -> tuple[int, list[ListView]]:
    """A chain's lists, each with its type and entry count: three statements per page."""
    get_chain(session, chain_id)
    filters: list[ColumnElement[bool]] = [ChainList.chain_id == chain_id]
    if list_type_id is not None:
        filters.append(ChainList.list_type_id == list_type_id)
    if type_code:
        filters.append(ListType.code == type_code)
    if period:
        filters.append(ChainList.period == period.strip().upper())
    if year is not None:
        filters.append(ChainList.period.startswith(str(year)))

    counts = (
        select(ListEntry.list_id, func.count().label("n"))
        .where(ListEntry.chain_id == chain_id)
        .group_by(ListEntry.list_id)
        .subquery()
    )
    order = sort_clause(sort, _SORTS, [ChainList.id])
    if not sort:
        order = [ChainList.period.desc(), ListType.code.asc(), *order]
    stmt = (
        select(ChainList, ListType, func.coalesce(counts.c.n, 0))
        .join(ListType, ListType.id == ChainList.list_type_id)
        .outerjoin(counts, counts.c.list_id == ChainList.id)
        .where(*filters)
        .order_by(*order)
    )
    # The entry counts do not change the number of lists: count without them.
    count = (
        select(ChainList.id).join(ListType, ListType.id == ChainList.list_type_id).where(*filters)
    )
    total, rows = paginate(session, stmt, page, count=count)
    return total, [ListView(r[0], r[1], int(r[2])) for r in rows]


def _refuse_duplicate(
    session: Session, chain_id: int, list_type_id: int, period: str, except_id: int | None = None
) -> None:
    existing = session.scalars(
        select(ChainList).where(
            ChainList.chain_id == chain_id,
            ChainList.list_type_id == list_type_id,
            ChainList.period == period,
        )
    ).first()
    if existing is not None and existing.id != except_id:
        raise Conflict(
            f"该产业链已有{period}期间的此类清单（#{existing.id}） / this chain already has a "
            f"list of this type for {period}",
            existing_id=existing.id,
            existing_url=f"/api/v1/lists/{existing.id}",
        )


def create_list(session: Session, chain_id: int, data: ChainListCreate) -> ListView:
    get_chain(session, chain_id)
    list_type = session.get(ListType, data.list_type_id)
    if list_type is None:
        raise ValidationProblem.for_field(
            "list_type_id",
            f"清单类型{data.list_type_id}不存在 / list type {data.list_type_id} does not exist",
            code="unknown_reference",
        )
    if not list_type.is_active:
        raise Conflict(
            f"清单类型“{list_type.name_zh}”已停用 / list type {list_type.code} is inactive; "
            "reactivate it or choose another",
            list_type_id=list_type.id,
        )
    _refuse_duplicate(session, chain_id, list_type.id, data.period)
    row = ChainList(
        chain_id=chain_id,
        list_type_id=list_type.id,
        period=data.period,
        title=data.title,
        note=data.note,
    )
    session.add(row)
    session.flush()
    return ListView(row, list_type, 0)


def update_list(
    session: Session, list_id: int, data: ChainListUpdate, if_match: str | None
) -> ListView:
    row = get_list(session, list_id)
    check_if_match(if_match, row)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "period" in changes and changes["period"] != row.period:
        _refuse_duplicate(session, row.chain_id, row.list_type_id, changes["period"], row.id)
    for name, value in changes.items():
        setattr(row, name, value)
    session.flush()
    return list_view(session, list_id)
