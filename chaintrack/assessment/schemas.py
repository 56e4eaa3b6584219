"""Request and response bodies of the assessment API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

from chaintrack.common.schemas import InputModel, IsoDate, OutputModel, not_null
from chaintrack.models.assessment import (
    IndicatorKind,
    SchemeStatus,
    ScoringRule,
    SubjectKind,
    TaskStatus,
)

Year = Annotated[int, Field(ge=2000, le=2200, examples=[2026])]
Quarter = Annotated[int | None, Field(default=None, ge=1, le=4, description="1–4; empty: the year")]
Amount = Annotated[Decimal, Field(max_digits=16, decimal_places=4, examples=["1200"])]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of the file")]


# --- tasks ------------------------------------------------------------------------------


class EvidenceFile(InputModel):
    name: str = Field(min_length=1, max_length=200, examples=["签约协议.pdf"])
    sha256: Sha256


class TaskCreate(InputModel):
    year: Year
    title: str = Field(min_length=1, max_length=300, examples=["引进补链项目2个"])
    owner_unit: str = Field(min_length=1, max_length=128, examples=["市工信局"])
    owner_person: str | None = Field(default=None, max_length=64)
    deadline: IsoDate
    listed_on: IsoDate | None = Field(default=None, description="列入清单的日期；默认今天")
    evidence: str | None = Field(default=None, max_length=4000)
    evidence_files: list[EvidenceFile] = Field(default_factory=list, max_length=50)


class TaskUpdate(InputModel):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    owner_unit: str | None = Field(default=None, min_length=1, max_length=128)
    owner_person: str | None = Field(default=None, max_length=64)
    deadline: IsoDate | None = None
    evidence: str | None = Field(default=None, max_length=4000)
    evidence_files: list[EvidenceFile] | None = Field(default=None, max_length=50)

    _no_null = not_null("title", "owner_unit", "deadline")


class NoteCreate(InputModel):
    noted_on: IsoDate
    text: str = Field(min_length=1, max_length=4000)
    status: TaskStatus | None = Field(default=None, description="the task's status from this day")


class NoteOut(OutputModel):
    id: int
    noted_on: dt.date
    text: str
    status: TaskStatus | None


class TaskOut(OutputModel):
    id: int
    chain_id: int
    year: int
    title: str
    owner_unit: str
    owner_person: str | None
    deadline: dt.date
    listed_on: dt.date
    status: TaskStatus = Field(description="the status as of the day asked for")
    overdue: bool = Field(description="past its deadline on that day and not done")
    evidence: str | None
    evidence_files: list[dict[str, Any]]
    notes: list[NoteOut] = Field(default_factory=list)
    version: int


class TaskList(OutputModel):
    chain_id: int
    year: int
    as_of: dt.date
    items: list[TaskOut]
    overdue: int
    by_status: dict[str, int]


# --- catalogue, targets, figures, adjustments -------------------------------------------


class IndicatorCreate(InputModel):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]{1,31}$", examples=["EXPORTS"])
    name_zh: str = Field(min_length=1, max_length=64)
    kind: IndicatorKind
    params: dict[str, str] = Field(
        default_factory=dict, description="project_type (projects), tier (designations)"
    )
    unit: str = Field(default="", max_length=16)
    description: str | None = Field(default=None, max_length=2000)


class IndicatorOut(OutputModel):
    code: str
    name_zh: str
    kind: IndicatorKind
    params: dict[str, Any]
    unit: str
    description: str | None
    computed: bool = Field(description="figure computed from recorded data (else entered)")
    version: int


class SubjectIn(InputModel):
    subject_kind: SubjectKind
    chain_id: int | None = Field(default=None, ge=1, description="for a chain")
    region_code: str | None = Field(
        default=None, pattern=r"^\d{6}$", description="for a city (e.g. 370600)"
    )


class TargetSet(SubjectIn):
    year: Year
    quarter: Quarter = None
    indicator_code: str = Field(min_length=1, max_length=32)
    value: Amount = Field(ge=0)


class TargetUpdate(InputModel):
    value: Amount = Field(ge=0)


class AssessmentTargetOut(OutputModel):
    id: int
    year: int
    quarter: int | None
    indicator_code: str
    subject_kind: SubjectKind
    chain_id: int | None
    region_code: str | None
    value: Decimal
    version: int


class FigureCreate(SubjectIn):
    year: Year
    quarter: Quarter = None
    indicator_code: str = Field(min_length=1, max_length=32)
    value: Amount
    source: str = Field(min_length=1, max_length=200, examples=["省统计局快报"])


class FigureUpdate(InputModel):
    value: Amount | None = None
    source: str | None = Field(default=None, min_length=1, max_length=200)


class FigureOut(OutputModel):
    id: int
    year: int
    quarter: int | None
    indicator_code: str
    subject_kind: SubjectKind
    chain_id: int | None
    region_code: str | None
    value: Decimal
    source: str
    version: int


class AdjustmentCreate(SubjectIn):
    year: Year
    quarter: Quarter = None
    points: Amount = Field(description="positive: bonus (加分); negative: deduction (扣分)")
    reason: str = Field(min_length=1, max_length=2000)
    decided_on: IsoDate


class AdjustmentUpdate(InputModel):
    points: Amount | None = None
    reason: str | None = Field(default=None, min_length=1, max_length=2000)
    decided_on: IsoDate | None = None


class AdjustmentOut(OutputModel):
    id: int
    year: int
    quarter: int | None
    subject_kind: SubjectKind
    chain_id: int | None
    region_code: str | None
    points: Decimal
    reason: str
    decided_on: dt.date
    version: int


# --- schemes ----------------------------------------------------------------------------


class Step(InputModel):
    ratio: Decimal = Field(ge=0, max_digits=10, decimal_places=4, description="actual / target")
    score: Decimal = Field(ge=0, le=100, max_digits=7, decimal_places=4, description="% of weight")


class SchemeItem(InputModel):
    indicator_code: str = Field(min_length=1, max_length=32)
    weight: Decimal = Field(gt=0, max_digits=8, decimal_places=4)
    rule: ScoringRule
    cap: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=8,
        decimal_places=4,
        description="linear: the highest ratio that counts (default 1)",
    )
    steps: list[Step] | None = Field(
        default=None, max_length=50, description="thresholds: ratio → % of weight"
    )
    points: Decimal | None = Field(
        default=None, gt=0, max_digits=8, decimal_places=4, description="per item: points each"
    )
    max_points: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=8,
        decimal_places=4,
        description="per item: at most (default the weight)",
    )


class SchemeCreate(InputModel):
    year: Year
    name: str = Field(min_length=1, max_length=200)
    total_weight: Decimal = Field(default=Decimal(100), gt=0, max_digits=8, decimal_places=4)
    items: list[SchemeItem] = Field(min_length=1, max_length=50)


class SchemeUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    total_weight: Decimal | None = Field(default=None, gt=0, max_digits=8, decimal_places=4)
    items: list[SchemeItem] | None = Field(default=None, min_length=1, max_length=50)


class SchemeOut(OutputModel):
    id: int
    year: int
    number: int
    name: str
    total_weight: Decimal
    status: SchemeStatus
    items: list[dict[str, Any]]
    published_at: dt.datetime | None
    version: int


# --- scores -----------------------------------------------------------------------------


class IndicatorScore(OutputModel):
    indicator_code: str
    name_zh: str
    unit: str
    actual: Decimal | None = Field(description="None: no figure (e.g. not entered)")
    records: int = Field(description="how many records the figure counts")
    target: Decimal | None
    ratio: Decimal | None
    rule: ScoringRule
    rule_text: str
    score: Decimal = Field(description="得分率：得分占权重的百分比")
    weight: Decimal
    weighted: Decimal = Field(description="得分（权重内）")
    explanation: str


class AdjustmentLine(OutputModel):
    points: Decimal
    reason: str
    decided_on: dt.date


class SubjectScore(OutputModel):
    subject_kind: SubjectKind
    chain_id: int | None
    region_code: str | None
    name: str
    rank: int
    base: Decimal = Field(description="sum of the indicators' points")
    adjustments: Decimal
    total: Decimal
    indicators: list[IndicatorScore]
    adjustment_items: list[AdjustmentLine]


class ScoreBoard(OutputModel):
    year: int
    quarter: int | None
    subject_kind: SubjectKind
    as_of: dt.date
    scheme_id: int
    scheme_number: int
    scheme_name: str
    total_weight: Decimal
    subjects: list[SubjectScore]
