"""Enterprises, their yearly key figures and their designations (梯度培育 tiers)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chaintrack.models.base import (
    Base,
    JSONType,
    Money,
    TimestampMixin,
    VersionedMixin,
    enum_type,
)
from chaintrack.models.enums import Level, ListingStatus, Ownership, SizeClass, Tier


class Enterprise(Base, TimestampMixin, VersionedMixin):
    __tablename__ = "enterprises"
    __table_args__ = (
        CheckConstraint("length(uscc) = 18", name="uscc_length"),
        CheckConstraint("length(region_code) = 6", name="region_code_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True, doc="统一社会信用代码")
    name: Mapped[str] = mapped_column(String(200), index=True)
    former_names: Mapped[list[str]] = mapped_column(JSONType, default=list)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    size_class: Mapped[SizeClass | None] = mapped_column(enum_type(SizeClass, "size_class"))
    ownership: Mapped[Ownership | None] = mapped_column(enum_type(Ownership, "ownership"))
    listing_status: Mapped[ListingStatus] = mapped_column(
        enum_type(ListingStatus, "listing_status"), default=ListingStatus.UNLISTED
    )
    stock_code: Mapped[str | None] = mapped_column(String(16))
    founded_on: Mapped[dt.date | None] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)


class EnterpriseFigures(Base, TimestampMixin, VersionedMixin):
    """One enterprise's key figures for one year (万元 for money)."""

    __tablename__ = "enterprise_figures"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "year"),
        CheckConstraint("year BETWEEN 1949 AND 2200", name="year_range"),
        CheckConstraint("revenue IS NULL OR revenue >= 0", name="revenue_non_negative"),
        CheckConstraint("employees IS NULL OR employees >= 0", name="employees_non_negative"),
        CheckConstraint("rd_spend IS NULL OR rd_spend >= 0", name="rd_spend_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int] = mapped_column(Integer)
    revenue: Mapped[Decimal | None] = mapped_column(Money())
    employees: Mapped[int | None] = mapped_column(Integer)
    rd_spend: Mapped[Decimal | None] = mapped_column(Money())


class Designation(Base, TimestampMixin, VersionedMixin):
    """A recognition of an enterprise at a tier. Rows are never deleted: a title
    lost is ``revoked_on``, an expired one ends at ``valid_until``; together they
    are the enterprise's history on the ladder."""

    __tablename__ = "designations"
    __table_args__ = (
        CheckConstraint(
            "valid_until IS NULL OR valid_until >= recognised_on", name="validity_order"
        ),
        CheckConstraint("revoked_on IS NULL OR revoked_on >= recognised_on", name="revoke_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    tier: Mapped[Tier] = mapped_column(
        enum_type(Tier, "tier"), ForeignKey("tiers.code"), index=True
    )
    level: Mapped[Level] = mapped_column(enum_type(Level, "level"))
    batch: Mapped[str | None] = mapped_column(String(64), doc="e.g. 第五批")
    product: Mapped[str | None] = mapped_column(String(200), doc="for a single-champion product")
    issuer: Mapped[str | None] = mapped_column(String(128))
    recognised_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    revoked_on: Mapped[dt.date | None] = mapped_column(Date)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
