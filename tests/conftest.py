"""Test harness: a real database built by the migrations, each test in a rolled-back
transaction.

The engine comes from ``CHAINTRACK_TEST_DATABASE_URL``:
- unset: a fresh SQLite file in a temporary directory (the embedded default);
- ``postgresql+psycopg://user@host/db``: a fresh database named after ``db`` with a
  unique suffix is created on that server for the run and dropped at the end.

Every HTTP request in a test runs in a SAVEPOINT of the test's transaction, so
a request that fails is rolled back exactly as in production, and the whole
test is rolled back at the end. Reads (GET, HEAD, OPTIONS, and the password check
of a sign-in) get the application's read sessionmaker as in production, here one
whose sessions cannot write (``read_session_factory``): a read request that writes
fails in the tests.

Every API request needs a bearer token. ``client`` is signed in as an
administrator created in the test's transaction; ``anon_client`` sends no token;
``client_for(user)`` signs in as anyone, and ``make_user(role, chains=...)``
creates users (password ``TEST_PASSWORD``). Tokens are issued directly (no
login round trip) and passwords hashed with cheap Argon2 parameters.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from chaintrack import migrate
from chaintrack.api import create_app
from chaintrack.auth.deps import AuthState
from chaintrack.config import Settings
from chaintrack.db import make_engine
from chaintrack.models import EditorAssignment, User
from chaintrack.models.enums import UserRole
from chaintrack.seeding.reference import load_reference

TEST_URL_ENV = "CHAINTRACK_TEST_DATABASE_URL"
RELIABILITY = Path(__file__).parent / "reliability"
FAST_SUITE = "not reliability"  # the default mark expression (pyproject.toml, addopts)
TEST_PASSWORD = "correct horse battery staple"
TEST_SECRET = "Kq3vY8rT1xW6zN0pL5sD9fG2hJ7mB4cV-test-signing-key"


def _fast_suite(config: pytest.Config) -> bool:
    return " ".join(str(config.option.markexpr).split()) == FAST_SUITE


def pytest_report_header(config: pytest.Config) -> str:
    if _fast_suite(config):
        return "fast suite: tests/reliability is left out (pytest -m '' runs everything)"
    return f"mark expression: {config.option.markexpr or '(none: every test)'}"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The fast suite does not even import the reliability harness (schemathesis and the
    fuzzer's schema cost seconds of collection)."""
    if _fast_suite(config) and collection_path == RELIABILITY:
        return True
    return None


def settings_for_tests(database_url: str, **overrides: object) -> Settings:
    """Production mode with a fixed strong key, and cheap password hashing."""
    values: dict[str, object] = {
        "database_url": database_url,
        "env": "production",
        "secret_key": TEST_SECRET,
        "argon2_time_cost": 1,
        "argon2_memory_cost": 8,
        "argon2_parallelism": 1,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


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
    if conn.dialect.name == "sqlite":
        # A read session whose request ended in an error page can leave the pooled
        # connection query_only (see read_only_sessionmaker): never start a test so.
        conn.connection.driver_connection.execute("PRAGMA query_only = OFF")
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


READ_ONLY_SAVEPOINT = "test_read_only"


def read_only_sessionmaker(connection: Connection) -> sessionmaker[Session]:
    """Sessions in the test's transaction that the database refuses to let write.

    Production gives reads their own sessionmaker (``chaintrack.db.readonly``: a plain
    BEGIN on SQLite, REPEATABLE READ on PostgreSQL) and never audits them; here the
    read session shares the test's connection, and the database itself refuses writes
    while it is open: SQLite ``PRAGMA query_only``, PostgreSQL ``SET LOCAL
    transaction_read_only`` inside a savepoint of its own, rolled back (which undoes
    the setting) before the session's savepoint is released. Pending ORM changes are
    flushed while the session is still read only, so they fail too. The settings go
    straight to the driver, so statement counts see only the request's statements.
    """
    factory = sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )
    postgres = connection.dialect.name == "postgresql"
    raw = connection.connection.driver_connection  # the test's one connection

    @event.listens_for(factory, "after_begin")
    def _read_only(session: Session, _transaction, _conn) -> None:
        if postgres:
            raw.execute(f"SAVEPOINT {READ_ONLY_SAVEPOINT}")
            raw.execute("SET LOCAL transaction_read_only = on")
        else:
            raw.execute("PRAGMA query_only = ON")
        session.info["read_only"] = True

    @event.listens_for(factory, "before_commit")
    def _flush_then_lift(session: Session) -> None:
        session.flush()  # while the database still refuses writes
        if session.info.pop("read_only", False):
            if postgres:
                raw.execute(f"ROLLBACK TO SAVEPOINT {READ_ONLY_SAVEPOINT}")
                raw.execute(f"RELEASE SAVEPOINT {READ_ONLY_SAVEPOINT}")
            else:
                raw.execute("PRAGMA query_only = OFF")

    @event.listens_for(factory, "after_transaction_end")
    def _ended(session: Session, transaction) -> None:
        # Rolled back or closed: PostgreSQL's setting went with the session's savepoint;
        # SQLite's belongs to the connection and is switched off here.
        if transaction.parent is None and session.info.pop("read_only", False) and not postgres:
            raw.execute("PRAGMA query_only = OFF")

    return factory


