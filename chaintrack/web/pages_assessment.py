"""考核: the year's scheme, targets, scores with ranking; a chain's 年度任务 tab."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from chaintrack.assessment import export, scoring, service, tasks
from chaintrack.assessment import schemas as s
from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.auth.permissions import Access, ChainOf, Rule
from chaintrack.chains.service import list_chains
from chaintrack.common.concurrency import check_if_match
from chaintrack.common.deps import SessionDep
from chaintrack.common.pagination import PageParams
from chaintrack.errors import NotFound, PreconditionFailed
from chaintrack.history import office_today
from chaintrack.models.assessment import (
    IndicatorFigure,
    ScoreAdjustment,
    ScoringRule,
    SubjectKind,
    TaskStatus,
)
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
FIELD_LABELS = {
    "value": "数值",
    "source": "来源",
    "points": "分值",
    "reason": "事由",
    "decided_on": "决定日期",
    "indicator_code": "指标",
    "chain_id": "对象",
    "region_code": "对象",
    "quarter": "期间",
}
STALE = "该记录已被他人修改，下面是最新情况，请核对后重试。"


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
    cities = service.cities(session, year)
    subjects = [(f"chain:{c.id}", c.name_zh) for c in chains] + [
        (f"city:{r.code}", r.name_zh) for r in cities
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
        "figures": service.list_figures(session, year),
        "adjustments": service.list_adjustments(session, year),
        "manual_indicators": [
            i for i in service.list_indicators(session) if not service.is_computed(i.kind)
        ],
        "subjects": subjects,
        "subject_names": dict(subjects),
        "failed": "",
        "field_labels": FIELD_LABELS,
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


def _subject_body(values: dict[str, Any], year: int) -> dict[str, Any]:
    kind, _, key = str(values.get("subject", "")).partition(":")
    body: dict[str, Any] = {"year": year, "subject_kind": kind or "chain"}
    if values.get("quarter"):
        body["quarter"] = values["quarter"]
    if kind == "city":
        body["region_code"] = key
    else:
        body["chain_id"] = key
    return body


def _year(values: dict[str, Any]) -> int:
    year = str(values.get("year", ""))
    return int(year) if year.isdigit() and len(year) == 4 else office_today().year


async def _write(
    request: Request,
    session: Session,
    anchor: str,
    write: Callable[[dict[str, Any]], object],
    row: Any = None,
) -> Response:
    """Run one form's write; a refused one shows the page again with the form's errors."""
    form = await request.form()
    values = form_values(form)
    year = _year(values)
    try:
        if row is not None:
            check_if_match(str(form.get("etag") or ""), row)
        write(values)
    except PreconditionFailed:
        form_failed(session)
        return _again(request, session, year, anchor, {"": STALE}, values, 412)
    except FORM_PROBLEMS as err:
        form_failed(session)
        return _again(request, session, year, anchor, field_errors(err), values, 422)
    return redirect(f"/assessment?year={year}#{anchor}")


def _again(
    request: Request,
    session: Session,
    year: int,
    anchor: str,
    errors: dict[str, str],
    values: dict[str, Any],
    status: int,
) -> Response:
    context = _context(session, year, None, SubjectKind.CHAIN, None)
    context["errors"], context["values"], context["failed"] = errors, values, anchor
    return _page(request, session, context, status)


ADMIN = [page_rule(Rule(Access.ADMIN))]


@router.post("/assessment/targets", dependencies=ADMIN)
async def set_target(
    request: Request, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    def write(values: dict[str, Any]) -> object:
        body = _subject_body(values, _year(values))
        body |= {"indicator_code": values.get("indicator_code", ""), "value": values.get("value")}
        return service.set_target(session, s.TargetSet.model_validate(body))

    return await _write(request, session, "targets", write)


@router.post("/assessment/targets/{target_id}/edit", dependencies=ADMIN)
async def edit_target(
    request: Request, target_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    target = service.get_target(session, target_id)

    def write(values: dict[str, Any]) -> object:
        data = s.TargetUpdate.model_validate({"value": values.get("value")})
        return service.update_target(session, target, data)

    return await _write(request, session, "targets", write, target)


@router.post("/assessment/targets/{target_id}/delete", dependencies=ADMIN)
async def delete_target(
    request: Request, target_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    target = service.get_target(session, target_id)
    return await _write(
        request, session, "targets", lambda _: service.delete_target(session, target), target
    )


@router.post("/assessment/figures/new", dependencies=ADMIN)
async def new_figure(
    request: Request, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    def write(values: dict[str, Any]) -> object:
        body = _subject_body(values, _year(values))
        body |= {k: values.get(k) for k in ("indicator_code", "value", "source")}
        return service.create_figure(session, s.FigureCreate.model_validate(body))

    return await _write(request, session, "figures", write)


@router.post("/assessment/figures/{figure_id}/edit", dependencies=ADMIN)
async def edit_figure(
    request: Request, figure_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    figure = service.get_row(session, IndicatorFigure, figure_id, "figure")

    def write(values: dict[str, Any]) -> object:
        body = {k: values.get(k) for k in ("value", "source")}
        return service.update_figure(session, figure, s.FigureUpdate.model_validate(body))

    return await _write(request, session, "figures", write, figure)


@router.post("/assessment/figures/{figure_id}/delete", dependencies=ADMIN)
async def delete_figure(
    request: Request, figure_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    figure = service.get_row(session, IndicatorFigure, figure_id, "figure")
    return await _write(
        request, session, "figures", lambda _: service.delete_row(session, figure), figure
    )


@router.post("/assessment/adjustments/new", dependencies=ADMIN)
async def new_adjustment(
    request: Request, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    def write(values: dict[str, Any]) -> object:
        body = _subject_body(values, _year(values))
        body |= {k: values.get(k) for k in ("points", "reason", "decided_on")}
        return service.create_adjustment(session, s.AdjustmentCreate.model_validate(body))

    return await _write(request, session, "adjustments", write)


@router.post("/assessment/adjustments/{adjustment_id}/edit", dependencies=ADMIN)
async def edit_adjustment(
    request: Request, adjustment_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    item = service.get_row(session, ScoreAdjustment, adjustment_id, "adjustment")

    def write(values: dict[str, Any]) -> object:
        body = {k: values.get(k) for k in ("points", "reason", "decided_on") if k in values}
        data = s.AdjustmentUpdate.model_validate(body)
        return service.update_adjustment(session, item, data)

    return await _write(request, session, "adjustments", write, item)


@router.post("/assessment/adjustments/{adjustment_id}/delete", dependencies=ADMIN)
async def delete_adjustment(
    request: Request, adjustment_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    item = service.get_row(session, ScoreAdjustment, adjustment_id, "adjustment")
    return await _write(
        request, session, "adjustments", lambda _: service.delete_row(session, item), item
    )


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
        "edit_values": {},
        "editing": None,
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


@router.post(
    "/chains/{chain_id}/tasks/{task_id}/edit",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.chain()))],
)
async def edit_task(
    request: Request, chain_id: int, task_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form, skip=("evidence_file",))
    task = tasks.get_task(session, chain_id, task_id)
    body: dict[str, Any] = {
        k: values.get(k)
        for k in ("title", "owner_unit", "owner_person", "deadline", "evidence")
        if k in values or k in ("owner_person", "evidence")
    }
    files = []
    for upload in form.getlist("evidence_file"):
        if isinstance(upload, UploadFile) and upload.filename:
            digest = hashlib.sha256(await upload.read()).hexdigest()
            files.append({"name": upload.filename, "sha256": digest})
    if files:
        body["evidence_files"] = list(task.evidence_files or []) + files
    try:
        check_if_match(str(form.get("etag") or ""), task)
        tasks.update_task(session, task, s.TaskUpdate.model_validate(body))
    except PreconditionFailed:
        return _task_again(request, session, task, {"": STALE}, values, 412)
    except FORM_PROBLEMS as err:
        return _task_again(request, session, task, field_errors(err), values, 422)
    return redirect(f"/chains/{chain_id}/tasks?year={task.year}#task-{task_id}")


def _task_again(
    request: Request,
    session: Session,
    task: Any,
    errors: dict[str, str],
    values: dict[str, Any],
    status: int,
) -> Response:
    chain_id, task_id, year = task.chain_id, task.id, task.year
    form_failed(session)
    context = _tasks_context(session, chain_id, year, None)
    context["errors"] = {f"edit{task_id}.{k}": v for k, v in errors.items()}
    context["errors"][""] = "；".join(errors.values())
    context["edit_values"], context["editing"] = values, task_id
    return _chain_page(request, session, chain_id, "tasks", "chain_tasks.html", context, status)
