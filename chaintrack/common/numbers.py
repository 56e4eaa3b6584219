"""Arithmetic on exact figures shared by progress pages and reports."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)
PCT_QUANTUM = Decimal("0.01")


def percent(part: Decimal, whole: Decimal | None) -> Decimal | None:
    """``part / whole`` in %, two places rounded half up (as clerks round by hand);
    None when there is nothing to divide by."""
    if whole is None or whole <= 0:
        return None
    return (part * HUNDRED / whole).quantize(PCT_QUANTUM, rounding=ROUND_HALF_UP)
