"""Uploads that cannot exhaust the server: each attack file of issue 13, built here, is
refused with 413 or 422 and a message a clerk understands, before the work is done.

The files are built small and streamed (a 32 MiB cell is 35 KB of zip; the CSV of ten
million blank rows is generated as it is read). Memory is asserted where it means
something: the growth of the process's peak RSS (calamine allocates in Rust, where
tracemalloc cannot see) stays far below what building the sheet would cost. No
wall-clock limits (benchmarks/hostile_uploads.py measures time and peak memory).
"""

from __future__ import annotations

import io
import resource
import struct
import threading
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chaintrack.imports.limits import ImportLimits, import_limits
from chaintrack.sheets.files import Budget, ReadLimits
from chaintrack.sheets.guard import column_number
from chaintrack.sheets.reader import SheetError, open_sheet
from chaintrack.sheets.specs import get_spec
from tests.problems import assert_problem

API = "/api/v1"
MiB = 1024 * 1024
HEADERS = ["统一社会信用代码", "企业名称", "所在地区代码", "数据年度", "营业收入（万元）"]
#: Peak RSS growth allowed for refusing one attack (building the sheets the attacks
#: describe costs gigabytes; the issue's target is 300 MB over idle).
RSS_GROWTH_MB = 150

# ----------------------------------------------------------------------- builders

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_CT = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
    '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
    'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WB = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook {_NS} xmlns:r="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="企业" '
    'sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
    'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>'
)

Parts = Callable[[Callable[[str], Any]], None]


def _letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def header_row() -> str:
    cells = "".join(_cell(f"{_letters(i + 1)}1", h) for i, h in enumerate(HEADERS))
    return f'<row r="1">{cells}</row>'


def xlsx(sheet: Iterator[str], shared: Iterator[str] | None = None) -> bytes:
    """An .xlsx whose sheet (and shared strings) XML is streamed into the zip piece by
    piece, so a sheet of hundreds of megabytes never sits in the test's memory."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WB)
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        parts = [("xl/worksheets/sheet1.xml", sheet)]
        if shared is not None:
            parts.append(("xl/sharedStrings.xml", shared))
        for name, pieces in parts:
            with z.open(name, "w", force_zip64=True) as part:
                for piece in pieces:
                    part.write(piece.encode())
    return buf.getvalue()


def sheet_xml(*rows: str) -> Iterator[str]:
    yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}><sheetData>'
    yield from rows
    yield "</sheetData></worksheet>"


def row_jump(to: int) -> bytes:
    """A 2 KB workbook: the header, then one row numbered ``to``."""
    return xlsx(sheet_xml(header_row(), f'<row r="{to}">{_cell(f"A{to}", "x")}</row>'))


def huge_cell(mib: int = 32) -> bytes:
    """A workbook with one cell of ``mib`` MiB of text (some 35 KB zipped)."""

    def sheet() -> Iterator[str]:
        yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}><sheetData>'
        yield header_row()
        yield '<row r="2"><c r="B2" t="inlineStr"><is><t>'
        piece = "x" * MiB
        for _ in range(mib):
            yield piece
        yield "</t></is></c></row></sheetData></worksheet>"

    return xlsx(sheet())


def many_shared_strings(n: int = 3_000_000, declared: int | None = None) -> bytes:
    """Shared strings: ``n`` entries, ``declared`` in uniqueCount (a lie if smaller)."""

    def shared() -> Iterator[str]:
        count = n if declared is None else declared
        yield (
            f'<?xml version="1.0" encoding="UTF-8"?><sst {_NS} count="{count}" '
            f'uniqueCount="{count}">'
        )
        block = "<si><t>a</t></si>" * 10_000
        for _ in range(n // 10_000):
            yield block
        yield "</sst>"

    return xlsx(sheet_xml(header_row(), '<row r="2"><c r="B2" t="s"><v>0</v></c></row>'), shared())


def wide_xlsx(columns: int = 1_000_000) -> bytes:
    """A header that reaches column ``columns`` (two cells)."""
    far = _letters(columns)
    return xlsx(sheet_xml(f'<row r="1">{_cell("A1", HEADERS[0])}{_cell(f"{far}1", "x")}</row>'))


def wide_csv(columns: int = 1_000_000) -> bytes:
    return (",".join(HEADERS + ["x"] * (columns - len(HEADERS))) + "\n").encode()


class BlankRowsCsv(io.RawIOBase):
    """A CSV header and then ``rows`` blank lines, generated as they are read."""

    def __init__(self, rows: int = 10_000_000) -> None:
        self.head = (",".join(HEADERS) + "\n").encode()
        self.left = rows
        self.size = len(self.head) + rows

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.head:
            n = min(len(view), len(self.head))
            view[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        n = min(len(view), self.left)
        view[:n] = b"\n" * n
        self.left -= n
        return n


def forged_sizes(data: bytes, name: str, declared: int) -> bytes:
    """``data`` with the sizes of ``name`` in the zip's directory and local header set
    to ``declared`` (the part inflates to more than it says)."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(name)
    struct.pack_into("<L", out, info.header_offset + 22, declared)
    central = out.find(b"PK\x01\x02")
    while central >= 0:
        name_len = struct.unpack_from("<H", out, central + 28)[0]
        if bytes(out[central + 46 : central + 46 + name_len]) == name.encode():
            struct.pack_into("<L", out, central + 24, declared)
            break
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


