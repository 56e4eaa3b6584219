"""Capture every row change of an audited session as AuditRecord rows.

A session is audited when :func:`enable` put an :class:`AuditContext` into
``session.info`` (the request's session dependency does so for every write
request). Then, generically for every mapped table but the audit log itself:

- ``after_flush`` reads the unit of work: new objects (with their generated
  ids), dirty ones (attribute history: before/after of each changed column,
  plus the version counter) and deleted ones (the last values);
- ``do_orm_execute`` wraps ORM-enabled bulk ``update()``/``delete()``
  statements: the affected rows are read before (and, for updates, after);
- ``before_commit`` flushes what is left and writes the records through the
  session's own connection, so they commit or roll back with the change.

Changes of one row within one transaction are coalesced into one record
(created then changed = one ``create`` with the final values; changed twice =
one ``update`` from the first before to the last after; created then deleted =
nothing): chaintrack.audit.changes. Values are rendered by chaintrack.audit.values
(JSON-safe and exact; password hashes never copied, only marked changed).

Not seen by the listeners: Core statements on ``session.connection()`` and ORM bulk
``insert()`` — services create rows as ORM objects. The one writer of rows in bulk,
``chaintrack.imports.bulk.insert_rows``, records each row it inserts with
:func:`chaintrack.audit.changes.created`, the function the listeners use for a new
object.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, and_, event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.mapper import Mapper

from chaintrack.audit.changes import (
    AUDIT_TABLE,
    AuditContext,
    Change,
    chain_and_project,
    created,
    push,
    snapshot,
    write_pending,
)
from chaintrack.audit.values import SKIPPED_COLUMNS, column_value, decimal_text, entity_id, jsonable
from chaintrack.models import ProgressReport, ProjectStatusChange
from chaintrack.models.enums import AuditAction

__all__ = [
    "AuditContext",
    "context",
    "decimal_text",
    "enable",
    "install",
    "jsonable",
    "set_user",
    "write_pending",
]

INFO_KEY = "chaintrack.audit"


def enable(session: Session, *, user_id: int | None = None, request_id: str | None = None) -> None:
    """Audit this session's changes (idempotent; later calls update user/request)."""
    install()
    ctx = session.info.get(INFO_KEY)
    if ctx is None:
        session.info[INFO_KEY] = AuditContext(user_id=user_id, request_id=request_id)
        return
    if user_id is not None:
        ctx.user_id = user_id
    if request_id is not None:
        ctx.request_id = request_id


def set_user(session: Session, user_id: int) -> None:
    ctx = context(session)
    if ctx is not None:
        ctx.user_id = user_id


def context(session: Session) -> AuditContext | None:
    ctx = session.info.get(INFO_KEY)
    return ctx if isinstance(ctx, AuditContext) else None


# --- what a row looks like ----------------------------------------------------------


def _table(mapper: Mapper[Any]) -> Table:
    return cast(Table, mapper.local_table)


def _column_values(mapper: Mapper[Any], state_dict: dict[str, Any]) -> dict[str, Any]:
    """The loaded column attributes of an object (its row, as far as it is known)."""
    return {a.key: state_dict[a.key] for a in mapper.column_attrs if a.key in state_dict}


def _identity(mapper: Mapper[Any], obj: Any) -> str:
    return entity_id(list(mapper.primary_key_from_instance(obj)))


# --- session events -----------------------------------------------------------------


