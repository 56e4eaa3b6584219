"""Request and response shapes for the monthly dispatch (月度调度): reports and problems.

Cumulative figures (本年累计, 开工累计, 占年度计划 %, 占总投资 %) are output-only: the
input models refuse them (``InputModel`` forbids unknown fields), so they can only be
computed from the reports on record.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from chaintrack.common.schemas import InputModel, Money, OutputModel, PercentValue, Period, not_null
from chaintrack.models.enums import (
    ProblemLevel,
    ProblemState,
    ProblemStatus,
    ProblemSubject,
    Satisfaction,
)

Description = Annotated[
    str,
    StringConstraints(min_length=1, max_length=4000),
    Field(description="问题描述 / the problem", examples=["用地指标未落实，影响二期开工"]),
]
ResponsibleUnit = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128),
    Field(description="责任单位 / responsible unit", examples=["市自然资源和规划局"]),
]
ResponsiblePerson = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    Field(description="责任人 / responsible person", examples=["张三"]),
]
Narrative = Annotated[str, StringConstraints(max_length=4000)]

# Output amounts always carry the stored scale: "0.2000" whether read back or just written.
MoneyOut = Annotated[Decimal, AfterValidator(lambda v: v.quantize(Decimal("0.0001")))]
PercentOut = Annotated[Decimal, AfterValidator(lambda v: v.quantize(Decimal("0.01")))]


class ProblemStatusFilter(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


# --- problems ---------------------------------------------------------------------


class ProblemInline(InputModel):
    """A problem raised together with a progress report (存在问题)."""

    description: Description
    responsible_unit: ResponsibleUnit | None = None
    responsible_person: ResponsiblePerson | None = None
    deadline: dt.date | None = Field(
        default=None, description="整改时限 / deadline", examples=["2025-06-30"]
    )


class ProblemCreate(ProblemInline):
    period: Period = Field(description="提出问题的月份 / the month it was raised (YYYY-MM)")
    category: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        default="other", description="问题类别 (GET /problem-categories)", examples=["land"]
    )
    report_id: int | None = Field(
        default=None,
        ge=1,
        le=2_147_483_647,
        description="The progress report it was raised with (same project and period)",
    )


class ProblemUpdate(InputModel):
    """Assign, re-schedule or re-word an open problem (PATCH, fields left out are kept)."""

    description: Description | None = None
    responsible_unit: ResponsibleUnit | None = None
    responsible_person: ResponsiblePerson | None = None
    deadline: dt.date | None = Field(default=None, examples=["2025-06-30"])

    _not_null = not_null("description")


class ProblemResolve(InputModel):
    resolution: Annotated[str, StringConstraints(min_length=1, max_length=4000)] = Field(
        description="解决情况 / how it was resolved", examples=["已取得用地批复"]
    )
    resolved_on: dt.date = Field(
        description="解决日期，不能晚于今天 / date resolved, not in the future",
        examples=["2025-05-20"],
    )


class ProblemOut(OutputModel):
    id: int
    subject: ProblemSubject = Field(description="Raised on a project, an enterprise or a chain")
    chain_id: int
    project_id: int | None
    enterprise_id: int | None
    category: str = Field(description="Category code (problem_categories)", examples=["land"])
    report_id: int | None = Field(description="The report it was raised with, if any")
    period: str = Field(examples=["2025-03"])
    description: str
    responsible_unit: str | None
    responsible_person: str | None
    deadline: dt.date | None
    status: ProblemStatus
    status_label: str = Field(examples=["未解决"])
    state: ProblemState = Field(description="Where it is in the loop (待受理 … 已评价)")
    state_label: str = Field(examples=["待受理"])
    level: ProblemLevel = Field(description="The level holding it now (县 → 市 → 省专班 → 链长)")
    level_label: str = Field(examples=["县级"])
    raised_by: int | None
    raised_at: dt.datetime
    overdue: bool = Field(description="Open and its deadline has passed (逾期未解决)")
    resolution: str | None
    resolved_on: dt.date | None
    satisfaction: Satisfaction | None = Field(description="The raiser's rating, once rated")
    return_reason: str | None
    version: int = Field(description="Also sent as the ETag")
    created_at: dt.datetime
    updated_at: dt.datetime


class ChainProblemOut(ProblemOut):
    project_code: str = Field(description="The project's internal code", examples=["SD-2025-001"])
    project_name: str = Field(examples=["某某补链项目"])


# --- progress reports ---------------------------------------------------------------


class ProgressSubmit(InputModel):
    """A month's report (月度调度). Cumulative figures are computed, never sent."""

    investment_month: Money = Field(
        description="本月完成投资（万元）/ investment completed this month, 万元",
        examples=["1250.50"],
    )
    physical_progress_pct: PercentValue | None = Field(
        default=None, description="形象进度 % (0-100)", examples=["45.5"]
    )
    physical_progress: Narrative | None = Field(
        default=None,
        description="形象进度（文字）/ physical progress, narrative",
        examples=["主体厂房封顶，设备进场安装"],
    )
    next_steps: Narrative | None = Field(
        default=None, description="下一步工作 / next steps", examples=["完成设备调试"]
    )
    correction_reason: Narrative | None = Field(
        default=None,
        description="更正原因：重新报送同一月份时必填 / required when resubmitting a month",
        examples=["财务核对后更正本月投资额"],
    )
    problems: list[ProblemInline] = Field(
        default_factory=list,
        max_length=50,
        description="存在问题：随本次报送登记的问题 / problems raised with this report",
    )


class RevisionOut(OutputModel):
    """One revision of a month's report, as submitted."""

    id: int
    revision: int = Field(examples=[1])
    investment_month: MoneyOut = Field(examples=["1250.5000"])
    physical_progress_pct: PercentOut | None
    physical_progress: str | None
    next_steps: str | None
    correction_reason: str | None
    submitted_at: dt.datetime
    superseded_at: dt.datetime | None = Field(
        description="When a later revision replaced it; null for the one on record"
    )


class ProgressReportOut(RevisionOut):
    """A month's report with the figures computed from the reports on record."""

    project_id: int
    period: str = Field(examples=["2025-03"])
    is_current: bool = Field(description="The revision on record now (not superseded)")
    superseded_revisions: int = Field(
        description="Earlier revisions of this month it replaced (revision - 1)"
    )
    cumulative_year: MoneyOut = Field(
        description="本年累计完成投资（万元）: this month and the earlier months of its year",
        examples=["3200.0000"],
    )
    cumulative_total: MoneyOut = Field(
        description="开工累计完成投资（万元）: every month up to and including this one",
        examples=["15800.0000"],
    )
    annual_plan: MoneyOut | None = Field(
        description="年度计划投资（万元）of the period's year; null when none is set",
        examples=["8000.0000"],
    )
    pct_of_annual_plan: PercentOut | None = Field(
        description="占年度计划 %: cumulative_year / annual_plan; null without a plan",
        examples=["40.00"],
    )
    total_investment: MoneyOut = Field(description="项目总投资（万元）", examples=["50000.0000"])
    pct_of_total_investment: PercentOut | None = Field(
        description="占总投资 %: cumulative_total / total_investment; null when it is 0",
        examples=["31.60"],
    )


class ProgressReportDetail(ProgressReportOut):
    """A month's report with its revision history and the problems raised that month."""

    revisions: list[RevisionOut] = Field(
        description="Every revision on record for the month, oldest first"
    )
    problems: list[ProblemOut] = Field(description="Problems raised for this month")
