"""招商: the pipeline table with the funnel, a lead's page (timeline, next-stage buttons,
funds, the 落地 conversion form prefilled from the lead) and the new-lead form."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from chaintrack.attraction import pipeline, service
from chaintrack.attraction.schemas import FundsIn, LandIn, LeadCreate, LeadPatch, StepIn
from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.auth.permissions import Access, ChainOf, Ref, Rule
from chaintrack.chains.service import get_chain, list_chains
from chaintrack.common.concurrency import check_if_match
from chaintrack.common.deps import SessionDep
from chaintrack.common.pagination import PageParams
from chaintrack.errors import PreconditionFailed
from chaintrack.history import office_today
from chaintrack.models.attraction import LeadSource, LeadStage
from chaintrack.models.enums import ProjectType
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
LEAD = ChainOf.path("lead", "lead_id")
STALE = "线索已被他人修改，下面是最新情况，请核对后重试。"


def _options(enum: Any) -> list[tuple[str, str]]:
    return [(m.value, m.label_zh) for m in enum]


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@router.get("/attraction")
def attraction(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    chain_id: str | None = None,
    stage: LeadStage | None = None,
    source: LeadSource | None = None,
    responsible: str | None = None,
    year: int | None = None,
    city: str | None = None,
    as_of: str | None = None,
    offset: int = 0,
) -> Response:
    chain = _int(chain_id)
    year = year or office_today().year
    city = (city or "").strip() or None
    funnel_error = None
    day: dt.date | None = None
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        funnel_error = "截至日期格式应为 YYYY-MM-DD"
    if city is not None and not (len(city) == 6 and city.isdigit() and city.endswith("00")):
        funnel_error, city = "城市代码为6位、以00结尾（如370600）", None
    filters = service.LeadFilters(chain, stage, source, (responsible or "").strip() or None)
    page = PageParams(limit=PAGE_SIZE, offset=max(offset, 0))
    total, rows = service.list_leads(session, filters, page)
    _, chains = list_chains(session, PageParams(limit=200, offset=0))
    query = {
        k: v
        for k, v in {
            "chain_id": chain,
            "stage": stage.value if stage else None,
            "source": source.value if source else None,
            "responsible": responsible,
        }.items()
        if v
    }
    export_query = urlencode(query)
    query |= {k: v for k, v in {"city": city, "as_of": day and day.isoformat()}.items() if v}
    return render(
        request,
        "attraction.html",
        {
            "rows": rows,
            "page": {"total": total, "limit": PAGE_SIZE, "offset": page.offset},
            "base": "/attraction?" + urlencode(query),
            "f": query,
            "year": year,
            "funnel": service.funnel(session, chain, year, city=city, as_of=day),
            "funnel_error": funnel_error,
            "export_query": export_query,
            "chains": [(c.id, f"{c.code} {c.name_zh}") for c in chains],
            "stages": _options(LeadStage),
            "sources": _options(LeadSource),
            "new_chain": chain if chain and can_edit_chain(request, session, chain) else None,
        },
        section="attraction",
    )


# --- new lead -------------------------------------------------------------------------------


def _new_context(
    request: Request,
    session: Session,
    chain_id: int,
    values: dict[str, Any],
    errors: dict[str, str],
) -> dict[str, Any]:
    return {
        "chain": get_chain(session, chain_id),
        "nodes": service.node_choices(session, chain_id),
        "sources": _options(LeadSource),
        "values": values,
        "errors": errors,
    }


@router.get("/chains/{chain_id}/attraction/new")
def new_lead_form(
    request: Request,
    chain_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    node_id: int | None = None,
) -> Response:
    values = {"node_ids": [str(node_id)] if node_id else []}
    context = _new_context(request, session, chain_id, values, {})
    return render(request, "lead_new.html", context, section="attraction")


@router.post(
    "/chains/{chain_id}/attraction/new",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.chain(), (Ref.nodes("node_ids"),)))],
)
async def create_lead(
    request: Request, chain_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    values = form_values(await request.form(), lists=("node_ids",))
    try:
        data = LeadCreate.model_validate({**values, "chain_id": chain_id})
        lead = service.create_lead(session, data, office_today())
    except FORM_PROBLEMS as err:
        form_failed(session)
        errors = {
            ("node_ids" if k.startswith("node_ids") else k): v for k, v in field_errors(err).items()
        }
        context = _new_context(request, session, chain_id, values, errors)
        return render(request, "lead_new.html", context, status_code=422, section="attraction")
    return redirect(f"/attraction/leads/{lead.id}?saved=1")


# --- a lead ---------------------------------------------------------------------------------


def _lead_context(session: Session, request: Request, lead_id: int) -> dict[str, Any]:
    d = service.lead_detail(session, lead_id)
    today = office_today()
    signed = pipeline.RANK[LeadStage.SIGNED]
    stopped = d.terminated_from
    land_ready = LeadStage.LANDED in d.allowed_next
    return {
        "d": d,
        "etag": f'"{d.version}"',
        "editable": can_edit_chain(request, session, d.chain.id),
        "moves": [s for s in d.allowed_next if s is not LeadStage.LANDED],
        "land_ready": land_ready,
        "funds_open": pipeline.reached(d.stage, stopped) >= signed,
        "today": today.isoformat(),
        "this_month": f"{today.year:04d}-{today.month:02d}",
        "project_types": [(t.value, t.label_zh) for t in service.CONVERSION_TYPES],
        "land": {
            "uscc": d.uscc or "",
            "enterprise_name": d.company_name,
            "project_name": f"{d.company_name}{ProjectType.FILL.label_zh}项目",
            "project_type": ProjectType.FILL.value,
            "total_investment": str(d.signed_amount or d.intended_investment),
            "actor": d.responsible_person,
            "happened_on": today.isoformat(),
        },
        "step_errors": {},
        "step_values": {},
        "funds_errors": {},
        "land_errors": {},
    }


@router.get("/attraction/leads/{lead_id}")
def lead_page(
    request: Request, lead_id: int, principal: CurrentPrincipal, session: SessionDep, saved: int = 0
) -> Response:
    context = {**_lead_context(session, request, lead_id), "saved": saved}
    return render(request, "lead.html", context, section="attraction")


def _again(
    request: Request, session: Session, lead_id: int, status_code: int, **extra: Any
) -> Response:
    form_failed(session)
    context = _lead_context(session, request, lead_id)
    for key, value in extra.items():
        if key == "land" and isinstance(value, dict):
            context["land"] = {**context["land"], **value}
        else:
            context[key] = value
    return render(request, "lead.html", context, status_code=status_code, section="attraction")


@router.post(
    "/attraction/leads/{lead_id}/steps", dependencies=[page_rule(Rule(Access.CHAIN, LEAD))]
)
async def add_step(
    request: Request, lead_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    lead = service.get_lead(session, lead_id)
    try:
        check_if_match(str(form.get("etag") or ""), lead)
        service.add_step(session, lead, StepIn.model_validate(values), office_today())
    except PreconditionFailed:
        return _again(request, session, lead_id, 412, step_errors={"": STALE}, step_values=values)
    except FORM_PROBLEMS as err:
        errors = field_errors(err)
        return _again(request, session, lead_id, 422, step_errors=errors, step_values=values)
    return redirect(f"/attraction/leads/{lead_id}?saved=1#timeline")


@router.post(
    "/attraction/leads/{lead_id}/funds", dependencies=[page_rule(Rule(Access.CHAIN, LEAD))]
)
async def record_funds(
    request: Request, lead_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    lead = service.get_lead(session, lead_id)
    try:
        check_if_match(str(form.get("etag") or ""), lead)
        service.record_funds(session, lead, FundsIn.model_validate(values))
    except PreconditionFailed:
        return _again(request, session, lead_id, 412, funds_errors={"": STALE})
    except FORM_PROBLEMS as err:
        return _again(request, session, lead_id, 422, funds_errors=field_errors(err))
    return redirect(f"/attraction/leads/{lead_id}?saved=1#funds")


@router.post("/attraction/leads/{lead_id}/land", dependencies=[page_rule(Rule(Access.CHAIN, LEAD))])
async def land(
    request: Request, lead_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    lead = service.get_lead(session, lead_id)
    try:
        check_if_match(str(form.get("etag") or ""), lead)
        service.land(session, lead, LandIn.model_validate(values), office_today())
    except PreconditionFailed:
        return _again(request, session, lead_id, 412, land_errors={"": STALE}, land=values)
    except FORM_PROBLEMS as err:
        return _again(request, session, lead_id, 422, land_errors=field_errors(err), land=values)
    return redirect(f"/attraction/leads/{lead_id}?saved=1")


# --- edit a lead ----------------------------------------------------------------------------


def _edit_context(
    session: Session, lead_id: int, values: dict[str, Any] | None, errors: dict[str, str]
) -> dict[str, Any]:
    d = service.lead_detail(session, lead_id)
    if values is None:
        values = {
            "company_name": d.company_name,
            "uscc": d.uscc or "",
            "origin": d.origin or "",
            "source": d.source.value,
            "intended_investment": str(d.intended_investment),
            "responsible_unit": d.responsible_unit,
            "responsible_person": d.responsible_person,
            "note": d.note or "",
            "node_ids": [str(n.id) for n in d.nodes],
        }
    return {
        "chain": get_chain(session, d.chain.id),
        "nodes": service.node_choices(session, d.chain.id),
        "sources": _options(LeadSource),
        "values": values,
        "errors": errors,
        "lead_id": lead_id,
        "etag": values.get("etag") or f'"{d.version}"',
    }


@router.get("/attraction/leads/{lead_id}/edit")
def edit_lead_form(
    request: Request, lead_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    context = _edit_context(session, lead_id, None, {})
    return render(request, "lead_new.html", context, section="attraction")


@router.post(
    "/attraction/leads/{lead_id}/edit",
    dependencies=[page_rule(Rule(Access.CHAIN, LEAD, (Ref.nodes("node_ids"),)))],
)
async def edit_lead(
    request: Request, lead_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form, lists=("node_ids",))
    lead = service.get_lead(session, lead_id)
    fields = {k: v for k, v in values.items() if k != "etag"}
    fields.setdefault("node_ids", [])
    for name in ("uscc", "origin", "note"):
        fields.setdefault(name, None)
    try:
        check_if_match(str(form.get("etag") or ""), lead)
        patch = LeadPatch.model_validate(fields)
        service.update_lead(session, lead, patch.model_dump(exclude_unset=True), office_today())
    except PreconditionFailed:
        form_failed(session)
        context = _edit_context(session, lead_id, None, {"": STALE})
        return render(request, "lead_new.html", context, status_code=412, section="attraction")
    except FORM_PROBLEMS as err:
        form_failed(session)
        errors = {
            ("node_ids" if k.startswith("node_ids") else k): v for k, v in field_errors(err).items()
        }
        context = _edit_context(session, lead_id, values, errors)
        return render(request, "lead_new.html", context, status_code=422, section="attraction")
    return redirect(f"/attraction/leads/{lead_id}?saved=1")
