"""Who is calling: the bearer token read on every request, the user it names.

Every route under /api/v1 (but the token endpoint) depends on
:func:`current_principal`: no token, a bad or expired one, or one of a user
that was deactivated or had the password reset since, is a 401.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from chaintrack.audit import capture
from chaintrack.auth.passwords import Passwords
from chaintrack.auth.throttle import LoginThrottle
from chaintrack.auth.tokens import TokenError, Tokens, signing_key
from chaintrack.common.deps import SessionDep
from chaintrack.config import Settings
from chaintrack.errors import Unauthorized
from chaintrack.models import EditorAssignment, User
from chaintrack.models.enums import UserRole

TOKEN_URL = "/api/v1/auth/token"

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


# What every request checks, built once: a Core row, not an ORM entity (identity
# map, attribute state and the full column list cost more than the lookup itself).
_SIGNED_IN = select(User.id, User.role, User.is_active, User.token_version).where(
    User.id == bindparam("user_id")
)


def unauthorized(detail: str, *, invalid_token: bool = False) -> Unauthorized:
    challenge = 'Bearer error="invalid_token"' if invalid_token else "Bearer"
    return Unauthorized(detail, headers={"WWW-Authenticate": challenge})


def current_principal(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    if not token:
        raise unauthorized(
            "请先登录 / sign in first: send `Authorization: Bearer <token>` "
            "(POST /api/v1/auth/token)"
        )
    try:
        claims = auth_state(request).tokens.read(token)
    except TokenError as err:
        raise unauthorized(f"登录已失效 / {err}", invalid_token=True) from None
    row = session.connection().execute(_SIGNED_IN, {"user_id": claims.user_id}).first()
    if row is None or not row.is_active or row.token_version != claims.token_version:
        raise unauthorized(
            "登录已失效，请重新登录 / the token is no longer valid (account deactivated or "
            "password changed); sign in again",
            invalid_token=True,
        )
    capture.set_user(session, row.id)
    principal = Principal(session, row.id, row.role)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
