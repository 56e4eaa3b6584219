"""The kinds of column, one small object each (see ``kind_base`` for what a kind does),
and ``KINDS``: the object of each ``ColumnKind``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chaintrack.sheets import cells
from chaintrack.sheets.kind_base import (
    DATE_FORMAT,
    INTEGER_FORMAT,
    MONEY_FORMAT,
    PERCENT_FORMAT,
    TEXT_FORMAT,
    ColumnKind,
    Kind,
    to_decimal,
)

if TYPE_CHECKING:
    from chaintrack.sheets.columns import Column

__all__ = ["KINDS", "TEXT_FORMATTED", "ColumnKind", "Kind"]


class Text(Kind):
    text_formatted = True
    xlsx_format = TEXT_FORMAT
    formula_guard = True

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        return cells.parse_text(raw, max_length=col.max_length)

    def reader(self, col: Column) -> Callable[[Any], Any]:
        max_length = col.max_length
        plain = cells.plain_text

        def text(raw: Any) -> Any:
            if plain(raw) and (max_length is None or len(raw) <= max_length):
                return raw  # nothing to clean: parse_text would return it unchanged
            return cells.parse_text(raw, max_length=max_length)

        return text

    def describe(self, col: Column) -> list[str]:
        return ["文本", *([f"最多{col.max_length}字"] if col.max_length else [])]

    def column_width(self, col: Column) -> int:
        return 30 if (col.max_length or 0) >= 100 else self.width


class Multiline(Text):
    width = 40

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        return cells.parse_text(raw, multiline=True, max_length=col.max_length)

    def reader(self, col: Column) -> Callable[[Any], Any]:
        return Kind.reader(self, col)

    def column_width(self, col: Column) -> int:
        return self.width

    def describe(self, col: Column) -> list[str]:
        return ["文本（可换行）", *([f"最多{col.max_length}字"] if col.max_length else [])]


class TextList(Text):
    def blank(self) -> Any:
        return []

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        return cells.parse_text_list(raw, max_length=col.max_length)

    def reader(self, col: Column) -> Callable[[Any], Any]:
        return Kind.reader(self, col)

    def column_width(self, col: Column) -> int:
        return self.width

    def to_text(self, col: Column, value: Any) -> str:
        items = value if isinstance(value, (list, tuple)) else [value]
        return "；".join(str(v) for v in items)

    def describe(self, col: Column) -> list[str]:
        return ["文本，多个用“；”分隔"]


class Code(Kind):
    text_formatted = True
    xlsx_format = TEXT_FORMAT
    memo = True
    code = True

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        return cells.parse_code(raw, max_length=col.max_length or 32)

    def describe(self, col: Column) -> list[str]:
        return [f"代码（字母、数字），最多{col.max_length or 32}位"]


class Number(Kind):
    """Decimal cells: exact, within the column's digits, places and range."""

    xlsx_format = MONEY_FORMAT
    shows_bounds = True

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        number = cells.parse_decimal(
            raw,
            scale=col.scale,
            max_digits=col.max_digits,
            min_value=col.min_value,
            max_value=col.max_value,
            unit=col.unit,
        )
        if col.storage and number is not None:
            return format(number, "f")
        return number

    def reader(self, col: Column) -> Callable[[Any], Any]:
        """A plain number within the column's digits and places (what nearly every cell
        holds) is read directly; the rest by ``cells.parse_decimal``."""
        if col.storage:
            return super().reader(col)
        careful = super().reader(col)
        low, high = col.min_value, col.max_value
        sign = "-?" if low is None or low < 0 else ""
        places = f"(?:\\.\\d{{1,{col.scale}}})?" if col.scale else ""
        whole = "+" if col.max_digits is None else f"{{1,{col.max_digits - (col.scale or 0)}}}"
        plain = re.compile(f"{sign}\\d{whole}{places}").fullmatch

        def number(raw: Any) -> Any:
            text = raw
            if raw.__class__ is float:
                # A float cell as Excel shows it: its shortest repr, when that has at
                # most 15 digits (otherwise cells.decimal_from_float rounds it).
                text = repr(raw)
                if text.endswith(".0"):
                    text = text[:-2]
                if len(text) > 15:
                    return careful(raw)
            if text.__class__ is str and plain(text):
                value = Decimal(text)
                if (low is None or value >= low) and (high is None or value <= high):
                    return value
            return careful(raw)

        return number

    def to_cell(self, col: Column, value: Any) -> Any:
        number = to_decimal(value)
        tidy = cells.tidy(number)
        if len(tidy.as_tuple().digits) > cells.EXCEL_DIGITS:
            return format(number, "f")  # beyond Excel's precision: kept exact as text
        return tidy

    def to_text(self, col: Column, value: Any) -> str:
        return format(cells.tidy(to_decimal(value)), "f")

    def describe(self, col: Column) -> list[str]:
        parts = ["数值"]
        if col.unit:
            parts.append(f"单位{col.unit}")
        if col.scale is not None:
            parts.append(f"最多{col.scale}位小数")
        return parts


