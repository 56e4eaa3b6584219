"""The problem loop: raise, accept, return, escalate, handle, rate; 督办 and replies.

Every change is a ``ProblemStep`` row (who, when, from → to, note); the rules of which
action each state allows are in ``rules.py``; who may take them is declared on the
routes (``auth/permissions.py``: editors of the chain, the raiser for the rating).
Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, func, not_, or_, select
from sqlalchemy.orm import Session, aliased

from chaintrack.chains.service import require_chain
from chaintrack.common.concurrency import check_if_match
from chaintrack.common.pagination import Page, PageParams, paginate
from chaintrack.common.sql import SQL_ONE, SQL_ZERO
from chaintrack.errors import Conflict, FieldError, ValidationProblem, not_found
from chaintrack.history import OFFICE_TZ, office_today
from chaintrack.models import (
    Chain,
    Enterprise,
    Membership,
    Problem,
    ProblemCategory,
    ProblemStep,
    Project,
    SupervisionNotice,
    User,
)
from chaintrack.models.enums import (
    ProblemAction,
    ProblemLevel,
    ProblemState,
    ProblemStatus,
    ProblemSubject,
    Satisfaction,
)
from chaintrack.problems import figures_sql, rules
from chaintrack.problems.schemas import (
    CategoryOut,
    NoticeOut,
    ProblemEscalate,
    ProblemHandle,
    ProblemListItem,
    ProblemRaise,
    ProblemRate,
    ProblemReturn,
    ProblemStepOut,
    ProblemTimeline,
    ReplyIn,
    StepNote,
    SuperviseIn,
)
from chaintrack.problems.steps import record_step
from chaintrack.progress.rules import check_not_future_date
from chaintrack.progress.service_problems import _problem_fields, get_problem

__all__ = ["get_problem"]


@dataclass(frozen=True)
class Actor:
    """Who acts: the user, and whether an administrator (who may act for the raiser)."""

    user_id: int | None
    is_admin: bool = False
    edits_chain: bool = False


def _category(session: Session, code: str) -> None:
    if session.get(ProblemCategory, code) is None:
        raise ValidationProblem.for_field(
            "category", f"没有类别“{code}” / unknown category {code!r}", code="unknown_reference"
        )


def raise_problem(session: Session, data: ProblemRaise, actor_id: int | None) -> Problem:
    """A problem on a chain, one of its projects or one of its enterprises: 待受理 at 县."""
    require_chain(session, data.chain_id)
    _category(session, data.category)
    if data.project_id is not None and data.enterprise_id is not None:
        raise ValidationProblem.for_field(
            "enterprise_id",
            "问题只能针对一个项目或一个企业 / a project or an enterprise, not both",
            code="one_subject",
        )
    subject = ProblemSubject.CHAIN
    if data.project_id is not None:
        subject = ProblemSubject.PROJECT
        project = session.get(Project, data.project_id)
        if project is None or project.chain_id != data.chain_id:
            raise ValidationProblem.for_field(
                "project_id",
                f"本产业链没有编号为 {data.project_id} 的项目 / no project "
                f"{data.project_id} on chain {data.chain_id}",
                code="unknown_reference",
            )
    if data.enterprise_id is not None:
        subject = ProblemSubject.ENTERPRISE
        member = session.scalar(
            select(Membership.id)
            .where(
                Membership.enterprise_id == data.enterprise_id,
                Membership.chain_id == data.chain_id,
            )
            .limit(1)
        )
        if member is None:
            raise ValidationProblem.for_field(
                "enterprise_id",
                f"企业 {data.enterprise_id} 不在本产业链上 / enterprise {data.enterprise_id} "
                f"is not on chain {data.chain_id}",
                code="unknown_reference",
            )
    today = office_today()
    if data.deadline is not None and data.deadline < today:
        raise ValidationProblem.for_field(
            "deadline", "时限不能早于今天 / a deadline before today", code="deadline_past"
        )
    problem = Problem(
        subject=subject,
        chain_id=data.chain_id,
        project_id=data.project_id,
        enterprise_id=data.enterprise_id,
        period=f"{today.year:04d}-{today.month:02d}",
        category=data.category,
        description=data.description,
        raised_by=actor_id,
        level=ProblemLevel.COUNTY,
        state=ProblemState.PENDING,
        status=ProblemStatus.OPEN,
        responsible_unit=data.responsible_unit,
        responsible_person=data.responsible_person,
        deadline=data.deadline or rules.deadline_at(ProblemLevel.COUNTY, today),
    )
    session.add(problem)
    session.flush()
    record_step(session, problem, ProblemAction.RAISE, actor_id, from_state=None, from_level=None)
    session.flush()
    return problem


def _check_allowed(problem: Problem, action: ProblemAction) -> None:
    allowed = rules.allowed_by_state(problem.state, problem.level)
    if action in allowed:
        return
    if action is ProblemAction.ESCALATE and rules.next_level(problem.level) is None:
        detail = (
            f"问题已在最高层级（{problem.level.label_zh}），不能再上报 / already at the top "
            "level, it cannot be escalated further"
        )
    else:
        detail = (
            f"问题当前为“{problem.state.label_zh}”，不能“{action.label_zh}”；可以："
            f"{'、'.join(a.label_zh for a in allowed) or '无'} / {action.value} is not "
            f"allowed in state {problem.state.value}"
        )
    raise Conflict(
        detail,
        errors=[
            FieldError(
                location="path",
                field="problem_id",
                message=f"not allowed in state {problem.state.value}",
                code="transition_not_allowed",
            )
        ],
        state=problem.state.value,
        level=problem.level.value,
        allowed=[a.value for a in allowed],
    )


def _begin(
    session: Session, problem_id: int, action: ProblemAction, if_match: str | None
) -> tuple[Problem, ProblemState, ProblemLevel]:
    problem = get_problem(session, problem_id)
    check_if_match(if_match, problem)
    _check_allowed(problem, action)
    return problem, problem.state, problem.level


def accept(
    session: Session, problem_id: int, data: StepNote, if_match: str | None, actor: Actor
) -> Problem:
    problem, state, level = _begin(session, problem_id, ProblemAction.ACCEPT, if_match)
    problem.state = ProblemState.IN_PROGRESS
    session.flush()
    record_step(
        session, problem, ProblemAction.ACCEPT, actor.user_id,
        from_state=state, from_level=level, note=data.note,
    )  # fmt: skip
    session.flush()
    return problem


def return_problem(
    session: Session, problem_id: int, data: ProblemReturn, if_match: str | None, actor: Actor
) -> Problem:
    problem, state, level = _begin(session, problem_id, ProblemAction.RETURN, if_match)
    problem.state = ProblemState.RETURNED
    problem.status = ProblemStatus.RESOLVED
    problem.resolved_on = office_today()
    problem.return_reason = data.reason
    session.flush()
    record_step(
        session, problem, ProblemAction.RETURN, actor.user_id,
        from_state=state, from_level=level, note=data.reason,
    )  # fmt: skip
    session.flush()
    return problem


def escalate(
    session: Session, problem_id: int, data: ProblemEscalate, if_match: str | None, actor: Actor
) -> Problem:
    """One level up, 待受理 there, the deadline reset (``rules.ESCALATION_DAYS``)."""
    problem, state, level = _begin(session, problem_id, ProblemAction.ESCALATE, if_match)
    up = rules.next_level(level)
    assert up is not None  # refused by _check_allowed
    problem.level = up
    problem.state = ProblemState.PENDING
    problem.deadline = rules.deadline_at(up, office_today())
    problem.responsible_unit = data.responsible_unit
    problem.responsible_person = data.responsible_person
    session.flush()
    record_step(
        session, problem, ProblemAction.ESCALATE, actor.user_id,
        from_state=state, from_level=level, note=data.note,
    )  # fmt: skip
    session.flush()
    return problem


def handle(
    session: Session, problem_id: int, data: ProblemHandle, if_match: str | None, actor: Actor
) -> Problem:
    problem, state, level = _begin(session, problem_id, ProblemAction.HANDLE, if_match)
    day = data.resolved_on or office_today()
    check_not_future_date(day, "resolved_on")
    if day < problem.raised_at.astimezone(OFFICE_TZ).date():
        raise ValidationProblem.for_field(
            "resolved_on", "办结日期早于提出日期 / handled before it was raised", code="too_early"
        )
    problem.state = ProblemState.HANDLED
    problem.status = ProblemStatus.RESOLVED
    problem.resolved_on = day
    problem.resolution = data.resolution
    session.flush()
    record_step(
        session, problem, ProblemAction.HANDLE, actor.user_id,
        from_state=state, from_level=level, note=data.resolution,
    )  # fmt: skip
    session.flush()
    return problem


def rate(
    session: Session, problem_id: int, data: ProblemRate, if_match: str | None, actor: Actor
) -> Problem:
    """The raiser's rating (the route lets only them or an administrator through); an
    administrator's rating of someone else's problem is recorded as made for the raiser."""
    problem, state, level = _begin(session, problem_id, ProblemAction.RATE, if_match)
    if data.satisfaction is Satisfaction.UNSATISFIED:
        problem.state = ProblemState.IN_PROGRESS
        problem.status = ProblemStatus.OPEN
        problem.resolved_on = None
        problem.satisfaction = None
    else:
        problem.state = ProblemState.RATED
        problem.satisfaction = data.satisfaction
    session.flush()
    note = data.satisfaction.label_zh + (f"：{data.note}" if data.note else "")
    for_raiser = problem.raised_by if actor.user_id != problem.raised_by else None
    record_step(
        session, problem, ProblemAction.RATE, actor.user_id,
        from_state=state, from_level=level, note=note, on_behalf_of=for_raiser,
    )  # fmt: skip
    session.flush()
    return problem


# --- 督办 -----------------------------------------------------------------------------


def supervise(
    session: Session, problem_id: int, data: SuperviseIn, if_match: str | None, actor: Actor
) -> SupervisionNotice:
    problem, state, level = _begin(session, problem_id, ProblemAction.SUPERVISE, if_match)
    if data.level not in rules.higher_levels(level):
        raise ValidationProblem.for_field(
            "level",
            f"督办须由高于“{level.label_zh}”的层级发出 / a notice comes from a level above "
            f"{level.value}",
            code="level_not_above",
        )
    if data.due_on < office_today():
        raise ValidationProblem.for_field(
            "due_on", "回复期限不能早于今天 / due before today", code="due_past"
        )
    notice = SupervisionNotice(
        problem_id=problem.id,
        level=data.level,
        note=data.note,
        due_on=data.due_on,
        issued_by=actor.user_id,
    )
    session.add(notice)
    record_step(
        session, problem, ProblemAction.SUPERVISE, actor.user_id,
        from_state=state, from_level=level,
        note=f"{data.level.label_zh}督办，{data.due_on} 前回复：{data.note}",
    )  # fmt: skip
    session.flush()
    return notice


def get_notice(session: Session, notice_id: int) -> SupervisionNotice:
    notice = session.get(SupervisionNotice, notice_id)
    if notice is None:
        raise not_found("supervision notice", notice_id)
    return notice


def reply(
    session: Session, notice_id: int, data: ReplyIn, if_match: str | None, actor: Actor
) -> SupervisionNotice:
    notice = get_notice(session, notice_id)
    check_if_match(if_match, notice)
    if notice.reply is not None:
        raise Conflict(
            f"督办 {notice.id} 已回复 / notice {notice.id} was already replied to",
            notice_id=notice.id,
        )
    notice.reply = data.reply
    notice.replied_by = actor.user_id
    notice.replied_at = dt.datetime.now(dt.UTC)
    problem = get_problem(session, notice.problem_id)
    record_step(
        session, problem, ProblemAction.REPLY, actor.user_id,
        from_state=problem.state, from_level=problem.level, note=data.reply,
    )  # fmt: skip
    session.flush()
    return notice


# --- reading -----------------------------------------------------------------------


@dataclass(frozen=True)
class LoopFilters:
    chain_id: int | None = None
    state: ProblemState | None = None
    level: ProblemLevel | None = None
    category: str | None = None
    subject: ProblemSubject | None = None
    overdue: bool | None = None
    raised_by: int | None = None
    responsible_unit: str | None = None


def _overdue_clause(today: dt.date) -> Any:
    return and_(
        Problem.state.in_(rules.OPEN_STATES),
        Problem.deadline.is_not(None),
        Problem.deadline < today,
    )


def _list_stmt() -> Select[Any]:
    return (
        select(
            Problem,
            Chain.name_zh,
            ProblemCategory.name_zh,
            func.coalesce(Project.name, Enterprise.name, Chain.name_zh),
        )
        .join(Chain, Chain.id == Problem.chain_id)
        .join(ProblemCategory, ProblemCategory.code == Problem.category)
        .outerjoin(Project, Project.id == Problem.project_id)
        .outerjoin(Enterprise, Enterprise.id == Problem.enterprise_id)
    )


def _item(row: Any, today: dt.date) -> ProblemListItem:
    problem, chain_name, category_label, subject_name = row
    return ProblemListItem(
        **_problem_fields(problem, today),
        chain_name=chain_name,
        category_label=category_label,
        subject_name=subject_name,
    )


def _filtered(filters: LoopFilters, today: dt.date, base: Select[Any] | None = None) -> Select[Any]:
    stmt = _list_stmt() if base is None else base
    if filters.chain_id is not None:
        stmt = stmt.where(Problem.chain_id == filters.chain_id)
    if filters.state is not None:
        stmt = stmt.where(Problem.state == filters.state)
    if filters.level is not None:
        stmt = stmt.where(Problem.level == filters.level)
    if filters.category:
        stmt = stmt.where(Problem.category == filters.category)
    if filters.subject is not None:
        stmt = stmt.where(Problem.subject == filters.subject)
    if filters.raised_by is not None:
        stmt = stmt.where(Problem.raised_by == filters.raised_by)
    if filters.responsible_unit:
        unit = Problem.responsible_unit
        stmt = stmt.where(unit.contains(filters.responsible_unit, autoescape=True))
    if filters.overdue is True:
        stmt = stmt.where(_overdue_clause(today))
    elif filters.overdue is False:
        stmt = stmt.where(not_(_overdue_clause(today)))
    return stmt.order_by(Problem.raised_at.desc(), Problem.id.desc())


def list_problems(
    session: Session, filters: LoopFilters, page: PageParams
) -> Page[ProblemListItem]:
    """The problems matching the filters, newest first: two statements at any size."""
    today = office_today()
    stmt = _filtered(filters, today)
    # the count reads the problems alone: the joins add a name each, never a row
    count = _filtered(filters, today, select(Problem.id))
    total, rows = paginate(session, stmt, page, count=count)
    return Page(
        items=[_item(r, today) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


#: At most this many rows in one export (the province has a few thousand open problems).
EXPORT_LIMIT = 50_000


def export_problems(session: Session, filters: LoopFilters) -> list[ProblemListItem]:
    """Every problem matching the filters (not one page), newest first: one statement."""
    today = office_today()
    rows = session.execute(_filtered(filters, today).limit(EXPORT_LIMIT)).all()
    return [_item(r, today) for r in rows]


def _steps(session: Session, problem_id: int) -> list[ProblemStepOut]:
    actor = aliased(User)
    rows = session.execute(
        select(ProblemStep, actor.display_name)
        .outerjoin(actor, actor.id == ProblemStep.actor_id)
        .where(ProblemStep.problem_id == problem_id)
        .order_by(ProblemStep.id)
    ).all()
    return [
        ProblemStepOut(
            id=s.id,
            action=s.action,
            action_label=s.action.label_zh,
            from_state=s.from_state,
            to_state=s.to_state,
            from_level=s.from_level,
            to_level=s.to_level,
            actor_id=s.actor_id,
            actor_name=name,
            on_behalf_of=s.on_behalf_of,
            acted_at=s.acted_at,
            note=s.note,
            attachments=s.attachments,
        )
        for s, name in rows
    ]


def _notices(session: Session, problem_id: int, today: dt.date) -> list[NoticeOut]:
    rows = session.execute(
        select(SupervisionNotice, User.display_name)
        .outerjoin(User, User.id == SupervisionNotice.issued_by)
        .where(SupervisionNotice.problem_id == problem_id)
        .order_by(SupervisionNotice.id)
    ).all()
    return [notice_out(n, today, name) for n, name in rows]


def notice_out(notice: SupervisionNotice, today: dt.date, issuer: str | None = None) -> NoticeOut:
    return NoticeOut(
        id=notice.id,
        problem_id=notice.problem_id,
        level=notice.level,
        level_label=notice.level.label_zh,
        note=notice.note,
        due_on=notice.due_on,
        issued_by=notice.issued_by,
        issued_by_name=issuer,
        issued_at=notice.issued_at,
        reply=notice.reply,
        replied_at=notice.replied_at,
        overdue=notice.reply is None and notice.due_on < today,
        version=notice.version,
    )


def problem_detail(session: Session, problem_id: int, actor: Actor) -> ProblemTimeline:
    """The problem, its timeline and notices, and what ``actor`` may do now."""
    today = office_today()
    row = session.execute(_list_stmt().where(Problem.id == problem_id)).one_or_none()
    if row is None:
        raise not_found("problem", problem_id)
    item = _item(row, today)
    problem: Problem = row[0]
    allowed = rules.allowed_for(
        problem.state,
        problem.level,
        edits_chain=actor.edits_chain,
        is_raiser=actor.user_id is not None and actor.user_id == problem.raised_by,
        is_admin=actor.is_admin,
    )
    return ProblemTimeline(
        **item.model_dump(),
        steps=_steps(session, problem_id),
        notices=_notices(session, problem_id, today),
        allowed_actions=list(allowed),
    )


def categories(session: Session) -> list[CategoryOut]:
    rows = session.scalars(select(ProblemCategory).order_by(ProblemCategory.position))
    return [CategoryOut(code=c.code, name_zh=c.name_zh, name_en=c.name_en) for c in rows]


# --- the loop's figures ------------------------------------------------------------------


def _day_end(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` ends in the office's time zone, in UTC."""
    nxt = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), OFFICE_TZ)
    return nxt.astimezone(dt.UTC)


