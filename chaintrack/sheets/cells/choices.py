"""Yes/no cells, enumerations (by Chinese label or English value) and declared choices."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from chaintrack.models.enums import LabelledEnum
from chaintrack.sheets.cells.base import (
    CellError,
    as_text,
    check_excel_error,
    clean,
    is_blank,
    nfkc,
)

E = TypeVar("E", bound=LabelledEnum)

_TRUE = frozenset({"是", "Y", "YES", "TRUE", "T", "1", "√", "✓", "✔", "对", "有"})
_FALSE = frozenset({"否", "N", "NO", "FALSE", "F", "0", "×", "✗", "✘", "X", "错", "无"})


def parse_bool(value: Any) -> bool | None:
    """是/否, Y/N, true/false, 1/0, √/×."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)) and value in (0, 1):
        return bool(value)
    text = nfkc(clean(value)).upper()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(
        f"“{as_text(value).strip()}”应填“是”或“否” / expected 是 (yes) or 否 (no)", "boolean"
    )


# ------------------------------------------------------------------- enumerations

_QUOTES = dict.fromkeys(map(ord, "“”\"'‘’「」『』《》"), None)
PAREN = re.compile(r"[(（][^)）]*[)）]")


@lru_cache(maxsize=8192)
def label_key(text: str) -> str:
    """Comparison key for labels and headers: NFKC, case-folded, no spaces or quotes."""
    return re.sub(r"\s+", "", nfkc(text).translate(_QUOTES)).casefold()


def _build_lookup(pairs: Iterable[tuple[str, list[str]]]) -> dict[str, str]:
    """Key → canonical value, for every form; a short form shared by two values is dropped."""
    lookup: dict[str, str] = {}
    ambiguous: set[str] = set()
    exact: set[str] = set()
    for canonical, forms in pairs:
        for i, form in enumerate(forms):
            key = label_key(form)
            if not key:
                continue
            if i < 3:  # value, label and name win over derived short forms
                lookup[key] = canonical
                exact.add(key)
            elif key not in exact:
                if key in lookup and lookup[key] != canonical:
                    ambiguous.add(key)
                lookup[key] = canonical
    for key in ambiguous - exact:
        lookup.pop(key, None)
    return lookup


@lru_cache(maxsize=128)
def _enum_lookup(enum_cls: type[LabelledEnum]) -> dict[str, str]:
    pairs = []
    for member in enum_cls:
        label = member.label_zh
        short = PAREN.sub("", label)
        inner = [m.strip("()（）") for m in PAREN.findall(label)]
        forms = [member.value, label, member.name, short, *inner]
        if short.endswith("企业") and len(short) > 3:
            forms.append(short[:-2])  # 链主企业 → 链主, 瞪羚企业 → 瞪羚
        pairs.append((member.value, forms))
    return _build_lookup(pairs)


def enum_labels(enum_cls: type[LabelledEnum]) -> list[str]:
    """The Chinese labels clerks pick from (the drop-down list)."""
    return [m.label_zh or m.value for m in enum_cls]


def parse_enum(value: Any, enum_cls: type[E]) -> E | None:
    """A member by its Chinese label or its English value (case, width, quotes ignored)."""
    if is_blank(value):
        return None
    text = as_text(value)
    found = _enum_lookup(enum_cls).get(label_key(text))
    if found is None:
        check_excel_error(nfkc(text))
        allowed = "、".join(enum_labels(enum_cls))
        raise CellError(
            f"“{text.strip()}”不是可选值，只能填：{allowed} / "
            f"not an allowed value; choose one of: {', '.join(m.value for m in enum_cls)}",
            "choice",
        )
    return enum_cls(found)


def parse_choice(value: Any, choices: Sequence[str]) -> str | None:
    """One of a list type's declared choices (returned exactly as declared)."""
    if is_blank(value):
        return None
    text = as_text(value)
    found = _choice_lookup(tuple(choices)).get(label_key(text))
    if found is None:
        raise CellError(
            f"“{text.strip()}”不是可选值，只能填：{'、'.join(choices)} / "
            f"not an allowed value; choose one of: {', '.join(choices)}",
            "choice",
        )
    return found


@lru_cache(maxsize=256)
def _choice_lookup(choices: tuple[str, ...]) -> dict[str, str]:
    return _build_lookup((c, [c]) for c in choices)
