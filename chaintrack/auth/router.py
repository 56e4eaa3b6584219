"""Sign in (OAuth2 password flow), the current user, changing one's own password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from chaintrack.auth import service
from chaintrack.auth.deps import CurrentPrincipal, auth_state
from chaintrack.auth.permissions import signed_in
from chaintrack.auth.schemas import Me, PasswordChange, Token
from chaintrack.common.concurrency import set_etag
from chaintrack.common.deps import ReadSessionDep, SessionDep
from chaintrack.errors import Unauthorized, ValidationProblem, problem_responses

router = APIRouter(prefix="/auth", tags=["auth"])
# The token endpoint is the one route under /api/v1 reachable without a token.
public_router = APIRouter(prefix="/auth", tags=["auth"])


@public_router.post(
    "/token",
    response_model=Token,
    summary="Sign in: get a bearer token (登录)",
    description=(
        "OAuth2 password flow: a form with `username` and `password` "
        "(`application/x-www-form-urlencoded`). Answers a bearer token to send as "
        "`Authorization: Bearer <token>`; it expires after `expires_in` seconds and is "
        "revoked when the account is deactivated or its password changes. Wrong "
        "credentials are a 401 that does not say which part was wrong; repeated failures "
        "for one account or from one address are a 429 with `Retry-After`.\n\n"
        "用户名密码登录，返回访问令牌；连续失败过多时返回429并给出重试等待秒数。"
    ),
    responses={
        **problem_responses(Unauthorized, ValidationProblem, service.TooManyRequests),
    },
)
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    reader: ReadSessionDep,
    session: SessionDep,
    response: Response,
) -> Token:
    auth = auth_state(request)
    address = request.client.host if request.client else "unknown"
    user = service.authenticate(
        reader,
        session,
        auth,
        form.username,
        form.password,
        address,
        throttle_sessions=request.app.state.sessionmaker,
    )
    response.headers["Cache-Control"] = "no-store"
    return service.issue_token(auth, user)


@router.get(
    "/me",
    response_model=Me,
    summary="The signed-in user (当前用户)",
    description="Your account, role and — for an editor — the chains you may change.",
    responses=problem_responses(Unauthorized),
)
def me(principal: CurrentPrincipal, session: SessionDep, response: Response) -> Me:
    set_etag(response, principal.user)
    return Me.model_validate(service.user_out(session, principal.user).model_dump())


@router.post(
    "/password",
    response_model=Token,
    summary="Change your own password (修改密码)",
    description=(
        "Send the current and the new password. Every token issued before stops working; "
        "the response carries a new one. / 修改后原有登录失效，返回新令牌。"
    ),
    responses=problem_responses(Unauthorized, ValidationProblem),
    dependencies=[signed_in()],
)
def change_password(
    request: Request, data: PasswordChange, principal: CurrentPrincipal, session: SessionDep
) -> Token:
    auth = auth_state(request)
    user = service.change_own_password(
        session, auth, principal.user, data.current_password, data.new_password
    )
    return service.issue_token(auth, user)
