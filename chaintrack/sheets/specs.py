"""The column specs of every importable entity (names from chaintrack/models).

- ``ENTERPRISES`` (with one year's key figures, under ``figures``), ``DESIGNATIONS``,
  ``MEMBERSHIPS``, ``PROJECTS`` (with one annual plan, under ``annual_plan``),
  ``PROGRESS`` (with one problem, under ``problem``; computed figures are export-only);
- ``list_entry_spec(list_type.fields, entry_ref=...)`` for the entries of a list type.

Reference columns (``uscc`` of another entity, ``chain_code``, ``node_code``,
``owner_uscc``, project ``internal_code`` in progress) carry natural keys; the import
service resolves them. Name columns next to them (``enterprise_name``, ``owner_name``,
``project_name``) are for the clerk's eye and may be cross-checked.
"""

from __future__ import annotations

from decimal import Decimal

from chaintrack.models.enums import (
    Level,
    ListingStatus,
    MembershipRole,
    Ownership,
    ProjectLevel,
    ProjectNature,
    ProjectStatus,
    ProjectType,
    SizeClass,
    Tier,
)
from chaintrack.sheets.columns import Column
from chaintrack.sheets.kinds import TEXT_FORMATTED, ColumnKind
from chaintrack.sheets.list_specs import list_entry_spec
from chaintrack.sheets.sheetspec import ParsedRow, RowError, SheetSpec
from chaintrack.sheets.spec_helpers import ZERO, date, enum, money, needs, note, order, text

__all__ = [
    "DESIGNATIONS",
    "ENTERPRISES",
    "MEMBERSHIPS",
    "PROGRESS",
    "PROJECTS",
    "SPECS",
    "TEXT_FORMATTED",
    "Column",
    "ColumnKind",
    "ParsedRow",
    "RowError",
    "SheetSpec",
    "get_spec",
    "list_entry_spec",
]


USCC_HELP = "18位统一社会信用代码，用作企业的唯一标识"
NAME_CHECK_HELP = "仅供核对，导入时以统一社会信用代码为准"
CHAIN_HELP = "产业链代码；在某条产业链下导入时可不填，填写时须与该链一致"

# -------------------------------------------------------------------- the specs

ENTERPRISES = SheetSpec(
    name="enterprises",
    title_zh="企业",
    title_en="Enterprises",
    key=("uscc",),
    columns=(
        Column(
            "uscc",
            "统一社会信用代码",
            ColumnKind.USCC,
            required=True,
            help=USCC_HELP,
            aliases=("信用代码", "社会信用代码"),
            example="91110000600037341L",
        ),
        text("name", "企业名称", 200, required=True, example="示例新材料科技有限公司"),
        Column(
            "former_names",
            "曾用名",
            ColumnKind.TEXT_LIST,
            max_length=200,
            help="多个曾用名用“；”分隔",
        ),
        Column(
            "region_code",
            "所在地区代码",
            ColumnKind.REGION,
            required=True,
            aliases=("行政区划代码", "地区代码"),
            example="370100",
            help="企业所在地的6位行政区划代码（GB/T 2260），如370100济南市",
        ),
        enum("size_class", "企业规模", SizeClass),
        enum("ownership", "所有制类型", Ownership, aliases=("企业性质",)),
        enum("listing_status", "上市情况", ListingStatus, help="不填视为未上市"),
        text("stock_code", "股票代码", 16),
        date("founded_on", "成立日期"),
        text("address", "地址", 300),
        note("note", "备注"),
        Column(
            "year",
            "数据年度",
            ColumnKind.YEAR,
            target="figures.year",
            aliases=("年度",),
            help="下列营业收入、从业人员、研发投入所属的年度",
        ),
        money("revenue", "营业收入（万元）", target="figures.revenue"),
        Column(
            "employees",
            "从业人员（人）",
            ColumnKind.INTEGER,
            target="figures.employees",
            min_value=0,
            unit="人",
            aliases=("从业人数", "员工人数"),
        ),
        money(
            "rd_spend", "研发投入（万元）", target="figures.rd_spend", aliases=("研发经费（万元）",)
        ),
    ),
    notes=(
        "每行一家企业；统一社会信用代码已存在时更新该企业，不存在时新增。",
        "营业收入等年度数据需同时填写“数据年度”。",
    ),
    checks=(
        needs(
            ("revenue", "employees", "rd_spend"),
            "year",
            "填写了营业收入、从业人员或研发投入时，须填写数据年度",
        ),
    ),
)

