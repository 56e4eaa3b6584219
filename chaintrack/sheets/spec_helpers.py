"""Building blocks of the sheet specs: column shorthands and cross-field row checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from chaintrack.models.enums import LabelledEnum
from chaintrack.sheets.columns import Column
from chaintrack.sheets.kinds import ColumnKind
from chaintrack.sheets.sheetspec import INVALID, RowCheck

MONEY_SCALE = 4
MONEY_DIGITS = 20
ZERO = Decimal(0)


def money(field: str, header: str, **kw: Any) -> Column:
    kw.setdefault("min_value", ZERO)
    return Column(
        field,
        header,
        ColumnKind.DECIMAL,
        scale=MONEY_SCALE,
        max_digits=MONEY_DIGITS,
        unit="万元",
        **kw,
    )


def text(field: str, header: str, max_length: int | None = None, **kw: Any) -> Column:
    return Column(field, header, ColumnKind.TEXT, max_length=max_length, **kw)


def note(field: str, header: str, **kw: Any) -> Column:
    return Column(field, header, ColumnKind.MULTILINE, max_length=2000, **kw)


def enum(field: str, header: str, enum_cls: type[LabelledEnum], **kw: Any) -> Column:
    return Column(field, header, ColumnKind.ENUM, enum=enum_cls, **kw)


def date(field: str, header: str, **kw: Any) -> Column:
    return Column(field, header, ColumnKind.DATE, **kw)


def order(first: str, second: str, zh: str) -> RowCheck:
    def check(v: Mapping[str, Any]) -> list[tuple[str, str]]:
        a, b = v.get(first), v.get(second)
        if a is None or b is None or a is INVALID or b is INVALID:
            return []
        if b < a:
            return [(second, f"{zh} / {second} must not be before {first}")]
        return []

    return check


def needs(dependent: Sequence[str], anchor: str, zh: str) -> RowCheck:
    def check(v: Mapping[str, Any]) -> list[tuple[str, str]]:
        if v.get(anchor) is None and any(v.get(d) not in (None, []) for d in dependent):
            return [(anchor, f"{zh} / {anchor} is required when the related columns are filled")]
        return []

    return check
