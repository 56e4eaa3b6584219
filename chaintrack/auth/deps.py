"""Who is calling: the bearer token read on every request, the user it names.

Every route under /api/v1 (but the token endpoint) depends on
:func:`current_principal`: no token, a bad or expired one, or one of a user
that was deactivated or had the password reset since, is a 401. The reports
router uses :func:`signed_in_reader` instead: the same checks, the account's
made in the report's own worker-thread trip.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from chaintrack.audit import capture
from chaintrack.auth.passwords import Passwords
from chaintrack.auth.throttle import LoginThrottle
from chaintrack.auth.tokens import Claims, TokenError, Tokens, signing_key
from chaintrack.common.deps import SessionDep, run_read
from chaintrack.config import Settings
from chaintrack.errors import Unauthorized
from chaintrack.models import EditorAssignment, User
from chaintrack.models.enums import UserRole

TOKEN_URL = "/api/v1/auth/token"
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL,
    auto_error=False,
    description="Sign in with a username and password (OAuth2 password flow) / 用户名密码登录",
)


@dataclass
class AuthState:
    """What the app needs to authenticate: built once by create_app."""

    settings: Settings
    passwords: Passwords
    tokens: Tokens
    throttle: LoginThrottle

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthState:
        return cls(
            settings=settings,
            passwords=Passwords.from_settings(settings),
            tokens=Tokens(signing_key(settings), settings.token_ttl_minutes),
            throttle=LoginThrottle(
                window_seconds=settings.login_window_seconds,
                max_per_user=settings.login_max_failures_per_user,
                max_per_address=settings.login_max_failures_per_address,
                lock_seconds=settings.login_lock_seconds,
            ),
        )

    @classmethod
    def for_cli(cls, settings: Settings) -> AuthState:
        """Hashing and password rules only: commands never issue tokens."""
        return cls(
            settings=settings,
            passwords=Passwords.from_settings(settings),
            tokens=Tokens(secrets.token_urlsafe(48), settings.token_ttl_minutes),
            throttle=LoginThrottle(window_seconds=1, max_per_user=1, max_per_address=1),
        )


def auth_state(request: Request) -> AuthState:
    state: AuthState = request.app.state.auth
    return state


class Principal:
    """The signed-in user: id and role checked on every request; the full account
    and the chains they may edit are loaded on first use."""

    def __init__(self, session: Session, user_id: int, role: UserRole) -> None:
        self._session = session
        self.id = user_id
        self.role = role
        self._user: User | None = None
        self._chains: frozenset[int] | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is UserRole.ADMIN

    @property
    def user(self) -> User:
        if self._user is None:
            user = self._session.get(User, self.id)
            if user is None:  # deleted since the check, in this very transaction: cannot be
                raise unauthorized("登录已失效 / the account no longer exists", invalid_token=True)
            self._user = user
        return self._user

    def editable_chains(self, session: Session) -> frozenset[int]:
        if self._chains is None:
            if self.role is UserRole.EDITOR:
                self._chains = frozenset(
                    session.scalars(
                        select(EditorAssignment.chain_id).where(EditorAssignment.user_id == self.id)
                    ).all()
                )
            else:
                self._chains = frozenset()
        return self._chains


# What every request checks, built once (its cache key too) and run on the session's
# connection: four columns of the table, not an ORM entity (identity map, attribute
# state and the full column list cost more than the lookup itself).
_USERS = User.__table__.c
_SIGNED_IN = select(_USERS.id, _USERS.role, _USERS.is_active, _USERS.token_version).where(
    _USERS.id == bindparam("user_id")
)


def unauthorized(detail: str, *, invalid_token: bool = False) -> Unauthorized:
    challenge = 'Bearer error="invalid_token"' if invalid_token else "Bearer"
    return Unauthorized(detail, headers={"WWW-Authenticate": challenge})


def _claims(request: Request, token: str | None) -> Claims:
    """The token's claims (signature and expiry checked; the account not yet)."""
    if not token:
        raise unauthorized(
            "请先登录 / sign in first: send `Authorization: Bearer <token>` "
            "(POST /api/v1/auth/token)"
        )
    try:
        return auth_state(request).tokens.read(token)
    except TokenError as err:
        raise unauthorized(f"登录已失效 / {err}", invalid_token=True) from None


def current_principal(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    return _confirm(request, session, _claims(request, token))


#: Endpoints that check the account themselves, in their own worker-thread trip
#: (:func:`run_signed_in_read`); see :func:`signed_in_reader`.
ACCOUNT_CHECKED_IN_WORK: set[Callable[..., Any]] = set()


def checks_account_in_work(endpoint: F) -> F:
    """Mark an ``async`` endpoint that runs its work through run_signed_in_read."""
    ACCOUNT_CHECKED_IN_WORK.add(endpoint)
    return endpoint


async def signed_in_reader(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> None:
    """current_principal for routers of read endpoints that do their work in one trip
    to the thread pool (the reports): the token is checked here, in the event loop
    (no database), and the account — active, token version — at the start of the
    endpoint's own trip, saving a trip of its own. An endpoint not marked with
    :func:`checks_account_in_work` gets the whole check here, before it runs."""
    claims = _claims(request, token)
    if request.scope.get("endpoint") in ACCOUNT_CHECKED_IN_WORK:
        request.state.unconfirmed_claims = claims
        return
    await run_in_threadpool(_confirm, request, session, claims)


async def run_signed_in_read(request: Request, session: Session, work: Callable[[], T]) -> T:
    """run_read for a checks_account_in_work endpoint: the account check first, then
    ``work``, then the read commit, in one trip to the thread pool."""
    claims: Claims | None = getattr(request.state, "unconfirmed_claims", None)
    if claims is None:  # not a marked endpoint: signed_in_reader checked it already
        return await run_read(session, work)

    def checked() -> T:
        _confirm(request, session, claims)
        return work()

    return await run_read(session, checked)


def _confirm(request: Request, session: Session, claims: Claims) -> Principal:
    """The account named by verified claims, still active and on the token's version."""
    row = session.connection().execute(_SIGNED_IN, {"user_id": claims.user_id}).first()
    # (id, role, is_active, token_version)
    if row is None or not row[2] or row[3] != claims.token_version:
        raise unauthorized(
            "登录已失效，请重新登录 / the token is no longer valid (account deactivated or "
            "password changed); sign in again",
            invalid_token=True,
        )
    user_id, role = row[0], row[1]
    capture.set_user(session, user_id)
    principal = Principal(session, user_id, role)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
