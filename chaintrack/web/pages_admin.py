"""管理 (administrators): users and their chains; the audit trail with filters.

Every user form goes through ``chaintrack.auth.service`` (the rules of the /users API:
the last administrator, one's own account, password strength, editors-only chains),
with the user's ETag in the form; errors are shown in place and write nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from chaintrack.audit.service import AuditFilters, list_records
from chaintrack.auth import service as users_service
from chaintrack.auth import throttle
from chaintrack.auth.deps import CurrentPrincipal, Principal, auth_state
from chaintrack.auth.permissions import admin_only
from chaintrack.auth.schemas import PasswordReset, UserCreate, UserUpdate
from chaintrack.auth.service import list_users
from chaintrack.chains.service import list_chains
from chaintrack.common.concurrency import etag_for
from chaintrack.common.deps import SessionDep
from chaintrack.common.pagination import PageParams
from chaintrack.errors import Conflict, NotFound, PreconditionFailed, ValidationProblem
from chaintrack.models import LoginThrottleEntry
from chaintrack.models.enums import AuditAction, UserRole
from chaintrack.web.core import (
    FORM_PROBLEMS,
    field_errors,
    form_failed,
    form_values,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False, dependencies=[admin_only()])
PAGE_SIZE = 50
BEIJING = dt.timezone(dt.timedelta(hours=8))


@router.get("/admin")
def admin_home(principal: CurrentPrincipal) -> Response:
    return redirect("/admin/users")


ROLES = [(r.value, r.label_zh) for r in UserRole]
USER_FORM_PROBLEMS: tuple[type[Exception], ...] = (PreconditionFailed, *FORM_PROBLEMS)
STALE = "此用户已被他人修改，下面是最新内容，请核对后重试。"


def _users_page(
    request: Request,
    session: Session,
    offset: int = 0,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
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
            "chain_options": [(c.id, f"{c.code} {c.name_zh}") for c in chains],
            "roles": ROLES,
            "errors": errors or {},
            "values": values or {},
            "page": {"total": total, "limit": PAGE_SIZE, "offset": page.offset},
            "base": "/admin/users",
        },
        status_code=status_code,
        section="admin",
    )


@router.get("/admin/users")
def users(
    request: Request, principal: CurrentPrincipal, session: SessionDep, offset: int = 0
) -> Response:
    return _users_page(request, session, offset)


@router.post("/admin/users/new")
async def new_user(request: Request, principal: CurrentPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    values = form_values(form, lists=("chain_ids",))
    try:
        user = users_service.create_user(
            session, auth_state(request), UserCreate.model_validate(values)
        )
    except FORM_PROBLEMS as err:
        form_failed(session)
        values.pop("password", None)  # never echoed back
        status_code = 409 if isinstance(err, Conflict) else 422
        return _users_page(
            request, session, errors=field_errors(err), values=values, status_code=status_code
        )
    return redirect(f"/admin/users/{user.id}")


def _user_page(
    request: Request,
    session: Session,
    principal: Principal,
    user_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    etag: str | None = None,
    status_code: int = 200,
) -> Response:
    user = users_service.get_user(session, user_id)
    _, chains = list_chains(session, PageParams(limit=500, offset=0))
    assigned = users_service.list_assignments(session, user_id)
    lock = session.get(LoginThrottleEntry, (throttle.USER, user.username))
    current = {
        "display_name": user.display_name,
        "organisation": user.organisation,
        "role": user.role.value,
        "is_active": "true" if user.is_active else "false",
    }
    return render(
        request,
        "admin_user.html",
        {
            "u": user,
            "etag": etag or etag_for(user),
            "own": user.id == principal.id,
            "assigned": assigned,
            "free_chains": [
                (c.id, f"{c.code} {c.name_zh}")
                for c in chains
                if c.id not in {a.chain_id for a in assigned}
            ],
            "lock": lock,
            "roles": ROLES,
            "errors": errors or {},
            "values": {**current, **(values or {})},
        },
        status_code=status_code,
        section="admin",
    )


@router.get("/admin/users/{user_id}")
def user_page(
    request: Request, user_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    return _user_page(request, session, principal, user_id)


def _refused(
    request: Request,
    session: Session,
    principal: Principal,
    user_id: int,
    err: Exception,
    values: dict[str, Any] | None = None,
    etag: str | None = None,
) -> Response:
    """A refused user form: nothing written, the page again with the errors in place
    (a stale form shows the current values and ETag)."""
    form_failed(session)
    if isinstance(err, PreconditionFailed):
        return _user_page(request, session, principal, user_id, errors={"": STALE}, status_code=412)
    return _user_page(
        request,
        session,
        principal,
        user_id,
        errors=field_errors(err),
        values=values,
        etag=etag,
        status_code=409 if isinstance(err, Conflict) else 422,
    )


@router.post("/admin/users/{user_id}/edit")
async def edit_user(
    request: Request, user_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    data = {
        "display_name": values.get("display_name", ""),
        "organisation": values.get("organisation"),
        "role": values.get("role"),
        "is_active": values.get("is_active", "false"),
    }
    etag = str(form.get("etag") or "")
    try:
        users_service.update_user(
            session, principal.user, user_id, UserUpdate.model_validate(data), etag
        )
    except USER_FORM_PROBLEMS as err:
        return _refused(request, session, principal, user_id, err, values, etag)
    return redirect(f"/admin/users/{user_id}")


@router.post("/admin/users/{user_id}/password")
async def reset_password(
    request: Request, user_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    etag = str(form.get("etag") or "")
    try:
        users_service.reset_password(
            session,
            auth_state(request),
            principal.user,
            user_id,
            PasswordReset.model_validate(values),
            etag,
        )
    except USER_FORM_PROBLEMS as err:
        return _refused(request, session, principal, user_id, err, etag=etag)
    return redirect(f"/admin/users/{user_id}?done=password")


@router.post("/admin/users/{user_id}/unlock")
async def unlock_user(
    request: Request, user_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    users_service.unlock_user(session, user_id)
    return redirect(f"/admin/users/{user_id}?done=unlock")


@router.post("/admin/users/{user_id}/chains")
async def assign_chain(
    request: Request, user_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    raw = str((await request.form()).get("chain_id") or "").strip()
    users_service.get_user(session, user_id)  # an unknown user is the 404 page
    try:
        if not raw.isdigit():
            raise ValidationProblem.for_field("chain_id", "请选择产业链")
        try:
            users_service.assign_chain(session, user_id, int(raw))
        except NotFound:
            raise ValidationProblem.for_field("chain_id", "产业链不存在") from None
    except FORM_PROBLEMS as err:
        return _refused(request, session, principal, user_id, err)
    return redirect(f"/admin/users/{user_id}")


@router.post("/admin/users/{user_id}/chains/{chain_id}/remove")
async def unassign_chain(
    request: Request, user_id: int, chain_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    users_service.unassign_chain(session, user_id, chain_id)
    return redirect(f"/admin/users/{user_id}")


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
