"""考核: the year's scheme, targets, scores with ranking; a chain's 年度任务 tab."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from chaintrack.assessment import export, scoring, service, tasks
from chaintrack.assessment import schemas as s
from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.auth.permissions import Access, ChainOf, Rule
from chaintrack.chains.service import list_chains
from chaintrack.common.deps import SessionDep
from chaintrack.common.pagination import PageParams
from chaintrack.errors import NotFound
from chaintrack.history import office_today
from chaintrack.models.assessment import ScoringRule, SubjectKind, TaskStatus
from chaintrack.web import charts
from chaintrack.web.core import (
    FORM_PROBLEMS,
    field_errors,
    form_failed,
    form_values,
    page_rule,
    principal_of,
    redirect,
    render,
)
from chaintrack.web.pages_chains import _chain_page

router = APIRouter(include_in_schema=False)
CITIES = [
    "370100",
    "370200",
    "370300",
    "370400",
    "370500",
    "370600",
    "370700",
    "370800",
    "370900",
    "371000",
    "371100",
    "371300",
    "371400",
    "371500",
    "371600",
    "371700",
]


def _context(
    session: Session, year: int, quarter: int | None, kind: SubjectKind, as_of: dt.date | None
) -> dict[str, Any]:
    board = None
    try:
        board = scoring.score_board(session, year, quarter, kind, as_of)
    except NotFound:
        board = None
    schemes = service.list_schemes(session, year)
    _, chains = list_chains(session, PageParams(limit=200, offset=0))
    subjects = [(f"chain:{c.id}", c.name_zh) for c in chains] + [
        (f"city:{code}", code) for code in CITIES
    ]
    chart = None
    if board is not None and board.subjects:
        chart = charts.bar(
            f"{year}年考核总分",
            [x.name for x in board.subjects],
            [x.total for x in board.subjects],
            "分",
        )
    return {
        "year": year,
        "quarter": quarter,
        "kind": kind.value,
        "as_of": as_of.isoformat() if as_of else "",
        "board": board,
        "chart": chart,
        "schemes": schemes,
        "indicators": service.list_indicators(session),
        "targets": service.list_targets(session, year),
        "subjects": subjects,
        "rules": [(r.value, r.label_zh) for r in ScoringRule],
        "errors": {},
        "values": {},
    }


def _page(
    request: Request, session: Session, context: dict[str, Any], status: int = 200
) -> Response:
    principal = principal_of(request)
    context["is_admin"] = principal is not None and principal.is_admin
    return render(request, "assessment.html", context, status_code=status, section="assessment")


@router.get("/assessment")
def assessment_page(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    year: int | None = None,
    quarter: int | None = None,
    kind: SubjectKind = SubjectKind.CHAIN,
    as_of: dt.date | None = None,
) -> Response:
    year = year or office_today().year
    return _page(request, session, _context(session, year, quarter, kind, as_of))


@router.get("/assessment/scores.xlsx")
def scores_xlsx(
    principal: CurrentPrincipal,
    session: SessionDep,
    year: int,
    quarter: int | None = None,
    kind: SubjectKind = SubjectKind.CHAIN,
    as_of: dt.date | None = None,
) -> Response:
    board = scoring.score_board(session, year, quarter, kind, as_of)
    return Response(
        export.workbook(board),
        media_type=export.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": export.disposition(board)},
    )


def _item(code: str, values: dict[str, Any]) -> dict[str, Any] | None:
    weight = values.get(f"weight_{code}")
    if not weight:
        return None
    rule = values.get(f"rule_{code}", "linear")
    param = values.get(f"param_{code}", "")
    item: dict[str, Any] = {"indicator_code": code, "weight": weight, "rule": rule}
    try:
        if rule == "linear" and param:
            item["cap"] = param
        elif rule == "thresholds":
            steps = [p.split(":") for p in param.replace("，", ",").split(",") if p.strip()]
            item["steps"] = [{"ratio": r.strip(), "score": sc.strip()} for r, sc in steps]
        elif rule == "per_item":
            points, _, top = param.partition("/")
            item["points"] = points.strip() or None
            if top.strip():
                item["max_points"] = top.strip()
    except ValueError:
        item["steps"] = [{"ratio": "x", "score": "x"}]
    return item


@router.post("/assessment/schemes/new", dependencies=[page_rule(Rule(Access.ADMIN))])
async def new_scheme(
    request: Request, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    values = form_values(await request.form())
    year = int(values.get("year") or office_today().year)
    codes = [i.code for i in service.list_indicators(session)]
    items = [x for x in (_item(c, values) for c in codes) if x is not None]
    try:
        data = s.SchemeCreate.model_validate(
            {"year": year, "name": values.get("name", ""), "items": items}
        )
        scheme = service.create_scheme(session, data)
        if values.get("publish"):
            service.publish_scheme(session, scheme)
    except FORM_PROBLEMS as err:
        form_failed(session)
        context = _context(session, year, None, SubjectKind.CHAIN, None)
        context["errors"], context["values"] = field_errors(err), values
        return _page(request, session, context, 422)
    return redirect(f"/assessment?year={year}")


@router.post("/assessment/targets", dependencies=[page_rule(Rule(Access.ADMIN))])
async def set_target(
    request: Request, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    values = form_values(await request.form())
    year = int(values.get("year") or office_today().year)
    kind, _, key = str(values.get("subject", "")).partition(":")
    body: dict[str, Any] = {
        "year": year,
        "indicator_code": values.get("indicator_code", ""),
        "value": values.get("value"),
        "subject_kind": kind or "chain",
    }
    if values.get("quarter"):
        body["quarter"] = values["quarter"]
    if kind == "city":
        body["region_code"] = key
    else:
        body["chain_id"] = key
    try:
        service.set_target(session, s.TargetSet.model_validate(body))
    except FORM_PROBLEMS as err:
        form_failed(session)
        context = _context(session, year, None, SubjectKind.CHAIN, None)
        context["errors"], context["values"] = field_errors(err), values
        return _page(request, session, context, 422)
    return redirect(f"/assessment?year={year}#targets")


# --- 年度任务 ------------------------------------------------------------------------------------


def _tasks_context(
    session: Session, chain_id: int, year: int, as_of: dt.date | None
) -> dict[str, Any]:
    return {
        "year": year,
        "as_of": as_of.isoformat() if as_of else "",
        "list": tasks.task_list(session, chain_id, year, as_of),
        "statuses": [(x.value, x.label_zh) for x in TaskStatus],
        "status_labels": {x.value: x.label_zh for x in TaskStatus},
        "today": office_today().isoformat(),
        "errors": {},
        "values": {},
    }


@router.get("/chains/{chain_id}/tasks")
def tasks_tab(
    request: Request,
    chain_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    year: int | None = None,
    as_of: dt.date | None = None,
) -> Response:
    context = _tasks_context(session, chain_id, year or office_today().year, as_of)
    return _chain_page(request, session, chain_id, "tasks", "chain_tasks.html", context)


@router.post(
    "/chains/{chain_id}/tasks/new", dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.chain()))]
)
async def add_task(
    request: Request, chain_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form, skip=("evidence_file",))
    files = []
    for upload in form.getlist("evidence_file"):
        if isinstance(upload, UploadFile) and upload.filename:
            digest = hashlib.sha256(await upload.read()).hexdigest()
            files.append({"name": upload.filename, "sha256": digest})
    year = int(values["year"]) if str(values.get("year", "")).isdigit() else office_today().year
    try:
        data = s.TaskCreate.model_validate({**values, "evidence_files": files})
        tasks.create_task(session, chain_id, data)
    except FORM_PROBLEMS as err:
        form_failed(session)
        context = _tasks_context(session, chain_id, year, None)
        context["errors"], context["values"] = field_errors(err), values
        return _chain_page(request, session, chain_id, "tasks", "chain_tasks.html", context, 422)
    return redirect(f"/chains/{chain_id}/tasks?year={data.year}")


@router.post(
    "/chains/{chain_id}/tasks/{task_id}/notes",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.chain()))],
)
async def add_note(
    request: Request, chain_id: int, task_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    values = form_values(await request.form())
    task = tasks.get_task(session, chain_id, task_id)
    try:
        data = s.NoteCreate.model_validate(values)
        tasks.add_note(session, task, data, principal.id)
    except FORM_PROBLEMS as err:
        form_failed(session)
        context = _tasks_context(session, chain_id, task.year, None)
        context["errors"] = {f"note{task_id}.{k}": v for k, v in field_errors(err).items()}
        context["errors"][""] = "；".join(field_errors(err).values())
        return _chain_page(request, session, chain_id, "tasks", "chain_tasks.html", context, 422)
    return redirect(f"/chains/{chain_id}/tasks?year={task.year}#task-{task_id}")
