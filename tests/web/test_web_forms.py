"""Page forms on chains and projects: written through the services, errors in place,
nothing written on failure, stale forms shown with the current values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from chaintrack.history import office_today
from chaintrack.models import (
    AuditRecord,
    ListEntry,
    MapNode,
    Membership,
    ProgressReport,
    Project,
    ProjectTarget,
)
from chaintrack.models.enums import Assessment, ProjectStatus, UserRole
from tests.factories import make_enterprise, make_node, make_project
from tests.web.world import build_world, previous_month


def _audits(db) -> int:
    return db.scalar(select(func.count()).select_from(AuditRecord))


def test_add_and_reassess_a_node(db, admin_page):
    w = build_world(db)
    c = w.chain.id
    r = admin_page.post_form(
        f"/chains/{c}/nodes",
        {
            "code": "NEW-1",
            "name_zh": "新增环节",
            "kind": "segment",
            "stage": "upstream",
            "assessment": "missing",
            "gap_kind": "supply",
        },
    )
    assert r.status_code == 303, r.text[:500]
    node = db.scalar(select(MapNode).where(MapNode.chain_id == c, MapNode.code == "NEW-1"))
    assert node is not None and node.assessment is Assessment.MISSING
    # duplicate code: the error beside the field, nothing written
    before = _audits(db)
    r = admin_page.post_form(
        f"/chains/{c}/nodes",
        {"code": "NEW-1", "name_zh": "重复", "kind": "segment", "stage": "upstream"},
    )
    assert r.status_code == 422 and 'value="重复"' in r.text
    assert _audits(db) == before
    # gap kind on a strong node is refused by the service's rule
    r = admin_page.post_form(
        f"/nodes/{node.id}/assess",
        {"assessment": "strong", "gap_kind": "supply", "etag": f'"{node.version}"'},
    )
    assert r.status_code == 422 and 'id="panel-e-gap_kind"' in r.text
    assert "缺口" in r.text.split('id="panel-e-gap_kind"')[1][:200]
    r = admin_page.post_form(
        f"/nodes/{node.id}/assess", {"assessment": "strong", "etag": f'"{node.version}"'}
    )
    assert r.status_code == 303
    db.refresh(node)
    assert node.assessment is Assessment.STRONG and node.gap_kind is None
    # a stale form
    r = admin_page.post_form(f"/nodes/{node.id}/assess", {"assessment": "weak", "etag": '"1"'})
    assert r.status_code == 422 and "已被他人修改" in r.text
    db.refresh(node)
    assert node.assessment is Assessment.STRONG


def test_node_panel_lists_what_sits_on_the_node(db, admin_page):
    w = build_world(db)
    r = admin_page.get(f"/chains/{w.chain.id}/map/nodes/{w.nodes[0].id}")
    assert w.enterprises[0].name in r.text
    assert "条目0" in r.text
    other = build_world(db)
    r = admin_page.get(f"/chains/{w.chain.id}/map/nodes/{other.nodes[0].id}")
    assert r.status_code in (404, 422) and "text/html" in r.headers["content-type"]


def test_register_an_enterprise_to_a_node(db, admin_page):
    w = build_world(db)
    ent = make_enterprise(db)
    url = f"/chains/{w.chain.id}/memberships"
    before = _audits(db)
    r = admin_page.post_form(
        url, {"uscc": "91370100MA00000000", "role": "supporting", "started_on": "2025-01-01"}
    )
    assert r.status_code == 422 and 'id="e-uscc"' in r.text
    assert _audits(db) == before
    r = admin_page.post_form(
        url,
        {
            "uscc": ent.uscc,
            "node_id": str(w.nodes[1].id),
            "role": "supporting",
            "started_on": "2025-01-01",
        },
    )
    assert r.status_code == 303, r.text[:500]
    m = db.scalar(select(Membership).where(Membership.enterprise_id == ent.id))
    assert m is not None and m.node_id == w.nodes[1].id


def test_an_editor_may_not_reference_another_chains_node(db, make_user, page_for):
    w, other = build_world(db), build_world(db)
    editor = page_for(make_user(UserRole.EDITOR, chains=[w.chain]))
    r = editor.post_form(
        f"/chains/{w.chain.id}/projects/new",
        {
            "name": "越权项目",
            "type": "fill",
            "region_code": "370600",
            "total_investment": "100",
            "target_node_ids": str(other.nodes[0].id),
        },
    )
    assert r.status_code == 403
    r = editor.post_form(
        f"/chains/{other.chain.id}/projects/new",
        {"name": "越权项目", "type": "fill", "region_code": "370600", "total_investment": "100"},
    )
    assert r.status_code == 403


def test_create_a_fill_project(db, make_user, page_for):
    w = build_world(db)
    editor = page_for(make_user(UserRole.EDITOR, chains=[w.chain]))
    url = f"/chains/{w.chain.id}/projects/new"
    before = _audits(db)
    r = editor.post_form(
        url, {"name": "补链项目", "type": "fill", "region_code": "370600", "total_investment": "-5"}
    )
    assert r.status_code == 422 and 'id="e-total_investment"' in r.text
    assert _audits(db) == before
    r = editor.client.post(
        url,
        data={
            "name": "补链项目",
            "type": "fill",
            "region_code": "370600",
            "total_investment": "5000",
            "owner_uscc": w.enterprises[0].uscc,
            "target_node_ids": [str(w.nodes[2].id), str(w.nodes[1].id)],
            "csrf_token": "test-csrf-token-0123456789abcdef",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    project = db.scalar(select(Project).where(Project.name == "补链项目"))
    assert project.owner_enterprise_id == w.enterprises[0].id
    targets = set(
        db.scalars(select(ProjectTarget.node_id).where(ProjectTarget.project_id == project.id))
    )
    assert targets == {w.nodes[1].id, w.nodes[2].id}
    page = editor.get(r.headers["location"])
    assert "补链项目" in page.text and "已保存" in page.text


def test_status_buttons_are_the_allowed_transitions(db, admin_page):
    w = build_world(db)
    project = make_project(db, w.chain, status=ProjectStatus.PLANNED)
    page = admin_page.get(f"/projects/{project.id}")
    buttons = set(__import__("re").findall(r'name="to_status" value="(\w+)"', page.text))
    from chaintrack.projects.lifecycle import allowed_next

    assert buttons == {s.value for s in allowed_next(ProjectStatus.PLANNED)}
    r = admin_page.post_form(
        f"/projects/{project.id}/transition",
        {"to_status": "signed", "changed_on": office_today().isoformat(), "etag": '"1"'},
    )
    assert r.status_code == 303, r.text[:400]
    db.refresh(project)
    assert project.status is ProjectStatus.SIGNED
    # a forbidden transition (crafted) is a 409 page... shown on the form
    r = admin_page.post_form(
        f"/projects/{project.id}/transition",
        {
            "to_status": "planned",
            "changed_on": office_today().isoformat(),
            "etag": f'"{project.version}"',
        },
    )
    assert r.status_code == 422 and "不能从" in r.text


def test_submit_two_months_and_correct_one(db, admin_page):
    w = build_world(db)
    project = make_project(db, w.chain)
    url = f"/projects/{project.id}/progress"
    today = office_today()
    months = [previous_month(today.replace(day=1) - dt.timedelta(days=1)), previous_month(today)]
    for i, month in enumerate(months):
        r = admin_page.post_form(url, {"period": month, "investment_month": str(100 * (i + 1))})
        assert r.status_code == 303, r.text[:500]
    # the same month again without the correction form: said beside the period field
    r = admin_page.post_form(url, {"period": months[1], "investment_month": "1"})
    assert r.status_code == 409 and "更正" in r.text
    form = admin_page.get(f"/projects/{project.id}/progress/{months[1]}/correct")
    assert 'name="etag" value="&#34;1&#34;"' in form.text
    # no reason: in place, nothing written
    before = db.scalar(select(func.count()).select_from(ProgressReport))
    r = admin_page.post_form(url, {"period": months[1], "investment_month": "250", "etag": '"1"'})
    assert r.status_code == 422 and "更正原因" in r.text
    assert db.scalar(select(func.count()).select_from(ProgressReport)) == before
    r = admin_page.post_form(
        url,
        {
            "period": months[1],
            "investment_month": "250",
            "etag": '"1"',
            "correction_reason": "财务核对",
        },
    )
    assert r.status_code == 303, r.text[:500]
    current = db.scalar(
        select(ProgressReport).where(
            ProgressReport.project_id == project.id,
            ProgressReport.period == months[1],
            ProgressReport.superseded_at.is_(None),
        )
    )
    assert current.revision == 2 and current.investment_month == Decimal("250")
    # a second clerk's stale correction: told so, shown the current figures
    r = admin_page.post_form(
        url,
        {
            "period": months[1],
            "investment_month": "999",
            "etag": '"1"',
            "correction_reason": "迟到的更正",
        },
    )
    assert r.status_code == 412 and "已被他人更正" in r.text and 'value="250' in r.text


def test_add_a_list_entry_from_the_declared_fields(db, admin_page):
    w = build_world(db)
    url = f"/lists/{w.chain_list.id}/entries/new"
    before = _audits(db)
    r = admin_page.post_form(url, {"attr.note": "只有备注"})
    assert r.status_code == 422 and 'id="e-title"' in r.text
    assert _audits(db) == before
    r = admin_page.post_form(url, {"title": "新条目", "attr.note": "重点"})
    assert r.status_code == 303, r.text[:400]
    entry = db.scalar(select(ListEntry).where(ListEntry.title == "新条目"))
    assert entry.attributes == {"note": "重点"}


def test_viewer_forged_posts_are_403_and_write_nothing(db, viewer_page):
    w = build_world(db)
    node = make_node(db, w.chain)
    before = _audits(db)
    posts = [
        (
            f"/chains/{w.chain.id}/nodes",
            {"code": "X", "name_zh": "X", "kind": "segment", "stage": "upstream"},
        ),
        (f"/nodes/{node.id}/assess", {"assessment": "weak", "etag": '"1"'}),
        (f"/chains/{w.chain.id}/projects/new", {"name": "X"}),
        (f"/projects/{w.projects[0].id}/progress", {"period": "2025-01", "investment_month": "1"}),
        (f"/projects/{w.projects[0].id}/transition", {"to_status": "suspended"}),
        ("/enterprises/new", {"uscc": "X"}),
        (f"/lists/{w.chain_list.id}/entries/new", {"title": "X"}),
        ("/imports/register", {"entity": "enterprises"}),
    ]
    for url, data in posts:
        r = viewer_page.post_form(url, data)
        assert r.status_code == 403, (url, r.status_code)
        assert "没有权限" in r.text
    assert _audits(db) == before


def test_page_posts_without_csrf_are_refused(db, admin_page):
    w = build_world(db)
    before = _audits(db)
    r = admin_page.post_form(
        f"/chains/{w.chain.id}/nodes",
        {"code": "CSRF", "name_zh": "X", "kind": "segment", "stage": "upstream"},
        csrf=False,
    )
    assert r.status_code == 403 and "CSRF" in r.text
    assert _audits(db) == before


def test_edit_and_remove_a_list_entry(db, admin_page):
    w = build_world(db)
    entry = db.scalar(select(ListEntry).where(ListEntry.list_id == w.chain_list.id))
    page = admin_page.get(f"/chains/{w.chain.id}/lists?list_id={w.chain_list.id}&edit={entry.id}")
    assert f'action="/list-entries/{entry.id}/edit"' in page.text
    assert f'value="{entry.title}"' in page.text
    r = admin_page.post_form(
        f"/list-entries/{entry.id}/edit", {"title": "", "attr.note": "改", "etag": '"1"'}
    )
    assert r.status_code == 422 and 'id="e-title"' in r.text
    r = admin_page.post_form(
        f"/list-entries/{entry.id}/edit", {"title": "改名条目", "attr.note": "改", "etag": '"1"'}
    )
    assert r.status_code == 303, r.text[:400]
    db.refresh(entry)
    assert entry.title == "改名条目" and entry.attributes == {"note": "改"}
    # a stale edit and a stale delete change nothing
    r = admin_page.post_form(f"/list-entries/{entry.id}/edit", {"title": "晚了", "etag": '"1"'})
    assert r.status_code == 412 and 'value="改名条目"' in r.text
    r = admin_page.post_form(f"/list-entries/{entry.id}/delete", {"etag": '"1"'})
    assert r.status_code == 412
    r = admin_page.post_form(f"/list-entries/{entry.id}/delete", {"etag": f'"{entry.version}"'})
    assert r.status_code == 303
    gone = select(func.count()).select_from(ListEntry).where(ListEntry.id == entry.id)
    assert db.scalar(gone) == 0
