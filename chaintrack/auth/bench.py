"""A token for scripts that drive the API in-process (benchmarks, load tests).

``admin_token(engine)`` makes sure a ``bench-admin`` administrator exists (random,
unprinted password) and signs a token with the key an app built from the same
settings uses (in development without a secret: the process's random key).
"""

from __future__ import annotations

import secrets

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from chaintrack.auth.passwords import Passwords
from chaintrack.auth.tokens import Tokens, signing_key
from chaintrack.config import Settings, get_settings
from chaintrack.models import User
from chaintrack.models.enums import UserRole

USERNAME = "bench-admin"


def admin_token(engine: Engine, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if not settings.is_development:
        # It creates an administrator without a usable password: scratch databases only.
        raise RuntimeError("admin_token() is for development-mode benchmark and test databases")
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.username == USERNAME))
        if user is None:
            user = User(
                username=USERNAME,
                display_name="benchmark administrator",
                role=UserRole.ADMIN,
                password_hash=Passwords.from_settings(settings).hash(secrets.token_urlsafe(24)),
                is_active=True,
                token_version=0,
            )
            session.add(user)
            session.commit()
        tokens = Tokens(signing_key(settings), settings.token_ttl_minutes)
        return tokens.issue(user.id, user.token_version)
