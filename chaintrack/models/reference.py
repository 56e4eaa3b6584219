"""Reference catalogues loaded from ``seeds/``: regions, tiers and project types."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chaintrack.models.base import Base, JSONType, enum_type
from chaintrack.models.enums import ProjectType, Tier


class Region(Base):
    """A GB/T 2260 administrative division. Historical codes stay, with ``abolished_on``."""

    __tablename__ = "regions"
    __table_args__ = (CheckConstraint("length(code) = 6", name="code_length"),)

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str | None] = mapped_column(String(128))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    abolished_on: Mapped[dt.date | None] = mapped_column(Date)
    successor_code: Mapped[str | None] = mapped_column(String(6))


class TierDefinition(Base):
    """The cultivation ladder (梯度培育): what each tier is and who recognises it."""

    __tablename__ = "tiers"

    code: Mapped[Tier] = mapped_column(enum_type(Tier, "tier"), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    rank: Mapped[int] = mapped_column(doc="Position on the ladder; higher is further up.")
    levels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    description: Mapped[str | None] = mapped_column(Text)


class ProjectTypeDefinition(Base):
    """建链 / 补链 / 延链 / 强链 with their working definitions."""

    __tablename__ = "project_types"

    code: Mapped[ProjectType] = mapped_column(
        enum_type(ProjectType, "project_type"), primary_key=True
    )
    name_zh: Mapped[str] = mapped_column(String(16))
    name_en: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
