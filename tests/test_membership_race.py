"""Two writers create the same membership at once: one wins, the other gets the 409.

The service's check cannot see a row another transaction has not committed. On
PostgreSQL the exclusion constraint makes the second insert wait for the first
transaction and fail if it commits; the service turns that into the same Conflict its
check raises, naming the row that won. (SQLite serialises writers with BEGIN IMMEDIATE,
so the second writer's check always sees the first one's row.)

This test commits, so it runs on a database of its own.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from chaintrack import migrate
from chaintrack.api import create_app
from chaintrack.db import make_engine
from chaintrack.memberships import service
from chaintrack.memberships.schemas import MembershipCreate
from chaintrack.models import Membership, User
from chaintrack.models.enums import MembershipRole, UserRole
from tests.conftest import settings_for_tests
from tests.factories import make_chain, make_enterprise, make_node

POLLS = 2000  # bounded wait for the second writer to block (not a timing assertion)


@pytest.fixture
def race_engine(scratch_database_url: str, is_postgres: bool) -> Iterator[Engine]:
    if not is_postgres:
        pytest.skip("SQLite serialises writers: there is no race to lose")
    engine = make_engine(scratch_database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _arrange(engine: Engine) -> dict[str, Any]:
    with Session(engine) as s:
        chain = make_chain(s)
        node = make_node(s, chain)
        ent = make_enterprise(s)
        admin = User(username="race-admin", display_name="管理员", role=UserRole.ADMIN)
        s.add(admin)
        s.commit()
        return {
            "chain": chain.id,
            "node": node.id,
            "enterprise": ent.id,
            "admin": admin.id,
            "token_version": admin.token_version,
        }


def _wait_until_blocked(engine: Engine) -> None:
    """Until a backend of this database waits for a lock (the second insert)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with engine.connect() as conn:
        for _ in range(POLLS):
            if conn.execute(query).scalar_one():
                return
            conn.rollback()
            time.sleep(0.01)
    pytest.fail("the second writer never waited for the first one's row")


@pytest.mark.parametrize("first_commits", [True, False], ids=["first-commits", "first-rolls-back"])
def test_concurrent_writers_one_wins_the_other_gets_409(race_engine, first_commits):
    ids = _arrange(race_engine)
    url = race_engine.url.render_as_string(hide_password=False)
    app = create_app(settings_for_tests(url), engine=race_engine)
    token = app.state.auth.tokens.issue(ids["admin"], ids["token_version"])
    client = TestClient(app, raise_server_exceptions=False)
    body = {
        "enterprise_id": ids["enterprise"],
        "node_id": ids["node"],
        "role": "supporting",
        "started_on": "2024-03-01",
    }

    # Writer 1 passes the check and inserts, but has not committed yet.
    first = Session(race_engine)
    data = MembershipCreate(
        enterprise_id=ids["enterprise"],
        node_id=ids["node"],
        role=MembershipRole.SUPPORTING,
        started_on=dt.date(2024, 1, 1),
    )
    winner = service.create_membership(first, ids["chain"], data).id

    # Writer 2 (a request) passes the check too: writer 1's row is not visible to it.
    answers: list[Any] = []
    second = threading.Thread(
        target=lambda: answers.append(
            client.post(
                f"/api/v1/chains/{ids['chain']}/memberships",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
        )
    )
    second.start()
    try:
        _wait_until_blocked(race_engine)
        first.commit() if first_commits else first.rollback()
    finally:
        second.join(timeout=120)
        first.close()
    assert not second.is_alive()

    (response,) = answers
    with Session(race_engine) as s:
        rows = s.scalars(
            select(Membership.id).where(Membership.enterprise_id == ids["enterprise"])
        ).all()
        audited = s.scalar(
            text("SELECT count(*) FROM audit_log WHERE request_id = :r AND entity = :t"),
            {"r": response.headers["X-Request-ID"], "t": Membership.__tablename__},
        )
    if first_commits:
        assert response.status_code == 409, response.text
        problem = response.json()
        assert problem["type"] == "urn:chaintrack:problem:conflict"
        assert problem["existing_id"] == winner
        assert problem["existing"] == f"/api/v1/memberships/{winner}"
        assert rows == [winner]
    else:
        assert response.status_code == 201, response.text
        assert rows == [response.json()["id"]]
    # The request wrote its row and its audit record, or (refused) nothing at all.
    assert audited == (0 if first_commits else 1)
