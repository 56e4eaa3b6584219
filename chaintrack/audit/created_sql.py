"""Create records for rows inserted in bulk, written by the database itself.

An import inserts thousands of rows per chunk without ORM objects
(chaintrack.imports.bulk), so the session listeners never see them. Their audit
records must still be exactly what the listeners would record (action ``create``, the
row's id, its chain, every non-empty column but the timestamps as
``{"before": null, "after": value}`` with values as :func:`capture.jsonable` renders
them, the request id and the user). Building each record's JSON in Python cost more
than inserting the row itself; here one ``INSERT INTO audit_log ... SELECT`` per chunk
renders them from the rows just inserted:

- text and enumerations as JSON strings, integers as numbers, booleans as
  ``true``/``false``, JSON columns as they are;
- dates as ``YYYY-MM-DD``, UTC timestamps as Python's ``isoformat()``
  (``2026-01-02T03:04:05.123456+00:00``, no fraction when it is zero);
- exact decimals without the storage scale's trailing zeros (``1250.5000`` →
  ``"1250.5"``), as :func:`capture.decimal_text`.

``tests/test_audit_created_sql.py`` holds every column type of every bulk-inserted table
to what the listeners record for the same row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Enum, Integer, String, Table, bindparam, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from chaintrack.audit import capture
from chaintrack.models import AuditRecord, Chain, Project
from chaintrack.models.base import ExactDecimal, UTCDateTime, utcnow
from chaintrack.models.enums import AuditAction


def _value_sql(dialect: Dialect, table: Table, column: str, ref: str) -> str:
    """SQL giving the JSON text of the non-NULL value ``ref`` of ``table.column``."""
    col_type = table.c[column].type
    sqlite = dialect.name == "sqlite"
    if column in capture.REDACTED_COLUMNS.get(str(table.name), ()):
        return "'\"" + capture.REDACTED + "\"'"
    if isinstance(col_type, ExactDecimal):
        if not sqlite:  # NUMERIC(p, s): trim_scale drops the trailing zeros
            return f"to_json(trim_scale({ref})::text)::text"
        # A scaled integer: whole part, then the fraction without trailing zeros.
        factor = 10**col_type.scale
        digits = f"%0{col_type.scale}d"
        number = (
            f"CASE WHEN {ref} % {factor} = 0 THEN CAST({ref} / {factor} AS TEXT) "
            f"ELSE rtrim(printf('%s%d.{digits}', CASE WHEN {ref} < 0 THEN '-' ELSE '' END, "
            f"abs({ref}) / {factor}, abs({ref}) % {factor}), '0') END"
        )
        return f"json_quote({number})"
    if isinstance(col_type, UTCDateTime):
        # Python's isoformat of a UTC datetime; the fraction only when it is not zero.
        stamp = (
            f"replace(replace({ref}, ' ', 'T'), '.000000', '')"
            if sqlite  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)
            else f"replace(to_char({ref} AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '')"
        )
        return f"'\"' || {stamp} || '+00:00\"'"
    if isinstance(col_type, JSON):
        return f"json({ref})" if sqlite else f"{ref}::text"
    if isinstance(col_type, Boolean):
        return f"CASE WHEN {ref} THEN 'true' ELSE 'false' END"
    if isinstance(col_type, Integer):
        return f"CAST({ref} AS TEXT)"
    if isinstance(col_type, Enum | String | Date):
        return f"json_quote({ref})" if sqlite else f"to_json({ref})::text"
    raise TypeError(f"no JSON rendering for {table.name}.{column} ({col_type!r})")


def _document_sql(dialect: Dialect, table: Table, columns: Sequence[str]) -> str:
    """``{"column":{"before":null,"after":value},...}`` for the non-empty columns of t."""
    quote = dialect.identifier_preparer.quote
    pieces = []
    for column in columns:
        ref = f"t.{quote(column)}"
        # Colons escaped: the statement is a text() whose ":name" are parameters.
        key = '"' + column + '"\\:{"before"\\:null,"after"\\:'
        pieces.append(
            f"CASE WHEN {ref} IS NULL THEN '' "
            f"ELSE '{key}' || {_value_sql(dialect, table, column, ref)} || '}},' END"
        )
    document = "'{' || rtrim(" + " || ".join(pieces or ["''"]) + ", ',') || '}'"
    return document if dialect.name == "sqlite" else f"CAST({document} AS JSONB)"


def _chain_sql(table: Table) -> str:
    """The record's chain, by the listeners' rule: the row's own chain column, a chain's
    id, or the chain of the row's project."""
    if table.name == Chain.__tablename__:
        return "t.id"
    if "chain_id" in table.c:
        return "t.chain_id"
    if "project_id" in table.c:
        return f"(SELECT p.chain_id FROM {Project.__tablename__} p WHERE p.id = t.project_id)"
    return "NULL"


