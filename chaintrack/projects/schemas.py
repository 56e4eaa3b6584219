"""Request and response bodies for chain-building projects (建链、补链、延链、强链)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator

from chaintrack.common.refs import ChainRef, EnterpriseRef
from chaintrack.common.schemas import (
    InputModel,
    InternalProjectCode,
    Money,
    NationalProjectCode,
    OutputModel,
    RegionCode,
    not_null,
)
from chaintrack.models.enums import (
    Assessment,
    GapKind,
    ProjectLevel,
    ProjectNature,
    ProjectStatus,
    ProjectType,
    Stage,
)
from chaintrack.projects.lifecycle import INITIAL_STATUSES

Year = Annotated[int, Field(ge=2000, le=2200, description="Calendar year", examples=[2025])]
_QUANTUM = Decimal("0.0001")
OutMoney = Annotated[
    Decimal,
    AfterValidator(lambda v: v.quantize(_QUANTUM)),
    Field(description="万元, exact decimal (sent as a string)", examples=["1250.5000"]),
]

_NAME_EXAMPLE = "裕龙岛炼化一体化配套新材料项目（示例）"
_TARGETS_DOC: dict[str, Any] = dict(
    max_length=200,
    description="Map nodes of the same chain the project addresses (its gap or strength). "
    "Replaces the whole set. / 项目针对的图谱环节（须属于同一产业链）",
    examples=[[12, 15]],
)


class AnnualPlanIn(InputModel):
    year: Year
    planned_investment: Money = Field(description="年度计划投资（万元）")


class AnnualPlanPut(InputModel):
    planned_investment: Money = Field(description="年度计划投资（万元）")


class _ProjectFields(InputModel):
    """Descriptive fields shared by create and update."""

    location: str | None = Field(default=None, max_length=200, examples=["烟台市龙口市裕龙岛"])
    development_zone: str | None = Field(
        default=None, max_length=128, description="所在园区/开发区", examples=["裕龙石化产业园"]
    )
    goals: str | None = Field(default=None, max_length=4000, description="建设目标")
    content: str | None = Field(default=None, max_length=8000, description="建设规模及内容")
    responsible_leader: str | None = Field(
        default=None, max_length=64, description="挂点领导", examples=["张某某"]
    )
    responsible_unit: str | None = Field(
        default=None, max_length=128, description="责任单位", examples=["龙口市工业和信息化局"]
    )
    contact: str | None = Field(
        default=None, max_length=128, description="联系人及电话", examples=["李某 0535-0000000"]
    )
    planned_start: dt.date | None = Field(default=None, description="计划开工日期")
    planned_completion: dt.date | None = Field(
        default=None, description="计划竣工日期（不早于计划开工日期）"
    )


class ProjectCreate(_ProjectFields):
    """Register a project. ``status`` may only be an initial one; later changes go
    through ``POST /projects/{id}/transitions``."""

    chain_id: int = Field(gt=0, description="The chain the project belongs to", examples=[1])
    name: str = Field(min_length=1, max_length=200, examples=[_NAME_EXAMPLE])
    type: ProjectType = Field(description="build 建链 / fill 补链 / extend 延链 / strengthen 强链")
    internal_code: InternalProjectCode | None = Field(
        default=None,
        description="The office's own code; generated as `<CHAIN>-<YYYY>-<NNN>` when omitted",
    )
    national_code: NationalProjectCode | None = Field(
        default=None, description="国家投资项目代码 (GB/T 40058-2021), if the project has one"
    )
    owner_enterprise_id: int | None = Field(
        default=None, gt=0, description="项目业主企业 (an enterprise id)"
    )
    region_code: RegionCode
    nature: ProjectNature = Field(default=ProjectNature.NEW, description="新建/扩建/技术改造")
    level: ProjectLevel = Field(default=ProjectLevel.PROVINCIAL, description="省级/市级/县级")
    total_investment: Money = Field(description="总投资（万元）")
    annual_plans: list[AnnualPlanIn] = Field(
        default_factory=list,
        max_length=50,
        description="年度计划投资; their sum may not exceed total_investment",
    )
    target_node_ids: list[int] = Field(default_factory=list, **_TARGETS_DOC)
    status: ProjectStatus = Field(
        default=ProjectStatus.PLANNED,
        description="Initial status: planned (谋划), signed (签约) or under_construction (在建)",
    )
    status_date: dt.date | None = Field(
        default=None,
        description="Date the project reached its initial status (default today; not in the "
        "future)",
    )

    @field_validator("status")
    @classmethod
    def _initial_status(cls, value: ProjectStatus) -> ProjectStatus:
        if value not in INITIAL_STATUSES:
            allowed = ", ".join(s.value for s in INITIAL_STATUSES)
            raise ValueError(
                f"新项目的状态只能是 {allowed} / a new project starts as one of: {allowed}"
            )
        return value

    @field_validator("annual_plans")
    @classmethod
    def _distinct_years(cls, value: list[AnnualPlanIn]) -> list[AnnualPlanIn]:
        years = [p.year for p in value]
        dupes = sorted({y for y in years if years.count(y) > 1})
        if dupes:
            raise ValueError(f"年度重复：{dupes} / each year at most once, repeated: {dupes}")
        return value


_NOT_NULL = (
    "name",
    "type",
    "internal_code",
    "region_code",
    "nature",
    "level",
    "total_investment",
    "target_node_ids",
)


class ProjectUpdate(_ProjectFields):
    """Change any descriptive field (PATCH: only the fields sent). ``status``,
    actual dates, ids and versions are server-owned and refused here."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: ProjectType | None = None
    internal_code: InternalProjectCode | None = None
    national_code: NationalProjectCode | None = Field(
        default=None, description="Send null to clear"
    )
    owner_enterprise_id: int | None = Field(default=None, gt=0, description="Send null to clear")
    region_code: RegionCode | None = None
    nature: ProjectNature | None = None
    level: ProjectLevel | None = None
    total_investment: Money | None = None
    target_node_ids: list[int] | None = Field(default=None, **_TARGETS_DOC)

    _not_null = not_null(*_NOT_NULL)


