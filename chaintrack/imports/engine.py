"""The import driver: stream a sheet, plan its rows chunk by chunk, apply, report.

``run_import`` opens the file through the spreadsheet layer (chaintrack.sheets, which
streams it: nothing is loaded whole), parses every row, and hands the rows to an
entity :class:`Handler` in chunks of :data:`CHUNK_ROWS`. For each chunk the handler
looks up what exists with a few bulk statements (never one per row) and *plans* each
row: create, update, unchanged, or error. A commit then *applies* the chunk's plans
through the ORM session — so the audit trail sees every row — flushes, and writes the
chunk's audit records, keeping memory flat however long the file.

Atomicity: the whole import runs in the caller's transaction. As soon as one row has an
error nothing more is applied, the remaining rows are still checked (the clerk gets
every error at once), and :class:`ImportRejected` is raised, which rolls everything
back. A dry run plans every row and writes nothing.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from queue import Empty, Full, Queue
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from chaintrack.audit import capture
from chaintrack.errors import (
    BadRequest,
    FieldError,
    PayloadTooLarge,
    Problem,
    ValidationProblem,
)
from chaintrack.imports.limits import ImportLimits
from chaintrack.imports.schemas import (
    ACTION_ZH,
    Action,
    FileInfo,
    ImportMode,
    ImportReport,
    ImportSummary,
    RowFieldError,
    RowOutcome,
)
from chaintrack.sheets.reader import SheetError, SheetReader, Source
from chaintrack.sheets.specs import ParsedRow, RowError, SheetSpec

CHUNK_ROWS = 1000
MAX_REPORTED_ERRORS = 1000
MAX_REPORTED_ROWS = 20_000


class ImportRejected(ValidationProblem):
    """A commit with row errors: nothing was written."""

    slug, title = "import-rejected", "Import rejected: the file has errors"


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
    if exc.code == "too_large":
        cls = PayloadTooLarge
    elif exc.code in _SHEET_422:
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


def _field_error(e: RowError) -> RowFieldError:
    return RowFieldError(
        location="file",
        field=e.field or "row",
        message=e.message,
        code=e.code,
        row=e.row,
        column=e.column,
        value=e.value,
    )


# ----------------------------------------------------------------------------- driver


@dataclass
class ImportOptions:
    commit: bool = False
    limits: ImportLimits = field(default_factory=ImportLimits)
    filename: str | None = None
    sheet: str | None = None
    max_reported_rows: int = MAX_REPORTED_ROWS


class _Run:
    def __init__(self, session: Session, handler: Handler, options: ImportOptions) -> None:
        self.session = session
        self.handler = handler
        self.options = options
        self.seen: dict[Hashable, int] = {}
        self.counts = dict.fromkeys(Action, 0)
        self.errors: list[RowFieldError] = []
        self.error_count = 0
        self.rows: list[RowOutcome] = []
        self.rows_truncated = False
        self.writing = options.commit

    def chunk(self, parsed: list[ParsedRow]) -> None:
        handler = self.handler
        plans: list[Plan] = []
        ok: list[ParsedRow] = []
        for p in parsed:
            if p.errors:
                plans.append(Plan(p.row, "", Action.ERROR, errors=p.errors))
                continue
            key = handler.key(p.values)
            first = self.seen.get(key)
            if first is not None:
                text = handler.key_text(p.values)
                field_name = handler.spec.key[0]
                plans.append(
                    failed(
                        handler.spec,
                        p.row,
                        text,
                        row_error(
                            handler.spec,
                            p.row,
                            field_name,
                            f"与第{first}行重复（{text}），同一记录在文件中只能出现一次 / "
                            f"duplicates row {first}: each record once per file",
                            "duplicate_row",
                        ),
                    )
                )
                continue
            self.seen[key] = p.row
            ok.append(p)
        if ok:
            plans.extend(handler.plan(self.session, ok))
        plans.sort(key=lambda plan: plan.row)
        for plan in plans:
            self._record(plan)
        if self.writing and self.error_count:
            self.writing = False  # one bad row: nothing more is written, all is rolled back
        if self.writing:
            writes = [p for p in plans if p.action in (Action.CREATE, Action.UPDATE)]
            if writes:
                handler.apply(self.session, writes)
                self.session.flush()
                ctx = capture.context(self.session)
                if ctx is not None:  # audit records now, so the pending list stays short
                    capture.write_pending(self.session, ctx)

    def _record(self, plan: Plan) -> None:
        self.counts[plan.action] += 1
        if plan.errors:
            self.error_count += 1
            for e in plan.errors:
                if len(self.errors) < MAX_REPORTED_ERRORS:
                    self.errors.append(_field_error(e))
        if len(self.rows) < self.options.max_reported_rows:
            # Built from the plan's own typed fields: nothing to validate.
            self.rows.append(
                RowOutcome.model_construct(
                    row=plan.row, action=plan.action, key=plan.key, changes=plan.changes
                )
            )
        else:
            self.rows_truncated = True

    def summary(self, total: int) -> ImportSummary:
        return ImportSummary(
            rows=total,
            create=self.counts[Action.CREATE],
            update=self.counts[Action.UPDATE],
            unchanged=self.counts[Action.UNCHANGED],
            error=self.counts[Action.ERROR],
        )


def _message(mode: ImportMode, summary: ImportSummary, committed: bool) -> str:
    counts = (
        f"{ACTION_ZH[Action.CREATE]}{summary.create}行，{ACTION_ZH[Action.UPDATE]}{summary.update}行，"
        f"{ACTION_ZH[Action.UNCHANGED]}{summary.unchanged}行"
    )
    english = (
        f"{summary.create} to create, {summary.update} to update, {summary.unchanged} unchanged"
    )
    if summary.error:
        return (
            f"{summary.error}行有错误，未写入任何数据，请改正后重新导入 / "
            f"{summary.error} row(s) with errors; nothing was written"
        )
    if committed:
        return f"导入成功：{counts} / imported: {english}"
    if summary.rows == 0:
        return "文件中没有数据行 / the file has no data rows"
    return f"预检通过：{counts}；确认无误后请正式导入 / dry run ok: {english}"


@contextlib.contextmanager
def fewer_collections(threshold: int = 100_000) -> Iterator[None]:
    """Run the cyclic garbage collector less often while rows stream through.

    An import allocates millions of short-lived objects; with the default threshold
    (700) the collector runs thousands of times, each pass walking every live object,
    which costs about 40 % of an import's time. Memory is unaffected: the objects are
    freed by reference counting; only cycles wait a little longer.
    """
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], threshold), old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _prepared(handler: Handler, rows: Iterator[ParsedRow]) -> Iterator[ParsedRow]:
    for parsed in rows:
        if not parsed.errors:
            parsed.prepared = handler.prepare(parsed)
        yield parsed


#: The reading thread offers the GIL back after this many rows (see _chunks).
YIELD_ROWS = 50


def _chunks(rows: Iterator[ParsedRow]) -> Iterator[list[ParsedRow]]:
    """Rows in chunks of CHUNK_ROWS, read in the read-ahead thread.

    Every YIELD_ROWS rows the thread sleeps for no time, which lets the writing thread
    take the GIL if it is waiting for it. Without that, each time a database call of
    the writer returns (a look-up, a COPY, an INSERT) it waits for the interpreter's
    switch interval (5 ms) while this thread parses: seen as an import twice as slow on
    PostgreSQL, whose calls release the GIL several times each.
    """
    chunk: list[ParsedRow] = []
    for parsed in rows:
        chunk.append(parsed)
        if len(chunk) % YIELD_ROWS == 0:
            time.sleep(0)
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_DONE = object()


@contextlib.contextmanager
def read_ahead(chunks: Iterator[list[ParsedRow]], depth: int = 2) -> Iterator[Iterator[Any]]:
    """Read and parse the next chunks in a thread while this one is planned and written.

    Reading the file and parsing its cells is pure Python that needs no database; the
    writing side spends much of its time waiting for the database (PostgreSQL's reply,
    SQLite's B-tree work), during which the GIL is free. At most ``depth`` chunks wait
    in the queue, so memory stays flat. An error while reading (SheetError, limits) is
    raised here, in order, after the chunks before it; if the caller stops early the
    thread is told to stop and joined before the file is closed.
    """
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        queue.put(chunk, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            queue.put(exc)

    def consume() -> Iterator[list[ParsedRow]]:
        while (item := queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    thread = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(Empty):
                queue.get(timeout=0.1)
        thread.join()


def run_import(
    session: Session, handler: Handler, source: Source, options: ImportOptions
) -> ImportReport:
    """Import (or dry-run) one file. Raises a Problem for a file that cannot be read
    and :class:`ImportRejected` for a commit with row errors (the caller rolls back)."""
    limits = options.limits
    try:
        reader: SheetReader = handler.spec.open(
            source,
            filename=options.filename,
            max_bytes=limits.max_bytes,
            max_rows=limits.max_rows,
            sheet=options.sheet,
        )
    except SheetError as exc:
        raise sheet_problem(exc) from None
    run = _Run(session, handler, options)
    with reader, fewer_collections():
        handler.start(session, set(reader.columns))
        try:
            with read_ahead(_chunks(_prepared(handler, handler.spec.parse_rows(reader)))) as chunks:
                for chunk in chunks:
                    run.chunk(chunk)
        except SheetError as exc:
            raise sheet_problem(exc) from None
        info = FileInfo(
            format=reader.format,
            sheet=reader.sheet_name,
            encoding=reader.encoding,
            header_row=reader.header_row,
            columns=list(reader.columns),
            ignored_headers=list(reader.unknown_headers),
        )
        total = reader.rows_read
    mode = ImportMode.COMMIT if options.commit else ImportMode.DRY_RUN
    summary = run.summary(total)
    committed = options.commit and not run.error_count
    report = ImportReport(
        entity=handler.entity,
        mode=mode,
        committed=committed,
        file=info,
        summary=summary,
        errors=run.errors,
        errors_truncated=run.error_count > 0 and len(run.errors) >= MAX_REPORTED_ERRORS,
        rows=run.rows,
        rows_truncated=run.rows_truncated,
        message=_message(mode, summary, committed),
    )
    if options.commit and run.error_count:
        first = run.errors[0]
        raise ImportRejected(
            f"{report.message}。第{first.row}行“{first.column}”：{first.message}",
            errors=list(run.errors),
            summary=summary.model_dump(),
            errors_truncated=report.errors_truncated,
        )
    return report
