"""Reports as tables: the sections that CSV and Excel outputs are written from.

Each section has Chinese headers carrying their units; values stay typed
(int, Decimal, date) so Excel receives numbers, not text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaintrack.models.enums import Assessment, ProjectStatus, ProjectType, Stage
from chaintrack.reports import schemas as s


@dataclass
class Section:
    key: str
    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def _zh(enum: type[Any], value: str | None) -> str:
    if not value:
        return ""
    try:
        return str(enum(value).label_zh)
    except ValueError:
        return value


def _overview(r: s.ChainReport) -> Section:
    return Section(
        "overview",
        "概况",
        ["指标", "本期", "上期", "变化"],
        [
            ["产业链", f"{r.chain.name_zh}（{r.chain.code}）", "", ""],
            ["报告期", r.meta.period, r.previous_period, ""],
            ["状态日期", r.meta.state_date, "", ""],
            *[[c.label_zh, c.current, c.previous, c.change] for c in r.changes],
        ],
    )


def _people(r: s.ChainReport) -> list[Section]:
    leaders = Section(
        "leaders",
        "链长",
        ["职务", "姓名", "职务名称", "单位", "任职起始"],
        [
            [x.role_zh, x.person_name, x.title or "", x.organisation or "", x.start_on]
            for x in r.leaders
        ],
    )
    masters = Section(
        "chain_masters",
        "链主企业",
        ["统一社会信用代码", "企业名称", "行政区划", "起始日期"],
        [[m.uscc, m.name, m.region_code, m.since] for m in r.chain_masters],
    )
    return [leaders, masters]


def _map(m: s.MapCoverage) -> list[Section]:
    coverage = Section(
        "map",
        "图谱覆盖",
        ["指标", "数量（个）"],
        [
            ["节点总数", m.nodes_total],
            ["有企业入驻的节点", m.nodes_with_enterprises],
            ["强链节点", m.strong],
            ["弱链节点", m.weak],
            ["缺链节点", m.missing],
            ["未评估节点", m.unassessed],
            ["缺口节点", m.gaps_total],
            ["已有项目或清单跟进的缺口", m.gaps_addressed],
        ],
    )
    gaps = Section(
        "gaps",
        "缺口环节",
        ["节点编码", "节点名称", "环节", "评估", "缺口类型", "跟进项目/清单"],
        [
            [
                g.code,
                g.name_zh,
                _zh(Stage, g.stage),
                _zh(Assessment, g.assessment),
                g.gap_kind or "",
                "；".join(a.label for a in g.addressed_by) or "无人跟进",
            ]
            for g in m.gaps
        ],
    )
    return [coverage, gaps]


def _enterprises(e: s.EnterpriseSection) -> Section:
    return Section(
        "enterprises",
        "链上企业",
        ["分类", "类别", "企业数（家）"],
        [
            *[["按角色", c.label_zh, c.count] for c in e.by_role],
            *[["按梯度", c.label_zh, c.count] for c in e.by_tier],
            *[["按城市", c.label_zh, c.count] for c in e.by_city],
            ["合计", "链上企业", e.total],
        ],
    )


PROJECT_HEADERS = ["项目编号", "项目名称", "类型", "状态", "计划开工", "计划竣工", "原因"]


def _project_rows(items: list[s.ProjectRow]) -> list[list[Any]]:
    return [
        [
            p.internal_code,
            p.name,
            _zh(ProjectType, p.type),
            _zh(ProjectStatus, p.status),
            p.planned_start,
            p.planned_completion,
            p.reason or "",
        ]
        for p in items
    ]


def _projects(p: s.ProjectSection) -> list[Section]:
    inv = p.investment
    by_type = Section(
        "projects",
        "项目类型与状态",
        ["项目类型", "项目状态", "项目数（个）"],
        [[x.type_zh, x.status_zh, x.count] for x in p.by_type_status],
    )
    investment = Section(
        "investment",
        "投资完成",
        ["指标", "数值"],
        [
            ["计划总投资（万元）", inv.total_planned],
            ["本年计划投资（万元）", inv.year_plan],
            ["本月完成投资（万元）", inv.completed_month],
            ["本年累计完成投资（万元）", inv.completed_year],
            ["开工以来累计完成投资（万元）", inv.completed_since_start],
            ["本年计划完成率（%）", inv.year_completion_pct],
            ["总投资完成率（%）", inv.total_completion_pct],
        ],
    )
    behind = Section(
        "behind_schedule", "滞后项目", PROJECT_HEADERS, _project_rows(p.behind_schedule)
    )
    silent = Section(
        "not_reported", "本期未报送项目", PROJECT_HEADERS, _project_rows(p.not_reported)
    )
    return [by_type, investment, behind, silent]


def _problems(items: list[s.ProblemRow]) -> Section:
    return Section(
        "problems",
        "未解决问题",
        ["项目编号", "项目名称", "提出月份", "问题", "责任单位", "办结时限", "是否超期"],
        [
            [
                p.internal_code,
                p.project_name,
                p.period,
                p.description,
                p.responsible_unit or "",
                p.deadline,
                "是" if p.overdue else "否",
            ]
            for p in items
        ],
    )


def _problem_figures(f: s.ProblemFigures) -> Section:
    return Section(
        "problem_figures",
        "问题闭环",
        ["指标", "数值"],
        [
            ["未办结问题（个）", f.open],
            ["超期问题（个）", f.overdue],
            ["本月办结（个）", f.closed_this_month],
            ["平均办结用时（天）", f.average_days_to_close],
            ["满意率（%）", f.satisfaction_pct],
        ],
    )


def chain_report_sections(r: s.ChainReport) -> list[Section]:
    return [
        _overview(r),
        *_people(r),
        *_map(r.map),
        _enterprises(r.enterprises),
        *_projects(r.projects),
        _problems(r.problems.items),
        _problem_figures(r.problems.loop),
    ]


DASHBOARD_HEADERS = [
    ("code", "链编码"),
    ("name_zh", "产业链"),
    ("group_name_zh", "类别"),
    ("enterprises", "链上企业（家）"),
    ("chain_masters", "链主企业（家）"),
    ("nodes_total", "图谱节点（个）"),
    ("strong", "强链节点（个）"),
    ("weak", "弱链节点（个）"),
    ("missing", "缺链节点（个）"),
    ("gaps_addressed", "已跟进缺口（个）"),
    ("projects", "项目（个）"),
    ("projects_under_construction", "在建项目（个）"),
    ("total_planned", "计划总投资（万元）"),
    ("year_plan", "本年计划投资（万元）"),
    ("completed_month", "本月完成投资（万元）"),
    ("completed_year", "本年累计完成（万元）"),
    ("completed_since_start", "开工以来累计完成（万元）"),
    ("year_completion_pct", "本年计划完成率（%）"),
    ("behind_schedule", "滞后项目（个）"),
    ("not_reported", "未报送项目（个）"),
    ("open_problems", "未解决问题（个）"),
    ("overdue_problems", "超期问题（个）"),
    ("closed_this_month", "本月办结问题（个）"),
    ("average_days_to_close", "平均办结用时（天）"),
    ("satisfaction_pct", "问题满意率（%）"),
]


def dashboard_sections(d: s.Dashboard) -> list[Section]:
    keys = [k for k, _ in DASHBOARD_HEADERS]
    rows = [[getattr(r, k) for k in keys] for r in [*d.rows, d.totals]]
    return [
        Section(
            "dashboard",
            f"全省产业链总览（{d.meta.period}）",
            [h for _, h in DASHBOARD_HEADERS],
            rows,
        )
    ]