def loop_figures(session: Session, as_of: dt.date | None = None) -> dict[str, Any]:
    """Per chain and for the province, as of a day: raised, open, overdue, closed (on
    time, this month), rated and satisfied, overdue 督办. Two statements at any size.

    "Open on the day" reads the current record: a problem closed by then is closed, one
    closed later was open (a problem reopened by 不满意 counts from its current state).
    """
    day = as_of or office_today()
    end = _day_end(day)
    month_start = day.replace(day=1)
    raised = Problem.raised_at < end
    closed_by = and_(Problem.resolved_on.is_not(None), Problem.resolved_on <= day)
    handled = figures_sql.closed_by(day)
    # Every row counted is raised by the day (the WHERE), so no CASE repeats it.
    open_ = not_(closed_by)

    def n(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, SQL_ONE), else_=SQL_ZERO)), SQL_ZERO)

    stmt = (
        select(
            Problem.chain_id,
            func.count(),
            n(open_),
            n(and_(open_, Problem.deadline.is_not(None), Problem.deadline < day)),
            n(handled),
            n(
                and_(
                    handled,
                    or_(Problem.deadline.is_(None), Problem.resolved_on <= Problem.deadline),
                )
            ),
            n(and_(handled, Problem.resolved_on >= month_start)),
            n(figures_sql.rated()),
            n(figures_sql.satisfied()),
        )
        .where(raised)
        .group_by(Problem.chain_id)
    )
    per_chain = {row[0]: [int(v) for v in row[1:]] for row in session.execute(stmt)}
    notices: dict[int, int] = dict(
        session.execute(  # type: ignore[arg-type]
            select(Problem.chain_id, func.count())
            .join(SupervisionNotice, SupervisionNotice.problem_id == Problem.id)
            .where(
                SupervisionNotice.issued_at < end,
                SupervisionNotice.due_on < day,
                or_(SupervisionNotice.replied_at.is_(None), SupervisionNotice.replied_at >= end),
            )
            .group_by(Problem.chain_id)
        ).all()
    )
    return {"day": day, "per_chain": per_chain, "notices": notices}


