"""Sign-in under pressure: the throttle in the database, growing locks, unlocking,
capped password hashing, and one's own password."""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack import cli, migrate
from chaintrack.api import create_app
from chaintrack.auth.passwords import Passwords
from chaintrack.db import make_engine
from chaintrack.models import LoginThrottleEntry, User
from chaintrack.models.enums import UserRole
from tests.conftest import TEST_PASSWORD, fresh_database, settings_for_tests
from tests.test_auth_login import FakeClock, login

API = "/api/v1"


def test_concurrent_wrong_guesses_are_counted_one_by_one(tmp_path: Path):
    """Thirty simultaneous wrong guesses against a limit of five: five are checked."""
    with fresh_database(tmp_path) as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            settings = settings_for_tests(url, login_max_failures_per_user=5)
            passwords = Passwords.from_settings(settings)
            with Session(engine) as session:
                session.add(
                    User(
                        username="target",
                        display_name="目标",
                        role=UserRole.VIEWER,
                        password_hash=passwords.hash(TEST_PASSWORD),
                        is_active=True,
                        token_version=0,
                    )
                )
                session.commit()
            app = create_app(settings, engine=engine)

            def guess(i: int) -> int:
                with TestClient(app, raise_server_exceptions=False) as c:
                    r = c.post(
                        f"{API}/auth/token",
                        data={"username": "target", "password": f"wrong-{i}"},
                    )
                    return r.status_code

            with ThreadPoolExecutor(15) as pool:
                statuses = list(pool.map(guess, range(30)))
            assert sorted(set(statuses)) == [401, 429], statuses
            assert statuses.count(401) == 5, statuses
            with Session(engine) as session:
                entry = session.get(LoginThrottleEntry, ("user", "target"))
                assert entry is not None and entry.failures == 5 and entry.locked_until
        finally:
            engine.dispose()


def test_locks_grow_and_a_run_out_lock_allows_one_more_guess(make_app, make_user):
    app = make_app(login_max_failures_per_user=2, login_window_seconds=3600, login_lock_seconds=60)
    clock = FakeClock()
    app.state.auth.throttle.clock = clock
    make_user(UserRole.VIEWER, username="grow")
    with TestClient(app, raise_server_exceptions=False) as c:
        assert login(c, "grow", "bad").status_code == 401
        assert login(c, "grow", "bad").status_code == 401
        first = login(c, "grow", "bad")
        assert first.status_code == 429 and first.headers["Retry-After"] == "60"
        clock.now += 61
        # One more guess after the lock: wrong again, so the next lock is twice as long.
        assert login(c, "grow", "bad").status_code == 401
        second = login(c, "grow")
        assert second.status_code == 429 and second.headers["Retry-After"] == "120"
        clock.now += 121
        assert login(c, "grow").status_code == 200  # the owner gets in once it ran out


def test_an_address_lock_delays_but_does_not_shut_out_for_the_window(make_app, make_user):
    app = make_app(
        login_max_failures_per_user=100,
        login_max_failures_per_address=3,
        login_window_seconds=900,
        login_lock_seconds=30,
    )
    clock = FakeClock()
    app.state.auth.throttle.clock = clock
    make_user(UserRole.ADMIN, username="office-admin")
    with TestClient(app, raise_server_exceptions=False) as c:
        for i in range(3):
            assert login(c, f"nobody{i}", "bad").status_code == 401
        locked = login(c, "office-admin")
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) == 30
        clock.now += 31
        assert login(c, "office-admin").status_code == 200


def test_an_administrator_unlocks_an_account(make_app, make_user, token_for, db):
    app = make_app(login_max_failures_per_user=1)
    app.state.auth.throttle.clock = FakeClock()
    admin = make_user(UserRole.ADMIN)
    locked = make_user(UserRole.EDITOR, username="locked.out")
    with TestClient(app, raise_server_exceptions=False) as c:
        assert login(c, "locked.out", "bad").status_code == 401
        assert login(c, "locked.out").status_code == 429
        r = c.post(
            f"{API}/users/{locked.id}/unlock",
            headers={"Authorization": f"Bearer {token_for(admin)}"},
        )
        assert r.status_code == 204, r.text
        assert login(c, "locked.out").status_code == 200
        viewer = make_user(UserRole.VIEWER)
        r = c.post(
            f"{API}/users/{locked.id}/unlock",
            headers={"Authorization": f"Bearer {token_for(viewer)}"},
        )
        assert r.status_code == 403
        assert (
            c.post(
                f"{API}/users/999999/unlock",
                headers={"Authorization": f"Bearer {token_for(admin)}"},
            ).status_code
            == 404
        )


def test_the_command_line_unlocks_an_account_and_an_address(tmp_path, capsys):
    with fresh_database(tmp_path) as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            name = f"clerk-{uuid.uuid4().hex[:6]}"
            with Session(engine) as session:
                session.add(
                    User(username=name, display_name="x", role=UserRole.VIEWER, is_active=True)
                )
                for kind, key in (("user", name), ("address", "10.1.2.3")):
                    session.add(
                        LoginThrottleEntry(
                            kind=kind,
                            key=key,
                            window_started_at=_now(),
                            failures=9,
                            lockouts=1,
                        )
                    )
                session.commit()
            settings = settings_for_tests(url)
            for argv in (["user", "unlock", name], ["user", "unlock-address", "10.1.2.3"]):
                args = cli.build_parser().parse_args(argv)
                assert args.func(args, settings) == 0
            assert "unlocked" in capsys.readouterr().out
            with Session(engine) as session:
                assert session.scalars(select(LoginThrottleEntry)).all() == []
        finally:
            engine.dispose()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_hashing_is_capped_and_a_sign_in_that_waits_too_long_gets_503(make_app, make_user):
    app = make_app(argon2_max_concurrent=1, argon2_wait_seconds=0.2)
    make_user(UserRole.VIEWER, username="busy")
    with TestClient(app, raise_server_exceptions=False) as c:
        with app.state.auth.passwords._slot():  # another sign-in is hashing
            r = login(c, "busy")
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "urn:chaintrack:problem:busy"
        assert int(r.headers["Retry-After"]) >= 1
        assert login(c, "busy").status_code == 200  # the slot is free again


def test_an_administrator_resets_their_own_password_only_with_the_current_one(
    client, admin_user, db
):
    url = f"{API}/users/{admin_user.id}/password"
    etag = client.get(f"{API}/users/{admin_user.id}").headers["ETag"]
    r = client.post(url, json={"password": "a brand new password"}, headers={"If-Match": etag})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "current_password"
    r = client.post(
        url,
        json={"password": "a brand new password", "current_password": "not it"},
        headers={"If-Match": etag},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "current_password"
    r = client.post(
        url,
        json={"password": "a brand new password", "current_password": TEST_PASSWORD},
        headers={"If-Match": etag},
    )
    assert r.status_code == 200, r.text
