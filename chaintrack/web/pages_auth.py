"""登录 / 退出: the existing accounts, the API's throttling, a cookie session."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from chaintrack.auth import service
from chaintrack.auth.deps import auth_state
from chaintrack.auth.permissions import signed_in
from chaintrack.common.deps import ReadSessionDep, SessionDep
from chaintrack.errors import Unauthorized
from chaintrack.web.core import redirect, render
from chaintrack.web.session import sign_in, sign_out

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Only a path on this site (never another host)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": safe_next(next), "errors": {}})


@router.post("/login")
async def login(request: Request, reader: ReadSessionDep, session: SessionDep) -> Response:
    form = await request.form()
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    wanted = safe_next(str(form.get("next") or ""))
    auth = auth_state(request)
    address = request.client.host if request.client else "unknown"
    try:
        user = await run_in_threadpool(
            partial(
                service.authenticate,
                reader,
                session,
                auth,
                username,
                password,
                address,
                throttle_sessions=request.app.state.sessionmaker,
            )
        )
    except service.TooManyRequests as err:
        refused = render(
            request,
            "login.html",
            {"next": wanted, "username": username, "errors": {"": err.detail}},
            status_code=429,
        )
        refused.headers.update(err.headers)
        return refused
    except Unauthorized:
        return render(
            request,
            "login.html",
            {"next": wanted, "username": username, "errors": {"": "用户名或密码错误"}},
            status_code=401,
        )
    response = redirect(wanted)
    sign_in(response, request, user.id, user.token_version)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/logout", dependencies=[signed_in()])
def logout(request: Request) -> Response:
    response = redirect("/login")
    sign_out(response, request)
    return response
