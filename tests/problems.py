"""One check for RFC 9457 problem responses (``chaintrack.errors``), used by every test.

``assert_problem(r, 422, "validation", field="uscc")`` checks the status (of the
response and of the body), the content type ``application/problem+json``, that the
body has a ``type`` under ``urn:chaintrack:problem:`` and a ``title``, and, when given:
the type's slug, that one of the field errors names ``field`` (exactly, or a part of it
such as ``target_node_ids.1`` for ``target_node_ids``), optionally at ``location``, and
that ``detail`` (a fragment) appears in the problem's detail or in a field error's
message. It returns the body for further checks.
"""

from __future__ import annotations

from typing import Any

from chaintrack.errors import TYPE_PREFIX

PROBLEM_JSON = "application/problem+json"


def problem_fields(problem: dict[str, Any], location: str | None = None) -> list[str]:
    """The fields the problem's errors name (at ``location`` if given)."""
    return [
        e["field"]
        for e in problem.get("errors") or []
        if location is None or e.get("location") == location
    ]


def assert_problem(
    response: Any,
    status: int,
    slug: str | None = None,
    *,
    field: str | None = None,
    location: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON, response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status, body
    assert body["type"].startswith(TYPE_PREFIX), body
    assert body["title"], body
    if slug is not None:
        assert body["type"] == TYPE_PREFIX + slug, body
    if field is not None:
        fields = problem_fields(body, location)
        assert any(f == field or f.startswith(field + ".") for f in fields), (field, body)
    elif location is not None:
        assert problem_fields(body, location), (location, body)
    if detail is not None:
        texts = [body.get("detail") or ""] + [e["message"] for e in body.get("errors") or []]
        assert any(detail in t for t in texts), (detail, body)
    return body
