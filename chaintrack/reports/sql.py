"""SQL building blocks shared by the report queries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, type_coerce

from chaintrack.common.sql import SQL_ONE, SQL_ZERO
from chaintrack.models.base import Money

ZERO = Decimal("0")


def money_sum(expr: Any, when: ColumnElement[bool] | None = None) -> ColumnElement[Decimal]:
    """SUM of a money column (optionally only where ``when``), exact on both engines.

    On SQLite money columns hold scaled integers; typing the aggregate as Money
    turns the integer sum back into a Decimal.
    """
    inner = expr if when is None else case((when, expr), else_=SQL_ZERO)
    return type_coerce(func.coalesce(func.sum(inner), SQL_ZERO), Money())


def count_where(when: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((when, SQL_ONE), else_=SQL_ZERO)), SQL_ZERO)
