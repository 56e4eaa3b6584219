"""HTTP routes for the monthly dispatch (月度调度): progress reports and problems."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from chaintrack.auth.permissions import ChainOf, Ref, chain_write, project_write
from chaintrack.common.concurrency import IfMatch, created, etag_for, set_etag
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.common.pagination import Page, PageDep, sort_query
from chaintrack.common.schemas import IsoAwareDatetime, Period
from chaintrack.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    problem_responses,
)
from chaintrack.progress import service, service_problems
from chaintrack.progress.schemas import (
    ChainProblemOut,
    ProblemCreate,
    ProblemOut,
    ProblemResolve,
    ProblemStatusFilter,
    ProblemUpdate,
    ProgressReportDetail,
    ProgressReportOut,
    ProgressSubmit,
)
from chaintrack.progress.service_problems import ProblemFilters

router = APIRouter(tags=["progress"])

API_PREFIX = "/api/v1"

# Ids are 32-bit on PostgreSQL; a larger one is a 422, not a driver error.
ProjectId = Annotated[StrictId, Path(description="Project id")]
ReportId = Annotated[StrictId, Path(description="Progress report id")]
ProblemId = Annotated[StrictId, Path(description="Problem id")]
ChainId = Annotated[StrictId, Path(description="Chain id")]
PeriodPath = Annotated[Period, Path(description="Reporting month, YYYY-MM", examples=["2025-03"])]
AsOf = Annotated[
    IsoAwareDatetime | None,
    Query(
        description=(
            "查看某一时刻在案的数据 / show what was on record at this moment "
            "(ISO 8601 with a time zone, e.g. 2025-04-10T09:00:00+08:00)"
        ),
    ),
]
OverdueQ = Annotated[
    bool | None,
    Query(description="true: only open problems past their deadline (逾期); false: none of them"),
]
UnitQ = Annotated[
    str | None,
    Query(max_length=128, description="责任单位 contains this text", examples=["自然资源"]),
]
SortQ = Annotated[str | None, sort_query(service_problems.SORT_KEYS, example="deadline")]
ChainSortQ = Annotated[str | None, sort_query(service_problems.CHAIN_SORT_KEYS, example="deadline")]


def _revision_etag(response: Response, revision: int) -> None:
    response.headers["ETag"] = etag_for(service.RevisionTag(revision))


# --- progress reports ----------------------------------------------------------------


@router.put(
    "/projects/{project_id}/progress/{period}",
    dependencies=[chain_write(ChainOf.project("project_id"))],
    response_model=ProgressReportDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Submit or correct a month's progress (报送/更正月度进度)",
    description=(
        "报送项目某月的进度。首次报送为第1版（201）；再次报送同一月份为更正，生成新版本"
        "（200），原版本保留并标记被替代时间，须带 If-Match（当前版本的 ETag）和更正原因。\n\n"
        "The first report of a month is revision 1 (201). A resubmission is a correction: "
        "a new revision (200) that keeps the earlier one on record (`superseded_at`); it "
        'needs `If-Match` with the current revision\'s ETag (`"<revision>"`; 428 if '
        "missing, 412 if stale) and a `correction_reason`. Months after the current one "
        "and cancelled projects are refused. Cumulative figures are computed from the "
        "reports on record, never sent. Problems listed in `problems` are raised with "
        "the report."
    ),
    responses={
        200: {"model": ProgressReportDetail, "description": "A correction (new revision)"},
        **problem_responses(
            NotFound, Conflict, PreconditionFailed, PreconditionRequired, ValidationProblem
        ),
    },
)
def submit_progress(
    project_id: ProjectId,
    period: PeriodPath,
    body: ProgressSubmit,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ProgressReportDetail:
    result = service.submit_report(session, project_id, period, body, if_match)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    # A new revision of a month already on record is a 200 at the same place.
    location = f"{API_PREFIX}/progress-reports/{result.report.id}"
    created(response, location, service.RevisionTag(result.report.revision))
    return result.detail


@router.get(
    "/projects/{project_id}/progress",
    response_model=Page[ProgressReportOut],
    summary="A project's monthly reports with cumulative figures (月度进度一览)",
    description=(
        "项目每月在案的报告及累计数（本年累计、开工累计、占年度计划%、占总投资%）。"
        "`as_of` 查看某一时刻在案的数据。\n\n"
        "Every month's report on record, ordered by period, each with the cumulative "
        "figures computed in the database; `as_of` shows what was on record then. "
        "`sort=-period` lists the latest month first."
    ),
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_progress(
    project_id: ProjectId,
    session: SessionDep,
    page: PageDep,
    as_of: AsOf = None,
    sort: Annotated[
        str | None,
        Query(pattern=r"^[+-]?period$", description="period or -period", examples=["-period"]),
    ] = None,
) -> Page[ProgressReportOut]:
    descending = bool(sort and sort.startswith("-"))
    return service.list_reports(session, project_id, as_of, page, descending=descending)


@router.get(
    "/projects/{project_id}/progress/{period}",
    response_model=ProgressReportDetail,
    summary="A month's report with all revisions (某月进度及历次版本)",
    description=(
        "某月在案的报告、累计数、全部版本（旧版本带被替代时间）及该月问题。\n\n"
        "The month's report on record with its figures, every revision (older ones "
        "with `superseded_at`) and the problems raised that month. With `as_of`, the "
        "revision on record at that moment and the figures as they stood then. The "
        "ETag (current revision only) is what a correction sends as If-Match."
    ),
    responses=problem_responses(NotFound, ValidationProblem),
)
def get_progress_month(
    project_id: ProjectId,
    period: PeriodPath,
    session: SessionDep,
    response: Response,
    as_of: AsOf = None,
) -> ProgressReportDetail:
    detail = service.get_month(session, project_id, period, as_of)
    if detail.is_current:
        _revision_etag(response, detail.revision)
    return detail


@router.get(
    "/progress-reports/{report_id}",
    response_model=ProgressReportOut,
    summary="One report revision (单个报告版本)",
    description=(
        "按编号读取一个报告版本。被替代的版本显示其报送时的累计数。\n\n"
        "One revision by id. A superseded revision shows the figures as they stood when "
        "it was submitted."
    ),
    responses=problem_responses(NotFound),
)
def get_progress_report(
    report_id: ReportId, session: SessionDep, response: Response
) -> ProgressReportOut:
    out, report = service.get_report(session, report_id)
    _revision_etag(response, report.revision)
    return out


# --- problems -------------------------------------------------------------------------


@router.post(
    "/projects/{project_id}/problems",
    # Reporters raise problems for the projects of their region (issue 16).
    dependencies=[project_write(ChainOf.project("project_id"), Ref.progress_report("report_id"))],
    response_model=ProblemOut,
    status_code=status.HTTP_201_CREATED,
    summary="Raise a problem (登记存在问题)",
    description=(
        "为项目登记一个问题，可指定责任单位、责任人和时限；可关联同月的报告。\n\n"
        "Raise a problem for a project and month, optionally assigned and with a "
        "deadline (not before that month); `report_id` links it to the same month's report."
    ),
    responses=problem_responses(NotFound, ValidationProblem),
)
def create_problem(
    project_id: ProjectId, body: ProblemCreate, session: SessionDep, response: Response
) -> ProblemOut:
    problem = service_problems.create_problem(session, project_id, body)
    created(response, f"{API_PREFIX}/problems/{problem.id}", problem)
    return service_problems.problem_out(problem)


@router.get(
    "/projects/{project_id}/problems",
    response_model=Page[ProblemOut],
    summary="A project's problems (项目问题清单)",
    description=(
        "项目的问题，可按状态、逾期、责任单位、月份筛选。\n\n"
        "A project's problems (all by default), filtered by status, overdue, unit, month."
    ),
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_project_problems(
    project_id: ProjectId,
    session: SessionDep,
    page: PageDep,
    status_: Annotated[
        ProblemStatusFilter, Query(alias="status", description="open, resolved or all")
    ] = ProblemStatusFilter.ALL,
    overdue: OverdueQ = None,
    responsible_unit: UnitQ = None,
    period: Annotated[Period | None, Query(description="Raised in this month")] = None,
    sort: SortQ = None,
) -> Page[ProblemOut]:
    filters = ProblemFilters(status_, overdue, responsible_unit, period, sort)
    return service_problems.list_project_problems(session, project_id, filters, page)


@router.get(
    "/problems/{problem_id}",
    response_model=ProblemOut,
    summary="One problem (问题详情)",
    responses=problem_responses(NotFound),
)
def get_problem(problem_id: ProblemId, session: SessionDep, response: Response) -> ProblemOut:
    problem = service_problems.get_problem(session, problem_id)
    set_etag(response, problem)
    return service_problems.problem_out(problem)


@router.patch(
    "/problems/{problem_id}",
    dependencies=[chain_write(ChainOf.problem("problem_id"))],
    response_model=ProblemOut,
    summary="Assign or reschedule a problem (分派/调整问题)",
    description=(
        "修改未解决问题的描述、责任单位、责任人、时限；须带 If-Match。\n\n"
        "Change an open problem's description, responsible unit/person or deadline. "
        "Needs If-Match; a resolved problem is history and gets 409."
    ),
    responses=problem_responses(
        NotFound, Conflict, PreconditionFailed, PreconditionRequired, ValidationProblem
    ),
)
def update_problem(
    problem_id: ProblemId,
    body: ProblemUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ProblemOut:
    problem = service_problems.update_problem(session, problem_id, body, if_match)
    set_etag(response, problem)
    return service_problems.problem_out(problem)


@router.post(
    "/problems/{problem_id}/resolve",
    dependencies=[chain_write(ChainOf.problem("problem_id"))],
    response_model=ProblemOut,
    summary="Resolve a problem (问题销号)",
    description=(
        "登记问题的解决情况和解决日期（不能晚于今天）；须带 If-Match。已解决的问题返回 409。\n\n"
        "Record how and when a problem was resolved (`resolved_on` not in the future, not "
        "before the month it was raised). Needs If-Match; an already resolved one gets 409."
    ),
    responses=problem_responses(
        NotFound, Conflict, PreconditionFailed, PreconditionRequired, ValidationProblem
    ),
)
def resolve_problem(
    problem_id: ProblemId,
    body: ProblemResolve,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ProblemOut:
    problem = service_problems.resolve_problem(session, problem_id, body, if_match)
    set_etag(response, problem)
    return service_problems.problem_out(problem)


@router.get(
    "/chains/{chain_id}/problems",
    response_model=Page[ChainProblemOut],
    summary="Problems across a chain (产业链问题清单)",
    description=(
        "产业链所有项目的问题，默认只列未解决的；可按逾期、责任单位、月份筛选。\n\n"
        "Problems of every project of the chain, open ones by default, with each "
        "project's code and name. `overdue=true` lists open problems past their deadline. "
        "Sort keys also include project_code."
    ),
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_chain_problems(
    chain_id: ChainId,
    session: SessionDep,
    page: PageDep,
    status_: Annotated[
        ProblemStatusFilter, Query(alias="status", description="open (default), resolved or all")
    ] = ProblemStatusFilter.OPEN,
    overdue: OverdueQ = None,
    responsible_unit: UnitQ = None,
    period: Annotated[Period | None, Query(description="Raised in this month")] = None,
    sort: ChainSortQ = None,
) -> Page[ChainProblemOut]:
    filters = ProblemFilters(status_, overdue, responsible_unit, period, sort)
    return service_problems.list_chain_problems(session, chain_id, filters, page)
