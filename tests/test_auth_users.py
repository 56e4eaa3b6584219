"""User management by administrators; editor assignments."""

from __future__ import annotations

from sqlalchemy import func, select

from chaintrack.models import EditorAssignment, User
from chaintrack.models.enums import UserRole
from tests.factories import make_chain
from tests.problems import assert_problem

API = "/api/v1"


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(User))


def test_create_user_hashes_the_password_and_never_returns_it(client, db):
    chain = make_chain(db)
    r = client.post(
        f"{API}/users",
        json={
            "username": "Wang.Fang",
            "display_name": "王芳",
            "organisation": "产业链推进处",
            "role": "editor",
            "password": "a long enough password",
            "chain_ids": [chain.id],
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["username"] == "wang.fang"
    assert body["chain_ids"] == [chain.id]
    assert r.headers["Location"] == f"/api/v1/users/{body['id']}"
    assert r.headers["ETag"] == '"1"'
    assert "password" not in r.text and "argon2" not in r.text
    stored = db.get(User, body["id"])
    assert stored.password_hash.startswith("$argon2id$")
    assert "a long enough password" not in stored.password_hash


def test_create_user_bad_input_writes_nothing(client, db):
    chain = make_chain(db)
    before = _count(db)
    base = {"username": "ok.name", "display_name": "x", "password": "long enough pw"}
    assert_problem(
        client.post(f"{API}/users", json={**base, "username": "有 空格"}), 422, field="username"
    )
    assert_problem(
        client.post(f"{API}/users", json={**base, "password": "short"}), 422, field="password"
    )
    assert_problem(
        client.post(f"{API}/users", json={**base, "password": "OK.Name"}), 422, field="password"
    )
    assert_problem(
        client.post(f"{API}/users", json={**base, "role": "viewer", "chain_ids": [chain.id]}),
        422,
        field="chain_ids",
    )
    assert_problem(
        client.post(f"{API}/users", json={**base, "role": "editor", "chain_ids": [999999]}),
        422,
        field="chain_ids",
    )
    assert_problem(
        client.post(f"{API}/users", json={**base, "role": "superuser"}), 422, field="role"
    )
    assert_problem(
        client.post(f"{API}/users", json={**base, "is_active": False}), 422, field="is_active"
    )
    assert _count(db) == before
    assert client.post(f"{API}/users", json=base).status_code == 201
    dup = assert_problem(client.post(f"{API}/users", json={**base, "username": "OK.NAME"}), 409)
    assert dup["existing_url"].startswith("/api/v1/users/")


def test_list_and_filter_users(client, make_user, db):
    chain = make_chain(db)
    editor = make_user(UserRole.EDITOR, chains=[chain], display_name="赵编辑")
    make_user(UserRole.VIEWER, display_name="钱只读")
    make_user(UserRole.VIEWER, is_active=False)
    r = client.get(f"{API}/users", params={"role": "editor"})
    assert r.status_code == 200
    assert [u["id"] for u in r.json()["items"]] == [editor.id]
    assert r.json()["items"][0]["chain_ids"] == [chain.id]
    assert client.get(f"{API}/users", params={"chain_id": chain.id}).json()["total"] == 1
    assert client.get(f"{API}/users", params={"q": "只读"}).json()["total"] == 1
    assert client.get(f"{API}/users", params={"is_active": False}).json()["total"] == 1
    r = client.get(f"{API}/users", params={"sort": "-username", "limit": 2})
    assert r.json()["total"] == 4 and len(r.json()["items"]) == 2
    assert_problem(client.get(f"{API}/users", params={"sort": "password"}), 422, field="sort")
    assert_problem(client.get(f"{API}/users/999999"), 404)


def test_update_user_needs_if_match_and_guards_the_last_admin(client, admin_user, make_user):
    url = f"{API}/users/{admin_user.id}"
    assert_problem(client.patch(url, json={"role": "viewer"}), 428)
    body = assert_problem(
        client.patch(url, json={"role": "viewer"}, headers={"If-Match": '"1"'}), 409
    )
    assert "administrator" in body["detail"]
    assert_problem(client.patch(url, json={"is_active": False}, headers={"If-Match": '"1"'}), 409)
    assert_problem(
        client.patch(url, json={"role": None}, headers={"If-Match": '"1"'}), 422, field="role"
    )
    other_admin = make_user(UserRole.ADMIN)
    # With a second administrator, one can step down — but not deactivate themselves.
    assert_problem(client.patch(url, json={"is_active": False}, headers={"If-Match": '"1"'}), 409)
    r = client.patch(
        f"{API}/users/{other_admin.id}", json={"role": "viewer"}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 200 and r.json()["role"] == "viewer"
    assert r.headers["ETag"] == '"2"'
    assert_problem(
        client.patch(
            f"{API}/users/{other_admin.id}", json={"role": "admin"}, headers={"If-Match": '"1"'}
        ),
        412,
    )


def test_assign_and_unassign_chains(client, client_for, make_user, db):
    chain = make_chain(db)
    editor = make_user(UserRole.EDITOR)
    viewer = make_user(UserRole.VIEWER)
    as_editor = client_for(editor)

    def add_node(code: str) -> int:
        body = {"code": code, "name_zh": "环节", "kind": "segment", "stage": "upstream"}
        return as_editor.post(f"{API}/chains/{chain.id}/nodes", json=body).status_code

    assert add_node("A1") == 403
    url = f"{API}/users/{editor.id}/chains/{chain.id}"
    r = client.put(url)
    assert r.status_code == 201, r.text
    assert r.json()["chain_code"] == chain.code
    assert client.put(url).status_code == 200
    assert [a["chain_id"] for a in client.get(f"{API}/users/{editor.id}/chains").json()] == [
        chain.id
    ]
    assert as_editor.get(f"{API}/auth/me").json()["chain_ids"] == [chain.id]
    assert add_node("A2") == 201
    # The chain record itself (code, names, group, status) stays the administrators'.
    edit = {"description": "编辑说明"}
    r = as_editor.patch(f"{API}/chains/{chain.id}", json=edit, headers={"If-Match": '"1"'})
    assert r.status_code == 403
    assert client.delete(url).status_code == 204
    assert_problem(client.delete(url), 404)
    assert db.scalar(select(func.count()).select_from(EditorAssignment)) == 0
    assert add_node("A3") == 403
    assert_problem(client.put(f"{API}/users/{viewer.id}/chains/{chain.id}"), 409)
    assert_problem(client.put(f"{API}/users/{editor.id}/chains/999999"), 404)
    assert_problem(client.put(f"{API}/users/999999/chains/{chain.id}"), 404)


def test_users_api_is_for_administrators_only(client_for, make_user, db):
    chain = make_chain(db)
    for role in (UserRole.VIEWER, UserRole.EDITOR):
        c = client_for(make_user(role, chains=[chain] if role is UserRole.EDITOR else []))
        assert c.get(f"{API}/users").status_code == 403
        assert c.get(f"{API}/audit").status_code == 403
        assert c.get(f"{API}/auth/me").status_code == 200
