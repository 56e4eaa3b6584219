"""管理 (administrators): users and their chains; the audit trail with filters."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chaintrack.audit.service import AuditFilters, list_records
from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.auth.permissions import admin_only
from chaintrack.auth.service import list_users
from chaintrack.chains.service import list_chains
from chaintrack.common.deps import SessionDep
from chaintrack.common.pagination import PageParams
from chaintrack.errors import ValidationProblem
from chaintrack.models.enums import AuditAction
from chaintrack.web.core import redirect, render

router = APIRouter(include_in_schema=False, dependencies=[admin_only()])
PAGE_SIZE = 50
BEIJING = dt.timezone(dt.timedelta(hours=8))


@router.get("/admin")
def admin_home(principal: CurrentPrincipal) -> Response:
    return redirect("/admin/users")


@router.get("/admin/users")
def users(
    request: Request, principal: CurrentPrincipal, session: SessionDep, offset: int = 0
) -> Response:
    page = PageParams(limit=PAGE_SIZE, offset=max(offset, 0))
    total, rows = list_users(session, page)
    _, chains = list_chains(session, PageParams(limit=500, offset=0))
    return render(
        request,
        "admin_users.html",
        {
            "users": rows,
            "chain_names": {c.id: c.name_zh for c in chains},
            "page": {"total": total, "limit": PAGE_SIZE, "offset": page.offset},
            "base": "/admin/users",
        },
        section="admin",
    )


def _day(value: str | None, field: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), BEIJING)
    except ValueError:
        raise ValidationProblem.for_field(
            field, "日期格式为 YYYY-MM-DD", location="query"
        ) from None


@router.get("/admin/audit")
def audit(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    user_id: int | None = None,
    entity: str | None = None,
    chain_id: int | None = None,
    action: AuditAction | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    offset: int = 0,
) -> Response:
    to_day = _day(date_to, "date_to")
    filters = AuditFilters(
        user_id=user_id,
        entity=entity or None,
        chain_id=chain_id,
        action=action,
        from_time=_day(date_from, "date_from"),
        to_time=to_day + dt.timedelta(days=1) if to_day else None,
    )
    page = PageParams(limit=PAGE_SIZE, offset=max(offset, 0))
    total, records = list_records(session, filters, page, None)
    _, users_ = list_users(session, PageParams(limit=500, offset=0))
    _, chains = list_chains(session, PageParams(limit=500, offset=0))
    query = {
        k: v
        for k, v in {
            "user_id": user_id,
            "entity": entity,
            "chain_id": chain_id,
            "action": action.value if action else None,
            "date_from": date_from,
            "date_to": date_to,
        }.items()
        if v
    }
    return render(
        request,
        "admin_audit.html",
        {
            "records": records,
            "users": users_,
            "chains": chains,
            "actions": [(a.value, a.label_zh) for a in AuditAction],
            "f": query,
            "page": {"total": total, "limit": PAGE_SIZE, "offset": page.offset},
            "base": "/admin/audit?" + urlencode(query),
        },
        section="admin",
    )
