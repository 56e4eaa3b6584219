"""The loop's rules in one place: which action each state allows, who may take it, and
how an escalation resets the deadline.

States: 待受理 (pending) → 办理中 (in_progress) → 已办结 (handled) → 已评价 (rated);
退回 (returned) from 待受理 ends it as not a real problem. 上报 (escalate) moves the
problem one level up (县 → 市 → 省专班 → 链长) and back to 待受理 there, with a new
deadline: ``ESCALATION_DAYS[new level]`` days from the day it is escalated. The raiser's
不满意 reopens a handled problem (办理中 at the same level).
"""

from __future__ import annotations

import datetime as dt

from chaintrack.models.enums import ProblemAction, ProblemLevel, ProblemState

LEVELS: tuple[ProblemLevel, ...] = tuple(ProblemLevel)

#: Days a level has to handle a problem from the day it arrives there (上报 resets it).
ESCALATION_DAYS: dict[ProblemLevel, int] = {
    ProblemLevel.COUNTY: 15,
    ProblemLevel.CITY: 15,
    ProblemLevel.PROVINCE: 20,
    ProblemLevel.LEADER: 30,
}

#: Actions by state (before the top-level check for 上报).
BY_STATE: dict[ProblemState, tuple[ProblemAction, ...]] = {
    ProblemState.PENDING: (
        ProblemAction.ACCEPT,
        ProblemAction.RETURN,
        ProblemAction.ESCALATE,
        ProblemAction.ASSIGN,
        ProblemAction.SUPERVISE,
    ),
    ProblemState.IN_PROGRESS: (
        ProblemAction.HANDLE,
        ProblemAction.ESCALATE,
        ProblemAction.ASSIGN,
        ProblemAction.SUPERVISE,
    ),
    ProblemState.HANDLED: (ProblemAction.RATE,),
    ProblemState.RATED: (),
    ProblemState.RETURNED: (),
}

#: The action only the raiser (or an administrator acting for them) takes.
RAISER_ACTIONS = frozenset({ProblemAction.RATE})

OPEN_STATES = (ProblemState.PENDING, ProblemState.IN_PROGRESS)
CLOSED_STATES = (ProblemState.HANDLED, ProblemState.RATED, ProblemState.RETURNED)


def next_level(level: ProblemLevel) -> ProblemLevel | None:
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def higher_levels(level: ProblemLevel) -> tuple[ProblemLevel, ...]:
    return LEVELS[LEVELS.index(level) + 1 :]


def deadline_at(level: ProblemLevel, day: dt.date) -> dt.date:
    return day + dt.timedelta(days=ESCALATION_DAYS[level])


def allowed_by_state(state: ProblemState, level: ProblemLevel) -> tuple[ProblemAction, ...]:
    """What the problem's state allows now, whoever asks."""
    actions = BY_STATE[state]
    if next_level(level) is None:
        # nothing above the 链长: no escalation and no one to issue a 督办
        actions = tuple(
            a for a in actions if a not in (ProblemAction.ESCALATE, ProblemAction.SUPERVISE)
        )
    return actions


def allowed_for(
    state: ProblemState,
    level: ProblemLevel,
    *,
    edits_chain: bool,
    is_raiser: bool,
    is_admin: bool,
) -> tuple[ProblemAction, ...]:
    """What this user may do now: editors of the chain (and administrators) the office
    actions, the raiser (or an administrator for them) the rating."""
    out = []
    for action in allowed_by_state(state, level):
        if action in RAISER_ACTIONS:
            if is_raiser or is_admin:
                out.append(action)
        elif edits_chain or is_admin:
            out.append(action)
    return tuple(out)


def is_overdue(state: ProblemState, deadline: dt.date | None, today: dt.date) -> bool:
    return state in OPEN_STATES and deadline is not None and deadline < today
