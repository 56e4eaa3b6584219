"""Rules of the dispatch round: opening and closing rounds, the due list, reporters'
submissions and their review, the chase list (催报) and the red list (预警).

Which projects are due: those of the round's chains whose status, at the end of the
period (or at ``as_of`` when earlier), is one of ``due_statuses()`` (default 在建; 竣工
not yet in operation; CHAINTRACK_DISPATCH_DUE_STATUSES). Computed, never stored. The
warning thresholds are settings too (chaintrack.dispatch.settings).

Which reports count in chain figures (the counting rule): a month's current revision
counts unless it is a reporter's submission that is still pending review before the
round's deadline, or that was returned. So: accepted reports count; a revision entered
by a chain editor directly (no review) counts; a pending report counts once the deadline
has passed without a review (the office cannot hold the month's figures hostage to a late
review); a returned report does not count until it is resubmitted and that rule applies
again.

A closed round (关闭): a report for its period that arrives after the closing is **late**
(``DueRow.late``); a reporter's change, made after the closing, to a report already
accepted is a **correction** (更正): it waits for an editor like any submission, and until
an editor accepts it the accepted revision is the one that counts (``counted_report_id``;
a pending correction does not start counting at the deadline); returning a correction
leaves the accepted revision counting.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from chaintrack.common.concurrency import check_if_match
from chaintrack.common.numbers import percent
from chaintrack.dispatch.settings import thresholds
from chaintrack.errors import Conflict, PreconditionFailed, ValidationProblem, not_found
from chaintrack.history import end_of_day, office_today, status_as_of
from chaintrack.identifiers import Period
from chaintrack.models import (
    Chain,
    DispatchRound,
    DispatchRoundChain,
    Notification,
    Problem,
    ProgressReport,
    Project,
    ProjectAnnualPlan,
    Region,
    ReporterScope,
    ReportReview,
    ReviewEvent,
    User,
)
from chaintrack.models.base import utcnow
from chaintrack.models.enums import (
    ProblemStatus,
    ProjectStatus,
    ReviewAction,
    ReviewState,
    UserRole,
)
from chaintrack.progress.rules import get_project
from chaintrack.progress.schemas import ProgressSubmit
from chaintrack.progress.service import submit_report
from chaintrack.regions import city_of, covers, merged_cities, region_prefix

NOT_STARTED = (ProjectStatus.PLANNED, ProjectStatus.SIGNED)


def due_statuses() -> tuple[ProjectStatus, ...]:
    """CHAINTRACK_DISPATCH_DUE_STATUSES (default 在建, 竣工)."""
    return thresholds().due_statuses


# --- rounds -------------------------------------------------------------------------


def _moment(as_of: dt.datetime | None) -> dt.datetime:
    return as_of if as_of is not None else utcnow()


def open_round(
    session: Session, period: str, deadline: dt.date, chain_ids: list[int], user_id: int | None
) -> DispatchRound:
    p = Period.parse(period)
    if deadline < dt.date(p.year, p.month, 1):
        raise ValidationProblem.for_field(
            "deadline",
            f"截止日不能早于调度月份（{period}）/ the deadline is before the period",
            code="deadline_before_period",
        )
    if session.scalar(select(DispatchRound.id).where(DispatchRound.period == period)):
        raise Conflict(
            f"{period} 的调度轮次已开启 / a round for {period} is already open",
            rule="one_round_per_period",
        )
    ids = sorted(set(chain_ids))
    known = set(session.scalars(select(Chain.id).where(Chain.id.in_(ids))))
    if unknown := [c for c in ids if c not in known]:
        raise ValidationProblem.for_field("chain_ids", f"产业链不存在 / unknown chains {unknown}")
    rnd = DispatchRound(period=period, deadline=deadline, opened_by=user_id)
    session.add(rnd)
    session.flush()
    session.add_all(DispatchRoundChain(round_id=rnd.id, chain_id=c) for c in ids)
    session.flush()
    return rnd


def get_round(session: Session, round_id: int, as_of: dt.datetime | None = None) -> DispatchRound:
    rnd = session.get(DispatchRound, round_id)
    if rnd is None or (as_of is not None and rnd.opened_at > as_of):
        raise not_found("dispatch round", round_id)
    return rnd


def close_round(
    session: Session, round_id: int, if_match: str | None, user_id: int | None
) -> DispatchRound:
    rnd = get_round(session, round_id)
    if rnd.closed_at is not None:
        return rnd  # closing twice changes nothing
    check_if_match(if_match, rnd)
    rnd.closed_at = utcnow()
    rnd.closed_by = user_id
    session.flush()
    return rnd


def round_chains(session: Session, round_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    rows = session.execute(
        select(DispatchRoundChain.round_id, DispatchRoundChain.chain_id)
        .where(DispatchRoundChain.round_id.in_(round_ids))
        .order_by(DispatchRoundChain.round_id, DispatchRoundChain.chain_id)
    )
    for rid, cid in rows:
        out[rid].append(cid)
    return out


def list_rounds(session: Session, as_of: dt.datetime | None) -> list[DispatchRound]:
    stmt = select(DispatchRound).order_by(DispatchRound.period.desc())
    if as_of is not None:
        stmt = stmt.where(DispatchRound.opened_at <= as_of)
    return list(session.scalars(stmt))


# --- the due list -------------------------------------------------------------------


@dataclass
class DueRow:
    project: Project
    status: ProjectStatus
    city_code: str
    report: ProgressReport | None
    state: ReviewState | None
    on_time: bool | None
    counts: bool
    late: bool = False
    correction: bool = False
    counted_report_id: int | None = None


@dataclass(frozen=True)
class ReviewStanding:
    """A month's review as it stood at a moment (from its events)."""

    report_id: int
    state: ReviewState
    correction: bool  # a change to an accepted report after the round closed
    accepted_report_id: int | None  # the last accepted revision


