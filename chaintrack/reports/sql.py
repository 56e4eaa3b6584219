"""SQL building blocks shared by the report queries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, type_coerce

from chaintrack.models.base import Money

ZERO = Decimal("0")


def money_sum(expr: Any, when: ColumnElement[bool] | None = None) -> ColumnElement[Decimal]:
    """SUM of a money column (optionally only where ``when``), exact on both engines.

    On SQLite money columns hold scaled integers; typing the aggregate as Money
    turns the integer sum back into a Decimal.
    """
    inner = expr if when is None else case((when, expr), else_=literal(0))
    return type_coerce(func.coalesce(func.sum(inner), literal(0)), Money())


def count_where(when: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((when, 1), else_=0)), 0)
