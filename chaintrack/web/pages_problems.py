"""问题: the problem list, a problem's page (timeline, the steps this user may take now),
raising a problem from a project, an enterprise or a chain. The rules are the services'
(``chaintrack/problems``) and the routes' (the same permission rules as the API)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.auth.permissions import Access, ChainOf, Ref, Rule
from chaintrack.common.concurrency import etag_for
from chaintrack.common.deps import SessionDep
from chaintrack.common.pagination import PageParams
from chaintrack.errors import Conflict, PreconditionFailed, PreconditionRequired
from chaintrack.models import Chain, Enterprise, Project
from chaintrack.models.enums import ProblemLevel, ProblemState, Satisfaction
from chaintrack.problems import service
from chaintrack.problems.schemas import (
    ProblemEscalate,
    ProblemHandle,
    ProblemRaise,
    ProblemRate,
    ProblemReturn,
    ReplyIn,
    StepNote,
    SuperviseIn,
)
from chaintrack.web.core import (
    FORM_PROBLEMS,
    can_edit_chain,
    field_errors,
    form_failed,
    form_values,
    page_rule,
    principal_of,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _options(enum: Any) -> list[tuple[str, str]]:
    return [(m.value, m.label_zh) for m in enum]


def _chains(session: Session) -> list[tuple[int, str]]:
    return [(c, n) for c, n in session.execute(select(Chain.id, Chain.name_zh).order_by(Chain.id))]


@router.get("/problems")
def problems(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    chain_id: int | None = None,
    state: ProblemState | None = None,
    level: ProblemLevel | None = None,
    category: str | None = None,
    overdue: int = 0,
    mine: int = 0,
    offset: int = 0,
) -> Response:
    filters = service.LoopFilters(
        chain_id=chain_id,
        state=state,
        level=level,
        category=category or None,
        overdue=True if overdue else None,
        raised_by=principal.id if mine else None,
    )
    page = PageParams(limit=PAGE_SIZE, offset=max(offset, 0))
    result = service.list_problems(session, filters, page)
    query = {
        k: v
        for k, v in {
            "chain_id": chain_id,
            "state": state.value if state else None,
            "level": level.value if level else None,
            "category": category,
            "overdue": overdue or None,
            "mine": mine or None,
        }.items()
        if v
    }
    return render(
        request,
        "problems.html",
        {
            "rows": result.items,
            "page": {"total": result.total, "limit": PAGE_SIZE, "offset": page.offset},
            "base": "/problems?" + urlencode(query),
            # the API's export reads the same filters (problems/filters.py)
            "xlsx_url": "/api/v1/problems?" + urlencode({**query, "format": "xlsx"}),
            "f": query,
            "chains": _chains(session),
            "states": _options(ProblemState),
            "levels": _options(ProblemLevel),
            "categories": [(c.code, c.name_zh) for c in service.categories(session)],
        },
        section="problems",
    )


# --- raising ------------------------------------------------------------------------------


def _new_context(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    subject = "产业链"
    if values.get("project_id"):
        project = session.get(Project, int(values["project_id"]))
        if project is not None:
            subject = f"项目：{project.name}"
            values.setdefault("chain_id", str(project.chain_id))
    elif values.get("enterprise_id"):
        ent = session.get(Enterprise, int(values["enterprise_id"]))
        if ent is not None:
            subject = f"企业：{ent.name}"
    return {
        "values": values,
        "subject": subject,
        "chains": _chains(session),
        "categories": [(c.code, c.name_zh) for c in service.categories(session)],
    }


@router.get("/problems/new")
def new_problem(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    chain_id: int | None = None,
    project_id: int | None = None,
    enterprise_id: int | None = None,
) -> Response:
    values = {
        k: str(v)
        for k, v in {
            "chain_id": chain_id,
            "project_id": project_id,
            "enterprise_id": enterprise_id,
        }.items()
        if v
    }
    context = {**_new_context(session, values), "errors": {}}
    return render(request, "problem_new.html", context, section="problems")


@router.post(
    "/problems/new",
    dependencies=[
        page_rule(
            Rule(
                Access.PROJECT,
                ChainOf.body_chain(),
                (Ref.project("project_id"), Ref.enterprise("enterprise_id")),
            )
        )
    ],
)
async def raise_problem(
    request: Request, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    try:
        problem = service.raise_problem(session, ProblemRaise.model_validate(values), principal.id)
    except FORM_PROBLEMS as err:
        form_failed(session)
        context = {**_new_context(session, dict(values)), "errors": field_errors(err)}
        return render(request, "problem_new.html", context, status_code=422, section="problems")
    return redirect(f"/problems/{problem.id}?saved=1")


# --- a problem's page and its steps ---------------------------------------------------------


def _problem_context(session: Session, request: Request, problem_id: int) -> dict[str, Any]:
    problem = service.get_problem(session, problem_id)
    principal = principal_of(request)
    actor = service.Actor(
        principal.id if principal is not None else None,
        principal is not None and principal.is_admin,
        can_edit_chain(request, session, problem.chain_id),
    )
    detail = service.problem_detail(session, problem_id, actor)
    return {
        "p": detail,
        "etag": etag_for(problem),
        "allowed": {a.value for a in detail.allowed_actions},
        "levels_above": [
            (lv.value, lv.label_zh)
            for lv in ProblemLevel
            if list(ProblemLevel).index(lv) > list(ProblemLevel).index(detail.level)
        ],
        "satisfactions": _options(Satisfaction),
        "errors": {},
        "values": {},
    }


@router.get("/problems/{problem_id}")
def problem_page(
    request: Request,
    problem_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    saved: int = 0,
) -> Response:
    context = {**_problem_context(session, request, problem_id), "saved": saved}
    return render(request, "problem.html", context, section="problems")


#: action -> (input schema, service function, permission rule)
STEPS: dict[str, tuple[type[BaseModel], Any, Rule]] = {
    "accept": (StepNote, service.accept, Rule(Access.CHAIN, ChainOf.problem("problem_id"))),
    "return": (
        ProblemReturn,
        service.return_problem,
        Rule(Access.CHAIN, ChainOf.problem("problem_id")),
    ),
    "escalate": (
        ProblemEscalate,
        service.escalate,
        Rule(Access.CHAIN, ChainOf.problem("problem_id")),
    ),
    "handle": (ProblemHandle, service.handle, Rule(Access.CHAIN, ChainOf.problem("problem_id"))),
    "rate": (ProblemRate, service.rate, Rule(Access.RAISER, ChainOf.problem("problem_id"))),
    "supervise": (
        SuperviseIn,
        service.supervise,
        Rule(Access.CHAIN, ChainOf.problem("problem_id")),
    ),
}


def _again(
    request: Request, session: Session, problem_id: int, status: int, action: str, **kw: Any
) -> Response:
    form_failed(session)
    context = _problem_context(session, request, problem_id)
    context["errors"] = {action: kw.get("errors", {})}
    context["values"] = {action: kw.get("values", {})}
    return render(request, "problem.html", context, status_code=status, section="problems")


def _step_route(action: str, schema: type[BaseModel], fn: Any, rule: Rule) -> None:
    async def step(
        request: Request, problem_id: int, principal: CurrentPrincipal, session: SessionDep
    ) -> Response:
        form = await request.form()
        values = form_values(form)
        etag = str(form.get("etag") or "") or None
        problem = service.get_problem(session, problem_id)
        actor = service.Actor(
            principal.id, principal.is_admin, can_edit_chain(request, session, problem.chain_id)
        )
        try:
            fn(session, problem_id, schema.model_validate(values), etag, actor)
        except (PreconditionFailed, PreconditionRequired):
            message = "问题已被他人处理，下面是最新状态，请核对后重试。"
            return _again(request, session, problem_id, 412, action, errors={"": message})
        except FORM_PROBLEMS as err:
            status = 409 if isinstance(err, Conflict) else 422
            return _again(
                request, session, problem_id, status, action,
                errors=field_errors(err), values=values,
            )  # fmt: skip
        return redirect(f"/problems/{problem_id}?saved=1")

    step.__name__ = f"problem_{action}"
    router.add_api_route(
        f"/problems/{{problem_id}}/{action}",
        step,
        methods=["POST"],
        dependencies=[page_rule(rule)],
    )


for _action, (_schema, _fn, _rule) in STEPS.items():
    _step_route(_action, _schema, _fn, _rule)


@router.post(
    "/supervision-notices/{notice_id}/reply",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.supervision_notice("notice_id")))],
)
async def reply_notice(
    request: Request, notice_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    etag = str(form.get("etag") or "") or None
    notice = service.get_notice(session, notice_id)
    problem_id = notice.problem_id
    actor = service.Actor(principal.id, principal.is_admin, True)
    try:
        service.reply(session, notice_id, ReplyIn.model_validate(values), etag, actor)
    except (PreconditionFailed, PreconditionRequired):
        message = "督办已被他人回复，请刷新后核对。"
        return _again(request, session, problem_id, 412, f"reply-{notice_id}", errors={"": message})
    except FORM_PROBLEMS as err:
        return _again(
            request, session, problem_id, 422, f"reply-{notice_id}",
            errors=field_errors(err), values=values,
        )  # fmt: skip
    return redirect(f"/problems/{problem_id}?saved=1")
