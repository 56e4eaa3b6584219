"""GET /chains/{id}/map: the nested tree, enterprise counts, summary, fixed statement count."""

from __future__ import annotations

import datetime as dt

from chaintrack.history import office_today
from chaintrack.models import MapRelation
from chaintrack.models.enums import Assessment, GapKind, MembershipRole, NodeKind, Stage
from tests.factories import make_chain, make_enterprise, make_membership, make_node

API = "/api/v1"


def build_map(db, chain, n_nodes: int) -> list:
    """A map of ``n_nodes`` nodes: three levels, memberships and relations on many nodes."""
    nodes: list = []
    stages = list(Stage)
    assessments = [Assessment.STRONG, Assessment.WEAK, Assessment.MISSING, None]
    for i in range(n_nodes):
        parent = nodes[(i - 1) // 3] if i > 0 and i % 4 else None
        assessment = assessments[i % 4]
        node = make_node(
            db,
            chain,
            code=f"M{i}",
            stage=parent.stage if parent is not None else stages[i % 3],
            kind=NodeKind.SEGMENT if parent is None else NodeKind.PRODUCT,
            parent_id=parent.id if parent is not None else None,
            assessment=assessment,
            gap_kind=GapKind.SUPPLY if assessment == Assessment.WEAK else None,
            position=n_nodes - i,
        )
        nodes.append(node)
        if i % 2 == 0:
            make_membership(db, make_enterprise(db), chain, node_id=node.id)
        if i > 0:
            db.add(MapRelation(chain_id=chain.id, from_node_id=nodes[i - 1].id, to_node_id=node.id))
    db.flush()
    return nodes


def walk(groups):
    for group in groups:
        stack = list(group["nodes"])
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node["children"])