FIGURE_KEYS = (
    "raised",
    "open",
    "overdue",
    "closed",
    "closed_on_time",
    "closed_this_month",
    "rated",
    "satisfied",
)


def figures_row(chain_id: int | None, name: str, values: list[int], notices: int) -> dict[str, Any]:
    row: dict[str, Any] = dict(zip(FIGURE_KEYS, values, strict=True))
    rated, satisfied = row["rated"], row["satisfied"]
    row.update(
        chain_id=chain_id,
        chain_name=name,
        satisfaction_rate=round(satisfied / rated, 4) if rated else None,
        overdue_notices=notices,
    )
    return row


def figures(session: Session, as_of: dt.date | None = None) -> dict[str, Any]:
    """The figures with chain names (one more statement): for the endpoint and the pages."""
    raw = loop_figures(session, as_of)
    names: dict[int, str] = dict(
        session.execute(select(Chain.id, Chain.name_zh).order_by(Chain.id)).tuples().all()
    )
    chains = []
    total = [0] * len(FIGURE_KEYS)
    total_notices = 0
    for chain_id, name in names.items():
        values = raw["per_chain"].get(chain_id)
        notices = int(raw["notices"].get(chain_id, 0))
        if values is None and not notices:
            continue
        values = values or [0] * len(FIGURE_KEYS)
        chains.append(figures_row(chain_id, name, values, notices))
        total = [a + b for a, b in zip(total, values, strict=True)]
        total_notices += notices
    return {
        "as_of": raw["day"],
        "chains": chains,
        "province": figures_row(None, "全省", total, total_notices),
    }


def chain_exists(session: Session, chain_id: int) -> None:
    require_chain(session, chain_id)
