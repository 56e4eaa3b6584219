"""Streamed exports in the template format (.xlsx and CSV).

An export is the template with rows in it: the data sheet first (bold header row,
required headers in red, frozen, column widths, drop-down lists for enumerations,
text-formatted code and period columns), then the instructions sheet (说明) and a
hidden sheet holding long drop-down lists. The .xlsx is written with openpyxl's
``write_only`` mode (rows go to disk as they come, memory stays flat); CSV is UTF-8
with a BOM so Excel opens the Chinese correctly.

Values are written so that the reader gives them back exactly: Decimals as numbers
(text when they carry more than Excel's 15 significant digits), dates as date cells,
periods and codes as text, enumerations by their Chinese labels, booleans as 是/否.

Row dicts may be flat (``{"revenue": ...}``) or shaped like the parser's output
(``{"figures": {"revenue": ...}}``): each column looks up its field name first, then
its target path.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from chaintrack.sheets.columns import Column
from chaintrack.sheets.sheetspec import SheetSpec

INSTRUCTIONS_SHEET = "说明"
LISTS_SHEET = "_lists"
MAX_EXCEL_ROW = 1_048_576
INLINE_LIST_LIMIT = 255  # Excel's limit for a list typed into the validation itself
_CSV_FLUSH_ROWS = 1000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_HEADER_FONT = Font(bold=True)
_REQUIRED_FONT = Font(bold=True, color="C00000")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TITLE_FONT = Font(bold=True, size=14)

Target = str | os.PathLike[str] | IO[bytes]


def _lookup(row: Mapping[str, Any], col: Column) -> Any:
    """The column's value in a nested row (by target path) or a flat one (by field)."""
    path = col.path
    if len(path) > 1:
        group = row.get(path[0])
        if isinstance(group, Mapping) and path[1] in group:
            return group[path[1]]
    value = row.get(col.field)
    return None if isinstance(value, Mapping) else value


def _number_format(col: Column) -> str | None:
    return col.rules.xlsx_format