def _period_end(period: str) -> dt.date:
    return Period.parse(period).last_day


def _review_states(
    session: Session,
    project_ids: list[int],
    period: str,
    moment: dt.datetime,
    closed_at: dt.datetime | None,
) -> dict[int, ReviewStanding]:
    """project -> its month's review as it stood at ``moment`` (one statement)."""
    rows = session.execute(
        select(ReportReview.project_id, ReviewEvent.report_id, ReviewEvent.action, ReviewEvent.at)
        .join(ReviewEvent, ReviewEvent.review_id == ReportReview.id)
        .where(
            ReportReview.period == period,
            ReportReview.project_id.in_(project_ids),
            ReviewEvent.at <= moment,
        )
        .order_by(ReviewEvent.at, ReviewEvent.id)
    )
    events: dict[int, list[tuple[int, ReviewAction, dt.datetime]]] = defaultdict(list)
    for pid, rid, action, at in rows:
        events[pid].append((rid, action, at))
    return {pid: standing(evs, closed_at) for pid, evs in events.items()}


_STATE_OF = {
    ReviewAction.SUBMIT: ReviewState.PENDING,
    ReviewAction.RESUBMIT: ReviewState.PENDING,
    ReviewAction.ACCEPT: ReviewState.ACCEPTED,
    ReviewAction.RETURN: ReviewState.RETURNED,
}


def standing(
    events: list[tuple[int, ReviewAction, dt.datetime]], closed_at: dt.datetime | None
) -> ReviewStanding:
    """The review after ``events`` (report id, action, time; in order)."""
    accepted: int | None = None
    correction = False
    state: ReviewState | None = None
    for rid, action, at in events:
        if (
            action is ReviewAction.RESUBMIT
            and state is ReviewState.ACCEPTED
            and closed_at is not None
            and _utc(at) > _utc(closed_at)
        ):
            correction = True  # stays one (returned, resubmitted) until an editor accepts
        if action is ReviewAction.ACCEPT:
            accepted, correction = rid, False
        state = _STATE_OF[action]
    rid, action, _ = events[-1]
    return ReviewStanding(rid, _STATE_OF[action], correction, accepted)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def counts(state: ReviewState | None, deadline: dt.date, moment: dt.datetime) -> bool:
    """The counting rule (module docstring)."""
    if state is None or state is ReviewState.ACCEPTED:
        return True
    if state is ReviewState.PENDING:
        return moment >= end_of_day(deadline)
    return False