def _keys_sql(dialect: Dialect, pk: Sequence[str]) -> tuple[str, str]:
    """FROM-clause source of the new rows' keys, and how it joins the table ``t``.

    SQLite: one JSON parameter ``:keys`` (an array of ids, or of key arrays) read by
    ``json_each``; PostgreSQL: one array parameter per key column, ``unnest``-ed.
    """
    quote = dialect.identifier_preparer.quote
    if dialect.name == "sqlite":
        if len(pk) == 1:
            return "json_each(:keys) k", f"t.{quote(pk[0])} = k.value"
        parts = [f"t.{quote(c)} = json_extract(k.value, '$[{i}]')" for i, c in enumerate(pk)]
        return "json_each(:keys) k", " AND ".join(parts)
    arrays = ", ".join(f":key{i}" for i in range(len(pk)))
    names = ", ".join(f"c{i}" for i in range(len(pk)))
    on = " AND ".join(f"t.{quote(c)} = k.c{i}" for i, c in enumerate(pk))
    return f"unnest({arrays}) AS k({names})", on


_CACHE: dict[tuple[str, str, tuple[str, ...]], Any] = {}


def _statement(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> Any:
    key = (dialect.name, str(table.name), columns)
    stmt = _CACHE.get(key)
    if stmt is None:
        prep = dialect.identifier_preparer
        pk = [c.name for c in table.primary_key.columns]
        audited = [c for c in columns if c not in capture.SKIPPED_COLUMNS]
        source, on = _keys_sql(dialect, pk)
        # The listeners' entity id: the key's values joined by "/".
        entity_id = " || '/' || ".join(f"CAST(t.{prep.quote(c)} AS VARCHAR(64))" for c in pk)
        sql = (
            f"INSERT INTO {prep.format_table(AuditRecord.__table__)} "
            "(occurred_at, user_id, request_id, action, entity, entity_id, chain_id, changes) "
            f"SELECT :occurred_at, :user_id, :request_id, '{AuditAction.CREATE.value}', "
            f":entity, {entity_id}, {_chain_sql(table)}, "
            f"{_document_sql(dialect, table, audited)} "
            f"FROM {source} JOIN {prep.format_table(table)} t ON {on} "
            f"ORDER BY {', '.join(f't.{prep.quote(c)}' for c in pk)}"
        )
        binds = [bindparam("occurred_at", type_=UTCDateTime())]
        if dialect.name == "sqlite":
            binds.append(bindparam("keys", type_=JSON()))
        stmt = text(sql).bindparams(*binds)
        _CACHE[key] = stmt
    return stmt


def insert_created(
    session: Session,
    ctx: capture.AuditContext,
    table: Table,
    columns: Sequence[str],
    keys: Sequence[Sequence[Any]],
) -> None:
    """The create records of the rows of ``table`` with primary keys ``keys`` (tuples in
    the order of the key's columns), just inserted with values for ``columns`` (the
    others were left to the database)."""
    if not keys:
        return
    conn = session.connection()
    params: dict[str, Any] = {
        "occurred_at": utcnow(),
        "user_id": ctx.user_id,
        "request_id": ctx.request_id,
        "entity": str(table.name),
    }
    if conn.dialect.name == "sqlite":
        single = len(keys[0]) == 1
        params["keys"] = [k[0] for k in keys] if single else [list(k) for k in keys]
    else:
        for i, column in enumerate(zip(*keys, strict=True)):
            params[f"key{i}"] = list(column)
    result: Any = session.execute(_statement(conn.dialect, table, tuple(columns)), params)
    if result.rowcount != len(keys):  # a record per row, or the import fails
        raise RuntimeError(
            f"{table.name}: {result.rowcount} audit records written for {len(keys)} new rows"
        )
    ctx.written += len(keys)
