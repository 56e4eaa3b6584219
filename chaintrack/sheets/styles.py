"""What calamine does not say about a workbook's cells: percent number formats and (for
.ods) merged cells, read from the file's XML with a streaming parser.

A percent-formatted cell (``45%`` typed in Excel, LibreOffice or WPS) holds 0.45; in a
percentage column it means 45 (``kinds.Percent``). calamine gives the value but not the
number format, so:

- **.xlsx**: ``xl/styles.xml`` says which cell formats (``cellXfs``, by index) have a
  percent number format (built-in 9 and 10, or a ``numFmt`` code with ``%`` outside
  quotes); when none has, nothing more is read. Otherwise the sheet's XML is streamed
  from the zip, 64 KB at a time, for cells whose ``s`` attribute is such a format, in
  the columns that are percentages only (``_scan_percent_cells``; a sheet whose
  percent cells lack their optional ``r`` reference is parsed with expat through
  ``xml.etree.ElementTree.XMLParser`` instead, no tree kept). Merged ranges come from
  calamine (``merged_cell_ranges``).
- **.ods**: ``content.xml`` is streamed the same way: a cell of
  ``office:value-type="percentage"`` is percent-formatted (the type is the cell's own,
  set by its ``number:percentage-style``), and ``table:number-rows-spanned`` /
  ``number-columns-spanned`` give the merged ranges (calamine gives none for .ods).
- **.xls** (BIFF): xlrd reads the workbook's cell formats (``XF`` records, with
  ``formatting_info=True``, ``on_demand=True``: the workbook globals only, a few
  milliseconds); only when a cell format (not a cell style) is a percent format is the
  sheet loaded by xlrd for its cells' format indexes (about 2.5 s and 100 MB more for
  65,000 rows of 12 columns, near the most an .xls holds: a price paid only by .xls
  files with percent cells; the xlrd book is released before the rows are read). Merged
  ranges come from calamine.

Everything is handed to the reader as ``RowMarks`` in row order, lazily: the reader
advances the marks with the rows it reads, so memory does not grow with the sheet.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from xml.etree import ElementTree

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_CHUNK = 64 * 1024
#: Excel's built-in percent formats (ECMA-376 18.8.30).
_BUILTIN_PERCENT = {9: "0%", 10: "0.00%"}
# Parts of a format code that are shown as they are: quoted text, escaped and padding
# characters, and [colour]/[$currency]/[condition] sections.
_LITERALS = re.compile(r'"[^"]*"|\\.|_.|\*.|\[[^\]]*\]')


@dataclass(frozen=True, slots=True)
class Merge:
    """A merged range: rows 1-based as Excel shows them, columns 0-based."""

    first_row: int
    first_col: int
    last_row: int
    last_col: int


@dataclass(slots=True)
class RowMarks:
    """What is known of rows ``row`` to ``through`` beyond their values: their
    percent-formatted cells (column → format code), and the merged ranges that start in
    row ``row``."""

    row: int
    formats: dict[int, str] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    through: int = 0

    def __post_init__(self) -> None:
        self.through = max(self.through, self.row)


def is_percent_format(code: str) -> bool:
    """A number format code that shows its number × 100 with a % sign."""
    return "%" in _LITERALS.sub("", code)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Stream:
    """Feeds an XML part to expat in chunks; the target's callbacks collect events that
    ``run`` hands out between chunks (nothing else is kept)."""

    def __init__(self, part: IO[bytes], target: Any) -> None:
        self.part = part
        self.target = target
        self.parser = ElementTree.XMLParser(target=target)

    def run(self) -> Iterator[RowMarks]:
        out: list[RowMarks] = self.target.out
        while chunk := self.part.read(_CHUNK):
            self.parser.feed(chunk)
            if out:
                yield from out
                out.clear()
        self.parser.close()
        yield from out
        out.clear()


# ------------------------------------------------------------------------------ .xlsx


def _column_index(ref: str) -> int:
    """0-based column of a cell reference (``E12`` → 4)."""
    col = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            col = col * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            col = col * 26 + ord(ch) - 96
        else:
            break
    return col - 1


def xlsx_percent_styles(archive: zipfile.ZipFile) -> dict[str, str]:
    """The ``s`` attribute values (cellXfs indexes) whose number format is a percent,
    with the format code."""
    try:
        part = archive.open("xl/styles.xml")
    except KeyError:
        return {}
    codes: dict[int, str] = dict(_BUILTIN_PERCENT)
    percent: dict[str, str] = {}
    index = 0
    in_xfs = False
    with part:
        for event, element in ElementTree.iterparse(part, events=("start", "end")):
            name = _local(element.tag)
            if event == "start":
                if name == "cellXfs":
                    in_xfs = True
                continue
            if name == "numFmt":
                code = element.get("formatCode", "")
                if is_percent_format(code):
                    codes[int(element.get("numFmtId", "-1"))] = code
            elif name == "xf" and in_xfs:
                fmt = element.get("numFmtId")
                if fmt is not None and fmt.isdigit() and int(fmt) in codes:
                    percent[str(index)] = codes[int(fmt)]
                index += 1
            elif name == "cellXfs":
                break
            if name not in ("numFmts", "cellStyleXfs"):
                element.clear()
    return percent


def xlsx_sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding the worksheet named ``sheet``."""
    rid = None
    with archive.open("xl/workbook.xml") as part:
        for _, element in ElementTree.iterparse(part):
            if _local(element.tag) == "sheet" and element.get("name") == sheet:
                rid = element.get(f"{_REL}id")
                break
    if rid is None:
        return None
    with archive.open("xl/_rels/workbook.xml.rels") as part:
        for _, element in ElementTree.iterparse(part):
            if _local(element.tag) == "Relationship" and element.get("Id") == rid:
                target = element.get("Target", "")
                if target.startswith("/"):
                    return target.lstrip("/")
                return posixpath.normpath(posixpath.join("xl", target))
    return None


