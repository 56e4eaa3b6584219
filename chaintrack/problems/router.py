"""HTTP routes of the problem loop (问题 / 诉求 闭环). Thin: parse, one service call, shape.

The project routes of before (``POST /projects/{id}/problems``, ``PATCH /problems/{id}``,
``POST /problems/{id}/resolve``, ``GET /problems/{id}``) stay in ``progress/router.py``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from chaintrack.auth.deps import CurrentPrincipal, Principal
from chaintrack.auth.permissions import ChainOf, Ref, chain_write, project_write, raiser_only
from chaintrack.common.concurrency import IfMatch, created, set_etag
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.common.pagination import Page, PageDep
from chaintrack.common.schemas import IsoDate
from chaintrack.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    problem_responses,
)
from chaintrack.history import office_today
from chaintrack.models import Problem
from chaintrack.models.enums import UserRole
from chaintrack.problems import export, service
from chaintrack.problems.filters import ProblemFilters
from chaintrack.problems.schemas import (
    CategoryOut,
    NoticeOut,
    ProblemEscalate,
    ProblemFiguresOut,
    ProblemHandle,
    ProblemListItem,
    ProblemRaise,
    ProblemRate,
    ProblemReturn,
    ProblemTimeline,
    ReplyIn,
    StepNote,
    SuperviseIn,
)
from chaintrack.progress.schemas import ProblemOut
from chaintrack.progress.service_problems import problem_out
from chaintrack.reports.render import XLSX_MEDIA_TYPE, to_json

router = APIRouter(tags=["problems"])
API_PREFIX = "/api/v1"
ProblemId = Annotated[StrictId, Path(description="Problem id")]
NoticeId = Annotated[StrictId, Path(description="Supervision notice id")]
JSON = "application/json"
STEP_ERRORS = problem_responses(
    NotFound, Conflict, PreconditionFailed, PreconditionRequired, ValidationProblem
)


def actor_of(principal: Principal, session: Session, chain_id: int | None = None) -> service.Actor:
    edits = principal.is_admin or (
        principal.role is UserRole.EDITOR
        and chain_id is not None
        and chain_id in principal.editable_chains(session)
    )
    return service.Actor(principal.id, principal.is_admin, edits)


def _out(response: Response, problem: Problem) -> ProblemOut:
    set_etag(response, problem)
    return problem_out(problem)


@router.get(
    "/problem-categories",
    response_model=list[CategoryOut],
    summary="Problem categories (问题类别)",
)
def categories(session: SessionDep) -> list[CategoryOut]:
    return service.categories(session)


@router.post(
    "/problems",
    dependencies=[
        project_write(
            ChainOf.body_chain(), Ref.project("project_id"), Ref.enterprise("enterprise_id")
        )
    ],
    response_model=ProblemOut,
    status_code=201,
    summary="Raise a problem or request (提出问题/诉求)",
    description=(
        "On a chain, one of its projects (`project_id`) or one of its enterprises "
        "(`enterprise_id`, 企业诉求). It starts 待受理 at the county level with a deadline "
        "15 days away unless one is given; the raiser is the signed-in user. A reporter "
        "(填报员) raises problems on the projects and enterprises of their region."
    ),
    responses=problem_responses(NotFound, ValidationProblem),
)
def raise_problem(
    body: ProblemRaise, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> ProblemOut:
    problem = service.raise_problem(session, body, principal.id)
    created(response, f"{API_PREFIX}/problems/{problem.id}", problem)
    return problem_out(problem)


@router.get(
    "/problems",
    response_model=Page[ProblemListItem],
    summary="Problems across chains (问题清单)",
    description=(
        "Newest first; filters combine. `mine=true`: those I raised. `format=xlsx`: every "
        "matching problem (not one page) as an Excel workbook, with the same filters."
    ),
    responses={
        **problem_responses(ValidationProblem),
        200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The page, or the workbook"},
    },
)
def list_problems(
    session: SessionDep,
    filters: ProblemFilters,
    page: PageDep,
    format: Annotated[Literal["json", "xlsx"], Query(description="json (default) or xlsx")] = (
        "json"
    ),
) -> Any:
    if format == "xlsx":
        return Response(
            export.workbook(service.export_problems(session, filters)),
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": export.DISPOSITION},
        )
    # validated once, as built: written straight to JSON (as the reports are)
    return Response(to_json(service.list_problems(session, filters, page)), media_type=JSON)


@router.get(
    "/problems/{problem_id}/timeline",
    response_model=ProblemTimeline,
    summary="A problem with its steps, notices and what I may do (问题办理过程)",
    responses=problem_responses(NotFound),
)
def timeline(
    problem_id: ProblemId, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> ProblemTimeline:
    problem = service.get_problem(session, problem_id)
    set_etag(response, problem)
    return service.problem_detail(
        session, problem_id, actor_of(principal, session, problem.chain_id)
    )


@router.get(
    "/problem-figures",
    response_model=ProblemFiguresOut,
    summary="The loop's figures per chain and for the province (问题闭环统计)",
    description=(
        "Raised, open, overdue, closed (on time, this month), rated and satisfied, overdue "
        "督办 — as of a day (today by default). A fixed number of statements at any size."
    ),
)
def figures(session: SessionDep, as_of: IsoDate | None = None) -> Any:
    out = ProblemFiguresOut.model_validate(service.figures(session, as_of or office_today()))
    return Response(to_json(out), media_type=JSON)


# --- the steps: If-Match on the problem; 409 with the allowed actions otherwise --------

EDITORS = [chain_write(ChainOf.problem("problem_id"))]


@router.post(
    "/problems/{problem_id}/accept",
    dependencies=EDITORS,
    response_model=ProblemOut,
    summary="Accept (受理): 待受理 → 办理中",
    responses=STEP_ERRORS,
)
def accept(
    problem_id: ProblemId, body: StepNote, session: SessionDep,
    principal: CurrentPrincipal, response: Response, if_match: IfMatch = None,
) -> ProblemOut:  # fmt: skip
    actor = actor_of(principal, session)
    return _out(response, service.accept(session, problem_id, body, if_match, actor))


@router.post(
    "/problems/{problem_id}/return",
    dependencies=EDITORS,
    response_model=ProblemOut,
    summary="Return (退回): not a real problem, with the reason",
    responses=STEP_ERRORS,
)
def return_problem(
    problem_id: ProblemId, body: ProblemReturn, session: SessionDep,
    principal: CurrentPrincipal, response: Response, if_match: IfMatch = None,
) -> ProblemOut:  # fmt: skip
    actor = actor_of(principal, session)
    return _out(response, service.return_problem(session, problem_id, body, if_match, actor))


@router.post(
    "/problems/{problem_id}/escalate",
    dependencies=EDITORS,
    response_model=ProblemOut,
    summary="Escalate (上报): one level up, 待受理 there, deadline reset",
    description=(
        "县 → 市 → 省专班 → 链长. The new deadline is 15 (市), 20 (省专班) or 30 (链长) days "
        "from today. Beyond the 链长 it is refused (409)."
    ),
    responses=STEP_ERRORS,
)
def escalate(
    problem_id: ProblemId, body: ProblemEscalate, session: SessionDep,
    principal: CurrentPrincipal, response: Response, if_match: IfMatch = None,
) -> ProblemOut:  # fmt: skip
    actor = actor_of(principal, session)
    return _out(response, service.escalate(session, problem_id, body, if_match, actor))


@router.post(
    "/problems/{problem_id}/handle",
    dependencies=EDITORS,
    response_model=ProblemOut,
    summary="Handle (办结): 办理中 → 已办结",
    responses=STEP_ERRORS,
)
def handle(
    problem_id: ProblemId, body: ProblemHandle, session: SessionDep,
    principal: CurrentPrincipal, response: Response, if_match: IfMatch = None,
) -> ProblemOut:  # fmt: skip
    actor = actor_of(principal, session)
    return _out(response, service.handle(session, problem_id, body, if_match, actor))


@router.post(
    "/problems/{problem_id}/rate",
    dependencies=[raiser_only(ChainOf.problem("problem_id"))],
    response_model=ProblemOut,
    summary="Rate (评价): 已办结 → 已评价; 不满意 reopens it (办理中)",
    responses=STEP_ERRORS,
)
def rate(
    problem_id: ProblemId, body: ProblemRate, session: SessionDep,
    principal: CurrentPrincipal, response: Response, if_match: IfMatch = None,
) -> ProblemOut:  # fmt: skip
    actor = actor_of(principal, session)
    return _out(response, service.rate(session, problem_id, body, if_match, actor))


@router.post(
    "/problems/{problem_id}/supervise",
    dependencies=EDITORS,
    response_model=NoticeOut,
    status_code=201,
    summary="Issue a supervision notice (督办) from a higher level",
    responses=STEP_ERRORS,
)
def supervise(
    problem_id: ProblemId, body: SuperviseIn, session: SessionDep,
    principal: CurrentPrincipal, response: Response, if_match: IfMatch = None,
) -> NoticeOut:  # fmt: skip
    actor = actor_of(principal, session)
    notice = service.supervise(session, problem_id, body, if_match, actor)
    created(response, f"{API_PREFIX}/supervision-notices/{notice.id}", notice)
    return service.notice_out(notice, office_today())


@router.get(
    "/supervision-notices/{notice_id}",
    response_model=NoticeOut,
    summary="One supervision notice (督办)",
    responses=problem_responses(NotFound),
)
def get_notice(notice_id: NoticeId, session: SessionDep, response: Response) -> NoticeOut:
    notice = service.get_notice(session, notice_id)
    set_etag(response, notice)
    return service.notice_out(notice, office_today())


@router.post(
    "/supervision-notices/{notice_id}/reply",
    dependencies=[chain_write(ChainOf.supervision_notice("notice_id"))],
    response_model=NoticeOut,
    summary="Reply to a supervision notice (督办回复), once",
    responses=STEP_ERRORS,
)
def reply(
    notice_id: NoticeId, body: ReplyIn, session: SessionDep,
    principal: CurrentPrincipal, response: Response, if_match: IfMatch = None,
) -> NoticeOut:  # fmt: skip
    actor = actor_of(principal, session)
    notice = service.reply(session, notice_id, body, if_match, actor)
    set_etag(response, notice)
    return service.notice_out(notice, office_today())
