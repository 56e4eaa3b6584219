"""Staff accounts and which chains an editor may change."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chaintrack.models.base import Base, TimestampMixin, UTCDateTime, VersionedMixin, enum_type
from chaintrack.models.enums import UserRole


class User(Base, TimestampMixin, VersionedMixin):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    organisation: Mapped[str | None] = mapped_column(String(128))
    role: Mapped[UserRole] = mapped_column(enum_type(UserRole, "role"), default=UserRole.VIEWER)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of every token; bumped on password reset and deactivation, which
    # invalidates the tokens issued before.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class EditorAssignment(Base, TimestampMixin):
    __tablename__ = "editor_assignments"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    chain_id: Mapped[int] = mapped_column(
        ForeignKey("chains.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class LoginThrottleEntry(Base):
    """Failed sign-ins of one account or one client address in the current window.

    Kept in the database so that every worker and host counts the same failures, and
    changed under a row lock so that concurrent guesses are counted one by one
    (chaintrack.auth.throttle). Not audited: it is bookkeeping, not a record.
    """

    __tablename__ = "login_throttle"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "user" | "address"
    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # How many times the limit was passed in this window: each lock lasts twice the last.
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
