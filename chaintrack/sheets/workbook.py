"""Workbooks (.xlsx, .xls, .ods) read with python-calamine.

calamine (a maintained Rust reader) opens all three formats. A sheet is decoded whole
when it is first asked for (the cells in Rust, about 70 bytes a cell: some 110 MB for
100,000 rows of 15 columns) and handed to Python one row at a time by ``iter_rows()``,
so Python never holds more than a row. What it gives, and how the rest of
``chaintrack.sheets`` reads it:

- a blank cell is ``""`` (the reader turns it into ``None``); a row is a list padded to
  the sheet's width; ``iter_rows()`` counts rows from A1 but columns from the first
  used column, so rows are padded on the left here (column indexes are Excel's);
- numbers are ``float`` (``1.0`` for a whole number), or ``int`` where the file stores
  integers (.ods, .xls); ``cells`` reads floats as the 15 significant digits Excel shows;
- a date-formatted number is a ``date`` (whole days), ``datetime``, ``time`` (below one
  day) or ``timedelta`` (elapsed-time formats), the 1900/1904 date systems applied;
- booleans are ``bool``; a formula gives its cached result (nothing when none is cached);
- an error cell (``#N/A``, ``#DIV/0!``) is ``""`` like a blank one: calamine's Python
  binding does not say which error it was (python-calamine issue 105).

Number formats and merged cells: calamine does not say a cell's number format, and a
percent-formatted cell (``45%`` typed in the sheet) holds 0.45; it gives merged ranges
for .xlsx and .xls only. ``sheets.styles`` reads what is missing from the file's XML
(percent formats of .xlsx and .ods cells in the columns that need them, .ods merged
ranges) as ``RowMarks``; ``SheetReader`` puts a percent cell's format in
``RawRow.formats`` (a percent column reads it × 100) and gives every row of a merged
range the value of its first cell. .xls percent formats are read with xlrd (``styles``).
"""

from __future__ import annotations

import itertools
import zipfile
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO
from xml.etree import ElementTree

import python_calamine

from chaintrack.sheets.files import Guard, SheetError
from chaintrack.sheets.guard import cells_error, check_zip, columns_error, rows_error
from chaintrack.sheets.headers import HeaderIndex, HeaderMatch
from chaintrack.sheets.styles import RowMarks, row_marks

_NAMES = {"xlsx": ".xlsx", "xls": ".xls", "ods": ".ods"}


@dataclass
class OpenedSheet:
    """The sheet chosen in a workbook: its rows, header row and date system."""

    name: str
    header: HeaderMatch
    rows: Callable[[], Iterator[Sequence[Any]]]
    date1904: bool
    #: percent formats and merged ranges by row (``sheets.styles``), when there are any
    marks: Callable[[], Iterator[RowMarks]] | None = None


def _failed(kind: str, exc: BaseException) -> SheetError:
    if isinstance(exc, python_calamine.PasswordError):
        return SheetError(
            "unsupported",
            "工作簿设有打开密码，请取消密码后另存为.xlsx再导入 / "
            "the workbook is password-protected: remove the password and save it again",
        )
    if kind == "xls":
        return SheetError(
            "corrupt",
            "旧版Excel（.xls）文件已损坏或已加密，无法打开，请在Excel中另存为.xlsx后重试 / "
            "the .xls file is damaged or encrypted; save it as .xlsx in Excel",
        )
    return SheetError(
        "corrupt",
        f"{_NAMES[kind]}文件已损坏或格式不对，无法打开，请在Excel中另存为.xlsx后重试 / "
        f"the workbook is damaged or not a real {_NAMES[kind]}; save it again from Excel",
    )


def _is_failure(exc: BaseException) -> bool:
    """An exception from calamine, including a Rust panic (a BaseException in pyo3)."""
    return not isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit))


def xlsx_date1904(stream: BinaryIO) -> bool:
    """Whether an .xlsx counts dates from 1904 (workbookPr/@date1904 in xl/workbook.xml).

    calamine applies it to date-formatted cells itself but does not say it; a serial
    typed in a General cell of a date column needs it too (``cells.parse_date``)."""
    try:
        with zipfile.ZipFile(stream) as archive, archive.open("xl/workbook.xml") as part:
            for _, element in ElementTree.iterparse(part, events=("start",)):
                if element.tag.rsplit("}", 1)[-1] == "workbookPr":
                    return element.get("date1904", "").lower() in ("1", "true")
                if element.tag.rsplit("}", 1)[-1] == "sheets":
                    return False
    finally:
        stream.seek(0)
    return False


