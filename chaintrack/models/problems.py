"""The problem loop's records: the category catalogue, every step, supervision notices.

Steps and notices are kept for ever (nothing here is deleted); a notice's reply is
written once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chaintrack.models.base import (
    Base,
    JSONType,
    UTCDateTime,
    VersionedMixin,
    enum_type,
    utcnow,
)
from chaintrack.models.enums import ProblemAction, ProblemLevel, ProblemState


class ProblemCategory(Base):
    """土地、能耗、环评、资金、用工、审批、要素保障、基础设施、政策、其他 (seeds/reference)."""

    __tablename__ = "problem_categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(32))
    name_en: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)


class ProblemStep(Base):
    """One step of a problem: who, when, what, from which state and level to which."""

    __tablename__ = "problem_steps"
    __table_args__ = (Index("ix_problem_steps_problem", "problem_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"))
    action: Mapped[ProblemAction] = mapped_column(enum_type(ProblemAction, "problem_action"))
    from_state: Mapped[ProblemState | None] = mapped_column(enum_type(ProblemState, "from_state"))
    to_state: Mapped[ProblemState] = mapped_column(enum_type(ProblemState, "to_state"))
    from_level: Mapped[ProblemLevel | None] = mapped_column(enum_type(ProblemLevel, "from_level"))
    to_level: Mapped[ProblemLevel] = mapped_column(enum_type(ProblemLevel, "to_level"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    on_behalf_of: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), doc="an administrator acting for the raiser: the raiser"
    )
    acted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, str]] | None] = mapped_column(
        JSONType, doc="[{name, sha256}] of the files handed in with the step"
    )


class SupervisionNotice(Base, VersionedMixin):
    """督办: a higher level's notice on a problem with a due date; replied to once."""

    __tablename__ = "supervision_notices"
    __table_args__ = (
        CheckConstraint("(replied_at IS NULL) = (reply IS NULL)", name="reply_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(
        ForeignKey("problems.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[ProblemLevel] = mapped_column(
        enum_type(ProblemLevel, "issuing_level"), doc="the level issuing the notice"
    )
    note: Mapped[str] = mapped_column(Text)
    due_on: Mapped[dt.date] = mapped_column(Date)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    replied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
