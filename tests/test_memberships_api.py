"""Chain memberships (链上企业) and chain-master enterprises (链主) through HTTP."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from chaintrack.history import office_today
from chaintrack.memberships.service import current_on
from chaintrack.models import Membership
from chaintrack.models.enums import MembershipRole
from tests.factories import make_chain, make_enterprise, make_membership, make_node
from tests.problems import assert_problem

API = "/api/v1"
TODAY = office_today()


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(Membership))


def _ids(r) -> list[int]:
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["items"]]


# --- register -----------------------------------------------------------------------


def test_register_enterprise_to_chain(client, db):
    chain = make_chain(db)
    node = make_node(db, chain, name_zh="关键零部件")
    ent = make_enterprise(db, name="示例精密机械有限公司", region_code="370600")
    r = client.post(
        f"{API}/chains/{chain.id}/memberships",
        json={
            "enterprise_id": ent.id,
            "node_id": node.id,
            "role": "leading",
            "started_on": "2024-01-01",
            "note": "2024年名单",
        },
    )
    assert r.status_code == 201, r.text
    m = r.json()
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"{API}/memberships/{m['id']}"
    assert m["enterprise"] == {
        "id": ent.id,
        "uscc": ent.uscc,
        "name": "示例精密机械有限公司",
        "region_code": "370600",
    }
    assert m["chain"]["code"] == chain.code and m["chain_id"] == chain.id
    assert m["node"] == {"id": node.id, "code": node.code, "name_zh": "关键零部件"}
    assert m["role"] == "leading" and m["role_label"] == "龙头骨干企业"
    assert m["ended_on"] is None and m["note"] == "2024年名单"

    r = client.get(f"{API}/memberships/{m['id']}")
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'
    assert r.json()["enterprise"]["uscc"] == ent.uscc


def test_register_bad_references_write_nothing(client, db):
    chain = make_chain(db)
    other_chain = make_chain(db, name_zh="别的链")
    foreign_node = make_node(db, other_chain)
    ent = make_enterprise(db)
    url = f"{API}/chains/{chain.id}/memberships"
    base = {"enterprise_id": ent.id, "role": "supporting", "started_on": "2024-01-01"}
    before = _count(db)

    body = assert_problem(
        client.post(url, json={**base, "enterprise_id": 999999}), 422, field="enterprise_id"
    )
    assert body["errors"][0]["code"] == "unknown_reference"
    assert_problem(client.post(url, json={**base, "node_id": 999999}), 422, field="node_id")
    body = assert_problem(
        client.post(url, json={**base, "node_id": foreign_node.id}), 422, field="node_id"
    )
    assert body["errors"][0]["code"] == "cross_chain"
    assert other_chain.code in body["detail"] and "别的链" in body["detail"]
    assert_problem(client.post(url, json={**base, "role": "boss"}), 422, field="role")
    assert_problem(
        client.post(url, json={**base, "started_on": "2024-13-01"}), 422, field="started_on"
    )
    assert_problem(client.post(url, json={**base, "chain_id": chain.id}), 422, field="chain_id")
    assert_problem(client.post(url, json={**base, "ended_on": "2025-01-01"}), 422, field="ended_on")
    assert_problem(client.post(url, json={"role": "leading"}), 422, field="enterprise_id")
    assert_problem(
        client.post(f"{API}/chains/999999/memberships", json=base), 404, slug="not-found"
    )
    assert _count(db) == before


def test_duplicate_current_membership_is_409(client, db):
    chain = make_chain(db)
    node = make_node(db, chain)
    ent = make_enterprise(db)
    existing = make_membership(db, ent, chain, node_id=node.id, role=MembershipRole.LEADING)
    url = f"{API}/chains/{chain.id}/memberships"
    before = _count(db)
    body = assert_problem(
        client.post(
            url,
            json={
                "enterprise_id": ent.id,
                "node_id": node.id,
                "role": "leading",
                "started_on": "2025-03-01",
            },
        ),
        409,
        slug="conflict",
    )
    assert body["existing_id"] == existing.id
    assert body["existing"] == f"{API}/memberships/{existing.id}"
    assert _count(db) == before

    # Same enterprise, other role or other node (or no node): allowed.
    for extra in ({"role": "chain_master", "node_id": node.id}, {"role": "leading"}):
        r = client.post(url, json={"enterprise_id": ent.id, "started_on": "2025-03-01", **extra})
        assert r.status_code == 201, r.text
    # Without a node, the node-less leading membership is now the duplicate.
    body = assert_problem(
        client.post(
            url, json={"enterprise_id": ent.id, "role": "leading", "started_on": "2025-04-01"}
        ),
        409,
    )
    assert body["existing_id"] != existing.id


def test_reregister_after_end(client, db):
    chain = make_chain(db)
    ent = make_enterprise(db)
    old = make_membership(
        db, ent, chain, started_on=dt.date(2020, 1, 1), ended_on=dt.date(2023, 1, 1)
    )
    url = f"{API}/chains/{chain.id}/memberships"
    # Overlapping the ended period: refused.
    body = assert_problem(
        client.post(
            url,
            json={"enterprise_id": ent.id, "role": "supporting", "started_on": "2022-06-01"},
        ),
        409,
    )
    assert body["existing_id"] == old.id
    r = client.post(
        url, json={"enterprise_id": ent.id, "role": "supporting", "started_on": "2023-01-01"}
    )
    assert r.status_code == 201, r.text


# --- list ---------------------------------------------------------------------------


def test_list_chain_memberships_filters(client, db):
    chain = make_chain(db)
    n1 = make_node(db, chain)
    n2 = make_node(db, chain)
    jinan = make_enterprise(db, name="济南甲科技有限公司", region_code="370102")
    laiwu = make_enterprise(db, name="莱芜乙钢铁有限公司", region_code="371202")
    yantai = make_enterprise(db, name="烟台丙化工有限公司", region_code="370602")
    gone = make_enterprise(db, name="已出链丁有限公司", region_code="370102")
    future = make_enterprise(db, name="未来戊有限公司", region_code="370102")
    m_jinan = make_membership(db, jinan, chain, node_id=n1.id, role=MembershipRole.CHAIN_MASTER)
    m_laiwu = make_membership(db, laiwu, chain, node_id=n2.id, role=MembershipRole.LEADING)
    m_yantai = make_membership(db, yantai, chain, node_id=n1.id)
    m_gone = make_membership(
        db, gone, chain, started_on=dt.date(2020, 1, 1), ended_on=dt.date(2024, 6, 1)
    )
    m_future = make_membership(db, future, chain, started_on=TODAY + dt.timedelta(days=30))
    make_membership(db, jinan, make_chain(db))  # another chain: never listed here
    url = f"{API}/chains/{chain.id}/memberships"

    r = client.get(url)
    # Default: current today, ordered by role then name.
    assert _ids(r) == [m_jinan.id, m_laiwu.id, m_yantai.id]
    assert r.json()["total"] == 3
    item = r.json()["items"][0]
    assert set(item["enterprise"]) == {"id", "uscc", "name", "region_code"}
    assert item["node"]["id"] == n1.id

    assert set(_ids(client.get(url, params={"current": "false"}))) == {
        m_jinan.id,
        m_laiwu.id,
        m_yantai.id,
        m_gone.id,
        m_future.id,
    }
    assert set(_ids(client.get(url, params={"as_of": "2024-05-31"}))) == {
        m_jinan.id,
        m_laiwu.id,
        m_yantai.id,
        m_gone.id,
    }
    # ended_on is the first day no longer on the chain.
    assert m_gone.id not in _ids(client.get(url, params={"as_of": "2024-06-01"}))
    assert _ids(client.get(url, params={"role": "leading"})) == [m_laiwu.id]
    assert _ids(client.get(url, params={"node_id": n1.id})) == [m_jinan.id, m_yantai.id]
    # Region via the enterprise: 济南 covers its districts and the old 莱芜 codes.
    assert _ids(client.get(url, params={"region_code": "370100"})) == [m_jinan.id, m_laiwu.id]
    assert _ids(client.get(url, params={"region_code": "370600"})) == [m_yantai.id]
    assert len(_ids(client.get(url, params={"region_code": "370000"}))) == 3
    assert _ids(client.get(url, params={"q": "烟台丙"})) == [m_yantai.id]
    assert _ids(client.get(url, params={"q": laiwu.uscc.lower()})) == [m_laiwu.id]
    assert _ids(client.get(url, params={"sort": "-region_code"})) == [
        m_laiwu.id,
        m_yantai.id,
        m_jinan.id,
    ]
    r = client.get(url, params={"sort": "name", "limit": 1, "offset": 1})
    assert r.json()["total"] == 3 and len(r.json()["items"]) == 1

    assert_problem(client.get(url, params={"sort": "revenue"}), 422, field="sort")
    assert_problem(client.get(url, params={"role": "boss"}), 422, field="role")
    assert_problem(client.get(url, params={"as_of": "yesterday"}), 422, field="as_of")
    assert_problem(client.get(url, params={"region_code": "37"}), 422, field="region_code")
    assert_problem(client.get(f"{API}/chains/999999/memberships"), 404)


def test_list_chain_memberships_statement_count_does_not_grow(client, db, count_statements):
    chain = make_chain(db)
    node = make_node(db, chain)

    def add(n: int) -> None:
        for i in range(n):
            ent = make_enterprise(db)
            make_membership(db, ent, chain, node_id=node.id if i % 2 else None)

    add(3)
    with count_statements() as small:
        r = client.get(f"{API}/chains/{chain.id}/memberships", params={"region_code": "370000"})
    assert r.json()["total"] == 3
    add(27)
    with count_statements() as large:
        r = client.get(f"{API}/chains/{chain.id}/memberships", params={"region_code": "370000"})
    assert r.json()["total"] == 30 and len(r.json()["items"]) == 30
    assert large.count == small.count
    assert small.count <= 4  # chain check, region successors, count, page


def test_masters(client, db):
    chain = make_chain(db)
    master = make_membership(db, make_enterprise(db), chain, role=MembershipRole.CHAIN_MASTER)
    former = make_membership(
        db,
        make_enterprise(db),
        chain,
        role=MembershipRole.CHAIN_MASTER,
        started_on=dt.date(2021, 1, 1),
        ended_on=dt.date(2023, 12, 31),
    )
    make_membership(db, make_enterprise(db), chain, role=MembershipRole.LEADING)
    url = f"{API}/chains/{chain.id}/masters"
    r = client.get(url)
    assert _ids(r) == [master.id]
    assert r.json()["items"][0]["role_label"] == "链主企业"
    assert _ids(client.get(url, params={"as_of": "2022-01-01"})) == [former.id]
    assert set(_ids(client.get(url, params={"current": "false"}))) == {master.id, former.id}
    assert_problem(client.get(f"{API}/chains/999999/masters"), 404)


def test_enterprise_memberships_history(client, db):
    ent = make_enterprise(db)
    c1 = make_chain(db, name_zh="甲链")
    c2 = make_chain(db, name_zh="乙链")
    old = make_membership(db, ent, c1, started_on=dt.date(2019, 1, 1), ended_on=dt.date(2022, 1, 1))
    cur = make_membership(db, ent, c2, started_on=dt.date(2023, 1, 1))
    make_membership(db, make_enterprise(db), c1)
    url = f"{API}/enterprises/{ent.id}/memberships"
    r = client.get(url)
    assert _ids(r) == [cur.id, old.id]
    items = r.json()["items"]
    assert items[0]["chain"]["name_zh"] == "乙链" and items[1]["chain"]["code"] == c1.code
    assert items[1]["ended_on"] == "2022-01-01"
    assert _ids(client.get(url, params={"current": "true"})) == [cur.id]
    assert _ids(client.get(url, params={"as_of": "2020-01-01"})) == [old.id]
    assert _ids(client.get(url, params={"chain_id": c1.id})) == [old.id]
    assert_problem(client.get(f"{API}/enterprises/999999/memberships"), 404)


# --- update and end ---------------------------------------------------------------


def test_patch_membership(client, db):
    chain = make_chain(db)
    node = make_node(db, chain)
    ent = make_enterprise(db)
    m = make_membership(db, ent, chain)
    url = f"{API}/memberships/{m.id}"
    r = client.patch(
        url,
        json={"role": "leading", "node_id": node.id, "note": "升级为龙头"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["role"] == "leading" and body["node"]["id"] == node.id
    assert body["note"] == "升级为龙头" and r.headers["ETag"] == '"2"'

    r = client.patch(url, json={"node_id": None}, headers={"If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["node"] is None


def test_patch_membership_bad_input_writes_nothing(client, db):
    chain = make_chain(db)
    foreign = make_node(db, make_chain(db))
    ent = make_enterprise(db)
    m = make_membership(db, ent, chain)
    other = make_membership(db, ent, chain, role=MembershipRole.LEADING)
    url = f"{API}/memberships/{m.id}"
    h = {"If-Match": '"1"'}

    assert_problem(client.patch(url, json={"note": "x"}), 428, slug="precondition-required")
    assert_problem(client.patch(url, json={"note": "x"}, headers={"If-Match": '"9"'}), 412)
    body = assert_problem(
        client.patch(url, json={"node_id": foreign.id}, headers=h), 422, field="node_id"
    )
    assert body["errors"][0]["code"] == "cross_chain"
    body = assert_problem(client.patch(url, json={"role": "leading"}, headers=h), 409)
    assert body["existing_id"] == other.id
    assert_problem(client.patch(url, json={"role": None}, headers=h), 422, field="role")
    assert_problem(
        client.patch(url, json={"enterprise_id": 1}, headers=h), 422, field="enterprise_id"
    )
    assert_problem(
        client.patch(url, json={"ended_on": "2025-01-01"}, headers=h), 422, field="ended_on"
    )
    assert_problem(client.patch(f"{API}/memberships/999999", json={}, headers=h), 404)
    db.expire_all()
    fresh = db.get(Membership, m.id)
    assert fresh.version == 1 and fresh.role == MembershipRole.SUPPORTING
    assert fresh.node_id is None and fresh.note is None


def test_end_membership(client, db):
    chain = make_chain(db)
    m = make_membership(db, make_enterprise(db), chain, started_on=dt.date(2023, 3, 1))
    url = f"{API}/memberships/{m.id}/end"

    assert_problem(client.post(url, json={"ended_on": "2025-01-01"}), 428)
    assert_problem(
        client.post(url, json={"ended_on": "2025-01-01"}, headers={"If-Match": '"5"'}), 412
    )
    body = assert_problem(
        client.post(url, json={"ended_on": "2023-02-28"}, headers={"If-Match": '"1"'}),
        422,
        field="ended_on",
    )
    assert body["errors"][0]["code"] == "date_order"
    assert_problem(client.post(url, json={}, headers={"If-Match": '"1"'}), 422, field="ended_on")
    db.expire_all()
    assert db.get(Membership, m.id).ended_on is None

    r = client.post(
        url,
        json={"ended_on": "2025-01-01", "reason": "企业迁出"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["ended_on"] == "2025-01-01" and r.json()["end_reason"] == "企业迁出"
    assert r.headers["ETag"] == '"2"'

    body = assert_problem(
        client.post(url, json={"ended_on": "2025-02-01"}, headers={"If-Match": '"2"'}),
        409,
        slug="conflict",
    )
    assert body["ended_on"] == "2025-01-01"
    assert_problem(
        client.post(f"{API}/memberships/999999/end", json={"ended_on": "2025-01-01"}), 404
    )
    # Kept as history, no longer current.
    r = client.get(f"{API}/chains/{chain.id}/memberships")
    assert m.id not in _ids(r)
    r = client.get(f"{API}/chains/{chain.id}/memberships", params={"current": "false"})
    assert m.id in _ids(r)
    assert client.delete(f"{API}/memberships/{m.id}").status_code == 405


def test_current_on_predicate(db):
    chain = make_chain(db)
    ent = make_enterprise(db)
    m = make_membership(
        db, ent, chain, started_on=dt.date(2024, 1, 1), ended_on=dt.date(2024, 7, 1)
    )

    def current(d: dt.date) -> bool:
        stmt = select(Membership.id).where(Membership.id == m.id, current_on(d))
        return db.scalar(stmt) is not None

    assert not current(dt.date(2023, 12, 31))
    assert current(dt.date(2024, 1, 1))
    assert current(dt.date(2024, 6, 30))
    assert not current(dt.date(2024, 7, 1))
