"""A problem's steps: every change of the loop is one row, kept for ever."""

from __future__ import annotations

from sqlalchemy.orm import Session

from chaintrack.audit import capture
from chaintrack.models import Problem, ProblemStep
from chaintrack.models.enums import ProblemAction, ProblemLevel, ProblemState


def record_step(
    session: Session,
    problem: Problem,
    action: ProblemAction,
    actor_id: int | None,
    *,
    from_state: ProblemState | None,
    from_level: ProblemLevel | None,
    note: str | None = None,
    on_behalf_of: int | None = None,
) -> ProblemStep:
    step = ProblemStep(
        problem_id=problem.id,
        action=action,
        from_state=from_state,
        to_state=problem.state,
        from_level=from_level,
        to_level=problem.level,
        actor_id=actor_id,
        on_behalf_of=on_behalf_of,
        note=note,
    )
    session.add(step)
    return step


def acting_user(session: Session) -> int | None:
    """The signed-in user of the request's (audited) session; None on the command line."""
    ctx = capture.context(session)
    return ctx.user_id if ctx is not None else None
