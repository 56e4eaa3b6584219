"""Object-level checks: an editor of chain A may not touch chain B, directly or
through references in the body (a list entry pointing at B's enterprise, a
project targeting B's node, a problem linked to B's progress report, ...)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from chaintrack.models import AuditRecord, ChainList, ListEntry, MapNode, Project
from chaintrack.models.enums import UserRole
from tests.factories import (
    make_chain,
    make_enterprise,
    make_list_type,
    make_membership,
    make_node,
    make_project,
    make_report,
)

API = "/api/v1"


@pytest.fixture
def setup(db, make_user, client_for):
    a, b = make_chain(db), make_chain(db)
    editor = make_user(UserRole.EDITOR, chains=[a])
    return a, b, client_for(editor)


def _list(db, chain, entry_ref):
    lt = make_list_type(db, fields=[], entry_ref=entry_ref)
    lst = ChainList(chain_id=chain.id, list_type_id=lt.id, period="2025")
    db.add(lst)
    db.flush()
    return lst


def _forbidden(r, field: str | None = None) -> dict:
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["type"] == "urn:chaintrack:problem:forbidden"
    if field:
        assert body["field"] == field
    return body


def _counts(db):
    return tuple(
        db.scalar(select(func.count()).select_from(m))
        for m in (ListEntry, Project, MapNode, AuditRecord)
    )


def test_list_entry_referencing_another_chains_objects(db, setup):
    a, b, editor = setup
    before = _counts(db)
    ent_list = _list(db, a, "enterprise")
    b_only = make_enterprise(db)
    make_membership(db, b_only, b)
    body = _forbidden(
        editor.post(
            f"{API}/lists/{ent_list.id}/entries", json={"title": "x", "enterprise_id": b_only.id}
        ),
        "enterprise_id",
    )
    assert body["chain_ids"] == [b.id]
    proj_list = _list(db, a, "project")
    _forbidden(
        editor.post(
            f"{API}/lists/{proj_list.id}/entries",
            json={"title": "x", "project_id": make_project(db, b).id},
        ),
        "project_id",
    )
    node_list = _list(db, a, "node")
    _forbidden(
        editor.post(
            f"{API}/lists/{node_list.id}/entries",
            json={"title": "x", "node_id": make_node(db, b).id},
        ),
        "node_id",
    )
    # On both chains, or on this one: allowed (and the list's own rules apply).
    shared = make_enterprise(db)
    make_membership(db, shared, a)
    make_membership(db, shared, b)
    r = editor.post(
        f"{API}/lists/{ent_list.id}/entries", json={"title": "ok", "enterprise_id": shared.id}
    )
    assert r.status_code == 201, r.text
    # Changing an entry of this chain to point at another chain's project.
    entry = r.json()
    _forbidden(
        editor.patch(
            f"{API}/list-entries/{entry['id']}",
            json={"enterprise_id": b_only.id},
            headers={"If-Match": '"1"'},
        ),
        "enterprise_id",
    )
    assert _counts(db)[0] == before[0] + 1


def test_reorder_with_another_chains_entry(db, setup):
    a, b, editor = setup
    lst_a, lst_b = _list(db, a, None), _list(db, b, None)
    mine = ListEntry(list_id=lst_a.id, chain_id=a.id, title="a", attributes={})
    theirs = ListEntry(list_id=lst_b.id, chain_id=b.id, title="b", attributes={})
    db.add_all([mine, theirs])
    db.flush()
    _forbidden(
        editor.put(
            f"{API}/lists/{lst_a.id}/entries/order",
            json={"entry_ids": [theirs.id, mine.id]},
            headers={"If-Match": '"1"'},
        ),
        "entry_ids",
    )


def test_project_on_another_chain_or_targeting_its_nodes(db, setup):
    a, b, editor = setup
    before = _counts(db)
    base = {"name": "补链项目", "type": "fill", "region_code": "370600", "total_investment": "1"}
    _forbidden(editor.post(f"{API}/projects", json={**base, "chain_id": b.id}))
    # The id as the endpoint would coerce it ("2" -> 2) is checked, not the raw JSON.
    _forbidden(editor.post(f"{API}/projects", json={**base, "chain_id": str(b.id)}))
    foreign = make_node(db, b)
    _forbidden(
        editor.post(
            f"{API}/projects", json={**base, "chain_id": a.id, "target_node_ids": [foreign.id]}
        ),
        "target_node_ids",
    )
    own = make_project(db, a)
    _forbidden(
        editor.patch(
            f"{API}/projects/{own.id}",
            json={"target_node_ids": [foreign.id]},
            headers={"If-Match": '"1"'},
        ),
        "target_node_ids",
    )
    assert _counts(db) == (before[0], before[1] + 1, before[2] + 1, before[3])
    r = editor.post(f"{API}/projects", json={**base, "chain_id": a.id})
    assert r.status_code == 201, r.text
    # An unknown chain is the endpoint's 422, whoever asks.
    r = editor.post(f"{API}/projects", json={**base, "chain_id": 999_999})
    assert r.status_code == 422


def test_map_and_membership_references(db, setup):
    a, b, editor = setup
    foreign = make_node(db, b)
    own = make_node(db, a)
    _forbidden(
        editor.post(
            f"{API}/chains/{a.id}/nodes",
            json={
                "parent_id": foreign.id,
                "code": "X1",
                "name_zh": "x",
                "kind": "product",
                "stage": "upstream",
            },
        ),
        "parent_id",
    )
    _forbidden(
        editor.patch(
            f"{API}/nodes/{own.id}", json={"parent_id": foreign.id}, headers={"If-Match": '"1"'}
        ),
        "parent_id",
    )
    _forbidden(
        editor.post(
            f"{API}/chains/{a.id}/relations",
            json={"from_node_id": own.id, "to_node_id": foreign.id},
        ),
        "to_node_id",
    )
    ent = make_enterprise(db)
    _forbidden(
        editor.post(
            f"{API}/chains/{a.id}/memberships",
            json={
                "enterprise_id": ent.id,
                "node_id": foreign.id,
                "role": "supporting",
                "started_on": "2024-01-01",
            },
        ),
        "node_id",
    )


def test_progress_and_problems_through_indirect_routes(db, setup):
    a, b, editor = setup
    theirs = make_project(db, b)
    report_b = make_report(db, theirs, "2025-01")
    mine = make_project(db, a)
    _forbidden(
        editor.post(
            f"{API}/projects/{mine.id}/problems",
            json={"period": "2025-01", "description": "x", "report_id": report_b.id},
        ),
        "report_id",
    )
    _forbidden(
        editor.put(f"{API}/projects/{theirs.id}/progress/2025-02", json={"investment_month": "1"})
    )
    # Reads stay open to every signed-in user.
    assert editor.get(f"{API}/progress-reports/{report_b.id}").status_code == 200


def test_unknown_ids_are_404_for_editors_and_admins(setup, client):
    _a, _b, editor = setup
    for c in (editor, client):
        r = c.patch(f"{API}/nodes/999999", json={"name_zh": "x"}, headers={"If-Match": '"1"'})
        assert r.status_code == 404, r.text
        r = c.post(
            f"{API}/problems/999999/resolve",
            json={"resolution": "x", "resolved_on": "2025-01-01"},
            headers={"If-Match": '"1"'},
        )
        assert r.status_code == 404, r.text


def test_invalid_ids_are_the_endpoints_422(setup):
    _a, _b, editor = setup
    r = editor.patch(f"{API}/lists/0", json={"title": "x"}, headers={"If-Match": '"1"'})
    assert r.status_code == 422
    r = editor.patch(f"{API}/lists/abc", json={"title": "x"}, headers={"If-Match": '"1"'})
    assert r.status_code == 422


def test_editor_of_two_chains(db, make_user, client_for):
    a, b = make_chain(db), make_chain(db)
    both = client_for(make_user(UserRole.EDITOR, chains=[a, b]))
    r = both.post(
        f"{API}/chains/{a.id}/nodes",
        json={"code": "Y1", "name_zh": "y", "kind": "product", "stage": "upstream"},
    )
    assert r.status_code == 201
    r = both.post(
        f"{API}/chains/{b.id}/nodes",
        json={"code": "Y1", "name_zh": "y", "kind": "product", "stage": "upstream"},
    )
    assert r.status_code == 201
