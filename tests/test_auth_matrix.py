"""Every write route, derived from the app's route table, called by every role.

anonymous / viewer / editor of another chain / editor of this chain / administrator
-> 401 / 403 / 403 / success / success for chain-scoped routes (the other rules:
see EXPECTED). A write route without a permission rule, or without a request
builder in tests/auth_support.py, fails the suite.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from chaintrack.api import create_app
from chaintrack.auth.permissions import Access, api_routes, rule_of
from chaintrack.models import AuditRecord
from chaintrack.models.enums import UserRole
from tests.auth_support import BUILDERS, PAGE_BUILDERS, new_world
from tests.conftest import settings_for_tests
from tests.test_imports_permissions import IMPORT_BUILDERS

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PUBLIC = {("POST", "/api/v1/auth/token")}
# reporter_in: a 填报员 whose region (济南 370100) covers the world's projects;
# reporter_out: one of 烟台 (370600).
ROLES = (
    "anonymous",
    "viewer",
    "editor_other",
    "editor_this",
    "admin",
    "reporter_in",
    "reporter_out",
)
OK = "2xx"
EXPECTED = {
    Access.CHAIN: dict(zip(ROLES, (401, 403, 403, OK, OK, 403, 403), strict=True)),
    Access.ADMIN: dict(zip(ROLES, (401, 403, 403, 403, OK, 403, 403), strict=True)),
    Access.REGISTER: dict(zip(ROLES, (401, 403, OK, OK, OK, 403, 403), strict=True)),
    Access.AUTHENTICATED: dict(zip(ROLES, (401, OK, OK, OK, OK, OK, OK), strict=True)),
    Access.PROJECT: dict(zip(ROLES, (401, 403, 403, OK, OK, OK, 403), strict=True)),
    # the rating: only the raiser (a user made by the builder) or an administrator
    Access.RAISER: dict(zip(ROLES, (401, 403, 403, 403, OK, 403, 403), strict=True)),
}


def _reporter(db, make_user, region_code):
    from chaintrack.models import ReporterScope

    user = make_user(UserRole.REPORTER)
    db.add(ReporterScope(user_id=user.id, region_code=region_code))
    db.flush()
    return user


def _write_routes():
    app = create_app(settings_for_tests("sqlite://"))
    out = []
    for ctx in api_routes(app.routes):
        for method in sorted((ctx.methods or set()) & WRITE_METHODS):
            if ctx.path.startswith("/api/v1") and (method, ctx.path) not in PUBLIC:
                out.append((method, ctx.path, rule_of(ctx)))
    return out


WRITE_ROUTES = _write_routes()

# Page routes (chaintrack.web): form posts, the same rules, a redirect to sign in
# instead of a 401 and an HTML page instead of a problem body.
PUBLIC_PAGES = {("POST", "/login")}


def _page_write_routes():
    app = create_app(settings_for_tests("sqlite://"))
    out = []
    for ctx in api_routes(app.routes):
        for method in sorted((ctx.methods or set()) & WRITE_METHODS):
            if not ctx.path.startswith("/api/") and (method, ctx.path) not in PUBLIC_PAGES:
                out.append((method, ctx.path, rule_of(ctx)))
    return out


PAGE_WRITE_ROUTES = _page_write_routes()
# File-upload routes run the same role matrix in tests/test_imports_permissions.py.
JSON_WRITE_ROUTES = [(m, p, rule) for m, p, rule in WRITE_ROUTES if (m, p) in BUILDERS]


def test_the_route_table_has_write_routes():
    assert len(WRITE_ROUTES) >= 40


def test_every_write_route_has_a_rule_and_a_request_builder():
    no_rule = [f"{m} {p}" for m, p, rule in WRITE_ROUTES if rule is None]
    builders = BUILDERS | IMPORT_BUILDERS
    no_builder = [f"{m} {p}" for m, p, _ in WRITE_ROUTES if (m, p) not in builders]
    stale = sorted(set(BUILDERS) - {(m, p) for m, p, _ in WRITE_ROUTES})
    assert not no_rule, f"write routes without a permission rule: {no_rule}"
    assert not no_builder, f"write routes without a request builder: {no_builder}"
    assert not stale, f"builders for routes that no longer exist: {stale}"


def test_every_page_write_route_has_a_rule_and_a_request_builder():
    assert len(PAGE_WRITE_ROUTES) >= 10
    no_rule = [f"{m} {p}" for m, p, rule in PAGE_WRITE_ROUTES if rule is None]
    no_builder = [f"{m} {p}" for m, p, _ in PAGE_WRITE_ROUTES if (m, p) not in PAGE_BUILDERS]
    stale = sorted(set(PAGE_BUILDERS) - {(m, p) for m, p, _ in PAGE_WRITE_ROUTES})
    assert not no_rule, f"page write routes without a permission rule: {no_rule}"
    assert not no_builder, f"page write routes without a request builder: {no_builder}"
    assert not stale, f"page builders for routes that no longer exist: {stale}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "rule"),
    PAGE_WRITE_ROUTES,
    ids=[f"{m} {p}" for m, p, _ in PAGE_WRITE_ROUTES],
)
def test_page_permission_matrix(db, make_user, client_for, method, path, rule, role):
    assert rule is not None, f"{method} {path} declares no permission rule"
    world = new_world(db, make_user)
    actor = {
        "anonymous": lambda: None,
        "viewer": lambda: make_user(UserRole.VIEWER),
        "editor_other": lambda: make_user(UserRole.EDITOR, chains=[world.other]),
        "editor_this": lambda: make_user(UserRole.EDITOR, chains=[world.chain]),
        "admin": lambda: make_user(UserRole.ADMIN),
        "reporter_in": lambda: _reporter(db, make_user, "370100"),
        "reporter_out": lambda: _reporter(db, make_user, "370600"),
    }[role]()
    request = PAGE_BUILDERS[(method, path)](world)
    audit_before = db.scalar(select(func.count()).select_from(AuditRecord))
    response = request.send(client_for(actor))
    expected = EXPECTED[rule.access][role]
    if expected == OK:
        location = response.headers.get("location", "")
        assert response.status_code in (200, 303), (response.status_code, response.text[:800])
        assert not location.startswith("/login") or path == "/logout", location
        if request.writes:
            records = db.scalars(
                select(AuditRecord).where(
                    AuditRecord.request_id == response.headers["X-Request-ID"]
                )
            ).all()
            assert records, f"{method} {path} wrote no audit record: {response.text[:800]}"
            assert {r.user_id for r in records} == {actor.id}
        return
    if expected == 401:  # a page sends the visitor to sign in
        assert response.status_code == 303, response.status_code
        assert response.headers["location"].startswith("/login")
    else:
        assert response.status_code == expected, (response.status_code, response.text[:500])
        assert "没有权限" in response.text
    assert db.scalar(select(func.count()).select_from(AuditRecord)) == audit_before


def test_reads_need_a_token_too(app):
    from fastapi.testclient import TestClient

    anon = TestClient(app, raise_server_exceptions=False)
    reads = [
        ctx.path
        for ctx in api_routes(app.routes)
        if "GET" in (ctx.methods or set())
        and ctx.path.startswith("/api/v1")
        and "{" not in ctx.path
    ]
    assert len(reads) > 10
    for path in reads:
        r = anon.get(path)
        assert r.status_code == 401, (path, r.status_code)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    for public in ("/health", "/docs", "/openapi.json"):
        assert anon.get(public).status_code == 200


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "rule"),
    JSON_WRITE_ROUTES,
    ids=[f"{m} {p}" for m, p, _ in JSON_WRITE_ROUTES],
)
def test_permission_matrix(db, make_user, client_for, method, path, rule, role):
    assert rule is not None, f"{method} {path} declares no permission rule"
    build = BUILDERS.get((method, path))
    assert build is not None, f"no request builder for {method} {path}"
    world = new_world(db, make_user)
    actor = {
        "anonymous": lambda: None,
        "viewer": lambda: make_user(UserRole.VIEWER),
        "editor_other": lambda: make_user(UserRole.EDITOR, chains=[world.other]),
        "editor_this": lambda: make_user(UserRole.EDITOR, chains=[world.chain]),
        "admin": lambda: make_user(UserRole.ADMIN),
        "reporter_in": lambda: _reporter(db, make_user, "370100"),
        "reporter_out": lambda: _reporter(db, make_user, "370600"),
    }[role]()
    request = build(world)
    audit_before = db.scalar(select(func.count()).select_from(AuditRecord))
    response = request.send(client_for(actor))
    expected = EXPECTED[rule.access][role]
    if expected == OK:
        assert 200 <= response.status_code < 300, (response.status_code, response.text)
        # Every successful write is in the audit trail: one record per changed row, by
        # the actor, under the request's id.
        records = db.scalars(
            select(AuditRecord).where(AuditRecord.request_id == response.headers["X-Request-ID"])
        ).all()
        assert records, f"{method} {path} wrote no audit record"
        rows = [(r.entity, r.entity_id) for r in records]
        assert len(rows) == len(set(rows)), rows
        assert {r.user_id for r in records} == {actor.id}
        return
    assert response.status_code == expected, (response.status_code, response.text)
    body = response.json()
    assert body["type"] == (
        "urn:chaintrack:problem:unauthorized"
        if expected == 401
        else "urn:chaintrack:problem:forbidden"
    )
    # A refused request writes nothing, not even an audit record.
    assert db.scalar(select(func.count()).select_from(AuditRecord)) == audit_before
