"""The import driver: stream a sheet, plan its rows chunk by chunk, apply, report.

``run_import`` opens the file through the spreadsheet layer (chaintrack.sheets, which
streams it: nothing is loaded whole), parses every row, and hands the rows to an
entity :class:`Handler` in chunks of :data:`CHUNK_ROWS` (read ahead in a thread:
chaintrack.imports.read_ahead). For each chunk the handler looks up what exists with a
few bulk statements (never one per row) and *plans* each row: create, update,
unchanged, or error (chaintrack.imports.plans). A commit then *applies* the chunk's
plans: new rows are inserted in bulk with their create records
(chaintrack.imports.bulk), existing rows are changed on their ORM objects, which the
audit listeners see; the chunk is flushed and its pending audit records written, so
memory stays flat however long the file.

Atomicity: the whole import runs in the caller's transaction. As soon as one row has an
error nothing more is applied, the remaining rows are still checked (the clerk gets
every error at once), and :class:`ImportRejected` is raised, which rolls everything
back. A dry run plans every row and writes nothing.
"""

from __future__ import annotations

from collections.abc import Hashable
from contextlib import nullcontext
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from chaintrack.audit import capture
from chaintrack.db import import_cache
from chaintrack.errors import ValidationProblem
from chaintrack.imports.limits import ImportLimits
from chaintrack.imports.plans import (
    Handler,
    Plan,
    failed,
    field_error,
    problem_errors,
    row_error,
    sheet_problem,
    validation_errors,
)
from chaintrack.imports.read_ahead import chunked, prepared, read_ahead
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
from chaintrack.sheets.reader import Budget, SheetError, SheetReader, Source, open_sheet
from chaintrack.sheets.specs import ParsedRow

# The handlers' vocabulary, importable from here as before the split.
__all__ = [
    "CHUNK_ROWS",
    "Handler",
    "ImportOptions",
    "ImportRejected",
    "Plan",
    "failed",
    "problem_errors",
    "row_error",
    "run_import",
    "sheet_problem",
    "validation_errors",
]

CHUNK_ROWS = 1000
MAX_REPORTED_ERRORS = 1000
MAX_REPORTED_ROWS = 20_000


class ImportRejected(ValidationProblem):
    """A commit with row errors: nothing was written."""

    slug, title = "import-rejected", "Import rejected: the file has errors"


# ----------------------------------------------------------------------------- driver


@dataclass
class ImportOptions:
    commit: bool = False
    limits: ImportLimits = field(default_factory=ImportLimits)
    filename: str | None = None
    sheet: str | None = None
    max_reported_rows: int = MAX_REPORTED_ROWS
    #: deadline and cancelled flag of the upload (a fresh one from the limits if None)
    budget: Budget | None = None
    #: False: a commit that checks everything (ImportRejected on row errors) but writes
    #: nothing: the first pass of a commit read without the write lock
    apply: bool = True
    #: the file passed the checks of a first pass already (its zip is not scanned again)
    file_checked: bool = False


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
        self.writing = options.commit and options.apply

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
                    self.errors.append(field_error(e))
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


def run_import(
    session: Session, handler: Handler, source: Source, options: ImportOptions
) -> ImportReport:
    """Import (or dry-run) one file. Raises a Problem for a file that cannot be read
    and :class:`ImportRejected` for a commit with row errors (the caller rolls back)."""
    limits = options.limits
    budget = options.budget or limits.budget()
    spec = handler.spec
    try:
        reader: SheetReader = open_sheet(
            source,
            spec.header_map(),
            required=spec.required_fields,
            filename=options.filename,
            sheet=options.sheet,
            styled=spec.styled_fields,
            limits=limits.read_limits(),
            budget=budget,
            checked=options.file_checked,
        )
    except SheetError as exc:
        raise sheet_problem(exc) from None
    run = _Run(session, handler, options)
    with reader:
        handler.start(session, set(reader.columns))
        rows = prepared(handler, spec.parse_rows(reader))
        # A commit writes through the large page cache (chaintrack.db.import_cache).
        cache = import_cache(session) if options.commit else nullcontext()
        try:
            with cache, read_ahead(chunked(rows, CHUNK_ROWS)) as chunks:
                for chunk in chunks:
                    budget.check()  # between chunks: the deadline, the client gone
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
    return _report(run, handler, options, info, total)


def _report(
    run: _Run, handler: Handler, options: ImportOptions, info: FileInfo, total: int
) -> ImportReport:
    """The import's report; :class:`ImportRejected` for a commit with row errors."""
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
