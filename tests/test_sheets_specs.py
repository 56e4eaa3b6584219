"""Column specs: every row parsed to typed values or to all of its errors."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from chaintrack import models
from chaintrack.models.enums import (
    ListingStatus,
    MembershipRole,
    Ownership,
    ProjectLevel,
    ProjectType,
    SizeClass,
    Tier,
)
from chaintrack.sheets.reader import RawRow
from chaintrack.sheets.specs import (
    DESIGNATIONS,
    ENTERPRISES,
    MEMBERSHIPS,
    PROGRESS,
    PROJECTS,
    SPECS,
    ColumnKind,
    get_spec,
    list_entry_spec,
)

USCC_A = "91110000600037341L"
USCC_B = "91512081MA62K0260E"


def row(spec, number=2, **values):
    return spec.parse_row(RawRow(number, values))


# ----------------------------------------------------- names follow the models

MODEL_OF = {
    "enterprises": {"": models.Enterprise, "figures": models.EnterpriseFigures},
    "designations": {"": models.Designation},
    "memberships": {"": models.Membership},
    "projects": {"": models.Project, "annual_plan": models.ProjectAnnualPlan},
    "progress": {"": models.ProgressReport, "problem": models.Problem},
}
# Natural keys and cross-checks that stand for a reference (resolved by the import).
REFERENCE_COLUMNS = {
    "uscc",
    "enterprise_name",
    "chain_code",
    "node_code",
    "owner_uscc",
    "owner_name",
    "project_name",
}


@pytest.mark.parametrize("name", list(MODEL_OF))
def test_field_names_are_the_model_fields(name):
    spec = get_spec(name)
    for col in spec.import_columns:
        path = col.path
        group = path[0] if len(path) == 2 else ""
        attr = path[-1]
        if not group and attr in REFERENCE_COLUMNS:
            continue
        if name == "progress" and attr == "internal_code":
            continue
        model = MODEL_OF[name][group]
        assert hasattr(model, attr), f"{name}: {col.field} → {model.__name__}.{attr}"


def test_every_spec_is_well_formed():
    for spec in SPECS.values():
        headers = [c.header for c in spec.columns]
        assert len(headers) == len(set(headers)), spec.name
        assert set(spec.key) <= {c.field for c in spec.columns}
        for col in spec.columns:
            assert col.format_zh()
            if col.kind is ColumnKind.ENUM:
                assert col.enum is not None and col.allowed()
    with pytest.raises(KeyError, match="known: enterprises"):
        get_spec("nope")


# ------------------------------------------------------------------ enterprises


def test_enterprise_row_with_spreadsheet_quirks():
    parsed = row(
        ENTERPRISES,
        uscc=" ９１１１００００６０００３７３４１ｌ ",
        name="  示例新材料科技（集团）有限公司 ",
        former_names="旧名一；旧名二",
        region_code=370100,
        size_class="大型",
        ownership="private",
        listing_status="科创板",
        founded_on=43957,
        note=None,
        year="2024年",
        revenue="1,234.50",
        employees="１，２００",
        rd_spend=0.1,
    )
    assert parsed.ok, parsed.errors
    assert parsed.values == {
        "uscc": USCC_A,
        "name": "示例新材料科技（集团）有限公司",
        "former_names": ["旧名一", "旧名二"],
        "region_code": "370100",
        "size_class": SizeClass.LARGE,
        "ownership": Ownership.PRIVATE,
        "listing_status": ListingStatus.STAR,
        "stock_code": None,
        "founded_on": dt.date(2020, 5, 6),
        "address": None,
        "note": None,
        "figures": {
            "year": 2024,
            "revenue": Decimal("1234.50"),
            "employees": 1200,
            "rd_spend": Decimal("0.1"),
        },
    }


def test_enterprise_without_figures_has_none():
    parsed = row(ENTERPRISES, uscc=USCC_A, name="甲", region_code="370100")
    assert parsed.ok
    assert parsed.values["figures"] is None
    assert parsed.values["former_names"] == []


def test_every_error_of_a_row_is_reported():
    parsed = row(
        ENTERPRISES,
        number=7,
        uscc="91110000600037341X",
        name="   ",
        region_code="3701",
        size_class="超大型",
        founded_on="2024-02-30",
        revenue="-5",
        employees="12.5",
    )
    assert not parsed.ok
    assert parsed.values == {}
    by_field = {e.field: e for e in parsed.errors}
    assert set(by_field) == {
        "uscc",
        "name",
        "region_code",
        "size_class",
        "founded_on",
        "revenue",
        "employees",
        "year",  # figures without their year: a cross-field error
    }
    assert all(e.row == 7 for e in parsed.errors)
    assert by_field["uscc"].column == "统一社会信用代码"
    assert by_field["uscc"].value == "91110000600037341X"
    assert "第18位校验码" in by_field["uscc"].message
    assert by_field["name"].code == "required"
    assert by_field["revenue"].column == "营业收入（万元）"
    assert "不能小于0" in by_field["revenue"].message
    assert "须填写数据年度" in by_field["year"].message


def test_required_cells_missing_from_the_row():
    parsed = row(ENTERPRISES)
    assert {e.field for e in parsed.errors} == {"uscc", "name", "region_code"}
    assert all("必填" in e.message for e in parsed.errors)


# -------------------------------------------------- designations and memberships


def test_designation_row_and_order_checks():
    ok = row(
        DESIGNATIONS,
        uscc=USCC_A,
        tier="专精特新小巨人企业",
        level="国家级",
        batch=" 第五批 ",
        recognised_on="2023年7月1日",
        valid_until=dt.datetime(2026, 6, 30),
    )
    assert ok.ok, ok.errors
    assert ok.values["tier"] is Tier.LITTLE_GIANT
    assert ok.values["recognised_on"] == dt.date(2023, 7, 1)
    bad = row(
        DESIGNATIONS,
        uscc=USCC_A,
        tier="gazelle",
        level="provincial",
        recognised_on="2023-07-01",
        valid_until="2023-06-30",
        revoke_reason="复核未通过",
    )
    assert {e.field for e in bad.errors} == {"valid_until", "revoked_on"}


def test_membership_row():
    parsed = row(
        MEMBERSHIPS,
        chain_code=" ｈｉ-ｅｑ ",
        uscc=USCC_B,
        role="链主",
        started_on="2024/1/1",
        ended_on="2023/12/31",
    )
    assert [e.field for e in parsed.errors] == ["ended_on"]
    parsed = row(MEMBERSHIPS, uscc=USCC_B, role="链主企业", started_on="20240101")
    assert parsed.ok
    assert parsed.values["role"] is MembershipRole.CHAIN_MASTER
    assert parsed.values["chain_code"] is None


# ---------------------------------------------------------------- projects


def test_project_row_with_annual_plan():
    parsed = row(
        PROJECTS,
        internal_code="sd-2024-001",
        national_code="2104-370600-04-01-A1B2C3",
        name="示例补链项目",
        type="补链",
        owner_uscc=USCC_A,
        region_code="370600",
        level="市级",
        planned_start="2024-03",
        total_investment="50,000万元",
        plan_year=2024,
        planned_investment="8000",
    )
    # a month is not a date: the error names the column
    assert [e.field for e in parsed.errors] == ["planned_start"]
    parsed = row(
        PROJECTS,
        internal_code="sd-2024-001",
        name="示例补链项目",
        type="fill",
        region_code="370600",
        planned_start="2024-03-01",
        planned_completion="2025年12月31日",
        total_investment="50,000万元",
        plan_year=2024,
        planned_investment="8000",
    )
    assert parsed.ok, parsed.errors
    assert parsed.values["internal_code"] == "SD-2024-001"
    assert parsed.values["type"] is ProjectType.FILL
    assert parsed.values["level"] is None
    assert parsed.values["total_investment"] == Decimal("50000")
    assert parsed.values["annual_plan"] == {"year": 2024, "planned_investment": Decimal("8000")}
    county = row(
        PROJECTS,
        internal_code="P-2",
        name="y",
        type="强链",
        region_code="370600",
        total_investment=0,
        level="县级",
    )
    assert county.values["level"] is ProjectLevel.COUNTY


def test_project_plan_needs_both_cells():
    parsed = row(
        PROJECTS,
        internal_code="P-1",
        name="x",
        type="fill",
        region_code="370600",
        total_investment=1,
        planned_investment=5,
    )
    assert [e.field for e in parsed.errors] == ["plan_year"]


# ---------------------------------------------------------------- progress


@pytest.mark.parametrize("period", ["2024年3月", "2024/3", "2024-03", "2024.3", "202403", 45352])
def test_progress_periods(period):
    parsed = row(PROGRESS, internal_code="SD-1", period=period, investment_month="１２００")
    assert parsed.ok, parsed.errors
    assert parsed.values["period"] == "2024-03"
    assert parsed.values["investment_month"] == Decimal("1200")
    assert parsed.values["problem"] is None


def test_progress_problem_group_and_percent():
    parsed = row(
        PROGRESS,
        internal_code="SD-1",
        period="2024-03",
        investment_month=0,
        physical_progress_pct="101%",
        problem_responsible_unit="市自然资源局",
    )
    assert {e.field for e in parsed.errors} == {"physical_progress_pct", "problem"}
    parsed = row(
        PROGRESS,
        internal_code="SD-1",
        period="2024-03",
        investment_month=0,
        physical_progress_pct=35.5,
        problem="用地指标未落实",
        problem_deadline="2024-06-30",
        cumulative_year="ignored",
    )
    assert parsed.ok
    assert parsed.values["physical_progress_pct"] == Decimal("35.5")
    assert parsed.values["problem"] == {
        "description": "用地指标未落实",
        "responsible_unit": None,
        "responsible_person": None,
        "deadline": dt.date(2024, 6, 30),
    }
    assert "cumulative_year" not in parsed.values


# ------------------------------------------------------------- list entries

FIELDS = [
    {"name": "main_products", "label": "主导产品", "type": "text", "required": True},
    {"name": "revenue", "label": "营业收入（万元）", "type": "decimal"},
    {
        "name": "market_position",
        "label": "行业地位",
        "type": "choice",
        "choices": ["全国第一", "全国前三"],
    },
    {"name": "target_year", "label": "目标年份", "type": "integer"},
    {"name": "since", "label": "入选日期", "type": "date"},
    {"name": "is_key", "label": "是否重点", "type": "boolean"},
    {"name": "note", "label": "备注", "type": "text"},  # clashes with the entry's own note
]


def test_list_entry_spec_from_fields():
    spec = list_entry_spec(FIELDS, entry_ref="enterprise", name_zh="龙头骨干企业清单")
    headers = [c.header for c in spec.columns]
    assert headers == [
        "序号",
        "名称",
        "统一社会信用代码",
        "主导产品",
        "营业收入（万元）",
        "行业地位",
        "目标年份",
        "入选日期",
        "是否重点",
        "备注（note）",
        "备注",
    ]
    assert spec.column("market_position").allowed() == ["全国第一", "全国前三"]
    assert spec.required_fields == ["title", "main_products"]
    parsed = row(
        spec,
        title=" 示例企业 ",
        uscc=USCC_A,
        main_products="高端 铝材",
        revenue="1,250.50万元",
        market_position="全国前三",
        target_year="2027",
        since=45352,
        is_key="是",
        **{"attributes.note": "条目属性备注"},
        note="条目备注",
    )
    assert parsed.ok, parsed.errors
    assert parsed.values == {
        "position": None,
        "title": "示例企业",
        "uscc": USCC_A,
        "attributes": {
            "main_products": "高端 铝材",
            "revenue": "1250.50",  # JSON storage form, exact
            "market_position": "全国前三",
            "target_year": 2027,
            "since": "2024-03-01",
            "is_key": True,
            "note": "条目属性备注",
        },
        "note": "条目备注",
    }


def test_list_entry_blank_attributes_are_left_out():
    spec = list_entry_spec(FIELDS, entry_ref="project")
    assert spec.column("project_code").kind is ColumnKind.INTERNAL_CODE
    parsed = row(spec, title="x", main_products="y")
    assert parsed.values["attributes"] == {"main_products": "y"}
    bad = row(spec, title="x", market_position="全球第一", target_year="2027.5")
    assert {e.field for e in bad.errors} == {"main_products", "market_position", "target_year"}


def test_filled_xlsx_through_a_spec_end_to_end():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2024年度链上企业名单"])
    ws.merge_cells("A1:F1")
    ws.append(["产业链代码", "统一社会信用代码", "企业名称", "链上角色", "入链日期", "备注"])
    ws.append(["HI-EQ", USCC_A, "甲", "链主企业", dt.datetime(2024, 1, 5), "  "])
    ws["E3"].number_format = "yyyy-mm-dd"
    ws.append(["HI-EQ", USCC_B.lower(), "乙", "配套", 45352, None])
    ws.append(["HI-EQ", "bad", "丙", "未知", "明天", None])
    for _ in range(5):
        ws.append([None] * 6)
    buf = io.BytesIO()
    wb.save(buf)
    with MEMBERSHIPS.open(buf.getvalue()) as reader:
        parsed = list(MEMBERSHIPS.parse_rows(reader))
    assert [p.row for p in parsed] == [3, 4, 5]
    assert parsed[0].values["started_on"] == dt.date(2024, 1, 5)
    assert parsed[1].values["uscc"] == USCC_B
    assert parsed[1].values["started_on"] == dt.date(2024, 3, 1)
    assert parsed[1].values["role"] is MembershipRole.SUPPORTING
    assert {(e.row, e.column) for e in parsed[2].errors} == {
        (5, "统一社会信用代码"),
        (5, "链上角色"),
        (5, "入链日期"),
    }


def test_number_format_seam_for_percent_cells():
    """RawRow.formats is where a reader that knows a cell's number format puts it: a
    percent column reads a percent-formatted 0.45 as 45 (python-calamine cannot say a
    format, so the reader leaves it None and 0.45 stays 0.45)."""
    values = {"internal_code": "SD-2024-001", "period": "2024-03", "investment_month": 1}
    plain = PROGRESS.parse_row(RawRow(2, {**values, "physical_progress_pct": 0.45}))
    formatted = PROGRESS.parse_row(
        RawRow(2, {**values, "physical_progress_pct": 0.45}, {"physical_progress_pct": "0%"})
    )
    assert plain.values["physical_progress_pct"] == Decimal("0.45")
    assert formatted.ok, formatted.errors
    assert formatted.values["physical_progress_pct"] == Decimal("45")
    text = PROGRESS.parse_row(
        RawRow(2, {**values, "physical_progress_pct": "45%"}, {"physical_progress_pct": "@"})
    )
    assert text.values["physical_progress_pct"] == Decimal("45")
