"""Map versions: publish a frozen snapshot, list, read, diff (version↔version, version↔live)."""

from __future__ import annotations

from sqlalchemy import func, select

from chaintrack.history import office_today
from chaintrack.models import MapRelation, MapVersion
from chaintrack.models.enums import Assessment, GapKind, Stage
from tests.factories import make_chain, make_node

API = "/api/v1"


def version_count(db, chain_id: int) -> int:
    return db.scalar(
        select(func.count()).select_from(MapVersion).where(MapVersion.chain_id == chain_id)
    )


def patch(client, node_id: int, **changes):
    etag = client.get(f"{API}/nodes/{node_id}").headers["ETag"]
    r = client.patch(f"{API}/nodes/{node_id}", json=changes, headers={"If-Match": etag})
    assert r.status_code == 200, r.text
    return r.json()


def test_publish_list_and_read(client, db):
    chain = make_chain(db)
    a = make_node(db, chain, code="A", stage=Stage.UPSTREAM, assessment=Assessment.STRONG)
    b = make_node(db, chain, code="B", parent_id=a.id, stage=Stage.UPSTREAM)
    db.add(MapRelation(chain_id=chain.id, from_node_id=a.id, to_node_id=b.id))
    db.flush()

    r = client.post(
        f"{API}/chains/{chain.id}/map-versions",
        json={"label": "图谱1.0", "published_on": "2024-12-31", "note": "首版"},
    )
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert v1["number"] == 1 and v1["label"] == "图谱1.0" and v1["published_on"] == "2024-12-31"
    assert "snapshot" not in v1
    assert r.headers["Location"] == f"{API}/map-versions/{v1['id']}"

    r = client.post(f"{API}/chains/{chain.id}/map-versions", json={})
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert v2["number"] == 2 and v2["label"] is None
    assert v2["published_on"] == office_today().isoformat()

    r = client.get(f"{API}/chains/{chain.id}/map-versions")
    assert r.status_code == 200
    assert r.json()["total"] == 2
    assert [v["number"] for v in r.json()["items"]] == [2, 1]
    assert all("snapshot" not in v for v in r.json()["items"])
    r = client.get(f"{API}/chains/{chain.id}/map-versions", params={"sort": "number"})
    assert [v["number"] for v in r.json()["items"]] == [1, 2]

    r = client.get(f"{API}/map-versions/{v1['id']}")
    assert r.status_code == 200
    snap = r.json()["snapshot"]
    assert [n["code"] for n in snap["nodes"]] == ["A", "B"]
    assert snap["nodes"][0]["assessment"] == "strong"
    assert snap["nodes"][1]["parent_id"] == a.id
    assert snap["relations"][0]["from_node_id"] == a.id
    assert snap["relations"][0]["kind"] == "supply"


def test_snapshot_is_frozen(client, db):
    chain = make_chain(db)
    a = make_node(db, chain, code="A", name_zh="原名")
    v1 = client.post(f"{API}/chains/{chain.id}/map-versions", json={}).json()
    patch(client, a.id, name_zh="新名")
    snap = client.get(f"{API}/map-versions/{v1['id']}").json()["snapshot"]
    assert snap["nodes"][0]["name_zh"] == "原名"