def _clean_string(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", text)


class XlsxWriter:
    """Write one spec's sheet row by row (``write_only``); ``save()`` at the end."""

    def __init__(
        self,
        spec: SheetSpec,
        *,
        columns: Sequence[Column] | None = None,
        instructions: bool = True,
        validations: bool = True,
    ) -> None:
        self.spec = spec
        self.columns = tuple(columns if columns is not None else spec.columns)
        self.wb = Workbook(write_only=True)
        self.ws = self.wb.create_sheet(spec.title_zh[:31])
        self.rows_written = 0
        self._formats = [_number_format(c) for c in self.columns]
        self._lists: _ListsSheet | None = None
        self._setup_columns()
        if validations:
            self._add_validations()
        self._write_header()
        self._instructions = instructions

    # ----------------------------------------------------------------- layout

    def _setup_columns(self) -> None:
        for idx, col in enumerate(self.columns, start=1):
            dim = self.ws.column_dimensions[get_column_letter(idx)]
            dim.width = col.display_width
            fmt = _number_format(col)
            if fmt:
                dim.number_format = fmt
        self.ws.freeze_panes = "A2"

    def _write_header(self) -> None:
        cells = []
        for col in self.columns:
            cell = WriteOnlyCell(self.ws, col.header)
            cell.font = _REQUIRED_FONT if col.required else _HEADER_FONT
            cell.fill = _HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            tip = col.format_zh() + ("（必填）" if col.required else "")
            if col.help:
                tip += "\n" + col.help
            if col.export_only:
                tip = "系统计算，导入时不读取\n" + tip
            comment = Comment(tip, "chaintrack")
            comment.width, comment.height = 240, 110
            cell.comment = comment
            cells.append(cell)
        self.ws.append(cells)

    def _add_validations(self) -> None:
        lists_ws = None
        list_col = 0
        for idx, col in enumerate(self.columns, start=1):
            allowed = col.allowed()
            if not allowed or col.export_only:
                continue
            letter = get_column_letter(idx)
            inline = ",".join(allowed)
            if (
                len(inline) + 2 <= INLINE_LIST_LIMIT
                and not any(ch in inline for ch in '"')
                and all("," not in v for v in allowed)
            ):
                formula = f'"{inline}"'
            else:
                if lists_ws is None:
                    lists_ws = _ListsSheet()
                list_col += 1
                formula = lists_ws.add(list_col, col.header, allowed)
            allowed_zh = "、".join(allowed)
            if len(allowed_zh) > 200:
                allowed_zh = allowed_zh[:197] + "..."
            dv = DataValidation(
                type="list",
                formula1=formula,
                allow_blank=True,
                showDropDown=False,  # (sic) False shows the in-cell arrow
                showErrorMessage=True,
                errorStyle="stop",
                errorTitle="输入有误"[:32],
                error=f"请从下拉列表中选择：{allowed_zh}"[:255],
                showInputMessage=bool(col.help),
                promptTitle=col.header[:32],
                prompt=col.help[:255] if col.help else None,
            )
            dv.add(f"{letter}2:{letter}{MAX_EXCEL_ROW}")
            self.ws.data_validations.append(dv)
        self._lists = lists_ws

    # ------------------------------------------------------------------ rows

    def _cell(self, col: Column, fmt: str | None, value: Any) -> Any:
        out = col.to_cell(value)
        if out is None:
            return None
        if isinstance(out, str):
            out = _clean_string(out)
            if out.startswith("="):
                cell = WriteOnlyCell(self.ws, out)
                cell.data_type = "s"  # text, never a formula
                return cell
            return out
        if isinstance(out, (Decimal, int, float, dt.date)) and fmt and fmt != "@":
            cell = WriteOnlyCell(self.ws, out)
            cell.number_format = fmt
            return cell
        return out

    def write_row(self, row: Mapping[str, Any]) -> None:
        self.ws.append(
            [
                self._cell(col, fmt, _lookup(row, col))
                for col, fmt in zip(self.columns, self._formats, strict=True)
            ]
        )
        self.rows_written += 1

    def write_rows(self, rows: Iterable[Mapping[str, Any]]) -> int:
        for row in rows:
            self.write_row(row)
        return self.rows_written

    # ------------------------------------------------------------------ finish

    def save(self, target: Target) -> None:
        if self._instructions:
            _write_instructions(self.wb, self.spec, self.columns)
        if self._lists is not None:
            self._lists.write(self.wb)
        self.wb.save(target)

    def discard(self) -> None:
        """Give up a workbook that will not be saved (an error while writing it).

        A write-only sheet streams its rows into a temporary file through generators;
        left open, they are finalised by the garbage collector after their file is
        closed ("I/O operation on closed file" from et_xmlfile) and the file stays on
        disk until the process exits. Closing each sheet ends its XML in order; the
        temporary file is then removed."""
        for ws in self.wb.worksheets:
            with contextlib.suppress(Exception):  # the original error is the one to raise
                if not ws.closed:
                    ws.close()
            # WriteOnlyWorksheet keeps its stream writer, with the file's path, as _writer.
            stream = getattr(ws, "_writer", None)
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.cleanup()


class _ListsSheet:
    """Long drop-down lists, one per column of a hidden sheet."""

    def __init__(self) -> None:
        self.columns: list[tuple[str, list[str]]] = []

    def add(self, idx: int, header: str, values: list[str]) -> str:
        self.columns.append((header, values))
        letter = get_column_letter(idx)
        return f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(values) + 1}"

    def write(self, wb: Workbook) -> None:
        ws = wb.create_sheet(LISTS_SHEET)
        ws.sheet_state = "hidden"
        longest = max(len(v) for _, v in self.columns)
        ws.append([h for h, _ in self.columns])
        for i in range(longest):
            ws.append([values[i] if i < len(values) else None for _, values in self.columns])


