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
    text,
)
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
from chaintrack.models.enums import ProblemStatus

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


class Problem(Base, TimestampMixin, VersionedMixin):
    """A problem met by a project (存在问题), tracked until resolved."""

    __tablename__ = "problems"
    __table_args__ = (
        CheckConstraint(PERIOD_CHECK, name="period_format"),
        CheckConstraint(
            "(status = 'resolved') = (resolved_on IS NOT NULL)", name="resolved_has_date"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[int | None] = mapped_column(ForeignKey("progress_reports.id"))
    period: Mapped[str] = mapped_column(String(7), doc="the month it was raised")
    description: Mapped[str] = mapped_column(Text)
    responsible_unit: Mapped[str | None] = mapped_column(String(128))
    responsible_person: Mapped[str | None] = mapped_column(String(64))
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[ProblemStatus] = mapped_column(
        enum_type(ProblemStatus, "status"), default=ProblemStatus.OPEN, index=True
    )
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)
