"""The pages' cookie session, carried by the API's own bearer tokens.

Signing in sets an HttpOnly, SameSite=Lax cookie (Secure over HTTPS) holding a
token issued by the app's :class:`~chaintrack.auth.tokens.Tokens`, with the
pages' idle time as its lifetime. :class:`SessionCookieMiddleware` hands that
token to page requests as ``Authorization: Bearer`` — so every page is signed in
by the very dependency the API uses (``current_principal``: signature, expiry,
active account, token version) and every page POST is checked by the API's
permission rules — and re-issues it while the user is active (the idle expiry
slides). API writes never see the cookie: a cross-site form can not act through
it there (only GET downloads linked from the pages read it), and page forms carry a
CSRF token (double submit: a random HttpOnly
cookie and the same value in the form, compared in constant time).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from http.cookies import SimpleCookie
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chaintrack.auth.tokens import TokenError, Tokens

SESSION_COOKIE = "ct_session"
CSRF_COOKIE = "ct_csrf"
CSRF_FIELD = "csrf_token"
DEFAULT_IDLE_MINUTES = 30
# A token is re-issued when it has been in use this long (not on every request).
REFRESH_AFTER = dt.timedelta(minutes=1)

#: Paths that are not pages: the API, assets, the API docs and the health check.
NOT_PAGES = ("/api/", "/static/", "/docs", "/redoc", "/openapi.json", "/health")


def is_page_path(path: str) -> bool:
    return not path.startswith(NOT_PAGES)


def is_https(scope: Scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-proto":
            return value.split(b",")[0].strip().lower() == b"https"
    return False


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header: as if absent
                return {}
    return {k: m.value for k, m in jar.items()}


def cookie_header(
    name: str, value: str, *, secure: bool, max_age: int | None = None, path: str = "/"
) -> bytes:
    parts = [f"{name}={value}", f"Path={path}", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


class WebTokens:
    """The session tokens: the app's signing key, the pages' idle time as lifetime."""

    def __init__(self, tokens: Tokens, key: str, idle_minutes: int) -> None:
        self.read_tokens = tokens
        self.issuer = Tokens(key, idle_minutes)
        self.idle = dt.timedelta(minutes=idle_minutes)

    def issue(self, user_id: int, token_version: int) -> str:
        return self.issuer.issue(user_id, token_version)

    def refreshed(self, token: str) -> str | None:
        """A new token for an active session whose token is getting old, else None."""
        try:
            claims = self.read_tokens.read(token)
        except TokenError:
            return None
        issued = claims.expires_at - self.idle
        if dt.datetime.now(dt.UTC) - issued < REFRESH_AFTER:
            return None
        return self.issue(claims.user_id, claims.token_version)


def _with_bearer(scope: Scope, token: str | None) -> Scope:
    headers = scope["headers"]
    if not token or any(name == b"authorization" for name, _ in headers):
        return scope
    return {
        **scope,
        "headers": [*headers, (b"authorization", f"Bearer {token}".encode("latin-1"))],
    }


class SessionCookieMiddleware:
    """Page requests: cookie -> bearer token, CSRF cookie set, idle expiry slid."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not is_page_path(scope["path"]):
            if scope["method"] in ("GET", "HEAD") and scope["path"].startswith("/api/"):
                # Downloads linked from the pages (report Excel, templates): reads only.
                scope = _with_bearer(scope, _cookies(scope).get(SESSION_COOKIE))
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        token = cookies.get(SESSION_COOKIE)
        csrf = cookies.get(CSRF_COOKIE)
        scope = dict(_with_bearer(scope, token))
        new_csrf = None
        if not csrf or len(csrf) < 20:
            new_csrf = csrf = secrets.token_urlsafe(32)
        scope["state"] = {**scope.get("state", {}), "csrf_token": csrf}
        web: WebTokens = scope["app"].state.web_tokens
        secure = is_https(scope)

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = list(message.get("headers", []))
                names = {v.split(b"=", 1)[0] for k, v in out if k == b"set-cookie"}
                if new_csrf is not None and CSRF_COOKIE.encode() not in names:
                    out.append((b"set-cookie", cookie_header(CSRF_COOKIE, new_csrf, secure=secure)))
                if token and SESSION_COOKIE.encode() not in names and message["status"] < 400:
                    fresh = web.refreshed(token)
                    if fresh is not None:
                        out.append(
                            (
                                b"set-cookie",
                                cookie_header(
                                    SESSION_COOKIE,
                                    fresh,
                                    secure=secure,
                                    max_age=int(web.idle.total_seconds()),
                                ),
                            )
                        )
                message = {**message, "headers": out}
            await send(message)

        await self.app(scope, receive, send_with_cookies)


def csrf_token(request: Request) -> str:
    token: str = request.scope.get("state", {}).get("csrf_token", "")
    return token


def csrf_ok(request: Request, form: Any) -> bool:
    expected = csrf_token(request)
    given = form.get(CSRF_FIELD) if form is not None else None
    if given is None:  # htmx requests send it as a header (base.html)
        given = request.headers.get("x-csrf-token")
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(given, expected)


def sign_in(response: Response, request: Request, user_id: int, token_version: int) -> None:
    web: WebTokens = request.app.state.web_tokens
    response.raw_headers.append(
        (
            b"set-cookie",
            cookie_header(
                SESSION_COOKIE,
                web.issue(user_id, token_version),
                secure=is_https(request.scope),
                max_age=int(web.idle.total_seconds()),
            ),
        )
    )


def sign_out(response: Response, request: Request) -> None:
    response.raw_headers.append(
        (
            b"set-cookie",
            cookie_header(SESSION_COOKIE, "", secure=is_https(request.scope), max_age=0),
        )
    )
