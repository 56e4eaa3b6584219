"""The chain status report: a fixed number of aggregate queries, scoped to one chain.

Every query filters on the chain first, so the cost follows the chain's own
size, not the size of the register.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import and_, distinct, func, literal, or_, select
from sqlalchemy.orm import Session

from chaintrack.errors import not_found
from chaintrack.history import (
    CLOSED_STATUSES,
    designation_active,
    leader_current,
    membership_current,
    problem_open,
    revision_on_record,
    status_as_of,
)
from chaintrack.models import (
    Chain,
    ChainGroup,
    ChainLeader,
    ChainList,
    Designation,
    Enterprise,
    ListEntry,
    ListType,
    MapNode,
    Membership,
    Problem,
    ProgressReport,
    Project,
    ProjectAnnualPlan,
    ProjectTarget,
    Region,
)
from chaintrack.models.enums import (
    Assessment,
    LeaderRole,
    MembershipRole,
    ProjectStatus,
    ProjectType,
    Tier,
)
from chaintrack.reports import schemas as s
from chaintrack.reports.sql import ZERO, count_where, money_sum, pct
from chaintrack.reports.window import Window

GAP_ASSESSMENTS = (Assessment.WEAK, Assessment.MISSING)


def city_of(region_code: str) -> str:
    return region_code[:4] + "00"


class ChainReportBuilder:
    def __init__(self, session: Session, chain_id: int, window: Window) -> None:
        self.db = session
        self.chain_id = chain_id
        self.w = window
        self.prev = window.previous()

    # -- chain and people ------------------------------------------------------
    def chain(self) -> s.ChainRef:
        row = self.db.execute(
            select(Chain, ChainGroup.name_zh)
            .outerjoin(ChainGroup, ChainGroup.id == Chain.group_id)
            .where(Chain.id == self.chain_id)
        ).first()
        if row is None:
            raise not_found("chain", self.chain_id)
        chain, group_name = row
        return s.ChainRef(
            id=chain.id,
            code=chain.code,
            name_zh=chain.name_zh,
            name_en=chain.name_en,
            group_name_zh=group_name,
            status=chain.status,
        )

    def leaders(self) -> list[s.LeaderRow]:
        rows = self.db.scalars(
            select(ChainLeader)
            .where(ChainLeader.chain_id == self.chain_id, leader_current(self.w.day))
            .order_by(ChainLeader.role, ChainLeader.start_on)
        )
        return [
            s.LeaderRow(
                role=r.role,
                role_zh=LeaderRole(r.role).label_zh,
                person_name=r.person_name,
                title=r.title,
                organisation=r.organisation,
                start_on=r.start_on,
            )
            for r in rows
        ]

    def chain_masters(self) -> list[s.EnterpriseRef]:
        rows = self.db.execute(
            select(
                Enterprise.id,
                Enterprise.uscc,
                Enterprise.name,
                Enterprise.region_code,
                Membership.started_on,
            )
            .join(Membership, Membership.enterprise_id == Enterprise.id)
            .where(
                Membership.chain_id == self.chain_id,
                Membership.role == MembershipRole.CHAIN_MASTER,
                membership_current(self.w.day),
            )
            .order_by(Enterprise.name)
        )
        return [
            s.EnterpriseRef(enterprise_id=i, uscc=u, name=n, region_code=r, since=d)
            for i, u, n, r, d in rows
        ]

    # -- the map ---------------------------------------------------------------
    def map_coverage(self) -> s.MapCoverage:
        by_assessment: dict[str | None, int] = dict(
            self.db.execute(  # type: ignore[arg-type]
                select(MapNode.assessment, func.count())
                .where(MapNode.chain_id == self.chain_id)
                .group_by(MapNode.assessment)
            ).all()
        )
        with_enterprises = (
            self.db.scalar(
                select(func.count(distinct(Membership.node_id))).where(
                    Membership.chain_id == self.chain_id,
                    Membership.node_id.is_not(None),
                    membership_current(self.w.day),
                )
            )
            or 0
        )
        gap_nodes = self.db.scalars(
            select(MapNode)
            .where(MapNode.chain_id == self.chain_id, MapNode.assessment.in_(GAP_ASSESSMENTS))
            .order_by(MapNode.stage, MapNode.position, MapNode.id)
        ).all()
        addressed: dict[int, list[s.GapAddress]] = defaultdict(list)
        live = status_as_of(self.w.day, self.chain_id).subquery()
        for node_id, pid, code, name, status in self.db.execute(
            select(
                ProjectTarget.node_id,
                Project.id,
                Project.internal_code,
                Project.name,
                live.c.status,
            )
            .join(Project, Project.id == ProjectTarget.project_id)
            .join(live, live.c.project_id == Project.id)
            .join(MapNode, MapNode.id == ProjectTarget.node_id)
            .where(
                ProjectTarget.chain_id == self.chain_id,
                MapNode.assessment.in_(GAP_ASSESSMENTS),
                live.c.status != ProjectStatus.CANCELLED,
            )
            .order_by(Project.internal_code)
        ):
            addressed[node_id].append(
                s.GapAddress(kind="project", id=pid, label=f"{code} {name}", detail=status)
            )
        for node_id, entry_id, title, type_name, period in self.db.execute(
            select(
                ListEntry.node_id, ListEntry.id, ListEntry.title, ListType.name_zh, ChainList.period
            )
            .join(ChainList, ChainList.id == ListEntry.list_id)
            .join(ListType, ListType.id == ChainList.list_type_id)
            .join(MapNode, MapNode.id == ListEntry.node_id)
            .where(
                ListEntry.chain_id == self.chain_id,
                MapNode.assessment.in_(GAP_ASSESSMENTS),
            )
            .order_by(ListEntry.id)
        ):
            addressed[node_id].append(
                s.GapAddress(
                    kind="list_entry", id=entry_id, label=title, detail=f"{type_name}（{period}）"
                )
            )
        gaps = [
            s.GapNode(
                node_id=n.id,
                code=n.code,
                name_zh=n.name_zh,
                stage=n.stage,
                assessment=n.assessment or "",
                gap_kind=n.gap_kind,
                addressed_by=addressed.get(n.id, []),
            )
            for n in gap_nodes
        ]
        return s.MapCoverage(
            nodes_total=sum(by_assessment.values()),
            nodes_with_enterprises=with_enterprises,
            strong=by_assessment.get(Assessment.STRONG, 0),
            weak=by_assessment.get(Assessment.WEAK, 0),
            missing=by_assessment.get(Assessment.MISSING, 0),
            unassessed=by_assessment.get(None, 0),
            gaps_total=len(gaps),
            gaps_addressed=sum(1 for g in gaps if g.addressed_by),
            gaps=gaps,
            gaps_unaddressed=[g for g in gaps if not g.addressed_by],
        )

    # -- enterprises -------------------------------------------------------------
    def enterprises(self) -> tuple[s.EnterpriseSection, int]:
        """The section, and the count of enterprises at the previous period's date."""
        now, prev = membership_current(self.w.day), membership_current(self.prev.day)
        role_rows = self.db.execute(
            select(Membership.role, count_where(now), count_where(prev))
            .where(Membership.chain_id == self.chain_id)
            .group_by(Membership.role)
        ).all()
        totals = self.db.execute(
            select(
                func.count(distinct(Membership.enterprise_id)).filter(now),
                func.count(distinct(Membership.enterprise_id)).filter(prev),
            ).where(Membership.chain_id == self.chain_id)
        ).one()
        members = (
            select(Membership.enterprise_id)
            .where(Membership.chain_id == self.chain_id, now)
            .scalar_subquery()
        )
        tier_rows = self.db.execute(
            select(Designation.tier, func.count(distinct(Designation.enterprise_id)))
            .where(Designation.enterprise_id.in_(members), designation_active(self.w.day))
            .group_by(Designation.tier)
        ).all()
        city = func.substr(Enterprise.region_code, 1, 4)
        city_rows = self.db.execute(
            select(city, func.count(distinct(Enterprise.id)), func.max(Region.name_zh))
            .join(Membership, Membership.enterprise_id == Enterprise.id)
            .outerjoin(Region, Region.code == city + literal("00"))
            .where(Membership.chain_id == self.chain_id, now)
            .group_by(city)
            .order_by(city)
        ).all()
        roles = {r: c for r, c, _ in role_rows}
        tiers: dict[str, int] = {t: n for t, n in tier_rows}
        section = s.EnterpriseSection(
            total=totals[0] or 0,
            by_role=[
                s.CountRow(key=r.value, label_zh=r.label_zh, count=roles.get(r, 0))
                for r in MembershipRole
            ],
            by_tier=[
                s.CountRow(key=t.value, label_zh=t.label_zh, count=tiers.get(t, 0)) for t in Tier
            ],
            by_city=[
                s.CountRow(key=f"{c}00", label_zh=name or f"{c}00", count=n)
                for c, n, name in city_rows
            ],
        )
        return section, totals[1] or 0

    # -- projects and investment ---------------------------------------------
    def projects(self) -> tuple[s.ProjectSection, dict[str, Decimal], dict[str, int]]:
        live = status_as_of(self.w.day, self.chain_id).subquery()
        rows = self.db.execute(
            select(
                Project.id,
                Project.internal_code,
                Project.name,
                Project.type,
                live.c.status,
                Project.planned_start,
                Project.planned_completion,
                Project.total_investment,
            )
            .join(live, live.c.project_id == Project.id)
            .where(Project.chain_id == self.chain_id)
            .order_by(Project.internal_code)
        ).all()
        prev_live = status_as_of(self.prev.day, self.chain_id).subquery()
        prev_status: dict[str, int] = dict(
            self.db.execute(  # type: ignore[arg-type]
                select(prev_live.c.status, func.count()).group_by(prev_live.c.status)
            ).all()
        )
        year_plan = (
            self.db.scalar(
                select(money_sum(ProjectAnnualPlan.planned_investment))
                .join(Project, Project.id == ProjectAnnualPlan.project_id)
                .join(live, live.c.project_id == Project.id)
                .where(
                    Project.chain_id == self.chain_id,
                    ProjectAnnualPlan.year == self.w.year,
                    live.c.status != ProjectStatus.CANCELLED,
                )
            )
            or ZERO
        )
        figures = self.investment_sums()
        reported = set(
            self.db.scalars(
                select(ProgressReport.project_id)
                .join(Project, Project.id == ProgressReport.project_id)
                .where(
                    Project.chain_id == self.chain_id,
                    ProgressReport.period == self.w.period,
                    revision_on_record(self.w.cutoff),
                )
            )
        )
        counts: dict[tuple[str, str], int] = defaultdict(int)
        behind: list[s.ProjectRow] = []
        silent: list[s.ProjectRow] = []
        total_planned = ZERO
        for pid, code, name, ptype, status, start, end, total in rows:
            counts[(ptype, status)] += 1
            if status != ProjectStatus.CANCELLED:
                total_planned += total
            row = s.ProjectRow(
                project_id=pid,
                internal_code=code,
                name=name,
                type=ptype,
                status=status,
                planned_start=start,
                planned_completion=end,
            )
            reason = behind_schedule_reason(status, start, end, self.w.day)
            if reason:
                behind.append(row.model_copy(update={"reason": reason}))
            if status == ProjectStatus.UNDER_CONSTRUCTION and pid not in reported:
                silent.append(row)
        investment = s.Investment(
            total_planned=total_planned,
            year_plan=year_plan,
            completed_month=figures["month"],
            completed_year=figures["year"],
            completed_since_start=figures["total"],
            year_completion_pct=pct(figures["year"], year_plan),
            total_completion_pct=pct(figures["total"], total_planned),
        )
        section = s.ProjectSection(
            total=len(rows),
            by_type_status=[
                s.TypeStatusRow(
                    type=t.value,
                    type_zh=t.label_zh,
                    status=st.value,
                    status_zh=st.label_zh,
                    count=counts[(t.value, st.value)],
                )
                for t in ProjectType
                for st in ProjectStatus
                if counts[(t.value, st.value)]
            ],
            investment=investment,
            behind_schedule=behind,
            not_reported=silent,
        )
        prev_counts = {
            "projects": sum(prev_status.values()),
            "under_construction": prev_status.get(ProjectStatus.UNDER_CONSTRUCTION, 0),
        }
        return section, figures, prev_counts

    def investment_sums(self) -> dict[str, Decimal]:
        """This month / year / since start, for the period and the one before, in one query."""
        p, prev = self.w.period, self.prev.period
        amount = ProgressReport.investment_month
        row = self.db.execute(
            select(
                money_sum(amount, ProgressReport.period == p),
                money_sum(amount, ProgressReport.period >= self.w.year_start),
                money_sum(amount),
                money_sum(amount, ProgressReport.period == prev),
                money_sum(
                    amount,
                    and_(
                        ProgressReport.period >= self.prev.year_start, ProgressReport.period <= prev
                    ),
                ),
                money_sum(amount, ProgressReport.period <= prev),
            )
            .join(Project, Project.id == ProgressReport.project_id)
            .where(
                Project.chain_id == self.chain_id,
                ProgressReport.period <= p,
                revision_on_record(self.w.cutoff),
            )
        ).one()
        keys = ("month", "year", "total", "prev_month", "prev_year", "prev_total")
        return {k: v if v is not None else ZERO for k, v in zip(keys, row, strict=True)}

    # -- problems --------------------------------------------------------------
    def problems(self) -> tuple[s.ProblemSection, int]:
        now, prev = problem_open(self.w.day), problem_open(self.prev.day)
        rows = self.db.execute(
            select(
                Problem.id,
                Project.id,
                Project.internal_code,
                Project.name,
                Problem.period,
                Problem.description,
                Problem.responsible_unit,
                Problem.deadline,
                now,
                prev,
            )
            .join(Project, Project.id == Problem.project_id)
            .where(Project.chain_id == self.chain_id, or_(now, prev))
            .order_by(Problem.deadline, Problem.id)
        ).all()
        items = [
            s.ProblemRow(
                problem_id=pid,
                project_id=prj,
                internal_code=code,
                project_name=name,
                period=period,
                description=desc,
                responsible_unit=unit,
                deadline=deadline,
                overdue=deadline is not None and deadline < self.w.day,
            )
            for pid, prj, code, name, period, desc, unit, deadline, is_now, _ in rows
            if is_now
        ]
        prev_open = sum(1 for r in rows if r[9])
        section = s.ProblemSection(
            open=len(items), overdue=sum(1 for i in items if i.overdue), items=items
        )
        return section, prev_open

    # -- the whole report -----------------------------------------------------
    def build(self, generated_at: dt.datetime) -> s.ChainReport:
        chain = self.chain()
        coverage = self.map_coverage()
        enterprises, prev_enterprises = self.enterprises()
        projects, figures, prev_projects = self.projects()
        problems, prev_open = self.problems()
        headline = s.Headline(
            enterprises=enterprises.total,
            nodes_with_enterprises=coverage.nodes_with_enterprises,
            projects=projects.total,
            projects_under_construction=sum(
                r.count
                for r in projects.by_type_status
                if r.status == ProjectStatus.UNDER_CONSTRUCTION
            ),
            completed_month=figures["month"],
            completed_year=figures["year"],
            completed_since_start=figures["total"],
            open_problems=problems.open,
        )
        previous = {
            "enterprises": Decimal(prev_enterprises),
            "projects": Decimal(prev_projects["projects"]),
            "projects_under_construction": Decimal(prev_projects["under_construction"]),
            "completed_month": figures["prev_month"],
            "completed_year": figures["prev_year"],
            "completed_since_start": figures["prev_total"],
            "open_problems": Decimal(prev_open),
        }
        labels = {
            "enterprises": "链上企业数",
            "projects": "项目数",
            "projects_under_construction": "在建项目数",
            "completed_month": "本月完成投资（万元）",
            "completed_year": "本年累计完成投资（万元）",
            "completed_since_start": "开工以来累计完成投资（万元）",
            "open_problems": "未解决问题数",
        }
        changes = []
        for key, label in labels.items():
            current = Decimal(getattr(headline, key))
            changes.append(
                s.ChangeRow(
                    key=key,
                    label_zh=label,
                    current=current,
                    previous=previous[key],
                    change=current - previous[key],
                )
            )
        return s.ChainReport(
            meta=s.ReportMeta(
                period=self.w.period,
                state_date=self.w.day,
                as_of=self.w.cutoff,
                generated_at=generated_at,
            ),
            chain=chain,
            leaders=self.leaders(),
            chain_masters=self.chain_masters(),
            map=coverage,
            enterprises=enterprises,
            projects=projects,
            problems=problems,
            headline=headline,
            previous_period=self.prev.period,
            changes=changes,
        )


def behind_schedule_reason(
    status: str,
    planned_start: dt.date | None,
    planned_completion: dt.date | None,
    day: dt.date,
) -> str | None:
    """Why a project counts as behind schedule on ``day`` (None when it does not)."""
    if status in CLOSED_STATUSES:
        return None
    if planned_completion is not None and planned_completion < day:
        return f"计划{planned_completion.isoformat()}竣工，尚未竣工 / past planned completion"
    if (
        status in (ProjectStatus.PLANNED, ProjectStatus.SIGNED)
        and planned_start is not None
        and planned_start < day
    ):
        return f"计划{planned_start.isoformat()}开工，尚未开工 / past planned start"
    return None


def build_chain_report(
    session: Session, chain_id: int, window: Window, generated_at: dt.datetime
) -> s.ChainReport:
    return ChainReportBuilder(session, chain_id, window).build(generated_at)
