"""Streaming rows out of an uploaded spreadsheet (.xlsx, .xls, .ods or .csv).

``open_sheet(source, columns, ...)`` checks the file (size, kind), finds the header
row and returns a ``SheetReader``: iterate it for ``RawRow`` objects (raw cell values by
field name, with the row number the clerk sees in Excel), then close it (or use it as a
context manager). Workbooks are read by python-calamine (``sheets.workbook``: the chosen
sheet decoded in Rust, rows handed over one at a time), CSV with the ``csv`` module over
an incremental decoder (``sheets.csvfile``: memory stays flat).

What an office suite's file says beyond the values (``sheets.styles``): a
percent-formatted cell in a ``styled`` column carries its format in ``RawRow.formats``
(.xlsx, .ods, and .xls through xlrd), and a cell merged over several
data rows (a project name over three month rows) gives its value to each of those rows
(its first column; title and header rows are left alone).

Every problem with the file as a whole (too big, too many rows, not a spreadsheet, no
header row, a required column missing, an undecodable CSV) is a ``SheetError`` with a
Chinese + English message, raised by ``open_sheet`` or, for the row cap and encoding
errors found later in the file, by the iteration. No other exception escapes.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from chaintrack.sheets.cells import is_blank
from chaintrack.sheets.csvfile import open_csv
from chaintrack.sheets.files import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    WORKBOOK_KINDS,
    Budget,
    Guard,
    ReadLimits,
    SheetError,
    Source,
    binary_stream,
    sniff_kind,
)
from chaintrack.sheets.guard import cell_chars_error, columns_error, rows_error
from chaintrack.sheets.headers import HEADER_SCAN_ROWS, HeaderIndex, HeaderMatch
from chaintrack.sheets.styles import Merge, RowMarks
from chaintrack.sheets.workbook import open_workbook

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_ROWS",
    "HEADER_SCAN_ROWS",
    "Budget",
    "Guard",
    "RawRow",
    "ReadLimits",
    "SheetError",
    "SheetReader",
    "Source",
    "open_sheet",
]


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row: ``number`` as Excel shows it (1-based, title rows counted).

    ``formats``: each cell's number format by field, where the reader knows it (the
    seam for percent-formatted cells, see ``sheets.workbook``); None when it does not."""

    number: int
    values: dict[str, Any]
    formats: Mapping[str, str] | None = None


def _no_rows() -> Iterator[Sequence[Any]]:
    return iter(())


