"""Streaming rows out of an uploaded spreadsheet (.xlsx or .csv).

``open_sheet(source, columns, ...)`` checks the file (size, kind), finds the header
row and returns a ``SheetReader``: iterate it for ``RawRow`` objects (raw cell values by
field name, with the row number the clerk sees in Excel), then close it (or use it as a
context manager). Memory stays flat: .xlsx is read by ``sheets.xlsx`` (a streaming
tokenizer that yields what openpyxl's ``read_only=True, data_only=True`` reader yields,
formulas giving their cached values, several times faster) with openpyxl itself for
whatever that does not read; CSV with the ``csv`` module over an incremental decoder.
Nothing is loaded whole but the shared strings table.

Every problem with the file as a whole (too big, too many rows, not a spreadsheet, no
header row, a required column missing, an undecodable CSV) is a ``SheetError`` with a
Chinese + English message, raised by ``open_sheet`` or, for the row cap and encoding
errors found later in the file, by the iteration. No other exception escapes.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any, BinaryIO

from chaintrack.config import get_settings
from chaintrack.sheets.cells import _PAREN, _as_text, is_blank, label_key
from chaintrack.sheets.xlsx import XlsxBook

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_ROWS = 100_000
HEADER_SCAN_ROWS = 10
_CSV_SAMPLE = 256 * 1024

Source = str | os.PathLike[str] | bytes | bytearray | IO[bytes]


class SheetError(Exception):
    """The file as a whole cannot be imported. ``message`` is for the clerk."""

    def __init__(self, code: str, message: str, *, row: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.row = row

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row: ``number`` as Excel shows it (1-based, title rows counted)."""

    number: int
    values: dict[str, Any]


@dataclass
class HeaderMatch:
    row: int  # 1-based
    columns: dict[str, int]  # field -> 0-based column index
    headers: dict[str, str]  # field -> header text as found in the file
    unknown: list[str]
    duplicates: dict[str, list[str]] = field(default_factory=dict)

    @property
    def score(self) -> int:
        return len(self.columns)


def header_key(text: str) -> str:
    """Headers compare without case, spaces, width, quotes and required markers (*)."""
    key = label_key(text)
    for marker in ("(必填)", "(选填)", "必填", "*"):
        key = key.replace(marker, "")
    return key.rstrip(":")


class HeaderIndex:
    """Which field a header names: by each accepted form, and by it without its unit."""

    def __init__(self, columns: Mapping[str, Iterable[str]]) -> None:
        self.display: dict[str, str] = {}
        self.lookup: dict[str, str] = {}
        short: dict[str, set[str]] = {}
        for name, forms in columns.items():
            forms = [name, *forms]
            self.display[name] = next((f for f in forms[1:] if f), name)
            for form in forms:
                key = header_key(form)
                if key:
                    self.lookup.setdefault(key, name)
                bare = header_key(_PAREN.sub("", form))
                if bare and bare != key:
                    short.setdefault(bare, set()).add(name)
        for key, names in short.items():
            if len(names) == 1 and key not in self.lookup:
                self.lookup[key] = next(iter(names))

    def match(self, cells: Sequence[Any], row: int) -> HeaderMatch:
        found = HeaderMatch(row=row, columns={}, headers={}, unknown=[])
        for idx, cell in enumerate(cells):
            if is_blank(cell):
                continue
            text = _as_text(cell).strip()
            name = self.lookup.get(header_key(text))
            if name is None:
                found.unknown.append(text)
            elif name in found.columns:
                found.duplicates.setdefault(name, [found.headers[name]]).append(text)
            else:
                found.columns[name] = idx
                found.headers[name] = text
        return found


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
    ) -> None:
        self.format = format
        self.header = header
        self.sheet_name = sheet_name
        self.encoding = encoding
        self.date1904 = date1904
        self.max_rows = max_rows
        self._rows = rows
        self._closers = closers
        self.rows_read = 0

    @property
    def header_row(self) -> int:
        return self.header.row

    @property
    def columns(self) -> dict[str, int]:
        return self.header.columns

    @property
    def unknown_headers(self) -> list[str]:
        return self.header.unknown

    def __iter__(self) -> Iterator[RawRow]:
        columns = list(self.header.columns.items())
        skip = self.header.row
        try:
            for number, cells in enumerate(self._rows(), start=1):
                if number <= skip:
                    continue
                width = len(cells)
                values = {name: cells[i] if i < width else None for name, i in columns}
                if all(is_blank(v) for v in values.values()):
                    continue
                self.rows_read += 1
                if self.rows_read > self.max_rows:
                    raise SheetError(
                        "too_many_rows",
                        f"数据行超过上限{self.max_rows}行，请拆分为多个文件导入 / "
                        f"more than {self.max_rows} data rows; split the file",
                        row=number,
                    )
                for name, value in values.items():
                    if value == "":
                        values[name] = None
                yield RawRow(number, values)
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
            raise SheetError(
                "csv", f"CSV文件格式错误：{exc} / the CSV file is malformed: {exc}"
            ) from exc
        except Exception as exc:  # a damaged workbook fails while streaming
            raise SheetError(
                "corrupt",
                "文件已损坏，无法读取全部内容，请在Excel中打开后另存为.xlsx / "
                f"the file is damaged and cannot be read to the end ({type(exc).__name__})",
            ) from exc

    def close(self) -> None:
        while self._closers:
            with contextlib.suppress(Exception):  # closing must not mask the real error
                self._closers.pop()()

    def __enter__(self) -> SheetReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ------------------------------------------------------------------- file access


