"""SQL building blocks shared by the report queries."""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal_column, type_coerce

from chaintrack.models.base import Money

ZERO = Decimal("0")

# Constants are written into the SQL text, not bound: a report statement would
# otherwise carry a hundred parameters (every 1, 0 and enumeration value), each
# converted and sent on every execution.
SQL_ONE: ColumnElement[int] = literal_column("1")
SQL_ZERO: ColumnElement[int] = literal_column("0")
_PLAIN = re.compile(r"^[a-z_]+$")


def const(value: StrEnum) -> ColumnElement[Any]:
    """An enumeration value as an SQL string literal (values are plain snake_case)."""
    if not _PLAIN.match(value.value):
        raise ValueError(f"not a plain enumeration value: {value.value!r}")
    return literal_column(f"'{value.value}'")


def consts(values: Any) -> list[ColumnElement[Any]]:
    return [const(v) for v in values]


def money_sum(expr: Any, when: ColumnElement[bool] | None = None) -> ColumnElement[Decimal]:
    """SUM of a money column (optionally only where ``when``), exact on both engines.

    On SQLite money columns hold scaled integers; typing the aggregate as Money
    turns the integer sum back into a Decimal.
    """
    inner = expr if when is None else case((when, expr), else_=SQL_ZERO)
    return type_coerce(func.coalesce(func.sum(inner), SQL_ZERO), Money())


def count_where(when: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((when, SQL_ONE), else_=SQL_ZERO)), SQL_ZERO)
