"""The monthly dispatch round (调度轮次), reporters' scopes, the review of reports, the inbox.

A round is opened for a period with a deadline and the chains it covers; which projects
are due is computed (chaintrack.dispatch.rounds), never stored. A report submitted by a
reporter is reviewed: ``report_reviews`` holds the state of a project's month (one row
per project and period, pointing at the revision under review), ``review_events`` the
history (submit → return → resubmit → accept), never rewritten.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chaintrack.models.base import (
    Base,
    JSONType,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    enum_type,
    utcnow,
)
from chaintrack.models.enums import ReviewAction, ReviewState


class DispatchRound(Base, TimestampMixin, VersionedMixin):
    __tablename__ = "dispatch_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), unique=True, doc="YYYY-MM")
    deadline: Mapped[dt.date] = mapped_column(Date, doc="报送截止日")
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DispatchRoundChain(Base):
    __tablename__ = "dispatch_round_chains"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("dispatch_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id"), primary_key=True, index=True)


class ReporterScope(Base, TimestampMixin):
    """A reporter's region (a city covers its counties) and optionally one owner enterprise."""

    __tablename__ = "reporter_scopes"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    region_code: Mapped[str] = mapped_column(String(6))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))


class ReportReview(Base, TimestampMixin, VersionedMixin):
    """The review state of one project's month: the revision under review and its state."""

    __tablename__ = "report_reviews"
    __table_args__ = (UniqueConstraint("project_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    report_id: Mapped[int] = mapped_column(ForeignKey("progress_reports.id"), index=True)
    state: Mapped[ReviewState] = mapped_column(enum_type(ReviewState, "state"), index=True)
    reason: Mapped[str | None] = mapped_column(Text, doc="退回原因")
    warnings: Mapped[list[str]] = mapped_column(JSONType, default=list)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ReviewEvent(Base):
    __tablename__ = "review_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("report_reviews.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[int] = mapped_column(ForeignKey("progress_reports.id"))
    revision: Mapped[int] = mapped_column(Integer)
    action: Mapped[ReviewAction] = mapped_column(enum_type(ReviewAction, "action"))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Notification(Base):
    """An in-app message to a user (the reporters' inbox)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("dispatch_rounds.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