def due_list(session: Session, rnd: DispatchRound, as_of: dt.datetime | None) -> list[DueRow]:
    moment = _moment(as_of)
    day = min(_period_end(rnd.period), moment.date())
    live = status_as_of(day).subquery()
    status = func.coalesce(live.c.status, Project.status)
    chains = select(DispatchRoundChain.chain_id).where(DispatchRoundChain.round_id == rnd.id)
    rows = session.execute(
        select(Project, status.label("status"))
        .outerjoin(live, live.c.project_id == Project.id)
        .where(
            Project.chain_id.in_(chains),
            Project.created_at <= moment,
            status.in_([s.value for s in due_statuses()]),
        )
        .order_by(Project.chain_id, Project.internal_code)
    ).all()
    projects = [r[0] for r in rows]
    ids = [p.id for p in projects]
    reports = {
        r.project_id: r
        for r in session.scalars(
            select(ProgressReport).where(
                ProgressReport.project_id.in_(ids),
                ProgressReport.period == rnd.period,
                ProgressReport.submitted_at <= moment,
                or_(ProgressReport.superseded_at.is_(None), ProgressReport.superseded_at > moment),
            )
        )
    }
    closed_at = rnd.closed_at if rnd.closed_at is not None and rnd.closed_at <= moment else None
    states = _review_states(session, ids, rnd.period, moment, closed_at)
    merged = merged_cities(session)
    deadline_end = end_of_day(rnd.deadline)
    out = []
    for project, st in zip(projects, (r[1] for r in rows), strict=True):
        report = reports.get(project.id)
        review = states.get(project.id)
        current = review is not None and report is not None and review.report_id == report.id
        state = review.state if review is not None and current else None
        correction = bool(current and review and review.correction)
        if correction and review is not None and state is not ReviewState.ACCEPTED:
            counted: int | None = review.accepted_report_id  # the accepted figures stand
        elif report is not None and counts(state, rnd.deadline, moment):
            counted = report.id
        else:
            counted = None
        out.append(
            DueRow(
                project=project,
                status=ProjectStatus(st),
                city_code=city_of(project.region_code, merged),
                report=report,
                state=state,
                on_time=None if report is None else report.submitted_at < deadline_end,
                counts=counted is not None,
                late=(
                    report is not None
                    and closed_at is not None
                    and not correction
                    and _utc(report.submitted_at) > _utc(closed_at)
                ),
                correction=correction,
                counted_report_id=counted,
            )
        )
    return out


def round_figures(rows: list[DueRow]) -> dict[str, Any]:
    due = len(rows)
    reported = sum(1 for r in rows if r.report is not None)
    on_time = sum(1 for r in rows if r.on_time)
    return {
        "due_count": due,
        "reported_count": reported,
        "on_time_count": on_time,
        "reporting_rate": percent(Decimal(reported), Decimal(due)) if due else None,
        "on_time_rate": percent(Decimal(on_time), Decimal(due)) if due else None,
    }


# --- reporters' submissions ----------------------------------------------------------


def _start_period(project: Project) -> str | None:
    start = project.actual_start or project.planned_start
    return str(Period.of(start)) if start else None


def check_refusals(project: Project, period: str) -> None:
    """Refused outright (the rest — future months, cancelled projects — by progress)."""
    if project.status in NOT_STARTED:
        raise Conflict(
            f"项目“{project.name}”尚未开工（{project.status.label_zh}），不能报送进度 / "
            "the project has not started and takes no progress reports",
            rule="project_not_started",
        )
    start = _start_period(project)
    if start is not None and period < start:
        raise ValidationProblem.for_field(
            "period",
            f"期间“{period}”早于项目开工月份（{start}）/ the period is before the project's start",
            location="path",
            code="period_before_start",
        )


def submission_warnings(
    session: Session, project: Project, period: str, data: ProgressSubmit
) -> list[str]:
    """What the reporter must confirm, and the reviewer sees."""
    rows = session.execute(
        select(
            ProgressReport.period,
            ProgressReport.investment_month,
            ProgressReport.physical_progress_pct,
        )
        .where(
            ProgressReport.project_id == project.id,
            ProgressReport.superseded_at.is_(None),
            ProgressReport.period != period,
        )
        .order_by(ProgressReport.period)
    ).all()
    out = []
    total = sum((r.investment_month for r in rows), Decimal(0)) + data.investment_month
    if total > project.total_investment:
        out.append(
            f"累计完成投资（{total}万元）超过总投资（{project.total_investment}万元）"
            " / cumulative above total"
        )
    earlier = [r for r in rows if r.period < period and r.physical_progress_pct is not None]
    if (
        data.physical_progress_pct is not None
        and earlier
        and earlier[-1].physical_progress_pct is not None
        and data.physical_progress_pct < earlier[-1].physical_progress_pct
    ):
        out.append(
            f"形象进度由{earlier[-1].physical_progress_pct}%降至{data.physical_progress_pct}% / "
            "physical progress going down"
        )
    if data.investment_month == 0 and project.status is ProjectStatus.UNDER_CONSTRUCTION:
        out.append("在建项目本月完成投资为零 / zero investment while under construction")
    positive = [r.investment_month for r in rows if r.investment_month > 0]
    if len(positive) >= 3:
        usual = sum(positive, Decimal(0)) / len(positive)
        factor = thresholds().unusual_factor
        if data.investment_month > factor * usual:
            out.append(
                f"本月投资超过常月（{usual.quantize(Decimal('0.01'))}万元）的"
                f"{factor}倍 / more than {factor}× the usual month"
            )
    return out


