"""Request and response shapes for chain memberships (链上企业)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, computed_field

from chaintrack.common.refs import ChainRef, NodeRef
from chaintrack.common.schemas import InputModel, OutputModel, not_null
from chaintrack.models.enums import MembershipRole


class MembershipCreate(InputModel):
    enterprise_id: int = Field(description="A registered enterprise's id", examples=[42])
    node_id: int | None = Field(
        default=None,
        description="Map node (segment) of the same chain the enterprise sits on; optional",
        examples=[7],
    )
    role: MembershipRole = Field(
        description="chain_master 链主企业 / leading 龙头骨干企业 / supporting 配套企业",
        examples=["leading"],
    )
    started_on: dt.date = Field(description="Day it joined the chain", examples=["2024-01-01"])
    note: str | None = Field(default=None, max_length=2000, examples=["2024年链主企业名单"])


class MembershipUpdate(InputModel):
    role: MembershipRole | None = None
    node_id: int | None = Field(default=None, description="`null` takes it off its node")
    started_on: dt.date | None = Field(default=None, description="Correct the start day")
    note: str | None = Field(default=None, max_length=2000)

    _not_null = not_null("role", "started_on")


class MembershipEnd(InputModel):
    ended_on: dt.date = Field(
        description="First day it is no longer on the chain (not before started_on)",
        examples=["2025-06-30"],
    )
    reason: str | None = Field(
        default=None, max_length=2000, examples=["企业迁出 / the enterprise moved away"]
    )


class EnterpriseSummary(OutputModel):
    id: int
    uscc: str = Field(examples=["91370100MA3C0000XX"])
    name: str = Field(examples=["示例精密机械有限公司"])
    region_code: str = Field(examples=["370100"])


class MembershipOut(OutputModel):
    id: int
    chain_id: int
    chain: ChainRef
    enterprise_id: int
    enterprise: EnterpriseSummary
    node_id: int | None
    node: NodeRef | None
    role: MembershipRole

    @computed_field(examples=["龙头骨干企业"])  # type: ignore[prop-decorator]
    @property
    def role_label(self) -> str:
        return self.role.label_zh

    started_on: dt.date
    ended_on: dt.date | None = Field(description="Empty while the membership is current")
    end_reason: str | None
    note: str | None
    version: int = Field(description="Also sent as the ETag")
    created_at: dt.datetime
    updated_at: dt.datetime
