"""The web application for the chain offices: server-rendered pages over the services.

``install(app)`` adds the pages (``/``), their assets (``/static``, shipped in the
package, with cache headers), the API docs on local assets (``/docs``, ``/redoc``),
the cookie session and the Chinese error pages. Pages call the same services in the
same one-transaction-per-request session and are guarded by the same permission
rules as the API (see ``session.py`` and ``core.page_rule``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from chaintrack.auth.tokens import signing_key
from chaintrack.web import errors
from chaintrack.web.core import check_csrf, static_url
from chaintrack.web.session import DEFAULT_IDLE_MINUTES, SessionCookieMiddleware, WebTokens

STATIC_DIR = Path(__file__).parent / "static"
# Asset URLs carry the package version (static_url), so a browser may keep them a day
# and revalidate (ETag / Last-Modified) after that.
CACHE_CONTROL = "public, max-age=86400"


class CachedStatic(StaticFiles):
    async def get_response(self, path: str, scope: Scope):  # type: ignore[no-untyped-def]
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = CACHE_CONTROL
        return response


def _docs(app: FastAPI) -> None:
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title="chaintrack — API",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url=static_url("vendor/swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=static_url("vendor/swagger-ui/swagger-ui.css"),
            swagger_favicon_url=static_url("favicon.svg"),
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title="chaintrack — API",
            redoc_js_url=static_url("vendor/redoc/redoc.standalone.js"),
            redoc_favicon_url=static_url("favicon.svg"),
            with_google_fonts=False,
        )


def install(app: FastAPI, *, idle_minutes: int = DEFAULT_IDLE_MINUTES) -> None:
    """Add the pages to an app built by create_app (docs_url and redoc_url None)."""
    from chaintrack.web import (
        pages_admin,
        pages_assessment,
        pages_attraction,
        pages_auth,
        pages_chains,
        pages_dispatch,
        pages_enterprises,
        pages_home,
        pages_imports,
        pages_problems,
        pages_projects,
    )

    settings = app.state.settings
    app.state.web_tokens = WebTokens(
        app.state.auth.tokens, signing_key(settings), min(idle_minutes, settings.token_ttl_minutes)
    )
    app.mount("/static", CachedStatic(directory=STATIC_DIR), name="static")
    _docs(app)
    app.include_router(pages_auth.router, dependencies=[Depends(check_csrf)])
    for module in (
        pages_home,
        pages_chains,
        pages_enterprises,
        pages_projects,
        pages_problems,
        pages_attraction,
        pages_imports,
        pages_dispatch,
        pages_admin,
        pages_assessment,
    ):
        app.include_router(module.router, dependencies=[Depends(check_csrf)])
    errors.install(app)
    app.add_middleware(SessionCookieMiddleware)
