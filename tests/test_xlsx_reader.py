"""The workbook reader (python-calamine, sheets/workbook.py) against openpyxl: the same
rows, value for value, on the same files.

Every workbook is read by calamine (as ``open_sheet`` reads it) and by openpyxl's
read-only reader (what the importer used before), and the rows must be the same once
the documented differences in representation are set aside (``same``): calamine gives
``""`` for a blank cell where openpyxl gives ``None``, a float for a whole number, and a
``date`` for a whole-day date cell where openpyxl gives midnight's ``datetime``; rows
are compared without trailing blanks. Error cells are the one loss: calamine's binding
reads them as blank (asserted below, so a fix upstream shows). Workbooks come from
openpyxl (normal and write_only), from our own export writer, and damaged ones.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from chaintrack.sheets.reader import SheetError, open_sheet
from chaintrack.sheets.specs import ENTERPRISES
from chaintrack.sheets.workbook import sheet_rows, xlsx_date1904
from chaintrack.sheets.writer import xlsx_bytes

FIXTURES = Path(__file__).parent / "fixtures"


def same(value: Any) -> Any:
    """A cell as both readers can agree on it (see the module doc)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float, Decimal)):
        return ("number", float(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return ("date", value.date())
    if isinstance(value, dt.datetime):
        return ("datetime", value)
    if isinstance(value, dt.date):
        return ("date", value)
    return (type(value).__name__, value)


def trimmed(rows: Any) -> list[list[Any]]:
    out = [[same(v) for v in row] for row in rows]
    for row in out:
        while row and row[-1] is None:
            row.pop()
    while out and not out[-1]:
        out.pop()
    return out


def openpyxl_rows(data: bytes) -> dict[str, Any]:
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        out = {}
        for ws in wb.worksheets:
            ws.reset_dimensions()
            out[ws.title] = (ws.sheet_state, trimmed(ws.iter_rows(values_only=True)))
        return {"date1904": wb.epoch == CALENDAR_MAC_1904, "sheets": out}
    finally:
        wb.close()


def _state(visible: Any) -> str:
    for state, name in (("Visible", "visible"), ("Hidden", "hidden"), ("VeryHidden", "veryHidden")):
        if visible == getattr(python_calamine.SheetVisibleEnum, state):
            return name
    raise AssertionError(visible)


def calamine_rows(data: bytes) -> dict[str, Any]:
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        out = {}
        for meta in book.sheets_metadata:
            ws = book.get_sheet_by_name(meta.name)
            out[meta.name] = (_state(meta.visible), trimmed(sheet_rows(ws)))
        return {"date1904": xlsx_date1904(io.BytesIO(data)), "sheets": out}
    finally:
        book.close()


def assert_same(data: bytes) -> dict[str, Any]:
    expected = openpyxl_rows(data)
    assert calamine_rows(data) == expected
    return expected


def saved(wb: openpyxl.Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------ openpyxl-written


VALUES: list[Any] = [
    "甲公司",
    "  spaces kept  ",
    "a & b < c > d \"quoted\" 'single'",
    "line1\nline2",
    "emoji 🏭 and 𠀀",
    "00123",
    "1,234.50",
    "=not a formula",
    0,
    -7,
    2**53 + 1,
    10**20,
    3.14159,
    -0.5,
    1e-10,
    1.5e300,
    Decimal("0.1"),
    True,
    False,
    None,
    "",
]


def test_openpyxl_normal_workbook_with_every_kind_of_value():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据"
    ws.append(["统一社会信用代码", "企业名称", "营业收入（万元）"])
    for i in range(0, len(VALUES), 5):
        ws.append(VALUES[i : i + 5])
    ws.append([dt.date(2020, 5, 6), dt.datetime(2021, 1, 2, 3, 4, 5), dt.time(13, 30)])
    ws.append([dt.datetime(1900, 3, 1), dt.timedelta(hours=30)])
    ws.cell(row=20, column=12, value="sparse")  # gaps: rows 13-19 missing, cells padded
    ws.cell(row=22, column=3, value=5)
    ws["C23"] = "=SUM(1,2)"  # no cached value: blank in both
    hidden = wb.create_sheet("隐藏")
    hidden.append(["h"])
    hidden.sheet_state = "hidden"
    very = wb.create_sheet("very")
    very.append([1])
    very.sheet_state = "veryHidden"
    wb.create_sheet("空")
    expected = assert_same(saved(wb))
    assert expected["sheets"]["隐藏"][0] == "hidden"
    assert expected["sheets"]["very"][0] == "veryHidden"
    assert len(expected["sheets"]["数据"][1]) == 22


def test_data_not_starting_at_a1_keeps_excel_row_and_column_numbers():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C3"] = "统一社会信用代码"
    ws["D3"] = "企业名称"
    ws["D4"] = "甲"
    data = saved(wb)
    assert_same(data)
    with open_sheet(data, ENTERPRISES.header_map()) as reader:
        assert reader.header_row == 3
        assert reader.columns == {"uscc": 2, "name": 3}
        assert [(r.number, r.values) for r in reader] == [(4, {"uscc": None, "name": "甲"})]


@pytest.mark.parametrize(
    "fmt",
    [
        "yyyy-mm-dd",
        'yyyy"年"m"月"d"日"',
        "h:mm AM/PM",
        "[h]:mm:ss",
        "[Red]0.00",  # brackets: not a date
        "0.00_);(0.00)",
        "#,##0.00##",
        "0%",
        "@",
        "General",
    ],
)
def test_number_formats_decide_dates_as_openpyxl_does(fmt):
    wb = openpyxl.Workbook()
    ws = wb.active
    for value in (1, 59, 61, 43957, 43957.75, 2958465):
        ws.append([value])
        ws.cell(row=ws.max_row, column=1).number_format = fmt
    assert_same(saved(wb))


def test_1904_date_system():
    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.append([dt.date(2020, 5, 6), dt.datetime(1904, 1, 2, 12), 100])
    ws["C1"].number_format = "yyyy-mm-dd"
    expected = assert_same(saved(wb))
    assert expected["date1904"] is True


def test_openpyxl_write_only_workbook():
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("企业")
    ws.append(["统一社会信用代码", "企业名称", "营业收入（万元）"])
    for i in range(300):
        ws.append([f"9137{i:014d}", f"企业{i}&<>", i + 0.25 if i % 3 else None, i % 2 == 0])
    ws.append([])
    ws.append([None, None, "after an empty row"])
    rich = CellRichText(["plain ", TextBlock(InlineFont(b=True), "bold"), " tail"])
    ws.append([rich, CellRichText(["only"])])
    other = wb.create_sheet("second")
    other.append(["x"])
    assert_same(saved(wb))


@pytest.mark.parametrize("name", ["libreoffice.xlsx", "office_source.xlsx"])
def test_fixture_workbooks(name):
    """LibreOffice's .xlsx (shared strings, its own styles) and the openpyxl-written one."""
    assert_same((FIXTURES / name).read_bytes())


def test_our_export_writer():
    rows = [
        {
            "uscc": "91110000600037341L",
            "name": f"示例企业{i}有限公司",
            "region_code": "370601",
            "founded_on": dt.date(2000 + i % 20, 1 + i % 12, 1 + i % 28),
            "figures": {"year": 2024, "revenue": Decimal(f"{i}.5"), "employees": i},
        }
        for i in range(200)
    ]
    assert_same(xlsx_bytes(ENTERPRISES, rows))


def test_error_cells_read_as_blank():
    """The one value calamine's binding loses: openpyxl says which error, calamine gives
    "" (python-calamine issue 105). An error cell in a required column is then refused
    as blank; elsewhere it is read as blank."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "企业名称"])
    ws.append(["#N/A", "甲"])
    ws["A2"].data_type = "e"
    data = saved(wb)
    assert openpyxl_rows(data)["sheets"]["Sheet"][1][1][0] == ("str", "#N/A")
    assert calamine_rows(data)["sheets"]["Sheet"][1][1][0] is None
    with open_sheet(data, ENTERPRISES.header_map()) as reader:
        assert [r.values for r in reader] == [{"uscc": None, "name": "甲"}]


# ------------------------------------------------------------------ via open_sheet


def _read(data: bytes, **kw):
    with open_sheet(data, ENTERPRISES.header_map(), **kw) as reader:
        return reader, [(r.number, r.values) for r in reader]


def test_open_sheet_gives_the_rows_openpyxl_gives():
    rows = [
        {"uscc": "91110000600037341L", "name": f"企业{i}", "region_code": "370601",
         "founded_on": dt.date(2001, 2, 3), "figures": {"year": 2024, "revenue": Decimal("1.5")}}
        for i in range(50)
    ]  # fmt: skip
    data = xlsx_bytes(ENTERPRISES, rows)
    reader, got = _read(data)
    assert (reader.format, reader.sheet_name, reader.header_row, reader.date1904) == (
        "xlsx",
        "企业",
        1,
        False,
    )
    sheet = openpyxl_rows(data)["sheets"]["企业"][1]
    by_column = {name: i for name, i in reader.columns.items()}
    expected = [
        (number, {name: row[i] if i < len(row) else None for name, i in by_column.items()})
        for number, row in enumerate(sheet, start=1)
        if number > 1
    ]
    assert [(n, {k: same(v) for k, v in values.items()}) for n, values in got] == expected
    assert len(got) == 50


def test_sheet_selection_and_its_errors():
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "说明"
    notes.append(["统一社会信用代码"])
    data_ws = wb.create_sheet("企业")
    data_ws.append(["统一社会信用代码", "企业名称"])
    data_ws.append([None, "甲"])
    chart = wb.create_chartsheet("图")
    del chart
    data = saved(wb)
    reader, rows = _read(data)
    assert reader.sheet_name == "企业"
    assert rows == [(2, {"uscc": None, "name": "甲"})]
    reader, rows = _read(data, sheet="说明")
    assert rows == []
    with pytest.raises(SheetError, match="找不到工作表“其他”，文件中有：说明、企业"):
        _read(data, sheet="其他")


def _damaged(data: bytes, member: str, at: float) -> bytes:
    """The archive with some bytes of one member's compressed data flipped."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    pos = start + int(info.compress_size * at)
    out = bytearray(data)
    for i in range(pos, pos + 8):
        out[i] ^= 0x5A
    return bytes(out)


def _big() -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("企业")
    ws.append(["统一社会信用代码", "企业名称"])
    for i in range(3000):
        ws.append([f"9137{i:014d}", f"企业{i}有限公司"])
    return saved(wb)


@pytest.mark.parametrize("at", [0.02, 0.5, 0.97])
def test_damaged_sheet_data_is_a_clear_error_for_both_readers(at):
    data = _damaged(_big(), "xl/worksheets/sheet1.xml", at)
    with pytest.raises(Exception):  # noqa: B017 - openpyxl's own error
        openpyxl_rows(data)
    with pytest.raises(SheetError) as exc:
        _read(data)
    assert exc.value.code in {"corrupt", "no_header"}
    assert " / " in exc.value.message


@pytest.mark.parametrize("member", ["xl/workbook.xml", "xl/styles.xml", "xl/sharedStrings.xml"])
def test_damaged_workbook_parts_are_a_clear_error(member):
    data = _damaged((FIXTURES / "libreoffice.xlsx").read_bytes(), member, 0.3)
    with pytest.raises(SheetError) as exc:
        _read(data)
    assert exc.value.code in {"corrupt", "no_header"}


def test_truncated_workbook_is_a_clear_error():
    data = _big()
    for cut in (len(data) // 3, len(data) - 40):
        with pytest.raises(SheetError) as exc:
            _read(data[:cut])
        assert exc.value.code in {"corrupt", "not_spreadsheet", "no_header"}


def test_large_sheet():
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("many rows")
    for i in range(6000):
        ws.append([f"行{i}&", i, i * 0.5 if i % 7 else None, dt.date(2020, 1, 1 + i % 28)])
    wide = wb.create_sheet("one wide row")
    wide.append(list(range(16384)))
    wide.append(["after"])
    assert_same(saved(wb))
