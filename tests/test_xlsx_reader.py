"""The fast .xlsx reader (sheets/xlsx.py) against openpyxl: the same rows, value for value.

Every workbook here is read twice, by ``XlsxBook`` and by openpyxl's read-only reader
(what the importer used before, and still uses for what the fast reader does not read),
and the rows must be identical: same values, same types, same padding. Workbooks come
from openpyxl (normal and write_only), from our own export writer, and from XML written
by hand for what those never produce (rich text, formulas with cached values, missing
r attributes, entities, a prefixed namespace...). Cases the fast reader is meant to
read assert that it did (no fallback), so the comparison is not openpyxl with itself.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from chaintrack.config import get_settings
from chaintrack.sheets.reader import SheetError, open_sheet
from chaintrack.sheets.specs import ENTERPRISES
from chaintrack.sheets.writer import xlsx_bytes
from chaintrack.sheets.xlsx import XlsxBook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def typed(rows: list[Any]) -> list[Any]:
    """Rows with every value shown with its type (1 == 1.0 == True otherwise)."""
    return [(type(r).__name__, [(type(v).__name__, repr(v)) for v in r]) for r in rows]


def openpyxl_rows(data: bytes, max_row: int | None = None) -> dict[str, Any]:
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        out = {}
        for ws in wb.worksheets:
            ws.reset_dimensions()
            out[ws.title] = (
                ws.sheet_state,
                typed(list(ws.iter_rows(max_row=max_row, values_only=True))),
            )
        return {"epoch1904": wb.epoch == CALENDAR_MAC_1904, "sheets": out}
    finally:
        wb.close()


def fast_rows(data: bytes, max_row: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    book = XlsxBook(io.BytesIO(data))
    try:
        out = {}
        for ws in book.worksheets:
            out[ws.title] = (ws.sheet_state, typed(list(ws.iter_rows(max_row=max_row))))
        fell_back = {ws.title: ws.fallback for ws in book.worksheets if ws.fell_back}
        return {"epoch1904": book.date1904, "sheets": out}, fell_back
    finally:
        book.close()


def assert_same(data: bytes, *, fallback: set[str] = frozenset()) -> dict[str, Any]:
    """Both readers give the same rows (whole sheets, and the first rows only)."""
    expected = openpyxl_rows(data)
    got, fell_back = fast_rows(data)
    assert got == expected
    assert set(fell_back) == set(fallback), fell_back
    for max_row in (1, 3, 12):
        assert fast_rows(data, max_row)[0] == openpyxl_rows(data, max_row)
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
    "windows\r\nline",
    "_x000D_ literal escape",
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
    ws.append([dt.datetime(1900, 1, 1), dt.datetime(1900, 3, 1), dt.timedelta(hours=30)])
    ws.cell(row=20, column=12, value="sparse")  # gaps: rows 13-19 missing, cells padded
    ws.cell(row=22, column=3, value=5)
    ws["A23"] = "#N/A"
    ws["B23"].value = "#DIV/0!"
    ws["B23"].data_type = "e"
    ws["C23"] = "=SUM(1,2)"  # no cached value: None under data_only
    hidden = wb.create_sheet("隐藏")
    hidden.append(["h"])
    hidden.sheet_state = "hidden"
    very = wb.create_sheet("very")
    very.append([1])
    very.sheet_state = "veryHidden"
    wb.create_sheet("空表")
    expected = assert_same(saved(wb))
    assert expected["sheets"]["隐藏"][0] == "hidden"
    assert expected["sheets"]["very"][0] == "veryHidden"


@pytest.mark.parametrize(
    "fmt",
    [
        "yyyy-mm-dd",
        'yyyy"年"m"月"d"日"',
        "[$-F800]dddd, mmmm dd, yyyy",
        "h:mm AM/PM",
        "mm:ss",
        "[h]:mm:ss",
        "[mm]:ss",
        "mm:ss.0",
        '"day "0',  # a quoted d: not a date
        "[Red]0.00",  # brackets: not a date
        "0.00_);(0.00)",
        "#,##0.00##",
        "@",
        "General",
    ],
)
def test_number_formats_decide_dates_as_openpyxl_does(fmt):
    wb = openpyxl.Workbook()
    ws = wb.active
    for value in (0, 0.25, 1, 59, 60, 61, 43957, 43957.75, -1, 2958465, 1e10):
        ws.append([value])
        ws.cell(row=ws.max_row, column=1).number_format = fmt
    with pytest.warns(UserWarning) if fmt not in NOT_DATES else _nothing():
        assert_same(saved(wb))


NOT_DATES = {'"day "0', "[Red]0.00", "0.00_);(0.00)", "#,##0.00##", "@", "General"}


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("builtin", [14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47, 1, 2, 49])
def test_builtin_formats(builtin):
    from openpyxl.styles.numbers import BUILTIN_FORMATS

    wb = openpyxl.Workbook()
    ws = wb.active
    for value in (0.5, 1, 44000, 44000.125):
        ws.append([value])
        ws.cell(row=ws.max_row, column=1).number_format = BUILTIN_FORMATS[builtin]
    assert_same(saved(wb))


def test_1904_epoch():
    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.append([dt.date(2020, 5, 6), dt.datetime(1904, 1, 2, 12), 100])
    ws["C1"].number_format = "yyyy-mm-dd"
    expected = assert_same(saved(wb))
    assert expected["epoch1904"] is True


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


# ---------------------------------------------------------------- hand-written XML


STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{MAIN}"><numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy/mm/dd"/>
<numFmt numFmtId="165" formatCode="[h]:mm"/><numFmt numFmtId="166" formatCode="&quot;d&quot;0.00"/>
</numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="1"><fill><patternFill patternType="none"/></fill></fills>
<borders count="1"><border/></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="8"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="18" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="46" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""

SHARED = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="{MAIN}" count="9" uniqueCount="9">
<si><t>统一社会信用代码</t></si><si><t>企业名称</t></si>
<si><r><rPr><b/><sz val="11"/></rPr><t>rich </t></r><r><t xml:space="preserve"> text </t></r></si>
<si><t>漢字</t><rPh sb="0" eb="2"><t>かんじ</t></rPh><phoneticPr fontId="1"/></si>
<si><t xml:space="preserve">  padded  </t></si>
<si><t>&amp;&lt;&gt;&quot;&apos;&#20013;&#x4E2D;</t></si>
<si><t>a_x000D_b _x005F_x000D_ x005F_</t></si><si><t/></si>
<si><t>line\r\nbreak\rcr&#13;kept</t></si>
</sst>"""