def _before_flush(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    ctx = context(session)
    if ctx is None:
        return
    for obj in session.new:
        # Who recorded a status change or submitted a report, where the model has a column.
        if isinstance(obj, ProjectStatusChange) and obj.recorded_by is None:
            obj.recorded_by = ctx.user_id
        elif isinstance(obj, ProgressReport) and obj.submitted_by is None:
            obj.submitted_by = ctx.user_id
    for obj in session.dirty:
        state = instance_state(obj)
        version_col = state.mapper.version_id_col
        if version_col is not None:
            prop = state.mapper.get_property_by_column(version_col)
            ctx.versions[id(obj)] = state.dict.get(prop.key)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    ctx = context(session)
    if ctx is None:
        return
    for obj in session.new:
        state = instance_state(obj)
        table = _table(state.mapper).name
        if table != AUDIT_TABLE:
            key = state.mapper.primary_key_from_instance(obj)
            push(ctx, created(table, key, _column_values(state.mapper, state.dict)))
    for obj in session.dirty:
        change = _updated(ctx, obj)
        if change is not None:
            push(ctx, change)
    for obj in session.deleted:
        state = instance_state(obj)
        table = _table(state.mapper).name
        if table == AUDIT_TABLE:
            continue
        values = _column_values(state.mapper, state.dict)
        chain_id, project_id = chain_and_project(table, values)
        push(
            ctx,
            Change(
                AuditAction.DELETE,
                table,
                _identity(state.mapper, obj),
                chain_id,
                project_id,
                snapshot(table, values.items()),
                {},
            ),
        )
    ctx.versions.clear()


def _updated(ctx: AuditContext, obj: Any) -> Change | None:
    """The update of a dirty object: before/after of each changed column, and of the
    version counter when anything changed (None: nothing did)."""
    state = instance_state(obj)
    mapper = state.mapper
    table = _table(mapper).name
    if table == AUDIT_TABLE:
        return None
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    touched = False
    for attr in mapper.column_attrs:
        key = attr.key
        hist = state.attrs[key].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if old == new:
            continue
        touched = True
        if key not in SKIPPED_COLUMNS:
            before[key], after[key] = column_value(table, key, old), column_value(table, key, new)
    old_version = ctx.versions.pop(id(obj), None)
    if mapper.version_id_col is not None and touched:
        key = mapper.get_property_by_column(mapper.version_id_col).key
        new_version = state.dict.get(key)
        if old_version is not None and new_version != old_version:
            before[key], after[key] = old_version, new_version
    if not after and not before:
        return None
    chain_id, project_id = chain_and_project(table, _column_values(mapper, state.dict))
    return Change(
        AuditAction.UPDATE, table, _identity(mapper, obj), chain_id, project_id, before, after
    )


def _row_values(mapper: Mapper[Any], row: Any) -> dict[str, Any]:
    out = {}
    for col in _table(mapper).columns:
        out[mapper.get_property_by_column(col).key] = row[col]
    return out


def _on_execute(state: ORMExecuteState) -> Any:
    """Bulk UPDATE/DELETE through the ORM: read the rows before (and after)."""
    if not (state.is_update or state.is_delete):
        return None
    ctx = context(state.session)
    mapper = state.bind_mapper
    if ctx is None or mapper is None or _table(mapper).name == AUDIT_TABLE:
        return None
    table = _table(mapper)
    where = getattr(state.statement, "whereclause", None)
    conn = state.session.connection()
    stmt = select(table) if where is None else select(table).where(where)
    before_rows = [_row_values(mapper, r) for r in conn.execute(stmt).mappings()]
    result = state.invoke_statement()
    if not before_rows:
        return result
    pk_keys = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
    if state.is_delete:
        for row in before_rows:
            chain_id, project_id = chain_and_project(table.name, row)
            ident = entity_id([row[k] for k in pk_keys])
            before = snapshot(table.name, row.items())
            push(
                ctx, Change(AuditAction.DELETE, table.name, ident, chain_id, project_id, before, {})
            )
        return result
    _push_bulk_updates(ctx, mapper, conn, before_rows, pk_keys)
    return result


def _push_bulk_updates(
    ctx: AuditContext,
    mapper: Mapper[Any],
    conn: Any,
    before_rows: list[dict[str, Any]],
    pk_keys: list[str],
) -> None:
    """The updates of a bulk UPDATE: the rows read again after it, compared."""
    table = _table(mapper)
    name = table.name
    pk_cols = list(mapper.primary_key)
    match = or_(
        *(
            and_(*(c == row[k] for c, k in zip(pk_cols, pk_keys, strict=True)))
            for row in before_rows
        )
    )
    after_rows = {
        tuple(v[k] for k in pk_keys): v
        for v in (
            _row_values(mapper, r) for r in conn.execute(select(table).where(match)).mappings()
        )
    }
    for row in before_rows:
        ident = tuple(row[k] for k in pk_keys)
        new = after_rows.get(ident)
        if new is None:
            continue
        changed = [k for k in row if k not in SKIPPED_COLUMNS and row[k] != new[k]]
        if not changed:
            continue
        chain_id, project_id = chain_and_project(name, new)
        push(
            ctx,
            Change(
                AuditAction.UPDATE,
                name,
                entity_id(list(ident)),
                chain_id,
                project_id,
                {k: column_value(name, k, row[k]) for k in changed},
                {k: column_value(name, k, new[k]) for k in changed},
            ),
        )


def _before_commit(session: Session) -> None:
    ctx = context(session)
    if ctx is None:
        return
    session.flush()
    write_pending(session, ctx)


def _clear(session: Session) -> None:
    ctx = context(session)
    if ctx is not None:
        ctx.pending.clear()
        ctx.versions.clear()


_installed = False


def install() -> None:
    """Register the listeners on every Session (they act on audited sessions only)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _on_execute)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_rollback", _clear)
    event.listen(Session, "after_soft_rollback", lambda session, _previous: _clear(session))
    _installed = True