def test_publish_refusals(client, db):
    chain = make_chain(db)
    r = client.post(f"{API}/chains/999999/map-versions", json={})
    assert r.status_code == 404
    assert r.json()["type"] == "urn:chaintrack:problem:not-found"

    r = client.post(f"{API}/chains/{chain.id}/map-versions", json={"number": 7})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "number"
    r = client.post(f"{API}/chains/{chain.id}/map-versions", json={"published_on": "yesterday"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "published_on"
    assert version_count(db, chain.id) == 0

    assert (
        client.post(f"{API}/chains/{chain.id}/map-versions", json={"label": "2.0"}).status_code
        == 201
    )
    r = client.post(f"{API}/chains/{chain.id}/map-versions", json={"label": "2.0"})
    assert r.status_code == 409
    body = r.json()
    assert body["type"] == "urn:chaintrack:problem:conflict"
    assert body["existing_number"] == 1
    assert body["errors"][0]["field"] == "label"
    assert version_count(db, chain.id) == 1


def test_numbers_are_per_chain(client, db):
    c1, c2 = make_chain(db), make_chain(db)
    client.post(f"{API}/chains/{c1.id}/map-versions", json={})
    client.post(f"{API}/chains/{c1.id}/map-versions", json={})
    r = client.post(f"{API}/chains/{c2.id}/map-versions", json={})
    assert r.json()["number"] == 1


def test_read_and_list_bad_input(client, db):
    r = client.get(f"{API}/map-versions/999999")
    assert r.status_code == 404
    assert r.json()["type"] == "urn:chaintrack:problem:not-found"
    assert client.get(f"{API}/chains/999999/map-versions").status_code == 404
    chain = make_chain(db)
    r = client.get(f"{API}/chains/{chain.id}/map-versions", params={"sort": "label"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "sort"


def test_diff_between_versions_and_with_live(client, db):
    chain = make_chain(db)
    root_a = make_node(db, chain, code="A", stage=Stage.UPSTREAM)
    root_b = make_node(db, chain, code="B", stage=Stage.MIDSTREAM)
    child = make_node(
        db,
        chain,
        code="C",
        name_zh="碳化硅",
        parent_id=root_a.id,
        stage=Stage.UPSTREAM,
        assessment=Assessment.MISSING,
        gap_kind=GapKind.TECHNOLOGY,
    )
    gone = make_node(db, chain, code="GONE")
    db.add(MapRelation(chain_id=chain.id, from_node_id=child.id, to_node_id=root_b.id))
    db.add(MapRelation(chain_id=chain.id, from_node_id=gone.id, to_node_id=root_b.id))
    db.flush()
    assert (
        client.post(f"{API}/chains/{chain.id}/map-versions", json={"label": "1.0"}).status_code
        == 201
    )

    # changes: re-assess + move + rename C, remove GONE (and its relation), add D with a relation
    patch(client, child.id, assessment="weak", gap_kind="supply")
    patch(client, child.id, parent_id=root_b.id, name_zh="碳化硅衬底")
    etag = client.get(f"{API}/nodes/{gone.id}").headers["ETag"]
    assert client.delete(f"{API}/nodes/{gone.id}", headers={"If-Match": etag}).status_code == 204
    r = client.post(
        f"{API}/chains/{chain.id}/nodes",
        json={"code": "D", "name_zh": "外延", "kind": "segment", "stage": "midstream"},
    )
    new_id = r.json()["id"]
    r = client.post(
        f"{API}/chains/{chain.id}/relations",
        json={"from_node_id": root_a.id, "to_node_id": new_id},
    )
    assert r.status_code == 201

    # version vs live
    r = client.get(f"{API}/chains/{chain.id}/map-versions/diff", params={"from_number": 1})
    assert r.status_code == 200, r.text
    live = r.json()
    assert live["from_version"]["number"] == 1
    assert live["to_version"]["number"] is None

    assert (
        client.post(f"{API}/chains/{chain.id}/map-versions", json={"label": "2.0"}).status_code
        == 201
    )
    r = client.get(
        f"{API}/chains/{chain.id}/map-versions/diff", params={"from_number": 1, "to_number": 2}
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["from_version"] == {
        "number": 1,
        "label": "1.0",
        "published_on": d["from_version"]["published_on"],
    }
    assert d["to_version"]["number"] == 2
    assert [n["code"] for n in d["nodes_added"]] == ["D"]
    assert [n["code"] for n in d["nodes_removed"]] == ["GONE"]
    assert d["nodes_reassessed"] == [
        {
            "id": child.id,
            "code": "C",
            "name_zh": "碳化硅衬底",
            "old_assessment": "missing",
            "new_assessment": "weak",
            "old_gap_kind": "technology",
            "new_gap_kind": "supply",
        }
    ]
    assert d["nodes_moved"] == [
        {
            "id": child.id,
            "code": "C",
            "name_zh": "碳化硅衬底",
            "old_parent_id": root_a.id,
            "new_parent_id": root_b.id,
            "old_parent_code": "A",
            "new_parent_code": "B",
        }
    ]
    assert d["nodes_renamed"][0]["old_name_zh"] == "碳化硅"
    assert d["nodes_renamed"][0]["new_name_zh"] == "碳化硅衬底"
    assert [(x["from_node_id"], x["to_node_id"]) for x in d["relations_added"]] == [
        (root_a.id, new_id)
    ]
    assert [(x["from_node_id"], x["to_node_id"]) for x in d["relations_removed"]] == [
        (gone.id, root_b.id)
    ]
    assert d["summary"] == {
        "nodes_added": 1,
        "nodes_removed": 1,
        "nodes_reassessed": 1,
        "nodes_moved": 1,
        "nodes_renamed": 1,
        "relations_added": 1,
        "relations_removed": 1,
    }
    # live diff before publishing v2 saw the same changes
    assert live["summary"] == d["summary"]

    # v2 vs live: nothing changed since
    r = client.get(f"{API}/chains/{chain.id}/map-versions/diff", params={"from_number": 2})
    assert all(v == 0 for v in r.json()["summary"].values())


def test_diff_unknown_versions_are_404(client, db):
    chain = make_chain(db)
    client.post(f"{API}/chains/{chain.id}/map-versions", json={})
    url = f"{API}/chains/{chain.id}/map-versions/diff"
    r = client.get(url, params={"from_number": 5})
    assert r.status_code == 404
    assert r.json()["type"] == "urn:chaintrack:problem:not-found"
    assert r.json()["errors"][0]["field"] == "from_number"
    r = client.get(url, params={"from_number": 1, "to_number": 9})
    assert r.status_code == 404
    assert r.json()["errors"][0]["field"] == "to_number"
    assert (
        client.get(f"{API}/chains/999999/map-versions/diff", params={"from_number": 1}).status_code
        == 404
    )
    # another chain's version number is not this chain's
    other = make_chain(db)
    r = client.get(f"{API}/chains/{other.id}/map-versions/diff", params={"from_number": 1})
    assert r.status_code == 404
    # missing or malformed query parameter
    r = client.get(url)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "from_number"
    r = client.get(url, params={"from_number": 0})
    assert r.status_code == 422
