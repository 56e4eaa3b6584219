"""Creating many rows at once, in the session's transaction, with their audit records.

The ORM unit of work costs about a hundred microseconds per new object (and on SQLite
one INSERT per row, as its RETURNING order cannot be relied on); an import of a
hundred thousand rows cannot afford that. New rows therefore go in as batches through
the session's own connection (same transaction, same rollback): ``COPY ... FROM
STDIN`` on PostgreSQL, the driver's ``executemany`` on SQLite, with every value passed
through its column type's bind processor first (exact decimals, JSON, enumerations,
UTC timestamps: stored exactly as the ORM would store them).

Their audit records are what the audit listeners (chaintrack.audit.capture) record for
a new ORM object — action ``create``, the primary key, the chain (or the project's
chain), every non-empty column but the timestamps as ``{"before": null, "after": v}``,
the request id and the user of the session's audit context — written the same way in
the same transaction. Updates still go through ORM objects, which the listeners see
by themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from chaintrack.audit import capture
from chaintrack.models import AuditRecord, Project
from chaintrack.models.base import utcnow
from chaintrack.models.enums import AuditAction

AUDIT_COLUMNS = (
    "occurred_at",
    "user_id",
    "request_id",
    "action",
    "entity",
    "entity_id",
    "chain_id",
    "changes",
)


def reserve_ids(session: Session, model: Any, n: int) -> list[int]:
    """``n`` new primary keys for ``model``'s table, taken before the INSERT so the rows
    need no RETURNING and children can point at them.

    PostgreSQL draws them from the column's sequence (safe under concurrency); on SQLite
    the write transaction already holds the database lock (``BEGIN IMMEDIATE``), so the
    next ids after the current maximum are ours.
    """
    if n <= 0:
        return []
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        stmt = text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
        )
        return [int(v) for v in session.scalars(stmt, {"table": table.name, "n": n})]
    start = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
    return list(range(start + 1, start + n + 1))


def raw_insert(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> None:
    """INSERT ``rows`` through the session's connection, values bound by column type."""
    conn = session.connection()
    dialect = conn.dialect
    procs = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    pairs = list(zip(columns, procs, strict=True))

    def values(row: Mapping[str, Any]) -> list[Any]:
        out = []
        for column, proc in pairs:
            value = row[column]
            out.append(proc(value) if proc is not None and value is not None else value)
        return out

    prep = dialect.identifier_preparer
    target = f"{prep.format_table(table)} ({', '.join(prep.quote(c) for c in columns)})"
    dbapi: Any = conn.connection.driver_connection
    if dialect.name == "postgresql":
        with dbapi.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(values(row))
        return
    marks = ", ".join("?" * len(columns))
    cur = dbapi.cursor()
    try:
        cur.executemany(f"INSERT INTO {target} VALUES ({marks})", (values(r) for r in rows))
    finally:
        cur.close()


def insert_rows(
    session: Session,
    model: Any,
    rows: Sequence[dict[str, Any]],
    *,
    chain_of: str | None = "chain_id",
) -> list[int]:
    """INSERT ``rows`` (complete dicts of column values; ``id`` reserved here unless
    given) and audit them; returns the ids in the order of ``rows`` (none for a table
    whose primary key is not a single ``id``)."""
    if not rows:
        return []
    table: Table = model.__table__
    now = utcnow()
    timestamps = [c for c in ("created_at", "updated_at") if c in table.c]
    versioned = "version" in table.c
    for row in rows:
        for c in timestamps:
            row.setdefault(c, now)
        if versioned:
            row.setdefault("version", 1)
    pk = [c.name for c in table.primary_key.columns]
    if pk == ["id"]:
        missing = [row for row in rows if row.get("id") is None]
        for row, new_id in zip(missing, reserve_ids(session, model, len(missing)), strict=True):
            row["id"] = new_id
    columns = list(rows[0])
    raw_insert(session, table, columns, rows)
    ctx = capture.context(session)
    if ctx is not None:
        _audit_created(session, ctx, table, pk, rows, chain_of)
    return [int(row["id"]) for row in rows] if pk == ["id"] else []


def _audit_created(
    session: Session,
    ctx: capture.AuditContext,
    table: Table,
    pk: list[str],
    rows: Sequence[Mapping[str, Any]],
    chain_of: str | None,
) -> None:
    """The audit records of new rows, as the listeners would write them."""
    project_chain: dict[int, int] = {}
    if chain_of is None and "project_id" in table.c:
        wanted = {row["project_id"] for row in rows if row.get("project_id") is not None}
        for pid, cid in session.execute(
            select(Project.id, Project.chain_id).where(Project.id.in_(wanted))
        ):
            project_chain[pid] = cid
    now = utcnow()
    skipped = capture.SKIPPED_COLUMNS
    jsonable = capture.jsonable

    def records() -> Iterable[dict[str, Any]]:
        for row in rows:
            chain_id = row.get(chain_of) if chain_of else None
            if chain_id is None and row.get("project_id") is not None:
                chain_id = project_chain.get(row["project_id"])
            yield {
                "occurred_at": now,
                "user_id": ctx.user_id,
                "request_id": ctx.request_id,
                "action": AuditAction.CREATE,
                "entity": table.name,
                "entity_id": "/".join(str(row[c]) for c in pk)[:64],
                "chain_id": chain_id,
                "changes": {
                    k: {"before": None, "after": jsonable(v)}
                    for k, v in row.items()
                    if v is not None and k not in skipped
                },
            }

    raw_insert(session, AuditRecord.__table__, AUDIT_COLUMNS, records())  # type: ignore[arg-type]
    ctx.written += len(rows)


def acting_user(session: Session) -> int | None:
    """The signed-in user of an audited session (None for the command line)."""
    ctx = capture.context(session)
    return ctx.user_id if ctx is not None else None
