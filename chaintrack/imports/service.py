"""Import and template services: pick the handler, the scope, run the driver.

Used by the HTTP routes and the command line alike (the command line passes no
principal: it acts as the system, on every chain).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.auth.deps import Principal
from chaintrack.chains import service as chains_service
from chaintrack.imports.engine import Handler, ImportOptions, run_import
from chaintrack.imports.handlers_designations import DesignationHandler
from chaintrack.imports.handlers_lists import ListEntryHandler, entry_spec
from chaintrack.imports.handlers_memberships import MembershipHandler
from chaintrack.imports.handlers_progress import ProgressHandler
from chaintrack.imports.handlers_projects import ProjectHandler
from chaintrack.imports.handlers_register import EnterpriseHandler
from chaintrack.imports.limits import ImportLimits
from chaintrack.imports.schemas import ExportFormat, ImportEntity, ImportReport
from chaintrack.imports.scope import Scope
from chaintrack.lists.service import get_list
from chaintrack.lists.service_types import get_list_type
from chaintrack.models import Chain, ChainList, ListType
from chaintrack.sheets.reader import Source
from chaintrack.sheets.specs import SheetSpec, get_spec
from chaintrack.sheets.templates import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    template_csv,
    template_filename,
    template_xlsx,
)

#: Opens the write session of an import (``common.deps.write_session``): committed when
#: its block ends.
Writer = Callable[[], AbstractContextManager[Session]]

CHAIN_SCOPED = frozenset({ImportEntity.MEMBERSHIPS, ImportEntity.PROJECTS, ImportEntity.PROGRESS})


def require_chain(session: Session, chain_id: int | None) -> None:
    """404 for an unknown chain; no chain given is fine (rows name their own)."""
    if chain_id is not None:
        chains_service.require_chain(session, chain_id)


def make_handler(entity: ImportEntity, scope: Scope) -> Handler:
    if entity is ImportEntity.ENTERPRISES:
        return EnterpriseHandler()
    if entity is ImportEntity.DESIGNATIONS:
        return DesignationHandler()
    if entity is ImportEntity.MEMBERSHIPS:
        return MembershipHandler(scope)
    if entity is ImportEntity.PROJECTS:
        return ProjectHandler(scope)
    return ProgressHandler(scope)


def import_file(
    session: Session,
    entity: ImportEntity,
    source: Source,
    *,
    commit: bool,
    limits: ImportLimits,
    principal: Principal | None,
    chain_id: int | None = None,
    filename: str | None = None,
    sheet: str | None = None,
    writer: Writer | None = None,
    cancelled: threading.Event | None = None,
) -> ImportReport:
    """Dry-run or commit one file of ``entity`` (rows of chain-scoped entities belong to
    ``chain_id`` or to the chain their ``chain_code`` names).

    Without ``writer`` everything happens in ``session``. With one, ``session`` is a read
    session: the file is read, parsed and checked there, without the write lock (a dry
    run ends there), and only a commit whose every row is good opens the write session
    and writes (see :func:`two_passes`)."""
    require_chain(session, chain_id)
    scope = Scope.for_principal(session, principal, chain_id)
    options = ImportOptions(
        commit=commit,
        limits=limits,
        filename=filename,
        sheet=sheet,
        budget=limits.budget(cancelled),
    )
    if writer is None:
        return run_import(session, make_handler(entity, scope), source, options)
    return two_passes(
        session,
        writer,
        lambda _: make_handler(entity, scope),
        source,
        options,
    )


def two_passes(
    read: Session,
    writer: Writer,
    handler_in: Callable[[Session], Handler],
    source: Source,
    options: ImportOptions,
) -> ImportReport:
    """An import that holds the write lock only to write.

    First pass, in the read session (no lock: other writers go on): read the file,
    parse, validate and plan every row against the data as it is (ImportRejected for a
    commit with row errors, the limits and the budget as always). A dry run ends there.
    A good commit then ends the read transaction, opens the write session and runs
    again, planning (on the data as it is then) and writing chunk by chunk: the file is
    known good, so the lock is held for the writing of a file that will be written, not
    for the reading or the checking of one that may not be."""
    first = run_import(read, handler_in(read), source, replace(options, apply=False))
    if not options.commit:
        return first
    read.close()  # the read transaction (snapshot) ends before the write one begins
    with writer() as session:
        return run_import(session, handler_in(session), source, replace(options, file_checked=True))


def list_with_type(session: Session, list_id: int) -> tuple[ChainList, ListType]:
    chain_list = get_list(session, list_id)
    list_type = session.get(ListType, chain_list.list_type_id)
    assert list_type is not None  # foreign key
    return chain_list, list_type


def import_list_entries(
    session: Session,
    list_id: int,
    source: Source,
    *,
    commit: bool,
    limits: ImportLimits,
    filename: str | None = None,
    sheet: str | None = None,
    writer: Writer | None = None,
    cancelled: threading.Event | None = None,
) -> ImportReport:
    """Entries of one list (the route's rule already checked the list's chain); with
    ``writer``, read in ``session`` and written in the writer's (as :func:`import_file`)."""

    def handler_in(in_session: Session) -> Handler:
        return ListEntryHandler(*list_with_type(in_session, list_id))

    options = ImportOptions(
        commit=commit,
        limits=limits,
        filename=filename,
        sheet=sheet,
        budget=limits.budget(cancelled),
    )
    if writer is None:
        return run_import(session, handler_in(session), source, replace(options, file_checked=True))
    return two_passes(session, writer, handler_in, source, options)


# ------------------------------------------------------------------------- templates


def media_type(fmt: ExportFormat) -> str:
    return XLSX_MEDIA_TYPE if fmt is ExportFormat.XLSX else CSV_MEDIA_TYPE


def template_bytes(spec: SheetSpec, fmt: ExportFormat) -> tuple[bytes, str, str]:
    """The blank template: content, download name, ASCII fallback name."""
    content = template_xlsx(spec) if fmt is ExportFormat.XLSX else template_csv(spec)
    return content, template_filename(spec, fmt.value), f"{spec.name}-template.{fmt.value}"


def entity_template(entity: ImportEntity, fmt: ExportFormat) -> tuple[bytes, str, str]:
    return template_bytes(get_spec(entity.value), fmt)


def list_type_template(session: Session, type_id: int, fmt: ExportFormat) -> tuple[bytes, str, str]:
    list_type = get_list_type(session, type_id)
    return template_bytes(entry_spec(list_type), fmt)


def chain_id_by_code(session: Session, code: str) -> int | None:
    return session.scalar(select(Chain.id).where(Chain.code == code))