class _XlsxCells:
    """expat target: percent-styled cells of the wanted columns, by row."""

    def __init__(self, percent: dict[str, str], columns: Collection[int]) -> None:
        self.percent = percent
        self.columns = columns
        self.out: list[RowMarks] = []
        self.row = 0
        self.col = -1
        self.marks: RowMarks | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _MAIN + "c":
            ref = attrib.get("r")
            self.col = _column_index(ref) if ref else self.col + 1
            code = self.percent.get(attrib.get("s", "0"))
            if code is not None and self.col in self.columns:
                if self.marks is None:
                    self.marks = RowMarks(self.row)
                    self.out.append(self.marks)
                self.marks.formats[self.col] = code
        elif tag == _MAIN + "row":
            number = attrib.get("r")
            self.row = int(number) if number and number.isdigit() else self.row + 1
            self.col = -1
            self.marks = None


def xlsx_marks(
    stream: IO[bytes], sheet: str, columns: Collection[int], merges: Sequence[Merge]
) -> Callable[[], Iterator[RowMarks]] | None:
    """The row marks of an .xlsx sheet: percent cells in ``columns`` and ``merges``.
    None when there is nothing to mark (no percent format in the workbook, no merges)."""
    percent: dict[str, str] = {}
    part_name = None
    if columns:
        with zipfile.ZipFile(stream) as archive:
            percent = xlsx_percent_styles(archive)
            if percent:
                part_name = xlsx_sheet_part(archive, sheet)
        stream.seek(0)
    if part_name is None and not merges:
        return None

    def marks() -> Iterator[RowMarks]:
        if part_name is None:
            return _with_merges(iter(()), merges)
        return _xlsx_stream(stream, part_name, percent, columns, merges)

    return marks


def _xlsx_stream(
    stream: IO[bytes],
    part_name: str,
    percent: dict[str, str],
    columns: Collection[int],
    merges: Sequence[Merge],
) -> Iterator[RowMarks]:
    wanted = frozenset(columns)
    last = 0  # the last row marked (a mark yielded for it: its merges are handed over)
    with zipfile.ZipFile(stream) as archive:
        if "0" not in percent:  # cells without an ``s`` attribute are not percent
            with archive.open(part_name) as part:
                try:
                    for mark in _with_merges(_scan_percent_cells(part, percent, wanted), merges):
                        last = mark.row
                        yield mark
                    return
                except _Unreferenced:
                    pass  # a percent cell without its ``r``: parse the XML properly
        with archive.open(part_name) as part:
            cells = _Stream(part, _XlsxCells(percent, wanted)).run()
            later = (mark for mark in cells if mark.row >= last)
            yield from _with_merges(later, [m for m in merges if m.first_row > last])


class _Unreferenced(Exception):
    """A percent-styled cell has no ``r`` attribute (it is optional)."""