@dataclass
class Submitted:
    review: ReportReview
    report: ProgressReport
    created: bool
    detail: Any


def submit(
    session: Session,
    project_id: int,
    period: str,
    data: Any,
    if_match: str | None,
    user_id: int | None,
) -> Submitted:
    project = get_project(session, project_id)
    check_refusals(project, period)
    warnings = submission_warnings(session, project, period, data)
    if warnings and not data.confirm_warnings:
        raise Conflict(
            "请核对以下提示，确认无误后勾选“确认提示”再报送 / confirm the warnings to submit: "
            + "；".join(warnings),
            rule="warnings_unconfirmed",
            warnings=warnings,
        )
    fields = data.model_dump(exclude={"confirm_warnings"}, exclude_unset=True)
    result = submit_report(
        session, project_id, period, ProgressSubmit.model_validate(fields), if_match
    )
    review = session.scalar(
        select(ReportReview).where(
            ReportReview.project_id == project_id, ReportReview.period == period
        )
    )
    action = ReviewAction.SUBMIT
    if review is None:
        review = ReportReview(
            project_id=project_id,
            period=period,
            report_id=result.report.id,
            state=ReviewState.PENDING,
            warnings=warnings,
            submitted_by=user_id,
        )
        session.add(review)
    else:
        action = ReviewAction.RESUBMIT
        review.report_id = result.report.id
        review.state = ReviewState.PENDING
        review.warnings = warnings
        review.submitted_by = user_id
        review.submitted_at = result.report.submitted_at
        review.reviewed_at = review.reviewed_by = None
    session.flush()
    session.add(
        ReviewEvent(
            review_id=review.id,
            report_id=result.report.id,
            revision=result.report.revision,
            action=action,
            at=result.report.submitted_at,
            by=user_id,
        )
    )
    session.flush()
    return Submitted(review, result.report, result.created, result.detail)


# --- review --------------------------------------------------------------------------


def review_of_report(session: Session, report_id: int) -> ReportReview:
    report = session.get(ProgressReport, report_id)
    if report is None:
        raise not_found("progress report", report_id)
    review = session.scalar(
        select(ReportReview).where(
            ReportReview.project_id == report.project_id, ReportReview.period == report.period
        )
    )
    if review is None:
        raise not_found("review", f"report {report_id}")
    if review.report_id != report_id:
        raise PreconditionFailed(
            "该月已重新报送，请审核最新版本 / the month was resubmitted since; "
            "review the new revision",
            current_report_id=review.report_id,
        )
    return review


def review_detail(session: Session, review: ReportReview) -> dict[str, Any]:
    return review_details(session, [review])[0]


def review_details(session: Session, reviews: list[ReportReview]) -> list[dict[str, Any]]:
    """Each review with its history (submit → return → resubmit → accept) and whether it
    is a correction; the events of all the reviews are read in one statement, the
    closing times of their rounds in another."""
    events: dict[int, list[ReviewEvent]] = defaultdict(list)
    closed: dict[str, dt.datetime | None] = {}
    if reviews:
        for e in session.scalars(
            select(ReviewEvent)
            .where(ReviewEvent.review_id.in_([r.id for r in reviews]))
            .order_by(ReviewEvent.at, ReviewEvent.id)
        ):
            events[e.review_id].append(e)
        periods = {r.period for r in reviews}
        closed = dict(
            session.execute(
                select(DispatchRound.period, DispatchRound.closed_at).where(
                    DispatchRound.period.in_(periods)
                )
            )
            .tuples()
            .all()
        )
    out = []
    for r in reviews:
        evs = events[r.id]
        detail = _detail(r, evs)
        detail["correction"] = bool(evs) and (
            standing([(e.report_id, e.action, e.at) for e in evs], closed.get(r.period)).correction
        )
        out.append(detail)
    return out