def _too_large(max_bytes: int) -> SheetError:
    mib = max_bytes / (1024 * 1024)
    return SheetError(
        "too_large",
        f"文件超过大小上限{mib:g}MB，请拆分后导入 / the file is larger than {mib:g} MB",
    )


def _binary(source: Source, max_bytes: int) -> tuple[BinaryIO, list[Callable[[], Any]]]:
    """A seekable binary stream at position 0, size-checked, plus what closes it."""
    if isinstance(source, (bytes, bytearray)):
        if len(source) > max_bytes:
            raise _too_large(max_bytes)
        return io.BytesIO(bytes(source)), []
    if isinstance(source, (str, os.PathLike)):
        try:
            size = os.path.getsize(source)
            if size > max_bytes:
                raise _too_large(max_bytes)
            fh = open(source, "rb")  # noqa: SIM115 - closed by the reader
        except OSError as exc:
            raise SheetError("unreadable", f"无法打开文件 / cannot open the file: {exc}") from exc
        return fh, [fh.close]
    stream: Any = source
    if getattr(stream, "seekable", lambda: False)():
        stream.seek(0, os.SEEK_END)
        size = stream.tell()
        stream.seek(0)
        if size > max_bytes:
            raise _too_large(max_bytes)
        return stream, []
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    total = 0
    while chunk := stream.read(1024 * 1024):
        total += len(chunk)
        if total > max_bytes:
            spool.close()
            raise _too_large(max_bytes)
        spool.write(chunk)
    spool.seek(0)
    return spool, [spool.close]  # type: ignore[return-value]


def _not_a_spreadsheet(what: str, what_en: str) -> SheetError:
    return SheetError(
        "not_spreadsheet",
        f"{what}，不是可导入的电子表格，请上传.xlsx或.csv文件 / "
        f"{what_en}, not a spreadsheet that can be imported: upload .xlsx or .csv",
    )


def _sniff_kind(head: bytes, stream: BinaryIO) -> str:
    if not head:
        raise SheetError("empty", "文件为空 / the file is empty")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            names = set(zipfile.ZipFile(stream).namelist())
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise _not_a_spreadsheet("压缩文件已损坏", "a damaged zip archive") from exc
        finally:
            stream.seek(0)
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "xl/workbook.bin" in names:
            raise SheetError(
                "unsupported",
                "这是.xlsb二进制工作簿，请在Excel中另存为.xlsx / "
                "an .xlsb workbook: save it as .xlsx in Excel",
            )
        if "word/document.xml" in names:
            raise _not_a_spreadsheet("这是Word文档", "a Word document")
        if "content.xml" in names and "mimetype" in names:
            raise SheetError(
                "unsupported",
                "这是OpenDocument（.ods）表格，请另存为.xlsx / "
                "an OpenDocument spreadsheet: save it as .xlsx",
            )
        raise _not_a_spreadsheet("这是压缩文件（zip）", "a zip archive")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise SheetError(
            "unsupported",
            "这是旧版Excel（.xls）或加密的工作簿，请在Excel中另存为.xlsx（并取消密码） / "
            "an old .xls or a password-protected workbook: save it as .xlsx without a password",
        )
    if head.startswith(b"%PDF"):
        raise _not_a_spreadsheet("这是PDF文件", "a PDF file")
    for magic, what in (
        (b"\x89PNG", "PNG图片"),
        (b"\xff\xd8\xff", "JPEG图片"),
        (b"GIF8", "GIF图片"),
        (b"\x1f\x8b", "gzip压缩文件"),
        (b"Rar!", "RAR压缩文件"),
        (b"7z\xbc\xaf", "7z压缩文件"),
    ):
        if head.startswith(magic):
            raise _not_a_spreadsheet(f"这是{what}", "an image or archive")
    return "csv"