def book(
    sheets: list[tuple[str, str, str]],
    *,
    shared: str | None = SHARED,
    styles: str | None = STYLES,
    date1904: bool = False,
) -> bytes:
    """A workbook from hand-written parts: sheets are (name, state, sheet XML)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        if shared is not None:
            overrides += (
                '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            )
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main'
            f'+xml"/>{overrides}</Types>',
        )
        zf.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        states = [f' state="{state}"' if state else "" for _, state, _ in sheets]
        entries = "".join(
            f'<sheet name="{name}" sheetId="{i}"{states[i - 1]} r:id="rId{i}"/>'
            for i, (name, _, _) in enumerate(sheets, start=1)
        )
        pr = '<workbookPr date1904="1"/>' if date1904 else "<workbookPr/>"
        zf.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">{pr}'
            f"<sheets>{entries}</sheets></workbook>",
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        n = len(sheets)
        rels += f'<Relationship Id="rId{n + 1}" Type="{REL}/styles" Target="styles.xml"/>'
        if shared is not None:
            rels += (
                f'<Relationship Id="rId{n + 2}" Type="{REL}/sharedStrings" '
                'Target="sharedStrings.xml"/>'
            )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships">{rels}</Relationships>',
        )
        if styles is not None:
            zf.writestr("xl/styles.xml", styles)
        if shared is not None:
            zf.writestr("xl/sharedStrings.xml", shared)
        for i, (_, _, xml) in enumerate(sheets, start=1):
            zf.writestr(f"xl/worksheets/sheet{i}.xml", xml)
    return buf.getvalue()


def sheet(data: str, *, head: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" '
        f'mc:Ignorable="x14ac"><dimension ref="A1:C2"/>{head}<sheetData>{data}</sheetData>'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        "</worksheet>"
    )


EXCEL_LIKE = sheet(
    '<row r="1" spans="1:3" x14ac:dyDescent="0.25"><c r="A1" t="s"><v>0</v></c>'
    '<c r="B1" t="s"><v>1</v></c><c r="C1" s="0" t="s"><v>2</v></c></row>'
    '<row r="2" spans="1:9" ht="30" customHeight="1"><c r="A2" t="s"><v>3</v></c>'
    '<c r="B2" t="s"><v>4</v></c><c r="C2" t="s"><v>5</v></c><c r="D2" t="s"><v>6</v></c>'
    '<c r="E2" t="s"><v>7</v></c><c r="F2" t="s"><v>8</v></c></row>'
    '<row r="3"><c r="A3"><f>1+1</f><v>2</v></c><c r="B3"><f t="shared" ref="B3:B4" si="0">A3*2'
    '</f><v>4</v></c><c r="C3" t="str"><f>"a"&amp;"b"</f><v>a&amp;b</v></c>'
    '<c r="D3" t="b"><v>1</v></c><c r="E3" t="b"><v>0</v></c><c r="F3" t="e"><v>#N/A</v></c>'
    '<c r="G3" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="H3"><f>NOW()</f></c><c r="I3" s="3"/></row>'
    '<row r="4"><c r="B4"><f t="shared" si="0"/><v>8.5</v></c><c r="C4" t="n"><v>-12</v></c>'
    '<c r="D4"><v>1.5E+20</v></c><c r="E4"><v>1e-5</v></c><c r="F4"><v>-0</v></c>'
    '<c r="G4"><v>00123</v></c><c r="H4"><v/></c><c r="I4"><v></v></c>'
    '<c r="J4" t="s"><v></v></c></row>'
    '<row r="6"><c r="A6" s="1"><v>43957</v></c><c r="B6" s="2"><v>43957.5</v></c>'
    '<c r="C6" s="3"><v>0.75</v></c><c r="D6" s="4"><v>60</v></c><c r="E6" s="5"><v>1.5</v></c>'
    '<c r="F6" s="6"><v>3</v></c><c r="G6" s="7"><v>0.0104166</v></c><c r="H6" s="1"><v>0</v></c>'
    '<c r="I6" s="1"><v>1e10</v></c><c r="J6" s="1"><v>-1</v></c></row>'
    '<row r="7"><c r="A7" t="inlineStr"><is><t>inline &amp; text</t></is></c>'
    '<c r="B7" t="inlineStr"><is><t xml:space="preserve"> kept </t></is></c>'
    '<c r="C7" t="inlineStr"><is><r><rPr><i/></rPr><t>ri</t></r><r><t>ch</t></r></is></c>'
    '<c r="D7" t="inlineStr"><is><t/></is></c><c r="E7" t="inlineStr"><is><t></t></is></c>'
    '<c r="F7" t="inlineStr"></c><c r="G7" t="inlineStr"><v>ignored</v></c>'
    '<c r="H7" t="d"><v>2024-03-05T10:20:30</v></c><c r="I7" t="d"><v>2024-03-05</v></c>'
    '<c r="J7" t="d"><v>10:20</v></c><c r="K7" t="inlineStr"><is><t>a_x000D_b</t></is></c></row>'
    '<row r="8"/><row r="9" spans="1:2" ht="12" customHeight="1" />'
    '<row r="10"><c r="XFD10"><v>1</v></c></row>'
    '<row r="12"><c t="s"><v>0</v></c><c><v>2</v></c><c r="E12"><v>5</v></c><c><v>6</v></c></row>'
    '<row><c><v>13</v></c></row><row><c r="B14"><v>14</v></c></row>'
    '<row r="13"><c r="A13"><v>99</v></c></row>'  # a row number going back: openpyxl drops it
    '<row r="16"><c r="A16" s="1"/><c r="C16" s="2"/></row>'
)


@pytest.mark.filterwarnings("ignore:Cell .* is marked as a date")
def test_excel_like_sheet_with_shared_strings_formulas_and_dates():
    expected = assert_same(book([("Sheet1", "", EXCEL_LIKE)]))
    rows = expected["sheets"]["Sheet1"][1]
    assert rows[0][1][2] == ("str", repr("rich  text "))  # rich text runs joined
    assert ("str", repr("a_x000D_b _x000D_ ")) in rows[1][1]  # as openpyxl: x005F_ dropped only


@pytest.mark.filterwarnings("ignore:Cell .* is marked as a date")
def test_1904_epoch_by_hand():
    assert_same(book([("S", "", EXCEL_LIKE)], date1904=True))


def test_whitespace_between_tags_is_read():
    pretty = sheet(
        '\n  <row r="1">\n    <c r="A1" t="s"><v>0</v></c>\n    <c r="B1"><v>2</v></c>\n  </row>\n'
        '  <row r="2">\r\n\t<c r="A2" t="inlineStr"><is><t>x</t></is></c>\n  </row>\n'
    )
    assert_same(book([("S", "", pretty)]))


def test_several_sheets_hidden_empty_and_no_shared_strings():
    data = book(
        [
            (
                "说明",
                "",
                sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>说明</t></is></c></row>'),
            ),
            ("数据", "", sheet('<row r="2"><c r="B2"><v>1</v></c></row>')),
            ("旧", "hidden", sheet('<row r="1"><c r="A1"><v>1</v></c></row>')),
            ("隐", "veryHidden", sheet("")),
            ("空", "", sheet("").replace("<sheetData></sheetData>", "<sheetData/>")),
        ],
        shared=None,
        styles=None,
    )
    expected = assert_same(data)
    assert [s[0] for s in expected["sheets"].values()] == [
        "visible",
        "visible",
        "hidden",
        "veryHidden",
        "visible",
    ]


@pytest.mark.parametrize(
    "xml",
    [
        # a namespace prefix instead of the default namespace
        f'<?xml version="1.0"?><x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row r="1">'
        '<x:c r="A1"><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>',
        # a comment, CDATA inside a cell, a DOCTYPE
        sheet(
            '<row r="1"><c r="A1"><v>1</v></c></row><!-- note -->'
            '<row r="2"><c r="A2"><v>2</v></c></row>'
        ),
        sheet('<row r="1"><c r="A1" t="str"><v><![CDATA[<b>]]></v></c></row>'),
        f'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY e "x">]><worksheet xmlns="{MAIN}">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row>'
        "</sheetData></worksheet>",
        # cells out of order, lowercase and absolute references, r not first, unknown attributes
        sheet('<row r="1"><c r="B1"><v>2</v></c><c r="A1"><v>1</v></c></row>'),
        sheet('<row r="1"><c r="a1"><v>1</v></c><c r="b1"><v>2</v></c></row>'),
        sheet('<row r="1"><c s="0" r="B1"><v>2</v></c></row>'),
        sheet('<row r="1"><c r="A1" foo="1"><v>1</v></c></row>'),
        # whitespace inside a cell, an unknown child, a redeclared namespace
        sheet('<row r="1"><c r="A1">\n<v>1</v>\n</c></row>'),
        sheet('<row r="1"><c r="A1"><v>1</v><extLst/></c></row>'),
        sheet('<row r="1"><c r="A1" xmlns="urn:other"><v>1</v></c></row>'),
        # row numbers written as floats, rows without r mixed with numbered ones
        sheet('<row r="1.0"><c r="A1"><v>1</v></c></row><row><c r="A2"><v>2</v></c></row>'),
    ],
)
def test_what_the_fast_reader_does_not_read_is_read_by_openpyxl(xml):
    data = book([("S", "", xml)])
    fallback = set() if 'r="1.0"' in xml else {"S"}
    assert_same(data, fallback=fallback)


def test_undefined_entity_and_bad_reference_fall_back_to_openpyxl_errors():
    for text in ("&nbsp;", "&#0;", "a & b"):
        data = book(
            [
                (
                    "S",
                    "",
                    sheet(f'<row r="1"><c r="A1" t="inlineStr"><is><t>{text}</t></is></c></row>'),
                )
            ]
        )
        with pytest.raises(Exception):  # noqa: B017 - openpyxl's own parse error
            openpyxl_rows(data)
        book_ = XlsxBook(io.BytesIO(data))
        with pytest.raises(Exception):  # noqa: B017 - the same error, through the fallback
            list(book_.worksheets[0].iter_rows())
        assert book_.worksheets[0].fell_back


@pytest.mark.filterwarnings("ignore:Cell .* is marked as a date")
def test_unusual_shared_strings_are_read_by_openpyxl():
    odd = SHARED.replace("<si><t/></si>", "<si><t>x</t><!-- c --></si>")
    data = book([("S", "", EXCEL_LIKE)], shared=odd)
    assert_same(data)


# ------------------------------------------------------------------ via open_sheet


@pytest.fixture(params=["fast", "openpyxl"])
def engine(request, monkeypatch):
    monkeypatch.setattr(get_settings(), "xlsx_reader", request.param)
    return request.param


def _read(data: bytes, **kw):
    with open_sheet(data, ENTERPRISES.header_map(), **kw) as reader:
        return reader, [(r.number, r.values) for r in reader]


def test_open_sheet_gives_the_same_rows_with_both_readers(monkeypatch):
    rows = [
        {"uscc": "91110000600037341L", "name": f"企业{i}", "region_code": "370601",
         "founded_on": dt.date(2001, 2, 3), "figures": {"year": 2024, "revenue": Decimal("1.5")}}
        for i in range(50)
    ]  # fmt: skip
    data = xlsx_bytes(ENTERPRISES, rows)
    results = {}
    for name in ("fast", "openpyxl"):
        monkeypatch.setattr(get_settings(), "xlsx_reader", name)
        reader, got = _read(data)
        results[name] = (reader.sheet_name, reader.header_row, reader.columns, reader.date1904, got)
    assert results["fast"] == results["openpyxl"]
    assert len(results["fast"][4]) == 50


def test_sheet_selection_and_its_errors(engine):
    data = book(
        [
            ("说明", "", sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')),
            (
                "企业",
                "",
                sheet(
                    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
                    '<row r="2"><c r="B2" t="inlineStr"><is><t>甲</t></is></c></row>'
                ),
            ),
        ]
    )
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


@pytest.mark.parametrize("at", [0.02, 0.5, 0.97])
def test_damaged_sheet_data_is_a_clear_error(engine, at):
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("企业")
    ws.append(["统一社会信用代码", "企业名称"])
    for i in range(3000):
        ws.append([f"9137{i:014d}", f"企业{i}有限公司"])
    data = _damaged(saved(wb), "xl/worksheets/sheet1.xml", at)
    with pytest.raises(SheetError) as exc:
        _read(data)
    assert exc.value.code in {"corrupt", "no_header"}
    assert " / " in exc.value.message


@pytest.mark.parametrize("member", ["xl/workbook.xml", "xl/styles.xml", "xl/sharedStrings.xml"])
def test_damaged_workbook_parts_are_a_clear_error(engine, member):
    data = _damaged(book([("S", "", EXCEL_LIKE)]), member, 0.3)
    with pytest.raises(SheetError) as exc:
        _read(data)
    assert exc.value.code in {"corrupt", "no_header"}


def test_truncated_workbook_is_a_clear_error(engine):
    data = book([("S", "", EXCEL_LIKE)])
    for cut in (len(data) // 3, len(data) - 40):
        with pytest.raises(SheetError) as exc:
            _read(data[:cut])
        assert exc.value.code in {"corrupt", "not_spreadsheet", "no_header"}


def test_large_sheets_across_many_chunks():
    """Rows and cells cut across the 64 KiB pieces the reader tokenizes."""
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("many rows")
    for i in range(6000):
        ws.append([f"行{i}&", i, i * 0.5 if i % 7 else None, dt.date(2020, 1, 1 + i % 28)])
    wide = wb.create_sheet("one wide row")
    wide.append(list(range(16384)))
    wide.append(["after"])
    data = saved(wb)
    assert len(zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")) > 4 * 65536
    assert_same(data)
