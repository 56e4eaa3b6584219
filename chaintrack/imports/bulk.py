"""Creating many rows at once, in the session's transaction, with their audit records.

The ORM unit of work costs about a hundred microseconds per new object (and on SQLite
one INSERT per row, as its RETURNING order cannot be relied on); an import of a
hundred thousand rows cannot afford that. New rows therefore go in as batches through
the session's own connection (same transaction, same rollback): ``COPY ... FROM
STDIN`` on PostgreSQL, the driver's ``executemany`` on SQLite, with every value passed
through its column type's bind processor first (exact decimals, JSON, enumerations,
UTC timestamps: stored exactly as the ORM would store them).

Each inserted row gets its create record from :func:`chaintrack.audit.changes.created`,
the function the audit listeners use for a new ORM object, and the records go into the
audit log the same way as the rows, right after them. Updates of existing rows go
through ORM objects, which the listeners see by themselves.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Table, func, select, text
from sqlalchemy.orm import Session

from chaintrack.audit import capture, changes
from chaintrack.errors import Conflict
from chaintrack.models import AuditRecord
from chaintrack.models.base import utcnow


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
        # The sequence looked up once (MATERIALIZED), not once per id: 5x faster.
        stmt = text(
            "WITH seq AS MATERIALIZED (SELECT pg_get_serial_sequence(:table, 'id')::regclass "
            "AS s) SELECT nextval(seq.s) FROM seq, generate_series(1, :n)"
        )
        return [int(v) for v in session.scalars(stmt, {"table": table.name, "n": n})]
    start = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
    return list(range(start + 1, start + n + 1))


def raw_insert(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """INSERT ``rows`` through the session's connection, values bound by column type.

    ``constants`` are columns with one value for every row (timestamps, version),
    bound once instead of once per row.
    """
    conn = session.connection()
    dialect = conn.dialect
    fixed = dict(constants or {})
    varying = [c for c in columns if c not in fixed]
    names = [*varying, *fixed]
    const = [_bound(table, dialect, c, v) for c, v in fixed.items()]
    procs = [
        (i, _empty_list_first(proc) if isinstance(table.c[c].type, JSON) else proc)
        for i, c in enumerate(varying)
        if (proc := table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    pick = itemgetter(*varying) if len(varying) > 1 else (lambda row: (row[varying[0]],))

    def values(row: Mapping[str, Any]) -> list[Any]:
        out = list(pick(row))
        for i, proc in procs:
            value = out[i]
            if value is not None:
                out[i] = proc(value)
        out.extend(const)
        return out

    prep = dialect.identifier_preparer
    target = f"{prep.format_table(table)} ({', '.join(prep.quote(c) for c in names)})"
    dbapi: Any = conn.connection.driver_connection
    try:
        if dialect.name == "postgresql":
            with dbapi.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(values(row))
            return
        marks = ", ".join("?" * len(names))
        cur = dbapi.cursor()
        try:
            cur.executemany(f"INSERT INTO {target} VALUES ({marks})", map(values, rows))
        finally:
            cur.close()
    except Exception as exc:
        conflict = duplicate_key(exc, str(table.name))
        if conflict is None:
            raise
        raise conflict from exc


def duplicate_key(exc: BaseException, table: str) -> Conflict | None:
    """A unique key another transaction wrote first (two imports creating the same
    enterprise or project month at once: the loser's COPY fails) as a 409 naming the
    key, else None. The driver's error comes raw (COPY and executemany bypass
    SQLAlchemy); the transaction is rolled back by the caller, so nothing of the import
    is written, and importing the file again finds the rows there."""
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate == "23505":  # PostgreSQL unique_violation
        diag = getattr(exc, "diag", None)
        key = getattr(diag, "message_detail", None) or str(exc)
    elif isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc):
        key = str(exc)
    else:
        return None
    return Conflict(
        f"另一操作同时写入了相同的记录（{key}），本次导入未写入任何数据，请重新导入 / "
        f"another import or edit wrote the same record at the same time ({key}); nothing "
        "of this import was written: import the file again",
        code="duplicate_key",
        table=table,
        key=key,
    )


def _empty_list_first(proc: Any) -> Any:
    """A JSON column's processor with the commonest value (an empty list, e.g. no former
    names) answered at once: the JSON encoder's set-up costs more than the encoding."""
    return lambda value: "[]" if value == [] else proc(value)


