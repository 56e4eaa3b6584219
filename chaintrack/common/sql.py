"""SQL constants written into the statement text instead of bound.

A report statement would otherwise carry a hundred parameters (every 1, 0 and
enumeration value), each converted and sent on every execution; and an ``IN`` over a
bound list is an "expanding" parameter, re-rendered into the SQL on every execution,
which statements run on the driver's cursor (chaintrack.common.driver) cannot have.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, literal_column

SQL_ONE: ColumnElement[int] = literal_column("1")
SQL_ZERO: ColumnElement[int] = literal_column("0")
_PLAIN = re.compile(r"^[a-z_]+$")


def const(value: StrEnum) -> ColumnElement[Any]:
    """An enumeration value as an SQL string literal (values are plain snake_case)."""
    if not _PLAIN.match(value.value):
        raise ValueError(f"not a plain enumeration value: {value.value!r}")
    return literal_column(f"'{value.value}'")


def consts(values: Iterable[StrEnum]) -> list[ColumnElement[Any]]:
    """Enumeration values as literals, in a stable order (the SQL text is cached)."""
    return [const(v) for v in sorted(values)]
