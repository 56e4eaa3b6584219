"""CSV uploads: encoding (UTF-8, GBK/GB18030, UTF-16) and delimiter told from a sample,
rows streamed with the ``csv`` module over an incremental decoder (memory stays flat)."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, BinaryIO

from chaintrack.sheets.files import Guard, SheetError, not_a_spreadsheet
from chaintrack.sheets.guard import cell_chars_error, columns_error
from chaintrack.sheets.headers import HEADER_SCAN_ROWS, HeaderIndex, HeaderMatch

_CSV_SAMPLE = 256 * 1024


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


def open_csv(
    stream: BinaryIO, index: HeaderIndex, *, scan_rows: int, guard: Guard | None = None
) -> tuple[Callable[[], Iterator[Sequence[Any]]], HeaderMatch, str]:
    """The rows (a function that starts them from the top), the header row, the encoding.

    The rows scanned for the header are held to the ``guard``'s column limit (the rest
    are checked by the reader as they stream)."""
    guard = guard or Guard()
    sample = stream.read(_CSV_SAMPLE)
    stream.seek(0)
    utf16 = sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 and b"\x00" in sample[:65536]:
        raise not_a_spreadsheet("这是二进制文件", "a binary file")
    encoding = _csv_encoding(sample)
    decoded = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample[:65536])
    del sample
    if not _looks_like_text(decoded):
        raise not_a_spreadsheet("这是二进制文件", "a binary file")
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
            if len(line) > guard.limits.max_columns:
                raise columns_error(guard.limits, len(line))
            head.append(line)
            if len(head) >= scan_rows:
                break
    except (UnicodeDecodeError, csv.Error) as exc:
        if "field larger than field limit" in str(exc):
            raise cell_chars_error(guard.limits) from exc
        raise SheetError(
            "encoding",
            "CSV文件无法读取，请另存为“CSV UTF-8”或.xlsx后重试 / "
            "the CSV file cannot be read; save it as CSV UTF-8 or .xlsx",
        ) from exc
    finally:
        scan.close()
    match = index.best(head)
    if match is None:
        raise index.not_found()
    return rows, match, encoding
