"""Signed, expiring bearer tokens (JWT, HS256) and the secret-key policy."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt

from chaintrack.config import MIN_SECRET_LENGTH, Settings

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
ISSUER = "chaintrack"
# Words of template values ("change-me", "your-secret-key", ...); long enough that a
# random key does not contain them by chance.
PLACEHOLDER_MARKERS = (
    "changeme",
    "change-me",
    "change_me",
    "changethis",
    "placeholder",
    "example",
    "your-secret",
    "your_secret",
    "yoursecret",
    "replace-me",
    "replaceme",
    "secret-key",
    "secret_key",
    "secretkey",
    "insecure",
    "notsecret",
)


class ConfigurationError(RuntimeError):
    """The service cannot start with these settings."""


def weak_secret_reason(secret: str) -> str | None:
    """Why a secret key is not good enough for production, or None."""
    value = secret.strip()
    if not value:
        return "CHAINTRACK_SECRET_KEY is not set"
    if len(value) < MIN_SECRET_LENGTH:
        return f"CHAINTRACK_SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters"
    lowered = value.lower()
    if any(marker in lowered for marker in PLACEHOLDER_MARKERS) or len(set(value)) < 8:
        return "CHAINTRACK_SECRET_KEY looks like a placeholder"
    return None


def check_secret(settings: Settings) -> None:
    """Refuse a missing, short or placeholder secret key unless in development mode."""
    reason = weak_secret_reason(settings.secret_key)
    if reason is not None and not settings.is_development:
        raise ConfigurationError(
            f"{reason}. Set it to a long random value, e.g. CHAINTRACK_SECRET_KEY="
            "$(python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
            "or run in development mode "
            "(CHAINTRACK_ENV=development, `chaintrack serve --demo`)."
        )


def signing_key(settings: Settings) -> str:
    """The key tokens are signed with (see check_secret)."""
    check_secret(settings)
    if settings.secret_key.strip():
        return settings.secret_key.strip()
    return _development_key()


@lru_cache(maxsize=1)
def _development_key() -> str:
    """One random key per process (development without a secret): tokens last until restart."""
    log.warning("development mode without CHAINTRACK_SECRET_KEY: tokens last until restart")
    return secrets.token_urlsafe(48)


@dataclass(frozen=True)
class Claims:
    user_id: int
    token_version: int
    expires_at: dt.datetime


class TokenError(Exception):
    pass


class Tokens:
    # Verified tokens remembered per key: a client sends the same token with every
    # request, and checking its signature and claims again costs more than the rest of
    # the sign-in check. Only the exact string that passed is remembered, expiry is
    # checked on every use, and the key never changes for an instance.
    VERIFIED_CACHE_SIZE = 4096

    def __init__(self, key: str, ttl_minutes: int) -> None:
        self._key = key
        self.ttl = dt.timedelta(minutes=ttl_minutes)
        self._verified = lru_cache(maxsize=self.VERIFIED_CACHE_SIZE)(self._verify)

    def issue(self, user_id: int, token_version: int, *, now: dt.datetime | None = None) -> str:
        issued = now or dt.datetime.now(dt.UTC)
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "sub": str(user_id),
            "ver": token_version,
            "iat": int(issued.timestamp()),
            "exp": int((issued + self.ttl).timestamp()),
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def read(self, token: str) -> Claims:
        claims = self._verified(token)
        if claims.expires_at <= dt.datetime.now(dt.UTC):
            raise TokenError("the token has expired; sign in again")
        return claims

    def _verify(self, token: str) -> Claims:
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
            return Claims(
                user_id=int(payload["sub"]),
                token_version=int(payload.get("ver", -1)),
                expires_at=dt.datetime.fromtimestamp(payload["exp"], dt.UTC),
            )
        except jwt.ExpiredSignatureError as err:
            raise TokenError("the token has expired; sign in again") from err
        except (jwt.InvalidTokenError, ValueError, TypeError) as err:
            raise TokenError("the token is not valid") from err
