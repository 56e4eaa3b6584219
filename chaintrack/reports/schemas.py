"""The JSON shape of the chain status report and the dashboard."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, Field


class ReportMeta(BaseModel):
    period: str = Field(description="Reporting month (YYYY-MM)", examples=["2026-10"])
    state_date: dt.date = Field(description="Memberships, tiers, statuses as of this date")
    as_of: dt.datetime | None = Field(
        description="Progress revisions on record at this instant; null = current revisions"
    )
    generated_at: dt.datetime


class ChainHeader(BaseModel):
    """The report's chain: a chain reference with its group and status."""

    id: int
    code: str
    name_zh: str
    name_en: str
    group_name_zh: str | None = None
    status: str


class LeaderRow(BaseModel):
    role: str
    role_zh: str
    person_name: str
    title: str | None
    organisation: str | None
    start_on: dt.date


class ChainMasterRow(BaseModel):
    """A chain master (链主) of the report's chain, registered since ``since``."""

    enterprise_id: int
    uscc: str
    name: str
    region_code: str
    since: dt.date


class GapAddress(BaseModel):
    kind: str = Field(description="project or list_entry")
    id: int
    label: str
    detail: str | None = None


class GapNode(BaseModel):
    node_id: int
    code: str
    name_zh: str
    stage: str
    assessment: str
    gap_kind: str | None
    addressed_by: list[GapAddress]


class MapCoverage(BaseModel):
    nodes_total: int
    nodes_with_enterprises: int
    strong: int
    weak: int
    missing: int
    unassessed: int
    gaps_total: int
    gaps_addressed: int
    gaps: list[GapNode]
    gaps_unaddressed: list[GapNode]


class CountRow(BaseModel):
    key: str
    label_zh: str
    count: int


class EnterpriseSection(BaseModel):
    total: int = Field(description="Enterprises with a current membership on the chain")
    by_role: list[CountRow]
    by_tier: list[CountRow]
    by_city: list[CountRow]


class TypeStatusRow(BaseModel):
    type: str
    type_zh: str
    status: str
    status_zh: str
    count: int


class Investment(BaseModel):
    """All amounts in 万元; rates in percent (2 places), null when the base is zero."""

    total_planned: Decimal
    year_plan: Decimal
    completed_month: Decimal
    completed_year: Decimal
    completed_since_start: Decimal
    year_completion_pct: Decimal | None
    total_completion_pct: Decimal | None


class ProjectRow(BaseModel):
    project_id: int
    internal_code: str
    name: str
    type: str
    status: str
    planned_start: dt.date | None
    planned_completion: dt.date | None
    reason: str | None = None


class ProblemRow(BaseModel):
    problem_id: int
    project_id: int
    internal_code: str
    project_name: str
    period: str
    description: str
    responsible_unit: str | None
    deadline: dt.date | None
    overdue: bool


class Headline(BaseModel):
    enterprises: int
    nodes_with_enterprises: int
    projects: int
    projects_under_construction: int
    completed_month: Decimal
    completed_year: Decimal
    completed_since_start: Decimal
    open_problems: int


class ChangeRow(BaseModel):
    key: str
    label_zh: str
    current: Decimal
    previous: Decimal
    change: Decimal


class ProjectSection(BaseModel):
    total: int
    by_type_status: list[TypeStatusRow]
    investment: Investment
    behind_schedule: list[ProjectRow]
    not_reported: list[ProjectRow]


class ProblemFigures(BaseModel):
    """The loop's figures over every problem of the chain (on a project, an enterprise or
    the chain itself), as of the report's day."""

    open: int
    overdue: int
    closed_this_month: int = Field(description="Handled (办结) in the month so far")
    average_days_to_close: Decimal | None = Field(
        description="Days from raising to 办结, over the problems closed by the day"
    )
    satisfaction_pct: Decimal | None = Field(
        description="满意 or 基本满意 among the rated problems, in %"
    )


class ProblemSection(BaseModel):
    open: int = Field(description="Open project problems (the items)")
    overdue: int
    items: list[ProblemRow]
    loop: ProblemFigures


class ChainReport(BaseModel):
    meta: ReportMeta
    chain: ChainHeader
    leaders: list[LeaderRow]
    chain_masters: list[ChainMasterRow]
    map: MapCoverage
    enterprises: EnterpriseSection
    projects: ProjectSection
    problems: ProblemSection
    headline: Headline
    previous_period: str
    changes: list[ChangeRow]


class DashboardRow(BaseModel):
    chain_id: int
    code: str
    name_zh: str
    group_name_zh: str | None
    enterprises: int
    chain_masters: int
    nodes_total: int
    strong: int
    weak: int
    missing: int
    gaps_addressed: int
    projects: int
    projects_under_construction: int
    total_planned: Decimal
    year_plan: Decimal
    completed_month: Decimal
    completed_year: Decimal
    completed_since_start: Decimal
    year_completion_pct: Decimal | None
    behind_schedule: int
    not_reported: int
    open_problems: int
    overdue_problems: int
    closed_this_month: int = Field(description="Problems handled (办结) in the month so far")
    average_days_to_close: Decimal | None = Field(
        description="Days from raising to 办结, over the problems closed by the day"
    )
    satisfaction_pct: Decimal | None = Field(
        description="满意 or 基本满意 among the rated problems, in %"
    )


class Dashboard(BaseModel):
    meta: ReportMeta
    rows: list[DashboardRow]
    totals: DashboardRow
