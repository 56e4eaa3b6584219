"""Reads run on the application's read sessions, in the tests as in production.

``chaintrack.common.deps.get_session`` gives GET, HEAD and OPTIONS requests a session
from ``app.state.read_sessionmaker`` (never audited) and every other method one from
``app.state.sessionmaker``. The test application keeps that split: its read sessions
share the test's transaction but cannot write, so an endpoint that writes on a GET
fails here instead of writing unaudited rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from chaintrack.api import create_app
from chaintrack.common.deps import ReadSessionDep, SessionDep
from chaintrack.models import Region
from tests.conftest import settings_for_tests
from tests.factories import make_chain
from tests.problems import assert_problem

CODE = "999901"


def _region_count(db) -> int:
    return db.scalar(select(func.count()).select_from(Region).where(Region.code == CODE))


def _writes(session) -> dict[str, int]:
    session.add(Region(code=CODE, name_zh="测试区"))
    session.flush()
    return {"ok": 1}


def _reads(session) -> dict[str, int]:
    return {"regions": session.scalar(select(func.count()).select_from(Region))}


@pytest.fixture(scope="module")
def writes_app(engine, database_url):
    """An application with routes that write, reachable by GET and by POST (built once)."""
    application = create_app(settings_for_tests(database_url), engine=engine)
    router = APIRouter()

    @router.get("/api/test/writes")
    @router.post("/api/test/writes")
    def writes(session: SessionDep) -> dict[str, int]:
        return _writes(session)

    @router.post("/api/test/writes-on-a-read-session")
    def writes_on_a_read_session(session: ReadSessionDep) -> dict[str, int]:
        return _writes(session)

    @router.get("/api/test/reads")
    def reads(session: SessionDep) -> dict[str, int]:
        return _reads(session)

    application.include_router(router)
    return application


@pytest.fixture
def c(writes_app, session_factory, read_session_factory) -> Iterator[TestClient]:
    """Its requests in this test's transaction, reads on the test app's read sessions."""
    writes_app.state.sessionmaker = session_factory
    writes_app.state.read_sessionmaker = read_session_factory
    with TestClient(writes_app, raise_server_exceptions=False) as client:
        yield client


def test_a_get_that_writes_fails_and_writes_nothing(c, db):
    before = _region_count(db)
    assert_problem(c.get("/api/test/writes"), 500, "internal")
    assert _region_count(db) == before
    # The same endpoint on a write request writes.
    assert c.post("/api/test/writes").status_code == 200
    assert _region_count(db) == before + 1


def test_the_read_session_of_a_write_request_cannot_write_either(c, db):
    before = _region_count(db)
    assert_problem(c.post("/api/test/writes-on-a-read-session"), 500, "internal")
    assert _region_count(db) == before


def test_reads_leave_the_test_transaction_writable(c, db, client):
    assert c.get("/api/test/reads").json()["regions"] > 0
    assert_problem(c.get("/api/test/writes"), 500, "internal")  # a failed read, too
    # The test's own session and the next write request can still write.
    chain = make_chain(db)
    assert client.get(f"/api/v1/chains/{chain.id}").status_code == 200
    r = client.patch(
        f"/api/v1/chains/{chain.id}", json={"name_en": "Renamed"}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text


def test_the_real_read_sessions_refuse_writes(tmp_path):
    """Production's read sessions (chaintrack.db, not the test's) refuse ORM changes and
    INSERT/UPDATE/DELETE statements; PostgreSQL's transaction is READ ONLY as well."""
    from sqlalchemy import insert, update

    from chaintrack import migrate
    from chaintrack.db import ReadOnlySessionError, make_engine, make_sessionmaker, readonly
    from chaintrack.models import ChainGroup
    from tests.conftest import fresh_database

    with fresh_database(tmp_path) as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            reads = make_sessionmaker(readonly(engine), read_only=True)
            attempts = [
                lambda s: s.add(ChainGroup(code="X", name_zh="某", name_en="x")),
                lambda s: s.execute(insert(ChainGroup).values(code="Y", name_zh="某", name_en="y")),
                lambda s: s.execute(update(ChainGroup).values(name_zh="改")),
            ]
            for attempt in attempts:
                with reads() as session:
                    with pytest.raises(ReadOnlySessionError):
                        attempt(session)
                        session.commit()
                    session.rollback()
            if engine.dialect.name == "postgresql":
                # below the guard, the database refuses too
                with reads() as session, pytest.raises(Exception, match="read-only transaction"):
                    session.execute(
                        text(
                            "INSERT INTO chain_groups (code, name_zh, "
                            "name_en, position, version, created_at, "
                            "updated_at) VALUES ('Z', 'z', 'z', 0, 1, "
                            "now(), now())"
                        )
                    )
            with make_sessionmaker(engine)() as session:
                assert session.scalar(select(func.count()).select_from(ChainGroup)) == 0
        finally:
            engine.dispose()
