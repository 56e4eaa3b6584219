"""企业 pages: search, register (errors in place, nothing written), edit with a stale form."""

from __future__ import annotations

from sqlalchemy import func, select

from chaintrack.identifiers import make_uscc
from chaintrack.models import AuditRecord, Enterprise
from chaintrack.models.enums import UserRole
from tests.factories import fake_uscc, make_chain, make_enterprise


def _wrong_check(code: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    last = code[-1]
    return code[:-1] + alphabet[(alphabet.index(last) + 1) % len(alphabet)]


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_search_page_renders_for_every_role(db, page_for, make_user):
    make_enterprise(db, name="烟台页面测试新材料有限公司")
    for role in UserRole:
        page = page_for(make_user(role))
        r = page.get("/enterprises?q=页面测试")
        assert r.status_code == 200, (role, r.text[:300])
        assert "烟台页面测试新材料有限公司" in r.text
        # Viewers and reporters (issue 16) do not register enterprises.
        assert ("登记企业" in r.text) is (role in (UserRole.ADMIN, UserRole.EDITOR))


def test_live_uscc_check_uses_the_identifier_rules(admin_page, db):
    good = fake_uscc()
    r = admin_page.get(f"/enterprises/check-uscc?uscc={good}")
    assert "校验通过" in r.text
    r = admin_page.get(f"/enterprises/check-uscc?uscc={_wrong_check(good)}")
    assert "bad" in r.text and "校验" in r.text
    ent = make_enterprise(db)
    r = admin_page.get(f"/enterprises/check-uscc?uscc={ent.uscc}")
    assert "已登记" in r.text and f"/enterprises/{ent.id}" in r.text


def test_register_shows_errors_in_place_and_writes_nothing(admin_page, db):
    good = make_uscc("91370600MA3" + "C7Y8K1")
    before = (_count(db, Enterprise), _count(db, AuditRecord))
    r = admin_page.post_form(
        "/enterprises/new",
        {"uscc": _wrong_check(good), "name": "页面登记测试有限公司", "region_code": "370600"},
    )
    assert r.status_code == 422
    assert 'id="e-uscc"' in r.text and "校验" in r.text.split('id="e-uscc"')[1][:300]
    assert 'value="页面登记测试有限公司"' in r.text  # what the clerk typed is kept
    assert (_count(db, Enterprise), _count(db, AuditRecord)) == before
    r = admin_page.post_form(
        "/enterprises/new", {"uscc": good, "name": "页面登记测试有限公司", "region_code": "370600"}
    )
    assert r.status_code == 303, r.text
    ent = db.scalar(select(Enterprise).where(Enterprise.uscc == good))
    assert ent is not None and r.headers["location"] == f"/enterprises/{ent.id}?saved=1"
    page = admin_page.get(r.headers["location"])
    assert "已保存" in page.text and good in page.text
    # the same code again: a conflict shown on the form
    r = admin_page.post_form(
        "/enterprises/new", {"uscc": good, "name": "另一家", "region_code": "370600"}
    )
    assert r.status_code == 422 and "已登记" in r.text


def test_missing_fields_are_named(admin_page):
    r = admin_page.post_form("/enterprises/new", {"uscc": "", "name": ""})
    assert r.status_code == 422
    assert r.text.count('class="field has-error"') >= 2


def test_viewer_sees_no_edit_controls_and_a_forged_post_is_403(viewer_page, db):
    ent = make_enterprise(db)
    page = viewer_page.get(f"/enterprises/{ent.id}")
    assert page.status_code == 200
    assert f"/enterprises/{ent.id}/edit" not in page.text
    before = _count(db, AuditRecord)
    r = viewer_page.post_form(
        f"/enterprises/{ent.id}/edit", {"uscc": ent.uscc, "name": "伪造", "region_code": "370600"}
    )
    assert r.status_code == 403 and "没有权限" in r.text
    assert _count(db, AuditRecord) == before


def test_stale_edit_shows_the_current_values(admin_page, db):
    ent = make_enterprise(db, name="原名有限公司")
    form = admin_page.get(f"/enterprises/{ent.id}/edit")
    assert 'name="etag" value="&#34;1&#34;"' in form.text  # the ETag travels in the form
    # someone else saves first
    ent.name = "他人改名有限公司"
    db.flush()
    r = admin_page.post_form(
        f"/enterprises/{ent.id}/edit",
        {
            "uscc": ent.uscc,
            "name": "我的改名有限公司",
            "region_code": ent.region_code,
            "etag": '"1"',
        },
    )
    assert r.status_code == 412
    assert "已被他人修改" in r.text and 'value="他人改名有限公司"' in r.text
    db.refresh(ent)
    assert ent.name == "他人改名有限公司"
    r = admin_page.post_form(
        f"/enterprises/{ent.id}/edit",
        {
            "uscc": ent.uscc,
            "name": "我的改名有限公司",
            "region_code": ent.region_code,
            "etag": f'"{ent.version}"',
        },
    )
    assert r.status_code == 303
    db.refresh(ent)
    assert ent.name == "我的改名有限公司"


def test_enterprise_page_shows_memberships(admin_page, db):
    from tests.factories import make_membership

    chain = make_chain(db)
    ent = make_enterprise(db)
    make_membership(db, ent, chain)
    r = admin_page.get(f"/enterprises/{ent.id}")
    assert r.status_code == 200 and chain.name_zh in r.text
    assert admin_page.get("/enterprises/99999999").status_code == 404
