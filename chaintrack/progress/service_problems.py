"""Problems met by projects (存在问题): raised, assigned, given deadlines, resolved."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, not_, select
from sqlalchemy.orm import Session

from chaintrack.chains.service import require_chain
from chaintrack.common.concurrency import check_if_match
from chaintrack.common.pagination import Page, PageParams, paginate, sort_clause
from chaintrack.errors import Conflict, FieldError, ValidationProblem, not_found
from chaintrack.history import office_today
from chaintrack.identifiers import Period
from chaintrack.models import Problem, ProblemCategory, ProgressReport, Project
from chaintrack.models.enums import ProblemAction, ProblemState, ProblemStatus
from chaintrack.problems.steps import acting_user, record_step
from chaintrack.progress.rules import (
    check_deadline,
    check_not_future_date,
    check_period_not_future,
    get_project,
)
from chaintrack.progress.schemas import (
    ChainProblemOut,
    ProblemCreate,
    ProblemOut,
    ProblemResolve,
    ProblemStatusFilter,
    ProblemUpdate,
)

SORT_KEYS: dict[str, Any] = {
    "period": Problem.period,
    "deadline": Problem.deadline,
    "created_at": Problem.created_at,
    "status": Problem.status,
    "responsible_unit": Problem.responsible_unit,
}
CHAIN_SORT_KEYS: dict[str, Any] = {**SORT_KEYS, "project_code": Project.internal_code}
DEFAULT_SORT = (Problem.period.asc(), Problem.id.asc())


@dataclass(frozen=True)
class ProblemFilters:
    status: ProblemStatusFilter
    overdue: bool | None = None
    responsible_unit: str | None = None
    period: str | None = None
    sort: str | None = None


def _problem_fields(problem: Problem, today: dt.date) -> dict[str, Any]:
    overdue = (
        problem.status == ProblemStatus.OPEN
        and problem.deadline is not None
        and problem.deadline < today
    )
    return {
        "id": problem.id,
        "subject": problem.subject,
        "chain_id": problem.chain_id,
        "project_id": problem.project_id,
        "enterprise_id": problem.enterprise_id,
        "category": problem.category,
        "state": problem.state,
        "state_label": problem.state.label_zh,
        "level": problem.level,
        "level_label": problem.level.label_zh,
        "raised_by": problem.raised_by,
        "raised_at": problem.raised_at,
        "satisfaction": problem.satisfaction,
        "return_reason": problem.return_reason,
        "report_id": problem.report_id,
        "period": problem.period,
        "description": problem.description,
        "responsible_unit": problem.responsible_unit,
        "responsible_person": problem.responsible_person,
        "deadline": problem.deadline,
        "status": problem.status,
        "status_label": problem.status.label_zh,
        "overdue": overdue,
        "resolution": problem.resolution,
        "resolved_on": problem.resolved_on,
        "version": problem.version,
        "created_at": problem.created_at,
        "updated_at": problem.updated_at,
    }


def problem_out(problem: Problem, today: dt.date | None = None) -> ProblemOut:
    return ProblemOut(**_problem_fields(problem, today or office_today()))


def problems_of_month(
    session: Session, project_id: int, period: str, as_of: dt.datetime | None
) -> list[Problem]:
    """Problems raised for a month (those raised by ``as_of`` when given; current state)."""
    stmt = select(Problem).where(Problem.project_id == project_id, Problem.period == period)
    if as_of is not None:
        stmt = stmt.where(Problem.created_at <= as_of)
    return list(session.scalars(stmt.order_by(Problem.id)))


def get_problem(session: Session, problem_id: int) -> Problem:
    problem = session.get(Problem, problem_id)
    if problem is None:
        raise not_found("problem", problem_id)
    return problem


def create_problem(
    session: Session, project_id: int, data: ProblemCreate, actor_id: int | None = None
) -> Problem:
    project = get_project(session, project_id)
    if session.get(ProblemCategory, data.category) is None:
        raise ValidationProblem.for_field(
            "category", f"没有类别“{data.category}” / unknown category", code="unknown_reference"
        )
    check_period_not_future(data.period)
    check_deadline(data.deadline, data.period)
    if data.report_id is not None:
        report = session.get(ProgressReport, data.report_id)
        if report is None or report.project_id != project.id:
            raise ValidationProblem.for_field(
                "report_id",
                f"本项目没有编号为 {data.report_id} 的月度报告 / "
                f"progress report {data.report_id} does not exist for this project",
                code="unknown_reference",
            )
        if report.period != data.period:
            raise ValidationProblem.for_field(
                "report_id",
                f"报告 {report.id} 属于 {report.period}，与问题月份 {data.period} 不符 / "
                f"report {report.id} is for {report.period}, not {data.period}",
                code="period_mismatch",
            )
    actor_id = actor_id if actor_id is not None else acting_user(session)
    problem = Problem(
        project_id=project.id,
        chain_id=project.chain_id,
        report_id=data.report_id,
        period=data.period,
        category=data.category,
        description=data.description,
        responsible_unit=data.responsible_unit,
        responsible_person=data.responsible_person,
        deadline=data.deadline,
        raised_by=actor_id,
        state=ProblemState.PENDING,
    )
    session.add(problem)
    session.flush()
    record_raised(session, [problem], actor_id)
    session.flush()
    return problem


def record_raised(session: Session, problems: list[Problem], actor_id: int | None) -> None:
    """The first step of problems just flushed (raised on a project, e.g. with a report)."""
    for problem in problems:
        record_step(
            session, problem, ProblemAction.RAISE, actor_id, from_state=None, from_level=None
        )


def check_problem_open(problem: Problem) -> None:
    """A resolved problem is history: it is not changed or resolved again (409)."""
    if problem.status == ProblemStatus.RESOLVED:
        raise Conflict(
            f"问题 {problem.id} 已于 {problem.resolved_on} 解决 / "
            f"problem {problem.id} was already resolved on {problem.resolved_on}",
            errors=[
                FieldError(
                    location="path",
                    field="problem_id",
                    message="the problem is resolved",
                    code="problem_resolved",
                )
            ],
            problem_id=problem.id,
            resolved_on=str(problem.resolved_on),
        )


def update_problem(
    session: Session,
    problem_id: int,
    data: ProblemUpdate,
    if_match: str | None,
    actor_id: int | None = None,
) -> Problem:
    problem = get_problem(session, problem_id)
    check_if_match(if_match, problem)
    check_problem_open(problem)
    changes = data.model_dump(exclude_unset=True)
    if "deadline" in changes:
        check_deadline(changes["deadline"], problem.period)
    for name, value in changes.items():
        setattr(problem, name, value)
    session.flush()
    record_step(
        session, problem, ProblemAction.ASSIGN, actor_id or acting_user(session),
        from_state=problem.state, from_level=problem.level, note="、".join(sorted(changes)),
    )  # fmt: skip
    session.flush()
    return problem


def resolve_problem(
    session: Session,
    problem_id: int,
    data: ProblemResolve,
    if_match: str | None,
    actor_id: int | None = None,
) -> Problem:
    """销号 as before: 已办结 from 待受理 or 办理中 (recorded as the 办结 step)."""
    problem = get_problem(session, problem_id)
    check_if_match(if_match, problem)
    check_problem_open(problem)
    check_not_future_date(data.resolved_on, "resolved_on")
    if data.resolved_on < Period.parse(problem.period).first_day:
        raise ValidationProblem.for_field(
            "resolved_on",
            f"解决日期早于问题提出月份（{problem.period}）/ "
            f"resolved before the month it was raised ({problem.period})",
            code="resolved_before_raised",
        )
    state, level = problem.state, problem.level
    problem.status = ProblemStatus.RESOLVED
    problem.state = ProblemState.HANDLED
    problem.resolution = data.resolution
    problem.resolved_on = data.resolved_on
    session.flush()
    record_step(
        session, problem, ProblemAction.HANDLE, actor_id or acting_user(session),
        from_state=state, from_level=level, note=data.resolution,
    )  # fmt: skip
    session.flush()
    return problem


# --- lists -------------------------------------------------------------------------


def _overdue(today: dt.date) -> ColumnElement[bool]:
    return and_(
        Problem.status == ProblemStatus.OPEN,
        Problem.deadline.is_not(None),
        Problem.deadline < today,
    )


def _filtered(stmt: Select[Any], filters: ProblemFilters, today: dt.date) -> Select[Any]:
    if filters.status != ProblemStatusFilter.ALL:
        stmt = stmt.where(Problem.status == ProblemStatus(filters.status.value))
    if filters.overdue is True:
        stmt = stmt.where(_overdue(today))
    elif filters.overdue is False:
        stmt = stmt.where(not_(_overdue(today)))
    if filters.responsible_unit:
        unit = Problem.responsible_unit
        stmt = stmt.where(unit.contains(filters.responsible_unit, autoescape=True))
    if filters.period:
        stmt = stmt.where(Problem.period == filters.period)
    return stmt


def list_project_problems(
    session: Session, project_id: int, filters: ProblemFilters, page: PageParams
) -> Page[ProblemOut]:
    project = get_project(session, project_id)
    today = office_today()
    stmt = _filtered(select(Problem).where(Problem.project_id == project.id), filters, today)
    stmt = stmt.order_by(*sort_clause(filters.sort, SORT_KEYS, DEFAULT_SORT))
    total, rows = paginate(session, stmt, page)
    return Page(
        items=[problem_out(p, today) for p in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


def list_chain_problems(
    session: Session, chain_id: int, filters: ProblemFilters, page: PageParams
) -> Page[ChainProblemOut]:
    """Problems across a chain's projects, with each project's code and name: two statements."""
    require_chain(session, chain_id)
    today = office_today()
    stmt = (
        select(Problem, Project.internal_code, Project.name)
        .join(Project, Project.id == Problem.project_id)
        .where(Project.chain_id == chain_id)
    )
    stmt = _filtered(stmt, filters, today)
    stmt = stmt.order_by(*sort_clause(filters.sort, CHAIN_SORT_KEYS, DEFAULT_SORT))
    total, rows = paginate(session, stmt, page)
    items = [
        ChainProblemOut(**_problem_fields(problem, today), project_code=code, project_name=name)
        for problem, code, name in rows
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
