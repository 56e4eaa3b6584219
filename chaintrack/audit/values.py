"""How the audit log stores a value: JSON-safe and exact, rendered in one place.

Decimal as an exact string without the storage scale's trailing zeros, dates and times
ISO 8601, enumerations by value, bytes as hex. Password hashes are never copied, only
marked changed. Every record (the session listeners', the bulk inserts') is rendered
here.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

#: Columns no record carries (every write changes them; the record has its own time).
SKIPPED_COLUMNS = frozenset({"created_at", "updated_at"})
REDACTED_COLUMNS = {"users": frozenset({"password_hash"})}
REDACTED = "[redacted]"


def decimal_text(value: Decimal) -> str:
    """Exact, without the storage scale's trailing zeros: 1250.5000 -> "1250.5"."""
    return format(value.normalize(), "f") if value.is_finite() else str(value)


def jsonable(value: Any) -> Any:
    """A value as the audit log stores it (JSON-safe, exact)."""
    cls = value.__class__
    if cls is str or cls is int or value is None:  # most values: nothing to do
        return value
    if isinstance(value, bool | int | str):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def column_value(table: str, key: str, value: Any) -> Any:
    """A column's value as a record shows it (redacted where the column is secret)."""
    if value is not None and key in REDACTED_COLUMNS.get(table, ()):
        return REDACTED
    return jsonable(value)


def entity_id(key: Sequence[Any]) -> str:
    """A row's id in the log: its primary key's values joined by "/"."""
    return "/".join(str(v) for v in key)
