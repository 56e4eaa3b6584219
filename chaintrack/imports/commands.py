"""The ``chaintrack import | export | template`` commands (registered by chaintrack/cli.py).

chaintrack template ENTITY FILE                 blank template (.xlsx, or .csv by extension)
chaintrack import ENTITY FILE [--chain CODE] [--commit] [--sheet NAME]
                                                FILE .xlsx, .xls, .ods or .csv; dry run by
                                                default: the per-row report and every
                                                error; exit code 1 when there are errors
chaintrack export ENTITY FILE [--chain CODE]    the template format, ready to edit and import

Commands act as the system: every chain, audit records with no user and request id "cli".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from chaintrack import migrate
from chaintrack.audit import capture
from chaintrack.config import Settings
from chaintrack.db import engine_from_settings, make_sessionmaker
from chaintrack.enterprises.service import EnterpriseFilters
from chaintrack.errors import Problem
from chaintrack.imports import exporter, service
from chaintrack.imports.limits import import_limits
from chaintrack.imports.schemas import ACTION_ZH, ExportFormat, ImportEntity, ImportReport
from chaintrack.memberships.params import MembershipFilters
from chaintrack.projects.queries import ProjectFilters
from chaintrack.sheets.specs import get_spec

CLI_REQUEST_ID = "cli"
ENTITIES = [e.value for e in ImportEntity]


def _format_of(path: Path) -> ExportFormat:
    return ExportFormat.CSV if path.suffix.lower() == ".csv" else ExportFormat.XLSX


def _chain_id(session: Session, code: str | None) -> int | None:
    if code is None:
        return None
    found = service.chain_id_by_code(session, code)
    if found is None:
        raise SystemExit(f"error: no chain with code {code}")
    return found


def _print_report(report: ImportReport, out: Any = None) -> None:
    out = out or sys.stdout
    info = report.file
    print(
        f"{info.format} file, sheet {info.sheet or '-'}, header on row {info.header_row}; "
        f"columns: {', '.join(info.columns)}",
        file=out,
    )
    if info.ignored_headers:
        print(f"ignored columns: {', '.join(info.ignored_headers)}", file=out)
    for r in report.rows:
        changes = f"  ({', '.join(r.changes)})" if r.changes else ""
        print(
            f"row {r.row:>6}  {ACTION_ZH[r.action]} {r.action.value:<9} {r.key}{changes}", file=out
        )
    if report.rows_truncated:
        print("... (more rows; see the summary)", file=out)
    for e in report.errors:
        value = f" [{e.value}]" if e.value else ""
        print(f"error: row {e.row}, column {e.column or '-'}: {e.message}{value}", file=out)
    s = report.summary
    print(
        f"rows {s.rows}: create {s.create}, update {s.update}, unchanged {s.unchanged}, "
        f"errors {s.error}",
        file=out,
    )
    print(report.message, file=out)


def cmd_template(args: argparse.Namespace, settings: Settings) -> int:
    del settings
    path = Path(args.file)
    content, _, _ = service.entity_template(ImportEntity(args.entity), _format_of(path))
    path.write_bytes(content)
    print(f"template written to {path}")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    engine = engine_from_settings(settings)
    migrate.upgrade(engine)
    path = Path(args.file)
    if not path.is_file():
        print(f"error: no file {path}", file=sys.stderr)
        return 2
    with make_sessionmaker(engine)() as session:
        capture.enable(session, request_id=CLI_REQUEST_ID)
        try:
            report = service.import_file(
                session,
                ImportEntity(args.entity),
                path,
                commit=args.commit,
                limits=import_limits(),
                principal=None,
                chain_id=_chain_id(session, args.chain),
                filename=path.name,
                sheet=args.sheet,
            )
        except Problem as err:
            session.rollback()
            print(f"error: {err.detail or err.title}", file=sys.stderr)
            for e in err.errors or []:
                row = getattr(e, "row", None)
                column = getattr(e, "column", None)
                where = f"row {row}, column {column or '-'}: " if row else ""
                print(f"error: {where}{e.message}", file=sys.stderr)
            return 1
        if args.commit:
            session.commit()
        else:
            session.rollback()
    _print_report(report)
    return 1 if report.summary.error else 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    engine = engine_from_settings(settings)
    migrate.upgrade(engine)
    path = Path(args.file)
    fmt = _format_of(path)
    entity = ImportEntity(args.entity)
    spec = get_spec(entity.value)
    with make_sessionmaker(engine)() as session:
        chain_id = _chain_id(session, args.chain)
        rows: Any
        if entity is ImportEntity.ENTERPRISES:
            rows = exporter.enterprise_rows(session, EnterpriseFilters(chain_id=chain_id))
        elif entity is ImportEntity.DESIGNATIONS:
            rows = exporter.designation_rows(
                session, exporter.DesignationFilters(chain_id=chain_id)
            )
        elif entity is ImportEntity.MEMBERSHIPS:
            rows = exporter.membership_rows(session, chain_id, MembershipFilters(current=False))
        elif entity is ImportEntity.PROJECTS:
            rows = exporter.project_rows(session, ProjectFilters(chain_id=chain_id))
        else:
            rows = exporter.progress_rows(session, exporter.ProgressFilters(chain_id=chain_id))
        with path.open("wb") as fh:
            count = exporter.write_export(spec, rows, fmt, fh)
        session.rollback()
    print(f"{count} rows written to {path}")
    return 0


def add_commands(sub: Any) -> None:
    """Register the three commands on the ``chaintrack`` sub-parser set."""
    template = sub.add_parser("template", help="write a blank import template (.xlsx or .csv)")
    template.add_argument("entity", choices=ENTITIES)
    template.add_argument("file", help="target file; .csv gives CSV, anything else .xlsx")
    template.set_defaults(func=cmd_template)

    imp = sub.add_parser(
        "import", help="import a spreadsheet (dry run unless --commit; exit 1 on errors)"
    )
    imp.add_argument("entity", choices=ENTITIES)
    imp.add_argument(
        "file",
        help=".xlsx, .xls, .ods or .csv (as Excel, WPS or LibreOffice save them: percent "
        "cells, merged rows, dates as text are read)",
    )
    imp.add_argument("--chain", help="chain code the rows belong to (memberships, projects, ...)")
    imp.add_argument("--commit", action="store_true", help="write (all rows or nothing)")
    imp.add_argument("--sheet", help="worksheet name (default: best header match)")
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser("export", help="export in the template format (.xlsx or .csv)")
    exp.add_argument("entity", choices=ENTITIES)
    exp.add_argument("file", help="target file; .csv gives CSV, anything else .xlsx")
    exp.add_argument("--chain", help="only this chain (chain code)")
    exp.set_defaults(func=cmd_export)