@pytest.fixture
def read_session_factory(connection: Connection) -> sessionmaker[Session]:
    """The application's sessions for reads: in the test's transaction, read only."""
    return read_only_sessionmaker(connection)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging data and checking results directly."""
    with session_factory() as session:
        yield session


@pytest.fixture(scope="session")
def shared_app(engine: Engine, database_url: str):
    """One application for the run (building routes is the slow part of a first request)."""
    return create_app(settings_for_tests(database_url), engine=engine)


def _bind(
    application,
    session_factory: sessionmaker[Session],
    read_session_factory: sessionmaker[Session],
):
    application.state.sessionmaker = session_factory
    application.state.read_sessionmaker = read_session_factory
    # A fresh throttle, so login failures never leak from one test into another.
    application.state.auth = AuthState.from_settings(application.state.settings)
    return application


@pytest.fixture
def app(
    shared_app,
    session_factory: sessionmaker[Session],
    read_session_factory: sessionmaker[Session],
):
    """The application, its requests running in this test's transaction."""
    return _bind(shared_app, session_factory, read_session_factory)


@pytest.fixture
def make_app(
    engine: Engine,
    database_url: str,
    session_factory: sessionmaker[Session],
    read_session_factory: sessionmaker[Session],
):
    """``make_app(token_ttl_minutes=1, ...)``: an application with other settings."""

    def _make(**overrides: object):
        return _bind(
            create_app(settings_for_tests(database_url, **overrides), engine=engine),
            session_factory,
            read_session_factory,
        )

    return _make


@pytest.fixture
def make_user(db: Session, app):
    """``make_user(UserRole.EDITOR, chains=[chain])`` -> a flushed User (TEST_PASSWORD)."""
    passwords = app.state.auth.passwords
    hashed = passwords.hash(TEST_PASSWORD)
    counter = iter(range(1, 1_000_000))

    def _make(
        role: UserRole = UserRole.VIEWER,
        *,
        chains: Sequence = (),
        username: str | None = None,
        **kw: object,
    ) -> User:
        n = next(counter)
        values: dict[str, object] = {
            "username": username or f"{role.value}{n}-{uuid.uuid4().hex[:6]}",
            "display_name": f"测试用户{n}",
            "role": role,
            "password_hash": hashed,
            "is_active": True,
            "token_version": 0,
            **kw,
        }
        user = User(**values)
        db.add(user)
        db.flush()
        for chain in chains:
            chain_id = chain if isinstance(chain, int) else chain.id
            db.add(EditorAssignment(user_id=user.id, chain_id=chain_id))
        db.flush()
        return user

    return _make


@pytest.fixture
def token_for(app):
    """A bearer token for a user, issued directly (no login round trip)."""

    def _token(user: User) -> str:
        return app.state.auth.tokens.issue(user.id, user.token_version)

    return _token


@pytest.fixture
def client_for(app, token_for):
    """``client_for(user)``: a TestClient that sends the user's bearer token."""

    def _client(user: User | None) -> TestClient:
        headers = {"Authorization": f"Bearer {token_for(user)}"} if user is not None else {}
        return TestClient(app, raise_server_exceptions=False, headers=headers)

    return _client


@pytest.fixture
def admin_user(make_user) -> User:
    return make_user(UserRole.ADMIN, username="test-admin")


@pytest.fixture
def client(client_for, admin_user) -> Iterator[TestClient]:
    """Signed in as an administrator (may do everything)."""
    with client_for(admin_user) as c:
        yield c


@pytest.fixture
def anon_client(client_for) -> Iterator[TestClient]:
    """No token at all."""
    with client_for(None) as c:
        yield c


@pytest.fixture
def viewer_client(client_for, make_user) -> Iterator[TestClient]:
    with client_for(make_user(UserRole.VIEWER)) as c:
        yield c


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


def _is_authentication(statement: str) -> bool:
    """The per-request lookup of the signed-in user (constant; not the endpoint's work)."""
    flat = " ".join(statement.split())
    return flat.startswith("SELECT users.") and "FROM users WHERE users.id =" in flat


@pytest.fixture
def count_statements(connection: Connection):
    """``with count_statements() as c: ...`` then ``c.count`` (SAVEPOINTs and the
    authentication lookup excluded)."""

    @contextmanager
    def _count() -> Iterator[StatementCounter]:
        counter = StatementCounter()

        def _before(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                return
            if not _is_authentication(statement):
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
