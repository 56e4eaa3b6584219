"""Chain groups, chains and their leadership (总链长 / 链长 / 副链长 / 联络员)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chaintrack.models.base import Base, TimestampMixin, VersionedMixin, enum_type
from chaintrack.models.enums import ChainStatus, LeaderRole


class ChainGroup(Base, TimestampMixin, VersionedMixin):
    """A family of chains, e.g. 新增长极 (new growth poles)."""

    __tablename__ = "chain_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Chain(Base, TimestampMixin, VersionedMixin):
    __tablename__ = "chains"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("chain_groups.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(6), default="370000")
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ChainStatus] = mapped_column(
        enum_type(ChainStatus, "status"), default=ChainStatus.ACTIVE
    )

    group: Mapped[ChainGroup | None] = relationship(lazy="raise")


class ChainLeader(Base, TimestampMixin, VersionedMixin):
    """A person's term in a leadership role on a chain."""

    __tablename__ = "chain_leaders"
    __table_args__ = (CheckConstraint("end_on IS NULL OR end_on >= start_on", name="term_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"), index=True)
    role: Mapped[LeaderRole] = mapped_column(enum_type(LeaderRole, "role"))
    person_name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(128))
    organisation: Mapped[str | None] = mapped_column(String(128))
    start_on: Mapped[dt.date] = mapped_column(Date)
    end_on: Mapped[dt.date | None] = mapped_column(Date)
