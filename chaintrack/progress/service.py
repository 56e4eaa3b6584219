"""Rules of the monthly dispatch: submitting, correcting and reading progress reports.

A month's report is never overwritten. A resubmission becomes revision n+1 and the
one it replaces gets ``superseded_at`` (the same instant as the new ``submitted_at``),
so "as of T" always finds exactly one revision per month.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from chaintrack.common.concurrency import check_if_match
from chaintrack.common.numbers import percent
from chaintrack.common.pagination import Page, PageParams
from chaintrack.errors import (
    Conflict,
    PreconditionFailed,
    ValidationProblem,
    not_found,
)
from chaintrack.history import office_today
from chaintrack.models import Problem, ProgressReport, Project
from chaintrack.models.base import utcnow
from chaintrack.problems.steps import acting_user
from chaintrack.progress import service_problems
from chaintrack.progress.figures import (
    MonthFigures,
    month_figures,
    reports_with_figures,
)
from chaintrack.progress.rules import (
    check_deadlines,
    check_period_not_future,
    check_takes_reports,
    get_project,
)
from chaintrack.progress.schemas import (
    ProgressReportDetail,
    ProgressReportOut,
    ProgressSubmit,
    RevisionOut,
)
from chaintrack.progress.service_problems import problem_out, problems_of_month


@dataclass
class RevisionTag:
    """A report revision seen as a versioned resource: its ETag is ``"<revision>"``."""

    version: int


def report_etag(report: ProgressReport) -> RevisionTag:
    return RevisionTag(report.revision)


# --- shaping -----------------------------------------------------------------------


def _revision_fields(report: ProgressReport, as_of: dt.datetime | None) -> dict[str, Any]:
    superseded_at = report.superseded_at
    if as_of is not None and superseded_at is not None and superseded_at > as_of:
        superseded_at = None  # not yet replaced at that moment
    return {
        "id": report.id,
        "revision": report.revision,
        "investment_month": report.investment_month,
        "physical_progress_pct": report.physical_progress_pct,
        "physical_progress": report.physical_progress,
        "next_steps": report.next_steps,
        "correction_reason": report.correction_reason,
        "submitted_at": report.submitted_at,
        "superseded_at": superseded_at,
    }


def _report_fields(
    report: ProgressReport, project: Project, figures: MonthFigures, as_of: dt.datetime | None
) -> dict[str, Any]:
    fields = _revision_fields(report, as_of)
    return {
        **fields,
        "project_id": report.project_id,
        "period": report.period,
        "is_current": report.superseded_at is None,
        "superseded_revisions": report.revision - 1,
        "cumulative_year": figures.cumulative_year,
        "cumulative_total": figures.cumulative_total,
        "annual_plan": figures.annual_plan,
        "pct_of_annual_plan": percent(figures.cumulative_year, figures.annual_plan),
        "total_investment": project.total_investment,
        "pct_of_total_investment": percent(figures.cumulative_total, project.total_investment),
    }


# --- submitting --------------------------------------------------------------------


@dataclass
class SubmitResult:
    detail: ProgressReportDetail
    report: ProgressReport
    created: bool


def _next_revision(
    session: Session,
    current: ProgressReport | None,
    period: str,
    data: ProgressSubmit,
    if_match: str | None,
) -> tuple[dt.datetime, int]:
    """The new revision's submission instant and number; the one on record (if any) is
    superseded at that instant, unless another request corrected it first (412)."""
    now = utcnow()
    if current is None:
        if if_match is not None and if_match.strip():
            raise PreconditionFailed(
                f"{period} 尚无报送记录 / there is no report for {period} yet; "
                "send the first report without If-Match"
            )
        return now, 1
    check_if_match(if_match, report_etag(current))
    if not data.correction_reason:
        raise ValidationProblem.for_field(
            "correction_reason",
            f"{period} 已有报送（第{current.revision}版），更正须说明原因 / "
            "a resubmission must give a correction reason",
            code="correction_reason_required",
        )
    # Never before the revision it replaces, so "as of T" finds exactly one.
    now = max(now, current.submitted_at + dt.timedelta(microseconds=1))
    result = session.execute(
        update(ProgressReport)
        .where(ProgressReport.id == current.id, ProgressReport.superseded_at.is_(None))
        .values(superseded_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:  # another request corrected it first
        raise PreconditionFailed(
            "Someone else corrected this month first; reload and retry.",
        )
    set_committed_value(current, "superseded_at", now)
    return now, current.revision + 1


def submit_report(
    session: Session, project_id: int, period: str, data: ProgressSubmit, if_match: str | None
) -> SubmitResult:
    project = get_project(session, project_id)
    check_period_not_future(period, location="path")
    check_takes_reports(project)
    check_deadlines(data.problems, period, "problems")

    current = session.scalar(
        select(ProgressReport).where(
            ProgressReport.project_id == project.id,
            ProgressReport.period == period,
            ProgressReport.superseded_at.is_(None),
        )
    )
    now, revision = _next_revision(session, current, period, data, if_match)
    report = ProgressReport(
        project_id=project.id,
        period=period,
        revision=revision,
        investment_month=data.investment_month,
        physical_progress_pct=data.physical_progress_pct,
        physical_progress=data.physical_progress,
        next_steps=data.next_steps,
        correction_reason=data.correction_reason,
        submitted_at=now,
    )
    try:
        # Added inside the SAVEPOINT: added before it, the report would be flushed by
        # begin_nested() itself, outside the savepoint, and a lost race would break
        # the whole transaction (a 500 on PostgreSQL) instead of answering 409.
        with session.begin_nested():
            session.add(report)
            session.flush()
    except IntegrityError as exc:  # a concurrent first submission of the same month
        raise Conflict(
            f"{period} 的进度刚被他人报送 / a report for {period} was just submitted by "
            "someone else; reload it and resubmit as a correction",
            project_id=project_id,
            period=period,
        ) from exc
    raised = []
    actor_id = acting_user(session)
    for p in data.problems:
        raised.append(
            Problem(
                project_id=project.id,
                chain_id=project.chain_id,
                report_id=report.id,
                period=period,
                description=p.description,
                responsible_unit=p.responsible_unit,
                responsible_person=p.responsible_person,
                deadline=p.deadline,
                raised_by=actor_id,
            )
        )
    if raised:  # problems raised with the report: on record with their first step
        session.add_all(raised)
        session.flush()
        service_problems.record_raised(session, raised, actor_id)
    session.flush()
    detail = month_detail(session, project, period, None)
    return SubmitResult(detail=detail, report=report, created=current is None)


# --- reading -----------------------------------------------------------------------


def month_detail(
    session: Session, project: Project, period: str, as_of: dt.datetime | None
) -> ProgressReportDetail:
    """A month's report on record (now or at ``as_of``) with revisions and problems."""
    stmt = select(ProgressReport).where(
        ProgressReport.project_id == project.id, ProgressReport.period == period
    )
    if as_of is not None:
        stmt = stmt.where(ProgressReport.submitted_at <= as_of)
    revisions = session.scalars(stmt.order_by(ProgressReport.revision)).all()
    shown = next(
        (
            r
            for r in revisions
            if r.superseded_at is None or (as_of is not None and r.superseded_at > as_of)
        ),
        None,
    )
    if shown is None:
        when = f" as of {as_of.isoformat()}" if as_of else ""
        raise not_found("progress report", f"project {project.id} period {period}{when}")
    figures = month_figures(session, project.id, period, as_of)
    problems = problems_of_month(session, project.id, period, as_of)
    today_ = office_today()
    return ProgressReportDetail(
        **_report_fields(shown, project, figures, as_of),
        revisions=[RevisionOut(**_revision_fields(r, as_of)) for r in revisions],
        problems=[problem_out(p, today_) for p in problems],
    )


