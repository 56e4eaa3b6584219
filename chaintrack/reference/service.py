"""Queries over the reference catalogues: regions, tiers, project types."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from chaintrack.common.pagination import PageParams, paginate, sort_clause
from chaintrack.errors import not_found
from chaintrack.models import ProjectTypeDefinition, Region, TierDefinition
from chaintrack.models.enums import ProjectType

REGION_SORTS = {"code": Region.code, "name_zh": Region.name_zh}


def list_regions(
    session: Session,
    page: PageParams,
    *,
    parent_code: str | None = None,
    include_abolished: bool = True,
    q: str | None = None,
    sort: str | None = None,
) -> tuple[int, Sequence[Region]]:
    stmt: Select[tuple[Region]] = select(Region)
    if parent_code:
        stmt = stmt.where(Region.parent_code == parent_code)
    if not include_abolished:
        stmt = stmt.where(Region.abolished_on.is_(None))
    if q:
        stmt = stmt.where(
            or_(
                Region.name_zh.contains(q, autoescape=True),
                Region.name_en.icontains(q, autoescape=True),
                Region.code == q,
            )
        )
    stmt = stmt.order_by(*sort_clause(sort, REGION_SORTS, [Region.code]))
    return paginate(session, stmt, page)


def get_region(session: Session, code: str) -> Region:
    region = session.get(Region, code)
    if region is None:
        raise not_found("region", code)
    return region


def list_tiers(session: Session) -> Sequence[TierDefinition]:
    """The ladder, top rung first."""
    stmt = select(TierDefinition).order_by(TierDefinition.rank.desc(), TierDefinition.code)
    return session.scalars(stmt).all()


def list_project_types(session: Session) -> list[ProjectTypeDefinition]:
    """In the order build, fill, extend, strengthen (the enumeration's order)."""
    order = {t: i for i, t in enumerate(ProjectType)}
    rows = session.scalars(select(ProjectTypeDefinition)).all()
    return sorted(rows, key=lambda r: order.get(r.code, len(order)))
