"""The monthly dispatch (月度调度): progress reports with revisions, and problems.

A report for a project and period (YYYY-MM) is never overwritten: a correction
is a new revision, and the one it replaces gets ``superseded_at``. The current
report has ``superseded_at IS NULL`` (unique per project and period); the report
as it stood at time T is the revision with submitted_at <= T < superseded_at.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from chaintrack.models.base import (
    Base,
    Money,
    Percent,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    enum_type,
    utcnow,
)
from chaintrack.models.enums import (
    ProblemLevel,
    ProblemState,
    ProblemStatus,
    ProblemSubject,
    Satisfaction,
)

PERIOD_CHECK = "length(period) = 7 AND substr(period, 5, 1) = '-'"


class ProgressReport(Base):
    __tablename__ = "progress_reports"
    __table_args__ = (
        UniqueConstraint("project_id", "period", "revision"),
        Index(
            "uq_progress_reports_current",
            "project_id",
            "period",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
        CheckConstraint(PERIOD_CHECK, name="period_format"),
        CheckConstraint("revision >= 1", name="revision_positive"),
        CheckConstraint("investment_month >= 0", name="investment_non_negative"),
        # The upper bound (100 %) is checked by the service: on SQLite the
        # column holds a scaled integer, so only engine-neutral bounds live here.
        CheckConstraint(
            "physical_progress_pct IS NULL OR physical_progress_pct >= 0",
            name="progress_pct_non_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    period: Mapped[str] = mapped_column(String(7), doc="YYYY-MM")
    revision: Mapped[int] = mapped_column(Integer, default=1)
    investment_month: Mapped[Decimal] = mapped_column(Money(), doc="本月完成投资（万元）")
    physical_progress_pct: Mapped[Decimal | None] = mapped_column(Percent(), doc="形象进度 %")
    physical_progress: Mapped[str | None] = mapped_column(Text, doc="形象进度（文字）")
    next_steps: Mapped[str | None] = mapped_column(Text)
    correction_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


def _chain_of_project(context: DefaultExecutionContext) -> int | None:
    """``chain_id`` left out: the project's chain (for rows made as project problems)."""
    project_id = context.get_current_parameters().get("project_id")
    if project_id is None:
        return None
    return context.connection.execute(
        text("SELECT chain_id FROM projects WHERE id = :id"), {"id": project_id}
    ).scalar()


def _state_of_status(context: DefaultExecutionContext) -> str:
    """``state`` left out: a row written as resolved is 已办结, otherwise 待受理."""
    status = context.get_current_parameters().get("status")
    return ProblemState.HANDLED if status == ProblemStatus.RESOLVED else ProblemState.PENDING


#: The states in which a problem counts as resolved (closed) for the reports.
CLOSED_STATES = ("handled", "rated", "returned")


class Problem(Base, TimestampMixin, VersionedMixin):
    """A problem or request (问题 / 诉求) raised on a project, an enterprise or a chain and
    carried through the loop 待受理 → 办理中 → 已办结 → 已评价 (rules in
    ``chaintrack/problems/rules.py``; every step a ``ProblemStep`` row).

    ``status`` (open / resolved) is the coarse view the reports and the as-of rules
    read: resolved exactly when the state is 已办结, 已评价 or 已退回, with
    ``resolved_on`` the day it was closed (cleared when 不满意 reopens it).
    """

    __tablename__ = "problems"
    __table_args__ = (
        CheckConstraint(PERIOD_CHECK, name="period_format"),
        CheckConstraint(
            "(status = 'resolved') = (resolved_on IS NOT NULL)", name="resolved_has_date"
        ),
        CheckConstraint(
            "(status = 'resolved') = (state IN ('handled', 'rated', 'returned'))",
            name="status_follows_state",
        ),
        CheckConstraint(
            "(subject = 'project') = (project_id IS NOT NULL)"
            " AND (subject = 'enterprise') = (enterprise_id IS NOT NULL)",
            name="subject_has_its_id",
        ),
        CheckConstraint(
            "(state = 'rated') = (satisfaction IS NOT NULL)", name="rated_has_satisfaction"
        ),
        Index("ix_problems_chain_state", "chain_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[ProblemSubject] = mapped_column(
        enum_type(ProblemSubject, "problem_subject"),
        default=ProblemSubject.PROJECT,
        server_default=ProblemSubject.PROJECT.value,
    )
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id"), default=_chain_of_project)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("progress_reports.id"))
    period: Mapped[str] = mapped_column(String(7), doc="the month it was raised")
    category: Mapped[str] = mapped_column(
        ForeignKey("problem_categories.code"), default="other", server_default="other"
    )
    description: Mapped[str] = mapped_column(Text)
    raised_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.current_timestamp()
    )
    level: Mapped[ProblemLevel] = mapped_column(
        enum_type(ProblemLevel, "problem_level"),
        default=ProblemLevel.COUNTY,
        server_default=ProblemLevel.COUNTY.value,
    )
    responsible_unit: Mapped[str | None] = mapped_column(String(128))
    responsible_person: Mapped[str | None] = mapped_column(String(64))
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    state: Mapped[ProblemState] = mapped_column(
        enum_type(ProblemState, "problem_state"),
        default=_state_of_status,
        server_default=ProblemState.PENDING.value,
    )
    status: Mapped[ProblemStatus] = mapped_column(
        enum_type(ProblemStatus, "status"), default=ProblemStatus.OPEN, index=True
    )
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)
    satisfaction: Mapped[Satisfaction | None] = mapped_column(
        enum_type(Satisfaction, "satisfaction")
    )
    return_reason: Mapped[str | None] = mapped_column(Text)