def _detail(review: ReportReview, events: list[ReviewEvent]) -> dict[str, Any]:
    revision = next((e.revision for e in reversed(events) if e.report_id == review.report_id), 1)
    return {
        "id": review.id,
        "project_id": review.project_id,
        "period": review.period,
        "report_id": review.report_id,
        "revision": revision,
        "state": review.state,
        "reason": review.reason,
        "warnings": list(review.warnings or []),
        "history": [
            {"action": e.action, "revision": e.revision, "reason": e.reason, "at": e.at, "by": e.by}
            for e in events
        ],
    }


def decide(
    session: Session,
    report_id: int,
    accept: bool,
    reason: str | None,
    if_match: str | None,
    user_id: int | None,
) -> ReportReview:
    review = review_of_report(session, report_id)
    target = ReviewState.ACCEPTED if accept else ReviewState.RETURNED
    if review.state is target and (accept or review.reason == reason):
        return review  # accepting (or returning with the same reason) twice changes nothing
    check_if_match(if_match, review)
    review.state = target
    review.reason = None if accept else reason
    review.reviewed_by = user_id
    review.reviewed_at = utcnow()
    session.flush()
    session.add(
        ReviewEvent(
            review_id=review.id,
            report_id=report_id,
            revision=session.get(ProgressReport, report_id).revision,  # type: ignore[union-attr]
            action=ReviewAction.ACCEPT if accept else ReviewAction.RETURN,
            reason=review.reason,
            at=review.reviewed_at,
            by=user_id,
        )
    )
    session.flush()
    return review


def review_queue(
    session: Session, chain_ids: frozenset[int] | None
) -> list[tuple[ReportReview, Project]]:
    stmt = (
        select(ReportReview, Project)
        .join(Project, Project.id == ReportReview.project_id)
        .where(ReportReview.state == ReviewState.PENDING)
        .order_by(ReportReview.submitted_at, ReportReview.id)
    )
    if chain_ids is not None:
        stmt = stmt.where(Project.chain_id.in_(chain_ids))
    return [(r, p) for r, p in session.execute(stmt).tuples()]


# --- the chase list -----------------------------------------------------------------

CHASE_REASONS = {
    "not_reported": "未报送",
    "returned": "已退回未重报",
    "pending": "待审核",
}


def _reporters(session: Session) -> list[tuple[int, tuple[str, ...], int | None]]:
    """Active reporters with the region prefixes they cover (two statements whatever the
    number of reporters: the merged predecessors are read once, as in region_prefixes)."""
    rows = session.execute(
        select(ReporterScope.user_id, ReporterScope.region_code, ReporterScope.enterprise_id)
        .join(User, User.id == ReporterScope.user_id)
        .where(User.is_active.is_(True), User.role == UserRole.REPORTER)
    ).all()
    predecessors: dict[str, list[str]] = defaultdict(list)
    if rows:
        for code, successor in session.execute(
            select(Region.code, Region.successor_code).where(Region.successor_code.is_not(None))
        ):
            predecessors[successor].append(code)

    def prefixes(code: str) -> tuple[str, ...]:
        return tuple(sorted({region_prefix(c) for c in (code, *predecessors.get(code, ()))}))

    return [(uid, prefixes(code), ent) for uid, code, ent in rows]


def chase_list(
    session: Session, rnd: DispatchRound, as_of: dt.datetime | None
) -> list[dict[str, Any]]:
    reporters = _reporters(session)
    out = []
    for row in due_list(session, rnd, as_of):
        if row.report is None:
            reason = "not_reported"
        elif row.state is ReviewState.RETURNED:
            reason = "returned"
        elif row.state is ReviewState.PENDING:
            reason = "pending"
        else:
            continue
        p = row.project
        out.append(
            {
                "project_id": p.id,
                "name": p.name,
                "chain_id": p.chain_id,
                "city_code": row.city_code,
                "reason": reason,
                "reason_zh": CHASE_REASONS[reason],
                "reporter_ids": [
                    uid
                    for uid, prefixes, ent in reporters
                    if covers(prefixes, p.region_code)
                    and (ent is None or ent == p.owner_enterprise_id)
                ],
            }
        )
    return out