def get_month(
    session: Session, project_id: int, period: str, as_of: dt.datetime | None
) -> ProgressReportDetail:
    project = get_project(session, project_id)
    return month_detail(session, project, period, as_of)


def get_report(session: Session, report_id: int) -> tuple[ProgressReportOut, ProgressReport]:
    """One revision; a superseded one shows the figures as they stood when it was submitted."""
    report = session.get(ProgressReport, report_id)
    if report is None:
        raise not_found("progress report", report_id)
    project = get_project(session, report.project_id)
    as_of = None if report.superseded_at is None else report.submitted_at
    figures = month_figures(session, project.id, report.period, as_of)
    # The revision's own superseded_at is shown as it is now, not as of its submission.
    fields = _report_fields(report, project, figures, None)
    return ProgressReportOut(**fields), report


def list_reports(
    session: Session,
    project_id: int,
    as_of: dt.datetime | None,
    page: PageParams,
    *,
    descending: bool = False,
) -> Page[ProgressReportOut]:
    project = get_project(session, project_id)
    total, rows = reports_with_figures(session, project.id, as_of, page, descending=descending)
    items = [
        ProgressReportOut(
            **_report_fields(
                row.ProgressReport,
                project,
                MonthFigures(row.cumulative_year, row.cumulative_total, row.annual_plan),
                as_of,
            )
        )
        for row in rows
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
