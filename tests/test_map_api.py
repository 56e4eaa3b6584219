"""Map nodes and relations through HTTP: success paths and every refusal."""

from __future__ import annotations

from sqlalchemy import func, select

from chaintrack.models import ChainList, ListEntry, MapNode, MapRelation, ProjectTarget
from chaintrack.models.enums import Assessment, GapKind, Stage
from tests.factories import (
    make_chain,
    make_enterprise,
    make_list_type,
    make_membership,
    make_node,
    make_project,
)
from tests.problems import assert_problem

API = "/api/v1"


def node_count(db, chain_id: int) -> int:
    return db.scalar(select(func.count()).select_from(MapNode).where(MapNode.chain_id == chain_id))


def relation_count(db, chain_id: int) -> int:
    return db.scalar(
        select(func.count()).select_from(MapRelation).where(MapRelation.chain_id == chain_id)
    )


def etag(node: MapNode) -> str:
    return f'"{node.version}"'


# ---------------------------------------------------------------- create


def test_create_node_and_child(client, db):
    chain = make_chain(db)
    r = client.post(
        f"{API}/chains/{chain.id}/nodes",
        json={
            "code": "UP-01",
            "name_zh": "衬底材料",
            "name_en": "Substrates",
            "kind": "segment",
            "stage": "upstream",
            "assessment": "weak",
            "gap_kind": "technology",
            "position": 10,
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["code"] == "UP-01"
    assert body["chain_id"] == chain.id
    assert body["parent_id"] is None
    assert body["stage_label"] == "上游"
    assert body["assessment_label"] == "弱链（短板）"
    assert body["gap_kind"] == "technology"
    assert body["version"] == 1
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"{API}/nodes/{body['id']}"

    r2 = client.post(
        f"{API}/chains/{chain.id}/nodes",
        json={
            "parent_id": body["id"],
            "code": "UP-01-01",
            "name_zh": "碳化硅衬底",
            "kind": "product",
            "stage": "upstream",
        },
    )
    assert r2.status_code == 201, r2.text
    assert r2.json()["parent_id"] == body["id"]
    assert r2.json()["assessment"] is None
    assert node_count(db, chain.id) == 2


def test_create_node_unknown_chain_is_404(client, db):
    r = client.post(
        f"{API}/chains/999999/nodes",
        json={"code": "A", "name_zh": "甲", "kind": "segment", "stage": "upstream"},
    )
    assert_problem(r, 404, "not-found")


def test_create_node_parent_on_other_chain_is_422(client, db):
    chain, other = make_chain(db), make_chain(db)
    foreign = make_node(db, other)
    r = client.post(
        f"{API}/chains/{chain.id}/nodes",
        json={
            "parent_id": foreign.id,
            "code": "X",
            "name_zh": "甲",
            "kind": "segment",
            "stage": "upstream",
        },
    )
    body = assert_problem(r, 422, "validation", field="parent_id")
    assert body["errors"][0]["code"] == "cross_chain"
    assert str(other.id) in body["errors"][0]["message"]
    assert node_count(db, chain.id) == 0


def test_create_node_unknown_parent_is_422(client, db):
    chain = make_chain(db)
    r = client.post(
        f"{API}/chains/{chain.id}/nodes",
        json={
            "parent_id": 987654,
            "code": "X",
            "name_zh": "甲",
            "kind": "segment",
            "stage": "upstream",
        },
    )
    assert_problem(r, 422, "validation", field="parent_id")
    assert node_count(db, chain.id) == 0


def test_create_node_duplicate_code_is_409(client, db):
    chain = make_chain(db)
    existing = make_node(db, chain, code="DUP")
    r = client.post(
        f"{API}/chains/{chain.id}/nodes",
        json={"code": "DUP", "name_zh": "甲", "kind": "segment", "stage": "upstream"},
    )
    body = assert_problem(r, 409, "conflict", field="code")
    assert body["existing_id"] == existing.id
    assert node_count(db, chain.id) == 1


def test_same_code_on_another_chain_is_fine(client, db):
    chain, other = make_chain(db), make_chain(db)
    make_node(db, other, code="SAME")
    r = client.post(
        f"{API}/chains/{chain.id}/nodes",
        json={"code": "SAME", "name_zh": "甲", "kind": "segment", "stage": "upstream"},
    )
    assert r.status_code == 201, r.text


def test_create_node_gap_kind_on_strong_is_422(client, db):
    chain = make_chain(db)
    for assessment in ("strong", None):
        r = client.post(
            f"{API}/chains/{chain.id}/nodes",
            json={
                "code": "G",
                "name_zh": "甲",
                "kind": "segment",
                "stage": "upstream",
                "assessment": assessment,
                "gap_kind": "supply",
            },
        )
        assert_problem(r, 422, "validation", field="gap_kind")
    assert node_count(db, chain.id) == 0


def test_create_node_bad_body_is_422(client, db):
    chain = make_chain(db)
    cases = [
        ({"code": "A", "name_zh": "甲", "kind": "bogus", "stage": "upstream"}, "kind"),
        ({"code": "A", "name_zh": "甲", "kind": "segment", "stage": "sideways"}, "stage"),
        ({"code": "", "name_zh": "甲", "kind": "segment", "stage": "upstream"}, "code"),
        ({"code": "A B", "name_zh": "甲", "kind": "segment", "stage": "upstream"}, "code"),
        ({"code": "A", "kind": "segment", "stage": "upstream"}, "name_zh"),
        (
            {"code": "A", "name_zh": "甲", "kind": "segment", "stage": "upstream", "id": 5},
            "id",
        ),
        (
            {"code": "A", "name_zh": "甲", "kind": "segment", "stage": "upstream", "position": -1},
            "position",
        ),
    ]
    for payload, field in cases:
        r = client.post(f"{API}/chains/{chain.id}/nodes", json=payload)
        assert_problem(r, 422, "validation", field=field)
    assert node_count(db, chain.id) == 0


def test_create_node_invalid_json_is_400(client, db):
    chain = make_chain(db)
    r = client.post(
        f"{API}/chains/{chain.id}/nodes",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_problem(r, 400, "bad-request")


# ---------------------------------------------------------------- read / list


def test_read_node_with_etag(client, db):
    chain = make_chain(db)
    node = make_node(db, chain, name_zh="电池材料")
    r = client.get(f"{API}/nodes/{node.id}")
    assert r.status_code == 200
    assert r.json()["name_zh"] == "电池材料"
    assert r.headers["ETag"] == etag(node)


def test_read_unknown_node_is_404(client):
    assert_problem(client.get(f"{API}/nodes/999999"), 404, "not-found")


def test_list_nodes_filters_and_pagination(client, db):
    chain, other = make_chain(db), make_chain(db)
    root = make_node(db, chain, code="R", stage=Stage.UPSTREAM, position=2)
    make_node(
        db,
        chain,
        code="C1",
        name_zh="碳化硅衬底",
        parent_id=root.id,
        stage=Stage.UPSTREAM,
        assessment=Assessment.WEAK,
        gap_kind=GapKind.TECHNOLOGY,
    )
    make_node(db, chain, code="M", stage=Stage.MIDSTREAM, assessment=Assessment.STRONG, position=1)
    make_node(db, other, code="OTHER")

    def codes(**params):
        r = client.get(f"{API}/chains/{chain.id}/nodes", params=params)
        assert r.status_code == 200, r.text
        return [n["code"] for n in r.json()["items"]], r.json()["total"]

    assert codes() == (["C1", "M", "R"], 3)  # position then id: C1 (0), M (1), R (2)
    assert codes(stage="upstream")[0] == ["C1", "R"]
    assert codes(assessment="strong")[0] == ["M"]
    assert codes(unassessed="true")[0] == ["R"]
    assert codes(kind="segment")[1] == 3
    assert codes(gap_kind="technology")[0] == ["C1"]
    assert codes(parent_id=root.id)[0] == ["C1"]
    assert codes(top_level="true")[0] == ["M", "R"]
    assert codes(q="衬底")[0] == ["C1"]
    assert codes(sort="-code")[0] == ["R", "M", "C1"]
    items, total = codes(limit=1, offset=1)
    assert items == ["M"] and total == 3


def test_list_nodes_bad_input(client, db):
    chain = make_chain(db)
    assert_problem(client.get(f"{API}/chains/999999/nodes"), 404, "not-found")
    r = client.get(f"{API}/chains/{chain.id}/nodes", params={"sort": "bogus"})
    assert_problem(r, 422, "validation", field="sort")
    r = client.get(f"{API}/chains/{chain.id}/nodes", params={"stage": "sideways"})
    assert_problem(r, 422, "validation", field="stage")
    r = client.get(f"{API}/chains/{chain.id}/nodes", params={"limit": 100000})
    assert_problem(r, 422, "validation", field="limit")


# ---------------------------------------------------------------- update


def test_rename_and_reassess(client, db):
    chain = make_chain(db)
    node = make_node(db, chain, code="A", assessment=Assessment.WEAK, gap_kind=GapKind.SUPPLY)
    r = client.patch(
        f"{API}/nodes/{node.id}",
        json={"name_zh": "新名称", "assessment": "strong", "gap_kind": None},
        headers={"If-Match": etag(node)},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name_zh"] == "新名称"
    assert body["assessment"] == "strong"
    assert body["gap_kind"] is None
    assert body["version"] == 2
    assert r.headers["ETag"] == '"2"'


def test_reassess_strong_while_gap_kind_left_is_422(client, db):
    chain = make_chain(db)
    node = make_node(db, chain, assessment=Assessment.MISSING, gap_kind=GapKind.UPSTREAM)
    r = client.patch(
        f"{API}/nodes/{node.id}",
        json={"assessment": "strong"},
        headers={"If-Match": etag(node)},
    )
    assert_problem(r, 422, "validation", field="gap_kind")
    db.refresh(node)
    assert node.assessment == Assessment.MISSING and node.version == 1


def test_patch_requires_if_match_428_and_fresh_412(client, db):
    chain = make_chain(db)
    node = make_node(db, chain, name_zh="原名")
    r = client.patch(f"{API}/nodes/{node.id}", json={"name_zh": "改名"})
    assert_problem(r, 428, "precondition-required")
    r = client.patch(
        f"{API}/nodes/{node.id}", json={"name_zh": "改名"}, headers={"If-Match": '"7"'}
    )
    body = assert_problem(r, 412, "precondition-failed")
    assert body["current_etag"] == etag(node)
    db.refresh(node)
    assert node.name_zh == "原名" and node.version == 1


def test_patch_null_for_required_field_is_422(client, db):
    chain = make_chain(db)
    node = make_node(db, chain)
    for field in ("code", "name_zh", "stage"):
        r = client.patch(
            f"{API}/nodes/{node.id}", json={field: None}, headers={"If-Match": etag(node)}
        )
        assert_problem(r, 422, "validation", field=field)


def test_patch_unknown_node_is_404_and_extra_field_422(client, db):
    r = client.patch(f"{API}/nodes/999999", json={"name_zh": "x"}, headers={"If-Match": '"1"'})
    assert_problem(r, 404, "not-found")
    chain = make_chain(db)
    node = make_node(db, chain)
    r = client.patch(
        f"{API}/nodes/{node.id}", json={"chain_id": 5}, headers={"If-Match": etag(node)}
    )
    assert_problem(r, 422, "validation", field="chain_id")


def test_patch_duplicate_code_is_409(client, db):
    chain = make_chain(db)
    taken = make_node(db, chain, code="TAKEN")
    node = make_node(db, chain, code="MINE")
    r = client.patch(
        f"{API}/nodes/{node.id}", json={"code": "TAKEN"}, headers={"If-Match": etag(node)}
    )
    body = assert_problem(r, 409, "conflict", field="code")
    assert body["existing_id"] == taken.id
    db.refresh(node)
    assert node.code == "MINE"


def test_move_node(client, db):
    chain = make_chain(db)
    a, b = make_node(db, chain, code="A"), make_node(db, chain, code="B")
    child = make_node(db, chain, code="C", parent_id=a.id)
    r = client.patch(
        f"{API}/nodes/{child.id}", json={"parent_id": b.id}, headers={"If-Match": etag(child)}
    )
    assert r.status_code == 200, r.text
    assert r.json()["parent_id"] == b.id
    # and back to the top level
    r = client.patch(
        f"{API}/nodes/{child.id}", json={"parent_id": None}, headers={"If-Match": r.headers["ETag"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["parent_id"] is None


def test_move_under_own_descendant_is_409_with_path(client, db):
    chain = make_chain(db)
    a = make_node(db, chain, code="A")
    b = make_node(db, chain, code="B", parent_id=a.id)
    c = make_node(db, chain, code="C", parent_id=b.id)
    r = client.patch(f"{API}/nodes/{a.id}", json={"parent_id": c.id}, headers={"If-Match": etag(a)})
    body = assert_problem(r, 409, "conflict", field="parent_id")
    assert [p["code"] for p in body["path"]] == ["A", "B", "C"]
    db.refresh(a)
    assert a.parent_id is None and a.version == 1


def test_move_under_itself_is_409(client, db):
    chain = make_chain(db)
    a = make_node(db, chain, code="A")
    r = client.patch(f"{API}/nodes/{a.id}", json={"parent_id": a.id}, headers={"If-Match": etag(a)})
    body = assert_problem(r, 409, "conflict", field="parent_id")
    assert [p["code"] for p in body["path"]] == ["A"]


def test_move_to_other_chain_is_422(client, db):
    chain, other = make_chain(db), make_chain(db)
    node = make_node(db, chain)
    foreign = make_node(db, other)
    r = client.patch(
        f"{API}/nodes/{node.id}", json={"parent_id": foreign.id}, headers={"If-Match": etag(node)}
    )
    body = assert_problem(r, 422, "validation", field="parent_id")
    assert body["errors"][0]["code"] == "cross_chain"
    db.refresh(node)
    assert node.parent_id is None


# ---------------------------------------------------------------- delete


def test_delete_leaf_node_takes_its_relations(client, db):
    chain = make_chain(db)
    a, b = make_node(db, chain), make_node(db, chain)
    db.add(MapRelation(chain_id=chain.id, from_node_id=a.id, to_node_id=b.id))
    db.flush()
    r = client.delete(f"{API}/nodes/{b.id}", headers={"If-Match": etag(b)})
    assert r.status_code == 204, r.text
    assert node_count(db, chain.id) == 1
    assert relation_count(db, chain.id) == 0
    assert_problem(client.get(f"{API}/nodes/{b.id}"), 404, "not-found")


def test_delete_needs_if_match(client, db):
    chain = make_chain(db)
    node = make_node(db, chain)
    assert_problem(client.delete(f"{API}/nodes/{node.id}"), 428, "precondition-required")
    r = client.delete(f"{API}/nodes/{node.id}", headers={"If-Match": '"9"'})
    assert_problem(r, 412, "precondition-failed")
    assert node_count(db, chain.id) == 1
    assert_problem(
        client.delete(f"{API}/nodes/999999", headers={"If-Match": '"1"'}), 404, "not-found"
    )


def test_delete_refused_while_referenced(client, db):
    chain = make_chain(db)
    parent = make_node(db, chain)
    make_node(db, chain, parent_id=parent.id)
    r = client.delete(f"{API}/nodes/{parent.id}", headers={"If-Match": etag(parent)})
    body = assert_problem(r, 409, "conflict")
    assert body["references"]["children"] == 1

    member_node = make_node(db, chain)
    make_membership(db, make_enterprise(db), chain, node_id=member_node.id)
    r = client.delete(f"{API}/nodes/{member_node.id}", headers={"If-Match": etag(member_node)})
    assert assert_problem(r, 409, "conflict")["references"]["memberships"] == 1

    target_node = make_node(db, chain)
    project = make_project(db, chain)
    db.add(ProjectTarget(project_id=project.id, node_id=target_node.id, chain_id=chain.id))
    db.flush()
    r = client.delete(f"{API}/nodes/{target_node.id}", headers={"If-Match": etag(target_node)})
    assert assert_problem(r, 409, "conflict")["references"]["project_targets"] == 1

    listed_node = make_node(db, chain)
    chain_list = ChainList(chain_id=chain.id, list_type_id=make_list_type(db).id, period="2025")
    db.add(chain_list)
    db.flush()
    db.add(ListEntry(list_id=chain_list.id, chain_id=chain.id, title="x", node_id=listed_node.id))
    db.flush()
    r = client.delete(f"{API}/nodes/{listed_node.id}", headers={"If-Match": etag(listed_node)})
    assert assert_problem(r, 409, "conflict")["references"]["list_entries"] == 1

    assert node_count(db, chain.id) == 5


# ---------------------------------------------------------------- relations


def test_relation_create_list_read_delete(client, db):
    chain = make_chain(db)
    a, b, c = make_node(db, chain), make_node(db, chain), make_node(db, chain)
    r = client.post(
        f"{API}/chains/{chain.id}/relations",
        json={"from_node_id": a.id, "to_node_id": b.id, "description": "衬底供外延"},
    )
    assert r.status_code == 201, r.text
    rel = r.json()
    assert rel["kind"] == "supply" and rel["kind_label"] == "供应"
    assert r.headers["Location"] == f"{API}/relations/{rel['id']}"
    r = client.post(
        f"{API}/chains/{chain.id}/relations",
        json={"from_node_id": b.id, "to_node_id": c.id, "kind": "technology"},
    )
    assert r.status_code == 201, r.text

    r = client.get(f"{API}/chains/{chain.id}/relations")
    assert r.json()["total"] == 2
    r = client.get(f"{API}/chains/{chain.id}/relations", params={"node_id": c.id})
    assert [x["to_node_id"] for x in r.json()["items"]] == [c.id]
    r = client.get(f"{API}/chains/{chain.id}/relations", params={"kind": "supply"})
    assert r.json()["total"] == 1
    r = client.get(f"{API}/chains/{chain.id}/relations", params={"from_node_id": a.id})
    assert r.json()["items"][0]["id"] == rel["id"]

    assert client.get(f"{API}/relations/{rel['id']}").json()["description"] == "衬底供外延"
    assert client.delete(f"{API}/relations/{rel['id']}").status_code == 204
    assert relation_count(db, chain.id) == 1
    assert_problem(client.delete(f"{API}/relations/{rel['id']}"), 404, "not-found")
    assert_problem(client.get(f"{API}/relations/{rel['id']}"), 404, "not-found")


def test_relation_refusals(client, db):
    chain, other = make_chain(db), make_chain(db)
    a, b = make_node(db, chain), make_node(db, chain)
    foreign = make_node(db, other)
    url = f"{API}/chains/{chain.id}/relations"

    r = client.post(url, json={"from_node_id": a.id, "to_node_id": foreign.id})
    body = assert_problem(r, 422, "validation", field="to_node_id")
    assert body["errors"][0]["code"] == "cross_chain"
    r = client.post(url, json={"from_node_id": foreign.id, "to_node_id": a.id})
    assert_problem(r, 422, "validation", field="from_node_id")
    r = client.post(url, json={"from_node_id": 999999, "to_node_id": a.id})
    assert_problem(r, 422, "validation", field="from_node_id")
    r = client.post(url, json={"from_node_id": a.id, "to_node_id": a.id})
    assert_problem(r, 422, "validation", field="to_node_id")
    r = client.post(url, json={"from_node_id": a.id, "to_node_id": b.id, "kind": "love"})
    assert_problem(r, 422, "validation", field="kind")
    r = client.post(
        f"{API}/chains/999999/relations", json={"from_node_id": a.id, "to_node_id": b.id}
    )
    assert_problem(r, 404, "not-found")
    assert relation_count(db, chain.id) == 0

    assert client.post(url, json={"from_node_id": a.id, "to_node_id": b.id}).status_code == 201
    r = client.post(url, json={"from_node_id": a.id, "to_node_id": b.id, "kind": "supply"})
    assert_problem(r, 409, "conflict")
    assert relation_count(db, chain.id) == 1


def test_list_relations_bad_input(client, db):
    chain = make_chain(db)
    assert_problem(client.get(f"{API}/chains/999999/relations"), 404, "not-found")
    r = client.get(f"{API}/chains/{chain.id}/relations", params={"sort": "nope"})
    assert_problem(r, 422, "validation", field="sort")