# ------------------------------------------------------------------------ helpers


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _upload(client: Any, content: Any, name: str) -> Any:
    return client.post(
        f"{API}/imports/enterprises", params={"mode": "commit"}, files={"file": (name, content)}
    )


def _refused(r: Any, status: int, code: str) -> dict[str, Any]:
    slug = "payload-too-large" if status == 413 else "validation"
    body = assert_problem(r, status, slug)
    assert body["code"] == code, body
    # a message for the clerk, in Chinese and in English
    assert " / " in body["detail"] and any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"])
    return body


# ---------------------------------------------------------- the attack files (HTTP)


@pytest.mark.parametrize("to", [10_000_000, 2_000_000_000])
def test_a_row_jump_costs_nothing_and_counts_against_the_row_limit(client, to):
    content = row_jump(to)
    assert len(content) < 4096
    before = _peak_rss_mb()
    body = _refused(_upload(client, content, "jump.xlsx"), 422, "too_many_sheet_rows")
    assert f"{to:,}" in body["detail"]
    assert _peak_rss_mb() - before < RSS_GROWTH_MB


def test_a_32_mib_cell_is_refused(client):
    content = huge_cell(32)
    assert len(content) < 100_000
    before = _peak_rss_mb()
    body = _refused(_upload(client, content, "cell.xlsx"), 422, "cell_too_long")
    assert "32,767" in body["detail"]
    assert _peak_rss_mb() - before < RSS_GROWTH_MB


@pytest.mark.parametrize("declared", [None, 1], ids=["declared", "lying-uniqueCount"])
def test_many_shared_strings_are_refused(client, declared):
    content = many_shared_strings(3_000_000, declared)
    before = _peak_rss_mb()
    _refused(_upload(client, content, "strings.xlsx"), 422, "too_many_strings")
    assert _peak_rss_mb() - before < RSS_GROWTH_MB


def test_a_csv_of_ten_million_blank_rows_is_refused(client):
    before = _peak_rss_mb()
    body = _refused(_upload(client, BlankRowsCsv(), "blank.csv"), 422, "too_many_sheet_rows")
    assert "blank" in body["detail"]
    assert _peak_rss_mb() - before < RSS_GROWTH_MB


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_header_of_a_million_columns_is_refused(client, kind):
    content, name = (wide_csv(), "wide.csv") if kind == "csv" else (wide_xlsx(), "wide.xlsx")
    r = _upload(client, content, name)
    _refused(r, 422, "too_many_columns")
    assert len(r.content) < 4096  # the answer names the limit, not the columns


def test_a_zip_bomb_is_413(client, app):
    """Parts that unpack to more than the limit: refused from the zip directory."""
    small = ImportLimits(max_unpacked_bytes=4 * MiB)
    app.dependency_overrides[import_limits] = lambda: small
    try:
        padding = '<row r="2"><c r="B2"><v>1</v></c></row>' + " " * (8 * MiB)
        r = _upload(client, xlsx(sheet_xml(header_row(), padding)), "bomb.xlsx")
    finally:
        app.dependency_overrides.pop(import_limits)
    _refused(r, 413, "unpacked_too_large")


