"""调度: dispatch rounds, reporters' submissions, review, the chase list and the red list."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response, status

from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.auth.permissions import ChainOf, Target, chain_write, project_write
from chaintrack.common.concurrency import IfMatch, created, set_etag
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.common.schemas import Period
from chaintrack.dispatch import export, service
from chaintrack.dispatch.schemas import (
    ChaseRow,
    DispatchSubmit,
    DueProjectOut,
    NotificationOut,
    ReturnIn,
    ReviewOut,
    RoundCreate,
    RoundDetail,
    RoundOut,
    WarningRow,
)
from chaintrack.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    problem_responses,
)
from chaintrack.models import DispatchRound
from chaintrack.progress.router import AsOf, ProjectId, ReportId
from chaintrack.progress.schemas import ProgressReportDetail
from chaintrack.progress.service import RevisionTag

WarningLevel = Annotated[
    Literal["red", "yellow", "green"] | None,
    Query(description="only this level (红 red / 黄 yellow / 绿 green)"),
]

router = APIRouter(prefix="/dispatch", tags=["dispatch"])
RoundId = Annotated[StrictId, Path(description="Dispatch round id")]
ROUND = ChainOf.path("dispatch_round", "round_id")
ExportFormat = Annotated[
    Literal["json", "xlsx"] | None,
    Query(description="json (default) or xlsx (an Excel workbook)"),
]
XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {export.XLSX_MEDIA_TYPE: {}}, "description": "JSON, or Excel (xlsx)"},
    **problem_responses(NotFound, ValidationProblem),
}


def _xlsx(body: bytes, rnd: DispatchRound, what: str) -> Response:
    return Response(
        body,
        media_type=export.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": export.disposition(rnd, what)},
    )


def _round_out(
    session: Any, rnd: DispatchRound, chains: list[int], rows: list[Any]
) -> dict[str, Any]:
    return {
        "id": rnd.id,
        "version": rnd.version,
        "period": rnd.period,
        "deadline": rnd.deadline,
        "chain_ids": chains,
        "opened_at": rnd.opened_at,
        "closed_at": rnd.closed_at,
        "is_closed": rnd.closed_at is not None,
        **service.round_figures(rows),
    }


def _due_out(row: service.DueRow) -> DueProjectOut:
    p = row.project
    return DueProjectOut(
        project_id=p.id,
        name=p.name,
        chain_id=p.chain_id,
        region_code=p.region_code,
        city_code=row.city_code,
        status=row.status,
        report_id=row.report.id if row.report else None,
        revision=row.report.revision if row.report else None,
        review_state=row.state,
        submitted_at=row.report.submitted_at if row.report else None,
        on_time=row.on_time,
        counts=row.counts,
        late=row.late,
        correction=row.correction,
        counted_report_id=row.counted_report_id,
    )


def round_detail(session: Any, round_id: int, as_of: Any) -> RoundDetail:
    rnd = service.get_round(session, round_id, as_of)
    rows = service.due_list(session, rnd, as_of)
    chains = service.round_chains(session, [rnd.id]).get(rnd.id, [])
    out = _round_out(session, rnd, chains, rows)
    if as_of is not None and rnd.closed_at is not None and rnd.closed_at > as_of:
        out.update(closed_at=None, is_closed=False)
    return RoundDetail(**out, due=[_due_out(r) for r in rows])


@router.post(
    "/rounds",
    dependencies=[chain_write(Target("chain", "body", "chain_ids", many=True))],
    response_model=RoundDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Open a dispatch round (开启调度轮次)",
    responses=problem_responses(Conflict, ValidationProblem),
)
def open_round(
    body: RoundCreate, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> RoundDetail:
    rnd = service.open_round(session, body.period, body.deadline, body.chain_ids, principal.id)
    created(response, f"/api/v1/dispatch/rounds/{rnd.id}", rnd)
    return round_detail(session, rnd.id, None)


@router.get("/rounds", response_model=list[RoundOut], summary="Dispatch rounds (调度轮次)")
def list_rounds(session: SessionDep, as_of: AsOf = None) -> list[RoundOut]:
    rounds = service.list_rounds(session, as_of)
    chains = service.round_chains(session, [r.id for r in rounds])
    return [
        RoundOut(
            **_round_out(session, r, chains.get(r.id, []), service.due_list(session, r, as_of))
        )
        for r in rounds
    ]


@router.get(
    "/rounds/{round_id}",
    response_model=RoundDetail,
    summary="A round with its due projects (应报项目)",
    responses=problem_responses(NotFound),
)
def get_round(
    round_id: RoundId, session: SessionDep, response: Response, as_of: AsOf = None
) -> RoundDetail:
    detail = round_detail(session, round_id, as_of)
    set_etag(response, service.get_round(session, round_id))
    return detail


@router.post(
    "/rounds/{round_id}/close",
    dependencies=[chain_write(ROUND)],
    response_model=RoundDetail,
    summary="Close a round (关闭调度轮次)",
    responses=problem_responses(NotFound, PreconditionFailed, PreconditionRequired),
)
def close_round(
    round_id: RoundId,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> RoundDetail:
    rnd = service.close_round(session, round_id, if_match, principal.id)
    set_etag(response, rnd)
    return round_detail(session, round_id, None)


@router.get(
    "/rounds/{round_id}/chase",
    response_model=list[ChaseRow],
    summary="The chase list (催报清单); ?format=xlsx for Excel",
    responses=XLSX_RESPONSE,
)
def chase(
    round_id: RoundId, session: SessionDep, as_of: AsOf = None, format: ExportFormat = None
) -> Any:
    rnd = service.get_round(session, round_id, as_of)
    rows = service.chase_list(session, rnd, as_of)
    if format == "xlsx":
        return _xlsx(export.chase_xlsx(session, rows), rnd, "chase")
    return [ChaseRow(**r) for r in rows]


@router.get(
    "/rounds/{round_id}/warnings",
    response_model=list[WarningRow],
    summary="Warnings (红黄绿预警); ?level=red for the red list, ?format=xlsx for Excel",
    responses=XLSX_RESPONSE,
)
def warnings(
    round_id: RoundId,
    session: SessionDep,
    as_of: AsOf = None,
    level: WarningLevel = None,
    format: ExportFormat = None,
) -> Any:
    rnd = service.get_round(session, round_id, as_of)
    rows = [
        r for r in service.red_list(session, rnd, as_of) if level is None or r["level"] == level
    ]
    if format == "xlsx":
        return _xlsx(export.red_xlsx(session, rows), rnd, "warnings")
    return [WarningRow(**r) for r in rows]


@router.post(
    "/rounds/{round_id}/notify",
    dependencies=[chain_write(ROUND)],
    summary="Notify the reporters of the chase list (催报通知)",
    responses=problem_responses(NotFound),
)
def notify(round_id: RoundId, session: SessionDep) -> dict[str, int]:
    return {"notifications": service.notify(session, service.get_round(session, round_id))}


@router.put(
    "/projects/{project_id}/reports/{period}",
    dependencies=[project_write(ChainOf.project("project_id"))],
    response_model=ProgressReportDetail,
    status_code=status.HTTP_201_CREATED,
    summary="A reporter submits or resubmits a month's progress for review (填报)",
    description=(
        "Submits like PUT /projects/{id}/progress/{period}, and the month goes to review "
        "(pending). Warnings (cumulative above total, progress going down, zero investment "
        "while under construction, an unusual month) refuse the submission (409, "
        "`warnings`) until `confirm_warnings` is true. Refused outright: projects not yet "
        "started or cancelled, a period before the start or after the current month."
    ),
    responses={
        200: {"model": ProgressReportDetail, "description": "A resubmission (new revision)"},
        **problem_responses(
            NotFound, Conflict, PreconditionFailed, PreconditionRequired, ValidationProblem
        ),
    },
)
def submit(
    project_id: ProjectId,
    period: Period,
    body: DispatchSubmit,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> ProgressReportDetail:
    result = service.submit(session, project_id, period, body, if_match, principal.id)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    created(
        response,
        f"/api/v1/progress-reports/{result.report.id}",
        RevisionTag(result.report.revision),
    )
    return result.detail


@router.get("/reviews", response_model=list[ReviewOut], summary="The review queue (待审核)")
def review_queue(session: SessionDep, principal: CurrentPrincipal) -> list[ReviewOut]:
    chains = None if principal.is_admin else principal.editable_chains(session)
    reviews = [r for r, _ in service.review_queue(session, chains)]
    return [ReviewOut(**d) for d in service.review_details(session, reviews)]


@router.get(
    "/reports/{report_id}/review",
    response_model=ReviewOut,
    summary="A report's review and its history",
    responses=problem_responses(NotFound, PreconditionFailed),
)
def get_review(report_id: ReportId, session: SessionDep, response: Response) -> ReviewOut:
    review = service.review_of_report(session, report_id)
    set_etag(response, review)
    return ReviewOut(**service.review_detail(session, review))


def _decide(
    session: Any,
    report_id: int,
    accept: bool,
    reason: str | None,
    if_match: Any,
    user: int,
    response: Response,
) -> ReviewOut:
    review = service.decide(session, report_id, accept, reason, if_match, user)
    set_etag(response, review)
    return ReviewOut(**service.review_detail(session, review))


@router.post(
    "/reports/{report_id}/accept",
    dependencies=[chain_write(ChainOf.path("progress_report", "report_id"))],
    response_model=ReviewOut,
    summary="Accept a report (审核通过); accepting twice is idempotent",
    responses=problem_responses(NotFound, PreconditionFailed, PreconditionRequired),
)
def accept(
    report_id: ReportId,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> ReviewOut:
    return _decide(session, report_id, True, None, if_match, principal.id, response)


@router.post(
    "/reports/{report_id}/return",
    dependencies=[chain_write(ChainOf.path("progress_report", "report_id"))],
    response_model=ReviewOut,
    summary="Return a report to its reporter with a reason (退回)",
    responses=problem_responses(
        NotFound, PreconditionFailed, PreconditionRequired, ValidationProblem
    ),
)
def return_report(
    report_id: ReportId,
    body: ReturnIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> ReviewOut:
    return _decide(session, report_id, False, body.reason, if_match, principal.id, response)


@router.get("/inbox", response_model=list[NotificationOut], summary="My notifications (消息)")
def my_inbox(session: SessionDep, principal: CurrentPrincipal) -> list[NotificationOut]:
    return [
        NotificationOut.model_validate(n, from_attributes=True)
        for n in service.inbox(session, principal.id)
    ]
