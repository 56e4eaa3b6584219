"""企业: search the register, an enterprise's page, register and edit (live USCC check)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from chaintrack.attraction.service import leads_of_enterprise
from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.auth.permissions import Access, Rule
from chaintrack.chains.service import list_chains
from chaintrack.common.concurrency import etag_for
from chaintrack.common.deps import SessionDep
from chaintrack.common.pagination import PageParams
from chaintrack.enterprises import service, service_designations
from chaintrack.enterprises.schemas import EnterpriseCreate, EnterpriseUpdate
from chaintrack.errors import PreconditionFailed
from chaintrack.identifiers import IdentifierError, validate_uscc
from chaintrack.memberships.service import list_enterprise_memberships
from chaintrack.models.enums import MembershipRole, Ownership, SizeClass, Tier
from chaintrack.projects.queries import ProjectFilters, list_projects
from chaintrack.reference.service import list_regions
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
PAGE_SIZE = 50
FIELDS = (
    "uscc",
    "name",
    "region_code",
    "size_class",
    "ownership",
    "founded_on",
    "address",
    "note",
)


def _options(enum: Any) -> list[tuple[str, str]]:
    return [(m.value, m.label_zh) for m in enum]


def _choices(session: Session) -> dict[str, Any]:
    _, regions = list_regions(session, PageParams(limit=500, offset=0), include_abolished=False)
    return {
        "regions": regions,
        "sizes": _options(SizeClass),
        "ownerships": _options(Ownership),
    }


@router.get("/enterprises")
def search(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    q: str | None = None,
    region_code: str | None = None,
    tier: Tier | None = None,
    chain_id: int | None = None,
    offset: int = 0,
) -> Response:
    filters = service.EnterpriseFilters(
        q=q or None, region_code=region_code or None, tier=tier, chain_id=chain_id
    )
    page = PageParams(limit=PAGE_SIZE, offset=max(offset, 0))
    total, rows, tiers = service.search_enterprises(session, filters, "name", page)
    _, chains = list_chains(session, PageParams(limit=200, offset=0))
    query = {
        k: v
        for k, v in {"q": q, "region_code": region_code, "tier": tier, "chain_id": chain_id}.items()
        if v
    }
    return render(
        request,
        "enterprises.html",
        {
            "rows": rows,
            "tiers": tiers,
            "page": {"total": total, "limit": PAGE_SIZE, "offset": page.offset},
            "base": "/enterprises?" + urlencode(query),
            "f": query,
            "tier_options": _options(Tier),
            "chains": chains,
        },
        section="enterprises",
    )


@router.get("/enterprises/check-uscc")
def check_uscc(principal: CurrentPrincipal, session: SessionDep, uscc: str = "") -> HTMLResponse:
    """The live check beside the USCC field (htmx): chaintrack.identifiers decides."""
    if not uscc.strip():
        return HTMLResponse('<p class="uscc-check" id="uscc-check"></p>')
    try:
        code = validate_uscc(uscc)
    except IdentifierError as err:
        return HTMLResponse(
            f'<p class="uscc-check bad" id="uscc-check" role="status">✗ {_esc(err.message)}</p>'
        )
    total, rows, _ = service.search_enterprises(
        session, service.EnterpriseFilters(uscc=code), None, PageParams(limit=1, offset=0)
    )
    if total:
        ent = rows[0]
        return HTMLResponse(
            f'<p class="uscc-check bad" id="uscc-check" role="status">✗ 已登记为 '
            f'<a href="/enterprises/{ent.id}">{_esc(ent.name)}</a></p>'
        )
    return HTMLResponse(
        f'<p class="uscc-check ok" id="uscc-check" role="status">✓ 校验通过：{code}</p>'
    )


def _esc(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


@router.get("/enterprises/new")
def new_form(request: Request, principal: CurrentPrincipal, session: SessionDep) -> Response:
    return render(
        request,
        "enterprise_form.html",
        {"values": {}, "errors": {}, "action": "/enterprises/new", **_choices(session)},
        section="enterprises",
    )


@router.post("/enterprises/new", dependencies=[page_rule(Rule(Access.REGISTER))])
async def create(request: Request, principal: CurrentPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    values = form_values(form)
    try:
        ent = service.create_enterprise(session, EnterpriseCreate.model_validate(values))
    except FORM_PROBLEMS as err:
        form_failed(session)
        return render(
            request,
            "enterprise_form.html",
            {
                "values": values,
                "errors": field_errors(err),
                "action": "/enterprises/new",
                **_choices(session),
            },
            status_code=422,
            section="enterprises",
        )
    return redirect(f"/enterprises/{ent.id}?saved=1")


@router.get("/enterprises/{enterprise_id}")
def detail(
    request: Request,
    enterprise_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    saved: int = 0,
) -> Response:
    view = service.enterprise_view(session, enterprise_id)
    _, designations = service_designations.designation_history(
        session, enterprise_id, PageParams(limit=100, offset=0)
    )
    _, memberships = list_enterprise_memberships(
        session, enterprise_id, PageParams(limit=100, offset=0)
    )
    _, figures = service.list_figures(session, enterprise_id, PageParams(limit=20, offset=0))
    _, projects = list_projects(
        session,
        ProjectFilters(owner_enterprise_id=enterprise_id),
        None,
        PageParams(limit=100, offset=0),
        dt.date.today(),
    )
    return render(
        request,
        "enterprise.html",
        {
            "leads": leads_of_enterprise(session, enterprise_id),  # 招商: where it came from
            "ent": view.enterprise,
            "current_tiers": view.tiers,
            "designations": designations,
            "memberships": memberships,
            "figures": figures,
            "projects": projects,
            "saved": saved,
            "roles": dict(_options(MembershipRole)),
        },
        section="enterprises",
    )


def _edit_values(ent: Any) -> dict[str, Any]:
    return {k: getattr(ent, k) for k in FIELDS}


@router.get("/enterprises/{enterprise_id}/edit")
def edit_form(
    request: Request, enterprise_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    ent = service.get_enterprise(session, enterprise_id)
    return render(
        request,
        "enterprise_form.html",
        {
            "ent": ent,
            "values": _edit_values(ent),
            "etag": etag_for(ent),
            "errors": {},
            "action": f"/enterprises/{ent.id}/edit",
            **_choices(session),
        },
        section="enterprises",
    )


@router.post("/enterprises/{enterprise_id}/edit", dependencies=[page_rule(Rule(Access.REGISTER))])
async def edit(
    request: Request, enterprise_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    etag = str(form.get("etag") or "")
    # A cleared optional field is sent as null (the PATCH semantics of the API).
    changes: dict[str, Any] = {k: values.get(k) for k in FIELDS}
    stale = False
    try:
        service.update_enterprise(
            session, enterprise_id, EnterpriseUpdate.model_validate(changes), etag
        )
    except PreconditionFailed:
        stale = True
        errors = {"": "在您编辑期间，其他人已保存了这家企业。下面是最新内容，请核对后重新修改。"}
    except FORM_PROBLEMS as err:
        errors = field_errors(err)
    else:
        return redirect(f"/enterprises/{enterprise_id}?saved=1")
    form_failed(session)
    ent = service.get_enterprise(session, enterprise_id)
    return render(
        request,
        "enterprise_form.html",
        {
            "ent": ent,
            "values": _edit_values(ent) if stale else values,
            "etag": etag_for(ent) if stale else etag,
            "errors": errors,
            "stale": stale,
            "action": f"/enterprises/{enterprise_id}/edit",
            **_choices(session),
        },
        status_code=412 if stale else 422,
        section="enterprises",
    )