_REF = re.compile(rb"\sr\s*=\s*[\"']([A-Za-z]+)(\d+)[\"']")


def _scan_percent_cells(
    part: IO[bytes], percent: dict[str, str], columns: Collection[int]
) -> Iterator[RowMarks]:
    """The percent-styled cells of the ``columns``, by row.

    The sheet's XML is searched, 64 KB at a time, for ``s="…"`` attributes naming a
    percent style (a regular expression running in C), and only for those the start tag
    around it is looked at: an XML parser calls back into Python for every element of
    the sheet, which costs more than calamine's whole read of it. A start tag holds no
    ``<`` or ``>`` and text cannot hold ``<``, so the ``<`` before a match opens its
    tag; only ``<c>`` tags count."""
    styles = b"|".join(re.escape(key.encode()) for key in sorted(percent))
    attribute = re.compile(rb"\ss\s*=\s*[\"'](" + styles + rb")[\"']")
    codes = {key.encode(): code for key, code in percent.items()}
    tail = b""
    marks: RowMarks | None = None
    while True:
        chunk = part.read(_CHUNK)
        buf = tail + chunk
        cut = len(buf)
        if chunk:  # keep an unfinished last tag for the next round
            last = buf.rfind(b"<")
            if last >= 0 and buf.find(b">", last) < 0:
                cut = last
        tail = buf[cut:]
        for match in attribute.finditer(buf, 0, cut):
            start = buf.rfind(b"<", 0, match.start())
            end = buf.find(b">", match.end())
            tag = buf[start:end]
            name = tag[1:].split(None, 1)[0] if start >= 0 else b""
            if name != b"c" and not name.endswith(b":c"):
                continue
            found = _REF.search(tag)
            if found is None:
                raise _Unreferenced
            col = _column_index(found[1].decode())
            if col not in columns:
                continue
            row = int(found[2])
            if marks is None or row != marks.row:
                if marks is not None:
                    yield marks
                marks = RowMarks(row)
            marks.formats[col] = codes[match[1]]
        if not chunk:
            break
    if marks is not None:
        yield marks


def _with_merges(marks: Iterator[RowMarks], merges: Iterable[Merge]) -> Iterator[RowMarks]:
    """Percent marks (ascending rows) joined with merged ranges by their first row."""
    pending = sorted(merges, key=lambda m: m.first_row)
    i = 0
    for mark in marks:
        while i < len(pending) and pending[i].first_row < mark.row:
            yield RowMarks(pending[i].first_row, merges=[pending[i]])
            i += 1
        while i < len(pending) and pending[i].first_row == mark.row:
            mark.merges.append(pending[i])
            i += 1
        yield mark
    for merge in pending[i:]:
        yield RowMarks(merge.first_row, merges=[merge])


def calamine_merges(ranges: Iterable[Any] | None) -> list[Merge]:
    """calamine's ``merged_cell_ranges`` (0-based (row, col) pairs) as ``Merge``s."""
    return [Merge(r1 + 1, c1, r2 + 1, c2) for (r1, c1), (r2, c2) in ranges or ()]


# ------------------------------------------------------------------------------- .xls


def xls_percent_cells(stream: IO[bytes], sheet: str, columns: Collection[int]) -> list[RowMarks]:
    """The percent-formatted number cells of ``columns`` in an .xls sheet, by row."""
    import xlrd  # imported when an .xls with a percentage column is read

    stream.seek(0)
    data = stream.read()
    stream.seek(0)
    try:
        book = xlrd.open_workbook(
            file_contents=data, formatting_info=True, on_demand=True, logfile=_Discard()
        )
    except Exception as exc:  # xlrd's errors for a file calamine did open
        raise ValueError(f"xlrd: {exc}") from exc
    try:
        codes = {
            key: fmt.format_str
            for key, fmt in book.format_map.items()
            if is_percent_format(fmt.format_str or "")
        }
        percent = {  # cell formats only: every workbook has a "Percent" cell style
            i: codes[xf.format_key]
            for i, xf in enumerate(book.xf_list)
            if xf.format_key in codes and not xf.is_style
        }
        if not percent:
            return []
        try:
            ws = book.sheet_by_name(sheet)
        except Exception as exc:
            raise ValueError(f"xlrd: {exc}") from exc
        out: list[RowMarks] = []
        wanted = [c for c in sorted(columns) if c < ws.ncols]
        for r in range(ws.nrows):
            marks: RowMarks | None = None
            for c in wanted:
                code = percent.get(ws.cell_xf_index(r, c))
                if code is not None and ws.cell_type(r, c) == xlrd.XL_CELL_NUMBER:
                    if marks is None:
                        marks = RowMarks(r + 1)
                        out.append(marks)
                    marks.formats[c] = code
        return out
    finally:
        book.release_resources()


