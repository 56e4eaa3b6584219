"""Every create route answers 201 with Location and, for versioned rows, the ETag.

Derived from the route table: a POST (or PUT) route declared ``status_code=201`` is called with
its request builder (tests/auth_support.py); the Location must be readable and, when
the answer carries an ETag, a GET of the Location answers the same one.
"""

from __future__ import annotations

import pytest
from fastapi import Response

from chaintrack.api import create_app
from chaintrack.auth.permissions import api_routes
from chaintrack.common.concurrency import created
from chaintrack.models.enums import UserRole
from tests.auth_support import BUILDERS, new_world
from tests.conftest import settings_for_tests

# Rows without a version are never updated, so they have no ETag to hand out.
UNVERSIONED = {"/api/v1/chains/{chain_id}/relations", "/api/v1/chains/{chain_id}/map-versions"}
UNVERSIONED |= {"/api/v1/chains/{chain_id}/tasks/{task_id}/notes"}  # a note is read in its task


def _create_routes() -> list[tuple[str, str]]:
    app = create_app(settings_for_tests("sqlite://"))
    return sorted(
        (method, ctx.path)
        for ctx in api_routes(app.routes)
        for method in (ctx.methods or set()) & {"POST", "PUT"}
        if ctx.status_code == 201 and (method, ctx.path) in BUILDERS
    )


CREATE_ROUTES = _create_routes()


def test_created_sets_location_and_etag():
    class Row:
        version = 4

    response = Response()
    created(response, "/api/v1/things/7", Row())
    assert response.headers["Location"] == "/api/v1/things/7"
    assert response.headers["ETag"] == '"4"'

    bare = Response()
    created(bare, "/api/v1/things/8", None)
    assert bare.headers["Location"] == "/api/v1/things/8"
    assert "ETag" not in bare.headers


def test_the_route_table_has_create_routes():
    assert len(CREATE_ROUTES) >= 14
    assert {path for _, path in CREATE_ROUTES} >= UNVERSIONED


@pytest.mark.parametrize(
    ("method", "path"), CREATE_ROUTES, ids=[f"{m} {p}" for m, p in CREATE_ROUTES]
)
def test_create_route_answers_location_and_etag(db, make_user, client_for, method, path):
    world = new_world(db, make_user)
    client = client_for(make_user(UserRole.ADMIN))
    response = BUILDERS[(method, path)](world).send(client)
    assert response.status_code == 201, response.text
    location = response.headers["Location"]
    assert location.startswith("/api/v1/")
    if path in UNVERSIONED:
        assert "ETag" not in response.headers
        return
    etag = response.headers["ETag"]
    body = response.json()
    assert etag == f'"{body.get("version", body.get("revision"))}"'
    got = client.get(location)
    assert got.status_code == 200, (location, got.text)
    assert got.headers["ETag"] == etag