class TransitionIn(InputModel):
    to_status: ProjectStatus = Field(description="The status to move to", examples=["signed"])
    changed_on: dt.date = Field(
        description="Date of the change (not in the future, not before the previous change)"
    )
    reason: str | None = Field(
        default=None,
        max_length=2000,
        description="Required for suspended and cancelled / 暂停、取消须说明原因",
        examples=["2025年3月签订投资协议"],
    )


# --- output -------------------------------------------------------------------


# The project's owner is an enterprise reference: one schema, ``EnterpriseRef``.
OwnerRef = EnterpriseRef


class TargetOut(OutputModel):
    node_id: int
    code: str
    name_zh: str
    stage: Stage
    assessment: Assessment | None
    gap_kind: GapKind | None


class AnnualPlanOut(OutputModel):
    year: int
    planned_investment: OutMoney


class AnnualPlansOut(OutputModel):
    project_id: int
    total_investment: OutMoney
    planned_sum: OutMoney = Field(description="Sum of the annual plans (万元)")
    items: list[AnnualPlanOut]


class ProjectListItem(OutputModel):
    id: int
    chain_id: int
    chain_code: str
    internal_code: str
    national_code: str | None
    name: str
    type: ProjectType
    type_label: str = Field(examples=["补链"])
    region_code: str
    owner_enterprise_id: int | None
    owner_name: str | None
    level: ProjectLevel
    status: ProjectStatus
    status_label: str = Field(examples=["在建"])
    planned_start: dt.date | None
    planned_completion: dt.date | None
    total_investment: OutMoney
    behind_schedule: bool = Field(description="进度滞后 (see the lifecycle rules)")
    version: int
    updated_at: dt.datetime


class ProjectOut(OutputModel):
    id: int
    chain: ChainRef
    internal_code: str
    national_code: str | None
    name: str
    type: ProjectType
    type_label: str
    owner: OwnerRef | None
    region_code: str
    region_name: str | None = Field(description="From the region catalogue, when known")
    location: str | None
    development_zone: str | None
    nature: ProjectNature
    level: ProjectLevel
    goals: str | None
    content: str | None
    responsible_leader: str | None
    responsible_unit: str | None
    contact: str | None
    planned_start: dt.date | None
    planned_completion: dt.date | None
    actual_start: dt.date | None = Field(description="Set when construction starts")
    actual_completion: dt.date | None = Field(description="Set when completed")
    total_investment: OutMoney
    annual_plans: list[AnnualPlanOut]
    annual_plans_total: OutMoney
    targets: list[TargetOut]
    status: ProjectStatus
    status_label: str
    allowed_transitions: list[ProjectStatus] = Field(
        description="Statuses POST /transitions accepts next"
    )
    behind_schedule: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class StatusChangeOut(OutputModel):
    id: int
    from_status: ProjectStatus | None = Field(description="null on the creation row")
    to_status: ProjectStatus
    to_label: str
    changed_on: dt.date
    reason: str | None
    recorded_at: dt.datetime
