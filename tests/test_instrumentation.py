"""Every endpoint under OpenTelemetry's SQLAlchemy instrumentation.

The instrumentation (``opentelemetry-instrumentation-sqlalchemy``) starts a span in
``before_cursor_execute`` and keeps it on the execution context
(``context._otel_span``) until ``after_cursor_execute``: a statement whose cursor
events fire without an execution context fails its request. Here every write route
(the request builders of the permission matrix), every GET route without a path
parameter, the reports in each format and a GET with an id of each router are called
as an administrator with the instrumentation on the test engine: each succeeds, and
each records spans of its SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from chaintrack.auth.permissions import api_routes
from chaintrack.models.enums import UserRole
from tests.auth_support import API, BUILDERS, new_world
from tests.conftest import TEST_PASSWORD
from tests.factories import (
    make_designation,
    make_enterprise,
    make_list_type,
    make_membership,
    make_node,
    make_project,
    make_report,
)
from tests.test_imports_permissions import IMPORT_BUILDERS

WORK = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


@pytest.fixture
def spans(engine) -> Iterator[InMemorySpanExporter]:
    """The test engine instrumented as a service would instrument its engine."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = SQLAlchemyInstrumentor()
    # skip_dep_check: the package declares the SQLAlchemy versions it was tested with;
    # without it, a newer SQLAlchemy would leave the engine silently uninstrumented
    # (the span counts below would fail, not pass).
    instrumentor.instrument(engine=engine, tracer_provider=provider, skip_dep_check=True)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


class Calls:
    """Sends requests; each must succeed and record a span for each SQL statement."""

    def __init__(self, client, exporter: InMemorySpanExporter) -> None:
        self.client = client
        self.exporter = exporter

    def send(self, label: str, request: Callable[[], Any], *, min_statements: int = 1) -> Any:
        self.exporter.clear()  # spans of the arrangement
        response = request()
        assert 200 <= response.status_code < 300, (label, response.status_code, response.text)
        spans = self.exporter.get_finished_spans()
        assert all(s.status.status_code is not StatusCode.ERROR for s in spans), label
        statements = [
            str((s.attributes or {}).get("db.statement", ""))
            for s in spans
            if s.kind is SpanKind.CLIENT
        ]
        work = [sql for sql in statements if sql.lstrip().upper().startswith(WORK)]
        assert len(work) >= min_statements, (label, statements)
        return response

    def get(self, path: str, *, min_statements: int = 1, **params: str) -> Any:
        return self.send(
            f"GET {path} {params}",
            lambda: self.client.get(API + path, params=params),
            min_statements=min_statements,
        )


def test_sign_in_and_reports(spans, db, make_user, client, app):
    calls = Calls(client, spans)
    user = make_user(UserRole.VIEWER)
    signed_in = calls.send(
        "POST /auth/token",
        lambda: client.post(
            f"{API}/auth/token", data={"username": user.username, "password": TEST_PASSWORD}
        ),
    )
    token = signed_in.json()["access_token"]
    calls.send(
        "GET /auth/me with the new token",
        lambda: client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"}),
    )

    world = new_world(db, make_user)
    node = make_node(db, world.chain)
    ent = make_enterprise(db)
    make_membership(db, ent, world.chain, node_id=node.id)
    make_designation(db, ent)
    make_report(db, make_project(db, world.chain), "2026-10")
    chain = f"/reports/chains/{world.chain.id}"
    for params in ({"period": "2026-10"}, {"period": "2026-10", "as_of": "2026-11-10"}):
        # The sign-in lookup, then the chain report's nine statements, the dashboard's eight.
        for fmt in ("json", "csv", "xlsx"):
            calls.get(chain, min_statements=10, format=fmt, **params)
            calls.get("/reports/dashboard", min_statements=9, format=fmt, **params)
    group = {"group_id": str(world.chain.group_id)} if world.chain.group_id else {}
    calls.get("/reports/dashboard", **group, sort="-projects")


def test_every_get_route_without_parameters(spans, client, app):
    calls = Calls(client, spans)
    # Required query parameters get a plain value (e.g. the assessment's year).
    samples = {"year": "2026", "period": "2026-10"}
    routes = sorted(
        (ctx.path, ctx.original_route)
        for ctx in api_routes(app.routes)
        if "GET" in (ctx.methods or set()) and ctx.path.startswith(API) and "{" not in ctx.path
    )
    assert len(routes) > 10
    # A year's scores need a published scheme (404 without one; tests/test_assessment.py).
    routes = [(path, route) for path, route in routes if not path.endswith("/assessment/scores")]
    for path, route in routes:
        required = {
            p.name: samples[p.name]
            for p in route.dependant.query_params
            if p.field_info.is_required()
        }
        calls.get(path.removeprefix(API), **required)


def test_a_get_with_an_id_of_each_router(spans, db, make_user, client):
    calls = Calls(client, spans)
    world = new_world(db, make_user)
    chain = world.chain.id
    node = make_node(db, world.chain)
    ent = make_enterprise(db)
    membership = make_membership(db, ent, world.chain, node_id=node.id)
    designation = make_designation(db, ent)
    project = make_project(db, world.chain)
    report = make_report(db, project, "2026-10")
    list_type = make_list_type(db)
    user = make_user(UserRole.EDITOR, chains=[world.chain])
    for path in (
        f"/users/{user.id}",
        f"/users/{user.id}/chains",
        "/regions/370100",
        f"/chains/{chain}",
        f"/chains/{chain}/leaders",
        f"/chains/{chain}/map",
        f"/nodes/{node.id}",
        f"/chains/{chain}/map-versions",
        f"/list-types/{list_type.id}",
        f"/chains/{chain}/lists",
        f"/enterprises/{ent.id}",
        f"/enterprises/{ent.id}/designations",
        f"/designations/{designation.id}",
        f"/chains/{chain}/memberships",
        f"/memberships/{membership.id}",
        f"/enterprises/{ent.id}/memberships",
        f"/projects/{project.id}",
        f"/projects/{project.id}/status-history",
        f"/projects/{project.id}/progress",
        f"/progress-reports/{report.id}",
        f"/chains/{chain}/problems",
        "/templates/enterprises",
    ):
        calls.get(path)
    create = BUILDERS[("POST", f"{API}/chain-groups")](world)
    calls.send("POST /chain-groups", lambda: create.send(client))
    records = calls.get("/audit").json()
    calls.get(f"/audit/{records['items'][0]['id']}")


@pytest.mark.parametrize(
    ("method", "path"), sorted(BUILDERS), ids=[f"{m} {p}" for m, p in sorted(BUILDERS)]
)
def test_every_write_route(spans, db, make_user, client, method, path):
    request = BUILDERS[(method, path)](new_world(db, make_user))
    Calls(client, spans).send(f"{method} {path}", lambda: request.send(client))


@pytest.mark.parametrize("path", sorted(p for _, p in IMPORT_BUILDERS))
def test_every_import_route(spans, db, make_user, client, path):
    request = IMPORT_BUILDERS[("POST", path)](new_world(db, make_user))
    response = Calls(client, spans).send(f"POST {path}", lambda: request.send(client))
    assert response.json()["committed"] is True
