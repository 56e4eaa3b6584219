"""Dispatch rounds, review and the chase and red lists: request and response bodies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import Field, StrictBool

from chaintrack.common.schemas import InputModel, OutputModel
from chaintrack.models.enums import ProjectStatus, ReviewAction, ReviewState
from chaintrack.progress.schemas import ProgressSubmit


class RoundCreate(InputModel):
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-11"])
    deadline: dt.date = Field(description="报送截止日", examples=["2026-12-05"])
    chain_ids: list[int] = Field(min_length=1, max_length=200, description="本轮覆盖的产业链")


class RoundOut(OutputModel):
    id: int
    version: int
    period: str
    deadline: dt.date
    chain_ids: list[int]
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    is_closed: bool
    due_count: int
    reported_count: int
    on_time_count: int
    reporting_rate: Decimal | None = Field(description="报送率 %")
    on_time_rate: Decimal | None = Field(description="按时报送率 %")


class DueProjectOut(OutputModel):
    project_id: int
    name: str
    chain_id: int
    region_code: str
    city_code: str
    status: ProjectStatus
    report_id: int | None
    revision: int | None
    review_state: ReviewState | None = Field(
        description="pending / accepted / returned; null when not reported or entered by an "
        "editor directly (no review)"
    )
    submitted_at: dt.datetime | None
    on_time: bool | None
    counts: bool = Field(description="the month's report counts in chain figures (see README)")
    late: bool = Field(
        default=False, description="逾期: reported after the round was closed (not a correction)"
    )
    correction: bool = Field(
        default=False,
        description="更正: a change to an accepted report made after the round was closed; "
        "until an editor accepts it the accepted revision counts",
    )
    counted_report_id: int | None = Field(
        default=None, description="the revision that counts in chain figures, if any"
    )


class RoundDetail(RoundOut):
    due: list[DueProjectOut]


class DispatchSubmit(ProgressSubmit):
    confirm_warnings: StrictBool = Field(
        default=False,
        description="确认提示后报送 / submit despite the warnings (cumulative above total, "
        "progress going down, zero investment while under construction, unusual month)",
    )


class ReviewEventOut(OutputModel):
    action: ReviewAction
    revision: int
    reason: str | None
    at: dt.datetime
    by: int | None


class ReviewOut(OutputModel):
    id: int
    project_id: int
    period: str
    report_id: int
    revision: int
    state: ReviewState
    reason: str | None
    warnings: list[str]
    correction: bool = Field(
        default=False,
        description="更正: changes a report accepted before the round was closed; an editor "
        "must accept it before it counts",
    )
    history: list[ReviewEventOut]


class ReturnIn(InputModel):
    reason: str = Field(min_length=1, max_length=2000, description="退回原因")


class ChaseRow(OutputModel):
    project_id: int
    name: str
    chain_id: int
    city_code: str
    reason: str = Field(description="not_reported / returned / pending")
    reason_zh: str
    reporter_ids: list[int]


class WarningRow(OutputModel):
    project_id: int
    name: str
    chain_id: int
    city_code: str
    level: str = Field(description="red / yellow / green")
    reasons: list[str]


class NotificationOut(OutputModel):
    id: int
    round_id: int | None
    project_id: int | None
    message: str
    created_at: dt.datetime
    read_at: dt.datetime | None
