"""RFC 9457 problem details: one exception hierarchy and the handlers that render it.

Services raise these; routers never build error responses by hand. Each class
also describes itself for OpenAPI (``responses=problem_responses(NotFound, ...)``).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path, get_route_path

from chaintrack.identifiers import IdentifierError

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:chaintrack:problem:"


class FieldError(BaseModel):
    location: str = Field(description="body, query, path or header", examples=["body"])
    field: str = Field(description="Dotted path of the field", examples=["uscc"])
    message: str = Field(examples=["第18位校验码应为“L”，实际为“X” / check character ..."])
    code: str | None = Field(default=None, examples=["uscc"])
    position: int | None = Field(
        default=None, description="1-based position of the wrong character, for identifiers"
    )


class ProblemDetail(BaseModel):
    """application/problem+json (RFC 9457)."""

    type: str = Field(examples=["urn:chaintrack:problem:validation"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None

    model_config = {"extra": "allow"}


class Problem(Exception):
    status: int = 500
    slug: str = "internal"
    title: str = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": TYPE_PREFIX + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            out["detail"] = self.detail
        if instance:
            out["instance"] = instance
        if self.errors:
            out["errors"] = [e.model_dump(exclude_none=True) for e in self.errors]
        out.update(self.extra)
        return out


class BadRequest(Problem):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict with the current state"


class PreconditionFailed(Problem):
    status, slug, title = 412, "precondition-failed", "The resource has changed"


class PreconditionRequired(Problem):
    status, slug, title = 428, "precondition-required", "If-Match header required"


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "Request too large"


class ServiceUnavailable(Problem):
    status, slug, title = 503, "busy", "Busy: try again shortly"


#: Seconds a client is asked to wait when the database is busy (Retry-After).
BUSY_RETRY_AFTER_S = 5


def database_busy() -> ServiceUnavailable:
    return ServiceUnavailable(
        "数据库正忙（其他人正在写入），请稍后重试 / the database is busy with another "
        "write; try again in a few seconds",
        headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
    )


def is_database_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" (the busy timeout passed waiting for the write
    lock), raw from the driver or wrapped by SQLAlchemy."""
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    text = str(orig).lower()
    return "database is locked" in text or "database table is locked" in text or "busy" in text


class ValidationProblem(Problem):
    status, slug, title = 422, "validation", "Invalid input"

    @classmethod
    def for_field(
        cls, field: str, message: str, *, location: str = "body", code: str | None = None
    ) -> ValidationProblem:
        return cls(
            f"{field}: {message}",
            errors=[FieldError(location=location, field=field, message=message, code=code)],
        )


def not_found(entity: str, key: object) -> NotFound:
    return NotFound(f"{entity} {key} does not exist", entity=entity, key=str(key))


def identifier_problem(err: IdentifierError, field: str | None = None) -> ValidationProblem:
    problem = ValidationProblem.for_field(field or err.kind, err.message, code=err.kind)
    if err.position is not None:
        problem.extra["position"] = err.position
    return problem


def problem_responses(*classes: type[Problem]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the problems a route can answer with."""
    return {
        cls.status: {
            "model": ProblemDetail,
            "description": cls.title,
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for cls in classes
    }


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """Every method some route answers on this request's path, for ``Allow`` (RFC 9110).

    Routing stops at the first route whose path matches, so the 405 it raises knows only
    that route's methods; a path is often served by several routes (GET and POST of a
    collection in two functions).
    """
    path = get_route_path(request.scope)
    methods: set[str] = set()
    for ctx in iter_route_contexts(list(request.app.routes)):
        route_path, route_methods = getattr(ctx, "path", None), getattr(ctx, "methods", None)
        if route_path and route_methods and compile_path(route_path)[0].match(path):
            methods |= set(route_methods)
    order = {method: i for i, method in enumerate(_METHOD_ORDER)}
    return ", ".join(sorted(methods, key=lambda m: (order.get(m, len(order)), m)))


def _response(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(
        problem.body(instance=request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def _clean_message(msg: str) -> str:
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _validation_to_problem(exc: RequestValidationError) -> Problem:
    errors: list[FieldError] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        location = loc[0] if loc else "body"
        if err.get("type") == "json_invalid":
            return BadRequest(f"The request body is not valid JSON: {err.get('msg')}")
        field = ".".join(loc[1:]) or location
        cause = (err.get("ctx") or {}).get("error")
        identifier = cause if isinstance(cause, IdentifierError) else None
        errors.append(
            FieldError(
                location=location,
                field=field,
                message=identifier.message
                if identifier
                else _clean_message(str(err.get("msg", "invalid"))),
                code=identifier.kind if identifier else err.get("type"),
                position=identifier.position if identifier else None,
            )
        )
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    problem = ValidationProblem(summary, errors=errors)
    if len(errors) == 1 and errors[0].position is not None:
        problem.extra["position"] = errors[0].position
    return problem


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return _response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _response(_validation_to_problem(exc), request)

    @app.exception_handler(IdentifierError)
    async def _identifier(request: Request, exc: IdentifierError) -> JSONResponse:
        return _response(identifier_problem(exc), request)

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        return _response(
            PreconditionFailed("Someone else changed this record first; reload and retry."),
            request,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # Services check what they can first; this is the safety net for races.
        log.info("integrity error: %s", exc.orig)
        return _response(
            Conflict("The change conflicts with existing data (a duplicate or a reference)."),
            request,
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the validators let through (e.g. a number
        # beyond its range): the client's input, not a server fault.
        log.info("data error: %s", exc.orig)
        return _response(
            ValidationProblem("A value is outside what the database can store.", code="data"),
            request,
        )

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        return _response(ValidationProblem("A number is too large.", code="overflow"), request)

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        if is_database_busy(exc):
            log.warning("database busy on %s %s: %s", request.method, request.url.path, exc.orig)
            return _response(database_busy(), request)
        log.exception("operational error on %s %s", request.method, request.url.path)
        return _response(Problem("An unexpected error occurred; it has been logged."), request)

    @app.exception_handler(sqlite3.OperationalError)
    async def _sqlite_operational(request: Request, exc: sqlite3.OperationalError) -> JSONResponse:
        # Raw from the driver (the bulk inserts of an import use its cursor directly).
        if is_database_busy(exc):
            log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
            return _response(database_busy(), request)
        log.exception("driver error on %s %s", request.method, request.url.path)
        return _response(Problem("An unexpected error occurred; it has been logged."), request)

    @app.exception_handler(StatementError)
    async def _statement(request: Request, exc: StatementError) -> JSONResponse:
        # A value the driver could not bind (e.g. a date or an integer beyond its
        # range) arrives wrapped; anything else is a server fault.
        if isinstance(exc.orig, (OverflowError, ValueError)):
            log.info("unbindable value: %s", exc.orig)
            return _response(
                ValidationProblem(
                    "A value is outside what can be stored or compared.", code="overflow"
                ),
                request,
            )
        log.exception("statement error on %s %s", request.method, request.url.path)
        return _response(Problem("An unexpected error occurred; it has been logged."), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        problem = Problem(str(exc.detail), headers=dict(exc.headers or {}))
        if exc.status_code == 405:
            problem.headers["Allow"] = allowed_methods(request) or problem.headers.get("Allow", "")
        problem.status = exc.status_code
        problem.slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http")
        problem.title = {404: "Not found", 405: "Method not allowed"}.get(
            exc.status_code, "HTTP error"
        )
        return _response(problem, request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _response(Problem("An unexpected error occurred; it has been logged."), request)
