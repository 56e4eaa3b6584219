"""项目: the project list and a project's page — status, plans, monthly progress."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from chaintrack.attraction.service import lead_of_project
from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.auth.permissions import Access, ChainOf, Rule
from chaintrack.common.concurrency import check_if_match, etag_for
from chaintrack.common.deps import SessionDep
from chaintrack.common.pagination import PageParams
from chaintrack.errors import PreconditionFailed, PreconditionRequired
from chaintrack.history import office_today
from chaintrack.identifiers import validate_period
from chaintrack.models.enums import ProjectStatus, ProjectType
from chaintrack.progress.schemas import ProgressSubmit
from chaintrack.progress.service import list_reports, submit_report
from chaintrack.progress.service_problems import (
    ProblemFilters,
    ProblemStatusFilter,
    list_project_problems,
)
from chaintrack.projects import queries
from chaintrack.projects.schemas import TransitionIn
from chaintrack.projects.service_lifecycle import status_history, transition
from chaintrack.web import charts
from chaintrack.web.core import (
    FORM_PROBLEMS,
    can_edit_chain,
    field_errors,
    form_failed,
    form_values,
    page_rule,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
PROGRESS_FIELDS = ("investment_month", "physical_progress_pct", "physical_progress", "next_steps")


def _options(enum: Any) -> list[tuple[str, str]]:
    return [(m.value, m.label_zh) for m in enum]


@router.get("/projects")
def projects(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    q: str | None = None,
    type: ProjectType | None = None,
    status: ProjectStatus | None = None,
    behind: int = 0,
    offset: int = 0,
) -> Response:
    filters = queries.ProjectFilters(
        q=q or None, type=type, status=status, behind_schedule=True if behind else None
    )
    page = PageParams(limit=PAGE_SIZE, offset=max(offset, 0))
    total, rows = queries.list_projects(session, filters, None, page, office_today())
    query = {
        k: v
        for k, v in {
            "q": q,
            "type": type.value if type else None,
            "status": status.value if status else None,
            "behind": behind or None,
        }.items()
        if v
    }
    return render(
        request,
        "projects.html",
        {
            "rows": rows,
            "page": {"total": total, "limit": PAGE_SIZE, "offset": page.offset},
            "base": "/projects?" + urlencode(query),
            "f": query,
            "types": _options(ProjectType),
            "statuses": _options(ProjectStatus),
        },
        section="projects",
    )


def _project_context(session: Session, request: Request, project_id: int) -> dict[str, Any]:
    detail = queries.load_detail(session, project_id)
    reports = list_reports(session, project_id, None, PageParams(limit=120, offset=0))
    problems = list_project_problems(
        session,
        project_id,
        ProblemFilters(status=ProblemStatusFilter.ALL),
        PageParams(limit=100, offset=0),
    )
    items = reports.items
    chart = charts.line(
        "月度完成投资（万元）",
        [r.period for r in items],
        {
            "本月完成": [r.investment_month for r in items],
            "开工累计": [r.cumulative_total for r in items],
        },
    )
    today = office_today()
    return {
        "d": detail,
        "p": detail.project,
        "etag": etag_for(detail.project),
        "history": status_history(session, project_id),
        "reports": items,
        "problems": problems.items,
        "chart": chart,
        "this_month": f"{today.year:04d}-{today.month:02d}",
        "today": today.isoformat(),
        "editable": can_edit_chain(request, session, detail.project.chain_id),
        "statuses": dict(_options(ProjectStatus)),
        "errors": {},
        "values": {},
        "correct": None,
        "lead": lead_of_project(session, project_id),  # 招商: the lead it came from
    }


@router.get("/projects/{project_id}")
def project_page(
    request: Request,
    project_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    saved: int = 0,
) -> Response:
    context = {**_project_context(session, request, project_id), "saved": saved}
    return render(request, "project.html", context, section="projects")


def _again(
    request: Request, session: Session, project_id: int, status_code: int, **extra: Any
) -> Response:
    form_failed(session)
    context = {**_project_context(session, request, project_id), **extra}
    return render(request, "project.html", context, status_code=status_code, section="projects")


@router.post(
    "/projects/{project_id}/transition",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.project("project_id")))],
)
async def change_status(
    request: Request, project_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    project = queries.get_project(session, project_id)
    try:
        check_if_match(str(form.get("etag") or ""), project)
        transition(session, project, TransitionIn.model_validate(values), office_today())
    except PreconditionFailed:
        return _again(
            request,
            session,
            project_id,
            412,
            status_errors={"": "项目已被他人修改，下面是最新状态，请核对后重试。"},
        )
    except FORM_PROBLEMS as err:
        return _again(request, session, project_id, 422, status_errors=field_errors(err))
    return redirect(f"/projects/{project_id}?saved=1")


@router.post(
    "/projects/{project_id}/progress",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.project("project_id")))],
)
async def submit_progress(
    request: Request, project_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    period = values.pop("period", "")
    etag = str(form.get("etag") or "") or None
    correcting = etag is not None
    try:
        period = validate_period(period)
        result = submit_report(
            session, project_id, period, ProgressSubmit.model_validate(values), etag
        )
    except PreconditionFailed:
        current = next(
            (
                r
                for r in list_reports(
                    session, project_id, None, PageParams(limit=120, offset=0)
                ).items
                if r.period == period
            ),
            None,
        )
        return _again(
            request,
            session,
            project_id,
            412,
            correct=current,
            correct_errors={
                "": "此月份的进度已被他人更正，下面是最新数据；如仍需更正，请在此基础上修改。"
            },
        )
    except PreconditionRequired:
        return _again(
            request,
            session,
            project_id,
            409,
            errors={"period": "该月已报送；如需修改，请在下表中点“更正”并填写原因。"},
            values={"period": period, **values},
        )
    except FORM_PROBLEMS as err:
        errors = field_errors(err)
        if correcting:
            return _again(
                request,
                session,
                project_id,
                422,
                correct={"period": period, "etag": etag, **values},
                correct_errors=errors,
            )
        return _again(
            request, session, project_id, 422, errors=errors, values={"period": period, **values}
        )
    del result
    return redirect(f"/projects/{project_id}?saved=1#progress")


@router.get("/projects/{project_id}/progress/{period}/correct")
def correction_form(
    request: Request,
    project_id: int,
    period: str,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> Response:
    context = _project_context(session, request, project_id)
    current = next((r for r in context["reports"] if r.period == period), None)
    context["correct"] = current
    return render(request, "project.html", context, section="projects")
