"""Synthetic projects with their targets, plans, status history, monthly progress
(with occasional corrections) and problems (synthetic_problems.py) — the bulk of the
synthetic dataset."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from chaintrack.models.enums import ProjectStatus, ProjectType
from chaintrack.seeding.synthetic_problems import ProblemFlow

S = ProjectStatus
CENT = Decimal("0.01")
# Each final status and the path that led to it.
PATHS: dict[S, list[S]] = {
    S.PLANNED: [S.PLANNED],
    S.SIGNED: [S.PLANNED, S.SIGNED],
    S.UNDER_CONSTRUCTION: [S.SIGNED, S.UNDER_CONSTRUCTION],
    S.COMPLETED: [S.SIGNED, S.UNDER_CONSTRUCTION, S.COMPLETED],
    S.SUSPENDED: [S.SIGNED, S.UNDER_CONSTRUCTION, S.SUSPENDED],
}
REPORTING = (S.UNDER_CONSTRUCTION, S.COMPLETED, S.SUSPENDED)


def _pick_status(r: float) -> S:
    for status, limit in (
        (S.UNDER_CONSTRUCTION, 0.80),
        (S.COMPLETED, 0.92),
        (S.SUSPENDED, 0.97),
        (S.SIGNED, 0.99),
    ):
        if r < limit:
            return status
    return S.PLANNED


@dataclass
class ProjectRows:
    """Rows for the project tables, with ids assigned from the given starting points."""

    rng: random.Random
    seed: int
    periods: list[str]
    cities: list[str]
    next_ids: dict[str, int]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    chain_of: dict[int, int] = field(default_factory=dict)  # project -> chain (problems)
    _flow: ProblemFlow | None = None

    def _id(self, table: str) -> int:
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    def _add(self, table: str, row: dict[str, Any]) -> None:
        self.tables.setdefault(table, []).append(row)

    def add_project(self, chain_id: int, nodes: list[int], owners: list[int]) -> None:
        rng = self.rng
        pid = self._id("projects")
        self.chain_of[pid] = chain_id
        total = Decimal(rng.randrange(500_00, 50_000_00)) / 100 * 10
        start_period = self.periods[max(0, rng.randrange(-12, 3))]
        year, month = map(int, start_period.split("-"))
        planned_start = dt.date(year, month, 1)
        planned_completion = planned_start + dt.timedelta(days=365 + rng.randrange(720))
        status = _pick_status(rng.random())
        self._add(
            "projects",
            {
                "id": pid,
                "chain_id": chain_id,
                "internal_code": f"SYN{self.seed}-{pid:06d}",
                "name": f"合成项目{pid:06d}",
                "type": rng.choice(list(ProjectType)),
                "owner_enterprise_id": rng.choice(owners) if owners else None,
                "region_code": rng.choice(self.cities),
                "nature": "new",
                "level": "provincial",
                "planned_start": planned_start,
                "planned_completion": planned_completion,
                "total_investment": total,
                "status": status,
                "version": 1,
                "actual_start": planned_start if status in REPORTING else None,
            },
        )
        if nodes:
            for node in rng.sample(nodes, min(len(nodes), 1 + rng.randrange(2))):
                self._add(
                    "project_targets", {"project_id": pid, "node_id": node, "chain_id": chain_id}
                )
        for plan_year in range(planned_start.year, planned_completion.year + 1):
            self._add(
                "project_annual_plans",
                {
                    "project_id": pid,
                    "year": plan_year,
                    "planned_investment": (total / 3).quantize(CENT),
                },
            )
        self._history(pid, status, planned_start)
        if status in REPORTING:
            self._progress(pid, total, start_period)

    def _history(self, pid: int, status: S, planned_start: dt.date) -> None:
        previous = None
        for k, step in enumerate(PATHS[status]):
            self._add(
                "project_status_changes",
                {
                    "id": self._id("project_status_changes"),
                    "project_id": pid,
                    "from_status": previous,
                    "to_status": step,
                    "changed_on": planned_start + dt.timedelta(days=90 * (k - 1)),
                    "recorded_at": dt.datetime(2019, 1, 1, tzinfo=dt.UTC),
                },
            )
            previous = step

    def _progress(self, pid: int, total: Decimal, start_period: str) -> None:
        rng = self.rng
        monthly = total / 30
        for period in self.periods:
            if period < start_period or rng.random() < 0.01:
                continue  # a month the unit did not report
            year, month = map(int, period.split("-"))
            submitted = dt.datetime(year + month // 12, month % 12 + 1, 8, tzinfo=dt.UTC)
            amount = (monthly * Decimal(rng.randrange(50, 150)) / 100).quantize(CENT)
            revised = rng.random() < 0.02
            report = {
                "project_id": pid,
                "period": period,
                "physical_progress_pct": None,
                "correction_reason": None,
            }
            self._add(
                "progress_reports",
                {
                    **report,
                    "id": self._id("progress_reports"),
                    "revision": 1,
                    "investment_month": amount,
                    "submitted_at": submitted,
                    "superseded_at": submitted + dt.timedelta(days=20) if revised else None,
                },
            )
            if revised:
                self._add(
                    "progress_reports",
                    {
                        **report,
                        "id": self._id("progress_reports"),
                        "revision": 2,
                        "investment_month": amount + Decimal("10.5"),
                        "submitted_at": submitted + dt.timedelta(days=20),
                        "superseded_at": None,
                        "correction_reason": "合成更正",
                    },
                )
            if rng.random() < 0.05:
                self.flow.problem(pid, self.chain_of[pid], period)

    @property
    def flow(self) -> ProblemFlow:
        """The problems' loop (synthetic_problems.py), up to the last day of the periods."""
        if self._flow is None:
            year, month = map(int, self.periods[-1].split("-"))
            horizon = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
            self._flow = ProblemFlow(self.rng, horizon, self._id, self._add)
        return self._flow
