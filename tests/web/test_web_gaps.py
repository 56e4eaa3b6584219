"""Issue 14's remaining page gaps: the map version diff drawn on the picture, moving
nodes and reordering list entries, user administration, the import page's sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from chaintrack.maps.versions import publish
from chaintrack.models import (
    AuditRecord,
    Chain,
    EditorAssignment,
    ListEntry,
    LoginThrottleEntry,
    Problem,
    ProgressReport,
    ProjectStatusChange,
    ReporterScope,
    User,
)
from chaintrack.models.base import utcnow
from chaintrack.models.enums import Assessment, ProjectStatus, UserRole
from chaintrack.reports.window import Window
from tests.factories import make_chain, make_node, make_report
from tests.factories import make_project as make_project_
from tests.web.world import build_world


def _audits(db) -> int:
    return db.scalar(select(func.count()).select_from(AuditRecord))


def _tag(html: str, node_id: int) -> str:
    """The opening tag of a node's button on the picture."""
    return html.split(f'id="node-{node_id}"')[1].split(">", 1)[0]


def test_map_diff_between_two_versions_is_drawn_on_the_picture(db, admin_page):
    w = build_world(db)
    c = w.chain.id
    gone, kept = make_node(db, w.chain, name_zh="将删除环节"), w.nodes[2]
    publish(db, c, {"label": "1.0"})
    db.delete(gone)
    kept.assessment = Assessment.STRONG
    added = make_node(db, w.chain, name_zh="新增环节甲")
    db.flush()
    publish(db, c, {"label": "2.0"})
    page = admin_page.get(f"/chains/{c}/map")
    assert 'id="diff-picker"' in page.text and 'name="diff_from"' in page.text
    assert 'id="diff-summary"' not in page.text
    r = admin_page.get(f"/chains/{c}/map?diff_from=1&version=2")
    assert r.status_code == 200, r.text[:500]
    html = r.text
    assert 'id="diff-summary"' in html and "新增 1" in html and "删除 1" in html
    added_tag = _tag(html, added.id)
    assert "diff-added" in added_tag
    kept_tag = _tag(html, kept.id)
    assert "diff-reassessed" in kept_tag and "diff-added" not in kept_tag
    assert f'id="removed-{gone.id}"' in html and gone.name_zh in html
    untouched = _tag(html, w.nodes[1].id)
    assert "diff-" not in untouched
    # against the live map: a node added since 2.0
    later = make_node(db, w.chain, name_zh="再新增")
    live = admin_page.get(f"/chains/{c}/map?diff_from=2").text
    assert "diff-added" in _tag(live, later.id)
    assert "当前图谱" in live.split('id="diff-summary"')[1][:300]
    # an unknown version is an error, not a crash
    assert admin_page.get(f"/chains/{c}/map?diff_from=9").status_code == 422


def test_move_a_node_and_a_stale_move_form(db, admin_page):
    w = build_world(db)
    node, parent = w.nodes[1], w.nodes[0]
    panel = admin_page.get(f"/chains/{w.chain.id}/map/nodes/{node.id}").text
    assert f'action="/nodes/{node.id}/move"' in panel and 'name="position"' in panel
    r = admin_page.post_form(
        f"/nodes/{node.id}/move",
        {"parent_id": str(parent.id), "position": "7", "etag": f'"{node.version}"'},
    )
    assert r.status_code == 303, r.text[:500]
    db.refresh(node)
    assert node.parent_id == parent.id and node.position == 7
    # a cycle is refused by the service, beside the form; nothing written
    before = _audits(db)
    r = admin_page.post_form(
        f"/nodes/{parent.id}/move", {"parent_id": str(node.id), "etag": f'"{parent.version}"'}
    )
    assert r.status_code == 422 and 'id="move-f-parent_id"' in r.text
    assert _audits(db) == before
    # another chain's node as parent: 404/422, never moved
    foreign = make_node(db, make_chain(db))
    r = admin_page.post_form(
        f"/nodes/{node.id}/move", {"parent_id": str(foreign.id), "etag": f'"{node.version}"'}
    )
    assert r.status_code in (403, 404, 422)
    db.refresh(node)
    assert node.parent_id == parent.id
    # stale: the form shows the current position, nothing overwritten
    r = admin_page.post_form(f"/nodes/{node.id}/move", {"position": "1", "etag": '"1"'})
    assert r.status_code == 412 and "已被他人修改" in r.text
    assert 'id="move-f-position" name="position" type="number" min="0" value="7"' in r.text
    db.refresh(node)
    assert node.position == 7 and node.parent_id == parent.id
    # back to the top level
    r = admin_page.post_form(f"/nodes/{node.id}/move", {"etag": f'"{node.version}"'})
    assert r.status_code == 303
    db.refresh(node)
    assert node.parent_id is None