def _write_instructions(wb: Workbook, spec: SheetSpec, columns: Sequence[Column]) -> None:
    ws = wb.create_sheet(INSTRUCTIONS_SHEET)
    for letter, width in zip("ABCDEFG", (24, 22, 8, 40, 40, 40, 24), strict=True):
        ws.column_dimensions[letter].width = width

    def styled(value: Any, font: Font | None = None, wrap: bool = False) -> Cell:
        cell = WriteOnlyCell(ws, value)
        if font:
            cell.font = font
        if wrap:
            cell.alignment = _WRAP
        return cell

    ws.append([styled(f"{spec.title_zh}导入模板填写说明 / {spec.title_en}", _TITLE_FONT)])
    general = [
        f"1. 在“{spec.title_zh}”工作表中从第2行起每行填写一条记录；请勿修改表头。"
        "表头也可使用英文字段名。",
        "2. 红色表头为必填列；其余列可留空。",
        "3. 日期可填2024-03-05、2024/3/5、2024年3月5日；年月可填2024-03、2024/3、2024年3月。",
        "4. 金额单位为万元，填数字即可（可带千分位，如1,234.50）。",
        "5. 有下拉箭头的列请从列表中选择；也可填写对应的英文值。",
        "6. 导入时先预检（不写入），全部无误后再正式导入；任何一行有错，整个文件都不会写入。",
    ]
    for offset, line in enumerate(spec.notes, start=len(general) + 1):
        general.append(f"{offset}. {line}")
    for line in general:
        ws.append([styled(line)])
    ws.append([])
    ws.append(
        [
            styled(h, _HEADER_FONT)
            for h in ("列名", "英文字段名", "必填", "格式", "可选值", "说明", "示例")
        ]
    )
    for col in columns:
        required = "是" if col.required else ("系统计算" if col.export_only else "否")
        ws.append(
            [
                styled(col.header, _REQUIRED_FONT if col.required else None),
                col.field,
                required,
                styled(col.format_zh(), wrap=True),
                styled("、".join(col.allowed()), wrap=True),
                styled(col.help, wrap=True),
                None if col.example is None else str(col.example),
            ]
        )


def write_xlsx(
    spec: SheetSpec,
    rows: Iterable[Mapping[str, Any]],
    target: Target,
    *,
    columns: Sequence[Column] | None = None,
    instructions: bool = True,
) -> int:
    """Export ``rows`` as .xlsx in the template format; returns the number of rows."""
    writer = XlsxWriter(spec, columns=columns, instructions=instructions)
    try:
        count = writer.write_rows(rows)
        writer.save(target)
    except BaseException:
        writer.discard()
        raise
    return count


def xlsx_bytes(spec: SheetSpec, rows: Iterable[Mapping[str, Any]] = (), **kw: Any) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(spec, rows, buffer, **kw)
    return buffer.getvalue()


# --------------------------------------------------------------------------- csv


def _csv_text(col: Column, value: Any) -> str:
    text = col.to_text(value) if value is not None else ""
    if text.startswith(FORMULA_START) and col.rules.formula_guard:
        return "'" + text  # Excel would run it as a formula; the reader strips it
    return text


def iter_csv(
    spec: SheetSpec,
    rows: Iterable[Mapping[str, Any]],
    *,
    columns: Sequence[Column] | None = None,
) -> Iterator[bytes]:
    """CSV (UTF-8 with BOM) in chunks, for a streaming HTTP response."""
    cols = tuple(columns if columns is not None else spec.columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in cols])
    yield "\ufeff".encode() + buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    pending = 0
    for row in rows:
        writer.writerow([_csv_text(c, _lookup(row, c)) for c in cols])
        pending += 1
        if pending >= _CSV_FLUSH_ROWS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue().encode("utf-8")


def write_csv(
    spec: SheetSpec,
    rows: Iterable[Mapping[str, Any]],
    target: IO[bytes],
    *,
    columns: Sequence[Column] | None = None,
) -> None:
    for chunk in iter_csv(spec, rows, columns=columns):
        target.write(chunk)


def csv_bytes(spec: SheetSpec, rows: Iterable[Mapping[str, Any]] = (), **kw: Any) -> bytes:
    return b"".join(iter_csv(spec, rows, **kw))
