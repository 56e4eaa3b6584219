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
from sqlalchemy import select
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
    """The signed-in user, with the chains they may edit (loaded on first use)."""

    def __init__(self, user: User) -> None:
        self.user = user
        self._chains: frozenset[int] | None = None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def role(self) -> UserRole:
        return self.user.role

    @property
    def is_admin(self) -> bool:
        return self.user.role is UserRole.ADMIN

    def editable_chains(self, session: Session) -> frozenset[int]:
        if self._chains is None:
            if self.user.role is UserRole.EDITOR:
                self._chains = frozenset(
                    session.scalars(
                        select(EditorAssignment.chain_id).where(
                            EditorAssignment.user_id == self.user.id
                        )
                    ).all()
                )
            else:
                self._chains = frozenset()
        return self._chains


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
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active or user.token_version != claims.token_version:
        raise unauthorized(
            "登录已失效，请重新登录 / the token is no longer valid (account deactivated or "
            "password changed); sign in again",
            invalid_token=True,
        )
    capture.set_user(session, user.id)
    principal = Principal(user)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
