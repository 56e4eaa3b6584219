"""Earlier values of assessment targets and of annual tasks (valid-until rows).

When a target's value changes or the target is deleted, and when a task's title, owner,
deadline or evidence changes, the values it had until then are kept in a row that says
from when (``valid_from``) until when (``valid_until``) they were on record. The value
on record at a moment is the earliest kept row still valid then, else the current row;
so scores and task lists as of a past day read what was on record on that day.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chaintrack.models.assessment import Score, SubjectKind
from chaintrack.models.base import Base, JSONType, UTCDateTime, enum_type


class TargetRevision(Base):
    """A target's value as it stood from ``valid_from`` until ``valid_until``.

    ``target_id`` has no foreign key: the row outlives a deleted target (``deleted``
    marks the last value of a target that was deleted at ``valid_until``).
    """

    __tablename__ = "assessment_target_revisions"
    __table_args__ = (Index("ix_assessment_target_revisions_year", "year", "subject_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(Integer, index=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int | None] = mapped_column(Integer)
    indicator_code: Mapped[str] = mapped_column(String(32))
    subject_kind: Mapped[SubjectKind] = mapped_column(enum_type(SubjectKind, "subject_kind"))
    chain_id: Mapped[int | None] = mapped_column(Integer)
    region_code: Mapped[str | None] = mapped_column(String(6))
    value: Mapped[Decimal] = mapped_column(Score())
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    deleted: Mapped[bool] = mapped_column(default=False)


class TaskRevision(Base):
    """A task's title, owner, deadline and evidence until ``valid_until``."""

    __tablename__ = "annual_task_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("annual_tasks.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    owner_unit: Mapped[str] = mapped_column(String(128))
    owner_person: Mapped[str | None] = mapped_column(String(64))
    deadline: Mapped[dt.date] = mapped_column(Date)
    evidence: Mapped[str | None] = mapped_column(Text)
    evidence_files: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
