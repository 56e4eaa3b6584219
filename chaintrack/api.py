"""The FastAPI application: settings, database, error handlers, and the routers."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from chaintrack import __version__, web
from chaintrack.assessment.router import router as assessment_router
from chaintrack.attraction.router import router as attraction_router
from chaintrack.audit import capture
from chaintrack.audit.request_id import RequestIdMiddleware
from chaintrack.audit.router import router as audit_router
from chaintrack.auth.deps import AuthState, current_principal, signed_in_reader
from chaintrack.auth.permissions import document_permissions
from chaintrack.auth.router import public_router as auth_public_router
from chaintrack.auth.router import router as auth_router
from chaintrack.auth.users_router import router as users_router
from chaintrack.chains.router import router as chains_router
from chaintrack.common import limits, openapi
from chaintrack.common.operation_ids import operation_id
from chaintrack.config import Settings, get_settings
from chaintrack.db import engine_from_settings, make_sessionmaker, readonly
from chaintrack.dispatch.router import router as dispatch_router
from chaintrack.enterprises.router import router as enterprises_router
from chaintrack.errors import install_handlers
from chaintrack.imports.router import router as imports_router
from chaintrack.imports.router_exports import router as exports_router
from chaintrack.lists.router import router as lists_router
from chaintrack.maps.router import router as maps_router
from chaintrack.memberships.router import router as memberships_router
from chaintrack.problems.router import router as problems_router
from chaintrack.progress.router import router as progress_router
from chaintrack.projects.router import router as projects_router
from chaintrack.reference.router import router as reference_router
from chaintrack.reports.router import router as reports_router

API_PREFIX = "/api/v1"

TAGS = [
    {"name": "reference", "description": "Regions, tiers and project types (参考数据)."},
    {"name": "chains", "description": "Chain groups, chains and leadership (产业链、链长)."},
    {"name": "map", "description": "The chain map: nodes, relations, versions (产业链图谱)."},
    {"name": "lists", "description": "The N lists: types, lists and entries (N张清单)."},
    {
        "name": "enterprises",
        "description": "Enterprises, figures, tiers (企业、梯度培育).",
    },
    {"name": "memberships", "description": "Enterprises registered to chains (链上企业)."},
    {
        "name": "projects",
        "description": "Chain-building projects (建链补链延链强链).",
    },
    {"name": "progress", "description": "Monthly dispatch: progress and problems (月度调度)."},
    {"name": "dispatch", "description": "Dispatch rounds, review, chase and red lists (调度)."},
    {"name": "reports", "description": "Chain status reports and the dashboard (运行报告)."},
    {
        "name": "auth",
        "description": "Sign in and your account (登录). Every other route needs the bearer "
        "token: use the Authorize button.",
    },
    {"name": "users", "description": "Accounts and editor assignments, for administrators."},
    {"name": "audit", "description": "The audit trail, for administrators (操作日志)."},
]


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The application; raises ConfigurationError for a weak secret key outside development."""
    settings = settings or get_settings()
    auth = AuthState.from_settings(settings)
    engine = engine or engine_from_settings(settings)
    app = FastAPI(
        title="chaintrack",
        version=__version__,
        description=(
            "链长制产业链跟踪数据库 — the tracking database for the chain-leader system: "
            "chains with their map and N lists, enterprises and tiers, chain-building "
            "projects and their monthly progress. Money is in 万元 as exact decimal strings. "
            "Errors are RFC 9457 problem details. Every request needs a bearer token from "
            "POST /api/v1/auth/token (the Authorize button); administrators manage users, "
            "editors change the chains assigned to them, viewers read."
        ),
        openapi_tags=TAGS,
        generate_unique_id_function=operation_id,
        # /docs and /redoc are served on vendored assets by chaintrack.web (offline networks).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.auth = auth
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.read_sessionmaker = make_sessionmaker(readonly(engine), read_only=True)
    install_handlers(app)
    capture.install()
    limits.install(app)  # inside the request id: a 413 carries X-Request-ID too
    app.add_middleware(RequestIdMiddleware)
    openapi.install(app)
    app.include_router(auth_public_router, prefix=API_PREFIX)
    signed_in = [Depends(current_principal)]
    # Routing tries routes in order, one path pattern at a time (about a hundred here):
    # the reports, read most and expected fastest, are tried first. No two routers
    # share a path, so the order changes nothing else.
    routers = (
        reports_router,
        auth_router,
        users_router,
        audit_router,
        reference_router,
        chains_router,
        maps_router,
        lists_router,
        enterprises_router,
        memberships_router,
        projects_router,
        problems_router,
        progress_router,
        dispatch_router,
        imports_router,
        exports_router,
        assessment_router,
        attraction_router,
    )
    document_permissions(routers)
    for router in routers:
        # The reports check the account inside their own worker trip (auth.deps).
        dependencies = [Depends(signed_in_reader)] if router is reports_router else signed_in
        app.include_router(router, prefix=API_PREFIX, dependencies=dependencies)

    web.install(app)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
