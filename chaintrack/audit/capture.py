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
nothing). Values are JSON-safe: Decimal as an exact string without trailing
zeros, dates and times ISO 8601, enumerations by value. Password hashes are
never copied, only marked changed.

Not seen (by design, documented): Core statements on ``session.connection()``
and ORM bulk ``insert()`` — services create rows as ORM objects.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, and_, event, insert, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.mapper import Mapper

from chaintrack.models import AuditRecord, Chain, ProgressReport, Project, ProjectStatusChange
from chaintrack.models.base import utcnow
from chaintrack.models.enums import AuditAction

INFO_KEY = "chaintrack.audit"
SKIPPED_COLUMNS = frozenset({"created_at", "updated_at"})
REDACTED_COLUMNS = {"users": frozenset({"password_hash"})}
REDACTED = "[redacted]"
AUDIT_TABLE = AuditRecord.__tablename__


def decimal_text(value: Decimal) -> str:
    """Exact, without the storage scale's trailing zeros: 1250.5000 -> "1250.5"."""
    return format(value.normalize(), "f") if value.is_finite() else str(value)


def jsonable(value: Any) -> Any:
    """A value as the audit log stores it (JSON-safe, exact)."""
    if value is None or isinstance(value, bool | int | str):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


@dataclass
class Change:
    action: AuditAction
    entity: str
    entity_id: str
    chain_id: int | None
    project_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]

    def changes(self) -> dict[str, dict[str, Any]]:
        keys = [*self.before, *(k for k in self.after if k not in self.before)]
        return {k: {"before": self.before.get(k), "after": self.after.get(k)} for k in keys}


@dataclass
class AuditContext:
    user_id: int | None = None
    request_id: str | None = None
    pending: dict[tuple[str, str], Change] = field(default_factory=dict)
    versions: dict[int, Any] = field(default_factory=dict)
    written: int = 0


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


def _entity_id(values: list[Any]) -> str:
    return "/".join(str(v) for v in values)


def _value(table: str, key: str, value: Any) -> Any:
    if value is not None and key in REDACTED_COLUMNS.get(table, ()):
        return REDACTED
    return jsonable(value)


def _chain_and_project(table: str, values: dict[str, Any]) -> tuple[int | None, int | None]:
    if table == Chain.__tablename__:
        return values.get("id"), None
    chain_id = values.get("chain_id")
    return (chain_id if isinstance(chain_id, int) else None), values.get("project_id")


def _merge(old: Change, new: Change) -> Change | None:
    """Two changes of the same row in one transaction as one (None: nothing left)."""
    if old.action is AuditAction.CREATE:
        if new.action is AuditAction.DELETE:
            return None
        old.after.update(new.after)
        return old
    if old.action is AuditAction.DELETE:  # deleted and inserted again: a replacement
        before, after = old.before, new.after
        keys = set(before) | set(after)
        diff = [k for k in keys if before.get(k) != after.get(k)]
        return Change(
            AuditAction.UPDATE,
            old.entity,
            old.entity_id,
            new.chain_id or old.chain_id,
            new.project_id or old.project_id,
            {k: before.get(k) for k in diff},
            {k: after.get(k) for k in diff},
        )
    if new.action is AuditAction.DELETE:
        new.before.update(old.before)  # the values as they were before the transaction
        return new
    for key, value in new.after.items():
        if key not in old.before:
            old.before[key] = new.before.get(key)
        old.after[key] = value
    for key in [k for k in old.after if old.before.get(k) == old.after[k]]:
        del old.before[key], old.after[key]
    return old if old.after else None


def _push(ctx: AuditContext, change: Change) -> None:
    key = (change.entity, change.entity_id)
    old = ctx.pending.pop(key, None)
    merged = change if old is None else _merge(old, change)
    if merged is not None:
        ctx.pending[key] = merged