class SheetReader:
    """Rows of one sheet, after its header row. Iterate once; then ``close()``."""

    format: str
    sheet_name: str | None
    encoding: str | None
    date1904: bool
    header: HeaderMatch

    def __init__(
        self,
        *,
        format: str,
        header: HeaderMatch,
        rows: Callable[[], Iterator[Sequence[Any]]],
        max_rows: int,
        closers: list[Callable[[], Any]],
        sheet_name: str | None = None,
        encoding: str | None = None,
        date1904: bool = False,
        marks: Callable[[], Iterator[RowMarks]] | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.format = format
        self.header = header
        self.sheet_name = sheet_name
        self.encoding = encoding
        self.date1904 = date1904
        self.max_rows = max_rows
        self._rows = rows
        self._marks = marks
        self._closers = closers
        self.rows_read = 0
        self.guard = guard or Guard(ReadLimits(max_rows=max_rows))

    @property
    def header_row(self) -> int:
        return self.header.row

    @property
    def columns(self) -> dict[str, int]:
        return self.header.columns

    @property
    def unknown_headers(self) -> list[str]:
        return self.header.unknown

    def _too_many(self, number: int) -> SheetError:
        return SheetError(
            "too_many_rows",
            f"数据行超过上限{self.max_rows}行，请拆分为多个文件导入 / "
            f"more than {self.max_rows} data rows; split the file",
            row=number,
        )

    def __iter__(self) -> Iterator[RawRow]:
        skip = self.header.row
        limits = self.guard.limits
        try:
            if self._marks is not None:
                yield from self._marked_rows(self._marks)
            else:
                yield from self._plain_rows()
        except SheetError:
            raise
        except UnicodeDecodeError as exc:
            raise SheetError(
                "encoding",
                f"第{self.rows_read + skip + 1}行附近的文字编码无法识别，请将文件另存为"
                "“CSV UTF-8”或.xlsx后重试 / the text encoding cannot be read; save the file "
                "as CSV UTF-8 or .xlsx",
            ) from exc
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise cell_chars_error(limits) from exc
            raise SheetError(
                "csv", f"CSV文件格式错误：{exc} / the CSV file is malformed: {exc}"
            ) from exc
        except Exception as exc:  # a damaged file that fails while streaming
            raise SheetError(
                "corrupt",
                "文件已损坏，无法读取全部内容，请在Excel中打开后另存为.xlsx / "
                f"the file is damaged and cannot be read to the end ({type(exc).__name__})",
            ) from exc

    def _checked_rows(self) -> Iterator[tuple[int, Sequence[Any]]]:
        """The sheet's rows, numbered, within the guard's limits (sheets.guard): blank
        rows count against the row limit, the budget (deadline, client gone) is checked
        every 1024 rows."""
        limits, budget = self.guard.limits, self.guard.budget
        for number, cells in enumerate(self._rows(), start=1):
            if not number & 1023:
                budget.check()
            if number > limits.max_sheet_rows:
                raise rows_error(limits, number)
            if len(cells) > limits.max_columns:
                raise columns_error(limits, len(cells))
            yield number, cells

    def _values(
        self, number: int, cells: Sequence[Any], columns: list[tuple[str, int]]
    ) -> dict[str, Any] | None:
        """A data row's values by field (blank cells None), or None for a blank row."""
        width = len(cells)
        values = {name: cells[i] if i < width else None for name, i in columns}
        if all(is_blank(v) for v in values.values()):
            return None
        self.rows_read += 1
        if self.rows_read > self.max_rows:
            raise self._too_many(number)
        max_chars = self.guard.limits.max_cell_chars
        for name, value in values.items():
            if value == "":
                values[name] = None
            elif type(value) is str and len(value) > max_chars:
                raise cell_chars_error(self.guard.limits, number)
        return values

    def _plain_rows(self) -> Iterator[RawRow]:
        columns = list(self.header.columns.items())
        skip = self.header.row
        for number, cells in self._checked_rows():
            if number <= skip:
                continue
            values = self._values(number, cells, columns)
            if values is not None:
                yield RawRow(number, values)

    def _marked_rows(self, source: Callable[[], Iterator[RowMarks]]) -> Iterator[RawRow]:
        """The rows, with the percent formats and merged ranges of ``sheets.styles``."""
        columns = list(self.header.columns.items())
        by_column = {i: name for name, i in columns}
        skip = self.header.row
        fills: dict[int, tuple[int, Any]] = {}  # column → (last row of the merge, value)
        marks: Iterator[RowMarks] | None = None
        try:  # closes the marks' zip member when the rows stop early
            marks = source()
            upcoming = next(marks, None)
            shading: RowMarks | None = None
            for number, cells in self._checked_rows():
                starting: list[Merge] = []
                while upcoming is not None and upcoming.row <= number:
                    starting.extend(upcoming.merges)
                    shading = upcoming
                    upcoming = next(marks, None)
                if number <= skip:
                    continue
                values = self._values(number, cells, columns)
                if values is None:
                    continue
                for merge in starting:
                    first = values.get(by_column.get(merge.first_col, ""))
                    if merge.last_row > number and not is_blank(first):
                        fills[merge.first_col] = (merge.last_row, first)
                for col, (last, value) in list(fills.items()):
                    if last < number:
                        del fills[col]
                    elif values[by_column[col]] is None:
                        values[by_column[col]] = value
                formats = None
                if shading is not None and shading.formats and number <= shading.through:
                    found = shading.formats
                    formats = {name: found[i] for name, i in columns if i in found} or None
                yield RawRow(number, values, formats)
        finally:
            close = getattr(marks, "close", None)
            if close is not None:
                close()

    def close(self) -> None:
        self._rows = _no_rows  # frees a workbook sheet's cells
        _close_all(self._closers)

    def __enter__(self) -> SheetReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_sheet(
    source: Source,
    columns: Mapping[str, Iterable[str]],
    *,
    required: Collection[str] = (),
    filename: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    sheet: str | None = None,
    header_scan_rows: int = HEADER_SCAN_ROWS,
    styled: Collection[str] = (),
    limits: ReadLimits | None = None,
    budget: Budget | None = None,
    checked: bool = False,
) -> SheetReader:
    """Open a spreadsheet for streaming.

    ``columns`` maps each field name to the headers accepted for it (the Chinese header
    first: it is the one error messages show); the field name itself is always
    accepted. The header row is the row among the first ``header_scan_rows`` that names
    the most known columns (title rows above it, merged or not, are skipped); with
    several visible sheets the one whose header matches best is read. ``required``
    columns must be present. The kind of file (.xlsx, .xls, .ods, CSV) is told by its
    content, not ``filename`` (kept for messages and future use). ``styled``: the
    fields (percentage columns) whose cells' percent formats are read into
    ``RawRow.formats``.

    ``limits`` (all of them; ``max_bytes`` and ``max_rows`` above when not given) and
    ``budget`` (deadline, cancelled flag) bound what reading the file may cost: each is
    checked while reading, before the work is done (``sheets.guard``), and passing one
    is a SheetError whose code is one of ``LIMIT_413`` / ``LIMIT_422``. ``checked``: the
    same file passed ``open_sheet`` before with these limits (its zip is not scanned
    again).
    """
    del filename
    if limits is None:
        limits = ReadLimits(max_bytes=max_bytes, max_rows=max_rows)
    max_bytes, max_rows = limits.max_bytes, limits.max_rows
    guard = Guard(limits, budget or Budget(), checked=checked)
    index = HeaderIndex(columns)
    closers: list[Callable[[], Any]] = []
    try:
        stream, closers = binary_stream(source, max_bytes)
        kind = sniff_kind(stream)
        if kind in WORKBOOK_KINDS:
            opened, close_book = open_workbook(
                stream,
                kind,
                index,
                sheet=sheet,
                scan_rows=header_scan_rows,
                styled=styled,
                guard=guard,
            )
            closers.append(close_book)
            index.check(opened.header, required)
            return SheetReader(
                format=kind,
                header=opened.header,
                rows=opened.rows,
                max_rows=max_rows,
                closers=closers,
                sheet_name=opened.name,
                date1904=opened.date1904,
                marks=opened.marks,
                guard=guard,
            )
        rows, header, encoding = open_csv(stream, index, scan_rows=header_scan_rows, guard=guard)
        index.check(header, required)
        return SheetReader(
            format="csv",
            header=header,
            rows=rows,
            max_rows=max_rows,
            closers=closers,
            encoding=encoding,
            guard=guard,
        )
    except SheetError:
        _close_all(closers)
        raise
    except Exception as exc:
        _close_all(closers)
        raise SheetError(
            "unreadable",
            "文件无法读取，请确认是.xlsx、.xls、.ods或.csv文件 / "
            f"the file cannot be read ({type(exc).__name__})",
        ) from exc


def _close_all(closers: list[Callable[[], Any]]) -> None:
    while closers:
        with contextlib.suppress(Exception):  # closing must not mask the real error
            closers.pop()()
