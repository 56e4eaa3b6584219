"""`chaintrack serve --demo` (the README's first command) ends with the pages at `/` and
says where to sign in."""

from __future__ import annotations

import uvicorn
from fastapi.testclient import TestClient

from chaintrack import cli
from tests.conftest import settings_for_tests


def test_serve_demo_serves_the_pages_and_says_where_to_sign_in(
    scratch_database_url, monkeypatch, capsys
):
    served = {}

    def fake_run(app, host, port, **kw):
        served["app"] = app

    monkeypatch.setattr(uvicorn, "run", fake_run)
    settings = settings_for_tests(scratch_database_url, env="development")
    args = cli.build_parser().parse_args(["serve", "--demo", "--port", "8123"])
    assert cli.cmd_serve(args, settings) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123/login" in out
    with TestClient(served["app"]) as c:
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert "登录" in c.get("/login").text
    served["app"].state.engine.dispose()
