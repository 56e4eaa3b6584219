"""405 answers list every method the path is served with (issue 13).

Routing stops at the first route whose path matches; before the fix ``Allow`` named only
that route's methods (``OPTIONS /chain-groups`` -> ``allow: POST`` while GET works too).
"""

from __future__ import annotations

import pytest
from starlette.routing import compile_path

from chaintrack.auth.permissions import api_routes
from tests.test_imports_api import API


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/chain-groups", "GET, POST"),
        ("DELETE", "/chain-groups", "GET, POST"),
        ("DELETE", "/chain-groups/1", "GET, PATCH"),
        ("PUT", "/chains/1/nodes", "GET, POST"),
        ("OPTIONS", "/nodes/1", "GET, PATCH, DELETE"),
        ("DELETE", "/projects/1", "GET, PATCH"),
    ],
)
def test_allow_lists_every_method_of_the_path(client, method: str, path: str, allow: str) -> None:
    resp = client.request(method, f"{API}{path}")
    assert resp.status_code == 405
    assert resp.headers["allow"] == allow
    assert resp.json()["type"].endswith(":method-not-allowed")


def test_allow_matches_the_route_table(app, client) -> None:
    """For every path of the API, a method it does not serve answers 405 with all it does."""
    served: dict[str, set[str]] = {}
    routes = list(api_routes(app.routes))
    for route in routes:
        served.setdefault(route.path, set()).update(route.methods)
    assert any(len(methods) > 1 for methods in served.values())
    for path, methods in served.items():
        url = path.replace("{period}", "2025-01").replace("{year}", "2025").replace("{code}", "1")
        for param in ("_id}", "id}"):
            while "{" in url and param in url:
                start = url.index("{")
                url = url[:start] + "1" + url[url.index("}", start) + 1 :]
        resp = client.request("OPTIONS", url)
        assert resp.status_code == 405, (path, resp.text)
        # A concrete URL may match more than one route (/leads/template and /leads/{id}).
        methods = {m for r in routes if compile_path(r.path)[0].match(url) for m in r.methods}
        assert set(resp.headers.get("allow", "").split(", ")) == methods, (path, resp.headers)


def test_405_before_sign_in(anon_client) -> None:
    resp = anon_client.request("OPTIONS", f"{API}/chain-groups")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET, POST"
