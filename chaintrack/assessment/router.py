"""HTTP routes of the assessment (考核): tasks, catalogue, targets, schemes, scores."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from chaintrack.assessment import export, scoring, service, tasks
from chaintrack.assessment import schemas as s
from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.auth.permissions import ChainOf, admin_only, chain_write
from chaintrack.common.concurrency import IfMatch, check_if_match, created, set_etag
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.common.schemas import IsoDate
from chaintrack.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    problem_responses,
)
from chaintrack.models.assessment import (
    Indicator,
    IndicatorFigure,
    ScoreAdjustment,
    SubjectKind,
)

router = APIRouter(tags=["assessment"])
API = service.API
WRITE = (NotFound, Conflict, PreconditionFailed, PreconditionRequired, ValidationProblem)
YearQ = Annotated[int, Query(ge=2000, le=2200)]
QuarterQ = Annotated[int | None, Query(ge=1, le=4, description="1–4; empty: the year")]
AsOfQ = Annotated[IsoDate | None, Query(description="as of this day (default today)")]


# --- annual tasks ---------------------------------------------------------------------------


@router.get(
    "/chains/{chain_id}/tasks",
    response_model=s.TaskList,
    summary="A chain's annual task list (年度任务清单) as of a day",
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_tasks(
    chain_id: StrictId, session: SessionDep, year: YearQ, as_of: AsOfQ = None
) -> s.TaskList:
    return tasks.task_list(session, chain_id, year, as_of)


@router.post(
    "/chains/{chain_id}/tasks",
    dependencies=[chain_write(ChainOf.chain())],
    response_model=s.TaskOut,
    status_code=201,
    summary="Add a task to a chain's annual list",
    responses=problem_responses(*WRITE),
)
def create_task(
    chain_id: StrictId, data: s.TaskCreate, session: SessionDep, response: Response
) -> s.TaskOut:
    task = tasks.create_task(session, chain_id, data)
    created(response, f"{API}/chains/{chain_id}/tasks/{task.id}", task)
    return _task_out(session, chain_id, task.id, task.year)


@router.get(
    "/chains/{chain_id}/tasks/{task_id}",
    response_model=s.TaskOut,
    summary="One task with its notes (as of today)",
    responses=problem_responses(NotFound),
)
def get_task(
    chain_id: StrictId, task_id: StrictId, session: SessionDep, response: Response
) -> s.TaskOut:
    task = tasks.get_task(session, chain_id, task_id)
    set_etag(response, task)
    return _task_out(session, chain_id, task.id, task.year)


def _task_out(session: SessionDep, chain_id: int, task_id: int, year: int) -> s.TaskOut:
    listed = tasks.task_list(session, chain_id, year, dt.date.max)
    return next(t for t in listed.items if t.id == task_id)


@router.patch(
    "/chains/{chain_id}/tasks/{task_id}",
    dependencies=[chain_write(ChainOf.chain())],
    response_model=s.TaskOut,
    summary="Change a task (owner, deadline, evidence …); status changes by a note",
    responses=problem_responses(*WRITE),
)
def update_task(
    chain_id: StrictId,
    task_id: StrictId,
    data: s.TaskUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> s.TaskOut:
    task = tasks.get_task(session, chain_id, task_id)
    check_if_match(if_match, task)
    tasks.update_task(session, task, data)
    set_etag(response, task)
    return _task_out(session, chain_id, task.id, task.year)


@router.post(
    "/chains/{chain_id}/tasks/{task_id}/notes",
    dependencies=[chain_write(ChainOf.chain())],
    response_model=s.NoteOut,
    status_code=201,
    summary="Add a dated progress note (optionally changing the status)",
    responses=problem_responses(*WRITE),
)
def add_note(
    chain_id: StrictId,
    task_id: StrictId,
    data: s.NoteCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> s.NoteOut:
    task = tasks.get_task(session, chain_id, task_id)
    note = tasks.add_note(session, task, data, principal.id)
    created(response, f"{API}/chains/{chain_id}/tasks/{task_id}", None)  # notes: in the task
    return s.NoteOut.model_validate(note)


# --- catalogue ------------------------------------------------------------------------------


@router.get(
    "/assessment/indicators",
    response_model=list[s.IndicatorOut],
    summary="The indicator catalogue",
)
def list_indicators(session: SessionDep) -> list[s.IndicatorOut]:
    return [
        s.IndicatorOut(
            code=i.code,
            name_zh=i.name_zh,
            kind=i.kind,
            params=i.params or {},
            unit=i.unit,
            description=i.description,
            computed=service.is_computed(i.kind),
            version=i.version,
        )
        for i in service.list_indicators(session)
    ]


@router.post(
    "/assessment/indicators",
    dependencies=[admin_only()],
    response_model=s.IndicatorOut,
    status_code=201,
    summary="Add an indicator to the catalogue",
    responses=problem_responses(Conflict, ValidationProblem),
)
def create_indicator(
    data: s.IndicatorCreate, session: SessionDep, response: Response
) -> s.IndicatorOut:
    i = service.create_indicator(session, data)
    created(response, f"{API}/assessment/indicators/{i.code}", i)
    return _indicator_out(i)


def _indicator_out(i: Indicator) -> s.IndicatorOut:
    return s.IndicatorOut(
        code=i.code,
        name_zh=i.name_zh,
        kind=i.kind,
        params=i.params or {},
        unit=i.unit,
        description=i.description,
        computed=service.is_computed(i.kind),
        version=i.version,
    )


@router.get(
    "/assessment/indicators/{code}",
    response_model=s.IndicatorOut,
    summary="One indicator of the catalogue",
    responses=problem_responses(NotFound),
)
def get_indicator(
    code: Annotated[str, Path(max_length=32)], session: SessionDep, response: Response
) -> s.IndicatorOut:
    i = service.indicator_by_code(session, code)
    set_etag(response, i)
    return _indicator_out(i)


# --- targets, figures, adjustments -----------------------------------------------------------


@router.get(
    "/assessment/targets",
    response_model=list[s.AssessmentTargetOut],
    summary="Targets of a year",
)
def list_targets(
    session: SessionDep, year: YearQ, subject_kind: SubjectKind | None = None
) -> list[s.AssessmentTargetOut]:
    return [
        s.AssessmentTargetOut.model_validate(t)
        for t in service.list_targets(session, year, subject_kind)
    ]


@router.put(
    "/assessment/targets",
    dependencies=[admin_only()],
    response_model=s.AssessmentTargetOut,
    summary="Set a chain's or a city's target for an indicator (year or quarter)",
    description="Creates the target or replaces its value. A chain that did not exist "
    "in the year, or a region that is not a city, is refused (422).",
    responses=problem_responses(ValidationProblem),
)
def set_target(data: s.TargetSet, session: SessionDep, response: Response) -> s.AssessmentTargetOut:
    target = service.set_target(session, data)
    set_etag(response, target)
    return s.AssessmentTargetOut.model_validate(target)


@router.post(
    "/assessment/figures",
    dependencies=[admin_only()],
    response_model=s.FigureOut,
    status_code=201,
    summary="Enter a figure of a hand-entered indicator, with its source",
    responses=problem_responses(ValidationProblem),
)
def create_figure(data: s.FigureCreate, session: SessionDep, response: Response) -> s.FigureOut:
    figure = service.create_figure(session, data)
    created(response, f"{API}/assessment/figures/{figure.id}", figure)
    return s.FigureOut.model_validate(figure)


@router.get(
    "/assessment/figures/{figure_id}",
    response_model=s.FigureOut,
    summary="One hand-entered figure",
    responses=problem_responses(NotFound),
)
def get_figure(figure_id: StrictId, session: SessionDep, response: Response) -> s.FigureOut:
    figure = service.get_row(session, IndicatorFigure, figure_id, "figure")
    set_etag(response, figure)
    return s.FigureOut.model_validate(figure)


@router.post(
    "/assessment/adjustments",
    dependencies=[admin_only()],
    response_model=s.AdjustmentOut,
    status_code=201,
    summary="Record a bonus (加分) or a deduction (扣分) with its reason",
    responses=problem_responses(ValidationProblem),
)
def create_adjustment(
    data: s.AdjustmentCreate, session: SessionDep, response: Response
) -> s.AdjustmentOut:
    item = service.create_adjustment(session, data)
    created(response, f"{API}/assessment/adjustments/{item.id}", item)
    return s.AdjustmentOut.model_validate(item)


@router.get(
    "/assessment/adjustments/{adjustment_id}",
    response_model=s.AdjustmentOut,
    summary="One bonus or deduction",
    responses=problem_responses(NotFound),
)
def get_adjustment(
    adjustment_id: StrictId, session: SessionDep, response: Response
) -> s.AdjustmentOut:
    item = service.get_row(session, ScoreAdjustment, adjustment_id, "adjustment")
    set_etag(response, item)
    return s.AdjustmentOut.model_validate(item)


@router.get(
    "/assessment/targets/{target_id}",
    response_model=s.AssessmentTargetOut,
    summary="One target",
    responses=problem_responses(NotFound),
)
def get_target(
    target_id: StrictId, session: SessionDep, response: Response
) -> s.AssessmentTargetOut:
    target = service.get_target(session, target_id)
    set_etag(response, target)
    return s.AssessmentTargetOut.model_validate(target)


@router.patch(
    "/assessment/targets/{target_id}",
    dependencies=[admin_only()],
    response_model=s.AssessmentTargetOut,
    summary="Change a target's value (the earlier value stays on record)",
    description="Requires If-Match. Scores as of an earlier day use the value on record then.",
    responses=problem_responses(*WRITE),
)
def update_target(
    target_id: StrictId,
    data: s.TargetUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> s.AssessmentTargetOut:
    target = service.get_target(session, target_id)
    check_if_match(if_match, target)
    service.update_target(session, target, data)
    set_etag(response, target)
    return s.AssessmentTargetOut.model_validate(target)


@router.delete(
    "/assessment/targets/{target_id}",
    dependencies=[admin_only()],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a target (scores as of earlier days still use it)",
    description="Requires If-Match.",
    responses=problem_responses(NotFound, PreconditionFailed, PreconditionRequired),
)
def delete_target(target_id: StrictId, session: SessionDep, if_match: IfMatch = None) -> Response:
    target = service.get_target(session, target_id)
    check_if_match(if_match, target)
    service.delete_target(session, target)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/assessment/figures",
    response_model=list[s.FigureOut],
    summary="Hand-entered figures of a year, with their sources",
)
def list_figures(session: SessionDep, year: YearQ) -> list[s.FigureOut]:
    return [s.FigureOut.model_validate(f) for f in service.list_figures(session, year)]


@router.get(
    "/assessment/adjustments",
    response_model=list[s.AdjustmentOut],
    summary="Bonus and deduction items of a year",
)
def list_adjustments(session: SessionDep, year: YearQ) -> list[s.AdjustmentOut]:
    return [s.AdjustmentOut.model_validate(a) for a in service.list_adjustments(session, year)]


@router.patch(
    "/assessment/figures/{figure_id}",
    dependencies=[admin_only()],
    response_model=s.FigureOut,
    summary="Correct a hand-entered figure or its source",
    description="Requires If-Match.",
    responses=problem_responses(*WRITE),
)
def update_figure(
    figure_id: StrictId,
    data: s.FigureUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> s.FigureOut:
    figure = service.get_row(session, IndicatorFigure, figure_id, "figure")
    check_if_match(if_match, figure)
    service.update_figure(session, figure, data)
    set_etag(response, figure)
    return s.FigureOut.model_validate(figure)


@router.delete(
    "/assessment/figures/{figure_id}",
    dependencies=[admin_only()],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a hand-entered figure",
    description="Requires If-Match.",
    responses=problem_responses(NotFound, PreconditionFailed, PreconditionRequired),
)
def delete_figure(figure_id: StrictId, session: SessionDep, if_match: IfMatch = None) -> Response:
    figure = service.get_row(session, IndicatorFigure, figure_id, "figure")
    check_if_match(if_match, figure)
    service.delete_row(session, figure)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch(
    "/assessment/adjustments/{adjustment_id}",
    dependencies=[admin_only()],
    response_model=s.AdjustmentOut,
    summary="Change a bonus or deduction (points, reason, date)",
    description="Requires If-Match.",
    responses=problem_responses(*WRITE),
)
def update_adjustment(
    adjustment_id: StrictId,
    data: s.AdjustmentUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> s.AdjustmentOut:
    item = service.get_row(session, ScoreAdjustment, adjustment_id, "adjustment")
    check_if_match(if_match, item)
    service.update_adjustment(session, item, data)
    set_etag(response, item)
    return s.AdjustmentOut.model_validate(item)


@router.delete(
    "/assessment/adjustments/{adjustment_id}",
    dependencies=[admin_only()],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a bonus or deduction",
    description="Requires If-Match.",
    responses=problem_responses(NotFound, PreconditionFailed, PreconditionRequired),
)
def delete_adjustment(
    adjustment_id: StrictId, session: SessionDep, if_match: IfMatch = None
) -> Response:
    item = service.get_row(session, ScoreAdjustment, adjustment_id, "adjustment")
    check_if_match(if_match, item)
    service.delete_row(session, item)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- schemes --------------------------------------------------------------------------------


@router.get(
    "/assessment/schemes",
    response_model=list[s.SchemeOut],
    summary="The versions of a year's scheme",
)
def list_schemes(session: SessionDep, year: YearQ) -> list[s.SchemeOut]:
    return [s.SchemeOut.model_validate(x) for x in service.list_schemes(session, year)]


@router.post(
    "/assessment/schemes",
    dependencies=[admin_only()],
    response_model=s.SchemeOut,
    status_code=201,
    summary="Create a new (draft) version of a year's scheme",
    description="Weights must add up to the total weight (422 naming `items`).",
    responses=problem_responses(ValidationProblem),
)
def create_scheme(data: s.SchemeCreate, session: SessionDep, response: Response) -> s.SchemeOut:
    scheme = service.create_scheme(session, data)
    created(response, f"{API}/assessment/schemes/{scheme.id}", scheme)
    return s.SchemeOut.model_validate(scheme)


@router.get(
    "/assessment/schemes/{scheme_id}",
    response_model=s.SchemeOut,
    summary="One version of a scheme",
    responses=problem_responses(NotFound),
)
def get_scheme(scheme_id: StrictId, session: SessionDep, response: Response) -> s.SchemeOut:
    scheme = service.get_scheme(session, scheme_id)
    set_etag(response, scheme)
    return s.SchemeOut.model_validate(scheme)


@router.patch(
    "/assessment/schemes/{scheme_id}",
    dependencies=[admin_only()],
    response_model=s.SchemeOut,
    summary="Change a draft scheme (a published one is frozen: 409)",
    responses=problem_responses(*WRITE),
)
def update_scheme(
    scheme_id: StrictId,
    data: s.SchemeUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> s.SchemeOut:
    scheme = service.get_scheme(session, scheme_id)
    check_if_match(if_match, scheme)
    service.update_scheme(session, scheme, data)
    set_etag(response, scheme)
    return s.SchemeOut.model_validate(scheme)


@router.post(
    "/assessment/schemes/{scheme_id}/publish",
    dependencies=[admin_only()],
    response_model=s.SchemeOut,
    summary="Publish a draft scheme; from then on it is frozen",
    responses=problem_responses(*WRITE),
)
def publish_scheme(
    scheme_id: StrictId, session: SessionDep, response: Response, if_match: IfMatch = None
) -> s.SchemeOut:
    scheme = service.get_scheme(session, scheme_id)
    check_if_match(if_match, scheme)
    service.publish_scheme(session, scheme)
    set_etag(response, scheme)
    return s.SchemeOut.model_validate(scheme)


# --- scores ---------------------------------------------------------------------------------


@router.get(
    "/assessment/scores",
    response_model=s.ScoreBoard,
    summary="Scores and ranking of chains or cities for a quarter or the year, as of a day",
    description="Every indicator's figure, records counted, target, rule and points. "
    "`format=xlsx` gives the workbook (summary plus one sheet per indicator).",
    responses=problem_responses(NotFound, ValidationProblem),
)
def scores(
    session: SessionDep,
    year: YearQ,
    quarter: QuarterQ = None,
    subject_kind: SubjectKind = SubjectKind.CHAIN,
    as_of: AsOfQ = None,
    format: Annotated[str, Query(pattern="^(json|xlsx)$")] = "json",
) -> Response:
    board = scoring.score_board(session, year, quarter, subject_kind, as_of)
    if format == "xlsx":
        return Response(
            export.workbook(board),
            media_type=export.XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": export.disposition(board)},
        )
    return Response(board.model_dump_json(), media_type="application/json")
