"""The project lifecycle and the "behind schedule" rule, in one place.

Reports, documentation and the API all read :data:`LIFECYCLE`; nothing else
hard-codes which status may follow which.

    planned ──► signed ──► under_construction ──► completed ──► in_operation
       │          │  ▲            │    ▲
       │          ▼  │            ▼    │
       │        suspended ◄───────┘    │   (resumes to where it stopped,
       │          │                    │    or straight to construction)
       ▼          ▼                    │
    cancelled ◄───┴────────────────────┘
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, or_

from chaintrack.common.sql import consts
from chaintrack.models import Project
from chaintrack.models.enums import ProjectStatus as S

#: Which statuses may follow each status. ``suspended`` may also resume to the
#: status it was suspended from (see :func:`allowed_next`).
LIFECYCLE: dict[S, tuple[S, ...]] = {
    S.PLANNED: (S.SIGNED, S.UNDER_CONSTRUCTION, S.CANCELLED),
    S.SIGNED: (S.UNDER_CONSTRUCTION, S.SUSPENDED, S.CANCELLED),
    S.UNDER_CONSTRUCTION: (S.COMPLETED, S.SUSPENDED, S.CANCELLED),
    S.COMPLETED: (S.IN_OPERATION,),
    S.SUSPENDED: (S.UNDER_CONSTRUCTION, S.CANCELLED),
    S.IN_OPERATION: (),
    S.CANCELLED: (),
}

#: Statuses a project may be registered with.
INITIAL_STATUSES: tuple[S, ...] = (S.PLANNED, S.SIGNED, S.UNDER_CONSTRUCTION)

#: Statuses that need a reason when entered.
REASON_REQUIRED: frozenset[S] = frozenset({S.SUSPENDED, S.CANCELLED})

#: No way out of these.
TERMINAL: frozenset[S] = frozenset(s for s, nxt in LIFECYCLE.items() if not nxt)

#: Construction is over (or will never happen): no longer "behind schedule".
FINISHED: frozenset[S] = frozenset({S.COMPLETED, S.IN_OPERATION, S.CANCELLED})

#: Not yet under construction.
NOT_STARTED: frozenset[S] = frozenset({S.PLANNED, S.SIGNED})


def allowed_next(current: S, suspended_from: S | None = None) -> list[S]:
    """The statuses a project in ``current`` may move to, in lifecycle order.

    ``suspended_from`` is the status a suspended project was suspended from; it may
    resume to it as well as to ``under_construction``.
    """
    nxt = list(LIFECYCLE[current])
    if current is S.SUSPENDED and suspended_from is not None and suspended_from not in nxt:
        nxt.insert(0, suspended_from)
    return nxt


def _label(status: S) -> str:
    return f"`{status.value}` ({status.label_zh})"


def lifecycle_markdown() -> str:
    """The lifecycle as a Markdown list, for OpenAPI descriptions and docs."""
    lines = []
    for status, nxt in LIFECYCLE.items():
        if not nxt:
            targets = "— terminal / 终态"
        else:
            targets = ", ".join(_label(s) for s in nxt)
            if status is S.SUSPENDED:
                targets = "the status it was suspended from / 暂停前的状态, " + targets
        lines.append(f"- {_label(status)} → {targets}")
    return "\n".join(lines)


# --- behind schedule (进度滞后) -------------------------------------------------
#
# A project is behind schedule on ``today`` when
#   (a) its planned completion date has passed and it is not completed, in
#       operation or cancelled; or
#   (b) its planned start date has passed and it has not started (still planned
#       or signed).
# The SQL condition and the Python predicate below are the same rule; keep them
# together.


def behind_schedule_reason(
    status: S | str,
    planned_start: dt.date | None,
    planned_completion: dt.date | None,
    today: dt.date,
) -> str | None:
    """Why one project is behind schedule on ``today`` (None when it is not)."""
    if planned_completion is not None and planned_completion < today and status not in FINISHED:
        return f"计划{planned_completion.isoformat()}竣工，尚未竣工 / past planned completion"
    if planned_start is not None and planned_start < today and status in NOT_STARTED:
        return f"计划{planned_start.isoformat()}开工，尚未开工 / past planned start"
    return None


def is_behind_schedule(
    status: S | str,
    planned_start: dt.date | None,
    planned_completion: dt.date | None,
    today: dt.date,
) -> bool:
    """The rule for one project (for objects already loaded)."""
    return behind_schedule_reason(status, planned_start, planned_completion, today) is not None


def behind_schedule_condition(
    today: dt.date | ColumnElement[dt.date],
    *,
    behind: bool = True,
    status: ColumnElement[str] | None = None,
) -> ColumnElement[bool]:
    """The same rule as a SQL condition on :class:`Project` (for filters and reports).

    ``status`` replaces ``Project.status`` (reports pass the status as of a date).
    ``behind=False`` gives its exact negation (NULL dates count as "not late").
    """
    current = Project.status if status is None else status
    late_finish = and_(
        Project.planned_completion.is_not(None),
        Project.planned_completion < today,
        current.not_in(consts(FINISHED)),
    )
    late_start = and_(
        Project.planned_start.is_not(None),
        Project.planned_start < today,
        current.in_(consts(NOT_STARTED)),
    )
    condition = or_(late_finish, late_start)
    # The IS NOT NULL guards keep the condition TRUE or FALSE (never NULL), so
    # its plain negation is exact.
    return condition if behind else ~condition