def notify(session: Session, rnd: DispatchRound) -> int:
    """One inbox message per reporter and project to chase (not reported or returned)."""
    n = 0
    for row in chase_list(session, rnd, None):
        if row["reason"] == "pending":
            continue
        for uid in row["reporter_ids"]:
            session.add(
                Notification(
                    user_id=uid,
                    round_id=rnd.id,
                    project_id=row["project_id"],
                    message=f"请于{rnd.deadline}前报送“{row['name']}”{rnd.period}的进度（{row['reason_zh']}）",
                )
            )
            n += 1
    session.flush()
    return n


def inbox(session: Session, user_id: int) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id.desc())
            .limit(200)
        )
    )


# --- warnings (预警) ----------------------------------------------------------------


def red_list(
    session: Session, rnd: DispatchRound, as_of: dt.datetime | None
) -> list[dict[str, Any]]:
    """Red / yellow / green for each due project, as of ``as_of``."""
    t = thresholds()
    moment = _moment(as_of)
    day = moment.date() if as_of is not None else office_today()
    rows = due_list(session, rnd, as_of)
    ids = [r.project.id for r in rows]
    period = Period.parse(rnd.period)
    year_start = f"{period.year:04d}-01"
    invest: dict[int, Decimal] = defaultdict(Decimal)
    last: dict[int, str] = {}
    for pid, per, amount in session.execute(
        select(
            ProgressReport.project_id, ProgressReport.period, ProgressReport.investment_month
        ).where(
            ProgressReport.project_id.in_(ids),
            ProgressReport.period <= rnd.period,
            ProgressReport.submitted_at <= moment,
            or_(ProgressReport.superseded_at.is_(None), ProgressReport.superseded_at > moment),
        )
    ):
        if per >= year_start:
            invest[pid] += amount
        last[pid] = max(last.get(pid, ""), per)
    plan_rows = session.execute(
        select(ProjectAnnualPlan.project_id, ProjectAnnualPlan.planned_investment).where(
            ProjectAnnualPlan.project_id.in_(ids), ProjectAnnualPlan.year == period.year
        )
    ).all()
    plans = {pid: amount for pid, amount in plan_rows}
    overdue = set(
        session.scalars(
            select(Problem.project_id).where(
                Problem.project_id.in_(ids),
                Problem.deadline < day,
                Problem.created_at <= moment,
                or_(
                    Problem.status == ProblemStatus.OPEN,
                    and_(Problem.resolved_on.is_not(None), Problem.resolved_on > day),
                ),
            )
        )
    )
    out = []
    for row in rows:
        p = row.project
        reds: list[str] = []
        yellows: list[str] = []
        plan = plans.get(p.id)
        if plan:
            expected = plan * Decimal(period.month) / 12
            share = invest[p.id] / expected if expected else Decimal(1)
            due = expected.quantize(Decimal("0.01"))
            msg = f"年度投资完成{invest[p.id]}万元，序时应完成{due}万元"
            if share < t.schedule_red:
                reds.append(msg)
            elif share < t.schedule_yellow:
                yellows.append(msg)
        silent = _months_between(last.get(p.id), rnd.period)
        if silent >= t.silent_red:
            reds.append(f"连续{silent}个月未报送")
        elif silent >= t.silent_yellow:
            yellows.append(f"连续{silent}个月未报送")
        if (
            p.planned_completion
            and p.planned_completion < day
            and row.status is not ProjectStatus.COMPLETED
        ):
            reds.append(f"计划竣工日期{p.planned_completion}已过")
        if p.planned_start and p.planned_start < day and p.actual_start is None:
            yellows.append(f"计划开工日期{p.planned_start}已过未开工")
        if p.id in overdue:
            reds.append("存在超期未解决问题")
        level = "red" if reds else "yellow" if yellows else "green"
        out.append(
            {
                "project_id": p.id,
                "name": p.name,
                "chain_id": p.chain_id,
                "city_code": row.city_code,
                "level": level,
                "reasons": reds + yellows,
            }
        )
    return out


def _months_between(last: str | None, period: str) -> int:
    """Months of the round's period and before it without a report, counted back."""
    p = Period.parse(period)
    if last is None:
        return 99
    q = Period.parse(last)
    return (p.year - q.year) * 12 + p.month - q.month
