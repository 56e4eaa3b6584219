"""What was true on a date: the as-of rules every query shares.

Business time (dates staff record) decides memberships, designations, leader
terms, project statuses and problems; transaction time (when a report was
filed) decides which progress revision was on record, so a correction filed
later never changes a report as of before it was filed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from chaintrack.identifiers import Period
from chaintrack.models import (
    ChainLeader,
    Designation,
    Membership,
    Problem,
    ProgressReport,
    Project,
    ProjectStatusChange,
)
from chaintrack.models.enums import ProblemStatus

# Offices work on Beijing time: "the end of a day" is midnight there.
OFFICE_TZ = ZoneInfo("Asia/Shanghai")


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` in the office time zone, as UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), OFFICE_TZ).astimezone(dt.UTC)


def office_today() -> dt.date:
    return dt.datetime.now(OFFICE_TZ).date()


def membership_current(
    day: dt.date | ColumnElement[dt.date], membership: Any = Membership
) -> ColumnElement[bool]:
    """Started on or before ``day`` and not ended by then (``ended_on`` is exclusive).

    ``membership`` may be an alias of Membership, for queries that join it twice.
    """
    return and_(
        membership.started_on <= day,
        or_(membership.ended_on.is_(None), membership.ended_on > day),
    )


def designation_active(day: dt.date | ColumnElement[dt.date]) -> ColumnElement[bool]:
    return and_(
        Designation.recognised_on <= day,
        or_(Designation.valid_until.is_(None), Designation.valid_until >= day),
        or_(Designation.revoked_on.is_(None), Designation.revoked_on > day),
    )


def leader_current(day: dt.date | ColumnElement[dt.date]) -> ColumnElement[bool]:
    """In office on ``day``; ``end_on`` is the successor's first day (exclusive)."""
    return and_(
        ChainLeader.start_on <= day,
        or_(ChainLeader.end_on.is_(None), ChainLeader.end_on > day),
    )


def revision_on_record(
    cutoff: dt.datetime | ColumnElement[dt.datetime] | None,
) -> ColumnElement[bool]:
    """The progress revision that was current at ``cutoff`` (None: current now)."""
    if cutoff is None:
        return ProgressReport.superseded_at.is_(None)
    return and_(
        ProgressReport.submitted_at < cutoff,
        or_(ProgressReport.superseded_at.is_(None), ProgressReport.superseded_at >= cutoff),
    )


def problem_open(
    day: dt.date | ColumnElement[dt.date], month: str | ColumnElement[str] | None = None
) -> ColumnElement[bool]:
    """Raised in or before the month of ``day`` (``month``, YYYY-MM) and not resolved by then."""
    if month is None:
        assert isinstance(day, dt.date)
        month = str(Period.of(day))
    return and_(
        Problem.period <= month,
        or_(Problem.resolved_on.is_(None), Problem.resolved_on > day),
        or_(Problem.status == ProblemStatus.OPEN, Problem.resolved_on.is_not(None)),
    )


def status_as_of(
    day: dt.date | ColumnElement[dt.date], chain_id: int | ColumnElement[int] | None = None
) -> Select[tuple[int, str]]:
    """(project_id, status) for every project (of one chain) that had a status on ``day``.

    A project appears only once its first status date has passed, so a report
    as of an earlier day does not show projects registered later.
    """
    inner = select(
        ProjectStatusChange.project_id.label("project_id"),
        ProjectStatusChange.to_status.label("status"),
        func.row_number()
        .over(
            partition_by=ProjectStatusChange.project_id,
            order_by=(ProjectStatusChange.changed_on.desc(), ProjectStatusChange.id.desc()),
        )
        .label("rn"),
    ).where(ProjectStatusChange.changed_on <= day)
    if chain_id is not None:
        inner = inner.join(Project, Project.id == ProjectStatusChange.project_id).where(
            Project.chain_id == chain_id
        )
    ranked = inner.subquery()
    return select(ranked.c.project_id, ranked.c.status).where(ranked.c.rn == 1)
