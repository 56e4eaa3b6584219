"""Offset pagination with a server-side maximum page size and a total count."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
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


def sort_pattern(keys: Iterable[str], *, multiple: bool = True) -> str:
    """The ``sort`` values a list accepts: one or more of ``keys``, comma-separated, each
    with an optional ``-`` (descending) or ``+``; no spaces, no empty keys."""
    names = sorted(keys, key=lambda k: (-len(k), k))
    one = "[+-]?(?:" + "|".join(re.escape(k) for k in names) + ")"
    return f"^{one}(?:,{one})*$" if multiple else f"^{one}$"


def sort_query(
    keys: Iterable[str],
    description: str | None = None,
    example: str | None = None,
    *,
    multiple: bool = True,
) -> Any:
    """The ``Query`` of a list's ``sort`` parameter (``Annotated[str | None, sort_query(..)]``):
    documented (and checked) as exactly the values :func:`sort_clause` accepts for
    ``keys``, so a generated client cannot send a key the server refuses."""
    names = list(keys)
    if description is None:
        description = (
            "Comma-separated keys, `-` for descending" if multiple else "`-` for descending"
        )
    return Query(
        pattern=sort_pattern(names, multiple=multiple),
        description=f"{description}: {', '.join(names)}",
        examples=[example or f"-{names[0]}"],
    )


def sort_clause(sort: str | None, allowed: dict[str, Any], default: Sequence[Any]) -> list[Any]:
    """``sort=name`` or ``sort=-created_at,code``; anything else is a 422 naming the
    choices (the same rule as the documented pattern, :func:`sort_pattern`)."""
    if not sort:
        return list(default)
    if re.fullmatch(sort_pattern(allowed), sort) is None:
        raise ValidationProblem.for_field(
            "sort",
            f"sort must be keys from {', '.join(sorted(allowed))}, comma-separated, "
            "each with an optional '-' for descending",
            location="query",
        )
    clauses = []
    for key in sort.split(","):
        desc = key.startswith("-")
        col = allowed[key.lstrip("-+")]
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
