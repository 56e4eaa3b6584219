"""The chain status report: a fixed number of aggregate queries, scoped to one chain.

Every query filters on the chain first, so the cost follows the chain's own
size, not the size of the register. The statements themselves are built once
(chain_queries.py); a request binds its chain and dates.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Result
from sqlalchemy.orm import Session

from chaintrack.common.numbers import percent
from chaintrack.errors import not_found
from chaintrack.models.enums import (
    Assessment,
    LeaderRole,
    MembershipRole,
    ProjectStatus,
    ProjectType,
    Tier,
)
from chaintrack.projects.lifecycle import behind_schedule_reason
from chaintrack.reports import schemas as s
from chaintrack.reports.chain_queries import chain_statements
from chaintrack.reports.sql import ZERO
from chaintrack.reports.window import Window


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class ChainReportBuilder:
    def __init__(self, session: Session, chain_id: int, window: Window) -> None:
        # Core execution on the session's connection: the report selects columns
        # and aggregates, never entities, so the ORM layer would only add overhead.
        self.db = session.connection()
        self.w = window
        self.prev = window.previous()
        self.q = chain_statements(window.cutoff is not None)
        self.params: dict[str, Any] = {
            "chain": chain_id,
            "day": window.day,
            "prev_day": self.prev.day,
            "month": _month(window.day),
            "prev_month": _month(self.prev.day),
            "period": window.period,
            "prev_period": self.prev.period,
            "year_start": window.year_start,
            "prev_year_start": self.prev.year_start,
            "year": window.year,
            "cutoff": window.cutoff,
        }
        self.chain_id = chain_id

    def _run(self, stmt: Any) -> Result[Any]:
        return self.db.execute(stmt, self.params)

    # -- chain and people ------------------------------------------------------
    def chain(self) -> s.ChainRef:
        row = self._run(self.q.chain).first()
        if row is None:
            raise not_found("chain", self.chain_id)
        cid, code, name_zh, name_en, group_name, status = row
        return s.ChainRef(
            id=cid,
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            group_name_zh=group_name,
            status=status,
        )

    def leaders(self) -> list[s.LeaderRow]:
        return [
            s.LeaderRow(
                role=role,
                role_zh=LeaderRole(role).label_zh,
                person_name=name,
                title=title,
                organisation=org,
                start_on=start,
            )
            for role, name, title, org, start in self._run(self.q.leaders)
        ]

    def chain_masters(self) -> list[s.EnterpriseRef]:
        return [
            s.EnterpriseRef(enterprise_id=i, uscc=u, name=n, region_code=r, since=d)
            for i, u, n, r, d in self._run(self.q.masters)
        ]

    # -- the map ---------------------------------------------------------------
    def map_coverage(self) -> s.MapCoverage:
        by_assessment: dict[str | None, int] = {
            a: n for a, n in self._run(self.q.nodes_by_assessment)
        }
        with_enterprises = self._run(self.q.nodes_with_enterprises).scalar() or 0
        # Plain dicts for the many rows: pydantic validates them in one pass when the
        # section model is built, far cheaper than a model per row.
        addressed: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for node_id, pid, code, name, status in self._run(self.q.gap_projects):
            addressed[node_id].append(
                dict(kind="project", id=pid, label=f"{code} {name}", detail=status)
            )
        for node_id, entry_id, title, type_name, period in self._run(self.q.gap_entries):
            addressed[node_id].append(
                dict(kind="list_entry", id=entry_id, label=title, detail=f"{type_name}（{period}）")
            )
        gaps = [
            dict(
                node_id=nid,
                code=code,
                name_zh=name,
                stage=stage,
                assessment=assessment or "",
                gap_kind=gap_kind,
                addressed_by=addressed.get(nid, []),
            )
            for nid, code, name, stage, assessment, gap_kind in self._run(self.q.gap_nodes)
        ]
        return s.MapCoverage(
            nodes_total=sum(by_assessment.values()),
            nodes_with_enterprises=with_enterprises,
            strong=by_assessment.get(Assessment.STRONG, 0),
            weak=by_assessment.get(Assessment.WEAK, 0),
            missing=by_assessment.get(Assessment.MISSING, 0),
            unassessed=by_assessment.get(None, 0),
            gaps_total=len(gaps),
            gaps_addressed=sum(1 for g in gaps if g["addressed_by"]),
            gaps=gaps,
            gaps_unaddressed=[g for g in gaps if not g["addressed_by"]],
        )

    # -- enterprises -------------------------------------------------------------
    def enterprises(self) -> tuple[s.EnterpriseSection, int]:
        """The section, and the count of enterprises at the previous period's date."""
        roles = {role: n for role, n, _ in self._run(self.q.members_by_role)}
        total_now, total_prev = self._run(self.q.member_totals).one()
        tiers: dict[str, int] = {t: n for t, n in self._run(self.q.tiers)}
        cities = self._run(self.q.cities).all()
        section = s.EnterpriseSection(
            total=total_now or 0,
            by_role=[
                s.CountRow(key=r.value, label_zh=r.label_zh, count=roles.get(r, 0))
                for r in MembershipRole
            ],
            by_tier=[
                s.CountRow(key=t.value, label_zh=t.label_zh, count=tiers.get(t, 0)) for t in Tier
            ],
            by_city=[
                s.CountRow(key=f"{c}00", label_zh=name or f"{c}00", count=n)
                for c, n, name in cities
            ],
        )
        return section, total_prev or 0

    # -- projects and investment ---------------------------------------------
    def projects(self) -> tuple[s.ProjectSection, dict[str, Decimal], dict[str, int]]:
        rows = self._run(self.q.projects).all()
        prev_status: dict[str, int] = {st: n for st, n in self._run(self.q.prev_statuses)}
        year_plan = self._run(self.q.year_plan).scalar() or ZERO
        figures = self.investment_sums()
        reported = set(self._run(self.q.reported).scalars())
        counts: dict[tuple[str, str], int] = defaultdict(int)
        behind: list[dict[str, Any]] = []
        silent: list[dict[str, Any]] = []
        total_planned = ZERO
        for pid, code, name, ptype, status, start, end, total in rows:
            counts[(ptype, status)] += 1
            if status != ProjectStatus.CANCELLED:
                total_planned += total
            reason = behind_schedule_reason(status, start, end, self.w.day)
            silent_now = status == ProjectStatus.UNDER_CONSTRUCTION and pid not in reported
            if reason or silent_now:
                # Trusted rows straight from the database: construct without re-validating.
                row = dict(
                    project_id=pid,
                    internal_code=code,
                    name=name,
                    type=ptype,
                    status=status,
                    planned_start=start,
                    planned_completion=end,
                    reason=reason,
                )
                if reason:
                    behind.append(row)
                if silent_now:
                    silent.append({**row, "reason": None})
        investment = s.Investment(
            total_planned=total_planned,
            year_plan=year_plan,
            completed_month=figures["month"],
            completed_year=figures["year"],
            completed_since_start=figures["total"],
            year_completion_pct=percent(figures["year"], year_plan),
            total_completion_pct=percent(figures["total"], total_planned),
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
        row = self._run(self.q.investment).one()
        keys = ("month", "year", "total", "prev_month", "prev_year", "prev_total")
        return {k: v if v is not None else ZERO for k, v in zip(keys, row, strict=True)}

    # -- problems --------------------------------------------------------------
    def problems(self) -> tuple[s.ProblemSection, int]:
        rows = self._run(self.q.problems).all()
        items = [
            dict(
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
            open=len(items), overdue=sum(1 for i in items if i["overdue"]), items=items
        )
        return section, prev_open

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


def build_chain_report(
    session: Session, chain_id: int, window: Window, generated_at: dt.datetime
) -> s.ChainReport:
    return ChainReportBuilder(session, chain_id, window).build(generated_at)
