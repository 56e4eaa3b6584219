"""Every page renders for every role; viewers see no edit controls; statement counts are
bounded (the same at two data sizes); no page references an external URL."""

from __future__ import annotations

import re

import pytest

from chaintrack.models.enums import UserRole
from tests.web.conftest import external_refs
from tests.web.world import build_world, page_urls

EDIT_MARKERS = (
    'method="post" action="/chains',
    'action="/projects/',
    'action="/nodes/',
    'action="/lists/',
    'action="/enterprises/',
    'action="/imports/',
)


@pytest.mark.parametrize("role", ["admin", "editor", "other_editor", "viewer"])
def test_pages_render_for_every_role(db, make_user, page_for, role):
    w = build_world(db)
    user = {
        "admin": lambda: make_user(UserRole.ADMIN),
        "editor": lambda: make_user(UserRole.EDITOR, chains=[w.chain]),
        "other_editor": lambda: make_user(UserRole.EDITOR),
        "viewer": lambda: make_user(UserRole.VIEWER),
    }[role]()
    page = page_for(user)
    for url in page_urls(w):
        r = page.get(url)
        assert r.status_code == 200, (url, r.status_code, r.text[:400])
        assert r.headers["content-type"].startswith("text/html")
        assert not external_refs(r.text), (url, external_refs(r.text))
        ids = re.findall(r'\sid="([^"]+)"', r.text)
        assert len(ids) == len(set(ids)), (url, sorted({i for i in ids if ids.count(i) > 1}))
        chain_page = url.startswith(("/chains/", "/projects/")) and url != "/chains"
        has_edit = any(m in r.text for m in EDIT_MARKERS)
        if role in ("viewer", "other_editor") and chain_page:
            assert not has_edit, (role, url)
    if role == "viewer":
        assert "/imports/register" not in page.get("/imports").text
    if role == "editor":
        assert 'action="/chains/' in page.get(f"/chains/{w.chain.id}/projects").text
        assert 'action="/projects/' in page.get(f"/projects/{w.projects[0].id}").text


def test_admin_pages_are_for_administrators(db, make_user, page_for, admin_page):
    build_world(db)
    for url in ("/admin/users", "/admin/audit", "/admin/audit?action=create&date_from=2020-01-01"):
        assert admin_page.get(url).status_code == 200, url
    assert "管理" in admin_page.get("/").text
    for role in (UserRole.EDITOR, UserRole.VIEWER):
        page = page_for(make_user(role))
        r = page.get("/admin/audit")
        assert r.status_code == 403 and "没有权限" in r.text
        assert 'href="/admin"' not in page.get("/").text


def test_audit_page_shows_before_and_after(db, admin_page):
    w = build_world(db)
    ent = w.enterprises[0]
    r = admin_page.post_form(
        f"/enterprises/{ent.id}/edit",
        {
            "uscc": ent.uscc,
            "name": "审计前后有限公司",
            "region_code": ent.region_code,
            "etag": f'"{ent.version}"',
        },
    )
    assert r.status_code == 303
    page = admin_page.get("/admin/audit?entity=enterprises&action=update")
    assert "审计前后有限公司" in page.text and ent.name in page.text


def _count(db, page, url, count_statements) -> int:
    with count_statements() as c:
        r = page.get(url)
    assert r.status_code == 200, (url, r.text[:300])
    return c.count


def test_statement_counts_do_not_grow_with_the_data(db, admin_page, count_statements):
    small, large = build_world(db, size=1), build_world(db, size=4)
    for a, b in zip(page_urls(small), page_urls(large), strict=True):
        n_small = _count(db, admin_page, a, count_statements)
        n_large = _count(db, admin_page, b, count_statements)
        assert n_small == n_large, (a, n_small, n_large)
        assert n_large < 40, (b, n_large)


def test_pages_404_in_chinese(admin_page):
    for url in ("/chains/99999999/map", "/projects/99999999", "/enterprises/99999999"):
        r = admin_page.get(url)
        assert r.status_code == 404 and "不存在" in r.text, url
