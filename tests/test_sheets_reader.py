"""Reading uploaded files: header detection, encodings, row numbers, limits, bad files."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import os
import tracemalloc
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from chaintrack.identifiers import make_uscc
from chaintrack.sheets.reader import SheetError, open_sheet
from chaintrack.sheets.specs import ENTERPRISES, PROGRESS

USCC_A = "91110000600037341L"
USCC_B = "91512081MA62K0260E"
COLUMNS = {
    "uscc": ["统一社会信用代码"],
    "name": ["企业名称"],
    "revenue": ["营业收入（万元）"],
}


FIXTURES = Path(__file__).parent / "fixtures"


def xlsx(rows, *, title_rows=(), merge=None, sheet_title="企业", before=None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    if before is not None:
        ws.title = before[0]
        for row in before[1]:
            ws.append(row)
        ws = wb.create_sheet(sheet_title)
    else:
        ws.title = sheet_title
    for row in title_rows:
        ws.append(row)
    for row in rows:
        ws.append(row)
    if merge:
        for rng in merge:
            ws.merge_cells(rng)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def read_all(source, columns=COLUMNS, **kw):
    with open_sheet(source, columns, **kw) as reader:
        return reader, list(reader)


# ----------------------------------------------------------------- header row


def test_header_found_under_merged_title_rows_and_row_numbers_count_them():
    data = xlsx(
        [
            ["统一社会信用代码", "企业名称", "营业收入（万元）", "说明"],
            [USCC_A, "甲公司", "1,234.50", "x"],
            [None, None, None, None],
            [USCC_B, "乙公司", 12.5, None],
            [None, None, None, None],
            ["", "  ", None, None],
        ],
        title_rows=[
            ["2024年度重点企业名单（第一批）"],
            ["填报单位：某市工信局", None, "日期：2024年3月"],
        ],
        merge=["A1:D1", "A2:B2"],
    )
    reader, rows = read_all(data)
    assert reader.format == "xlsx"
    assert reader.header_row == 3
    assert reader.columns == {"uscc": 0, "name": 1, "revenue": 2}
    assert reader.unknown_headers == ["说明"]
    assert [r.number for r in rows] == [4, 6]  # blank rows skipped, numbers as Excel shows
    assert rows[0].values == {"uscc": USCC_A, "name": "甲公司", "revenue": "1,234.50"}
    assert rows[1].values["revenue"] == 12.5


def test_headers_match_english_names_width_case_spaces_and_units():
    data = xlsx(
        [
            ["ＵＳＣＣ", " Name ", "营业收入 (万元)"],
            [USCC_A, "甲", 1],
        ]
    )
    reader, rows = read_all(data)
    assert reader.columns == {"uscc": 0, "name": 1, "revenue": 2}
    assert rows[0].values["name"] == "甲"


def test_header_without_unit_and_with_required_marker():
    data = xlsx([["*统一社会信用代码", "企业名称（必填）", "营业收入"], [USCC_A, "甲", 1]])
    reader, _ = read_all(data)
    assert reader.columns == {"uscc": 0, "name": 1, "revenue": 2}


def test_header_with_other_unit_is_not_taken_for_the_column():
    data = xlsx([["统一社会信用代码", "企业名称", "营业收入（亿元）"], [USCC_A, "甲", 1]])
    reader, _ = read_all(data)
    assert "revenue" not in reader.columns
    assert reader.unknown_headers == ["营业收入（亿元）"]


def test_missing_required_column_is_named():
    data = xlsx([["企业名称", "营业收入（万元）"], ["甲", 1]])
    with pytest.raises(SheetError) as exc:
        open_sheet(data, COLUMNS, required=["uscc", "name"])
    assert exc.value.code == "missing_columns"
    assert "统一社会信用代码" in exc.value.message
    assert exc.value.row == 1


def test_duplicate_columns_are_refused():
    data = xlsx([["统一社会信用代码", "企业名称", "uscc"], [USCC_A, "甲", USCC_A]])
    with pytest.raises(SheetError) as exc:
        open_sheet(data, COLUMNS)
    assert exc.value.code == "duplicate_columns"
    assert "统一社会信用代码、uscc" in exc.value.message


def test_no_header_row():
    data = xlsx([["a", "b"], [1, 2]])
    with pytest.raises(SheetError) as exc:
        open_sheet(data, COLUMNS)
    assert exc.value.code == "no_header"


def test_header_below_the_scanned_rows_is_not_found():
    data = xlsx([["统一社会信用代码", "企业名称"]], title_rows=[["标题"]] * 10)
    with pytest.raises(SheetError, match="找不到表头"):
        open_sheet(data, COLUMNS)


def test_data_sheet_chosen_over_instructions_and_hidden_sheets():
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "说明"
    notes.append(["列名", "格式"])
    notes.append(["统一社会信用代码", "18位"])
    hidden = wb.create_sheet("旧数据")
    hidden.append(["统一社会信用代码", "企业名称", "营业收入（万元）"])
    hidden.append([USCC_B, "旧", 1])
    hidden.sheet_state = "hidden"
    data = wb.create_sheet("企业")
    data.append(["统一社会信用代码", "企业名称"])
    data.append([USCC_A, "甲"])
    buf = io.BytesIO()
    wb.save(buf)
    reader, rows = read_all(buf.getvalue())
    assert reader.sheet_name == "企业"
    assert [r.values["name"] for r in rows] == ["甲"]
    reader, rows = read_all(buf.getvalue(), sheet="旧数据")
    assert [r.values["name"] for r in rows] == ["旧"]
    with pytest.raises(SheetError, match="找不到工作表“其他”"):
        open_sheet(buf.getvalue(), COLUMNS, sheet="其他")


def test_xlsx_cells_keep_their_types():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "企业名称", "成立日期", "营业收入（万元）"])
    ws.append([USCC_A, "甲", dt.date(2020, 5, 6), Decimal("0.1")])
    ws["C2"].number_format = "yyyy-mm-dd"
    ws.append([USCC_B, "乙", 43957, "12,345.6"])  # a serial without a date format
    buf = io.BytesIO()
    wb.save(buf)
    cols = {**COLUMNS, "founded_on": ["成立日期"]}
    _, rows = read_all(buf.getvalue(), cols)
    assert rows[0].values["founded_on"] == dt.date(2020, 5, 6)  # a whole-day date cell
    assert rows[0].values["revenue"] == 0.1
    assert rows[1].values["founded_on"] == 43957  # 43957.0: calamine's numbers are floats
    assert rows[1].values["revenue"] == "12,345.6"


# ------------------------------------------------------------------------- CSV

CSV_TEXT = "2024年企业名单\r\n统一社会信用代码,企业名称,营业收入（万元）\r\n" + (
    f'{USCC_A},示例（集团）有限公司,"1,234.50"\r\n,,\r\n{USCC_B},乙公司,１２３\r\n,,\r\n'
)


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8-sig", "utf-8-sig"),
        ("utf-8", "utf-8"),
        ("gbk", "gb18030"),
        ("gb18030", "gb18030"),
        ("utf-16", "utf-16"),
    ],
)
def test_csv_encodings(encoding, expected):
    reader, rows = read_all(CSV_TEXT.encode(encoding))
    assert reader.format == "csv"
    assert reader.encoding == expected
    assert reader.header_row == 2
    assert [r.number for r in rows] == [3, 5]
    assert rows[0].values == {"uscc": USCC_A, "name": "示例（集团）有限公司", "revenue": "1,234.50"}
    assert rows[1].values["revenue"] == "１２３"


def test_csv_tab_and_semicolon_separated():
    for sep in ("\t", ";"):
        text = f"统一社会信用代码{sep}企业名称\n{USCC_A}{sep}甲\n"
        _, rows = read_all(text.encode("utf-8"))
        assert rows[0].values == {"uscc": USCC_A, "name": "甲"}


def test_csv_quoted_line_breaks_count_as_one_row():
    text = f'统一社会信用代码,企业名称\n{USCC_A},"第一行\n第二行"\n{USCC_B},乙\n'
    _, rows = read_all(text.encode())
    assert [r.number for r in rows] == [2, 3]
    assert rows[0].values["name"] == "第一行\n第二行"


def test_csv_empty_cells_are_none_and_short_rows_are_padded():
    text = f"统一社会信用代码,企业名称,营业收入（万元）\n{USCC_A},甲\n"
    _, rows = read_all(text.encode())
    assert rows[0].values == {"uscc": USCC_A, "name": "甲", "revenue": None}


def test_csv_mixed_encoding_late_in_the_file_is_a_clear_error():
    head = "统一社会信用代码,企业名称\n".encode() + (f"{USCC_A},abc\n".encode() * 80_000)
    data = head + "乙公司".encode("gbk") + b"\n"
    with open_sheet(data, COLUMNS) as reader, pytest.raises(SheetError) as exc:
        list(reader)
    assert exc.value.code == "encoding"


# ------------------------------------------------------------------ bad files


def _zip(names):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in names:
            zf.writestr(name, "x")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "code", "fragment"),
    [
        (b"", "empty", "文件为空"),
        (os.urandom(4096) + b"\x00" * 10, "not_spreadsheet", "不是可导入的电子表格"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "not_spreadsheet", "PDF"),
        (_zip(["a.txt"]), "not_spreadsheet", "压缩文件"),
        (_zip(["word/document.xml"]), "not_spreadsheet", "Word"),
        (_zip(["xl/workbook.bin"]), "unsupported", ".xlsb"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "corrupt", ".xls"),
        (_zip(["mimetype", "content.xml"]), "not_spreadsheet", "压缩文件"),
        (b"PK\x03\x04garbage-not-a-zip", "not_spreadsheet", "损坏"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not_spreadsheet", "PNG"),
        (_zip(["xl/workbook.xml"]), "corrupt", "损坏"),
    ],
)
def test_files_that_are_not_spreadsheets(data, code, fragment):
    with pytest.raises(SheetError) as exc:
        open_sheet(data, COLUMNS)
    assert exc.value.code == code
    assert fragment in exc.value.message
    assert " / " in exc.value.message  # Chinese, then English


def test_truncated_xlsx_is_a_clear_error():
    good = xlsx([["统一社会信用代码", "企业名称"]] + [[USCC_A, f"企业{i}"] for i in range(2000)])
    with pytest.raises(SheetError) as exc, open_sheet(good[: len(good) // 2], COLUMNS) as r:
        list(r)
    assert exc.value.code in {"corrupt", "not_spreadsheet"}


def test_random_text_is_not_a_header():
    with pytest.raises(SheetError) as exc:
        open_sheet(b"hello world\nthis is a letter\n", COLUMNS)
    assert exc.value.code == "no_header"


# ---------------------------------------------------------------------- limits


def test_file_size_limit():
    data = xlsx([["统一社会信用代码", "企业名称"], [USCC_A, "甲"]])
    with pytest.raises(SheetError) as exc:
        open_sheet(data, COLUMNS, max_bytes=len(data) - 1)
    assert exc.value.code == "too_large"
    assert "大小上限" in exc.value.message
    open_sheet(data, COLUMNS, max_bytes=len(data)).close()


def test_file_size_limit_on_a_non_seekable_stream():
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self._buf = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            chunk = self._buf.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    text = f"统一社会信用代码,企业名称\n{USCC_A},甲\n".encode()
    _, rows = read_all(Pipe(text))
    assert rows[0].values["name"] == "甲"
    with pytest.raises(SheetError, match="大小上限"):
        open_sheet(Pipe(text), COLUMNS, max_bytes=10)


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_row_limit(kind):
    rows = [[USCC_A, f"企业{i}"] for i in range(5)]
    if kind == "xlsx":
        data = xlsx([["统一社会信用代码", "企业名称"], *rows, [None, None], [None, None]])
    else:
        data = ("统一社会信用代码,企业名称\n" + "".join(f"{a},{b}\n" for a, b in rows)).encode()
    _, got = read_all(data, max_rows=5)  # exactly at the cap: fine (blank rows not counted)
    assert len(got) == 5
    with open_sheet(data, COLUMNS, max_rows=4) as reader, pytest.raises(SheetError) as exc:
        list(reader)
    assert exc.value.code == "too_many_rows"
    assert "上限4行" in exc.value.message


def test_path_and_file_object_sources(tmp_path):
    data = xlsx([["统一社会信用代码", "企业名称"], [USCC_A, "甲"]])
    path = tmp_path / "企业.xlsx"
    path.write_bytes(data)
    for source in (path, str(path)):
        _, rows = read_all(source)
        assert rows[0].values["name"] == "甲"
    with open(path, "rb") as fh:
        _, rows = read_all(fh)
        assert not fh.closed  # the caller's file is left open
    with pytest.raises(SheetError) as exc:
        open_sheet(tmp_path / "missing.xlsx", COLUMNS)
    assert exc.value.code == "unreadable"


# ----------------------------------------------------------------- flat memory


def _peak(source, columns) -> int:
    tracemalloc.start()
    try:
        with open_sheet(source, columns) as reader:
            count = sum(1 for _ in reader)
        return tracemalloc.get_traced_memory()[1], count
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_memory_stays_flat_as_the_file_grows(tmp_path, kind):
    def build(n):
        path = tmp_path / f"{n}.{kind}"
        if kind == "csv":
            with open(path, "w", encoding="utf-8-sig", newline="") as fh:
                fh.write("统一社会信用代码,企业名称,营业收入（万元）\n")
                for i in range(n):
                    fh.write(f"{make_uscc(f'91370100{i:09d}')},示例企业{i}有限公司,{i}.25\n")
        else:
            wb = openpyxl.Workbook(write_only=True)
            ws = wb.create_sheet("企业")
            ws.append(["统一社会信用代码", "企业名称", "营业收入（万元）"])
            for i in range(n):
                ws.append([make_uscc(f"91370100{i:09d}"), f"示例企业{i}有限公司", i + 0.25])
            wb.save(path)
        return path

    # CSV sizes both exceed the 256 KiB encoding sample, so only rows differ.
    n_small, n_large = (5_000, 40_000) if kind == "csv" else (1_000, 8_000)
    small, small_count = _peak(build(n_small), COLUMNS)
    large, large_count = _peak(build(n_large), COLUMNS)
    assert (small_count, large_count) == (n_small, n_large)
    per_row = (large - small) / (n_large - n_small)
    # Python's side is flat for both: rows are handed over one at a time. (calamine
    # holds the chosen sheet's cells in Rust, outside tracemalloc's view, about 70
    # bytes a cell: benchmarks/xlsx_read.py measures the process's peak.) Holding the
    # rows in Python would cost well over 400 bytes a row.
    limit = 5 if kind == "csv" else 25
    assert per_row < limit, (small, large, per_row)


# -------------------------------------------------------------- with a spec


def test_spec_reader_accepts_a_real_progress_sheet():
    data = xlsx(
        [
            [
                "项目编号",
                "项目名称",
                "调度月份",
                "本月完成投资（万元）",
                "形象进度（%）",
                "本年累计完成投资（万元）",
            ],
            ["SD-2024-001", "甲项目", "2024年3月", "1,200", "35%", 9999],
        ],
        title_rows=[["2024年3月重点项目调度表"]],
        merge=["A1:F1"],
    )
    with PROGRESS.open(data) as reader:
        parsed = list(PROGRESS.parse_rows(reader))
    assert reader.unknown_headers == []  # the computed column is known, and ignored
    assert parsed[0].ok, parsed[0].errors
    assert parsed[0].row == 3
    assert parsed[0].values["period"] == "2024-03"
    assert parsed[0].values["investment_month"] == Decimal("1200")
    assert parsed[0].values["physical_progress_pct"] == Decimal("35")
    assert "cumulative_year" not in parsed[0].values


def test_spec_reader_requires_its_required_columns():
    data = xlsx([["企业名称"], ["甲"]])
    with pytest.raises(SheetError) as exc:
        ENTERPRISES.open(data)
    assert "统一社会信用代码、所在地区代码" in exc.value.message


def test_bom_is_stripped_from_the_first_header():
    data = codecs.BOM_UTF8 + f"统一社会信用代码,企业名称\n{USCC_A},甲\n".encode()
    reader, _ = read_all(data)
    assert reader.columns["uscc"] == 0


# ----------------------------------------------------- files an office suite wrote


def _parsed(path: Path):
    with ENTERPRISES.open(path) as reader:
        return reader.format, [(p.row, p.values, p.errors) for p in ENTERPRISES.parse_rows(reader)]


@pytest.mark.parametrize(
    ("name", "kind"),
    [("libreoffice.xlsx", "xlsx"), ("libreoffice.xls", "xls"), ("libreoffice.ods", "ods")],
)
def test_libreoffice_files_read_as_the_xlsx_they_were_made_from(name, kind):
    """.xls and .ods (and LibreOffice's own .xlsx) give the rows, values and errors of
    the openpyxl-written .xlsx they were converted from (tests/fixtures/README.md)."""
    fmt, rows = _parsed(FIXTURES / name)
    source_fmt, expected = _parsed(FIXTURES / "office_source.xlsx")
    assert (fmt, source_fmt) == (kind, "xlsx")
    assert rows == expected
    assert [r[0] for r in rows] == [3, 4, 6]  # title row and blank row counted
    assert rows[0][1]["figures"] == {
        "year": 2024,
        "revenue": Decimal("1234.5"),
        "employees": 120,
        "rd_spend": None,
    }
    assert rows[1][1]["region_code"] == "370601"  # a number cell in a code column
    assert rows[2][1] == {} and [e.field for e in rows[2][2]] == ["uscc"]  # bad check digit
    with open_sheet(FIXTURES / name, COLUMNS) as reader:
        assert reader.sheet_name == "企业"  # the data sheet, not the instructions sheet
