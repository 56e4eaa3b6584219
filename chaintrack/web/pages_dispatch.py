"""调度: rounds, a round's due / chase / red lists and review queue, the reporter's view.

Every rule lives in chaintrack.dispatch.service; these pages only call it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.auth.permissions import Access, ChainOf, Rule, Target
from chaintrack.common.deps import SessionDep
from chaintrack.dispatch import export, service
from chaintrack.dispatch.schemas import DispatchSubmit
from chaintrack.dispatch.scope import scope_of
from chaintrack.errors import PreconditionFailed
from chaintrack.identifiers import validate_period
from chaintrack.models import Chain, ProgressReport, Project
from chaintrack.models.enums import UserRole
from chaintrack.web.core import (
    FORM_PROBLEMS,
    field_errors,
    form_failed,
    form_values,
    page_rule,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)


def _home_context(session: Any, principal: Any) -> dict[str, Any]:
    rounds = service.list_rounds(session, None)
    chains = session.execute(select(Chain.id, Chain.name_zh).order_by(Chain.id)).all()
    mine: list[Any] = []
    if principal.role is UserRole.REPORTER:
        scope = scope_of(session, principal.id)
        if scope is not None and rounds:
            rnd = rounds[0]
            mine = [
                r
                for r in service.due_list(session, rnd, None)
                if scope.covers(r.project.region_code, r.project.owner_enterprise_id)
            ]
    queue_chains = None if principal.is_admin else principal.editable_chains(session)
    queue = (
        service.review_queue(session, queue_chains)
        if principal.role in (UserRole.ADMIN, UserRole.EDITOR)
        else []
    )
    histories = service.review_details(session, [r for r, _ in queue])
    return {
        "rounds": rounds,
        "chains": chains,
        "mine": mine,
        "current": rounds[0] if rounds else None,
        "inbox": service.inbox(session, principal.id)[:20],
        "queue": [(r, p, d) for (r, p), d in zip(queue, histories, strict=True)],
        "errors": {},
        "values": {},
    }


@router.get("/dispatch")
def dispatch_home(request: Request, principal: CurrentPrincipal, session: SessionDep) -> Response:
    return render(request, "dispatch.html", _home_context(session, principal), section="dispatch")


@router.get("/dispatch/rounds/{round_id}")
def round_page(
    request: Request, round_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    rnd = service.get_round(session, round_id)
    rows = service.due_list(session, rnd, None)
    context = {
        "rnd": rnd,
        "rows": rows,
        "figures": service.round_figures(rows),
        "chase": service.chase_list(session, rnd, None),
        "warnings": [w for w in service.red_list(session, rnd, None) if w["level"] != "green"],
    }
    return render(request, "dispatch_round.html", context, section="dispatch")


@router.get("/dispatch/rounds/{round_id}/chase.xlsx")
def chase_xlsx(round_id: int, principal: CurrentPrincipal, session: SessionDep) -> Response:
    rnd = service.get_round(session, round_id)
    return Response(
        export.chase_xlsx(session, service.chase_list(session, rnd, None)),
        media_type=export.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": export.disposition(rnd, "chase")},
    )


@router.get("/dispatch/rounds/{round_id}/warnings.xlsx")
def warnings_xlsx(round_id: int, principal: CurrentPrincipal, session: SessionDep) -> Response:
    """The red and yellow projects (green ones are left out, as on the page)."""
    rnd = service.get_round(session, round_id)
    rows = [w for w in service.red_list(session, rnd, None) if w["level"] != "green"]
    return Response(
        export.red_xlsx(session, rows),
        media_type=export.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": export.disposition(rnd, "warnings")},
    )


@router.post(
    "/dispatch/rounds",
    dependencies=[page_rule(Rule(Access.CHAIN, Target("chain", "body", "chain_ids", many=True)))],
)
async def open_round(
    request: Request, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form, lists=("chain_ids",))
    try:
        period = validate_period(values.get("period", ""))
        deadline = dt.date.fromisoformat(values.get("deadline", ""))
        ids = [int(c) for c in values["chain_ids"]]
        rnd = service.open_round(session, period, deadline, ids, principal.id)
    except (ValueError, KeyError, *FORM_PROBLEMS) as err:  # type: ignore[misc]
        form_failed(session)
        context = {
            **_home_context(session, principal),
            "errors": field_errors(err),
            "values": values,
        }
        return render(request, "dispatch.html", context, status_code=422, section="dispatch")
    return redirect(f"/dispatch/rounds/{rnd.id}")


REVIEW = page_rule(Rule(Access.CHAIN, ChainOf.path("progress_report", "report_id")))


@router.post("/dispatch/reports/{report_id}/accept", dependencies=[REVIEW])
async def accept(
    request: Request, report_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    try:
        service.decide(session, report_id, True, None, str(form.get("etag") or ""), principal.id)
    except PreconditionFailed:
        form_failed(session)
        return redirect("/dispatch?stale=1")
    return redirect("/dispatch")


@router.post("/dispatch/reports/{report_id}/return", dependencies=[REVIEW])
async def return_report(
    request: Request, report_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    reason = str(form.get("reason") or "").strip() or "请核实后重新报送"
    try:
        service.decide(session, report_id, False, reason, str(form.get("etag") or ""), principal.id)
    except PreconditionFailed:
        form_failed(session)
        return redirect("/dispatch?stale=1")
    return redirect("/dispatch")


@router.post(
    "/dispatch/projects/{project_id}/report",
    dependencies=[page_rule(Rule(Access.PROJECT, ChainOf.project("project_id")))],
)
async def submit(
    request: Request, project_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    period = values.pop("period", "")
    values["confirm_warnings"] = bool(values.get("confirm_warnings"))
    current = session.scalar(
        select(ProgressReport.revision).where(
            ProgressReport.project_id == project_id,
            ProgressReport.period == period,
            ProgressReport.superseded_at.is_(None),
        )
    )
    if current is not None and not values.get("correction_reason"):
        values["correction_reason"] = "按审核意见重新报送"
    try:
        period = validate_period(period)
        service.submit(
            session,
            project_id,
            period,
            DispatchSubmit.model_validate(values),
            f'"{current}"' if current else None,
            principal.id,
        )
    except FORM_PROBLEMS as err:
        form_failed(session)
        context = {
            **_home_context(session, principal),
            "errors": {project_id: field_errors(err)},
            "warn": getattr(err, "extra", {}).get("warnings"),
        }
        return render(request, "dispatch.html", context, status_code=422, section="dispatch")
    name = session.scalar(select(Project.name).where(Project.id == project_id))
    del name
    return redirect("/dispatch?saved=1")
