"""The yearly assessment (考核): annual task lists, indicators, targets, schemes and
the data the scoring reads besides the recorded facts (hand-entered figures, bonus and
deduction items).

A task's status is history: every progress note may change it, so the list as of a
day shows the status of the last note on or before that day. A scheme is versioned
per year; a published version is frozen (the service refuses changes with 409).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from chaintrack.models.base import (
    Base,
    ExactDecimal,
    JSONType,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    enum_type,
)
from chaintrack.models.enums import LabelledEnum


class TaskStatus(LabelledEnum):
    NOT_STARTED = "not_started", "未开始"
    IN_PROGRESS = "in_progress", "推进中"
    DONE = "done", "已完成"
    LAGGING = "lagging", "滞后"


class IndicatorKind(LabelledEnum):
    """How an indicator's figure is obtained: computed from recorded data, or entered."""

    INVESTMENT_COMPLETED = "investment_completed", "完成投资（万元）"
    PROJECTS_STARTED = "projects_started", "新开工项目数"
    PROJECTS_COMPLETED = "projects_completed", "竣工项目数"
    NEW_MEMBERS = "new_members", "新增链上企业数"
    NEW_DESIGNATIONS = "new_designations", "新增梯度培育企业数"
    PROBLEMS_CLOSED_ON_TIME = "problems_closed_on_time", "按期解决问题数"
    REPORTING_RATE = "reporting_rate", "调度报送率（%）"
    LEADS_SIGNED = "leads_signed", "招商签约项目数"
    FUNDS_RECEIVED = "funds_received", "到位资金（万元）"
    MANUAL = "manual", "手工填报"


class ScoringRule(LabelledEnum):
    LINEAR = "linear", "按完成比例计分（封顶）"
    THRESHOLDS = "thresholds", "分档计分"
    PER_ITEM = "per_item", "按件计分"


class SchemeStatus(LabelledEnum):
    DRAFT = "draft", "草稿"
    PUBLISHED = "published", "已发布"


class SubjectKind(LabelledEnum):
    CHAIN = "chain", "产业链"
    CITY = "city", "城市"


def Score() -> ExactDecimal:
    return ExactDecimal(20, 4)


SUBJECT_CHECK = (
    "(subject_kind = 'chain' AND chain_id IS NOT NULL AND region_code IS NULL) OR "
    "(subject_kind = 'city' AND chain_id IS NULL AND region_code IS NOT NULL)"
)
QUARTER_CHECK = "quarter IS NULL OR quarter BETWEEN 1 AND 4"


class AnnualTask(Base, TimestampMixin, VersionedMixin):
    """One task of a chain's annual task list (年度任务清单)."""

    __tablename__ = "annual_tasks"
    __table_args__ = (
        CheckConstraint("year BETWEEN 2000 AND 2200", name="year_range"),
        Index("ix_annual_tasks_chain_year", "chain_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    owner_unit: Mapped[str] = mapped_column(String(128), doc="责任单位")
    owner_person: Mapped[str | None] = mapped_column(String(64), doc="责任人")
    deadline: Mapped[dt.date] = mapped_column(Date)
    listed_on: Mapped[dt.date] = mapped_column(Date, doc="列入清单的日期")
    status: Mapped[TaskStatus] = mapped_column(
        enum_type(TaskStatus, "status"), default=TaskStatus.NOT_STARTED
    )
    evidence: Mapped[str | None] = mapped_column(Text, doc="佐证材料说明")
    evidence_files: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType, default=list, doc="[{name, sha256}]"
    )


class TaskNote(Base, TimestampMixin):
    """A dated progress note on a task; ``status`` set when the note changes it."""

    __tablename__ = "annual_task_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("annual_tasks.id", ondelete="CASCADE"), index=True
    )
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"))
    noted_on: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[TaskStatus | None] = mapped_column(enum_type(TaskStatus, "status"))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Indicator(Base, TimestampMixin, VersionedMixin):
    """An entry of the indicator catalogue."""

    __tablename__ = "indicators"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    kind: Mapped[IndicatorKind] = mapped_column(enum_type(IndicatorKind, "kind"))
    params: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, doc="e.g. {'project_type': 'fill'} or {'tier': 'little_giant'}"
    )
    unit: Mapped[str] = mapped_column(String(16), default="")
    description: Mapped[str | None] = mapped_column(Text)


class AssessmentTarget(Base, TimestampMixin, VersionedMixin):
    """A chain's or a city's target for an indicator, for a year or a quarter of it."""

    __tablename__ = "assessment_targets"
    __table_args__ = (
        CheckConstraint(SUBJECT_CHECK, name="subject"),
        CheckConstraint(QUARTER_CHECK, name="quarter_range"),
        CheckConstraint("value >= 0", name="value_non_negative"),
        Index("ix_assessment_targets_year", "year", "subject_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int | None] = mapped_column(Integer)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicators.code"))
    subject_kind: Mapped[SubjectKind] = mapped_column(enum_type(SubjectKind, "subject_kind"))
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"))
    region_code: Mapped[str | None] = mapped_column(String(6))
    value: Mapped[Decimal] = mapped_column(Score())


class IndicatorFigure(Base, TimestampMixin, VersionedMixin):
    """A hand-entered figure (e.g. 营业收入 from statistics) with its source."""

    __tablename__ = "indicator_figures"
    __table_args__ = (
        CheckConstraint(SUBJECT_CHECK, name="subject"),
        CheckConstraint(QUARTER_CHECK, name="quarter_range"),
        Index("ix_indicator_figures_year", "year", "subject_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int | None] = mapped_column(Integer)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicators.code"))
    subject_kind: Mapped[SubjectKind] = mapped_column(enum_type(SubjectKind, "subject_kind"))
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"))
    region_code: Mapped[str | None] = mapped_column(String(6))
    value: Mapped[Decimal] = mapped_column(Score())
    source: Mapped[str] = mapped_column(String(200), doc="数据来源")


class AssessmentScheme(Base, TimestampMixin, VersionedMixin):
    """One version of a year's scheme; ``items`` hold the indicators, weights and rules."""

    __tablename__ = "assessment_schemes"
    __table_args__ = (UniqueConstraint("year", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer, doc="version number within the year")
    name: Mapped[str] = mapped_column(String(200))
    total_weight: Mapped[Decimal] = mapped_column(Score(), default=Decimal(100))
    status: Mapped[SchemeStatus] = mapped_column(
        enum_type(SchemeStatus, "status"), default=SchemeStatus.DRAFT
    )
    items: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType, default=list, doc="[{indicator_code, weight, rule, params}]"
    )
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ScoreAdjustment(Base, TimestampMixin, VersionedMixin):
    """A bonus (加分, positive) or deduction (扣分, negative) with its reason."""

    __tablename__ = "score_adjustments"
    __table_args__ = (
        CheckConstraint(SUBJECT_CHECK, name="subject"),
        CheckConstraint(QUARTER_CHECK, name="quarter_range"),
        CheckConstraint("points <> 0", name="points_non_zero"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int | None] = mapped_column(Integer)
    subject_kind: Mapped[SubjectKind] = mapped_column(enum_type(SubjectKind, "subject_kind"))
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"))
    region_code: Mapped[str | None] = mapped_column(String(6))
    points: Mapped[Decimal] = mapped_column(Score())
    reason: Mapped[str] = mapped_column(Text)
    decided_on: Mapped[dt.date] = mapped_column(Date)