class Percent(Number):
    """A percentage as the number before the % sign (35.5 for 35.5 %).

    ``number_format`` is the seam for cells an office suite stores as a fraction with a
    percent format (``45%`` typed, 0.45 stored): such a number means its value × 100.
    The reader passes a cell's format when it knows it (see ``sheets.workbook``)."""

    xlsx_format = PERCENT_FORMAT
    shows_bounds = False
    reads_number_format = True

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        if (
            number_format is not None
            and "%" in number_format
            and isinstance(raw, (int, float, Decimal))
            and not isinstance(raw, bool)
        ):
            raw = cells.tidy(cells.to_decimal(raw, unit=None) * 100)
        return super().parse(col, raw, date1904=date1904, number_format=None)

    def reader(self, col: Column) -> Callable[[Any], Any]:
        return Kind.reader(self, col)

    def describe(self, col: Column) -> list[str]:
        return ["百分数，填0—100的数字（如35.5表示35.5%）"]


class Integer(Kind):
    xlsx_format = INTEGER_FORMAT
    memo = True
    shows_bounds = True

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        return cells.parse_integer(
            raw, min_value=col.min_value, max_value=col.max_value, unit=col.unit
        )

    def to_cell(self, col: Column, value: Any) -> Any:
        return int(value)

    def describe(self, col: Column) -> list[str]:
        return ["整数" + (f"（{col.unit}）" if col.unit else "")]


class Year(Integer):
    shows_bounds = False

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        return cells.parse_year(
            raw, min_year=col.min_value or 1949, max_year=col.max_value or cells.MAX_YEAR
        )

    def describe(self, col: Column) -> list[str]:
        return ["年份，如2024"]


class Date(Kind):
    xlsx_format = DATE_FORMAT
    memo = True
    width = 13

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        day = cells.parse_date(raw, date1904=date1904)
        if col.storage and day is not None:
            return day.isoformat()
        return day

    def to_cell(self, col: Column, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
        return value

    def to_text(self, col: Column, value: Any) -> str:
        return value.isoformat() if isinstance(value, dt.date) else str(value)

    def describe(self, col: Column) -> list[str]:
        return ["日期，如2024-03-05、2024/3/5、2024年3月5日"]


class Period(Kind):
    text_formatted = True
    xlsx_format = TEXT_FORMAT
    memo = True
    width = 10

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        return cells.parse_period(raw, date1904=date1904)

    def describe(self, col: Column) -> list[str]:
        return ["年月，如2024-03、2024/3、2024年3月"]


class Boolean(Kind):
    memo = True

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        return cells.parse_bool(raw)

    def to_text(self, col: Column, value: Any) -> str:
        return "是" if value else "否"

    def describe(self, col: Column) -> list[str]:
        return ["是/否"]

    def allowed(self, col: Column) -> list[str]:
        return ["是", "否"]


class Enum(Kind):
    memo = True

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        assert col.enum is not None
        return cells.parse_enum(raw, col.enum)

    def reader(self, col: Column) -> Callable[[Any], Any]:
        enum_cls = col.enum
        assert enum_cls is not None
        return lambda raw: cells.parse_enum(raw, enum_cls)

    def to_text(self, col: Column, value: Any) -> str:
        if col.enum is None:
            return str(value)
        return col.enum(value).label_zh if value != "" else ""

    def describe(self, col: Column) -> list[str]:
        return ["从下拉列表中选择"]

    def allowed(self, col: Column) -> list[str]:
        return cells.enum_labels(col.enum) if col.enum is not None else []


class Choice(Kind):
    memo = True

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        return cells.parse_choice(raw, col.choices)

    def describe(self, col: Column) -> list[str]:
        return ["从下拉列表中选择"]

    def allowed(self, col: Column) -> list[str]:
        return list(col.choices)


class Identifier(Kind):
    """A checked identifier (credit code, region code, project codes)."""

    text_formatted = True
    xlsx_format = TEXT_FORMAT
    code = True

    def __init__(
        self, parser: Callable[[Any], Any], text: str, *, width: int = 14, memo: bool = False
    ) -> None:
        self.parser = parser
        self.text = text
        self.width = width
        self.memo = memo

    def parse(self, col: Column, raw: Any, *, date1904: bool, number_format: str | None) -> Any:
        return self.parser(raw)

    def reader(self, col: Column) -> Callable[[Any], Any]:
        return self.parser

    def describe(self, col: Column) -> list[str]:
        return [self.text]


KINDS: dict[ColumnKind, Kind] = {
    ColumnKind.TEXT: Text(),
    ColumnKind.MULTILINE: Multiline(),
    ColumnKind.TEXT_LIST: TextList(),
    ColumnKind.CODE: Code(),
    ColumnKind.DECIMAL: Number(),
    ColumnKind.PERCENT: Percent(),
    ColumnKind.INTEGER: Integer(),
    ColumnKind.YEAR: Year(),
    ColumnKind.DATE: Date(),
    ColumnKind.PERIOD: Period(),
    ColumnKind.BOOLEAN: Boolean(),
    ColumnKind.ENUM: Enum(),
    ColumnKind.CHOICE: Choice(),
    ColumnKind.USCC: Identifier(cells.parse_uscc, "18位统一社会信用代码", width=22),
    ColumnKind.REGION: Identifier(
        cells.parse_region_code, "6位行政区划代码，如370100（济南市）", memo=True
    ),
    ColumnKind.INTERNAL_CODE: Identifier(cells.parse_internal_code, "2—32位字母、数字、“-”或“_”"),
    ColumnKind.NATIONAL_CODE: Identifier(
        cells.parse_national_code, "24位国家项目代码，如2104-370600-04-01-A1B2C3", width=28
    ),
}

#: Kinds whose template column is formatted as text (every code kind is: an all-digit
#: code typed into a number cell loses its digits past the 15th).
TEXT_FORMATTED = frozenset(
    kind for kind, rules in KINDS.items() if rules.text_formatted or rules.code
)
