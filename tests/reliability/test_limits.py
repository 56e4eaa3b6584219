"""Limits: body size, page size, string lengths, upload size, each a clear RFC 9457
problem; and a failed request writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from chaintrack.api import create_app
from chaintrack.common.limits import BodyLimitMiddleware
from chaintrack.db import make_engine
from chaintrack.imports.limits import ImportLimits, import_limits
from chaintrack.models import Enterprise
from tests.conftest import settings_for_tests
from tests.factories import fake_uscc
from tests.problems import assert_problem

pytestmark = pytest.mark.reliability  # not in the default run: pytest -m '' runs it


@pytest.fixture
def small_client(monkeypatch, make_app, admin_user, token_for) -> Iterator[TestClient]:
    """An app whose body cap is 2 KiB and upload cap 4 KiB (+1 MiB multipart room)."""
    monkeypatch.setenv("CHAINTRACK_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("CHAINTRACK_IMPORT_MAX_BYTES", "4096")
    app = make_app()
    headers = {"Authorization": f"Bearer {token_for(admin_user)}"}
    with TestClient(app, raise_server_exceptions=False, headers=headers) as c:
        yield c


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(Enterprise))


def _enterprise(**kw: Any) -> dict[str, Any]:
    return {"uscc": fake_uscc(), "name": "限额测试企业", "region_code": "370600", **kw}


def _assert_too_large(r, limit: int) -> None:
    body = assert_problem(r, 413, "payload-too-large")
    assert body["max_bytes"] == limit
    assert "上限" in body["detail"] and "larger than" in body["detail"]


def test_body_over_the_cap_is_413_and_writes_nothing(small_client, db) -> None:
    before = _count(db)
    r = small_client.post("/api/v1/enterprises", json=_enterprise(note="很" * 2000))
    _assert_too_large(r, 2048)
    assert r.json()["instance"] == "/api/v1/enterprises"
    assert _count(db) == before
    # Under the cap the same route works.
    assert small_client.post("/api/v1/enterprises", json=_enterprise()).status_code == 201


def test_chunked_body_over_the_cap_is_413(small_client, db) -> None:
    before = _count(db)

    def chunks() -> Iterator[bytes]:
        yield b'{"uscc": "' + fake_uscc().encode() + b'", "name": "x", "note": "'
        for _ in range(10):
            yield b"a" * 500
        yield b'", "region_code": "370600"}'

    r = small_client.post(
        "/api/v1/enterprises", content=chunks(), headers={"Content-Type": "application/json"}
    )
    _assert_too_large(r, 2048)
    assert _count(db) == before


async def _drive(middleware: BodyLimitMiddleware, messages: list[dict]) -> list[dict]:
    sent: list[dict] = []
    queue = list(messages)

    async def receive() -> dict:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": []}
    await middleware(scope, receive, send)
    return sent


def test_streamed_chunks_are_counted_as_they_arrive() -> None:
    """No Content-Length: the middleware counts chunks and answers 413 whatever the
    app made of the cut-off body."""
    import anyio

    async def app(scope, receive, send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    mw = BodyLimitMiddleware(app, max_body_bytes=1024, max_upload_bytes=4096)
    chunk = {"type": "http.request", "body": b"x" * 400, "more_body": True}
    sent = anyio.run(_drive, mw, [chunk, chunk, chunk, {"type": "http.request", "body": b""}])
    assert sent[0]["status"] == 413
    ok = anyio.run(_drive, mw, [chunk, {"type": "http.request", "body": b""}])
    assert ok[0]["status"] == 200 and ok[1]["body"] == b"x" * 400


def test_upload_over_the_import_cap_is_413(small_client) -> None:
    # The middleware's multipart cap: the import cap plus room for the framing.
    big = b"a,b\n" * (300 * 1024)  # 1.2 MiB > 4 KiB + 1 MiB
    r = small_client.post(
        "/api/v1/imports/enterprises", files={"file": ("big.csv", big, "text/csv")}
    )
    _assert_too_large(r, 4096 + 1024 * 1024)
    # The import route's own cap (its limits are a dependency).
    small_client.app.dependency_overrides[import_limits] = lambda: ImportLimits(max_bytes=1024)
    try:
        r = small_client.post(
            "/api/v1/imports/enterprises",
            files={"file": ("mid.csv", b"x" * 200_000, "text/csv")},
        )
    finally:
        small_client.app.dependency_overrides.clear()
    assert_problem(r, 413, "payload-too-large")


def test_page_size_is_capped(client) -> None:
    r = client.get("/api/v1/enterprises", params={"limit": 201})
    (err,) = assert_problem(r, 422, "validation")["errors"]
    assert (err["location"], err["field"]) == ("query", "limit")
    ok = client.get("/api/v1/enterprises", params={"limit": 200})
    assert ok.status_code == 200 and ok.json()["limit"] == 200


def test_overlong_string_is_422_naming_the_field(client, db) -> None:
    before = _count(db)
    r = client.post("/api/v1/enterprises", json=_enterprise(name="企" * 201))
    assert r.status_code == 422
    (err,) = r.json()["errors"]
    assert (err["location"], err["field"]) == ("body", "name")
    assert "200" in err["message"]
    assert _count(db) == before


# ------------------------------------------------------------- every string is bounded


def _document() -> dict[str, Any]:
    url = "sqlite://"
    return create_app(settings_for_tests(url), engine=make_engine(url)).openapi()


def _unbounded(doc: dict[str, Any]) -> list[str]:
    """Strings in request bodies and parameters with no maxLength (nor an enum, a
    bounded pattern or a date format), and arrays with no maxItems."""
    schemas = doc["components"]["schemas"]
    found: list[str] = []

    def walk(s: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in s:
            name = s["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(schemas[name], where, seen | {name})
            return
        branches = s.get("anyOf") or s.get("oneOf") or []
        decimal = any(b.get("type") == "number" for b in branches)  # number-or-string
        for b in branches:
            if not (decimal and b.get("type") == "string"):  # bounded by max_digits
                walk(b, where, seen)
        kind = s.get("type")
        if kind == "string":
            pattern = s.get("pattern") or ""
            bounded = (
                "maxLength" in s
                or "enum" in s
                or "const" in s
                or s.get("format") in ("date", "date-time", "binary")
                or "contentMediaType" in s  # an uploaded file: the upload cap
                or (pattern.endswith("$") and "*" not in pattern and "+" not in pattern)
            )
            if not bounded:
                found.append(where)
        if kind == "array":
            if "maxItems" not in s:
                found.append(f"{where}[] (maxItems)")
            walk(s.get("items", {}), f"{where}[]", seen)
        for name, prop in (s.get("properties") or {}).items():
            walk(prop, f"{where}.{name}", seen)

    for path, item in doc["paths"].items():
        for method, op in item.items():
            label = f"{method.upper()} {path}"
            for p in op.get("parameters", []):
                if p["name"] != "sort":  # a list of known keys: anything else is a 422
                    walk(p.get("schema", {}), f"{label} {p['in']}:{p['name']}", frozenset())
            for media, content in (op.get("requestBody") or {}).get("content", {}).items():
                if media == "application/x-www-form-urlencoded":
                    continue  # the OAuth2 sign-in form (bounded by the body cap)
                walk(content.get("schema", {}), f"{label} body", frozenset())
    return found


def test_every_input_string_has_a_length_limit() -> None:
    assert _unbounded(_document()) == []