def _snapshot(mapper: Mapper[Any], state_dict: dict[str, Any], table: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        key = attr.key
        if key in SKIPPED_COLUMNS or key not in state_dict:
            continue
        value = state_dict[key]
        if value is not None:
            out[key] = _value(table, key, value)
    return out


def _identity(mapper: Mapper[Any], obj: Any) -> str:
    return _entity_id(list(mapper.primary_key_from_instance(obj)))


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
        if table == AUDIT_TABLE:
            continue
        created = _snapshot(state.mapper, state.dict, table)
        chain_id, project_id = _chain_and_project(table, {**state.dict})
        _push(
            ctx,
            Change(
                AuditAction.CREATE,
                table,
                _identity(state.mapper, obj),
                chain_id,
                project_id,
                {},
                created,
            ),
        )
    for obj in session.dirty:
        state = instance_state(obj)
        mapper = state.mapper
        table = _table(mapper).name
        if table == AUDIT_TABLE:
            continue
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
                before[key], after[key] = _value(table, key, old), _value(table, key, new)
        old_version = ctx.versions.pop(id(obj), None)
        if mapper.version_id_col is not None and touched:
            key = mapper.get_property_by_column(mapper.version_id_col).key
            new_version = state.dict.get(key)
            if old_version is not None and new_version != old_version:
                before[key], after[key] = old_version, new_version
        if not after and not before:
            continue
        chain_id, project_id = _chain_and_project(table, {**state.dict})
        _push(
            ctx,
            Change(
                AuditAction.UPDATE,
                table,
                _identity(mapper, obj),
                chain_id,
                project_id,
                before,
                after,
            ),
        )
    for obj in session.deleted:
        state = instance_state(obj)
        table = _table(state.mapper).name
        if table == AUDIT_TABLE:
            continue
        chain_id, project_id = _chain_and_project(table, {**state.dict})
        _push(
            ctx,
            Change(
                AuditAction.DELETE,
                table,
                _identity(state.mapper, obj),
                chain_id,
                project_id,
                _snapshot(state.mapper, state.dict, table),
                {},
            ),
        )
    ctx.versions.clear()


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
    name = table.name
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
            chain_id, project_id = _chain_and_project(name, row)
            before = {
                k: _value(name, k, v)
                for k, v in row.items()
                if v is not None and k not in SKIPPED_COLUMNS
            }
            entity_id = _entity_id([row[k] for k in pk_keys])
            _push(
                ctx, Change(AuditAction.DELETE, name, entity_id, chain_id, project_id, before, {})
            )
        return result
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
        chain_id, project_id = _chain_and_project(name, new)
        _push(
            ctx,
            Change(
                AuditAction.UPDATE,
                name,
                _entity_id(list(ident)),
                chain_id,
                project_id,
                {k: _value(name, k, row[k]) for k in changed},
                {k: _value(name, k, new[k]) for k in changed},
            ),
        )
    return result


def _before_commit(session: Session) -> None:
    ctx = context(session)
    if ctx is None:
        return
    session.flush()
    write_pending(session, ctx)


def write_pending(session: Session, ctx: AuditContext) -> None:
    if not ctx.pending:
        return
    changes = list(ctx.pending.values())
    ctx.pending.clear()
    conn = session.connection()
    wanted = {c.project_id for c in changes if c.chain_id is None and c.project_id is not None}
    project_chain: dict[int, int] = {}
    if wanted:
        project_chain = {
            pid: cid
            for pid, cid in conn.execute(
                select(Project.id, Project.chain_id).where(Project.id.in_(wanted))
            )
        }
    now = utcnow()
    rows = [
        {
            "occurred_at": now,
            "user_id": ctx.user_id,
            "request_id": ctx.request_id,
            "action": c.action,
            "entity": c.entity,
            "entity_id": c.entity_id[:64],
            "chain_id": c.chain_id
            if c.chain_id is not None
            else project_chain.get(c.project_id or 0),
            "changes": c.changes(),
        }
        for c in changes
    ]
    conn.execute(insert(cast(Table, AuditRecord.__table__)), rows)
    ctx.written += len(rows)


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