def test_map_tree_counts_and_summary(client, db):
    chain = make_chain(db, name_zh="第三代半导体")
    up = make_node(db, chain, code="UP", stage=Stage.UPSTREAM, position=1)
    up2 = make_node(db, chain, code="UP2", stage=Stage.UPSTREAM, position=0)
    mid = make_node(db, chain, code="MID", stage=Stage.MIDSTREAM, assessment=Assessment.STRONG)
    c_late = make_node(db, chain, code="C-LATE", parent_id=up.id, stage=Stage.UPSTREAM, position=5)
    c_early = make_node(
        db,
        chain,
        code="C-EARLY",
        parent_id=up.id,
        stage=Stage.UPSTREAM,
        position=1,
        assessment=Assessment.MISSING,
        gap_kind=GapKind.TECHNOLOGY,
    )
    grand = make_node(
        db, chain, code="G", parent_id=c_early.id, stage=Stage.UPSTREAM, assessment=Assessment.WEAK
    )
    # memberships: two current on C-EARLY (one enterprise twice counts once), one ended,
    # one future, one on another node
    e1, e2, e3, e4 = (make_enterprise(db) for _ in range(4))
    make_membership(db, e1, chain, node_id=c_early.id)
    make_membership(  # the same enterprise in a second role (roles may not overlap)
        db,
        e1,
        chain,
        node_id=c_early.id,
        started_on=dt.date(2024, 6, 1),
        role=MembershipRole.LEADING,
    )
    make_membership(db, e2, chain, node_id=c_early.id)
    make_membership(
        db,
        e3,
        chain,
        node_id=c_early.id,
        ended_on=dt.date(2024, 3, 1),
        started_on=dt.date(2024, 1, 1),
    )
    make_membership(db, e4, chain, node_id=mid.id, started_on=dt.date(2030, 1, 1))
    make_membership(db, e4, chain)  # no node
    db.add(MapRelation(chain_id=chain.id, from_node_id=grand.id, to_node_id=mid.id))
    db.flush()

    r = client.get(f"{API}/chains/{chain.id}/map")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["chain"] == {
        "id": chain.id,
        "code": chain.code,
        "name_zh": "第三代半导体",
        "name_en": chain.name_en,
    }
    assert body["as_of"] == office_today().isoformat()
    assert [g["stage"] for g in body["stages"]] == ["upstream", "midstream", "downstream"]
    upstream = body["stages"][0]
    assert upstream["stage_label"] == "上游"
    assert [n["code"] for n in upstream["nodes"]] == ["UP2", "UP"]
    up_out = upstream["nodes"][1]
    assert [n["code"] for n in up_out["children"]] == ["C-EARLY", "C-LATE"]
    early = up_out["children"][0]
    assert early["enterprise_count"] == 2
    assert early["assessment_label"] == "缺链（断链）"
    assert early["gap_kind_label"] == "技术缺口"
    assert [n["code"] for n in early["children"]] == ["G"]
    assert [n["code"] for n in body["stages"][1]["nodes"]] == ["MID"]
    assert body["stages"][1]["nodes"][0]["enterprise_count"] == 0
    assert body["stages"][2]["nodes"] == []
    assert body["relations"] == [
        {
            "id": body["relations"][0]["id"],
            "from_node_id": grand.id,
            "to_node_id": mid.id,
            "kind": "supply",
            "kind_label": "供应",
            "description": None,
        }
    ]
    assert body["summary"] == {
        "nodes_total": 6,
        "strong": 1,
        "weak": 1,
        "missing": 1,
        "unassessed": 3,
        "nodes_with_enterprises": 1,
        "relations_total": 1,
    }
    assert {n["id"] for n in walk(body["stages"])} == {
        up.id,
        up2.id,
        mid.id,
        c_late.id,
        c_early.id,
        grand.id,
    }

    # as_of in the past: the ended membership counted, the later one not yet
    r = client.get(f"{API}/chains/{chain.id}/map", params={"as_of": "2024-02-01"})
    counts = {n["code"]: n["enterprise_count"] for n in walk(r.json()["stages"])}
    assert counts["C-EARLY"] == 3
    # a membership ending on as_of is no longer current that day
    r = client.get(f"{API}/chains/{chain.id}/map", params={"as_of": "2024-03-01"})
    counts = {n["code"]: n["enterprise_count"] for n in walk(r.json()["stages"])}
    assert counts["C-EARLY"] == 2
    r = client.get(f"{API}/chains/{chain.id}/map", params={"as_of": "2031-01-01"})
    counts = {n["code"]: n["enterprise_count"] for n in walk(r.json()["stages"])}
    assert counts["MID"] == 1


def test_empty_map(client, db):
    chain = make_chain(db)
    r = client.get(f"{API}/chains/{chain.id}/map")
    assert r.status_code == 200
    assert r.json()["summary"]["nodes_total"] == 0
    assert all(g["nodes"] == [] for g in r.json()["stages"])


def test_map_bad_input(client, db):
    r = client.get(f"{API}/chains/999999/map")
    assert r.status_code == 404
    assert r.json()["type"] == "urn:chaintrack:problem:not-found"
    chain = make_chain(db)
    r = client.get(f"{API}/chains/{chain.id}/map", params={"as_of": "2024-13-01"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "as_of"


def test_map_statement_count_does_not_grow(client, db, count_statements):
    small, large = make_chain(db), make_chain(db)
    build_map(db, small, 5)
    build_map(db, large, 60)

    with count_statements() as c_small:
        r = client.get(f"{API}/chains/{small.id}/map")
    assert r.status_code == 200
    assert r.json()["summary"]["nodes_total"] == 5

    with count_statements() as c_large:
        r = client.get(f"{API}/chains/{large.id}/map")
    assert r.status_code == 200
    body = r.json()
    assert body["summary"]["nodes_total"] == 60
    assert body["summary"]["relations_total"] == 59
    assert body["summary"]["nodes_with_enterprises"] == 30
    assert sum(1 for _ in walk(body["stages"])) == 60

    assert c_small.count == c_large.count, (c_small.statements, c_large.statements)
    assert c_large.count <= 4