def sheet_rows(ws: python_calamine.CalamineSheet) -> Iterator[Sequence[Any]]:
    """Every row from row 1, each padded on the left to column A."""
    start = ws.start
    if start is None:  # an empty sheet (iter_rows() itself would fail on it)
        return iter(())
    rows: Iterator[Sequence[Any]] = ws.iter_rows()
    if start[1]:
        blanks = [""] * start[1]
        return (blanks + row for row in rows)  # type: ignore[operator]
    return rows


def check_before_reading(stream: BinaryIO, kind: str, guard: Guard) -> None:
    """The limits that must hold before calamine decodes anything (``sheets.guard``):
    a zip workbook's parts, sizes, rows, columns, cells and shared strings."""
    if kind in ("xlsx", "ods") and not guard.checked:
        check_zip(stream, kind, guard)
    guard.budget.check()


def check_decoded(ws: python_calamine.CalamineSheet, guard: Guard) -> None:
    """The used range of a decoded sheet (an .xls or .ods, whose cells are not counted
    before: bounded by their own format, checked here before any row is handed over)."""
    limits = guard.limits
    rows, cols = ws.height, ws.width
    if cols > limits.max_columns:
        raise columns_error(limits, cols)
    if rows > limits.max_sheet_rows:
        raise rows_error(limits, rows)
    if rows * cols > limits.max_cells:
        raise cells_error(limits, rows * cols)
    guard.budget.check()


def open_workbook(
    stream: BinaryIO,
    kind: str,
    index: HeaderIndex,
    *,
    sheet: str | None,
    scan_rows: int,
    styled: Collection[str] = (),
    guard: Guard | None = None,
) -> tuple[OpenedSheet, Callable[[], Any]]:
    """Open the workbook and choose its sheet: the named one, else the visible worksheet
    whose header row names the most columns. Returns the sheet and what closes the book.
    ``styled``: the fields whose percent number format matters (``sheets.styles``).
    Nothing is decoded before the ``guard``'s limits are checked."""
    guard = guard or Guard()
    check_before_reading(stream, kind, guard)
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(stream)
    except BaseException as exc:
        if not _is_failure(exc):
            raise
        raise _failed(kind, exc) from exc
    try:
        opened = _choose(
            book, stream, kind, index, sheet=sheet, scan_rows=scan_rows, styled=styled, guard=guard
        )
        return opened, book.close
    except BaseException:
        book.close()
        raise


def _choose(
    book: python_calamine.CalamineWorkbook,
    stream: BinaryIO,
    kind: str,
    index: HeaderIndex,
    *,
    sheet: str | None,
    scan_rows: int,
    styled: Collection[str],
    guard: Guard,
) -> OpenedSheet:
    worksheets = [
        m for m in book.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet
    ]
    if sheet is not None:
        candidates = [m.name for m in worksheets if m.name == sheet]
        if not candidates:
            names = "、".join(m.name for m in worksheets)
            raise SheetError(
                "no_sheet",
                f"找不到工作表“{sheet}”，文件中有：{names} / no sheet named {sheet!r}",
            )
    else:
        visible = python_calamine.SheetVisibleEnum.Visible
        candidates = [m.name for m in worksheets if m.visible == visible]
    best: tuple[python_calamine.CalamineSheet, HeaderMatch] | None = None
    for name in candidates:
        try:
            ws = book.get_sheet_by_name(name)
            check_decoded(ws, guard)
            match = index.best(itertools.islice(sheet_rows(ws), scan_rows))
        except SheetError:
            raise
        except BaseException as exc:
            if not _is_failure(exc):
                raise
            raise SheetError(
                "corrupt",
                f"工作表“{name}”已损坏，无法读取 / the sheet {name!r} cannot be read",
            ) from exc
        if match and (best is None or match.score > best[1].score):
            best = (ws, match)  # a sheet that loses is dropped (its cells freed) here
    if best is None:
        raise index.not_found()
    ws, header = best
    try:
        date1904 = kind == "xlsx" and xlsx_date1904(stream)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError) as exc:
        raise _failed(kind, exc) from exc
    marks = _marks(stream, kind, ws, header, styled)
    return OpenedSheet(ws.name, header, lambda: sheet_rows(ws), date1904, marks)


def _marks(
    stream: BinaryIO,
    kind: str,
    ws: python_calamine.CalamineSheet,
    header: HeaderMatch,
    styled: Collection[str],
) -> Callable[[], Iterator[RowMarks]] | None:
    """Percent formats (of the ``styled`` fields' columns) and merged ranges of the sheet."""
    columns = {header.columns[name] for name in styled if name in header.columns}
    try:
        return row_marks(stream, kind, ws, columns, header_row=header.row)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError, ValueError) as exc:
        raise _failed(kind, exc) from exc
