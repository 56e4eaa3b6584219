"""Lists per chain and period, and their entries, through HTTP (N张清单)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from chaintrack.models import ChainList, ListEntry
from tests.factories import (
    make_chain,
    make_enterprise,
    make_list_type,
    make_membership,
    make_node,
    make_project,
)
from tests.problems import problem_fields

API = "/api/v1"

FIELDS = [
    {"name": "technology", "label": "攻关技术", "type": "text", "required": True},
    {"name": "budget", "label": "投入（万元）", "type": "decimal"},
    {"name": "target_year", "label": "目标年份", "type": "integer"},
    {"name": "deadline", "label": "完成时间", "type": "date"},
    {"name": "is_bottleneck", "label": "是否“卡脖子”", "type": "boolean"},
    {"name": "priority", "label": "优先级", "type": "choice", "choices": ["高", "中", "低"]},
]


def _count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def _list(db, *, entry_ref=None, fields=FIELDS, chain=None, period="2025"):
    chain = chain or make_chain(db)
    lt = make_list_type(db, fields=fields, entry_ref=entry_ref)
    lst = ChainList(chain_id=chain.id, list_type_id=lt.id, period=period)
    db.add(lst)
    db.flush()
    return chain, lt, lst


def _entries(db, lst) -> int:
    return _count(db, ListEntry, ListEntry.list_id == lst.id)


# --- lists ----------------------------------------------------------------------


def test_create_list_read_and_list(client, db):
    chain = make_chain(db)
    lt = make_list_type(db)
    r = client.post(
        f"{API}/chains/{chain.id}/lists",
        json={"list_type_id": lt.id, "period": "2025-h1", "title": "上半年清单"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["period"] == "2025-H1"
    assert body["entry_count"] == 0
    assert body["list_type"]["code"] == lt.code
    assert body["list_type"]["fields"][0]["name"] == "note"
    assert r.headers["ETag"] == '"1"'

    r = client.get(f"{API}/lists/{body['id']}")
    assert r.status_code == 200 and r.json()["title"] == "上半年清单"

    for period in ("2025", "2025-Q3", "2025-03"):
        r = client.post(
            f"{API}/chains/{chain.id}/lists", json={"list_type_id": lt.id, "period": period}
        )
        assert r.status_code == 201, r.text
    other = make_list_type(db)
    client.post(f"{API}/chains/{chain.id}/lists", json={"list_type_id": other.id, "period": "2024"})

    r = client.get(f"{API}/chains/{chain.id}/lists")
    assert r.status_code == 200
    assert r.json()["total"] == 5
    r = client.get(f"{API}/chains/{chain.id}/lists", params={"type": other.code})
    assert [x["period"] for x in r.json()["items"]] == ["2024"]
    r = client.get(f"{API}/chains/{chain.id}/lists", params={"list_type_id": lt.id, "year": 2025})
    assert r.json()["total"] == 4
    r = client.get(f"{API}/chains/{chain.id}/lists", params={"period": "2025-q3"})
    assert [x["period"] for x in r.json()["items"]] == ["2025-Q3"]
    r = client.get(f"{API}/chains/{chain.id}/lists", params={"sort": "period"})
    assert r.json()["items"][0]["period"] == "2024"


def test_list_entry_counts_in_listing(client, db):
    chain, _lt, lst = _list(db)
    for i in range(3):
        db.add(ListEntry(list_id=lst.id, chain_id=chain.id, title=f"e{i}", attributes={}))
    db.flush()
    r = client.get(f"{API}/chains/{chain.id}/lists")
    assert r.json()["items"][0]["entry_count"] == 3
    assert client.get(f"{API}/lists/{lst.id}").json()["entry_count"] == 3


def test_create_list_bad_inputs_write_nothing(client, db):
    chain = make_chain(db)
    lt = make_list_type(db)
    inactive = make_list_type(db, is_active=False)
    before = _count(db, ChainList)
    for period in ("25", "2025-H3", "2025-Q5", "2025-13", "2025-00", "1999", "2025/03", ""):
        r = client.post(
            f"{API}/chains/{chain.id}/lists", json={"list_type_id": lt.id, "period": period}
        )
        assert r.status_code == 422, period
        assert r.json()["type"] == "urn:chaintrack:problem:validation"
        assert problem_fields(r.json()) == ["period"]
    r = client.post(
        f"{API}/chains/{chain.id}/lists", json={"list_type_id": 999999, "period": "2025"}
    )
    assert r.status_code == 422 and problem_fields(r.json()) == ["list_type_id"]
    r = client.post(f"{API}/chains/999999/lists", json={"list_type_id": lt.id, "period": "2025"})
    assert r.status_code == 404
    r = client.post(
        f"{API}/chains/{chain.id}/lists", json={"list_type_id": inactive.id, "period": "2025"}
    )
    assert r.status_code == 409 and r.json()["type"] == "urn:chaintrack:problem:conflict"
    r = client.post(
        f"{API}/chains/{chain.id}/lists",
        json={"list_type_id": lt.id, "period": "2025", "chain_id": 3},
    )
    assert r.status_code == 422 and problem_fields(r.json()) == ["chain_id"]
    assert _count(db, ChainList) == before


def test_duplicate_list_is_409_pointing_to_existing(client, db):
    chain, lt, lst = _list(db)
    before = _count(db, ChainList)
    r = client.post(
        f"{API}/chains/{chain.id}/lists", json={"list_type_id": lt.id, "period": "2025"}
    )
    assert r.status_code == 409
    assert r.json()["existing_id"] == lst.id
    assert r.json()["existing_url"] == f"{API}/lists/{lst.id}"
    assert _count(db, ChainList) == before


def test_patch_list(client, db):
    chain, lt, lst = _list(db)
    other = ChainList(chain_id=chain.id, list_type_id=lt.id, period="2024")
    db.add(other)
    db.flush()
    r = client.patch(f"{API}/lists/{lst.id}", json={"title": "x"})
    assert r.status_code == 428
    r = client.patch(f"{API}/lists/{lst.id}", json={"title": "x"}, headers={"If-Match": '"9"'})
    assert r.status_code == 412
    r = client.patch(f"{API}/lists/{lst.id}", json={"period": "2024"}, headers={"If-Match": '"1"'})
    assert r.status_code == 409 and r.json()["existing_id"] == other.id
    r = client.patch(f"{API}/lists/{lst.id}", json={"period": None}, headers={"If-Match": '"1"'})
    assert r.status_code == 422
    r = client.patch(f"{API}/lists/{lst.id}", json={"list_type_id": 1}, headers={"If-Match": '"1"'})
    assert r.status_code == 422 and problem_fields(r.json()) == ["list_type_id"]
    db.expire_all()
    assert db.get(ChainList, lst.id).version == 1
    r = client.patch(
        f"{API}/lists/{lst.id}",
        json={"title": "2025年清单", "period": "2025-Q1"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["period"] == "2025-Q1" and r.headers["ETag"] == '"2"'


def test_unknown_list_and_chain_are_404(client):
    assert client.get(f"{API}/lists/999999").status_code == 404
    assert client.get(f"{API}/lists/999999/entries").status_code == 404
    assert client.get(f"{API}/chains/999999/lists").status_code == 404
    assert client.get(f"{API}/list-entries/999999").status_code == 404


# --- entries: attributes ----------------------------------------------------------


def test_entry_attributes_are_normalised_and_round_trip(client, db):
    chain, _lt, lst = _list(db)
    attrs = {
        "technology": "  高纯电子化学品  ",
        "budget": "1250.50",
        "target_year": "2027",
        "deadline": "2026-06-30",
        "is_bottleneck": True,
        "priority": "高",
    }
    r = client.post(f"{API}/lists/{lst.id}/entries", json={"title": "攻关一", "attributes": attrs})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["attributes"] == {
        "technology": "高纯电子化学品",
        "budget": "1250.50",
        "target_year": 2027,
        "deadline": "2026-06-30",
        "is_bottleneck": True,
        "priority": "高",
    }
    assert body["chain_id"] == chain.id and body["position"] == 1
    assert r.headers["ETag"] == '"1"'
    r = client.get(f"{API}/list-entries/{body['id']}")
    assert r.json()["attributes"] == body["attributes"]
    db.expire_all()
    stored = db.get(ListEntry, body["id"]).attributes
    assert stored["budget"] == "1250.50" and stored["deadline"] == "2026-06-30"

    r = client.post(
        f"{API}/lists/{lst.id}/entries",
        json={
            "title": "攻关二",
            "attributes": {"technology": "x", "budget": "1E+3", "priority": None},
        },
    )
    assert r.status_code == 201
    assert r.json()["attributes"] == {"technology": "x", "budget": "1000"}
    assert r.json()["position"] == 2


def test_entry_attributes_that_do_not_match_the_type_are_422(client, db):
    _chain, _lt, lst = _list(db)
    cases = [
        ({}, "attributes.technology", "attribute_required"),
        ({"technology": "   "}, "attributes.technology", "attribute_required"),
        ({"technology": 5}, "attributes.technology", "attribute_type"),
        ({"technology": "x", "budget": 12.5}, "attributes.budget", "attribute_type"),
        ({"technology": "x", "budget": "abc"}, "attributes.budget", "attribute_type"),
        ({"technology": "x", "budget": "NaN"}, "attributes.budget", "attribute_type"),
        ({"technology": "x", "target_year": 2027.5}, "attributes.target_year", "attribute_type"),
        ({"technology": "x", "target_year": True}, "attributes.target_year", "attribute_type"),
        ({"technology": "x", "deadline": "2026-02-30"}, "attributes.deadline", "attribute_type"),
        ({"technology": "x", "deadline": "20260630"}, "attributes.deadline", "attribute_type"),
        ({"technology": "x", "is_bottleneck": "yes"}, "attributes.is_bottleneck", "attribute_type"),
        ({"technology": "x", "priority": "特高"}, "attributes.priority", "attribute_choice"),
        ({"technology": "x", "colour": "red"}, "attributes.colour", "attribute_unknown"),
    ]
    for attrs, field, code in cases:
        r = client.post(f"{API}/lists/{lst.id}/entries", json={"title": "t", "attributes": attrs})
        assert r.status_code == 422, (attrs, r.text)
        body = r.json()
        assert body["type"] == "urn:chaintrack:problem:validation"
        assert body["errors"][0]["field"] == field, (attrs, body)
        assert body["errors"][0]["code"] == code, (attrs, body)
        assert " / " in body["errors"][0]["message"]  # Chinese / English
    # Several problems at once are all reported.
    r = client.post(
        f"{API}/lists/{lst.id}/entries",
        json={"title": "t", "attributes": {"priority": "x", "budget": 1.5, "zz": 1}},
    )
    assert set(problem_fields(r.json())) == {
        "attributes.priority",
        "attributes.budget",
        "attributes.zz",
        "attributes.technology",
    }
    assert _entries(db, lst) == 0


def test_entry_body_refuses_server_fields(client, db):
    _chain, _lt, lst = _list(db)
    r = client.post(
        f"{API}/lists/{lst.id}/entries",
        json={"title": "t", "attributes": {"technology": "x"}, "chain_id": 1, "version": 4},
    )
    assert r.status_code == 422 and set(problem_fields(r.json())) == {"chain_id", "version"}
    r = client.post(f"{API}/lists/{lst.id}/entries", json={"attributes": {"technology": "x"}})
    assert r.status_code == 422 and problem_fields(r.json()) == ["title"]
    r = client.post(f"{API}/lists/999999/entries", json={"title": "t"})
    assert r.status_code == 404
    assert _entries(db, lst) == 0


# --- entries: references ----------------------------------------------------------


def test_node_and_project_references_resolved(client, db):
    chain, _lt, lst = _list(db, entry_ref="node", fields=[])
    node = make_node(db, chain, name_zh="高端芯片")
    r = client.post(f"{API}/lists/{lst.id}/entries", json={"title": "补链", "node_id": node.id})
    assert r.status_code == 201, r.text
    assert r.json()["node"] == {"id": node.id, "code": node.code, "name_zh": "高端芯片"}
    assert r.json()["enterprise"] is None and r.json()["project"] is None

    chain2, _lt2, plist = _list(db, entry_ref="project", fields=[])
    project = make_project(db, chain2, name="测试项目甲")
    r = client.post(
        f"{API}/lists/{plist.id}/entries", json={"title": "甲", "project_id": project.id}
    )
    assert r.status_code == 201, r.text
    assert r.json()["project"]["name"] == "测试项目甲"
    # The same project twice in one list is a duplicate.
    r = client.post(
        f"{API}/lists/{plist.id}/entries", json={"title": "甲2", "project_id": project.id}
    )
    assert r.status_code == 409
    assert r.json()["existing_id"] and r.json()["field"] == "project_id"
    assert _entries(db, plist) == 1


def test_cross_chain_node_and_project_are_422(client, db):
    chain, _lt, nlist = _list(db, entry_ref="node", fields=[])
    other = make_chain(db)
    foreign_node = make_node(db, other)
    r = client.post(
        f"{API}/lists/{nlist.id}/entries", json={"title": "x", "node_id": foreign_node.id}
    )
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == "node_id" and err["code"] == "cross_chain"
    assert str(other.id) in err["message"]

    _c, _t, plist = _list(db, entry_ref="project", fields=[], chain=chain)
    foreign_project = make_project(db, other)
    r = client.post(
        f"{API}/lists/{plist.id}/entries", json={"title": "x", "project_id": foreign_project.id}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "project_id"
    assert r.json()["errors"][0]["code"] == "cross_chain"

    r = client.post(f"{API}/lists/{plist.id}/entries", json={"title": "x", "project_id": 999999})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_reference"
    assert _entries(db, nlist) == 0 and _entries(db, plist) == 0


def test_enterprise_must_be_on_the_chain(client, db):
    chain, _lt, lst = _list(db, entry_ref="enterprise", fields=[])
    on_chain = make_enterprise(db, name="测试甲有限公司")
    make_membership(db, on_chain, chain)
    past = make_enterprise(db)
    make_membership(db, past, chain, ended_on=dt.date(2024, 12, 31))
    elsewhere = make_enterprise(db)
    make_membership(db, elsewhere, make_chain(db))

    r = client.post(
        f"{API}/lists/{lst.id}/entries", json={"title": "e", "enterprise_id": elsewhere.id}
    )
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == "enterprise_id" and err["code"] == "not_on_chain"
    r = client.post(f"{API}/lists/{lst.id}/entries", json={"title": "e", "enterprise_id": 999999})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_reference"
    assert _entries(db, lst) == 0

    r = client.post(
        f"{API}/lists/{lst.id}/entries", json={"title": "e", "enterprise_id": on_chain.id}
    )
    assert r.status_code == 201, r.text
    assert r.json()["enterprise"] == {
        "id": on_chain.id,
        "name": "测试甲有限公司",
        "uscc": on_chain.uscc,
    }
    r = client.post(f"{API}/lists/{lst.id}/entries", json={"title": "e", "enterprise_id": past.id})
    assert r.status_code == 201, r.text


def test_reference_kind_not_allowed_by_type_is_422(client, db):
    chain, _lt, lst = _list(db, entry_ref="enterprise", fields=[])
    node = make_node(db, chain)
    r = client.post(f"{API}/lists/{lst.id}/entries", json={"title": "e", "node_id": node.id})
    assert r.status_code == 422
    assert r.json()["errors"][0] | {"message": ""} == {
        "location": "body",
        "field": "node_id",
        "code": "reference_not_allowed",
        "message": "",
    }
    _c, _t, standalone = _list(db, entry_ref=None, fields=[], chain=chain)
    r = client.post(f"{API}/lists/{standalone.id}/entries", json={"title": "e", "node_id": node.id})
    assert r.status_code == 422 and problem_fields(r.json()) == ["node_id"]
    assert _entries(db, lst) == 0 and _entries(db, standalone) == 0


# --- entries: update, delete, order -------------------------------------------------


def _post_entry(client, lst, title="t", **kw):
    body = {"title": title, "attributes": {"technology": "x"}, **kw}
    r = client.post(f"{API}/lists/{lst.id}/entries", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_patch_entry_merges_and_revalidates(client, db):
    _chain, _lt, lst = _list(db)
    e = _post_entry(client, lst, attributes={"technology": "x", "priority": "高", "budget": "5"})
    url = f"{API}/list-entries/{e['id']}"
    r = client.patch(url, json={"title": "y"})
    assert r.status_code == 428
    assert r.json()["type"] == "urn:chaintrack:problem:precondition-required"
    r = client.patch(url, json={"title": "y"}, headers={"If-Match": '"2"'})
    assert r.status_code == 412
    assert r.json()["type"] == "urn:chaintrack:problem:precondition-failed"
    r = client.patch(url, json={"attributes": {"priority": "特高"}}, headers={"If-Match": '"1"'})
    assert r.status_code == 422 and problem_fields(r.json()) == ["attributes.priority"]
    r = client.patch(url, json={"attributes": {"technology": None}}, headers={"If-Match": '"1"'})
    assert r.status_code == 422 and problem_fields(r.json()) == ["attributes.technology"]
    r = client.patch(url, json={"title": None}, headers={"If-Match": '"1"'})
    assert r.status_code == 422
    db.expire_all()
    stored = db.get(ListEntry, e["id"])
    assert stored.version == 1 and stored.title == "t" and stored.attributes["priority"] == "高"

    r = client.patch(
        url,
        json={"title": "y", "attributes": {"priority": "低", "budget": None, "target_year": 2030}},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    assert r.json()["title"] == "y"
    assert r.json()["attributes"] == {"technology": "x", "priority": "低", "target_year": 2030}


def test_patch_entry_reference_checked(client, db):
    chain, _lt, lst = _list(db, entry_ref="node", fields=[])
    node = make_node(db, chain)
    e = client.post(f"{API}/lists/{lst.id}/entries", json={"title": "e", "node_id": node.id}).json()
    foreign = make_node(db, make_chain(db))
    r = client.patch(
        f"{API}/list-entries/{e['id']}", json={"node_id": foreign.id}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "cross_chain"
    r = client.patch(
        f"{API}/list-entries/{e['id']}", json={"node_id": None}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 200 and r.json()["node"] is None


def test_delete_entry(client, db):
    _chain, _lt, lst = _list(db)
    e = _post_entry(client, lst)
    url = f"{API}/list-entries/{e['id']}"
    assert client.delete(url).status_code == 428
    assert client.delete(url, headers={"If-Match": '"5"'}).status_code == 412
    assert _entries(db, lst) == 1
    r = client.delete(url, headers={"If-Match": '"1"'})
    assert r.status_code == 204
    assert _entries(db, lst) == 0
    assert client.get(url).status_code == 404


def test_reorder_entries(client, db):
    _chain, _lt, lst = _list(db)
    ids = [_post_entry(client, lst, title=f"t{i}")["id"] for i in range(3)]
    url = f"{API}/lists/{lst.id}/entries/order"
    new = [ids[2], ids[0], ids[1]]
    assert client.put(url, json={"entry_ids": new}).status_code == 428
    assert client.put(url, json={"entry_ids": new}, headers={"If-Match": '"4"'}).status_code == 412
    for bad, key in (
        ([ids[0], ids[1]], "missing_ids"),
        ([*ids, 999999], "unknown_ids"),
        ([ids[0], ids[0], ids[1], ids[2]], "duplicate_ids"),
    ):
        r = client.put(url, json={"entry_ids": bad}, headers={"If-Match": '"1"'})
        assert r.status_code == 422, bad
        assert problem_fields(r.json()) == ["entry_ids"] and r.json()[key]
    positions = db.scalars(
        select(ListEntry.id).where(ListEntry.list_id == lst.id).order_by(ListEntry.position)
    ).all()
    assert positions == ids

    r = client.put(url, json={"entry_ids": new}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json() == {"list_id": lst.id, "entry_ids": new}
    assert r.headers["ETag"] == '"2"'
    r = client.get(f"{API}/lists/{lst.id}/entries")
    assert [x["id"] for x in r.json()["items"]] == new
    assert [x["position"] for x in r.json()["items"]] == [1, 2, 3]


def test_entries_paginated_and_filtered(client, db):
    _chain, _lt, lst = _list(db)
    for i in range(5):
        _post_entry(client, lst, title=f"条目{i}")
    r = client.get(f"{API}/lists/{lst.id}/entries", params={"limit": 2, "offset": 2})
    assert r.json()["total"] == 5
    assert [x["title"] for x in r.json()["items"]] == ["条目2", "条目3"]
    r = client.get(f"{API}/lists/{lst.id}/entries", params={"q": "目4"})
    assert r.json()["total"] == 1


def test_entries_statement_count_does_not_grow(client, db, count_statements):
    def build(n):
        chain, _lt, lst = _list(db, entry_ref="enterprise", fields=[])
        for i in range(n):
            ent = make_enterprise(db)
            make_membership(db, ent, chain)
            db.add(
                ListEntry(
                    list_id=lst.id,
                    chain_id=chain.id,
                    position=i,
                    title=f"e{i}",
                    enterprise_id=ent.id,
                    attributes={},
                )
            )
        db.flush()
        return lst

    small, large = build(2), build(25)
    counts = []
    for lst in (small, large):
        with count_statements() as c:
            r = client.get(f"{API}/lists/{lst.id}/entries", params={"limit": 100})
        assert r.status_code == 200
        assert all(x["enterprise"]["name"] for x in r.json()["items"])
        counts.append(c.count)
    assert counts[0] == counts[1] <= 3


def test_chain_lists_statement_count_does_not_grow(client, db, count_statements):
    def build(n):
        chain = make_chain(db)
        for i in range(n):
            _c, _t, lst = _list(db, chain=chain, fields=[], period=str(2000 + i))
            db.add(ListEntry(list_id=lst.id, chain_id=chain.id, title="e", attributes={}))
        db.flush()
        return chain

    counts = []
    for chain in (build(2), build(15)):
        with count_statements() as c:
            r = client.get(f"{API}/chains/{chain.id}/lists", params={"limit": 100})
        assert r.status_code == 200 and all(x["entry_count"] == 1 for x in r.json()["items"])
        counts.append(c.count)
    assert counts[0] == counts[1] <= 3