# -------------------------------------------------------------------------- xlsx


def _load_workbook(stream: BinaryIO, closers: list[Callable[[], Any]]) -> tuple[list[Any], bool]:
    """The workbook's worksheets and its 1904 flag: the fast reader, else openpyxl."""
    if get_settings().xlsx_reader == "fast":
        try:
            book = XlsxBook(stream)
        except Exception:  # anything it does not read: openpyxl reads it, or says why not
            stream.seek(0)
        else:
            closers.append(book.close)
            return list(book.worksheets), book.date1904

    import openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    try:
        wb = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:
        raise SheetError(
            "corrupt",
            "Excel文件已损坏或格式不对，无法打开，请在Excel中另存为.xlsx后重试 / "
            "the workbook is damaged or not a real .xlsx; save it again from Excel",
        ) from exc
    closers.append(wb.close)
    for ws in wb.worksheets:
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # do not trust the stored size: read what is there
    return list(wb.worksheets), wb.epoch == CALENDAR_MAC_1904


def _open_xlsx(
    stream: BinaryIO,
    index: HeaderIndex,
    *,
    sheet: str | None,
    scan_rows: int,
    closers: list[Callable[[], Any]],
) -> tuple[Any, HeaderMatch, bool]:
    worksheets, date1904 = _load_workbook(stream, closers)
    sheets = [ws for ws in worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
    if sheet is not None:
        chosen = [ws for ws in worksheets if ws.title == sheet]
        if not chosen:
            names = "、".join(ws.title for ws in worksheets)
            raise SheetError(
                "no_sheet",
                f"找不到工作表“{sheet}”，文件中有：{names} / no sheet named {sheet!r}",
            )
        sheets = chosen
    best: tuple[Any, HeaderMatch] | None = None
    for ws in sheets:
        try:
            rows = ws.iter_rows(max_row=scan_rows, values_only=True)
            match = _best_header(rows, index)
        except Exception as exc:
            raise SheetError(
                "corrupt",
                f"工作表“{ws.title}”已损坏，无法读取 / the sheet {ws.title!r} cannot be read",
            ) from exc
        if match and (best is None or match.score > best[1].score):
            best = (ws, match)
    if best is None:
        raise _no_header(index)
    return best[0], best[1], date1904


def _best_header(rows: Iterable[Sequence[Any]], index: HeaderIndex) -> HeaderMatch | None:
    best: HeaderMatch | None = None
    for number, cells in enumerate(rows, start=1):
        match = index.match(cells, number)
        if match.score and (best is None or match.score > best.score):
            best = match
    return best


def _no_header(index: HeaderIndex) -> SheetError:
    sample = "、".join(list(index.display.values())[:4])
    return SheetError(
        "no_header",
        f"前{HEADER_SCAN_ROWS}行中找不到表头（如：{sample}），请使用下载的模板 / "
        "no header row found in the first rows; use the downloaded template",
    )


# --------------------------------------------------------------------------- csv


def _csv_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith(codecs.BOM_UTF16_LE) or sample.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise SheetError(
        "encoding",
        "文字编码无法识别，请将文件另存为“CSV UTF-8”或.xlsx后重试 / "
        "the text encoding cannot be read; save the file as CSV UTF-8 or .xlsx",
    )


def _looks_like_text(text: str) -> bool:
    if "\x00" in text:
        return False
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t\f\v")
    return controls <= len(text) // 100


def _delimiter(text: str) -> str:
    lines = text.splitlines()[: HEADER_SCAN_ROWS + 2]
    best, best_count = ",", 0
    for candidate in (",", "\t", ";"):
        count = max((line.count(candidate) for line in lines), default=0)
        if count > best_count:
            best, best_count = candidate, count
    return best


def _open_csv(
    stream: BinaryIO,
    index: HeaderIndex,
    *,
    scan_rows: int,
    closers: list[Callable[[], Any]],
) -> tuple[Callable[[], Iterator[Sequence[Any]]], HeaderMatch, str]:
    sample = stream.read(_CSV_SAMPLE)
    stream.seek(0)
    utf16 = sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 and b"\x00" in sample[:65536]:
        raise _not_a_spreadsheet("这是二进制文件", "a binary file")
    encoding = _csv_encoding(sample)
    decoded = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample[:65536])
    del sample
    if not _looks_like_text(decoded):
        raise _not_a_spreadsheet("这是二进制文件", "a binary file")
    delimiter = _delimiter(decoded.lstrip("\ufeff"))

    def rows() -> Generator[list[str], None, None]:
        stream.seek(0)
        text = io.TextIOWrapper(stream, encoding=encoding, newline="")
        try:
            yield from csv.reader(text, delimiter=delimiter)
        finally:
            text.detach()

    head: list[list[str]] = []
    scan = rows()
    try:
        for line in scan:
            head.append(line)
            if len(head) >= scan_rows:
                break
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SheetError(
            "encoding",
            "CSV文件无法读取，请另存为“CSV UTF-8”或.xlsx后重试 / "
            "the CSV file cannot be read; save it as CSV UTF-8 or .xlsx",
        ) from exc
    finally:
        scan.close()
    match = _best_header(head, index)
    if match is None:
        raise _no_header(index)
    return rows, match, encoding


