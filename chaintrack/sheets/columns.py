"""One column of a sheet: its field, Chinese header, kind and options.

A ``Column`` is declarative: its field name (the English header, from the models), the
Chinese header with its unit, the kind of cell (``kinds``), whether it is required, the
enumeration behind a drop-down and a help text. The same column drives the template,
the instructions sheet, the reader's header matching, the row parser and the export
writer, so export → edit → import is a round trip. What differs by kind is asked of
the kind's object (``kinds.KINDS``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from chaintrack.models.enums import LabelledEnum
from chaintrack.sheets.kinds import KINDS, ColumnKind, Kind

#: How many distinct raw values a memoising column remembers.
MEMO_SIZE = 4096


@dataclass(frozen=True)
class Column:
    """One column of a sheet."""

    field: str
    header: str
    kind: ColumnKind
    required: bool = False
    enum: type[LabelledEnum] | None = None
    choices: tuple[str, ...] = ()
    help: str = ""
    target: str | None = None
    max_length: int | None = None
    scale: int | None = None
    max_digits: int | None = None
    min_value: Any = None
    max_value: Any = None
    unit: str | None = None
    aliases: tuple[str, ...] = ()
    width: int | None = None
    example: Any = None
    #: written by exports (computed figures), recognised and ignored on import
    export_only: bool = False
    #: return the JSON storage form (list attributes: decimals and dates as strings)
    storage: bool = False

    @cached_property
    def rules(self) -> Kind:
        """What this column's kind does (parsing, writing, describing)."""
        return KINDS[self.kind]

    @cached_property
    def path(self) -> tuple[str, ...]:
        return tuple((self.target or self.field).split("."))

    def accepted_headers(self) -> list[str]:
        """Chinese header first (error messages show it), then the English field name."""
        out = [self.header, self.field, *self.aliases]
        if self.target and self.target != self.field:
            out.append(self.target)
        return out

    # ---------------------------------------------------------------- reading

    def parse(self, raw: Any, *, date1904: bool = False, number_format: str | None = None) -> Any:
        """The typed value of a raw cell; raises CellError.

        ``number_format``: the cell's number format, when the reader knows it (a percent
        column reads a percent-formatted number × 100; see ``kinds.Percent``)."""
        if raw is None:
            return self.rules.blank()
        if date1904 or number_format is not None:
            return self.rules.parse(self, raw, date1904=date1904, number_format=number_format)
        memo = self._memo
        if memo is None:
            return self._fast(raw)
        key = (raw.__class__, raw)  # 1, 1.0 and True are equal keys, not equal cells
        try:
            return memo[key]
        except KeyError:
            pass
        value = self._fast(raw)
        if len(memo) < MEMO_SIZE:
            memo[key] = value
        return value

    @cached_property
    def _memo(self) -> dict[tuple[type, Any], Any] | None:
        """Parsed values by raw cell, for kinds whose few distinct values recur down a
        column (a 100,000-row file has a handful of regions, sizes and years): each is
        parsed once. Values are immutable; errors are not kept (they are re-raised)."""
        return {} if self.rules.memo and not self.storage else None

    @cached_property
    def _fast(self) -> Callable[[Any], Any]:
        """The parser of this column with its options bound (built once)."""
        return self.rules.reader(self)

    # ---------------------------------------------------------------- writing

    def allowed(self) -> list[str]:
        """The values of the drop-down list (Chinese labels), empty for free columns."""
        return self.rules.allowed(self)

    def to_cell(self, value: Any) -> Any:
        """The value written into an .xlsx cell: numbers as numbers, dates as dates."""
        if value is None or value == "" or value == []:
            return None
        return self.rules.to_cell(self, value)

    def to_text(self, value: Any) -> str:
        """The value written into a CSV cell (and the text of non-numeric .xlsx cells)."""
        if value is None:
            return ""
        return self.rules.to_text(self, value)

    def format_zh(self) -> str:
        """The format a clerk reads in the instructions sheet."""
        parts = self.rules.describe(self)
        if self.rules.shows_bounds:
            if self.min_value is not None:
                parts.append(f"不小于{self.min_value}")
            if self.max_value is not None:
                parts.append(f"不大于{self.max_value}")
        return "，".join(parts)

    @property
    def display_width(self) -> int:
        if self.width:
            return self.width
        base = self.rules.column_width(self)
        header_width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in self.header) + 2
        longest = max((len(v) * 2 for v in self.allowed()), default=0)
        return max(base, min(header_width, 40), min(longest + 2, 30))