def test_reorder_a_list_entry(db, admin_page):
    w = build_world(db)
    first, second = db.scalars(
        select(ListEntry).where(ListEntry.list_id == w.chain_list.id).order_by(ListEntry.position)
    ).all()[:2]
    url = f"/chains/{w.chain.id}/lists?list_id={w.chain_list.id}"
    assert admin_page.get(url).text.index(first.title) < admin_page.get(url).text.index(
        second.title
    )
    form = admin_page.get(f"{url}&edit={first.id}").text
    assert 'name="position"' in form
    r = admin_page.post_form(
        f"/list-entries/{first.id}/edit",
        {"title": first.title, "position": "99", "etag": f'"{first.version}"'},
    )
    assert r.status_code == 303, r.text[:500]
    db.refresh(first)
    assert first.position == 99
    html = admin_page.get(url).text
    assert html.index(second.title) < html.index(first.title)
    r = admin_page.post_form(
        f"/list-entries/{first.id}/edit", {"title": first.title, "position": "-1", "etag": '"2"'}
    )
    assert r.status_code == 422 and 'id="e-position"' in r.text
    db.refresh(first)
    assert first.position == 99


def test_admin_creates_a_user_with_errors_in_place(db, admin_page):
    chain = make_chain(db)
    page = admin_page.get("/admin/users")
    assert 'action="/admin/users/new"' in page.text
    before = _audits(db)
    r = admin_page.post_form(
        "/admin/users/new",
        {"username": "li.na", "display_name": "李娜", "role": "editor", "password": "short"},
    )
    assert r.status_code == 422 and 'id="e-password"' in r.text
    assert "至少" in r.text.split('id="e-password"')[1][:200]
    assert 'value="李娜"' in r.text and 'value="short"' not in r.text
    # chains for a viewer: the service's rule, beside the chain field
    r = admin_page.post_form(
        "/admin/users/new",
        {
            "username": "li.na",
            "display_name": "李娜",
            "role": "viewer",
            "password": "a fine password",
            "chain_ids": str(chain.id),
        },
    )
    assert r.status_code == 422 and "只有链编辑" in r.text.split('id="e-chain_ids"')[1][:200]
    assert _audits(db) == before
    r = admin_page.post_form(
        "/admin/users/new",
        {
            "username": "li.na",
            "display_name": "李娜",
            "role": "editor",
            "password": "a fine password",
            "chain_ids": str(chain.id),
        },
    )
    assert r.status_code == 303, r.text[:500]
    user = db.scalar(select(User).where(User.username == "li.na"))
    assert user is not None and user.role is UserRole.EDITOR
    assert db.get(EditorAssignment, (user.id, chain.id)) is not None
    # a taken username: 409 in place, nothing written
    r = admin_page.post_form(
        "/admin/users/new",
        {"username": "li.na", "display_name": "重复", "role": "viewer", "password": "another fine"},
    )
    assert r.status_code == 409 and "已被使用" in r.text
    assert db.scalar(select(func.count()).select_from(User).where(User.username == "li.na")) == 1


