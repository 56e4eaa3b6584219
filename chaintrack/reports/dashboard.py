"""The province dashboard: one row per chain, each figure one grouped query."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import CompoundSelect, and_, distinct, exists, func, select, union
from sqlalchemy.orm import Session

from chaintrack.common.numbers import percent
from chaintrack.errors import ValidationProblem
from chaintrack.history import (
    membership_current,
    problem_open,
    revision_on_record,
    status_as_of,
)
from chaintrack.models import (
    Chain,
    ChainGroup,
    ListEntry,
    MapNode,
    Membership,
    Problem,
    ProgressReport,
    Project,
    ProjectAnnualPlan,
    ProjectTarget,
)
from chaintrack.models.enums import Assessment, MembershipRole, ProjectStatus
from chaintrack.projects.lifecycle import behind_schedule_condition
from chaintrack.reports import schemas as s
from chaintrack.reports.sql import ZERO, count_where, money_sum
from chaintrack.reports.window import Window

SORT_KEYS = tuple(s.DashboardRow.model_fields)


def _grouped(session: Session, stmt: Any) -> dict[int, tuple[Any, ...]]:
    return {row[0]: tuple(row[1:]) for row in session.execute(stmt).all()}


def build_dashboard(
    session: Session,
    window: Window,
    generated_at: dt.datetime,
    sort: str | None = None,
    group_id: int | None = None,
) -> s.Dashboard:
    day = window.day
    chain_filter = [] if group_id is None else [Chain.group_id == group_id]
    chains = session.execute(
        select(Chain.id, Chain.code, Chain.name_zh, ChainGroup.name_zh)
        .outerjoin(ChainGroup, ChainGroup.id == Chain.group_id)
        .where(*chain_filter)
        .order_by(ChainGroup.position, Chain.code)
    ).all()

    members = _grouped(
        session,
        (
            select(
                Membership.chain_id,
                func.count(distinct(Membership.enterprise_id)),
                count_where(Membership.role == MembershipRole.CHAIN_MASTER),
            )
            .where(membership_current(day))
            .group_by(Membership.chain_id)
        ),
    )
    nodes = _grouped(
        session,
        (
            select(
                MapNode.chain_id,
                func.count(),
                count_where(MapNode.assessment == Assessment.STRONG),
                count_where(MapNode.assessment == Assessment.WEAK),
                count_where(MapNode.assessment == Assessment.MISSING),
            ).group_by(MapNode.chain_id)
        ),
    )
    live = status_as_of(day).subquery()
    # Non-correlated IN (...) so the status subquery is evaluated once, not per node.
    addressing: CompoundSelect = union(
        select(ProjectTarget.node_id)
        .join(live, live.c.project_id == ProjectTarget.project_id)
        .where(live.c.status != ProjectStatus.CANCELLED),
        select(ListEntry.node_id).where(ListEntry.node_id.is_not(None)),
    )
    addressed = _grouped(
        session,
        (
            select(MapNode.chain_id, func.count())
            .where(
                MapNode.assessment.in_((Assessment.WEAK, Assessment.MISSING)),
                MapNode.id.in_(addressing),
            )
            .group_by(MapNode.chain_id)
        ),
    )
    behind = behind_schedule_condition(day, status=live.c.status)
    reported = exists().where(
        ProgressReport.project_id == Project.id,
        ProgressReport.period == window.period,
        revision_on_record(window.cutoff),
    )
    not_cancelled = live.c.status != ProjectStatus.CANCELLED
    projects = _grouped(
        session,
        (
            select(
                Project.chain_id,
                func.count(),
                count_where(live.c.status == ProjectStatus.UNDER_CONSTRUCTION),
                money_sum(Project.total_investment, not_cancelled),
                count_where(behind),
                count_where(and_(live.c.status == ProjectStatus.UNDER_CONSTRUCTION, ~reported)),
            )
            .join(live, live.c.project_id == Project.id)
            .group_by(Project.chain_id)
        ),
    )
    plans = _grouped(
        session,
        (
            select(Project.chain_id, money_sum(ProjectAnnualPlan.planned_investment))
            .join(Project, Project.id == ProjectAnnualPlan.project_id)
            .join(live, live.c.project_id == Project.id)
            .where(ProjectAnnualPlan.year == window.year, not_cancelled)
            .group_by(Project.chain_id)
        ),
    )
    amount = ProgressReport.investment_month
    investment = _grouped(
        session,
        (
            select(
                Project.chain_id,
                money_sum(amount, ProgressReport.period == window.period),
                money_sum(amount, ProgressReport.period >= window.year_start),
                money_sum(amount),
            )
            .join(Project, Project.id == ProgressReport.project_id)
            .where(ProgressReport.period <= window.period, revision_on_record(window.cutoff))
            .group_by(Project.chain_id)
        ),
    )
    problems = _grouped(
        session,
        (
            select(
                Project.chain_id,
                func.count(),
                count_where(and_(Problem.deadline.is_not(None), Problem.deadline < day)),
            )
            .join(Project, Project.id == Problem.project_id)
            .where(problem_open(day))
            .group_by(Project.chain_id)
        ),
    )

    rows = []
    for cid, code, name, group_name in chains:
        m = members.get(cid, (0, 0))
        n = nodes.get(cid, (0, 0, 0, 0))
        p = projects.get(cid, (0, 0, ZERO, 0, 0))
        inv = investment.get(cid, (ZERO, ZERO, ZERO))
        plan = plans.get(cid, (ZERO,))[0]
        prob = problems.get(cid, (0, 0))
        rows.append(
            s.DashboardRow(
                chain_id=cid,
                code=code,
                name_zh=name,
                group_name_zh=group_name,
                enterprises=m[0],
                chain_masters=m[1],
                nodes_total=n[0],
                strong=n[1],
                weak=n[2],
                missing=n[3],
                gaps_addressed=addressed.get(cid, (0,))[0],
                projects=p[0],
                projects_under_construction=p[1],
                total_planned=p[2],
                year_plan=plan,
                completed_month=inv[0],
                completed_year=inv[1],
                completed_since_start=inv[2],
                year_completion_pct=percent(inv[1], plan),
                behind_schedule=p[3],
                not_reported=p[4],
                open_problems=prob[0],
                overdue_problems=prob[1],
            )
        )
    rows = _sorted(rows, sort)
    return s.Dashboard(
        meta=s.ReportMeta(
            period=window.period, state_date=day, as_of=window.cutoff, generated_at=generated_at
        ),
        rows=rows,
        totals=_totals(rows),
    )


def _sorted(rows: list[s.DashboardRow], sort: str | None) -> list[s.DashboardRow]:
    if not sort:
        return rows
    key = sort.lstrip("-+")
    if key not in SORT_KEYS:
        raise ValidationProblem.for_field(
            "sort",
            f"unknown sort key '{key}'; use one of {', '.join(SORT_KEYS)}",
            location="query",
        )
    present = [r for r in rows if getattr(r, key) is not None]
    missing = [r for r in rows if getattr(r, key) is None]
    present.sort(key=lambda r: getattr(r, key), reverse=sort.startswith("-"))
    return present + missing


def _totals(rows: list[s.DashboardRow]) -> s.DashboardRow:
    sums: dict[str, Any] = defaultdict(int)
    for row in rows:
        for name, value in row:
            if isinstance(value, (int, Decimal)) and name != "chain_id":
                sums[name] += value
    fields: dict[str, Any] = {
        name: sums[name]
        for name, f in s.DashboardRow.model_fields.items()
        if f.annotation in (int, Decimal)
    }
    fields.update(chain_id=0, code="TOTAL", name_zh="合计", group_name_zh=None)
    for key in (
        "total_planned",
        "year_plan",
        "completed_month",
        "completed_year",
        "completed_since_start",
    ):
        fields[key] = Decimal(sums[key]) if sums[key] else ZERO
    fields["year_completion_pct"] = percent(fields["completed_year"], fields["year_plan"])
    return s.DashboardRow(**fields)
