"""The building blocks of sheet specs: columns, rows, errors and the spec itself.

A ``SheetSpec`` is declarative: its ``Column``s say the field name (the English header,
from the models), the Chinese header with its unit, the cell type, whether it is
required, the enumeration behind a drop-down and a help text. The same spec drives the
template, the instructions sheet, the reader's header matching, the row parser and the
export writer, so export → edit → import is a round trip.

``spec.parse_row(raw)`` returns a ``ParsedRow`` holding either the typed values or every
error of the row (row number, column header, message), never only the first.
Columns with a dotted ``target`` ("figures.revenue") are gathered into a nested dict
("figures"); a group whose cells are all blank is ``None``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Any

from chaintrack.models.enums import LabelledEnum
from chaintrack.sheets import cells
from chaintrack.sheets.cells import CellError, enum_labels
from chaintrack.sheets.reader import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    RawRow,
    SheetReader,
    Source,
    open_sheet,
)

MONEY_SCALE = 4
MONEY_DIGITS = 20
ZERO = Decimal(0)


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


#: Kinds whose template column is formatted as text, so Excel does not turn
#: "2024-03" into a date or an 18-digit code into 9.1E+17.
TEXT_FORMATTED = frozenset(
    {
        ColumnKind.TEXT,
        ColumnKind.MULTILINE,
        ColumnKind.TEXT_LIST,
        ColumnKind.CODE,
        ColumnKind.PERIOD,
        ColumnKind.USCC,
        ColumnKind.REGION,
        ColumnKind.INTERNAL_CODE,
        ColumnKind.NATIONAL_CODE,
    }
)

#: Kinds parsed once per distinct raw value (see ``Column._memo``), and how many
#: distinct values a column remembers.
MEMO_KINDS = frozenset(
    {
        ColumnKind.ENUM,
        ColumnKind.CHOICE,
        ColumnKind.REGION,
        ColumnKind.YEAR,
        ColumnKind.BOOLEAN,
        ColumnKind.PERIOD,
        ColumnKind.DATE,
        ColumnKind.INTEGER,
        ColumnKind.CODE,
    }
)
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
    def path(self) -> tuple[str, ...]:
        return tuple((self.target or self.field).split("."))

    def accepted_headers(self) -> list[str]:
        """Chinese header first (error messages show it), then the English field name."""
        out = [self.header, self.field, *self.aliases]
        if self.target and self.target != self.field:
            out.append(self.target)
        return out

    # ---------------------------------------------------------------- reading

    def parse(self, raw: Any, *, date1904: bool = False) -> Any:
        """The typed value of a raw cell; raises CellError."""
        if raw is None:
            return [] if self.kind is ColumnKind.TEXT_LIST else None
        if date1904 and self.kind in (ColumnKind.DATE, ColumnKind.PERIOD):
            return self._parse(raw, date1904=True)
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
        return {} if self.kind in MEMO_KINDS and not self.storage else None

    @cached_property
    def _fast(self) -> Callable[[Any], Any]:
        """The parser of this column with its options bound (built once)."""
        kind = self.kind
        if kind is ColumnKind.TEXT:
            max_length = self.max_length
            plain = cells.plain_text

            def text(raw: Any) -> Any:
                if plain(raw) and (max_length is None or len(raw) <= max_length):
                    return raw  # nothing to clean: parse_text would return it unchanged
                return cells.parse_text(raw, max_length=max_length)

            return text
        if kind is ColumnKind.DECIMAL and not self.storage:
            return self._decimal()
        if kind is ColumnKind.USCC:
            return cells.parse_uscc
        if kind is ColumnKind.REGION:
            return cells.parse_region_code
        if kind is ColumnKind.ENUM:
            enum_cls = self.enum
            assert enum_cls is not None
            return lambda raw: cells.parse_enum(raw, enum_cls)
        return self._parse

    def _decimal(self) -> Callable[[Any], Any]:
        """Decimal cells: a plain number within the column's digits and places (what
        nearly every cell holds) is read directly; the rest by ``cells.parse_decimal``."""
        low, high = self.min_value, self.max_value
        sign = "-?" if low is None or low < 0 else ""
        places = f"(?:\\.\\d{{1,{self.scale}}})?" if self.scale else ""
        whole = "+" if self.max_digits is None else f"{{1,{self.max_digits - (self.scale or 0)}}}"
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
                    return self._parse(raw)
            if text.__class__ is str and plain(text):
                value = Decimal(text)
                if (low is None or value >= low) and (high is None or value <= high):
                    return value
            return self._parse(raw)

        return number

    def _parse(self, raw: Any, *, date1904: bool = False) -> Any:
        kind = self.kind
        if kind is ColumnKind.TEXT:
            return cells.parse_text(raw, max_length=self.max_length)
        if kind is ColumnKind.MULTILINE:
            return cells.parse_text(raw, multiline=True, max_length=self.max_length)
        if kind is ColumnKind.TEXT_LIST:
            return cells.parse_text_list(raw, max_length=self.max_length)
        if kind is ColumnKind.CODE:
            return cells.parse_code(raw, max_length=self.max_length or 32)
        if kind in (ColumnKind.DECIMAL, ColumnKind.PERCENT):
            number = cells.parse_decimal(
                raw,
                scale=self.scale,
                max_digits=self.max_digits,
                min_value=self.min_value,
                max_value=self.max_value,
                unit=self.unit,
            )
            if self.storage and number is not None:
                return format(number, "f")
            return number
        if kind is ColumnKind.INTEGER:
            return cells.parse_integer(
                raw, min_value=self.min_value, max_value=self.max_value, unit=self.unit
            )
        if kind is ColumnKind.YEAR:
            return cells.parse_year(
                raw, min_year=self.min_value or 1949, max_year=self.max_value or cells.MAX_YEAR
            )
        if kind is ColumnKind.DATE:
            day = cells.parse_date(raw, date1904=date1904)
            if self.storage and day is not None:
                return day.isoformat()
            return day
        if kind is ColumnKind.PERIOD:
            return cells.parse_period(raw, date1904=date1904)
        if kind is ColumnKind.BOOLEAN:
            return cells.parse_bool(raw)
        if kind is ColumnKind.ENUM:
            assert self.enum is not None
            return cells.parse_enum(raw, self.enum)
        if kind is ColumnKind.CHOICE:
            return cells.parse_choice(raw, self.choices)
        if kind is ColumnKind.USCC:
            return cells.parse_uscc(raw)
        if kind is ColumnKind.REGION:
            return cells.parse_region_code(raw)
        if kind is ColumnKind.INTERNAL_CODE:
            return cells.parse_internal_code(raw)
        if kind is ColumnKind.NATIONAL_CODE:
            return cells.parse_national_code(raw)
        raise AssertionError(f"unhandled column kind {kind}")  # pragma: no cover

    # ---------------------------------------------------------------- writing

    def allowed(self) -> list[str]:
        """The values of the drop-down list (Chinese labels), empty for free columns."""
        if self.kind is ColumnKind.ENUM and self.enum is not None:
            return enum_labels(self.enum)
        if self.kind is ColumnKind.CHOICE:
            return list(self.choices)
        if self.kind is ColumnKind.BOOLEAN:
            return ["是", "否"]
        return []

    def to_cell(self, value: Any) -> Any:
        """The value written into an .xlsx cell: numbers as numbers, dates as dates."""
        if value is None or value == "" or value == []:
            return None
        kind = self.kind
        if kind in (ColumnKind.DECIMAL, ColumnKind.PERCENT):
            number = _decimal(value)
            tidy = cells._tidy(number)
            if len(tidy.as_tuple().digits) > cells.EXCEL_DIGITS:
                return format(number, "f")  # beyond Excel's precision: kept exact as text
            return tidy
        if kind in (ColumnKind.INTEGER, ColumnKind.YEAR):
            return int(value)
        if kind is ColumnKind.DATE:
            if isinstance(value, dt.datetime):
                return value.date()
            if isinstance(value, str):
                return dt.date.fromisoformat(value)
            return value
        return self.to_text(value)

    def to_text(self, value: Any) -> str:
        """The value written into a CSV cell (and the text of non-numeric .xlsx cells)."""
        if value is None:
            return ""
        kind = self.kind
        if kind is ColumnKind.ENUM and self.enum is not None:
            return self.enum(value).label_zh if value != "" else ""
        if kind is ColumnKind.BOOLEAN:
            return "是" if value else "否"
        if kind in (ColumnKind.DECIMAL, ColumnKind.PERCENT):
            return format(cells._tidy(_decimal(value)), "f")
        if kind is ColumnKind.DATE:
            return value.isoformat() if isinstance(value, dt.date) else str(value)
        if kind is ColumnKind.TEXT_LIST:
            items = value if isinstance(value, (list, tuple)) else [value]
            return "；".join(str(v) for v in items)
        return str(value)

    def format_zh(self) -> str:
        """The format a clerk reads in the instructions sheet."""
        kind = self.kind
        parts: list[str]
        if kind in (ColumnKind.TEXT, ColumnKind.MULTILINE):
            parts = ["文本（可换行）" if kind is ColumnKind.MULTILINE else "文本"]
            if self.max_length:
                parts.append(f"最多{self.max_length}字")
        elif kind is ColumnKind.TEXT_LIST:
            parts = ["文本，多个用“；”分隔"]
        elif kind is ColumnKind.CODE:
            parts = [f"代码（字母、数字），最多{self.max_length or 32}位"]
        elif kind is ColumnKind.DECIMAL:
            parts = ["数值"]
            if self.unit:
                parts.append(f"单位{self.unit}")
            if self.scale is not None:
                parts.append(f"最多{self.scale}位小数")
        elif kind is ColumnKind.PERCENT:
            parts = ["百分数，填0—100的数字（如35.5表示35.5%）"]
        elif kind is ColumnKind.INTEGER:
            parts = ["整数" + (f"（{self.unit}）" if self.unit else "")]
        elif kind is ColumnKind.YEAR:
            parts = ["年份，如2024"]
        elif kind is ColumnKind.DATE:
            parts = ["日期，如2024-03-05、2024/3/5、2024年3月5日"]
        elif kind is ColumnKind.PERIOD:
            parts = ["年月，如2024-03、2024/3、2024年3月"]
        elif kind is ColumnKind.BOOLEAN:
            parts = ["是/否"]
        elif kind in (ColumnKind.ENUM, ColumnKind.CHOICE):
            parts = ["从下拉列表中选择"]
        elif kind is ColumnKind.USCC:
            parts = ["18位统一社会信用代码"]
        elif kind is ColumnKind.REGION:
            parts = ["6位行政区划代码，如370100（济南市）"]
        elif kind is ColumnKind.INTERNAL_CODE:
            parts = ["2—32位字母、数字、“-”或“_”"]
        elif kind is ColumnKind.NATIONAL_CODE:
            parts = ["24位国家项目代码，如2104-370600-04-01-A1B2C3"]
        else:  # pragma: no cover
            parts = [str(kind)]
        if self.min_value is not None and kind in (ColumnKind.DECIMAL, ColumnKind.INTEGER):
            parts.append(f"不小于{self.min_value}")
        if self.max_value is not None and kind in (ColumnKind.DECIMAL, ColumnKind.INTEGER):
            parts.append(f"不大于{self.max_value}")
        return "，".join(parts)

    @property
    def display_width(self) -> int:
        if self.width:
            return self.width
        base = {
            ColumnKind.MULTILINE: 40,
            ColumnKind.USCC: 22,
            ColumnKind.NATIONAL_CODE: 28,
            ColumnKind.DATE: 13,
            ColumnKind.PERIOD: 10,
        }.get(self.kind, 14)
        if self.kind is ColumnKind.TEXT and (self.max_length or 0) >= 100:
            base = 30
        header_width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in self.header) + 2
        longest = max((len(v) * 2 for v in self.allowed()), default=0)
        return max(base, min(header_width, 40), min(longest + 2, 30))


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return cells.decimal_from_float(value)
    return Decimal(str(value))


@dataclass(frozen=True)
class RowError:
    """One problem in one cell (or one row, when ``field`` is None)."""

    row: int
    column: str
    field: str | None
    message: str
    code: str = "invalid"
    value: str | None = None


@dataclass
class ParsedRow:
    row: int
    values: dict[str, Any]
    errors: list[RowError] = field(default_factory=list)
    #: what an importer worked out from the row alone (chaintrack.imports: Handler.prepare)
    prepared: Any = None

    @property
    def ok(self) -> bool:
        return not self.errors


class _Invalid:
    """Stands, in cross-field checks, for a cell that was filled but could not be read."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()

