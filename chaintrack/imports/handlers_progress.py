"""Importing the monthly dispatch (月度调度): one row per project and month.

A month not yet reported becomes revision 1. A month already on record with the same
figures is left alone; with different figures it becomes a new revision (the one on
record gets ``superseded_at``, as PUT /projects/{id}/progress/{period} does) whose
correction reason is the row's, or "导入更正". A row's problem is registered with the
month's report unless the project already has that problem for the month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.imports.bulk import acting_user, insert_rows
from chaintrack.imports.engine import Handler, Plan, failed, row_error, validation_errors
from chaintrack.imports.handlers_common import rule_errors
from chaintrack.imports.resolvers import ChainCodes, batched, in_values, projects_by_code
from chaintrack.imports.schemas import Action
from chaintrack.imports.scope import Scope
from chaintrack.models import Problem, ProgressReport, Project
from chaintrack.models.base import utcnow
from chaintrack.models.enums import ProblemLevel, ProblemState, ProblemStatus, ProblemSubject
from chaintrack.progress.rules import (
    check_deadline,
    check_period_not_future,
    check_takes_reports,
    current_period,
)
from chaintrack.progress.schemas import ProgressSubmit
from chaintrack.progress.service_problems import check_problem_open
from chaintrack.sheets.specs import ParsedRow, RowError, get_spec

IMPORT_CORRECTION = "导入更正"
REPORT_FIELDS = ("investment_month", "physical_progress_pct", "physical_progress", "next_steps")
PROBLEM_FIELDS = ("responsible_unit", "responsible_person", "deadline")
_SCHEMA_FIELDS = {
    "problems": "problem",
    "problems.0.description": "problem",
    "problems.0.responsible_unit": "problem_responsible_unit",
    "problems.0.responsible_person": "problem_responsible_person",
    "problems.0.deadline": "problem_deadline",
}


_ProblemWrite = tuple[Problem | None, dict[str, Any]]  # (problem on record or None, values)


class ProgressHandler(Handler):
    entity = "progress"
    spec = get_spec("progress")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def start(self, session: Session, columns: set[str]) -> None:
        super().start(session, columns)
        self.chains = ChainCodes(session)
        self.now_period = current_period()

    def key(self, values: Mapping[str, Any]) -> Hashable:
        return (values["internal_code"], values["period"])

    def plan(self, session: Session, rows: Sequence[ParsedRow]) -> list[Plan]:
        projects = projects_by_code(session, [r.values["internal_code"] for r in rows])
        pids = {p.id for p in projects.values()}
        periods = {r.values["period"] for r in rows}
        current: dict[tuple[int, str], ProgressReport] = {}
        problems: dict[tuple[int, str], list[Problem]] = {}
        for part in batched(pids):
            for report in session.scalars(
                select(ProgressReport).where(
                    in_values(session, ProgressReport.project_id, part),
                    in_values(session, ProgressReport.period, periods),
                    ProgressReport.superseded_at.is_(None),
                )
            ):
                current[(report.project_id, report.period)] = report
            for problem in session.scalars(
                select(Problem)
                .where(
                    in_values(session, Problem.project_id, part),
                    in_values(session, Problem.period, periods),
                )
                .order_by(Problem.id)
            ):
                problems.setdefault((problem.project_id or 0, problem.period), []).append(problem)
        out = []
        for r in rows:
            project = projects.get(r.values["internal_code"])
            key = (project.id, r.values["period"]) if project else (0, "")
            out.append(self._plan_row(r, project, current.get(key), problems.get(key, [])))
        return out

    def _plan_row(
        self,
        parsed: ParsedRow,
        project: Project | None,
        report: ProgressReport | None,
        problems: list[Problem],
    ) -> Plan:
        v, row, spec = parsed.values, parsed.row, self.spec
        code, period = v["internal_code"], v["period"]
        key = f"{code} {period}"
        if project is None:
            return failed(
                spec,
                row,
                key,
                row_error(
                    spec,
                    row,
                    "internal_code",
                    f"项目编号“{code}”不存在，请先导入或登记项目 / no project has this code",
                    "unknown_reference",
                    code,
                ),
            )
        self.scope.check(project.chain_id, row, f"项目{code}")
        errors = self._row_errors(parsed, project)
        if errors:
            return failed(spec, row, key, *errors)
        changes: list[str] = []
        new_report: dict[str, Any] | None = None
        if report is None:
            new_report = {k: v.get(k) for k in REPORT_FIELDS}
            new_report.update(revision=1, correction_reason=v.get("correction_reason"))
        else:
            figures = {k: (v.get(k) if self.has(k) else getattr(report, k)) for k in REPORT_FIELDS}
            diff = [k for k, val in figures.items() if getattr(report, k) != val]
            if diff:
                changes.extend(diff)
                new_report = dict(figures)
                new_report.update(
                    revision=report.revision + 1,
                    correction_reason=v.get("correction_reason") or IMPORT_CORRECTION,
                )
        planned = self._plan_problem(parsed, problems)
        if isinstance(planned, list):
            return failed(spec, row, key, *planned)
        problem_write, problem_changes = planned
        changes += problem_changes
        if report is None:
            return Plan(
                row, key, Action.CREATE, data=(project, period, None, new_report, problem_write)
            )
        if not changes:
            return Plan(row, key, Action.UNCHANGED)
        data = (project, period, report, new_report, problem_write)
        return Plan(row, key, Action.UPDATE, changes, data=data)

    def _plan_problem(
        self, parsed: ParsedRow, problems: list[Problem]
    ) -> tuple[_ProblemWrite | None, list[str]] | list[RowError]:
        """The row's problem: new, changed (with its changed fields) or as on record; the
        errors when it may not be changed."""
        problem = parsed.values.get("problem")
        if not problem:
            return None, []
        same = next((p for p in problems if p.description == problem["description"]), None)
        wanted = {k: problem.get(k) for k in PROBLEM_FIELDS}
        if same is None:
            return (None, {"description": problem["description"], **wanted}), ["problem"]
        diff = {k: val for k, val in wanted.items() if getattr(same, k) != val}
        if not diff:
            return None, []
        # As PATCH /problems/{id}: a resolved problem is not changed any more.
        refused = rule_errors(self.spec, parsed.row, "problem", check_problem_open, same)
        return refused or ((same, diff), [f"problem.{k}" for k in diff])

    def _row_errors(self, parsed: ParsedRow, project: Project) -> list[RowError]:
        """The row against the project it names and the API's rules of a month's report."""
        v, row, spec = parsed.values, parsed.row, self.spec
        code, period = v["internal_code"], v["period"]
        errors: list[RowError] = []
        if self.scope.chain_id is not None and project.chain_id != self.scope.chain_id:
            errors.append(
                row_error(
                    spec,
                    row,
                    "internal_code",
                    f"项目{code}属于产业链{self.chains.code_of(project.chain_id)}，不属于本次导入的"
                    f"产业链{self.chains.code_of(self.scope.chain_id)} / the project belongs to "
                    "another chain",
                    "chain_mismatch",
                    code,
                )
            )
        name = v.get("project_name")
        if name and name != project.name:
            errors.append(
                row_error(
                    spec,
                    row,
                    "project_name",
                    f"项目名称“{name}”与项目编号{code}登记的“{project.name}”不符，请核对项目编号 / "
                    "the name does not match the project of this code",
                    "name_mismatch",
                    name,
                )
            )
        # The API's rules (PUT /projects/{id}/progress/{period}), run on the loaded rows.
        errors += rule_errors(
            spec, row, "period", check_period_not_future, period, now=self.now_period, _value=period
        )
        errors += rule_errors(spec, row, "internal_code", check_takes_reports, project, _value=code)
        problem = v.get("problem")
        if problem:
            errors += rule_errors(
                spec, row, "problem_deadline", check_deadline, problem.get("deadline"), period
            )
        body: dict[str, Any] = {
            k: v[k] for k in (*REPORT_FIELDS, "correction_reason") if v.get(k) is not None
        }
        if problem:
            body["problems"] = [{k: val for k, val in problem.items() if val is not None}]
        try:
            ProgressSubmit.model_validate(body)
        except ValidationError as exc:
            errors += validation_errors(spec, row, exc, _SCHEMA_FIELDS)
        return errors

    def apply(self, session: Session, plans: Sequence[Plan]) -> None:
        now, user = utcnow(), acting_user(session)
        superseded = False
        new_reports: list[dict[str, Any]] = []
        pending_problems: list[
            tuple[dict[str, Any], int | None, Problem | None, dict[str, Any]]
        ] = []
        for plan in plans:
            project, period, report, new_report, problem_write = plan.data
            report_row = None
            if new_report is not None:
                submitted = now
                if report is not None:
                    # Never before the revision it replaces, so "as of T" finds exactly one.
                    submitted = max(now, report.submitted_at + dt.timedelta(microseconds=1))
                    report.superseded_at = submitted
                    superseded = True
                report_row = {
                    "project_id": project.id,
                    "period": period,
                    **new_report,
                    "submitted_at": submitted,
                    "submitted_by": user,
                    "superseded_at": None,
                }
                new_reports.append(report_row)
            if problem_write is not None:
                existing_problem, values = problem_write
                base = {"project_id": project.id, "period": period}
                values = {**values, **_problem_loop_columns(project.chain_id, user, now)}
                pending_problems.append(
                    (
                        report_row or base,
                        report.id if report is not None else None,
                        existing_problem,
                        values,
                    )
                )
        if superseded:
            session.flush()  # the old revisions step aside before the new ones go in
        insert_rows(session, ProgressReport, new_reports)
        new_problems = []
        for report_row, report_id, existing_problem, values in pending_problems:
            if existing_problem is not None:
                for name, value in values.items():
                    setattr(existing_problem, name, value)
                continue
            new_problems.append(
                {
                    "project_id": report_row["project_id"],
                    "report_id": report_row.get("id", report_id),
                    "period": report_row["period"],
                    **values,
                    "status": ProblemStatus.OPEN,
                    "resolution": None,
                    "resolved_on": None,
                }
            )
        insert_rows(session, Problem, new_problems)


def _problem_loop_columns(chain_id: int, user: int | None, now: dt.datetime) -> dict[str, Any]:
    """An imported problem enters the loop as one raised on its project: 待受理 at 县."""
    return {
        "subject": ProblemSubject.PROJECT,
        "chain_id": chain_id,
        "enterprise_id": None,
        "category": "other",
        "raised_by": user,
        "raised_at": now,
        "level": ProblemLevel.COUNTY,
        "state": ProblemState.PENDING,
        "satisfaction": None,
        "return_reason": None,
    }
