"""Test harness: a real database built by the migrations, each test in a rolled-back
transaction.

The engine comes from ``CHAINTRACK_TEST_DATABASE_URL``:
- unset: a fresh SQLite file in a temporary directory (the embedded default);
- ``postgresql+psycopg://user@host/db``: a fresh database named after ``db`` with a
  unique suffix is created on that server for the run and dropped at the end.

Every HTTP request in a test runs in a SAVEPOINT of the test's transaction, so
a request that fails is rolled back exactly as in production, and the whole
test is rolled back at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from chaintrack import migrate
from chaintrack.api import create_app
from chaintrack.config import Settings
from chaintrack.db import make_engine
from chaintrack.seeding.reference import load_reference

TEST_URL_ENV = "CHAINTRACK_TEST_DATABASE_URL"


@contextmanager
def fresh_database(tmp_dir: Path) -> Iterator[str]:
    """Yield the URL of a new, empty database; remove it afterwards."""
    base = os.environ.get(TEST_URL_ENV)
    if not base or base.startswith("sqlite"):
        yield f"sqlite:///{tmp_dir / 'chaintrack-test.db'}"
        return
    url = make_url(base)
    name = f"{url.database or 'chaintrack'}_t{uuid.uuid4().hex[:10]}"
    admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def scratch_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the engine under test, for tests that migrate on their own."""
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The migrated database with reference data loaded, shared by the session."""
    eng = make_engine(database_url)
    migrate.upgrade(eng)
    with Session(eng) as session:
        load_reference(session)
        session.commit()
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    trans = conn.begin()
    try:
        yield conn
    finally:
        trans.rollback()
        conn.close()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging data and checking results directly."""
    with session_factory() as session:
        yield session


@pytest.fixture
def app(engine: Engine, session_factory: sessionmaker[Session], database_url: str):
    application = create_app(Settings(database_url=database_url), engine=engine)
    application.state.sessionmaker = session_factory
    application.state.read_sessionmaker = session_factory
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements(connection: Connection):
    """``with count_statements() as c: ...`` then ``c.count`` (SAVEPOINTs excluded)."""

    @contextmanager
    def _count() -> Iterator[StatementCounter]:
        counter = StatementCounter()

        def _before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                counter.statements.append(statement)

        event.listen(connection, "before_cursor_execute", _before)
        try:
            yield counter
        finally:
            event.remove(connection, "before_cursor_execute", _before)

    return _count


@pytest.fixture
def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