def test_admin_edits_a_user_and_a_stale_form_shows_current_values(db, admin_page, make_user):
    user = make_user(UserRole.VIEWER)
    page = admin_page.get(f"/admin/users/{user.id}").text
    assert f'action="/admin/users/{user.id}/edit"' in page and 'name="etag"' in page
    r = admin_page.post_form(
        f"/admin/users/{user.id}/edit",
        {"display_name": "王五", "role": "editor", "is_active": "true", "etag": '"1"'},
    )
    assert r.status_code == 303, r.text[:500]
    db.refresh(user)
    assert user.display_name == "王五" and user.role is UserRole.EDITOR
    # stale: someone else saved first -> the current values, nothing overwritten
    r = admin_page.post_form(
        f"/admin/users/{user.id}/edit",
        {"display_name": "赵六", "role": "viewer", "is_active": "false", "etag": '"1"'},
    )
    assert r.status_code == 412 and "已被他人修改" in r.text
    assert 'value="王五"' in r.text and f'value="&#34;{user.version}&#34;"' in r.text
    db.refresh(user)
    assert user.display_name == "王五" and user.is_active
    # a blank name: the error in place
    r = admin_page.post_form(
        f"/admin/users/{user.id}/edit",
        {"display_name": "", "role": "editor", "is_active": "true", "etag": f'"{user.version}"'},
    )
    assert r.status_code == 422 and 'id="e-display_name"' in r.text
    # the last administrator cannot deactivate themselves (the service's rule)
    admin = db.scalar(select(User).where(User.role == UserRole.ADMIN))
    r = admin_page.post_form(
        f"/admin/users/{admin.id}/edit",
        {
            "display_name": admin.display_name,
            "role": "admin",
            "is_active": "false",
            "etag": f'"{admin.version}"',
        },
    )
    assert r.status_code == 409 and "不能停用" in r.text
    db.refresh(admin)
    assert admin.is_active


def test_admin_assigns_chains_resets_a_password_and_unlocks(db, admin_page, make_user, app):
    chain, other = make_chain(db), make_chain(db)
    editor = make_user(UserRole.EDITOR, chains=[chain])
    page = admin_page.get(f"/admin/users/{editor.id}").text
    assert chain.name_zh in page and f"/chains/{chain.id}/remove" in page
    r = admin_page.post_form(f"/admin/users/{editor.id}/chains", {"chain_id": str(other.id)})
    assert r.status_code == 303
    assert db.get(EditorAssignment, (editor.id, other.id)) is not None
    r = admin_page.post_form(f"/admin/users/{editor.id}/chains", {"chain_id": "999999"})
    assert r.status_code == 422 and "产业链不存在" in r.text
    r = admin_page.post_form(f"/admin/users/{editor.id}/chains/{chain.id}/remove")
    assert r.status_code == 303
    assert db.get(EditorAssignment, (editor.id, chain.id)) is None
    viewer = make_user(UserRole.VIEWER)
    r = admin_page.post_form(f"/admin/users/{viewer.id}/chains", {"chain_id": str(chain.id)})
    assert r.status_code == 409 and "不是链编辑" in r.text
    # password reset: too short in place; then done, the old one no longer works
    r = admin_page.post_form(
        f"/admin/users/{editor.id}/password", {"password": "x", "etag": f'"{editor.version}"'}
    )
    assert r.status_code == 422 and 'id="e-password"' in r.text
    old_hash = editor.password_hash
    r = admin_page.post_form(
        f"/admin/users/{editor.id}/password",
        {"password": "a brand new password", "etag": f'"{editor.version}"'},
    )
    assert r.status_code == 303, r.text[:500]
    db.refresh(editor)
    assert editor.password_hash != old_hash
    # a sign-in lock is shown and lifted through the service
    db.add(
        LoginThrottleEntry(
            kind="user",
            key=editor.username,
            window_started_at=utcnow(),
            failures=9,
            locked_until=utcnow() + dt.timedelta(minutes=15),
        )
    )
    db.flush()
    assert "锁定至" in admin_page.get(f"/admin/users/{editor.id}").text
    r = admin_page.post_form(f"/admin/users/{editor.id}/unlock")
    assert r.status_code == 303
    assert db.get(LoginThrottleEntry, ("user", editor.username)) is None
    assert "未锁定" in admin_page.get(f"/admin/users/{editor.id}").text


def test_user_admin_pages_are_for_administrators_only(db, page_for, make_user):
    target = make_user(UserRole.VIEWER)
    editor = page_for(make_user(UserRole.EDITOR))
    assert editor.get(f"/admin/users/{target.id}").status_code == 403
    before = _audits(db)
    r = editor.post_form(
        f"/admin/users/{target.id}/edit",
        {"display_name": "X", "role": "admin", "is_active": "true", "etag": '"1"'},
    )
    assert r.status_code == 403 and "没有权限" in r.text
    assert _audits(db) == before


