"""Request and response bodies for enterprises, key figures and designations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, computed_field, field_validator

from chaintrack.common.schemas import (
    USCC_PATTERN,
    InputModel,
    Money,
    OutputModel,
    RegionCode,
    not_null,
)
from chaintrack.enterprises.rules import STATE_LABELS_ZH, DesignationState
from chaintrack.history import office_today
from chaintrack.models.enums import Level, ListingStatus, Ownership, SizeClass, Tier

# The USCC is checked in the service (chaintrack.identifiers.validate_uscc), so the
# problem can carry the 1-based ``position`` of the wrong character.
UsccText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description=(
            "统一社会信用代码 (USCC, GB 32100-2015), 18 characters. Full-width characters, "
            "lower case and spaces are normalised. A wrong check character is a 422 naming "
            "the position."
        ),
        examples=["91110000600037341L"],
        json_schema_extra={"pattern": USCC_PATTERN},
    ),
]
Name = Annotated[
    str,
    Field(
        min_length=1, max_length=200, description="企业名称", examples=["烟台示例新材料有限公司"]
    ),
]
FormerNames = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=200)]],
    Field(max_length=50, description="曾用名 (former names)", examples=[["烟台示例化工有限公司"]]),
]


def _not_in_future(value: dt.date | None) -> dt.date | None:
    if value is not None and value > office_today():
        raise ValueError("成立日期不能晚于今天 / founded_on cannot be in the future")
    return value


# --------------------------------------------------------------------------- enterprises


class EnterpriseCreate(InputModel):
    uscc: UsccText
    name: Name
    former_names: FormerNames = Field(default_factory=list)
    region_code: RegionCode
    size_class: SizeClass | None = Field(default=None, description="企业规模 large/medium/...")
    ownership: Ownership | None = Field(default=None, description="所有制")
    listing_status: ListingStatus = Field(
        default=ListingStatus.UNLISTED, description="上市情况 (unlisted, main_board, star, ...)"
    )
    stock_code: str | None = Field(default=None, max_length=16, examples=["600000"])
    founded_on: dt.date | None = Field(default=None, description="成立日期")
    address: str | None = Field(default=None, max_length=300)
    note: str | None = Field(default=None, max_length=4000)

    _check_founded = field_validator("founded_on")(_not_in_future)


class EnterpriseUpdate(InputModel):
    """PATCH: only the fields sent are changed. Renaming moves the old name into
    ``former_names``. Changing the USCC is allowed if the new one is valid and free."""

    uscc: UsccText | None = None
    name: Name | None = None
    former_names: FormerNames | None = None
    region_code: RegionCode | None = None
    size_class: SizeClass | None = None
    ownership: Ownership | None = None
    listing_status: ListingStatus | None = None
    stock_code: str | None = Field(default=None, max_length=16)
    founded_on: dt.date | None = None
    address: str | None = Field(default=None, max_length=300)
    note: str | None = Field(default=None, max_length=4000)

    _check_founded = field_validator("founded_on")(_not_in_future)

    _not_null = not_null("uscc", "name", "former_names", "region_code", "listing_status")


class EnterpriseOut(OutputModel):
    id: int
    uscc: str = Field(examples=["91110000600037341L"])
    name: str
    former_names: list[str]
    region_code: str = Field(examples=["370600"])
    size_class: SizeClass | None
    ownership: Ownership | None
    listing_status: ListingStatus
    stock_code: str | None
    founded_on: dt.date | None
    address: str | None
    note: str | None
    current_tiers: list[Tier] = Field(
        default_factory=list,
        description="Tiers held today (梯度培育 current designations), highest rank first",
        examples=[["little_giant", "gazelle"]],
    )
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


# --------------------------------------------------------------------------- figures


class FiguresPut(InputModel):
    """A year's key figures; PUT replaces the row (fields left out become null)."""

    revenue: Money | None = Field(
        default=None, description="营业收入 (万元)", examples=["12500.50"]
    )
    employees: int | None = Field(default=None, ge=0, le=10_000_000, description="从业人数")
    rd_spend: Money | None = Field(default=None, description="研发投入 (万元)", examples=["830"])


class FiguresOut(OutputModel):
    id: int
    enterprise_id: int
    year: int = Field(examples=[2024])
    revenue: Money | None
    employees: int | None
    rd_spend: Money | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


# --------------------------------------------------------------------------- designations


class DesignationCreate(InputModel):
    tier: Tier = Field(description="梯度 (see GET /tiers)", examples=["little_giant"])
    level: Level = Field(
        description="认定层级; must be one the tier allows (GET /tiers → levels)",
        examples=["national"],
    )
    batch: str | None = Field(default=None, max_length=64, examples=["第五批"])
    product: str | None = Field(
        default=None,
        max_length=200,
        description="单项冠军产品名称; required for single_champion_product",
    )
    issuer: str | None = Field(default=None, max_length=128, examples=["工业和信息化部"])
    recognised_on: dt.date = Field(description="认定日期", examples=["2023-07-14"])
    valid_until: dt.date | None = Field(
        default=None, description="有效期至 (inclusive); null = open-ended", examples=["2026-07-13"]
    )


class DesignationUpdate(InputModel):
    """Corrections only: batch, issuer, validity end. Use /revoke to end a title."""

    batch: str | None = Field(default=None, max_length=64)
    issuer: str | None = Field(default=None, max_length=128)
    valid_until: dt.date | None = None


class DesignationRevoke(InputModel):
    revoked_on: dt.date = Field(description="撤销（取消）日期", examples=["2025-03-01"])
    reason: str = Field(
        min_length=1, max_length=2000, description="撤销原因", examples=["复核未通过"]
    )


class DesignationOut(OutputModel):
    id: int
    enterprise_id: int
    tier: Tier
    level: Level
    batch: str | None
    product: str | None
    issuer: str | None
    recognised_on: dt.date
    valid_until: dt.date | None
    revoked_on: dt.date | None
    revoke_reason: str | None
    state: DesignationState = Field(
        description="active / expired / revoked / pending as of today or the as_of date"
    )
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @computed_field(description="梯度名称")  # type: ignore[prop-decorator]
    @property
    def tier_label(self) -> str:
        return self.tier.label_zh

    @computed_field(description="层级名称")  # type: ignore[prop-decorator]
    @property
    def level_label(self) -> str:
        return self.level.label_zh

    @computed_field(description="状态名称")  # type: ignore[prop-decorator]
    @property
    def state_label(self) -> str:
        return STATE_LABELS_ZH[self.state]


class EnterpriseDetail(EnterpriseOut):
    current_designations: list[DesignationOut] = Field(
        default_factory=list, description="Designations in force today"
    )
    latest_figures: FiguresOut | None = Field(
        default=None, description="Key figures of the most recent year on record"
    )