#: A cross-field check: the row's values → [(field, message)]. A cell that failed to
#: parse is ``INVALID`` (filled, but not comparable); a blank cell is None.
RowCheck = Callable[[Mapping[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class SheetSpec:
    """An importable entity: its columns, natural key and cross-field checks."""

    name: str
    title_zh: str
    title_en: str
    columns: tuple[Column, ...]
    #: the natural key the import upserts by (field names)
    key: tuple[str, ...]
    notes: tuple[str, ...] = ()
    checks: tuple[RowCheck, ...] = ()
    #: groups returned as a dict of their filled cells only (never None)
    sparse_groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [c.field for c in self.columns]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate field names in spec {self.name}")

    @cached_property
    def import_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.export_only)

    @property
    def template_columns(self) -> tuple[Column, ...]:
        return self.import_columns

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.field == name:
                return col
        raise KeyError(name)

    @property
    def required_fields(self) -> list[str]:
        return [c.field for c in self.import_columns if c.required]

    def header_map(self) -> dict[str, list[str]]:
        return {c.field: c.accepted_headers() for c in self.columns}

    def open(
        self,
        source: Source,
        *,
        filename: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_rows: int = DEFAULT_MAX_ROWS,
        sheet: str | None = None,
    ) -> SheetReader:
        """Open an uploaded file for this entity (raises SheetError)."""
        return open_sheet(
            source,
            self.header_map(),
            required=self.required_fields,
            filename=filename,
            max_bytes=max_bytes,
            max_rows=max_rows,
            sheet=sheet,
        )

    def parse_rows(self, reader: SheetReader) -> Iterator[ParsedRow]:
        """Parse every row of an open reader (SheetError may come from the iteration)."""
        for raw in reader:
            yield self.parse_row(raw, date1904=reader.date1904)

    @cached_property
    def _layout(self) -> tuple[tuple[tuple[str, Column], ...], tuple[str, ...], tuple[int, ...]]:
        """The import columns as (field, column), their fields, and the positions of the
        required ones."""
        cols = self.import_columns
        return (
            tuple((c.field, c) for c in cols),
            tuple(c.field for c in cols),
            tuple(i for i, c in enumerate(cols) if c.required),
        )

    def parse_row(self, raw: RawRow, *, date1904: bool = False) -> ParsedRow:
        """Typed values of one row, or all its errors.

        The common case — every cell reads, required ones are filled, the cross-field
        checks pass — takes one pass; any error sends the row through the careful
        path, which collects every error of the row.
        """
        pairs, names, required = self._layout
        cells_in = raw.values
        try:
            values = [col.parse(cells_in.get(name), date1904=date1904) for name, col in pairs]
        except CellError:
            return self._parse_row_errors(raw, date1904)
        for i in required:
            if values[i] is None or values[i] == []:
                return self._parse_row_errors(raw, date1904)
        by_field = dict(zip(names, values, strict=True))
        if self.checks and any(check(by_field) for check in self.checks):
            return self._parse_row_errors(raw, date1904)
        return ParsedRow(raw.number, self._shape(by_field), [])

    def _parse_row_errors(self, raw: RawRow, date1904: bool) -> ParsedRow:
        errors: list[RowError] = []
        by_field: dict[str, Any] = {}
        failed: set[str] = set()
        cells_in = raw.values
        for col in self.import_columns:
            raw_value = cells_in.get(col.field)
            try:
                value = col.parse(raw_value, date1904=date1904)
            except CellError as exc:
                errors.append(
                    RowError(
                        raw.number, col.header, col.field, exc.message, exc.code, _shown(raw_value)
                    )
                )
                failed.add(col.field)
                continue
            if col.required and (value is None or value == []):
                errors.append(
                    RowError(
                        raw.number,
                        col.header,
                        col.field,
                        f"“{col.header}”为必填项，不能为空 / required, must not be blank",
                        "required",
                    )
                )
                failed.add(col.field)
                continue
            by_field[col.field] = value
        if self.checks:
            seen = {**by_field, **dict.fromkeys(failed, INVALID)}
            for check in self.checks:
                for name, message in check(seen):
                    if name in failed:
                        continue  # that cell already has its own error
                    col = self.column(name)
                    errors.append(RowError(raw.number, col.header, name, message, "rule"))
        if errors:
            return ParsedRow(raw.number, {}, errors)
        return ParsedRow(raw.number, self._shape(by_field), [])

    @cached_property
    def _paths(self) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, str], ...]]:
        """Where each import column's value goes: (key, field) at the top level and
        (group, key, field) inside a group."""
        top = tuple((c.path[0], c.field) for c in self.import_columns if len(c.path) == 1)
        nested = tuple(
            (c.path[0], c.path[1], c.field) for c in self.import_columns if len(c.path) > 1
        )
        return top, nested

    def _shape(self, by_field: dict[str, Any]) -> dict[str, Any]:
        """Parsed cells as the handler takes them: grouped columns (``figures.year``)
        nested under their group."""
        top, nested = self._paths
        out = {name: by_field[source] for name, source in top}
        groups: dict[str, dict[str, Any]] = {}
        for group, member, source in nested:
            groups.setdefault(group, {})[member] = by_field[source]
        for name, members in groups.items():
            if name in self.sparse_groups:
                out[name] = {k: v for k, v in members.items() if v is not None}
            else:
                out[name] = members if any(v is not None for v in members.values()) else None
        return out


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    text = cells._as_text(value)
    return text if len(text) <= 100 else text[:97] + "..."
