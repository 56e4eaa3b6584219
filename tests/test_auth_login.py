"""Login, tokens, throttling, deactivation and the secret-key policy."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from chaintrack.api import create_app
from chaintrack.auth.passwords import Passwords
from chaintrack.auth.tokens import ConfigurationError, Tokens
from chaintrack.config import Settings
from chaintrack.models.enums import UserRole
from tests.conftest import TEST_PASSWORD, TEST_SECRET, settings_for_tests
from tests.problems import assert_problem

API = "/api/v1"
TOKEN_URL = f"{API}/auth/token"


def login(client: TestClient, username: str, password: str = TEST_PASSWORD):
    return client.post(TOKEN_URL, data={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_401(r, *, invalid_token: bool = False) -> dict:
    body = assert_problem(r, 401, "unauthorized")
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    assert ('error="invalid_token"' in challenge) is invalid_token
    return body


# --- signing in ------------------------------------------------------------------------


def test_login_returns_a_bearer_token_that_reads_the_api(anon_client, make_user, db):
    chain_user = make_user(UserRole.EDITOR, username="zhang.wei", display_name="张伟")
    r = login(anon_client, "Zhang.Wei")  # usernames are case-insensitive
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 480 * 60
    assert r.headers["Cache-Control"] == "no-store"
    me = anon_client.get(f"{API}/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == chain_user.id
    assert me.json()["role"] == "editor"
    assert "password_hash" not in me.text and "argon2" not in me.text
    assert anon_client.get(f"{API}/chains", headers=bearer(body["access_token"])).status_code == 200


def test_wrong_password_and_unknown_user_answer_the_same(anon_client, make_user, app, monkeypatch):
    make_user(UserRole.VIEWER, username="li.na")
    dummy_calls = []
    original = Passwords.dummy_hash

    def spy(self):
        dummy_calls.append(1)
        return original(self)

    monkeypatch.setattr(Passwords, "dummy_hash", spy)
    wrong = assert_401(login(anon_client, "li.na", "not the password"))
    assert not dummy_calls  # a known user: their own hash was verified
    unknown = assert_401(login(anon_client, "nobody.here", "whatever password"))
    assert dummy_calls  # an unknown user: a dummy hash was verified instead (same work)
    assert wrong["detail"] == unknown["detail"]
    assert_401(login(anon_client, "   ", "x"))


def test_token_endpoint_needs_the_form_fields(anon_client):
    r = anon_client.post(TOKEN_URL, data={"username": "x"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "password"


def test_inactive_user_cannot_sign_in(anon_client, make_user):
    make_user(UserRole.VIEWER, username="gone.user", is_active=False)
    assert_401(login(anon_client, "gone.user"))


def test_stored_hash_with_old_parameters_is_upgraded_at_login(anon_client, make_user, db):
    old = Passwords(time_cost=1, memory_cost=16, parallelism=1).hash(TEST_PASSWORD)
    user = make_user(UserRole.VIEWER, username="old.hash", password_hash=old)
    assert login(anon_client, "old.hash").status_code == 200
    db.refresh(user)
    assert user.password_hash != old and "m=8," in user.password_hash


# --- tokens --------------------------------------------------------------------------


def test_no_token_bad_token_expired_token(anon_client, make_user, app):
    user = make_user(UserRole.VIEWER)
    assert_401(anon_client.get(f"{API}/chains"))
    assert_401(anon_client.get(f"{API}/chains", headers=bearer("not-a-jwt")), invalid_token=True)
    forged = Tokens("another-key-" + "x" * 40, 60).issue(user.id, 0)
    assert_401(anon_client.get(f"{API}/chains", headers=bearer(forged)), invalid_token=True)
    tokens = app.state.auth.tokens
    past = dt.datetime.now(dt.UTC) - tokens.ttl - dt.timedelta(seconds=5)
    expired = tokens.issue(user.id, 0, now=past)
    body = assert_401(anon_client.get(f"{API}/chains", headers=bearer(expired)), invalid_token=True)
    assert "expired" in body["detail"]
    nearly = tokens.issue(user.id, 0, now=past + dt.timedelta(seconds=30))
    assert anon_client.get(f"{API}/chains", headers=bearer(nearly)).status_code == 200
    ghost = tokens.issue(987_654, 0)
    assert_401(anon_client.get(f"{API}/chains", headers=bearer(ghost)), invalid_token=True)


def test_token_lifetime_comes_from_settings(make_app, make_user):
    app = make_app(token_ttl_minutes=5)
    make_user(UserRole.VIEWER, username="short.ttl")
    with TestClient(app) as c:
        r = login(c, "short.ttl")
    assert r.json()["expires_in"] == 300


def test_deactivation_revokes_existing_tokens(client, client_for, make_user, db):
    user = make_user(UserRole.EDITOR)
    own = client_for(user)
    assert own.get(f"{API}/auth/me").status_code == 200
    r = client.patch(
        f"{API}/users/{user.id}", json={"is_active": False}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    assert_401(own.get(f"{API}/auth/me"), invalid_token=True)
    assert_401(login(client, user.username))
    # Re-activated: old tokens stay dead, a new sign-in works.
    r = client.patch(
        f"{API}/users/{user.id}", json={"is_active": True}, headers={"If-Match": '"2"'}
    )
    assert r.status_code == 200
    assert_401(own.get(f"{API}/auth/me"), invalid_token=True)
    assert login(client, user.username).status_code == 200


def test_deactivated_in_the_database_is_refused_too(client_for, make_user, db):
    user = make_user(UserRole.ADMIN)
    c = client_for(user)
    assert c.get(f"{API}/chains").status_code == 200
    user.is_active = False
    db.flush()
    assert_401(c.get(f"{API}/chains"), invalid_token=True)


def test_password_reset_revokes_tokens(client, client_for, make_user):
    user = make_user(UserRole.VIEWER)
    own = client_for(user)
    r = client.post(
        f"{API}/users/{user.id}/password",
        json={"password": "brand new password"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert "password" not in r.json()
    assert_401(own.get(f"{API}/auth/me"), invalid_token=True)
    assert_401(login(client, user.username))
    assert login(client, user.username, "brand new password").status_code == 200


def test_change_own_password(client_for, make_user, anon_client):
    user = make_user(UserRole.VIEWER)
    own = client_for(user)
    r = own.post(
        f"{API}/auth/password",
        json={"current_password": "wrong one", "new_password": "my new password"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "current_password"
    r = own.post(
        f"{API}/auth/password",
        json={"current_password": TEST_PASSWORD, "new_password": "short"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "new_password"
    r = own.post(
        f"{API}/auth/password",
        json={"current_password": TEST_PASSWORD, "new_password": "my new password"},
    )
    assert r.status_code == 200, r.text
    assert_401(own.get(f"{API}/auth/me"), invalid_token=True)
    fresh = r.json()["access_token"]
    assert anon_client.get(f"{API}/auth/me", headers=bearer(fresh)).status_code == 200
    assert login(anon_client, user.username, "my new password").status_code == 200


# --- throttling ------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_repeated_failures_for_one_account_are_throttled(make_app, make_user):
    app = make_app(login_max_failures_per_user=3, login_window_seconds=60)
    clock = FakeClock()
    app.state.auth.throttle.clock = clock
    make_user(UserRole.VIEWER, username="target")
    with TestClient(app, raise_server_exceptions=False) as c:
        for _ in range(3):
            assert_401(login(c, "target", "guess"))
        r = login(c, "TARGET")  # even the right password waits
        assert r.status_code == 429, r.text
        assert r.json()["type"] == "urn:chaintrack:problem:too-many-requests"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert r.json()["retry_after"] == int(r.headers["Retry-After"])
        clock.now += 61
        assert login(c, "target").status_code == 200
        # A success clears the account's failures.
        for _ in range(2):
            assert_401(login(c, "target", "guess"))
        assert login(c, "target").status_code == 200
        assert_401(login(c, "target", "guess"))
        assert login(c, "target").status_code == 200


def test_repeated_failures_from_one_address_are_throttled(make_app, make_user):
    app = make_app(login_max_failures_per_user=100, login_max_failures_per_address=4)
    app.state.auth.throttle.clock = FakeClock()
    make_user(UserRole.VIEWER, username="someone")
    with TestClient(app, raise_server_exceptions=False) as c:
        for i in range(4):
            assert_401(login(c, f"user{i}", "guess"))
        r = login(c, "someone")
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) > 0


# --- the secret key ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "   ",
        "short-but-random-Xy7",
        "change-me-change-me-change-me-change-me",
        "your-secret-key-goes-here-0123456789abcdef",
        "a" * 64,
    ],
)
def test_production_refuses_a_weak_secret(secret):
    settings = Settings(database_url="sqlite://", env="production", secret_key=secret)
    with pytest.raises(ConfigurationError, match="CHAINTRACK_SECRET_KEY"):
        create_app(settings)


def test_production_is_the_default_mode(monkeypatch):
    monkeypatch.delenv("CHAINTRACK_ENV", raising=False)
    monkeypatch.delenv("CHAINTRACK_SECRET_KEY", raising=False)
    assert Settings(database_url="sqlite://", _env_file=None).env == "production"
    with pytest.raises(ConfigurationError):
        create_app(Settings(database_url="sqlite://", _env_file=None, secret_key=""))


def test_development_mode_allows_a_missing_secret_and_a_real_secret_works():
    dev = create_app(Settings(database_url="sqlite://", env="development", secret_key=""))
    token = dev.state.auth.tokens.issue(1, 0)
    assert dev.state.auth.tokens.read(token).user_id == 1
    assert create_app(settings_for_tests("sqlite://")).state.auth is not None
    assert len(TEST_SECRET) >= 32


def test_serve_refuses_to_start_with_a_placeholder_secret(monkeypatch, capsys):
    from chaintrack import cli

    monkeypatch.setenv("CHAINTRACK_SECRET_KEY", "changeme")
    monkeypatch.setenv("CHAINTRACK_ENV", "production")
    settings = Settings(database_url="sqlite://")
    args = cli.build_parser().parse_args(["serve"])
    assert cli.cmd_serve(args, settings) == 2
    assert "CHAINTRACK_SECRET_KEY" in capsys.readouterr().err


# --- request ids and documentation -----------------------------------------------------------


def test_request_id_is_echoed_or_generated(client):
    r = client.get(f"{API}/chains", headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123"
    r = client.get(f"{API}/chains")
    assert len(r.headers["X-Request-ID"]) == 32
    r = client.get(f"{API}/chains", headers={"X-Request-ID": "bad id\twith spaces"})
    assert r.headers["X-Request-ID"] != "bad id\twith spaces"
    r = client.get(f"{API}/nothing-here")
    assert r.headers["X-Request-ID"]


def test_openapi_has_the_authorize_flow(anon_client):
    spec = anon_client.get("/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == TOKEN_URL
    post = spec["paths"]["/api/v1/projects"]["post"]
    assert post["security"] == [{"OAuth2PasswordBearer": []}]
    assert {"401", "403"} <= set(post["responses"])
    assert "Permission" in post["description"]
    assert "security" not in spec["paths"][TOKEN_URL]["post"]
    assert anon_client.get("/docs").status_code == 200


def test_reports_check_the_account_in_their_own_trip(client_for, make_user, db, monkeypatch):
    """The report endpoints confirm the account inside their worker-thread trip
    (auth.deps.signed_in_reader); a deactivated account or a replaced token version is
    refused there exactly as everywhere else."""
    import chaintrack.auth.deps as auth_deps

    trips: list[str] = []
    real = auth_deps.run_in_threadpool

    async def counting(fn, *args, **kwargs):  # the separate account check, if it ran
        trips.append(getattr(fn, "__name__", "?"))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(auth_deps, "run_in_threadpool", counting)
    user = make_user(UserRole.VIEWER)
    c = client_for(user)
    assert c.get(f"{API}/reports/dashboard").status_code == 200
    assert trips == []  # checked in the report's own trip, not a trip of its own
    user.token_version += 1
    db.flush()
    assert_401(c.get(f"{API}/reports/dashboard"), invalid_token=True)
    user.token_version -= 1
    user.is_active = False
    db.flush()
    assert_401(c.get(f"{API}/reports/dashboard"), invalid_token=True)
    assert_401(client_for(None).get(f"{API}/reports/dashboard"))


def test_an_unmarked_endpoint_under_signed_in_reader_gets_the_whole_check(
    client_for, make_user, db, app
):
    """A route added to the reports router without checks_account_in_work still has its
    account checked, before it runs."""
    from fastapi import APIRouter, Depends

    from chaintrack.auth.deps import signed_in_reader

    extra = APIRouter()

    @extra.get("/unmarked-probe")
    async def probe() -> dict[str, bool]:
        return {"ok": True}

    routes = list(app.router.routes)
    app.include_router(extra, prefix=API, dependencies=[Depends(signed_in_reader)])
    try:
        user = make_user(UserRole.VIEWER)
        c = client_for(user)
        assert c.get(f"{API}/unmarked-probe").status_code == 200
        user.is_active = False
        db.flush()
        assert_401(c.get(f"{API}/unmarked-probe"), invalid_token=True)
    finally:
        app.router.routes[:] = routes  # the app is shared by the session's tests