def _bound(table: Table, dialect: Any, column: str, value: Any) -> Any:
    proc = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return proc(value) if proc is not None and value is not None else value


#: Rows one import adds to a table before PostgreSQL's statistics of it are refreshed,
#: then four times as many each time (at most a handful of ANALYZEs per import).
ANALYZE_FIRST = 4000
_GROWTH_KEY = "chaintrack.bulk.growth"


def _analyze_as_it_grows(session: Session, table: Table, added: int) -> None:
    """Refresh PostgreSQL's statistics of a table an import is filling.

    A large import into a small table changes its size by orders of magnitude inside
    one transaction; the planner, still believing the table tiny (and keeping a cached
    generic plan made then), turns each chunk's look-up of existing keys into a
    sequential scan, and the import slows down quadratically. ANALYZE in the
    transaction counts its own new rows and invalidates those plans. It needs no lock
    that readers or writers wait for; without ownership of the table it only warns.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    growth: dict[str, tuple[int, int]] = session.info.setdefault(_GROWTH_KEY, {})
    total, mark = growth.get(table.name, (0, ANALYZE_FIRST))
    total += added
    if total >= mark:
        prep = session.get_bind().dialect.identifier_preparer
        session.execute(text(f"ANALYZE {prep.format_table(table)}"))
        mark = total * 4
    growth[table.name] = (total, mark)


def insert_rows(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> list[int]:
    """INSERT ``rows`` (dicts of column values, all with the same keys; ``id`` reserved
    here unless given) and audit them; returns the ids in the order of ``rows`` (none for
    a table whose primary key is not a single ``id``)."""
    if not rows:
        return []
    table: Table = model.__table__
    now = utcnow()
    constants: dict[str, Any] = {c: now for c in ("created_at", "updated_at") if c in table.c}
    if "version" in table.c:
        constants["version"] = 1
    pk = [c.name for c in table.primary_key.columns]
    if pk == ["id"]:
        missing = [row for row in rows if row.get("id") is None]
        for row, new_id in zip(missing, reserve_ids(session, model, len(missing)), strict=True):
            row["id"] = new_id
    columns = [c for c in rows[0] if c not in constants]
    raw_insert(session, table, columns, rows, constants=constants)
    _analyze_as_it_grows(session, table, len(rows))
    ctx = capture.context(session)
    if ctx is not None:
        _audit_created(session, ctx, table, pk, rows, constants)
    return [int(row["id"]) for row in rows] if pk == ["id"] else []


def _audit_created(
    session: Session,
    ctx: capture.AuditContext,
    table: Table,
    pk: Sequence[str],
    rows: Sequence[dict[str, Any]],
    constants: Mapping[str, Any],
) -> None:
    """The create records of ``rows`` (just inserted, with ``constants`` too), rendered
    as the listeners render a new object and inserted like the rows."""
    name = str(table.name)
    key = itemgetter(*pk) if len(pk) > 1 else (lambda row: (row[pk[0]],))
    new = [changes.created(name, key(row), {**row, **constants}) for row in rows]
    conn = session.connection()
    raw_insert(
        session,
        _AUDIT,
        ("action", "entity", "entity_id", "chain_id", "changes"),
        changes.record_rows(conn, new),
        constants=changes.record_constants(ctx),
    )
    ctx.written += len(new)


_AUDIT: Table = AuditRecord.__table__  # type: ignore[assignment]


def create_or_update(session: Session, model: Any, plans: Iterable[Any]) -> None:
    """Apply plans whose ``data`` is ``(existing row or None, values)``: new rows go in
    as one bulk INSERT (audited), existing ones get the values set on the ORM object
    (audited by the session listeners)."""
    new = []
    for plan in plans:
        existing, values = plan.data
        if existing is None:
            new.append(values)
        else:
            for name, value in values.items():
                setattr(existing, name, value)
    insert_rows(session, model, new)


def acting_user(session: Session) -> int | None:
    """The signed-in user of an audited session (None for the command line)."""
    ctx = capture.context(session)
    return ctx.user_id if ctx is not None else None
