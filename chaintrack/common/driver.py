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
  connection's transaction (begun first if there is none, as SQLAlchemy's autobegin);
- column values go through the same result processors SQLAlchemy would apply (exact
  decimals from SQLite's scaled integers, dates, enumerations), so rows hold the same
  values as ``connection.execute(stmt).all()``;
- ``before_cursor_execute`` / ``after_cursor_execute`` listeners still see every
  statement (statement counting, ``CHAINTRACK_ECHO_SQL``), with no execution context
  (``context`` is None);
- driver errors are wrapped as SQLAlchemy wraps them (``DBAPIError.instance``: the
  same exception classes, a disconnect invalidates the connection), and so are errors
  of the parameters' bind processors (``StatementError``), so the API's error handlers
  answer as they do for any other statement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Connection, Dialect, Select
from sqlalchemy.exc import DBAPIError, StatementError

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Bind:
    """A named parameter: its bind processor, and the value the statement gave it."""

    name: str
    processor: Processor | None
    required: bool
    value: Any


@dataclass(slots=True)
class _Compiled:
    sql: str
    binds: tuple[_Bind, ...]
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
                _Bind(name, _bind_processor(bind, dialect), bind.required, bind.effective_value)
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

    def binds(self, dialect: Dialect) -> Iterable[_Bind]:
        return self._compiled(dialect).binds

    def rows(self, conn: Connection, values: Mapping[str, Any]) -> list[Any]:
        """All rows, as tuples (lists where a column needed processing).

        ``values`` are in the driver's form already (see :func:`bind_values`); extra
        keys are ignored by both drivers.
        """
        compiled = self._compiled(conn.dialect)
        sql = compiled.sql
        if not conn.in_transaction():
            conn.begin()
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
            lost = isinstance(err, dbapi.Error) and conn.dialect.is_disconnect(
                err, dbapi_conn, cursor
            )
            if lost:
                conn.invalidate(err)
            raise DBAPIError.instance(
                sql,
                values,
                err,
                dbapi.Error,
                hide_parameters=conn.engine.hide_parameters,
                connection_invalidated=lost,
                dialect=conn.dialect,
            ) from err
        except BaseException:
            conn.invalidate()  # interrupted mid-statement: the connection's state is unknown
            raise
        finally:
            cursor.close()
        if compiled.results:
            processors = compiled.results
            return [processed(list(row), processors) for row in rows]
        return rows


def processed(row: list[Any], processors: Iterable[tuple[int, Processor]]) -> list[Any]:
    """``row`` with each (index, processor) applied to its non-NULL value, in place."""
    for i, proc in processors:
        value = row[i]
        if value is not None:
            row[i] = proc(value)
    return row


def _bind_processor(bind: BindParameter[Any], dialect: Dialect) -> Processor | None:
    return bind.type.dialect_impl(dialect).bind_processor(dialect)


def bind_values(
    conn: Connection, statements: Iterable[DriverSelect], values: Mapping[str, Any]
) -> dict[str, Any]:
    """``values`` in the driver's form for ``statements``: each named parameter through
    its type's bind processor (dates as text on SQLite, UTC timestamps, ...), once.

    A parameter missing from ``values`` takes the value its statement gave it (a
    ``bindparam`` with a value); as one mapping serves every statement, two statements
    must not give one name different values, which is refused here.
    """
    dialect = conn.dialect
    out: dict[str, Any] = {}
    for statement in statements:
        for bind in statement.binds(dialect):
            if bind.name in values:
                value = values[bind.name]
            elif not bind.required:
                value = bind.value
            else:
                raise ValueError(f"a value is required for the parameter {bind.name!r}")
            if value is not None and bind.processor is not None:
                try:
                    value = bind.processor(value)
                except Exception as err:  # as SQLAlchemy reports a value it cannot bind
                    raise StatementError(
                        f"parameter {bind.name!r}: {err}", None, dict(values), err
                    ) from err
            if bind.name in out and out[bind.name] != value:
                raise ValueError(
                    f"the parameter {bind.name!r} has different values in two statements"
                )
            out[bind.name] = value
    return out
