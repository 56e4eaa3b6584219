"""SELECTs compiled once and run straight on the driver's cursor (the report hot path).

SQLAlchemy's execution of an already compiled, cached statement still costs about a
tenth of a millisecond per statement in Python (execution context, parameter
processing, result metadata, row objects), which for a small chain's report (ten
statements, a few milliseconds of SQL) is a fifth of the database's own time.
:class:`DriverSelect` keeps what matters of that and drops the rest:

- the statement is compiled by SQLAlchemy, once per dialect, with named parameters
  (``:name`` on SQLite, ``%(name)s`` on psycopg), so one mapping of values serves every
  statement of a report (:func:`bind_values` converts it once per request);
- it runs on the cursor of the SQLAlchemy connection it is given, inside that
  connection's transaction;
- column values go through the same result processors SQLAlchemy would apply (exact
  decimals from SQLite's scaled integers, dates, enumerations), so rows hold the same
  values as ``connection.execute(stmt).all()``;
- ``before_cursor_execute`` / ``after_cursor_execute`` listeners still see every
  statement (statement counting, ``CHAINTRACK_ECHO_SQL``) and driver errors are wrapped
  as SQLAlchemy wraps them (``DBAPIError.instance``), so error handling is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Connection, Dialect, Select
from sqlalchemy.exc import DBAPIError

Processor = Callable[[Any], Any]


@dataclass(slots=True)
class _Compiled:
    sql: str
    #: each named parameter: its bind processor and the value it carries (if any)
    binds: tuple[tuple[str, Processor | None, Any], ...]
    #: (column index, processor) for the columns that need one; known after the first
    #: execution, as some processors depend on the driver's type code for the column
    results: tuple[tuple[int, Processor], ...] | None = None


def _compile_dialect(dialect: Dialect) -> Dialect:
    """A dialect like ``dialect`` that renders named parameters (SQLite's is positional)."""
    if dialect.paramstyle in ("named", "pyformat"):
        return dialect
    return type(dialect)(paramstyle="named")  # type: ignore[call-arg]


class DriverSelect:
    """One SELECT, compiled on first use per dialect and run on the driver's cursor."""

    __slots__ = ("_by_dialect", "statement")

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=_compile_dialect(dialect))
            if compiled.positional or "POSTCOMPILE" in compiled.string:
                raise ValueError(
                    "DriverSelect needs named, non-expanding parameters "
                    "(write constant IN lists as literals)"
                )
            binds = tuple(
                (name, _bind_processor(bind, dialect), bind.effective_value)
                for name, bind in compiled.binds.items()
            )
            found = _Compiled(compiled.string, binds)
            self._by_dialect[dialect.name] = found
        return found

    def _result_processors(
        self, dialect: Dialect, description: Any
    ) -> tuple[tuple[int, Processor], ...]:
        columns = self.statement.selected_columns
        return tuple(
            (i, proc)
            for i, (column, described) in enumerate(zip(columns, description, strict=True))
            if (proc := column.type.dialect_impl(dialect).result_processor(dialect, described[1]))
            is not None
        )

    def binds(self, dialect: Dialect) -> Iterable[tuple[str, Processor | None, Any]]:
        return self._compiled(dialect).binds

    def rows(self, conn: Connection, values: Mapping[str, Any]) -> list[Any]:
        """All rows, as tuples (lists where a column needed processing).

        ``values`` are in the driver's form already (see :func:`bind_values`); extra
        keys are ignored by both drivers.
        """
        compiled = self._compiled(conn.dialect)
        sql = compiled.sql
        dbapi_conn: Any = conn.connection.driver_connection
        cursor = dbapi_conn.cursor()
        dispatch = conn.dispatch
        try:
            if dispatch.before_cursor_execute:
                dispatch.before_cursor_execute(conn, cursor, sql, values, None, False)
            if conn.engine.echo:
                conn.engine.logger.info("[driver] %s %r", sql, values)
            cursor.execute(sql, values)
            rows: list[Any] = cursor.fetchall()
            if compiled.results is None:
                compiled.results = self._result_processors(conn.dialect, cursor.description)
            if dispatch.after_cursor_execute:
                dispatch.after_cursor_execute(conn, cursor, sql, values, None, False)
        except Exception as err:
            dbapi = conn.dialect.loaded_dbapi
            if isinstance(err, dbapi.Error) and conn.dialect.is_disconnect(err, dbapi_conn, cursor):
                conn.invalidate(err)
            raise DBAPIError.instance(sql, values, err, dbapi.Error) from err
        finally:
            cursor.close()
        if compiled.results:
            processors = compiled.results
            out = []
            for row in rows:
                row = list(row)
                for i, proc in processors:
                    value = row[i]
                    if value is not None:
                        row[i] = proc(value)
                out.append(row)
            return out
        return rows


def _bind_processor(bind: BindParameter[Any], dialect: Dialect) -> Processor | None:
    return bind.type.dialect_impl(dialect).bind_processor(dialect)


def bind_values(
    conn: Connection, statements: Iterable[DriverSelect], values: Mapping[str, Any]
) -> dict[str, Any]:
    """``values`` in the driver's form for ``statements``: each named parameter through
    its type's bind processor (dates as text on SQLite, UTC timestamps, ...), once.
    A parameter missing from ``values`` takes the value its statement gave it."""
    dialect = conn.dialect
    out: dict[str, Any] = {}
    for statement in statements:
        for name, proc, default in statement.binds(dialect):
            if name not in out:
                value = values.get(name, default)
                out[name] = proc(value) if proc is not None and value is not None else value
    return out
