"""The audit trail: one record per changed row, in the request's transaction, with
correct before/after values; nothing for a failed request; read-only API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from chaintrack.api import create_app
from chaintrack.audit import capture
from chaintrack.auth.permissions import api_routes
from chaintrack.models import (
    AuditRecord,
    ChainList,
    Enterprise,
    ListEntry,
    MapRelation,
    ProgressReport,
    Project,
    ProjectStatusChange,
)
from chaintrack.models.enums import UserRole
from tests.conftest import settings_for_tests
from tests.factories import make_chain, make_enterprise, make_list_type, make_node, make_project

API = "/api/v1"


def records(db, response) -> list[AuditRecord]:
    rid = response.headers["X-Request-ID"]
    return list(
        db.scalars(
            select(AuditRecord).where(AuditRecord.request_id == rid).order_by(AuditRecord.id)
        )
    )


def by_entity(recs: list[AuditRecord]) -> dict[str, list[AuditRecord]]:
    out: dict[str, list[AuditRecord]] = {}
    for r in recs:
        out.setdefault(r.entity, []).append(r)
    return out


def audit_count(db) -> int:
    return db.scalar(select(func.count()).select_from(AuditRecord))


def test_creating_a_project_records_every_row_once(client, db, admin_user):
    chain = make_chain(db)
    node = make_node(db, chain)
    r = client.post(
        f"{API}/projects",
        json={
            "chain_id": chain.id,
            "name": "高端化工补链项目",
            "type": "fill",
            "region_code": "370600",
            "total_investment": "50000.5",
            "planned_start": "2025-03-01",
            "annual_plans": [{"year": 2025, "planned_investment": "1200.25"}],
            "target_node_ids": [node.id],
            "status": "signed",
            "status_date": "2025-01-10",
        },
        headers={"X-Request-ID": "req-create-project-1"},
    )
    assert r.status_code == 201, r.text
    project_id = r.json()["id"]
    recs = records(db, r)
    assert all(x.request_id == "req-create-project-1" for x in recs)
    assert all(x.user_id == admin_user.id and x.action == "create" for x in recs)
    assert all(x.chain_id == chain.id for x in recs)
    groups = by_entity(recs)
    assert sorted(groups) == [
        "project_annual_plans",
        "project_status_changes",
        "project_targets",
        "projects",
    ]
    assert all(len(v) == 1 for v in groups.values())
    project = groups["projects"][0]
    assert project.entity_id == str(project_id)
    changes = project.changes
    assert changes["name"] == {"before": None, "after": "高端化工补链项目"}
    assert changes["total_investment"]["after"] == "50000.5"
    assert changes["planned_start"]["after"] == "2025-03-01"
    assert changes["status"]["after"] == "signed"
    assert "created_at" not in changes and "updated_at" not in changes
    plan = groups["project_annual_plans"][0]
    assert plan.entity_id == f"{project_id}/2025"
    assert plan.changes["planned_investment"]["after"] == "1200.25"
    assert groups["project_targets"][0].entity_id == f"{project_id}/{node.id}"
    # Who recorded the first status is filled in from the request's user.
    change = db.scalar(
        select(ProjectStatusChange).where(ProjectStatusChange.project_id == project_id)
    )
    assert change.recorded_by == admin_user.id


def test_an_update_records_before_and_after_of_changed_fields_only(client, db):
    chain = make_chain(db)
    project = make_project(db, chain, total_investment=Decimal("10000"), planned_start=None)
    r = client.patch(
        f"{API}/projects/{project.id}",
        json={"total_investment": "12000.75", "planned_start": "2025-05-01", "name": project.name},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    (rec,) = records(db, r)
    assert rec.action == "update" and rec.entity == "projects" and rec.chain_id == chain.id
    assert rec.changes == {
        "total_investment": {"before": "10000", "after": "12000.75"},
        "planned_start": {"before": None, "after": "2025-05-01"},
        "version": {"before": 1, "after": 2},
    }


def test_enterprise_rename_and_json_columns(client, db):
    ent = make_enterprise(db, name="旧名称有限公司")
    r = client.patch(
        f"{API}/enterprises/{ent.id}", json={"name": "新名称有限公司"}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    (rec,) = records(db, r)
    assert rec.entity == "enterprises" and rec.chain_id is None
    assert rec.changes["name"] == {"before": "旧名称有限公司", "after": "新名称有限公司"}
    assert rec.changes["former_names"] == {"before": [], "after": ["旧名称有限公司"]}


def test_delete_records_the_last_values(client, db):
    chain = make_chain(db)
    lt = make_list_type(db)
    lst = ChainList(chain_id=chain.id, list_type_id=lt.id, period="2025")
    db.add(lst)
    db.flush()
    entry = ListEntry(list_id=lst.id, chain_id=chain.id, title="待删除", attributes={"note": "x"})
    db.add(entry)
    db.flush()
    r = client.delete(f"{API}/list-entries/{entry.id}", headers={"If-Match": '"1"'})
    assert r.status_code == 204
    (rec,) = records(db, r)
    assert rec.action == "delete" and rec.entity == "list_entries"
    assert rec.entity_id == str(entry.id) and rec.chain_id == chain.id
    assert rec.changes["title"] == {"before": "待删除", "after": None}
    assert rec.changes["attributes"] == {"before": {"note": "x"}, "after": None}


def test_bulk_statements_are_recorded_too(client, db):
    """A node's relations are deleted with one statement; a correction supersedes the
    previous revision with one UPDATE: each row still gets its record."""
    chain = make_chain(db)
    a, b, c = (make_node(db, chain) for _ in range(3))
    rels = [
        MapRelation(chain_id=chain.id, from_node_id=a.id, to_node_id=b.id),
        MapRelation(chain_id=chain.id, from_node_id=c.id, to_node_id=a.id),
    ]
    db.add_all(rels)
    db.flush()
    r = client.delete(f"{API}/nodes/{a.id}", headers={"If-Match": '"1"'})
    assert r.status_code == 204, r.text
    groups = by_entity(records(db, r))
    assert sorted(x.entity_id for x in groups["map_relations"]) == sorted(str(x.id) for x in rels)
    assert all(x.action == "delete" and x.chain_id == chain.id for x in groups["map_relations"])
    assert [x.entity_id for x in groups["map_nodes"]] == [str(a.id)]

    project = make_project(db, chain)
    url = f"{API}/projects/{project.id}/progress/2025-01"
    first = client.put(url, json={"investment_month": "100"})
    assert first.status_code == 201, first.text
    second = client.put(
        url,
        json={"investment_month": "150", "correction_reason": "更正"},
        headers={"If-Match": first.headers["ETag"]},
    )
    assert second.status_code == 200, second.text
    groups = by_entity(records(db, second))
    old, new = sorted(groups["progress_reports"], key=lambda x: x.action)
    assert new.action == "update" and old.action == "create"
    assert new.changes["superseded_at"]["before"] is None
    assert dt.datetime.fromisoformat(new.changes["superseded_at"]["after"])
    assert old.changes["revision"]["after"] == 2
    assert old.changes["investment_month"]["after"] == "150"
    assert all(x.chain_id == chain.id for x in groups["progress_reports"])
    report = db.get(ProgressReport, int(old.entity_id))
    assert report.submitted_by is not None


def test_reorder_records_each_moved_entry_and_the_list_version(client, db):
    chain = make_chain(db)
    lst = ChainList(chain_id=chain.id, list_type_id=make_list_type(db).id, period="2025")
    db.add(lst)
    db.flush()
    entries = [
        ListEntry(list_id=lst.id, chain_id=chain.id, title=f"e{i}", position=i, attributes={})
        for i in (1, 2, 3)
    ]
    db.add_all(entries)
    db.flush()
    order = [entries[2].id, entries[1].id, entries[0].id]
    r = client.put(
        f"{API}/lists/{lst.id}/entries/order",
        json={"entry_ids": order},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    groups = by_entity(records(db, r))
    moved = {x.entity_id: x.changes for x in groups["list_entries"]}
    assert moved == {
        str(entries[0].id): {
            "position": {"before": 1, "after": 3},
            "version": {"before": 1, "after": 2},
        },
        str(entries[2].id): {
            "position": {"before": 3, "after": 1},
            "version": {"before": 1, "after": 2},
        },
    }
    (list_rec,) = groups["chain_lists"]
    assert list_rec.changes == {"version": {"before": 1, "after": 2}}


def test_a_failed_request_leaves_no_record_and_no_data(client, db):
    chain = make_chain(db)
    before_audit = audit_count(db)
    before_projects = db.scalar(select(func.count()).select_from(Project))
    # Valid enough to start writing, refused by a rule (plans above the total): 422.
    r = client.post(
        f"{API}/projects",
        json={
            "chain_id": chain.id,
            "name": "超计划项目",
            "type": "fill",
            "region_code": "370600",
            "total_investment": "100",
            "annual_plans": [{"year": 2025, "planned_investment": "200"}],
        },
    )
    assert r.status_code == 422, r.text
    ent = make_enterprise(db)
    taken = make_enterprise(db)
    r2 = client.patch(
        f"{API}/enterprises/{ent.id}", json={"uscc": taken.uscc}, headers={"If-Match": '"1"'}
    )
    assert r2.status_code == 409, r2.text
    assert records(db, r) == [] and records(db, r2) == []
    assert audit_count(db) == before_audit
    assert db.scalar(select(func.count()).select_from(Project)) == before_projects
    db.expire_all()
    assert db.get(Enterprise, ent.id).uscc != taken.uscc


def test_user_changes_are_audited_without_the_hash(client, db):
    r = client.post(
        f"{API}/users",
        json={"username": "audited", "display_name": "审计", "password": "a good password!"},
    )
    assert r.status_code == 201
    (rec,) = records(db, r)
    assert rec.entity == "users"
    assert rec.changes["password_hash"] == {"before": None, "after": "[redacted]"}
    r = client.post(
        f"{API}/users/{r.json()['id']}/password",
        json={"password": "another good one"},
        headers={"If-Match": '"1"'},
    )
    (rec,) = records(db, r)
    assert rec.changes["password_hash"] == {"before": "[redacted]", "after": "[redacted]"}
    assert rec.changes["token_version"] == {"before": 0, "after": 1}
    assert "argon2" not in str(rec.changes)


def test_coalescing_within_one_transaction(db):
    """Created then changed: one create with the final values; created then deleted: none."""
    capture.enable(db, user_id=None, request_id="unit-coalesce")
    try:
        chain = make_chain(db)
        chain.description = "final"
        db.flush()
        gone = make_node(db, chain)
        db.delete(gone)
        db.flush()
        ent = make_enterprise(db)
        ctx = capture.context(db)
        capture.write_pending(db, ctx)
    finally:
        db.info.pop(capture.INFO_KEY, None)
    recs = list(db.scalars(select(AuditRecord).where(AuditRecord.request_id == "unit-coalesce")))
    assert sorted((r.entity, r.action) for r in recs) == [
        ("chains", "create"),
        ("enterprises", "create"),
    ]
    chain_rec = next(r for r in recs if r.entity == "chains")
    assert chain_rec.changes["description"] == {"before": None, "after": "final"}
    assert chain_rec.chain_id == chain.id
    assert ent.id


def test_jsonable_values():
    assert capture.jsonable(Decimal("1.2500")) == "1.25"
    assert capture.jsonable(Decimal("10000.0000")) == "10000"
    assert capture.jsonable(dt.date(2025, 1, 2)) == "2025-01-02"
    assert capture.jsonable(UserRole.ADMIN) == "admin"
    assert capture.jsonable({"a": [Decimal("1")]}) == {"a": ["1"]}


# --- the read API -------------------------------------------------------------------------


def test_audit_api_filters_and_pages(client, db, admin_user, make_user, client_for):
    a, b = make_chain(db), make_chain(db)
    # The chain record is the administrators' (editors get 403): a second admin edits b.
    editor = make_user(UserRole.ADMIN)
    r1 = client.patch(
        f"{API}/chains/{a.id}", json={"description": "甲"}, headers={"If-Match": '"1"'}
    )
    r2 = client_for(editor).patch(
        f"{API}/chains/{b.id}", json={"description": "乙"}, headers={"If-Match": '"1"'}
    )
    assert r1.status_code == r2.status_code == 200
    page = client.get(f"{API}/audit", params={"entity": "chains", "limit": 1})
    assert page.status_code == 200, page.text
    assert page.json()["total"] == 2 and len(page.json()["items"]) == 1
    newest = page.json()["items"][0]
    assert newest["chain_id"] == b.id and newest["username"] == editor.username
    mine = client.get(f"{API}/audit", params={"user_id": admin_user.id}).json()
    assert [x["chain_id"] for x in mine["items"]] == [a.id]
    assert client.get(f"{API}/audit", params={"chain_id": a.id}).json()["total"] == 1
    by_request = client.get(
        f"{API}/audit", params={"request_id": r2.headers["X-Request-ID"]}
    ).json()
    assert by_request["total"] == 1
    one = by_request["items"][0]
    assert one["changes"]["description"] == {"before": None, "after": "乙"}
    assert (
        client.get(f"{API}/audit", params={"entity": "chains", "entity_id": str(b.id)}).json()[
            "total"
        ]
        == 1
    )
    assert client.get(f"{API}/audit/{one['id']}").json() == one
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert client.get(f"{API}/audit", params={"from": future}).json()["total"] == 0
    assert (
        client.get(f"{API}/audit", params={"to": future, "entity": "chains"}).json()["total"] == 2
    )
    r = client.get(f"{API}/audit", params={"from": future, "to": "2020-01-01T00:00:00+00:00"})
    assert r.status_code == 422
    assert client.get(f"{API}/audit", params={"from": "2025-01-01T00:00:00"}).status_code == 422
    assert client.get(f"{API}/audit/999999").status_code == 404


def test_no_route_changes_the_audit_trail(client, db):
    app = create_app(settings_for_tests("sqlite://"))
    audit_routes = [c for c in api_routes(app.routes) if c.path.startswith(f"{API}/audit")]
    assert audit_routes
    assert all((c.methods or set()) <= {"GET", "HEAD"} for c in audit_routes)
    rec = client.patch(
        f"{API}/chains/{make_chain(db).id}", json={"description": "x"}, headers={"If-Match": '"1"'}
    )
    (row,) = records(db, rec)
    for method in ("DELETE", "PATCH", "PUT", "POST"):
        assert client.request(method, f"{API}/audit/{row.id}").status_code == 405
