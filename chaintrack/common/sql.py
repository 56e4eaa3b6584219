"""SQL constants written into the statement text instead of bound.

The report statements are built once and run many times: written as literals, their
constants (every 1, 0 and enumeration value; a hundred in the chain report's summary)
are not converted by their types and sent again on every execution, and an ``IN``
over constants is not an "expanding" parameter that SQLAlchemy renders into the SQL
anew on every execution. Only the request's own values (chain, dates, period) are
bound.
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