DESIGNATIONS = SheetSpec(
    name="designations",
    title_zh="梯度培育认定",
    title_en="Designations",
    key=("uscc", "tier", "level", "recognised_on"),
    columns=(
        Column(
            "uscc",
            "统一社会信用代码",
            ColumnKind.USCC,
            required=True,
            help=USCC_HELP,
            aliases=("信用代码",),
        ),
        text("enterprise_name", "企业名称", 200, help=NAME_CHECK_HELP),
        enum("tier", "培育层级", Tier, required=True, aliases=("认定类型", "梯度层级")),
        enum("level", "认定级别", Level, required=True, aliases=("级别",)),
        text("batch", "批次", 64, help="如“第五批”"),
        text("product", "单项冠军产品", 200, help="单项冠军产品认定时填写产品名称"),
        text("issuer", "认定机关", 128),
        date("recognised_on", "认定日期", required=True),
        date("valid_until", "有效期至"),
        date("revoked_on", "撤销日期", help="称号被撤销或复核未通过时填写"),
        note("revoke_reason", "撤销原因"),
    ),
    checks=(
        order("recognised_on", "valid_until", "有效期至不能早于认定日期"),
        order("recognised_on", "revoked_on", "撤销日期不能早于认定日期"),
        needs(("revoke_reason",), "revoked_on", "填写了撤销原因时须填写撤销日期"),
    ),
)

MEMBERSHIPS = SheetSpec(
    name="memberships",
    title_zh="链上企业",
    title_en="Chain memberships",
    key=("chain_code", "uscc", "role"),
    columns=(
        Column("chain_code", "产业链代码", ColumnKind.CODE, help=CHAIN_HELP, max_length=32),
        Column(
            "uscc",
            "统一社会信用代码",
            ColumnKind.USCC,
            required=True,
            help=USCC_HELP,
            aliases=("信用代码",),
        ),
        text("enterprise_name", "企业名称", 200, help=NAME_CHECK_HELP),
        Column(
            "node_code",
            "图谱节点代码",
            ColumnKind.CODE,
            max_length=32,
            aliases=("环节代码", "节点代码"),
            help="企业所在的图谱环节（节点）代码，可不填",
        ),
        enum("role", "链上角色", MembershipRole, required=True, aliases=("角色", "企业类型")),
        date("started_on", "入链日期", required=True, aliases=("开始日期",)),
        date("ended_on", "退出日期", aliases=("结束日期",)),
        note("end_reason", "退出原因"),
        note("note", "备注"),
    ),
    checks=(
        order("started_on", "ended_on", "退出日期不能早于入链日期"),
        needs(("end_reason",), "ended_on", "填写了退出原因时须填写退出日期"),
    ),
)

PROJECTS = SheetSpec(
    name="projects",
    title_zh="建链项目",
    title_en="Projects",
    key=("internal_code",),
    columns=(
        Column("chain_code", "产业链代码", ColumnKind.CODE, help=CHAIN_HELP, max_length=32),
        Column(
            "internal_code",
            "项目编号",
            ColumnKind.INTERNAL_CODE,
            required=True,
            aliases=("内部编号", "项目代码"),
            help="本单位的项目编号，用作项目的唯一标识",
        ),
        Column(
            "national_code",
            "国家项目代码",
            ColumnKind.NATIONAL_CODE,
            help="全国投资项目在线审批监管平台赋予的24位代码，没有可不填",
        ),
        text("name", "项目名称", 200, required=True),
        enum("type", "项目类型", ProjectType, required=True, help="建链、补链、延链或强链"),
        Column(
            "owner_uscc",
            "业主单位信用代码",
            ColumnKind.USCC,
            aliases=("业主企业统一社会信用代码",),
            help="项目业主企业的统一社会信用代码",
        ),
        text("owner_name", "业主单位", 200, help=NAME_CHECK_HELP),
        Column(
            "region_code",
            "所在地区代码",
            ColumnKind.REGION,
            required=True,
            aliases=("行政区划代码", "地区代码"),
            help="6位行政区划代码，如370600烟台市",
        ),
        text("location", "建设地点", 200),
        text("development_zone", "所在园区", 128, aliases=("开发区",)),
        enum("nature", "建设性质", ProjectNature, help="不填视为新建"),
        enum("level", "项目级别", ProjectLevel, help="不填视为省级"),
        enum(
            "status",
            "项目状态",
            ProjectStatus,
            help="仅新增项目时作为初始状态；已有项目的状态变化请通过状态流转办理",
        ),
        note("goals", "建设目标"),
        note("content", "建设规模及内容", aliases=("建设内容",)),
        text("responsible_leader", "挂点领导", 64),
        text("responsible_unit", "责任单位", 128),
        text("contact", "联系人及电话", 128, aliases=("联系人",)),
        date("planned_start", "计划开工日期", aliases=("计划开工时间",)),
        date("planned_completion", "计划竣工日期", aliases=("计划竣工时间",)),
        date("actual_start", "实际开工日期"),
        date("actual_completion", "实际竣工日期"),
        money("total_investment", "总投资（万元）", required=True, aliases=("计划总投资（万元）",)),
        Column(
            "plan_year",
            "计划年度",
            ColumnKind.YEAR,
            target="annual_plan.year",
            min_value=2000,
            help="下列年度计划投资所属年度",
        ),
        money(
            "planned_investment", "年度计划投资（万元）", target="annual_plan.planned_investment"
        ),
    ),
    notes=("每行一个项目；项目编号已存在时更新该项目，不存在时新增。",),
    checks=(
        order("planned_start", "planned_completion", "计划竣工日期不能早于计划开工日期"),
        order("actual_start", "actual_completion", "实际竣工日期不能早于实际开工日期"),
        needs(("planned_investment",), "plan_year", "填写了年度计划投资时须填写计划年度"),
        needs(("plan_year",), "planned_investment", "填写了计划年度时须填写年度计划投资"),
    ),
)

