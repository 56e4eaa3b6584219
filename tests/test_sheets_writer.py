"""Templates and exports: they open in Excel, guide the clerk, and round-trip exactly."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import os
from decimal import Decimal

import openpyxl
import pytest

from chaintrack.models.enums import (
    Level,
    MembershipRole,
    ProjectNature,
    ProjectStatus,
    ProjectType,
    SizeClass,
    Tier,
)
from chaintrack.sheets.reader import open_sheet
from chaintrack.sheets.specs import (
    DESIGNATIONS,
    ENTERPRISES,
    MEMBERSHIPS,
    PROGRESS,
    PROJECTS,
    SPECS,
    list_entry_spec,
)
from chaintrack.sheets.templates import template_csv, template_filename, template_xlsx
from chaintrack.sheets.writer import (
    INSTRUCTIONS_SHEET,
    LISTS_SHEET,
    csv_bytes,
    iter_csv,
    write_csv,
    write_xlsx,
    xlsx_bytes,
)

USCC_A = "91110000600037341L"
USCC_B = "91512081MA62K0260E"


def load(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def parse_all(spec, data: bytes):
    with spec.open(data) as reader:
        parsed = list(spec.parse_rows(reader))
    assert all(p.ok for p in parsed), [p.errors for p in parsed if not p.ok]
    return [p.values for p in parsed]


# ---------------------------------------------------------------- templates


@pytest.mark.parametrize("name", list(SPECS))
def test_xlsx_template_opens_and_guides_the_clerk(name):
    spec = SPECS[name]
    wb = load(template_xlsx(spec))
    assert wb.sheetnames[:2] == [spec.title_zh, INSTRUCTIONS_SHEET]
    ws = wb[spec.title_zh]
    headers = [c.value for c in ws[1]]
    assert headers == [c.header for c in spec.template_columns]
    assert ws.max_row == 1
    assert ws.freeze_panes == "A2"
    for cell, col in zip(ws[1], spec.template_columns, strict=True):
        assert cell.font.b
        assert (cell.font.color is not None and cell.font.color.rgb == "00C00000") == col.required
        assert cell.comment is not None and col.format_zh() in cell.comment.text
        letter = cell.column_letter
        assert ws.column_dimensions[letter].width >= 8
    # drop-down lists for every enumeration
    validations = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    for idx, col in enumerate(spec.template_columns, start=1):
        letter = openpyxl.utils.get_column_letter(idx)
        if col.allowed():
            dv = validations[f"{letter}2"]
            assert dv.type == "list"
            formula = dv.formula1
            if formula.startswith('"'):
                assert formula.strip('"').split(",") == col.allowed()
            else:
                assert LISTS_SHEET in formula
        else:
            assert f"{letter}2" not in validations
    # the instructions list each column, required or not, format and allowed values
    notes = wb[INSTRUCTIONS_SHEET]
    table = [[c.value for c in r] for r in notes.iter_rows()]
    start = next(i for i, r in enumerate(table) if r[0] == "列名")
    assert table[start][:6] == ["列名", "英文字段名", "必填", "格式", "可选值", "说明"]
    listed = table[start + 1 :]
    assert [r[0] for r in listed] == headers
    for r, col in zip(listed, spec.template_columns, strict=True):
        assert r[1] == col.field
        assert r[2] == ("是" if col.required else "否")
        assert r[3] == col.format_zh()
        assert (r[4] or "") == "、".join(col.allowed())


def test_template_formats_protect_codes_periods_and_dates():
    ws = load(template_xlsx(PROGRESS))["月度调度"]
    formats = {c.value: ws.column_dimensions[c.column_letter].number_format for c in ws[1]}
    assert formats["项目编号"] == "@"
    assert formats["调度月份"] == "@"  # so Excel keeps "2024-03" as typed
    assert formats["问题解决时限"] == "yyyy-mm-dd"
    ws = load(template_xlsx(ENTERPRISES))["企业"]
    formats = {c.value: ws.column_dimensions[c.column_letter].number_format for c in ws[1]}
    assert formats["统一社会信用代码"] == "@"


def test_template_has_no_computed_columns_but_export_does():
    template = [c.value for c in load(template_xlsx(PROGRESS))["月度调度"][1]]
    assert "本年累计完成投资（万元）" not in template
    export = [c.value for c in load(xlsx_bytes(PROGRESS, []))["月度调度"][1]]
    assert "本年累计完成投资（万元）" in export


def test_long_drop_down_lists_go_to_a_hidden_sheet():
    choices = [f"选项{i:03d}——较长的说明文字" for i in range(80)]
    spec = list_entry_spec(
        [{"name": "kind", "label": "类别", "type": "choice", "choices": choices}],
        name_zh="测试清单",
    )
    wb = load(template_xlsx(spec))
    lists = wb[LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    assert [c.value for c in lists["A"]][1:] == choices
    dv = next(iter(wb["测试清单"].data_validations.dataValidation))
    assert dv.formula1 == f"'{LISTS_SHEET}'!$A$2:$A$81"
    # and a file filled in from that template imports
    wb["测试清单"].append([1, "条目", choices[42], None])
    buf = io.BytesIO()
    wb.save(buf)
    assert parse_all(spec, buf.getvalue())[0]["attributes"] == {"kind": choices[42]}


@pytest.mark.parametrize("name", list(SPECS))
def test_csv_template_is_utf8_with_bom_and_reads_back(name):
    spec = SPECS[name]
    data = template_csv(spec)
    assert data.startswith(codecs.BOM_UTF8)
    text = data.decode("utf-8-sig")
    assert text == ",".join(c.header for c in spec.template_columns) + "\r\n"
    with spec.open(data) as reader:
        assert reader.encoding == "utf-8-sig"
        assert reader.unknown_headers == []
        assert list(reader) == []


def test_empty_template_reads_as_no_rows():
    with ENTERPRISES.open(template_xlsx(ENTERPRISES)) as reader:
        assert reader.sheet_name == "企业"
        assert list(reader) == []


def test_template_filename():
    assert template_filename(ENTERPRISES, ".xlsx") == "企业导入模板.xlsx"


# ---------------------------------------------------------------- round trips

ENTERPRISE_ROWS = [
    {
        "uscc": USCC_A,
        "name": "示例新材料科技（集团）有限公司",
        "former_names": ["旧名一", "旧名二"],
        "region_code": "370100",
        "size_class": SizeClass.LARGE,
        "ownership": None,
        "listing_status": None,
        "stock_code": "688001",
        "founded_on": dt.date(1998, 2, 28),
        "address": '=HYPERLINK("x")',  # text that looks like a formula stays text
        "note": "第一行\n第二行",
        "figures": {
            "year": 2024,
            "revenue": Decimal("12345678.1234"),
            "employees": 1200,
            "rd_spend": Decimal("0.1"),
        },
    },
    {
        "uscc": USCC_B,
        "name": "-开头的名称",
        "former_names": [],
        "region_code": "510100",
        "size_class": None,
        "ownership": None,
        "listing_status": None,
        "stock_code": None,
        "founded_on": None,
        "address": "+86 路",
        "note": None,
        "figures": {
            "year": 2023,
            "revenue": Decimal("0.0001"),
            "employees": 0,
            "rd_spend": Decimal("9999999999.9999"),
        },
    },
    {
        "uscc": "91370100000000001X".replace("X", "0"),
        "name": "无年度数据企业",
        "former_names": [],
        "region_code": "370100",
        "size_class": None,
        "ownership": None,
        "listing_status": None,
        "stock_code": None,
        "founded_on": None,
        "address": None,
        "note": None,
        "figures": None,
    },
]


def _fix_uscc(rows):
    from chaintrack.identifiers import make_uscc

    rows[2]["uscc"] = make_uscc("91370100000000001")
    return rows


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_enterprises_round_trip_exactly(fmt):
    rows = _fix_uscc([dict(r) for r in ENTERPRISE_ROWS])
    data = xlsx_bytes(ENTERPRISES, rows) if fmt == "xlsx" else csv_bytes(ENTERPRISES, rows)
    back = parse_all(ENTERPRISES, data)
    assert back == rows
    revenue = back[0]["figures"]["revenue"]
    assert str(revenue) == "12345678.1234"
    assert str(back[0]["figures"]["rd_spend"]) == "0.1"


def test_xlsx_export_writes_numbers_as_numbers_and_dates_as_dates():
    rows = _fix_uscc([dict(r) for r in ENTERPRISE_ROWS])
    ws = load(xlsx_bytes(ENTERPRISES, rows))["企业"]
    header = [c.value for c in ws[1]]
    first = dict(zip(header, [c for c in ws[2]], strict=True))
    assert first["营业收入（万元）"].data_type == "n"
    assert first["营业收入（万元）"].value == pytest.approx(12345678.1234)
    assert first["研发投入（万元）"].value == 0.1
    assert first["从业人员（人）"].value == 1200
    assert first["成立日期"].is_date
    assert first["成立日期"].number_format == "yyyy-mm-dd"
    assert first["企业规模"].value == "大型"
    assert first["曾用名"].value == "旧名一；旧名二"
    assert first["地址"].data_type == "s"  # never a formula


def test_csv_export_guards_formula_text():
    rows = _fix_uscc([dict(r) for r in ENTERPRISE_ROWS])
    text = csv_bytes(ENTERPRISES, rows).decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert ",'-开头的名称," in text
    assert ",'+86 路," in text


def test_decimals_beyond_excel_precision_are_kept_exactly_as_text():
    rows = [
        {
            "uscc": USCC_A,
            "name": "甲",
            "region_code": "370100",
            "figures": {"year": 2024, "revenue": Decimal("1234567890123456.1234")},
        }
    ]
    ws = load(xlsx_bytes(ENTERPRISES, rows))["企业"]
    header = [c.value for c in ws[1]]
    cell = ws.cell(2, header.index("营业收入（万元）") + 1)
    assert cell.data_type == "s"
    back = parse_all(ENTERPRISES, xlsx_bytes(ENTERPRISES, rows))
    assert back[0]["figures"]["revenue"] == Decimal("1234567890123456.1234")


def test_designations_memberships_projects_round_trip():
    designation = {
        "uscc": USCC_A,
        "enterprise_name": "甲",
        "tier": Tier.LITTLE_GIANT,
        "level": Level.NATIONAL,
        "batch": "第五批",
        "product": None,
        "issuer": "工业和信息化部",
        "recognised_on": dt.date(2023, 7, 1),
        "valid_until": dt.date(2026, 6, 30),
        "revoked_on": None,
        "revoke_reason": None,
    }
    membership = {
        "chain_code": "HI-EQ",
        "uscc": USCC_B,
        "enterprise_name": "乙",
        "node_code": "N-01",
        "role": MembershipRole.CHAIN_MASTER,
        "started_on": dt.date(2024, 1, 1),
        "ended_on": dt.date(2024, 12, 31),
        "end_reason": "迁出",
        "note": None,
    }
    project = {
        "chain_code": "HI-EQ",
        "internal_code": "SD-2024-001",
        "national_code": "2104-370600-04-01-A1B2C3",
        "name": "示例补链项目",
        "type": ProjectType.FILL,
        "owner_uscc": USCC_A,
        "owner_name": "甲",
        "region_code": "370600",
        "location": "烟台",
        "development_zone": None,
        "nature": ProjectNature.EXPANSION,
        "level": None,
        "status": ProjectStatus.SIGNED,
        "goals": "目标",
        "content": "内容\n二期",
        "responsible_leader": None,
        "responsible_unit": "市工信局",
        "contact": "张三 0535-1234567",
        "planned_start": dt.date(2024, 3, 1),
        "planned_completion": dt.date(2025, 12, 31),
        "actual_start": None,
        "actual_completion": None,
        "total_investment": Decimal("50000.5"),
        "annual_plan": {"year": 2024, "planned_investment": Decimal("8000")},
    }
    for spec, value in (
        (DESIGNATIONS, designation),
        (MEMBERSHIPS, membership),
        (PROJECTS, project),
    ):
        for data in (xlsx_bytes(spec, [value]), csv_bytes(spec, [value])):
            assert parse_all(spec, data) == [value], spec.name


def test_progress_round_trip_ignores_computed_columns():
    report = {
        "internal_code": "SD-2024-001",
        "project_name": "示例补链项目",
        "period": "2024-10",
        "investment_month": Decimal("1200.25"),
        "physical_progress_pct": Decimal("35.5"),
        "physical_progress": "主体封顶",
        "next_steps": None,
        "correction_reason": None,
        "problem": {
            "description": "用地指标未落实",
            "responsible_unit": "市自然资源局",
            "responsible_person": None,
            "deadline": dt.date(2024, 12, 31),
        },
    }
    exported = {
        **report,
        "cumulative_year": Decimal("3200"),
        "cumulative_total": Decimal("15800"),
        "annual_plan": Decimal("8000"),
        "pct_of_annual_plan": Decimal("40.00"),
        "total_investment": Decimal("50000"),
        "pct_of_total_investment": Decimal("31.6"),
        "revision": 2,
    }
    for data in (xlsx_bytes(PROGRESS, [exported]), csv_bytes(PROGRESS, [exported])):
        assert parse_all(PROGRESS, data) == [report]
    ws = load(xlsx_bytes(PROGRESS, [exported]))["月度调度"]
    period_cell = ws.cell(2, [c.value for c in ws[1]].index("调度月份") + 1)
    assert period_cell.value == "2024-10" and period_cell.data_type == "s"


def test_list_entries_round_trip_in_storage_form():
    spec = list_entry_spec(
        [
            {"name": "main_products", "label": "主导产品", "type": "text", "required": True},
            {"name": "revenue", "label": "营业收入（万元）", "type": "decimal"},
            {
                "name": "rank",
                "label": "行业地位",
                "type": "choice",
                "choices": ["全国第一", "全国前三"],
            },
            {"name": "since", "label": "入选日期", "type": "date"},
            {"name": "is_key", "label": "是否重点", "type": "boolean"},
            {"name": "year", "label": "目标年份", "type": "integer"},
        ],
        entry_ref="node",
    )
    entry = {
        "position": 3,
        "title": "高端铝材",
        "node_code": "N-7",
        "attributes": {
            "main_products": "铝板带箔",
            "revenue": "1250.5",
            "rank": "全国前三",
            "since": "2024-03-01",
            "is_key": False,
            "year": 2027,
        },
        "note": None,
    }
    for data in (xlsx_bytes(spec, [entry]), csv_bytes(spec, [entry])):
        assert parse_all(spec, data) == [entry]


def test_writer_streams_a_generator_to_a_file(tmp_path):
    def rows():
        for i in range(3000):
            yield {
                "uscc": USCC_A,
                "name": f"企业{i}",
                "region_code": "370100",
                "revenue": Decimal(i) / 4,
                "year": 2024,
            }

    path = tmp_path / "export.xlsx"
    assert write_xlsx(ENTERPRISES, rows(), path) == 3000
    with open_sheet(path, ENTERPRISES.header_map()) as reader:
        parsed = [ENTERPRISES.parse_row(r) for r in reader]
    assert len(parsed) == 3000
    assert parsed[-1].values["figures"]["revenue"] == Decimal("749.75")
    out = io.BytesIO()
    write_csv(ENTERPRISES, rows(), out)
    chunks = list(iter_csv(ENTERPRISES, rows()))
    assert len(chunks) > 2  # streamed in chunks, not one string
    assert b"".join(chunks) == out.getvalue()


def test_an_export_that_fails_midway_is_closed_and_cleaned_up(monkeypatch):
    """A row source that raises mid-export: the error comes through and the write-only
    workbook is discarded: each sheet's XML stream closed in order (left to the garbage
    collector, it raised 'I/O operation on closed file' during fuzzing) and its
    temporary file removed (it used to stay until the process exited)."""
    from openpyxl.worksheet import _writer

    created: list[str] = []
    make = _writer.create_temporary_file

    def recorded(suffix: str = "") -> str:
        created.append(make(suffix))
        return created[-1]

    monkeypatch.setattr(_writer, "create_temporary_file", recorded)

    def rows():
        yield {"uscc": USCC_A, "name": "甲"}
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        write_xlsx(ENTERPRISES, rows(), io.BytesIO())
    assert created  # the data sheet had begun streaming into its temporary file
    assert [path for path in created if os.path.exists(path)] == []
