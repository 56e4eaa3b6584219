"""What an import does with each row, and the contract of an entity's handler.

A :class:`Handler` plans each row of a chunk as a :class:`Plan` (create, update,
unchanged, or error) with a few bulk look-ups, then applies the chunk's writes; the
helpers here turn rule violations (schema errors, domain problems) into row errors
that name the clerk's column. File-level problems become RFC 9457 problems.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from chaintrack.errors import (
    BadRequest,
    FieldError,
    PayloadTooLarge,
    Problem,
    ValidationProblem,
)
from chaintrack.imports.schemas import Action, RowFieldError
from chaintrack.sheets.files import LIMIT_413, LIMIT_422
from chaintrack.sheets.reader import SheetError
from chaintrack.sheets.specs import ParsedRow, RowError, SheetSpec

# --------------------------------------------------------------------------- plans


@dataclass(slots=True)
class Plan:
    """What happens to one row. ``data`` is the handler's own payload for ``apply``."""

    row: int
    key: str
    action: Action
    changes: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    data: Any = None


def row_error(
    spec: SheetSpec,
    row: int,
    field_name: str | None,
    message: str,
    code: str = "invalid",
    value: Any = None,
) -> RowError:
    """A RowError naming the column by its Chinese header."""
    column = spec.column(field_name).header if field_name else ""
    shown = None if value is None else str(value)
    return RowError(row, column, field_name, message, code, shown)


def failed(spec: SheetSpec, row: int, key: str, *errors: RowError) -> Plan:
    return Plan(row, key, Action.ERROR, errors=list(errors))


def validation_errors(
    spec: SheetSpec,
    row: int,
    exc: ValidationError,
    fields: Mapping[str, str] | None = None,
) -> list[RowError]:
    """A schema's ValidationError as row errors; ``fields`` maps model fields to columns."""
    out: list[RowError] = []
    known = {c.field for c in spec.columns}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        dotted = ".".join(loc)
        name = (fields or {}).get(dotted) or (fields or {}).get(loc[0] if loc else "")
        if name is None:
            name = next((p for p in reversed(loc) if p in known), None)
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        out.append(row_error(spec, row, name, message, str(err.get("type", "invalid"))))
    return out


def problem_errors(spec: SheetSpec, row: int, problem: Problem, field_name: str) -> list[RowError]:
    """A domain rule's problem (raised by a shared check) as row errors on ``field_name``."""
    if problem.errors:
        return [
            row_error(spec, row, field_name, e.message, e.code or problem.slug)
            for e in problem.errors
        ]
    return [row_error(spec, row, field_name, problem.detail or problem.title, problem.slug)]


# -------------------------------------------------------------------------- handlers


class Handler(ABC):
    """One importable entity: its spec, natural key, planning and applying."""

    entity: str
    spec: SheetSpec

    def start(self, session: Session, columns: set[str]) -> None:
        """Called once with the fields present in the file's header."""
        self.columns = columns

    def has(self, name: str) -> bool:
        """The file has this column (absent columns leave stored values alone)."""
        return name in self.columns

    @abstractmethod
    def key(self, values: Mapping[str, Any]) -> Hashable:
        """The row's natural key: two rows of one file may not share it."""

    def key_text(self, values: Mapping[str, Any]) -> str:
        key = self.key(values)
        parts = key if isinstance(key, tuple) else (key,)
        return " ".join(str(p) for p in parts if p is not None)

    def prepare(self, parsed: ParsedRow) -> Any:
        """Checks of one parsed row that need no database (the request schemas), run in
        the read-ahead thread while the chunk before is written; the result is the row's
        ``prepared``, for ``plan``. Handlers that check everything in ``plan`` keep this."""
        return None

    @abstractmethod
    def plan(self, session: Session, rows: Sequence[ParsedRow]) -> list[Plan]:
        """Plan every (parsed, non-duplicate) row of a chunk: a few bulk look-ups."""

    @abstractmethod
    def apply(self, session: Session, plans: Sequence[Plan]) -> None:
        """Write the chunk's create/update plans through the session (flush is the driver's)."""


# --------------------------------------------------------------------------- problems

_SHEET_422 = frozenset(
    {"too_many_rows", "no_header", "missing_columns", "duplicate_columns", "no_sheet"}
)


def sheet_problem(exc: SheetError) -> Problem:
    """A file-level SheetError as an RFC 9457 problem (413 / 422 / 400)."""
    cls: type[Problem]
    if exc.code in LIMIT_413:
        cls = PayloadTooLarge
    elif exc.code in _SHEET_422 or exc.code in LIMIT_422:
        cls = ValidationProblem
    else:
        cls = BadRequest
    extra: dict[str, Any] = {"code": exc.code}
    if exc.row is not None:
        extra["row"] = exc.row
    return cls(
        exc.message,
        errors=[FieldError(location="file", field="file", message=exc.message, code=exc.code)],
        **extra,
    )


def field_error(e: RowError) -> RowFieldError:
    return RowFieldError(
        location="file",
        field=e.field or "row",
        message=e.message,
        code=e.code,
        row=e.row,
        column=e.column,
        value=e.value,
    )
