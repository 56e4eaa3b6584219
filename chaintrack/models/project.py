"""Chain-building projects (建链、补链、延链、强链), targets, plans and status history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from chaintrack.models.base import (
    Base,
    Money,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    enum_type,
    utcnow,
)
from chaintrack.models.enums import ProjectLevel, ProjectNature, ProjectStatus, ProjectType


class Project(Base, TimestampMixin, VersionedMixin):
    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("chain_id", "id"),
        CheckConstraint("total_investment >= 0", name="total_investment_non_negative"),
        CheckConstraint(
            "planned_completion IS NULL OR planned_start IS NULL "
            "OR planned_completion >= planned_start",
            name="planned_order",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id"), index=True)
    internal_code: Mapped[str] = mapped_column(String(32), unique=True, doc="the office's own code")
    national_code: Mapped[str | None] = mapped_column(
        String(32), unique=True, doc="national investment project code (GB/T 40058-2021)"
    )
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[ProjectType] = mapped_column(
        enum_type(ProjectType, "type"), ForeignKey("project_types.code"), index=True
    )
    owner_enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id"), index=True
    )
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    location: Mapped[str | None] = mapped_column(String(200))
    development_zone: Mapped[str | None] = mapped_column(String(128))
    nature: Mapped[ProjectNature] = mapped_column(
        enum_type(ProjectNature, "nature"), default=ProjectNature.NEW
    )
    level: Mapped[ProjectLevel] = mapped_column(
        enum_type(ProjectLevel, "level"), default=ProjectLevel.PROVINCIAL
    )
    goals: Mapped[str | None] = mapped_column(Text, doc="建设目标")
    content: Mapped[str | None] = mapped_column(Text, doc="建设规模及内容")
    responsible_leader: Mapped[str | None] = mapped_column(String(64), doc="挂点领导")
    responsible_unit: Mapped[str | None] = mapped_column(String(128))
    contact: Mapped[str | None] = mapped_column(String(128))
    planned_start: Mapped[dt.date | None] = mapped_column(Date)
    planned_completion: Mapped[dt.date | None] = mapped_column(Date)
    actual_start: Mapped[dt.date | None] = mapped_column(Date)
    actual_completion: Mapped[dt.date | None] = mapped_column(Date)
    total_investment: Mapped[Decimal] = mapped_column(Money(), doc="万元")
    status: Mapped[ProjectStatus] = mapped_column(
        enum_type(ProjectStatus, "status"), default=ProjectStatus.PLANNED, index=True
    )


class ProjectTarget(Base):
    """A map node the project addresses (its gap or strength)."""

    __tablename__ = "project_targets"
    __table_args__ = (
        ForeignKeyConstraint(
            ["chain_id", "project_id"],
            ["projects.chain_id", "projects.id"],
            name="fk_project_targets_project_same_chain",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["chain_id", "node_id"],
            ["map_nodes.chain_id", "map_nodes.id"],
            name="fk_project_targets_node_same_chain",
            ondelete="CASCADE",
        ),
    )

    project_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    chain_id: Mapped[int] = mapped_column(Integer)


class ProjectAnnualPlan(Base, TimestampMixin):
    __tablename__ = "project_annual_plans"
    __table_args__ = (
        CheckConstraint("planned_investment >= 0", name="planned_non_negative"),
        CheckConstraint("year BETWEEN 2000 AND 2200", name="year_range"),
    )

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    planned_investment: Mapped[Decimal] = mapped_column(Money(), doc="万元")


class ProjectStatusChange(Base):
    """One step of a project's lifecycle; the first row records its creation status."""

    __tablename__ = "project_status_changes"
    __table_args__ = (
        # The status-as-of window (history.status_as_of): a project's changes up to a day,
        # latest first, read from the index alone. Also serves look-ups by project.
        Index("ix_project_status_changes_as_of", "project_id", "changed_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    from_status: Mapped[ProjectStatus | None] = mapped_column(
        enum_type(ProjectStatus, "from_status")
    )
    to_status: Mapped[ProjectStatus] = mapped_column(enum_type(ProjectStatus, "to_status"))
    changed_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
