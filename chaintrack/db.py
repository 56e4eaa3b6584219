"""Engine and session set-up for SQLite (embedded default) and PostgreSQL.

SQLite gets foreign keys, WAL and a busy timeout on every connection, and takes
the write lock at BEGIN (``BEGIN IMMEDIATE``) so concurrent writers queue on the
busy timeout instead of failing with "database is locked" when a deferred read
transaction tries to upgrade to a write. Read-only sessions use a plain BEGIN
so readers never wait for writers (WAL lets them run side by side).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, sessionmaker

from chaintrack.config import Settings

READONLY_OPTION = "chaintrack_readonly"

#: Page cache of a serving connection (KiB). The pool keeps up to 15 connections per
#: worker, each growing its cache as pages are read: at 32 MiB each, sixteen concurrent
#: readers took one worker to 728 MB (benchmarks/load.py). Reads that miss it are served
#: from the operating system's file cache.
SERVING_CACHE_KIB = 4096
#: Page cache of the connection while an import writes (import_cache): a transaction
#: that writes a hundred thousand rows and their index entries otherwise spills its
#: pages to the WAL half-way and re-reads them, several times slower.
IMPORT_CACHE_KIB = 65536

#: Every connection to a database file. WAL lets readers run beside the writer;
#: NORMAL durability is WAL's usual pairing (a commit survives a crash of the process,
#: the last ones may be lost with the machine's power).
SQLITE_FILE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL")


def sqlite_pragmas(cache_kib: int = SERVING_CACHE_KIB) -> tuple[str, ...]:
    """A file connection's pragmas (for tools that open their own, like the benchmarks)."""
    return (*SQLITE_FILE_PRAGMAS, f"cache_size=-{int(cache_kib)}")


def _install_sqlite_pragmas(engine: Engine, busy_timeout_ms: int, cache_kib: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if engine.url.database not in (None, "", ":memory:"):
            for pragma in sqlite_pragmas(cache_kib):
                cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read = conn.get_execution_options().get(READONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def make_engine(
    url: str,
    *,
    busy_timeout_ms: int = 30_000,
    echo: bool = False,
    sqlite_cache_kib: int = SERVING_CACHE_KIB,
) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        )
        _install_sqlite_pragmas(engine, busy_timeout_ms, sqlite_cache_kib)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


def engine_from_settings(settings: Settings) -> Engine:
    return make_engine(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        sqlite_cache_kib=settings.sqlite_cache_kib,
        echo=settings.echo_sql,
    )


class ReadOnlySessionError(RuntimeError):
    """A write through a read-only session: a bug in the endpoint, never the client's."""


def make_sessionmaker(bind: Any, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions on ``bind``; with ``read_only`` they refuse every write (see _refuse_writes)."""
    factory = sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)
    if read_only:
        _refuse_writes(factory)
    return factory


def _refuse_writes(factory: sessionmaker[Session]) -> None:
    """Reads are not audited and, on SQLite, do not hold the write lock: a GET that wrote
    would change data unrecorded (and upgrade its transaction to a writer). PostgreSQL
    refuses by itself (READ ONLY, see readonly()); on both engines the session refuses
    ORM changes and INSERT/UPDATE/DELETE statements before they reach the database."""

    @event.listens_for(factory, "before_flush")
    def _before_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
        if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
            raise ReadOnlySessionError("a read-only session may not write")

    @event.listens_for(factory, "do_orm_execute")
    def _do_orm_execute(state: ORMExecuteState) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            raise ReadOnlySessionError("a read-only session may not write")


def readonly(bind: Engine) -> Engine:
    """The same engine (same pool) for read-only requests.

    SQLite: a plain BEGIN, so readers never queue behind writers. PostgreSQL:
    REPEATABLE READ, so every query of one request (a chain report runs nine after
    the sign-in lookup, the dashboard eight) reads the same snapshot and the figures
    add up, and READ ONLY (in the same BEGIN), so the database refuses a write.
    """
    if bind.dialect.name == "postgresql":
        return bind.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return bind.execution_options(**{READONLY_OPTION: True})


@contextmanager
def import_cache(session: Session) -> Iterator[None]:
    """The large page cache (IMPORT_CACHE_KIB) on ``session``'s connection while an import
    writes, its serving size again afterwards, which frees the pages above it (SQLite;
    nothing on PostgreSQL)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    serving = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(serving)}")


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
