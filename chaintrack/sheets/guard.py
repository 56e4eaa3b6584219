"""Checks of a workbook's zip before calamine reads it: an upload must not exhaust the server.

calamine decodes a sheet whole, in Rust, where nothing can stop it: the cells of the
used range (rows x columns, blank ones included, about 70 bytes a cell) and every
shared string. A 2 KB ``.xlsx`` whose second row is numbered 10,000,000 costs it ten
million rows; a zip entry that inflates a thousandfold costs it the inflating. So
before calamine sees the file, :func:`check_zip` reads the zip directory and then
inflates, itself and bounded, every XML part calamine may read:

- the sizes the directory declares: the whole (``max_unpacked_bytes``) and the shared
  strings (``max_shared_strings_bytes``); a part that inflates to more than it declares
  is a damaged (or forged) file, refused when its declared size is passed;
- each worksheet's rows and columns, from the row numbers and cell references
  themselves (a ``<dimension>`` element may lie): the last row, blank rows and jumps
  included (``max_sheet_rows``), the last column (``max_columns``) and the used range
  (``max_cells``); rows or cells without a reference count one past the one before,
  as calamine counts them;
- the text of one cell (``max_cell_chars``, bounded here in bytes, exactly later by
  the reader) and the shared strings' count (``max_shared_strings``, the declared
  ``uniqueCount`` at once, the elements as they come).

The scan is a few regular expressions over 64 KiB pieces (C speed, a fraction of what
calamine then spends); the budget (deadline, cancelled) is checked between pieces.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from chaintrack.sheets.files import Guard, MiB, ReadLimits, SheetError, over_limit

PIECE = 64 * 1024
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")

# Rows and cells as Excel and most writers put them (found by their literal start, the
# fast path), then any start tag whose local name is ``row`` or ``c`` (any namespace
# prefix, any attribute order): those not of the fast form are read one by one.
_ROW_REF = re.compile(rb'<row r="(\d{1,12})"')
_CELL_COL = re.compile(rb'<c r="([A-Z]{1,8})\d')
_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,8}(\d{1,12})"')
_PREFIXED = re.compile(rb":(?:row|c)[\s/>]")
_ANY_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_R_ATTR = re.compile(rb"""\sr\s*=\s*["']([A-Za-z]{0,8})(\d{0,12})["']""")
_FAST_ROW = re.compile(rb'r="\d{1,12}"')
_FAST_CELL = re.compile(rb'r="[A-Z]{1,8}\d{1,12}"')
#: Starts of a shared string (``<si>``, or with a namespace prefix ``<x:si>``).
_SI_STARTS = (b"<si>", b"<si ", b"<si/", b":si>", b":si ", b":si/")
_UNIQUE_COUNT = re.compile(rb"""\b(?:uniqueCount|count)\s*=\s*["'](\d{1,15})["']""")

#: Bytes of XML one cell's text may take: each character at worst a 10-byte character
#: reference (``&#x10FFFF;``), plus room for its markup.
_BYTES_PER_CHAR = 10
_CELL_SLACK = 4096


def column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def rows_error(limits: ReadLimits, last: int) -> SheetError:
    return over_limit(
        "too_many_sheet_rows",
        f"工作表有{last:,}行（含空行），超过{limits.max_sheet_rows:,}行上限，"
        "请删除多余的空行或拆分文件",
        f"the sheet has {last:,} rows (blank ones included), more than "
        f"{limits.max_sheet_rows:,}; delete the empty rows below the data or split the file",
    )


def columns_error(limits: ReadLimits, last: int) -> SheetError:
    return over_limit(
        "too_many_columns",
        f"工作表有{last:,}列，超过{limits.max_columns:,}列上限，请删除多余的列",
        f"the sheet has {last:,} columns, more than {limits.max_columns:,}; delete the "
        "extra columns",
    )


def cells_error(limits: ReadLimits, cells: int) -> SheetError:
    return over_limit(
        "too_many_cells",
        f"工作表的使用区域有{cells:,}个单元格，超过{limits.max_cells:,}个上限，"
        "请删除多余的行列或拆分文件",
        f"the sheet's used range has {cells:,} cells, more than {limits.max_cells:,}; "
        "delete the unused rows and columns or split the file",
    )


def cell_chars_error(limits: ReadLimits, row: int | None = None) -> SheetError:
    where_zh = f"第{row}行" if row else ""
    where_en = f" in row {row}" if row else ""
    return over_limit(
        "cell_too_long",
        f"{where_zh}有单元格超过{limits.max_cell_chars:,}个字符（Excel单元格上限），请检查文件",
        f"a cell{where_en} holds more than {limits.max_cell_chars:,} characters (Excel's "
        "own limit for a cell)",
        row=row,
    )


def _unpacked_error(limits: ReadLimits, total: int) -> SheetError:
    return over_limit(
        "unpacked_too_large",
        f"工作簿解压后有{total / MiB:,.0f}MB，超过{limits.max_unpacked_bytes / MiB:g}MB上限，"
        "请拆分文件",
        f"the workbook unpacks to {total / MiB:,.0f} MB, more than "
        f"{limits.max_unpacked_bytes / MiB:g} MB; split the file",
    )


def _strings_error(limits: ReadLimits, count: int | None, size: int | None) -> SheetError:
    what_zh = f"{count:,}个不同文本" if count is not None else f"{(size or 0) / MiB:,.0f}MB文本"
    what_en = f"{count:,} distinct texts" if count is not None else "that much text"
    return over_limit(
        "too_many_strings",
        f"工作簿有{what_zh}，超过上限（{limits.max_shared_strings:,}个，"
        f"{limits.max_shared_strings_bytes / MiB:g}MB），请拆分文件",
        f"the workbook holds {what_en}, more than {limits.max_shared_strings:,} "
        f"texts / {limits.max_shared_strings_bytes / MiB:g} MB; split the file",
    )


def _forged(name: str) -> SheetError:
    return SheetError(
        "corrupt",
        f"文件已损坏（压缩包中“{name}”的大小与记录不符），请在Excel中打开后另存为.xlsx / "
        f"the file is damaged (the part {name!r} is larger than its zip directory says); "
        "open it in Excel and save it again",
    )


def _inflate(stream: BinaryIO, info: object, guard: Guard) -> Iterator[bytes]:
    """The part's bytes in pieces of at most PIECE, never more than it declares."""
    from zipfile import ZipInfo

    assert isinstance(info, ZipInfo)
    name, declared = info.filename, info.file_size
    stream.seek(info.header_offset)
    header = stream.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise _forged(name)
    name_len, extra_len = _LOCAL_HEADER.unpack(header)[-2:]
    stream.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    if info.flag_bits & 0x1:
        raise SheetError(
            "unsupported", "工作簿已加密，请取消密码后重试 / the workbook is encrypted"
        )
    if info.compress_type not in (0, 8):
        raise SheetError(
            "unsupported",
            "工作簿的压缩方式不受支持，请在Excel中另存为.xlsx / "
            "the workbook uses an unsupported compression; save it again from Excel",
        )
    inflater = zlib.decompressobj(-zlib.MAX_WBITS) if info.compress_type == 8 else None
    left, produced = info.compress_size, 0
    while left > 0:
        guard.budget.check()
        raw = stream.read(min(left, PIECE))
        if not raw:
            break
        left -= len(raw)
        data = raw
        while data:
            if inflater is None:
                out, data = data, b""
            else:
                out = inflater.decompress(data, PIECE)
                data = inflater.unconsumed_tail
            if not out:
                break
            produced += len(out)
            if produced > declared:
                raise _forged(name)
            yield out
        if inflater is not None and inflater.eof:
            break


def _pieces(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The bytes cut after the last ``<`` of each piece, so no tag is split in two.

    A piece with no ``<`` in it is a text run longer than a piece: yielded whole (the
    text-length check refuses it, or it is harmless)."""
    carry = b""
    for chunk in chunks:
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"<")
        if cut <= 0:
            carry = b""
            yield data
            continue
        carry = data[cut:]
        yield data[:cut]
    if carry:
        yield carry


class _SheetScan:
    """Running bounds of one worksheet's used range."""

    def __init__(self, limits: ReadLimits) -> None:
        self.limits = limits
        self.max_row = 0
        self.max_col = 0
        self.rows_without_ref = 0
        self.cells_without_ref = 0
        self.max_text = limits.max_cell_chars * _BYTES_PER_CHAR + _CELL_SLACK
        self.run = 0  # bytes of the text run still open at the end of the last piece

    def feed(self, piece: bytes) -> None:
        self._text(piece)
        rows = _ROW_REF.findall(piece)
        if rows:
            self.max_row = max(self.max_row, max(map(int, rows)))
        cells = _CELL_ROW.findall(piece)
        if cells:
            self.max_row = max(self.max_row, max(map(int, set(cells))))
            letters = set(_CELL_COL.findall(piece))
            if letters:
                self.max_col = max(self.max_col, max(map(column_number, letters)))
        # Tags starting "<c" or "<row" that are not of the fast form (or a prefixed one):
        # read one by one.
        fast = len(rows) + len(cells)
        if piece.count(b"<c") + piece.count(b"<row") != fast or _PREFIXED.search(piece):
            self._slow(piece)
        self.check()

    def _slow(self, piece: bytes) -> None:
        """Every row and cell tag of the piece read one by one (other forms than Excel's:
        a namespace prefix, attributes in another order, no reference)."""
        for name, attrs in _ANY_TAG.findall(piece):
            ref = _R_ATTR.search(b" " + attrs)
            if name == b"row":
                if ref and ref.group(2) and not ref.group(1):
                    self.max_row = max(self.max_row, int(ref.group(2)))
                elif not _FAST_ROW.match(attrs.lstrip()):
                    self.rows_without_ref += 1
            elif ref and ref.group(1) and ref.group(2):
                self.max_row = max(self.max_row, int(ref.group(2)))
                self.max_col = max(self.max_col, column_number(ref.group(1)))
            else:
                self.cells_without_ref += 1

    def _text(self, piece: bytes) -> None:
        """No text run (the bytes between two tags) longer than a cell may be. Pieces are
        cut after a ``<``, so a run longer than a piece spans whole pieces with none."""
        first = piece.find(b"<")
        if first < 0:
            self.run += len(piece)
            longest = self.run
        else:
            longest = self.run + first
            if self.max_text < PIECE:  # a small limit (tests): every run of the piece
                longest = max(longest, max(map(len, piece[first:].split(b"<"))))
            self.run = len(piece) - piece.rfind(b"<") - 1
        if longest > self.max_text:
            raise cell_chars_error(self.limits)

    def check(self) -> None:
        limits = self.limits
        rows = self.max_row + self.rows_without_ref
        cols = self.max_col + self.cells_without_ref
        if rows > limits.max_sheet_rows:
            raise rows_error(limits, rows)
        if cols > limits.max_columns:
            raise columns_error(limits, cols)
        if rows * cols > limits.max_cells:
            raise cells_error(limits, rows * cols)


class _StringsScan:
    def __init__(self, limits: ReadLimits) -> None:
        self.limits = limits
        self.count = 0
        self.first = True
        self.text = _SheetScan(limits)  # its text-length check only

    def feed(self, piece: bytes) -> None:
        if self.first:
            self.first = False
            head = piece[:4096]
            for declared in _UNIQUE_COUNT.findall(head):
                if int(declared) > self.limits.max_shared_strings:
                    raise _strings_error(self.limits, int(declared), None)
        self.text._text(piece)
        self.count += sum(map(piece.count, _SI_STARTS))
        if self.count > self.limits.max_shared_strings:
            raise _strings_error(self.limits, self.count, None)


def _scanner(name: str, limits: ReadLimits) -> Callable[[bytes], None] | None:
    lower = name.lower()
    if lower.startswith("xl/worksheets/") and lower.endswith(".xml"):
        return _SheetScan(limits).feed
    if lower == "xl/sharedstrings.xml":
        return _StringsScan(limits).feed
    return None


def _read_by_calamine(name: str) -> bool:
    lower = name.lower()
    return lower.endswith((".xml", ".rels")) or lower == "mimetype"


def check_zip(stream: BinaryIO, kind: str, guard: Guard) -> None:
    """Refuse a workbook zip that would cost calamine more than the limits allow."""
    import zipfile

    limits = guard.limits
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SheetError(
            "corrupt", "压缩文件已损坏 / the workbook's zip archive is damaged"
        ) from exc
    total = sum(info.file_size for info in infos)
    if total > limits.max_unpacked_bytes:
        raise _unpacked_error(limits, total)
    for info in infos:
        if info.filename.lower() == "xl/sharedstrings.xml" and (
            info.file_size > limits.max_shared_strings_bytes
        ):
            raise _strings_error(limits, None, info.file_size)
    try:
        for info in infos:
            if not _read_by_calamine(info.filename):
                continue
            scan = _scanner(info.filename, limits) if kind == "xlsx" else None
            chunks = _inflate(stream, info, guard)
            if scan is None:
                for _ in chunks:
                    pass
                continue
            for piece in _pieces(chunks):
                scan(piece)
    except zlib.error as exc:
        raise SheetError(
            "corrupt",
            "文件已损坏，无法解压，请在Excel中打开后另存为.xlsx / "
            "the workbook is damaged (cannot be unpacked); save it again from Excel",
        ) from exc
    finally:
        stream.seek(0)