def _home_world(db, make_user, page_for, size: int):
    """Projects to chase this month: unreported, behind schedule, with an overdue
    problem, and (through the dispatch pages) one whose report was returned."""
    window = Window.build(None, None)
    chain = make_chain(db)

    def make_project(db, chain, **kw):  # under construction since a year ago
        project = make_project_(db, chain, **kw)
        db.add(
            ProjectStatusChange(
                project_id=project.id,
                to_status=ProjectStatus.UNDER_CONSTRUCTION,
                changed_on=window.day - dt.timedelta(days=365),
            )
        )
        db.flush()
        return project

    editor_user = make_user(UserRole.EDITOR, chains=[chain])
    silent = [make_project(db, chain, name=f"未报项目{i}") for i in range(size)]
    late = make_project(
        db, chain, name="滞后项目", planned_completion=window.day - dt.timedelta(days=30)
    )
    make_report(db, late, window.period)
    troubled = make_project(db, chain, name="有问题项目")
    make_report(db, troubled, window.period)
    for i in range(size):
        db.add(
            Problem(
                project_id=troubled.id,
                period=window.period,
                description=f"问题{i}",
                deadline=window.day - dt.timedelta(days=1),
            )
        )
    db.flush()
    returned = make_project(db, chain, name="退回项目")
    editor = page_for(editor_user)
    reporter_user = make_user(UserRole.REPORTER)
    db.add(ReporterScope(user_id=reporter_user.id, region_code="370100"))
    db.flush()
    reporter = page_for(reporter_user)
    deadline = (window.day + dt.timedelta(days=5)).isoformat()
    r = editor.post_form(
        "/dispatch/rounds",
        {"period": window.period, "deadline": deadline, "chain_ids": str(chain.id)},
    )
    assert r.status_code == 303, r.text[:500]
    r = reporter.post_form(
        f"/dispatch/projects/{returned.id}/report",
        {"period": window.period, "investment_month": "50", "confirm_warnings": "1"},
    )
    assert r.status_code == 303, r.text[:500]
    report = db.scalar(select(ProgressReport).where(ProgressReport.project_id == returned.id))
    r = editor.post_form(
        f"/dispatch/reports/{report.id}/return", {"etag": '"1"', "reason": "数据有误"}
    )
    assert r.status_code == 303, r.text[:500]
    return editor, silent, late, troubled, returned


def test_home_lists_the_projects_to_chase_this_month(db, make_user, page_for):
    editor, silent, late, troubled, returned = _home_world(db, make_user, page_for, 2)
    html = editor.get("/").text

    def section(key: str) -> str:
        return html.split(f'id="todo-{key}"')[1].split("</div>")[0]

    for p in silent:
        assert p.name in section("not_reported")
    assert late.name not in section("not_reported") and troubled.name not in section("not_reported")
    assert late.name in section("behind_schedule") and silent[0].name not in section(
        "behind_schedule"
    )
    assert section("overdue_problems").count(troubled.name) == 2
    assert returned.name in section("returned") and "已退回" in section("returned")
    assert silent[0].name not in section("returned")
    # another editor's home does not list this chain's projects
    other = page_for(make_user(UserRole.EDITOR, chains=[make_chain(db)]))
    assert returned.name not in other.get("/").text


def test_home_statements_are_the_same_at_two_data_sizes(db, make_user, page_for, count_statements):
    editor, _, late, troubled, _ = _home_world(db, make_user, page_for, 1)
    counts = []
    for grow in (0, 8):
        for i in range(grow):  # more of everything the lists show
            for _ in range(2):
                copy = make_project_(
                    db,
                    db.get(Chain, late.chain_id),
                    name=f"更多{i}",
                    planned_completion=late.planned_completion,
                )
                db.add(
                    ProjectStatusChange(
                        project_id=copy.id,
                        to_status=ProjectStatus.UNDER_CONSTRUCTION,
                        changed_on=late.planned_completion - dt.timedelta(days=300),
                    )
                )
            db.add(
                Problem(
                    project_id=troubled.id,
                    period=troubled_period(db, troubled),
                    description=f"更多问题{i}",
                    deadline=late.planned_completion,
                )
            )
        db.flush()
        with count_statements() as c:
            page = editor.get("/")
        assert page.status_code == 200
        counts.append(c.count)
    assert "更多7" in page.text
    assert counts[0] == counts[1], counts


def troubled_period(db, project) -> str:
    return db.scalar(select(Problem.period).where(Problem.project_id == project.id))
