"""The problem list as an Excel workbook: one sheet, one row per problem."""

from __future__ import annotations

from urllib.parse import quote

from chaintrack.history import OFFICE_TZ
from chaintrack.problems.schemas import ProblemListItem
from chaintrack.reports.render import to_xlsx
from chaintrack.reports.tables import Section

HEADERS = [
    "编号",
    "提出时间",
    "产业链",
    "对象",
    "对象名称",
    "类别",
    "问题",
    "层级",
    "责任单位",
    "责任人",
    "办理时限",
    "状态",
    "是否逾期",
    "办结日期",
    "办结情况",
    "评价",
]

DISPOSITION = (
    "attachment; filename=\"problems.xlsx\"; filename*=UTF-8''" + quote("问题清单") + ".xlsx"
)


def workbook(items: list[ProblemListItem]) -> bytes:
    rows = [
        [
            p.id,
            p.raised_at.astimezone(OFFICE_TZ).date(),
            p.chain_name,
            p.subject.label_zh,
            p.subject_name,
            p.category_label,
            p.description,
            p.level_label,
            p.responsible_unit or "",
            p.responsible_person or "",
            p.deadline,
            p.state_label,
            "是" if p.overdue else "否",
            p.resolved_on,
            p.resolution or "",
            p.satisfaction.label_zh if p.satisfaction else "",
        ]
        for p in items
    ]
    return to_xlsx([Section("problems", "问题清单", HEADERS, rows)])
