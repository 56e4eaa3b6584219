"""The OpenAPI document describes the error answers the app really sends.

FastAPI documents a default 422 (``HTTPValidationError``, ``application/json``) and
puts the ``model`` of extra responses under ``application/json``; chaintrack answers
every error as ``application/problem+json`` (RFC 9457). :func:`install` rewrites the
generated document once so that each error response carries the ``ProblemDetail``
schema under ``application/problem+json`` only, and every operation lists the
problems any request can get from the framework itself: 422 (invalid parameters or
body), and for operations with a body 400 (not JSON) and 413 (body too large).

``If-Match`` is declared optional on the routes (a missing one is answered 428 with a
problem, not a framework 422) but is required by every operation that reads it, except
a PUT that may create (201, no If-Match for a new record): the document says so, with
the pattern of the values that can succeed, so that a client generated from it always
sends one.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from chaintrack.common.concurrency import IF_MATCH, IF_MATCH_PATTERN
from chaintrack.errors import PROBLEM_MEDIA_TYPE

PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetail"}
FRAMEWORK_SCHEMAS = ("HTTPValidationError", "ValidationError")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}}


def _require_if_match(method: str, operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header" and parameter.get("name") == IF_MATCH:
            schema = parameter.get("schema", {})
            string: dict[str, Any] = next(
                (s for s in schema.get("anyOf", [schema]) if s.get("type") == "string"), {}
            )
            # A PUT that creates (201) takes no If-Match for a new record: optional there.
            parameter["required"] = not (
                method == "put" and "201" in operation.get("responses", {})
            )
            parameter["schema"] = {**string, "type": "string", "pattern": IF_MATCH_PATTERN}
            operation.setdefault("responses", {}).setdefault(
                "428", _problem("Precondition required (send If-Match with the ETag you read)")
            )


def _fix_operation(method: str, operation: dict[str, Any]) -> None:
    _require_if_match(method, operation)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in responses.items():
        if not status.startswith(("4", "5")):
            continue
        content = response.get("content") or {}
        if PROBLEM_MEDIA_TYPE in content or "HTTPValidationError" in str(content):
            response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}
    has_input = bool(operation.get("parameters")) or "requestBody" in operation
    if has_input and "422" in responses:
        responses["422"]["description"] = "Invalid input"
    elif has_input:
        responses["422"] = _problem("Invalid input")
    if "requestBody" in operation:
        responses.setdefault("400", _problem("Bad request (the body is not valid JSON)"))
        responses.setdefault("413", _problem("Request too large"))


def rewrite(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a generated document in place (and return it)."""
    for item in document.get("paths", {}).values():
        for method in METHODS:
            if method in item:
                _fix_operation(method, item[method])
    schemas = document.get("components", {}).get("schemas", {})
    if "ProblemDetail" in schemas:
        for name in FRAMEWORK_SCHEMAS:
            schemas.pop(name, None)
    return document


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the rewritten document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = rewrite(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
