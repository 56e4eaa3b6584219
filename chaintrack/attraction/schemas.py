"""Request and response bodies for investment attraction (招商)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field

from chaintrack.common.refs import ChainRef, EnterpriseRef, NodeRef, ProjectRef
from chaintrack.common.schemas import InputModel, Money, OutputModel, Period, RegionCode
from chaintrack.models.attraction import LeadSource, LeadStage
from chaintrack.models.enums import ProjectType

_QUANTUM = Decimal("0.0001")
OutMoney = Annotated[
    Decimal,
    AfterValidator(lambda v: v.quantize(_QUANTUM)),
    Field(description="万元, exact decimal (sent as a string)", examples=["5000.0000"]),
]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]


class LeadCreate(InputModel):
    """A new lead (招商线索) on one or more map nodes of its chain; it starts at 线索."""

    chain_id: int = Field(gt=0, examples=[1])
    company_name: Text200 = Field(description="目标企业", examples=["示例精密部件有限公司"])
    uscc: str | None = Field(
        default=None,
        max_length=64,
        description="统一社会信用代码, if the company has one in China (checked like everywhere)",
    )
    origin: str | None = Field(
        default=None,
        max_length=64,
        description="来源国家或省份; required when there is no USCC",
        examples=["德国", "江苏省"],
    )
    source: LeadSource = Field(description="线索来源 (catalogue: /api/v1/attraction/sources)")
    intended_investment: Money = Field(description="意向投资（万元）")
    responsible_unit: str = Field(min_length=1, max_length=128, examples=["烟台市商务局"])
    responsible_person: str = Field(min_length=1, max_length=64, examples=["王某"])
    node_ids: list[int] = Field(
        min_length=1, max_length=50, description="Map nodes of the same chain it would fill"
    )
    found_on: dt.date | None = Field(default=None, description="线索日期 (default today)")
    note: str | None = Field(default=None, max_length=4000)


class StepIn(InputModel):
    """A dated step. ``to_stage`` moves the lead (one stage forward, or 终止 with a
    reason); without it the step records a contact. 落地 goes through ``/land``."""

    to_stage: LeadStage | None = Field(default=None, examples=["contact"])
    happened_on: dt.date = Field(description="日期 (not in the future)")
    actor: str = Field(min_length=1, max_length=64, description="经办人", examples=["王某"])
    summary: str = Field(min_length=1, max_length=4000, description="情况")
    next_step: str | None = Field(default=None, max_length=2000, description="下一步")
    next_contact_on: dt.date | None = Field(default=None, description="下次联系日期")
    reason: str | None = Field(default=None, max_length=2000, description="终止原因")
    signed_amount: Money | None = Field(default=None, description="签约金额（万元）, at 签约")


class FundsIn(InputModel):
    period: Period = Field(description="Month YYYY-MM")
    amount: Money = Field(description="到位资金（万元）for that month; replaces a previous one")


class LandIn(InputModel):
    """落地: register (or link to) the enterprise and start the project on the lead's nodes."""

    happened_on: dt.date
    actor: str = Field(min_length=1, max_length=64)
    uscc: str | None = Field(
        default=None, max_length=64, description="The registered enterprise's USCC"
    )
    enterprise_name: Text200 | None = Field(default=None, description="default: the lead's")
    region_code: RegionCode
    project_name: Text200
    project_type: ProjectType = Field(default=ProjectType.FILL, description="fill or extend")
    total_investment: Money | None = Field(default=None, description="default: signed amount")
    summary: str | None = Field(default=None, max_length=4000)


class LeadStepOut(OutputModel):
    id: int
    from_stage: LeadStage | None
    to_stage: LeadStage
    happened_on: dt.date
    actor: str
    summary: str
    next_step: str | None
    next_contact_on: dt.date | None
    recorded_by: int | None


class FundsOut(OutputModel):
    period: str
    amount: OutMoney


class LeadListItem(OutputModel):
    id: int
    chain: ChainRef
    company_name: str
    uscc: str | None
    origin: str | None
    source: LeadSource
    intended_investment: OutMoney
    responsible_unit: str
    responsible_person: str
    stage: LeadStage
    stage_label: str
    stage_on: dt.date
    signed_amount: OutMoney | None
    nodes: list[NodeRef]
    enterprise_id: int | None
    project_id: int | None
    version: int


class LeadOut(LeadListItem):
    terminated_from: LeadStage | None
    termination_reason: str | None
    signed_on: dt.date | None
    note: str | None
    enterprise: EnterpriseRef | None
    project: ProjectRef | None
    allowed_next: list[LeadStage]
    steps: list[LeadStepOut]
    funds: list[FundsOut]
    funds_total: OutMoney


class StageFigure(OutputModel):
    stage: LeadStage
    label: str
    current: int = Field(description="Leads at this stage now")
    reached: int = Field(description="Leads that got at least this far (also terminated later)")
    intended: OutMoney = Field(description="Intended investment of the leads at this stage now")
    conversion_pct: Decimal | None = Field(
        description="reached(this) / reached(previous stage) × 100"
    )


class FunnelOut(OutputModel):
    chain_id: int | None
    city: str | None = Field(description="City (地市) code: leads that landed there")
    year: int
    as_of: dt.date | None = Field(description="Stages as of this day (default: now)")
    stages: list[StageFigure]
    terminated: int
    signed_count: int = Field(description="Leads signed in the year")
    signed_total: OutMoney
    received_total: OutMoney = Field(description="到位资金 in the year")
    signed_target: Decimal | None = Field(
        description="The year's target of the leads-signed indicator (chain or city), if set"
    )
    signed_pct: Decimal | None = Field(description="signed_count / signed_target × 100")
    received_target: Decimal | None = Field(
        description="The year's target of the funds-received indicator (万元), if set"
    )
    received_pct: Decimal | None = Field(description="received_total / received_target × 100")


class GapLead(OutputModel):
    id: int
    company_name: str
    stage: LeadStage
    stage_label: str


class GapCoverage(OutputModel):
    node: NodeRef
    assessment: str | None
    leads: list[GapLead]
    projects: int
    covered: bool


class SourceOut(OutputModel):
    code: LeadSource
    name_zh: str


class LeadPatch(InputModel):
    """Change a lead's fields or nodes (only the fields sent). The chain, the stage and
    the conversion links change through their own routes."""

    company_name: Text200 | None = None
    uscc: str | None = Field(default=None, max_length=64)
    origin: str | None = Field(default=None, max_length=64)
    source: LeadSource | None = None
    intended_investment: Money | None = None
    responsible_unit: str | None = Field(default=None, min_length=1, max_length=128)
    responsible_person: str | None = Field(default=None, min_length=1, max_length=64)
    node_ids: list[int] | None = Field(
        default=None, min_length=1, max_length=50, description="Replaces the lead's nodes"
    )
    note: str | None = Field(default=None, max_length=4000)
