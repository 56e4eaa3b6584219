"""Shared rules of the monthly dispatch: what "this month" and "today" are, period checks."""

from __future__ import annotations

import datetime as dt

from chaintrack.errors import Conflict, FieldError, ValidationProblem
from chaintrack.history import office_today
from chaintrack.identifiers import Period
from chaintrack.models import Project
from chaintrack.models.enums import ProjectStatus
from chaintrack.progress.schemas import ProblemInline
from chaintrack.projects import queries


def current_period() -> str:
    """The month of the office's today (Beijing time), as YYYY-MM."""
    return str(Period.of(office_today()))


def period_start(period: str) -> dt.date:
    return Period.parse(period).first_day


def check_period_not_future(
    period: str, *, field: str = "period", location: str = "body", now: str | None = None
) -> None:
    """A month after the current one cannot be reported. ``now`` is the current period
    when the caller already has it (an import checks many rows against one month)."""
    now = now or current_period()
    if period > now:
        raise ValidationProblem.for_field(
            field,
            f"期间“{period}”晚于本月（{now}），不能报送未来月份 / "
            f"a period after the current month ({now}) cannot be reported",
            location=location,
            code="period_in_future",
        )


def check_takes_reports(project: Project) -> None:
    """A cancelled project takes no more monthly reports (409)."""
    if project.status == ProjectStatus.CANCELLED:
        raise Conflict(
            f"项目“{project.name}”已取消，不再报送月度进度 / "
            "the project is cancelled and takes no more progress reports",
            errors=[
                FieldError(
                    location="path",
                    field="project_id",
                    message="the project is cancelled",
                    code="project_cancelled",
                )
            ],
            project_id=project.id,
            project_status=project.status.value,
        )


def check_deadlines(problems: list[ProblemInline], period: str, prefix: str) -> None:
    start = period_start(period)
    errors = [
        FieldError(
            location="body",
            field=f"{prefix}.{i}.deadline",
            message=f"时限不能早于问题所在月份（{period}）/ a deadline before {start} is not valid",
            code="deadline_before_period",
        )
        for i, p in enumerate(problems)
        if p.deadline is not None and p.deadline < start
    ]
    if errors:
        raise ValidationProblem("; ".join(e.message for e in errors), errors=errors)


get_project = queries.get_project  # one 404 rule for projects


def check_deadline(deadline: dt.date | None, period: str, field: str = "deadline") -> None:
    start = period_start(period)
    if deadline is not None and deadline < start:
        raise ValidationProblem.for_field(
            field,
            f"时限不能早于问题所在月份（{period}）/ a deadline before {start} is not valid",
            code="deadline_before_period",
        )


def check_not_future_date(day: dt.date, field: str) -> None:
    now = office_today()
    if day > now:
        raise ValidationProblem.for_field(
            field,
            f"日期{day}晚于今天（{now}）/ a date after today ({now}) is not valid",
            code="date_in_future",
        )
