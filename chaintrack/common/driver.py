"""Column processors applied to a row of driver values (imports/bulk.py).

Only :func:`processed` is left here: the report and sign-in SELECTs run through
SQLAlchemy (``Connection.execute``). It goes when the bulk insert stops using it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Processor = Callable[[Any], Any]


def processed(row: list[Any], processors: Iterable[tuple[int, Processor]]) -> list[Any]:
    """``row`` with each (index, processor) applied to its non-NULL value, in place."""
    for i, proc in processors:
        value = row[i]
        if value is not None:
            row[i] = proc(value)
    return row