def test_a_part_larger_than_its_zip_directory_says_is_refused(client):
    """The declared sizes lie (a sheet of 2 MiB declared as 1 KiB): the inflating stops
    at the declared size and the file is refused as damaged."""
    padding = ("<x/>" + " " * 1000) * 2048
    content = forged_sizes(xlsx(sheet_xml(header_row(), padding)), "xl/worksheets/sheet1.xml", 1024)
    body = assert_problem(_upload(client, content, "forged.xlsx"), 400, "bad-request")
    assert body["code"] == "corrupt" and "sheet1.xml" in body["detail"]


def test_the_time_budget_stops_the_work(client, app):
    app.dependency_overrides[import_limits] = lambda: ImportLimits(time_budget_seconds=1e-9)
    try:
        content = ("\n".join([",".join(HEADERS)] + ["x,y,370600,2024,1"] * 3000)).encode()
        r = _upload(client, content, "slow.csv")
    finally:
        app.dependency_overrides.pop(import_limits)
    _refused(r, 422, "timeout")


def test_an_ordinary_file_passes_every_limit(client):
    """The limits leave a real office file alone (a dry run of a normal workbook)."""
    rows = [header_row()] + [
        f'<row r="{i}">{_cell(f"A{i}", "91370600MA3C00000X")}{_cell(f"B{i}", "企业" * 40)}</row>'
        for i in range(2, 2002)
    ]
    r = client.post(
        f"{API}/imports/enterprises", files={"file": ("ok.xlsx", xlsx(sheet_xml(*rows)))}
    )
    assert r.status_code == 200, r.text
    assert r.json()["summary"]["rows"] == 2000


# ------------------------------------------------------------- the reader itself


COLUMNS = get_spec("enterprises").header_map()


def _open(content: Any, **kw: Any) -> None:
    with open_sheet(content, COLUMNS, **kw) as reader:
        for _ in reader:
            pass


@pytest.mark.parametrize(
    ("limits", "content", "code"),
    [
        (ReadLimits(max_sheet_rows=50), "rows", "too_many_sheet_rows"),
        (ReadLimits(max_columns=3), "wide", "too_many_columns"),
        (ReadLimits(max_cells=20), "rows", "too_many_cells"),
        (ReadLimits(max_cell_chars=10), "long", "cell_too_long"),
    ],
)
@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_each_limit_on_both_readers(limits, content, code, kind):
    cells = {
        "rows": [["91370600MA3C00000X", "甲"]] * 60,
        "wide": [["91370600MA3C00000X", "甲", "1", "2", "3"]],
        "long": [["91370600MA3C00000X", "甲" * 11]],
    }[content]
    if code == "too_many_cells" and kind == "csv":
        pytest.skip("a CSV has no used range: its rows and columns are limited")
    if kind == "csv":
        data = "\n".join(",".join(r) for r in [HEADERS[:2], *cells]).encode()
    else:
        body = [
            f'<row r="{i}">'
            + "".join(_cell(f"{_letters(j + 1)}{i}", v) for j, v in enumerate(r))
            + "</row>"
            for i, r in enumerate([HEADERS[:2], *cells], start=1)
        ]
        data = xlsx(sheet_xml(*body))
    with pytest.raises(SheetError) as caught:
        _open(data, limits=limits)
    assert caught.value.code == code


def test_a_cancelled_upload_stops():
    cancelled = threading.Event()
    cancelled.set()
    data = ("\n".join([",".join(HEADERS)] + ["x,y,370600,2024,1"] * 5000)).encode()
    with pytest.raises(SheetError) as caught:
        _open(data, budget=Budget(None, cancelled))
    assert caught.value.code == "cancelled"


def test_cells_and_rows_without_references_are_counted():
    """A writer may leave out ``r``: such rows and cells count one past the one before,
    as calamine counts them, so leaving references out hides nothing."""
    rows = "".join("<row><c><v>1</v></c></row>" for _ in range(60))
    with pytest.raises(SheetError) as caught:
        _open(xlsx(sheet_xml(header_row(), rows)), limits=ReadLimits(max_sheet_rows=50))
    assert caught.value.code == "too_many_sheet_rows"


def test_column_letters():
    assert [column_number(x.encode()) for x in ("A", "Z", "AA", "XFD")] == [1, 26, 27, 16384]
    assert _letters(1_000_000) == "BDWGN" and column_number(b"BDWGN") == 1_000_000