PROGRESS = SheetSpec(
    name="progress",
    title_zh="月度调度",
    title_en="Monthly progress",
    key=("internal_code", "period"),
    columns=(
        Column(
            "internal_code",
            "项目编号",
            ColumnKind.INTERNAL_CODE,
            required=True,
            aliases=("内部编号", "项目代码"),
        ),
        text("project_name", "项目名称", 200, help="仅供核对，导入时以项目编号为准"),
        Column(
            "period",
            "调度月份",
            ColumnKind.PERIOD,
            required=True,
            aliases=("月份", "年月", "报告期"),
        ),
        money(
            "investment_month",
            "本月完成投资（万元）",
            required=True,
            aliases=("当月完成投资（万元）",),
        ),
        Column(
            "physical_progress_pct",
            "形象进度（%）",
            ColumnKind.PERCENT,
            scale=2,
            min_value=ZERO,
            max_value=Decimal(100),
            unit="%",
        ),
        note("physical_progress", "形象进度", aliases=("形象进度说明",)),
        note("next_steps", "下步计划", aliases=("下一步工作计划",)),
        note("correction_reason", "更正原因", help="更正已报送月份的数据时填写"),
        note(
            "problem",
            "存在问题",
            target="problem.description",
            help="本月遇到的问题，一行只填一个问题",
        ),
        text("problem_responsible_unit", "问题责任单位", 128, target="problem.responsible_unit"),
        text("problem_responsible_person", "问题责任人", 64, target="problem.responsible_person"),
        date("problem_deadline", "问题解决时限", target="problem.deadline"),
        # Computed on export; recognised and ignored on import.
        money("cumulative_year", "本年累计完成投资（万元）", export_only=True),
        money("cumulative_total", "开工累计完成投资（万元）", export_only=True),
        money("annual_plan", "年度计划投资（万元）", export_only=True),
        Column(
            "pct_of_annual_plan", "占年度计划（%）", ColumnKind.PERCENT, scale=2, export_only=True
        ),
        money("total_investment", "总投资（万元）", export_only=True),
        Column(
            "pct_of_total_investment",
            "占总投资（%）",
            ColumnKind.PERCENT,
            scale=2,
            export_only=True,
        ),
        Column("revision", "修订次数", ColumnKind.INTEGER, export_only=True),
    ),
    notes=(
        "每行一个项目一个月份；已报送的月份再次导入且数据不同时，记为一次更正（原数据保留）。",
        "累计数由系统计算，导入时不读取。",
    ),
    checks=(
        needs(
            ("problem_responsible_unit", "problem_responsible_person", "problem_deadline"),
            "problem",
            "填写了问题责任单位、责任人或时限时须填写存在问题",
        ),
    ),
)

SPECS: dict[str, SheetSpec] = {
    s.name: s for s in (ENTERPRISES, DESIGNATIONS, MEMBERSHIPS, PROJECTS, PROGRESS)
}


def get_spec(name: str) -> SheetSpec:
    """A fixed spec by name: enterprises, designations, memberships, projects, progress."""
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"no sheet spec {name!r}; known: {', '.join(SPECS)}") from None
