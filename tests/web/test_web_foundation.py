"""Sign-in, the cookie session, CSRF, error pages, assets and the API docs."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from chaintrack.models import AuditRecord
from chaintrack.web.session import CSRF_COOKIE, SESSION_COOKIE
from tests.conftest import TEST_PASSWORD
from tests.web.conftest import CSRF, external_refs


def _csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def test_root_without_session_goes_to_sign_in(anon_page):
    r = anon_page.get("/")
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    r = anon_page.get("/overview?period=2025-01")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Foverview%3Fperiod%3D2025-01"


def test_sign_in_sets_a_safe_cookie_and_returns_to_the_page_wanted(app, admin_user):
    with TestClient(app, raise_server_exceptions=False) as c:
        page = c.get("/login?next=/overview")
        assert page.status_code == 200
        assert "登录" in page.text
        token = _csrf_from(page.text)
        csrf_cookie = page.headers["set-cookie"]
        assert CSRF_COOKIE in csrf_cookie and "HttpOnly" in csrf_cookie
        assert "SameSite=Lax" in csrf_cookie and "Secure" not in csrf_cookie
        r = c.post(
            "/login",
            data={
                "username": admin_user.username,
                "password": TEST_PASSWORD,
                "next": "/overview",
                "csrf_token": token,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/overview"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(SESSION_COOKIE + "=")
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        home = c.get("/", follow_redirects=False)
        assert home.status_code == 200
        assert "工作台" in home.text and admin_user.display_name in home.text
        # API writes do not accept the cookie (a cross-site form could not act through
        # it); reads do, for the downloads the pages link to
        assert c.get("/api/v1/auth/me").status_code == 200
        r = c.post(
            "/api/v1/auth/password",
            json={"current_password": TEST_PASSWORD, "new_password": "another good one"},
        )
        assert r.status_code == 401
        out = c.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert out.status_code == 303
        assert c.get("/", follow_redirects=False).status_code == 303


def test_cookie_is_secure_over_https(app, admin_user):
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        page = c.get("/login")
        assert "Secure" in page.headers["set-cookie"]
        r = c.post(
            "/login",
            data={
                "username": admin_user.username,
                "password": TEST_PASSWORD,
                "csrf_token": _csrf_from(page.text),
            },
            follow_redirects=False,
        )
        assert "Secure" in r.headers["set-cookie"]


def test_wrong_password_is_shown_and_throttled_like_the_api(app, admin_user):
    with TestClient(app, raise_server_exceptions=False) as c:
        token = _csrf_from(c.get("/login").text)
        statuses = []
        for _ in range(app.state.settings.login_max_failures_per_user + 1):
            r = c.post(
                "/login",
                data={"username": admin_user.username, "password": "wrong", "csrf_token": token},
            )
            statuses.append(r.status_code)
        assert (
            statuses[0] == 401
            and "用户名或密码错误"
            in c.post("/login", data={"username": "x", "password": "y", "csrf_token": token}).text
        )
        assert statuses[-1] == 429
        assert "Retry-After" in r.headers


def test_login_without_csrf_is_refused(app, admin_user):
    with TestClient(app, raise_server_exceptions=False) as c:
        c.get("/login")
        r = c.post(
            "/login",
            data={"username": admin_user.username, "password": TEST_PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 403
        assert "CSRF" in r.text
        assert SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_idle_session_expires_to_sign_in(app, admin_user):
    web = app.state.web_tokens
    import datetime as dt

    old = web.issuer.issue(
        admin_user.id, admin_user.token_version, now=dt.datetime.now(dt.UTC) - 2 * web.idle
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        c.cookies.set(SESSION_COOKIE, old)
        r = c.get("/overview", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=%2Foverview"


def test_active_session_slides(app, admin_user):
    import datetime as dt

    web = app.state.web_tokens
    older = web.issuer.issue(
        admin_user.id, admin_user.token_version, now=dt.datetime.now(dt.UTC) - web.idle / 2
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        c.cookies.set(SESSION_COOKIE, older)
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 200
        assert SESSION_COOKIE + "=" in r.headers.get("set-cookie", "")


def test_error_pages_are_chinese_with_a_way_back(admin_page):
    r = admin_page.get("/no-such-page")
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]
    assert "页面或记录不存在" in r.text and 'href="/"' in r.text
    r = admin_page.get("/overview?period=2025-13")
    assert r.status_code == 422 and "输入有误" in r.text


def test_api_errors_stay_problem_json(client):
    r = client.get("/api/v1/chains/999999")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_post_without_csrf_is_refused_and_writes_nothing(admin_page, db):
    before = db.scalar(select(func.count()).select_from(AuditRecord))
    r = admin_page.post_form("/logout", csrf=False)
    assert r.status_code == 403
    r = admin_page.client.post(
        "/logout", data={"csrf_token": "forged-" + CSRF}, follow_redirects=False
    )
    assert r.status_code == 403
    assert db.scalar(select(func.count()).select_from(AuditRecord)) == before


def test_static_assets_are_served_with_cache_headers(anon_page):
    for path in (
        "/static/app.css",
        "/static/app.js",
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/echarts/echarts.min.js",
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/redoc/redoc.standalone.js",
    ):
        r = anon_page.get(path)
        assert r.status_code == 200, path
        assert "max-age" in r.headers["cache-control"]
        again = anon_page.get(path, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304


def test_docs_use_local_assets_only(anon_page):
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        r = anon_page.get(path)
        assert r.status_code == 200
        assert not external_refs(r.text), (path, external_refs(r.text))
    docs = anon_page.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
    assert "/static/vendor/redoc/redoc.standalone.js" in anon_page.get("/redoc").text
    assert "fonts.googleapis" not in anon_page.get("/redoc").text


def test_conflict_and_stale_pages_are_chinese(app, admin_page, monkeypatch):
    """409 and 412 raised by a service on a page become Chinese pages with a way back
    (the API's handlers decide the status; the page wrapper renders it)."""
    from chaintrack.errors import Conflict, PreconditionFailed
    from chaintrack.web import pages_home

    for problem, status, title in (
        (Conflict("duplicate"), 409, "与现有数据冲突"),
        (PreconditionFailed("stale"), 412, "数据已被他人修改"),
    ):

        def boom(*args, problem=problem, **kwargs):
            raise problem

        monkeypatch.setattr(pages_home, "build_dashboard", boom)
        r = admin_page.get("/", headers={"Referer": "http://testserver/chains"})
        assert r.status_code == status
        assert title in r.text and 'href="/chains"' in r.text and 'href="/"' in r.text
