"""Row changes as audit records: what a change holds, how two changes of one row
coalesce, the record of a new row, and the audit_log rows written for them.

:func:`created` is the one rendering of a new row: the session listeners call it for
every new ORM object, and the bulk inserts of the imports (chaintrack.imports.bulk) for
every row they insert, so the two record a row identically.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.orm import Session

from chaintrack.audit.values import SKIPPED_COLUMNS, column_value, entity_id
from chaintrack.models import AuditRecord, Chain, Project
from chaintrack.models.base import utcnow
from chaintrack.models.enums import AuditAction

AUDIT_TABLE = AuditRecord.__tablename__


@dataclass(slots=True)
class Change:
    action: AuditAction
    entity: str
    entity_id: str
    chain_id: int | None
    project_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]

    def changes(self) -> dict[str, dict[str, Any]]:
        before, after = self.before, self.after
        if not before:  # a creation
            return {k: {"before": None, "after": v} for k, v in after.items()}
        keys = [*before, *(k for k in after if k not in before)]
        return {k: {"before": before.get(k), "after": after.get(k)} for k in keys}


@dataclass
class AuditContext:
    user_id: int | None = None
    request_id: str | None = None
    pending: dict[tuple[str, str], Change] = field(default_factory=dict)
    versions: dict[int, Any] = field(default_factory=dict)
    written: int = 0


def chain_and_project(table: str, values: dict[str, Any]) -> tuple[int | None, int | None]:
    """The record's chain (a chain's own id, or the row's chain column) and the row's
    project (whose chain is looked up when the row names no chain)."""
    if table == Chain.__tablename__:
        return values.get("id"), None
    chain_id = values.get("chain_id")
    return (chain_id if isinstance(chain_id, int) else None), values.get("project_id")


def snapshot(table: str, values: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The non-empty column values of a row as records show them (no timestamps)."""
    return {
        key: column_value(table, key, value)
        for key, value in values
        if value is not None and key not in SKIPPED_COLUMNS
    }


def created(table: str, key: Sequence[Any], values: dict[str, Any]) -> Change:
    """The record of a new row of ``table`` with primary key ``key`` and column values
    ``values`` (column key -> value, as stored)."""
    chain_id, project_id = chain_and_project(table, values)
    return Change(
        AuditAction.CREATE,
        table,
        entity_id(key),
        chain_id,
        project_id,
        {},
        snapshot(table, values.items()),
    )


def merge(old: Change, new: Change) -> Change | None:
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


def push(ctx: AuditContext, change: Change) -> None:
    """Add a change to the transaction's pending records, coalesced with the row's."""
    key = (change.entity, change.entity_id)
    old = ctx.pending.pop(key, None)
    merged = change if old is None else merge(old, change)
    if merged is not None:
        ctx.pending[key] = merged


# --- audit_log rows -------------------------------------------------------------------


def record_constants(ctx: AuditContext) -> dict[str, Any]:
    """The columns every record written now shares."""
    return {"occurred_at": utcnow(), "user_id": ctx.user_id, "request_id": ctx.request_id}


def record_rows(conn: Connection, changes: Sequence[Change]) -> Iterator[dict[str, Any]]:
    """The audit_log values of each change but the shared ones (record_constants); the
    chain of a row that names only its project is looked up first, once for all (the
    rows may be consumed while the connection is busy, e.g. by a COPY)."""
    wanted = {c.project_id for c in changes if c.chain_id is None and c.project_id is not None}
    project_chain: dict[int, int] = {}
    if wanted:
        project_chain = {
            pid: cid
            for pid, cid in conn.execute(
                select(Project.id, Project.chain_id).where(Project.id.in_(wanted))
            )
        }
    return _record_rows(changes, project_chain)


def _record_rows(
    changes: Sequence[Change], project_chain: dict[int, int]
) -> Iterator[dict[str, Any]]:
    for c in changes:
        chain_id = c.chain_id
        if chain_id is None and c.project_id is not None:
            chain_id = project_chain.get(c.project_id)
        yield {
            "action": c.action,
            "entity": c.entity,
            "entity_id": c.entity_id[:64],
            "chain_id": chain_id,
            "changes": c.changes(),
        }


def write_pending(session: Session, ctx: AuditContext) -> None:
    """Write the transaction's pending records through the session's connection."""
    if not ctx.pending:
        return
    changes = list(ctx.pending.values())
    ctx.pending.clear()
    conn = session.connection()
    shared = record_constants(ctx)
    rows = [{**shared, **row} for row in record_rows(conn, changes)]
    conn.execute(insert(cast(Table, AuditRecord.__table__)), rows)
    ctx.written += len(rows)
