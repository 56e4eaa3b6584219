"""An uploaded file as a whole: its size, what kind of file it is, and the errors about it.

``SheetError`` is every problem with the file as a whole (too big, not a spreadsheet,
damaged, no header row, ...), with a Chinese + English message for the clerk.
``binary_stream`` gives a seekable, size-checked stream of any accepted source and
``sniff_kind`` tells from the content (never the file name) which reader reads it:
``xlsx``, ``xls``, ``ods`` (all three read by python-calamine) or ``csv``.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * MiB
DEFAULT_MAX_ROWS = 100_000

Source = str | os.PathLike[str] | bytes | bytearray | IO[bytes]

#: The kinds of workbook python-calamine reads for us.
WORKBOOK_KINDS = frozenset({"xlsx", "xls", "ods"})
_ODS_MIMETYPES = (
    b"application/vnd.oasis.opendocument.spreadsheet",
    b"application/vnd.oasis.opendocument.spreadsheet-template",
)


class SheetError(Exception):
    """The file as a whole cannot be imported. ``message`` is for the clerk."""

    def __init__(self, code: str, message: str, *, row: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.row = row

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ReadLimits:
    """What reading one upload may cost, each far above a real office file and below
    what an attack file needs (the settings are ``CHAINTRACK_IMPORT_*``, see
    ``chaintrack.imports.limits``). Checked while reading, before the work is done:
    a workbook's zip directory and its parts are checked before calamine decodes a
    sheet (calamine decodes a sheet whole, as rows x columns cells)."""

    #: the uploaded file itself
    max_bytes: int = DEFAULT_MAX_BYTES
    #: data rows (non-blank rows below the header)
    max_rows: int = DEFAULT_MAX_ROWS
    #: rows of the sheet, blank ones and row-number jumps included (a sheet whose last
    #: row is 10,000,000 has ten million rows however few are filled)
    max_sheet_rows: int = 200_000
    #: columns of a row (Excel's own grid has 16,384)
    max_columns: int = 1_024
    #: cells of the used range (rows x columns: what calamine allocates for a sheet)
    max_cells: int = 4_000_000
    #: characters in one cell (32,767 is Excel's own limit)
    max_cell_chars: int = 32_767
    #: all parts of a workbook, unpacked (zip bombs)
    max_unpacked_bytes: int = 512 * MiB
    #: shared strings of an .xlsx: how many, and their part's unpacked size
    max_shared_strings: int = 2_000_000
    max_shared_strings_bytes: int = 128 * MiB


class Budget:
    """A deadline and a cancelled flag for one upload: checked between chunks of work
    (the zip check, rows read, chunks written); past either, the work stops with a
    SheetError (``timeout`` / ``cancelled``)."""

    def __init__(
        self, seconds: float | None = None, cancelled: threading.Event | None = None
    ) -> None:
        self.seconds = seconds
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.cancelled = cancelled or threading.Event()

    def check(self) -> None:
        if self.cancelled.is_set():
            raise SheetError(
                "cancelled", "导入已取消（连接已断开） / the import was cancelled (client gone)"
            )
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SheetError(
                "timeout",
                f"文件处理超过{self.seconds:g}秒上限，请拆分为较小的文件后导入 / "
                f"reading the file took longer than {self.seconds:g} s; split it into "
                "smaller files",
            )


@dataclass
class Guard:
    """The limits and the budget of one read (what the readers check)."""

    limits: ReadLimits = field(default_factory=ReadLimits)
    budget: Budget = field(default_factory=Budget)
    #: the same file passed the checks before (an import's second pass): the zip is not
    #: scanned again (the checks while streaming rows still run)
    checked: bool = False


#: The codes of the limits: the first answer 413 (the file is too big), the others 422
#: (its content passes a limit); all with a Chinese + English message for the clerk.
LIMIT_413 = frozenset({"too_large", "unpacked_too_large"})
LIMIT_422 = frozenset(
    {
        "too_many_rows",
        "too_many_sheet_rows",
        "too_many_columns",
        "too_many_cells",
        "cell_too_long",
        "too_many_strings",
        "timeout",
        "cancelled",
    }
)


def over_limit(code: str, zh: str, en: str, *, row: int | None = None) -> SheetError:
    """A limit passed: ``code`` is in LIMIT_413 or LIMIT_422."""
    return SheetError(code, f"{zh} / {en}", row=row)


def too_large(max_bytes: int) -> SheetError:
    mib = max_bytes / (1024 * 1024)
    return SheetError(
        "too_large",
        f"文件超过大小上限{mib:g}MB，请拆分后导入 / the file is larger than {mib:g} MB",
    )


def binary_stream(source: Source, max_bytes: int) -> tuple[BinaryIO, list[Callable[[], Any]]]:
    """A seekable binary stream at position 0, size-checked, plus what closes it."""
    if isinstance(source, (bytes, bytearray)):
        if len(source) > max_bytes:
            raise too_large(max_bytes)
        return io.BytesIO(bytes(source)), []
    if isinstance(source, (str, os.PathLike)):
        try:
            size = os.path.getsize(source)
            if size > max_bytes:
                raise too_large(max_bytes)
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
            raise too_large(max_bytes)
        return stream, []
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    total = 0
    while chunk := stream.read(1024 * 1024):
        total += len(chunk)
        if total > max_bytes:
            spool.close()
            raise too_large(max_bytes)
        spool.write(chunk)
    spool.seek(0)
    return spool, [spool.close]  # type: ignore[return-value]


def not_a_spreadsheet(what: str, what_en: str) -> SheetError:
    return SheetError(
        "not_spreadsheet",
        f"{what}，不是可导入的电子表格，请上传.xlsx、.xls、.ods或.csv文件 / "
        f"{what_en}, not a spreadsheet that can be imported: upload .xlsx, .xls, .ods or .csv",
    )


def _zip_kind(stream: BinaryIO) -> str:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype").strip() if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
        raise not_a_spreadsheet("压缩文件已损坏", "a damaged zip archive") from exc
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
        raise not_a_spreadsheet("这是Word文档", "a Word document")
    if "content.xml" in names and mimetype in _ODS_MIMETYPES:
        return "ods"
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        raise not_a_spreadsheet(
            "这是OpenDocument文档（不是表格）", "an OpenDocument text or slides"
        )
    raise not_a_spreadsheet("这是压缩文件（zip）", "a zip archive")


def sniff_kind(stream: BinaryIO) -> str:
    """``xlsx``, ``xls``, ``ods`` or ``csv`` by the content; a SheetError for anything else."""
    head = stream.read(8)
    stream.seek(0)
    if not head:
        raise SheetError("empty", "文件为空 / the file is empty")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(stream)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        # An OLE2 compound file: an .xls, or an encrypted workbook (told when it is opened).
        return "xls"
    if head.startswith(b"%PDF"):
        raise not_a_spreadsheet("这是PDF文件", "a PDF file")
    for magic, what in (
        (b"\x89PNG", "PNG图片"),
        (b"\xff\xd8\xff", "JPEG图片"),
        (b"GIF8", "GIF图片"),
        (b"\x1f\x8b", "gzip压缩文件"),
        (b"Rar!", "RAR压缩文件"),
        (b"7z\xbc\xaf", "7z压缩文件"),
    ):
        if head.startswith(magic):
            raise not_a_spreadsheet(f"这是{what}", "an image or archive")
    return "csv"
