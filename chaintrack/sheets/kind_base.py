"""The base of the column kinds (``kinds``): the enumeration and what every kind does.

One small object per kind says how its cells are read, written and described, so
``Column`` never switches on its kind.

A kind reads a raw cell (``parse``, with every check; ``reader`` may return a quicker
function giving the same results for the common cells), writes a value into an .xlsx
cell (``to_cell``) or a CSV cell (``to_text``), and describes the column for the
instructions sheet (``describe``) and the drop-down list (``allowed``). Its class
attributes say how templates format the column (``xlsx_format``, ``text_formatted``),
whether parsed values are remembered by raw cell (``memo``), the column's width, and
whether a CSV export guards a leading ``=`` (``formula_guard``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chaintrack.sheets import cells

if TYPE_CHECKING:
    from chaintrack.sheets.columns import Column

DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00##"
PERCENT_FORMAT = "0.00"
INTEGER_FORMAT = "0"
TEXT_FORMAT = "@"


class ColumnKind(StrEnum):
    TEXT = "text"
    MULTILINE = "multiline"
    TEXT_LIST = "text_list"
    CODE = "code"
    DECIMAL = "decimal"
    PERCENT = "percent"
    INTEGER = "integer"
    YEAR = "year"
    DATE = "date"
    PERIOD = "period"
    BOOLEAN = "boolean"
    ENUM = "enum"
    CHOICE = "choice"
    USCC = "uscc"
    REGION = "region"
    INTERNAL_CODE = "internal_code"
    NATIONAL_CODE = "national_code"


def to_decimal(value: Any) -> Decimal:
    """A stored number as a Decimal (floats as the digits Excel shows)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return cells.decimal_from_float(value)
    return Decimal(str(value))


class Kind:
    """The behaviour shared by most kinds; each kind overrides what differs."""

    #: the template formats the column as text (so Excel does not turn "2024-03" into a
    #: date or an 18-digit code into 9.1E+17)
    text_formatted = False
    #: number format of the column's .xlsx cells
    xlsx_format: str | None = None
    #: parsed once per distinct raw value (few distinct values recur down a column)
    memo = False
    #: a CSV export puts ' before a value starting like a formula (the reader strips it)
    formula_guard = False
    #: the export's column width, before the header and drop-down values widen it
    width = 14
    #: the instructions sheet shows min_value / max_value
    shows_bounds = False
    #: a cell's number format changes its meaning (a percent format: value × 100), so
    #: the reader reads the formats of this column's cells (``sheets.styles``)
    reads_number_format = False
    #: a code (credit code, project code, phone or ID number): a number cell that lost
    #: digits (more than a double keeps) is refused, one that kept them all is the code
    code = False

    def blank(self) -> Any:
        """What a blank cell reads as."""
        return None

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        raise NotImplementedError

    def reader(self, col: Column) -> Callable[[Any], Any]:
        """The parser with the column's options bound (built once per column)."""
        return lambda raw: self.parse(col, raw, date1904=False, number_format=None)

    def to_cell(self, col: Column, value: Any) -> Any:
        return self.to_text(col, value)

    def to_text(self, col: Column, value: Any) -> str:
        return str(value)

    def describe(self, col: Column) -> list[str]:
        raise NotImplementedError

    def allowed(self, col: Column) -> list[str]:
        return []

    def column_width(self, col: Column) -> int:
        return self.width