# ---------------------------------------------------------------------- entry point


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
) -> SheetReader:
    """Open a spreadsheet for streaming.

    ``columns`` maps each field name to the headers accepted for it (the Chinese header
    first: it is the one error messages show); the field name itself is always
    accepted. The header row is the row among the first ``header_scan_rows`` that names
    the most known columns (title rows above it, merged or not, are skipped); with
    several visible sheets the one whose header matches best is read. ``required``
    columns must be present. The kind of file is told by its content, not ``filename``
    (kept for messages and future use).
    """
    del filename
    index = HeaderIndex(columns)
    closers: list[Callable[[], Any]] = []
    try:
        stream, closers = _binary(source, max_bytes)
        head = stream.read(8)
        stream.seek(0)
        kind = _sniff_kind(head, stream)
        if kind == "xlsx":
            ws, header, date1904 = _open_xlsx(
                stream, index, sheet=sheet, scan_rows=header_scan_rows, closers=closers
            )
            _check_header(header, index, required)
            return SheetReader(
                format="xlsx",
                header=header,
                rows=lambda: ws.iter_rows(values_only=True),
                max_rows=max_rows,
                closers=closers,
                sheet_name=ws.title,
                date1904=date1904,
            )
        rows, header, encoding = _open_csv(
            stream, index, scan_rows=header_scan_rows, closers=closers
        )
        _check_header(header, index, required)
        return SheetReader(
            format="csv",
            header=header,
            rows=rows,
            max_rows=max_rows,
            closers=closers,
            encoding=encoding,
        )
    except SheetError:
        _close_all(closers)
        raise
    except Exception as exc:
        _close_all(closers)
        raise SheetError(
            "unreadable",
            "文件无法读取，请确认是.xlsx或.csv文件 / "
            f"the file cannot be read ({type(exc).__name__})",
        ) from exc


def _close_all(closers: list[Callable[[], Any]]) -> None:
    for close in reversed(closers):
        with contextlib.suppress(Exception):
            close()
    closers.clear()


def _check_header(header: HeaderMatch, index: HeaderIndex, required: Collection[str]) -> None:
    if header.duplicates:
        shown = "；".join("、".join(texts) for texts in header.duplicates.values())
        raise SheetError(
            "duplicate_columns",
            f"第{header.row}行有重复的列：{shown}，每列只能出现一次 / "
            "the same column appears twice in the header row",
            row=header.row,
        )
    missing = [index.display[name] for name in required if name not in header.columns]
    if missing:
        raise SheetError(
            "missing_columns",
            f"表头（第{header.row}行）缺少必填列：{'、'.join(missing)} / "
            f"required columns are missing: {', '.join(missing)}",
            row=header.row,
        )
