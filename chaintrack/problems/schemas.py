"""Request and response shapes of the problem loop (问题 / 诉求 闭环)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StringConstraints

from chaintrack.common.schemas import InputModel, OutputModel, not_null
from chaintrack.models.enums import (
    ProblemAction,
    ProblemLevel,
    ProblemState,
    Satisfaction,
)
from chaintrack.progress.schemas import (
    Description,
    ProblemOut,
    ResponsiblePerson,
    ResponsibleUnit,
)

Note = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
CategoryCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32),
    Field(description="问题类别 (GET /problem-categories)", examples=["land"]),
]


class ProblemRaise(InputModel):
    """A problem raised on a chain, on one of its enterprises or on one of its projects."""

    chain_id: int = Field(ge=1, description="The chain it is raised on (always)")
    project_id: int | None = Field(default=None, ge=1, description="On this project")
    enterprise_id: int | None = Field(
        default=None, ge=1, description="On this enterprise (企业诉求): a member of the chain"
    )
    category: CategoryCode = "other"
    description: Description
    responsible_unit: ResponsibleUnit | None = None
    responsible_person: ResponsiblePerson | None = None
    deadline: dt.date | None = Field(
        default=None,
        description="办理时限; by default 15 days from today (the county's time)",
        examples=["2026-12-31"],
    )

    _not_null = not_null("chain_id", "description", "category")


class StepNote(InputModel):
    note: Note | None = Field(default=None, description="办理说明 / a note for the record")


class ProblemReturn(InputModel):
    reason: Note = Field(description="退回原因 / why it is not a real problem")


class ProblemEscalate(InputModel):
    note: Note | None = None
    responsible_unit: ResponsibleUnit | None = Field(
        default=None, description="The unit responsible at the new level"
    )
    responsible_person: ResponsiblePerson | None = None


class ProblemHandle(InputModel):
    resolution: Note = Field(description="办结情况 / how it was handled")
    resolved_on: dt.date | None = Field(default=None, description="办结日期; today by default")


class ProblemRate(InputModel):
    satisfaction: Satisfaction = Field(description="满意 / 基本满意 / 不满意 (不满意 reopens)")
    note: Note | None = None


class SuperviseIn(InputModel):
    level: ProblemLevel = Field(description="The issuing level: above the problem's level")
    due_on: dt.date = Field(description="回复期限 / reply due on (today or later)")
    note: Note = Field(description="督办事项 / what is asked")


class ReplyIn(InputModel):
    reply: Note = Field(description="督办回复 / the reply")


class ProblemStepOut(OutputModel):
    id: int
    action: ProblemAction
    action_label: str
    from_state: ProblemState | None
    to_state: ProblemState
    from_level: ProblemLevel | None
    to_level: ProblemLevel
    actor_id: int | None
    actor_name: str | None
    on_behalf_of: int | None = Field(description="An administrator acted for this raiser")
    acted_at: dt.datetime
    note: str | None
    attachments: list[dict[str, str]] | None


class NoticeOut(OutputModel):
    id: int
    problem_id: int
    level: ProblemLevel
    level_label: str
    note: str
    due_on: dt.date
    issued_by: int | None
    issued_by_name: str | None
    issued_at: dt.datetime
    reply: str | None
    replied_at: dt.datetime | None
    overdue: bool = Field(description="Not replied and past its due date")
    version: int


class ProblemListItem(ProblemOut):
    chain_name: str
    category_label: str
    subject_name: str = Field(description="The project's, enterprise's or chain's name")


class ProblemTimeline(ProblemListItem):
    steps: list[ProblemStepOut]
    notices: list[NoticeOut]
    allowed_actions: list[ProblemAction] = Field(description="What the signed-in user may do now")


class CategoryOut(OutputModel):
    code: str
    name_zh: str
    name_en: str


class LoopFigures(OutputModel):
    chain_id: int | None = Field(description="None for the province's total")
    chain_name: str
    raised: int = Field(description="Raised by the date")
    open: int = Field(description="Open on the date (待受理/办理中)")
    overdue: int = Field(description="Open on the date and past the deadline")
    closed: int = Field(description="Handled (已办结/已评价) by the date")
    closed_on_time: int
    closed_this_month: int = Field(description="Handled in the date's month")
    rated: int
    satisfied: int = Field(description="Rated 满意 or 基本满意")
    satisfaction_rate: float | None = Field(description="satisfied / rated, None if none rated")
    overdue_notices: int = Field(description="督办 not replied and past their due date")


class ProblemFiguresOut(OutputModel):
    as_of: dt.date
    chains: list[LoopFigures]
    province: LoopFigures
