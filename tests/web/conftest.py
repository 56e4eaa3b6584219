"""Page tests: TestClients signed in through the cookie session's bearer path, with a
known CSRF token (the double-submit cookie and the form field)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from chaintrack.models.enums import UserRole
from chaintrack.web.session import CSRF_COOKIE, CSRF_FIELD

CSRF = "test-csrf-token-0123456789abcdef"


class PageClient:
    """A TestClient for pages: ``post_form`` adds the CSRF token unless told not to."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        client.cookies.set(CSRF_COOKIE, CSRF)

    def get(self, url: str, **kw):
        return self.client.get(url, follow_redirects=False, **kw)

    def post_form(self, url: str, data: dict | None = None, *, csrf: bool = True, **kw):
        body = dict(data or {})
        if csrf:
            body[CSRF_FIELD] = CSRF
        return self.client.post(url, data=body, follow_redirects=False, **kw)


@pytest.fixture
def page_for(client_for):
    def _make(user) -> PageClient:
        return PageClient(client_for(user))

    return _make


@pytest.fixture
def admin_page(page_for, admin_user) -> PageClient:
    return page_for(admin_user)


@pytest.fixture
def viewer_page(page_for, make_user) -> PageClient:
    return page_for(make_user(UserRole.VIEWER))


@pytest.fixture
def anon_page(app) -> Iterator[PageClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield PageClient(c)


EXTERNAL = re.compile(r"""(?:src|href|action|url\()\s*=?\s*["']?(https?:)?//""", re.I)


def external_refs(html: str) -> list[str]:
    return [m.group(0) for m in EXTERNAL.finditer(html)]
