"""Offset pagination with a server-side maximum page size and a total count."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, NamedTuple, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from chaintrack.config import get_settings
from chaintrack.errors import ValidationProblem

T = TypeVar("T")

MAX_PAGE_SIZE = get_settings().page_size_max


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Rows matching the filters, across all pages")
    limit: int
    offset: int


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Page size (max {MAX_PAGE_SIZE})")
    ] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def sort_clause(sort: str | None, allowed: dict[str, Any], default: Sequence[Any]) -> list[Any]:
    """``sort=name`` or ``sort=-created_at``; unknown keys are a 422 naming the choices."""
    if not sort:
        return list(default)
    clauses = []
    for key in sort.split(","):
        key = key.strip()
        desc = key.startswith("-")
        name = key.lstrip("-+")
        if name not in allowed:
            raise ValidationProblem.for_field(
                "sort",
                f"unknown sort key '{name}'; use one of {', '.join(sorted(allowed))}",
                location="query",
            )
        col = allowed[name]
        clauses.append(col.desc() if desc else col.asc())
    return [*clauses, *default]


class Paged(NamedTuple):
    """One page of a list: ``total`` rows match the filters, ``rows`` is this page."""

    total: int
    rows: Sequence[Any]


def paginate(
    session: Session,
    stmt: Select[Any],
    page: PageParams,
    *,
    count: Select[Any] | None = None,
) -> Paged:
    """Two statements whatever the page size: the count and the page.

    ``rows`` holds the selected object when ``stmt`` selects one thing (an entity or a
    column), and a ``Row`` per result otherwise. ``count`` is a statement with the same
    rows as ``stmt`` but cheaper to count (no joins that cannot change the number of rows,
    no window functions or aggregates computed per row); without it ``stmt`` is counted.
    """
    counted = (stmt if count is None else count).order_by(None)
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    paged = stmt.limit(page.limit).offset(page.offset)
    if len(stmt.column_descriptions) == 1:
        return Paged(total, session.scalars(paged).all())
    return Paged(total, session.execute(paged).all())
