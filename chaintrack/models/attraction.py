"""Investment attraction (招商): leads tied to the map's gaps, their dated steps and funds.

A lead moves along :data:`chaintrack.attraction.pipeline.PIPELINE`; every move (and every
contact that moves nothing) is an :class:`AttractionStep`. At 落地 the lead points at the
enterprise it became and at the fill / extend project it started; those rows are made
through their own services.
"""

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
from chaintrack.models.enums import LabelledEnum


class LeadStage(LabelledEnum):
    LEAD = "lead", "线索"
    CONTACT = "contact", "接洽"
    VISIT = "visit", "考察"
    NEGOTIATION = "negotiation", "洽谈"
    SIGNED = "signed", "签约"
    LANDED = "landed", "落地（注册）"
    STARTED = "started", "开工"
    TERMINATED = "terminated", "终止"


class LeadSource(LabelledEnum):
    """The catalogue in ``seeds/reference/attraction_sources.json`` (a test holds them equal)."""

    CHAIN_MASTER = "chain_master", "链主推荐"
    EXPO = "expo", "展会"
    OVERSEAS_OFFICE = "overseas_office", "驻外机构"
    BY_BUSINESS = "by_business", "以商招商"
    OTHER = "other", "其他"


class AttractionLead(Base, TimestampMixin, VersionedMixin):
    __tablename__ = "attraction_leads"
    __table_args__ = (
        UniqueConstraint("chain_id", "id"),
        ForeignKeyConstraint(
            ["chain_id", "project_id"],
            ["projects.chain_id", "projects.id"],
            name="fk_attraction_leads_project_same_chain",
        ),
        CheckConstraint("intended_investment >= 0", name="intended_non_negative"),
        CheckConstraint("signed_amount IS NULL OR signed_amount >= 0", name="signed_non_negative"),
        CheckConstraint("uscc IS NOT NULL OR origin IS NOT NULL", name="uscc_or_origin"),
        CheckConstraint(
            "(stage = 'terminated') = (terminated_from IS NOT NULL)", name="terminated_state"
        ),
        Index("ix_attraction_leads_chain_stage", "chain_id", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id"), index=True)
    company_name: Mapped[str] = mapped_column(String(200), doc="目标企业")
    uscc: Mapped[str | None] = mapped_column(String(18), index=True, doc="统一社会信用代码")
    origin: Mapped[str | None] = mapped_column(String(64), doc="来源国家或省份")
    source: Mapped[LeadSource] = mapped_column(enum_type(LeadSource, "source"))
    intended_investment: Mapped[Decimal] = mapped_column(Money(), doc="意向投资（万元）")
    responsible_unit: Mapped[str] = mapped_column(String(128))
    responsible_person: Mapped[str] = mapped_column(String(64))
    stage: Mapped[LeadStage] = mapped_column(enum_type(LeadStage, "stage"), index=True)
    stage_on: Mapped[dt.date] = mapped_column(Date, doc="date the current stage was reached")
    terminated_from: Mapped[LeadStage | None] = mapped_column(
        enum_type(LeadStage, "terminated_from")
    )
    termination_reason: Mapped[str | None] = mapped_column(Text)
    signed_amount: Mapped[Decimal | None] = mapped_column(Money(), doc="签约金额（万元）")
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(Integer, index=True)
    note: Mapped[str | None] = mapped_column(Text)


class AttractionLeadNode(Base):
    """A map node (of the lead's chain) the lead would fill."""

    __tablename__ = "attraction_lead_nodes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["chain_id", "lead_id"],
            ["attraction_leads.chain_id", "attraction_leads.id"],
            name="fk_attraction_lead_nodes_lead_same_chain",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["chain_id", "node_id"],
            ["map_nodes.chain_id", "map_nodes.id"],
            name="fk_attraction_lead_nodes_node_same_chain",
        ),
    )

    lead_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    chain_id: Mapped[int] = mapped_column(Integer)


class AttractionStep(Base):
    """One dated step: who, what happened, the next step and the next contact."""

    __tablename__ = "attraction_steps"
    __table_args__ = (Index("ix_attraction_steps_lead", "lead_id", "happened_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("attraction_leads.id", ondelete="CASCADE"))
    from_stage: Mapped[LeadStage | None] = mapped_column(enum_type(LeadStage, "from_stage"))
    to_stage: Mapped[LeadStage] = mapped_column(enum_type(LeadStage, "to_stage"))
    happened_on: Mapped[dt.date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(64), doc="who (经办人)")
    summary: Mapped[str] = mapped_column(Text, doc="what happened")
    next_step: Mapped[str | None] = mapped_column(Text)
    next_contact_on: Mapped[dt.date | None] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AttractionFunds(Base, TimestampMixin):
    """Funds received (到位资金) for a lead in one month, 万元."""

    __tablename__ = "attraction_funds"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_non_negative"),)

    lead_id: Mapped[int] = mapped_column(
        ForeignKey("attraction_leads.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(7), primary_key=True, doc="YYYY-MM")
    amount: Mapped[Decimal] = mapped_column(Money())