class _Discard:
    """xlrd's log (warnings about the file) goes nowhere."""

    def write(self, text: str) -> int:
        return len(text)


# ------------------------------------------------------------------------------- .ods


def _repeat(attrib: dict[str, str], name: str) -> int:
    value = attrib.get(_TABLE + name, "1")
    return int(value) if value.isdigit() and int(value) > 0 else 1


class _OdsCells:
    """expat target: percentage cells of the wanted columns and merged ranges, by row,
    in the table named ``sheet``."""

    def __init__(self, sheet: str, columns: Collection[int]) -> None:
        self.sheet = sheet
        self.columns = columns
        self.out: list[RowMarks] = []
        self.depth = 0  # tables open inside the wanted one (0: outside; 1: in it)
        self.done = False
        self.row = 1
        self.col = 0
        self.repeat = 1
        self.marks: RowMarks | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _TABLE + "table":
            if self.depth:
                self.depth += 1
            elif not self.done and attrib.get(_TABLE + "name") == self.sheet:
                self.depth = 1
            return
        if self.depth != 1:
            return
        if tag == _TABLE + "table-cell" or tag == _TABLE + "covered-table-cell":
            span = _repeat(attrib, "number-columns-repeated")
            col = self.col
            self.col += span
            if tag == _TABLE + "covered-table-cell":
                return
            if attrib.get(_OFFICE + "value-type") == "percentage":
                wanted = [c for c in range(col, col + span) if c in self.columns]
                if wanted:
                    self._marks().formats.update(dict.fromkeys(wanted, "0%"))
            rows = _repeat(attrib, "number-rows-spanned")
            cols = _repeat(attrib, "number-columns-spanned")
            if rows > 1 or cols > 1:
                merge = Merge(self.row, col, self.row + rows - 1, col + cols - 1)
                self._marks().merges.append(merge)
        elif tag == _TABLE + "table-row":
            self.col = 0
            self.repeat = _repeat(attrib, "number-rows-repeated")
            self.marks = None

    def end(self, tag: str) -> None:
        if tag == _TABLE + "table":
            if self.depth == 1:
                self.done = True
            self.depth = max(0, self.depth - 1)
        elif tag == _TABLE + "table-row" and self.depth == 1:
            if self.marks is not None and self.repeat > 1 and self.marks.formats:
                self.out.append(
                    RowMarks(self.row + 1, self.marks.formats, through=self.row + self.repeat - 1)
                )
            self.row += self.repeat

    def _marks(self) -> RowMarks:
        if self.marks is None:
            self.marks = RowMarks(self.row)
            self.out.append(self.marks)
        return self.marks


def ods_marks(
    stream: IO[bytes], sheet: str, columns: Collection[int]
) -> Callable[[], Iterator[RowMarks]]:
    """The row marks of an .ods sheet: percentage cells in ``columns`` and merged ranges."""

    def marks() -> Iterator[RowMarks]:
        stream.seek(0)
        with zipfile.ZipFile(stream) as archive, archive.open("content.xml") as part:
            yield from _Stream(part, _OdsCells(sheet, frozenset(columns))).run()

    return marks


# ----------------------------------------------------------------------------- entry


def row_marks(
    stream: IO[bytes], kind: str, sheet: Any, columns: Collection[int], *, header_row: int = 0
) -> Callable[[], Iterator[RowMarks]] | None:
    """What gives the row marks of the calamine ``sheet`` of a workbook of ``kind``
    (``columns``: those whose percent formats matter), or None when nothing is marked.
    Merges that end by ``header_row`` (a title merged over the columns) do not count."""
    if kind == "ods":
        return ods_marks(stream, sheet.name, columns)
    merges = [
        m
        for m in calamine_merges(sheet.merged_cell_ranges)
        if m.last_row > header_row and m.last_row > m.first_row
    ]
    if kind == "xlsx":
        return xlsx_marks(stream, sheet.name, columns, merges)
    percent = xls_percent_cells(stream, sheet.name, columns) if columns else []
    if not percent and not merges:
        return None
    return lambda: _with_merges(iter(percent), merges)
