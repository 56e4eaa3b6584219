"""A sheet's spec and the parsing of a whole row: typed values, or every error of the row.

``spec.parse_row(raw)`` returns a ``ParsedRow`` holding either the typed values or every
error of the row (row number, column header, message), never only the first.
Columns with a dotted ``target`` ("figures.revenue") are gathered into a nested dict
("figures"); a group whose cells are all blank is ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from chaintrack.sheets import cells
from chaintrack.sheets.cells import CellError
from chaintrack.sheets.columns import Column
from chaintrack.sheets.reader import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    RawRow,
    SheetReader,
    Source,
    open_sheet,
)


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
            styled=self.styled_fields,
        )

    @property
    def styled_fields(self) -> list[str]:
        """The fields whose cells' number formats change their meaning (percentages)."""
        return [c.field for c in self.import_columns if c.rules.reads_number_format]

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
        if raw.formats:  # number formats known: the careful path reads them
            return self._parse_row_errors(raw, date1904)
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
        formats = raw.formats or {}
        for col in self.import_columns:
            raw_value = cells_in.get(col.field)
            try:
                value = col.parse(
                    raw_value, date1904=date1904, number_format=formats.get(col.field)
                )
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
    text = cells.as_text(value)
    return text if len(text) <= 100 else text[:97] + "..."
