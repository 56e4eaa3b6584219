"""One region-scope rule (GB/T 2260) for every region filter and scope.

A code covers itself and everything under it (370000 → 37xxxx, 370100 → 3701xx), and the
divisions it took over when they were abolished (济南 370100 covers the old 莱芜 3712xx
codes, merged in 2019: ``regions.successor_code``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from chaintrack.models.reference import Region


def region_prefix(code: str) -> str:
    """370000 → 37, 370100 → 3701, 370102 → 370102."""
    prefix = code
    while len(prefix) > 2 and prefix.endswith("00"):
        prefix = prefix[:-2]
    return prefix


def region_prefixes(session: Session, code: str) -> tuple[str, ...]:
    """The code prefixes a region covers, its merged predecessors included."""
    prefixes = {region_prefix(code)}
    merged = session.scalars(select(Region.code).where(Region.successor_code == code))
    prefixes.update(region_prefix(c) for c in merged)
    return tuple(sorted(prefixes))


def in_region(column: Any, prefixes: Iterable[str]) -> ColumnElement[bool]:
    """``column`` (a region code column) lies in one of ``prefixes``."""
    return or_(*(column.like(f"{p}%") for p in prefixes))


def covers(prefixes: Iterable[str], code: str | None) -> bool:
    return code is not None and any(code.startswith(p) for p in prefixes)


def merged_cities(session: Session) -> dict[str, str]:
    """Abolished city codes → the city that took them over (371200 → 370100)."""
    rows = session.execute(
        select(Region.code, Region.successor_code).where(Region.successor_code.is_not(None))
    ).all()
    return {code: successor for code, successor in rows if successor and code.endswith("00")}


def city_of(code: str, merged: dict[str, str]) -> str:
    """The city (地市) a code lies in, as a 6-digit code; 莱芜 3712xx counts as 济南 370100."""
    city = code[:4] + "00"
    return merged.get(city, city)
