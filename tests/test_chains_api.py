"""Chain groups, chains and leadership terms through HTTP."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from chaintrack.models import Chain, ChainGroup, ChainLeader
from chaintrack.models.enums import ChainStatus, LeaderRole
from tests.factories import make_chain, next_n
from tests.problems import assert_problem

API = "/api/v1"


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def make_group(db, **kw) -> ChainGroup:
    n = next_n()
    defaults = {"code": f"G{n:05d}", "name_zh": f"分组{n}", "name_en": f"Group {n}"}
    group = ChainGroup(**{**defaults, **kw})
    db.add(group)
    db.flush()
    return group


def make_leader(db, chain, **kw) -> ChainLeader:
    defaults = {
        "chain_id": chain.id,
        "role": LeaderRole.LEADER,
        "person_name": f"链长{next_n()}",
        "start_on": dt.date(2023, 1, 1),
    }
    leader = ChainLeader(**{**defaults, **kw})
    db.add(leader)
    db.flush()
    return leader


# --- chain groups -----------------------------------------------------------------


def test_create_read_update_group(client):
    r = client.post(
        f"{API}/chain-groups",
        json={"code": "future-x", "name_zh": "未来产业X", "name_en": "Future X", "position": 3},
    )
    assert r.status_code == 201, r.text
    group = r.json()
    assert group["code"] == "FUTURE-X" and group["version"] == 1
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"{API}/chain-groups/{group['id']}"

    r = client.get(f"{API}/chain-groups/{group['id']}")
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'

    r = client.patch(
        f"{API}/chain-groups/{group['id']}",
        json={"name_en": "Future industries X"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["name_en"] == "Future industries X" and r.headers["ETag"] == '"2"'


def test_group_duplicate_code_is_409_and_writes_nothing(client, db):
    existing = make_group(db, code="DUPG")
    before = _count(db, ChainGroup)
    r = client.post(f"{API}/chain-groups", json={"code": "dupg", "name_zh": "x", "name_en": "x"})
    body = assert_problem(r, 409, slug="conflict")
    assert body["existing_id"] == existing.id
    assert body["existing"] == f"{API}/chain-groups/{existing.id}"
    assert _count(db, ChainGroup) == before


def test_group_bad_input(client, db):
    before = _count(db, ChainGroup)
    r = client.post(
        f"{API}/chain-groups", json={"code": "有空格 x", "name_zh": "x", "name_en": "x"}
    )
    assert_problem(r, 422, field="code", slug="validation")
    r = client.post(
        f"{API}/chain-groups", json={"code": "OK1", "name_zh": "x", "name_en": "x", "version": 5}
    )
    assert_problem(r, 422, field="version")
    assert _count(db, ChainGroup) == before


def test_group_update_concurrency_and_conflicts(client, db):
    group = make_group(db)
    other = make_group(db)
    url = f"{API}/chain-groups/{group.id}"
    assert_problem(client.patch(url, json={"name_zh": "新"}), 428, slug="precondition-required")
    assert_problem(
        client.patch(url, json={"name_zh": "新"}, headers={"If-Match": '"7"'}),
        412,
        slug="precondition-failed",
    )
    body = assert_problem(
        client.patch(url, json={"code": other.code}, headers={"If-Match": '"1"'}), 409
    )
    assert body["existing_id"] == other.id
    assert_problem(
        client.patch(url, json={"name_zh": None}, headers={"If-Match": '"1"'}), 422, field="name_zh"
    )
    assert_problem(
        client.patch(f"{API}/chain-groups/999999", json={}, headers={"If-Match": '"1"'}), 404
    )
    db.expire_all()
    assert db.get(ChainGroup, group.id).version == 1
    assert db.get(ChainGroup, group.id).name_zh == group.name_zh


def test_list_groups(client, db):
    make_group(db, code="ZZLIST1", name_zh="列表分组甲", position=99)
    r = client.get(f"{API}/chain-groups", params={"q": "列表分组"})
    assert r.status_code == 200
    assert [g["code"] for g in r.json()["items"]] == ["ZZLIST1"]
    r = client.get(f"{API}/chain-groups")
    # Seeded reference groups are there, in display order.
    codes = [g["code"] for g in r.json()["items"]]
    assert codes[:3] == ["CLUSTER", "GROWTH", "FUTURE"]
    r = client.get(f"{API}/chain-groups", params={"q": "100%"})
    assert r.json()["total"] == 0  # wildcards in q are literal


# --- chains ---------------------------------------------------------------------


def test_create_chain_with_group(client, db):
    group = make_group(db)
    payload = {
        "code": "ictest-1",
        "name_zh": "集成电路测试",
        "name_en": "IC test",
        "group_id": group.id,
        "region_code": "370200",
        "description": "测试",
    }
    r = client.post(f"{API}/chains", json=payload)
    assert r.status_code == 201, r.text
    chain = r.json()
    assert chain["code"] == "ICTEST-1" and chain["status"] == "active"
    assert chain["status_label"] == "推进中"
    assert chain["group"] == {
        "id": group.id,
        "code": group.code,
        "name_zh": group.name_zh,
        "name_en": group.name_en,
    }
    assert r.headers["ETag"] == '"1"'

    r = client.get(f"{API}/chains/{chain['id']}")
    assert r.status_code == 200 and r.json()["group"]["id"] == group.id
    assert r.headers["ETag"] == '"1"'


def test_create_chain_bad_references_write_nothing(client, db):
    existing = make_chain(db, code="TAKEN1")
    before = _count(db, Chain)
    base = {"code": "NEW1", "name_zh": "新链", "name_en": "New"}

    body = assert_problem(client.post(f"{API}/chains", json={**base, "code": "taken1"}), 409)
    assert body["existing_id"] == existing.id and body["field"] == "code"

    body = assert_problem(
        client.post(f"{API}/chains", json={**base, "group_id": 999999}), 422, field="group_id"
    )
    assert body["errors"][0]["code"] == "unknown_reference"

    assert_problem(
        client.post(f"{API}/chains", json={**base, "region_code": "37010"}),
        422,
        field="region_code",
    )
    assert_problem(
        client.post(f"{API}/chains", json={**base, "region_code": "990000"}),
        422,
        field="region_code",
    )
    assert_problem(
        client.post(f"{API}/chains", json={**base, "region_code": "379900"}),
        422,
        field="region_code",
    )
    body = assert_problem(
        client.post(f"{API}/chains", json={**base, "region_code": "371200"}),
        422,
        field="region_code",
    )
    assert "370100" in body["errors"][0]["message"]
    assert_problem(
        client.post(f"{API}/chains", json={**base, "status": "dormant"}), 422, field="status"
    )
    assert_problem(client.post(f"{API}/chains", json={**base, "id": 5}), 422, field="id")
    assert_problem(client.post(f"{API}/chains", json={"code": "X"}), 422, field="name_zh")
    r = client.post(
        f"{API}/chains", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(r, 400)
    assert _count(db, Chain) == before


def test_update_chain(client, db):
    chain = make_chain(db)
    group = make_group(db)
    url = f"{API}/chains/{chain.id}"
    r = client.patch(
        url,
        json={"group_id": group.id, "status": "planning", "name_en": "Renamed"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["group"]["code"] == group.code
    assert r.json()["status"] == "planning" and r.headers["ETag"] == '"2"'

    # Stale ETag: nothing changes.
    assert_problem(client.patch(url, json={"name_en": "Again"}, headers={"If-Match": '"1"'}), 412)
    assert_problem(client.patch(url, json={"name_en": "Again"}), 428)
    assert_problem(
        client.patch(url, json={"group_id": 999999}, headers={"If-Match": '"2"'}),
        422,
        field="group_id",
    )
    assert_problem(
        client.patch(url, json={"region_code": "371200"}, headers={"If-Match": '"2"'}),
        422,
        field="region_code",
    )
    assert_problem(
        client.patch(url, json={"status": None}, headers={"If-Match": '"2"'}), 422, field="status"
    )
    assert_problem(
        client.patch(url, json={"version": 9}, headers={"If-Match": '"2"'}), 422, field="version"
    )
    db.expire_all()
    assert db.get(Chain, chain.id).name_en == "Renamed"

    r = client.patch(url, json={"group_id": None}, headers={"If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["group"] is None


def test_chain_404(client):
    assert_problem(client.get(f"{API}/chains/999999"), 404, slug="not-found")
    assert_problem(client.patch(f"{API}/chains/999999", json={}, headers={"If-Match": '"1"'}), 404)
    assert_problem(client.get(f"{API}/chains/abc"), 422, field="chain_id")


def test_list_chains_filters_sort_pagination(client, db):
    group = make_group(db)
    a = make_chain(db, code="LSTA", name_zh="列表甲链", name_en="Alpha list", group_id=group.id)
    b = make_chain(
        db,
        code="LSTB",
        name_zh="列表乙链",
        name_en="Beta list",
        group_id=group.id,
        status=ChainStatus.ARCHIVED,
    )
    make_chain(db, code="LSTC", name_zh="其他", name_en="Other")

    r = client.get(f"{API}/chains", params={"group_id": group.id})
    body = r.json()
    assert r.status_code == 200 and body["total"] == 2
    assert [c["code"] for c in body["items"]] == ["LSTA", "LSTB"]
    assert body["items"][0]["group"]["id"] == group.id

    r = client.get(f"{API}/chains", params={"group_id": group.id, "status": "archived"})
    assert [c["id"] for c in r.json()["items"]] == [b.id]
    r = client.get(f"{API}/chains", params={"q": "列表甲"})
    assert [c["id"] for c in r.json()["items"]] == [a.id]
    r = client.get(f"{API}/chains", params={"q": "beta"})
    assert [c["id"] for c in r.json()["items"]] == [b.id]
    r = client.get(f"{API}/chains", params={"q": "lstb"})
    assert [c["id"] for c in r.json()["items"]] == [b.id]

    r = client.get(f"{API}/chains", params={"group_id": group.id, "sort": "-code", "limit": 1})
    body = r.json()
    assert body["total"] == 2 and [c["code"] for c in body["items"]] == ["LSTB"]
    r = client.get(
        f"{API}/chains", params={"group_id": group.id, "sort": "-code", "limit": 1, "offset": 1}
    )
    assert [c["code"] for c in r.json()["items"]] == ["LSTA"]

    assert_problem(client.get(f"{API}/chains", params={"sort": "budget"}), 422, field="sort")
    assert_problem(client.get(f"{API}/chains", params={"status": "dormant"}), 422, field="status")

    # Seeded chains are listed too, with their group.
    r = client.get(f"{API}/chains", params={"q": "GDZB"})
    assert r.json()["items"][0]["group"]["code"] == "CLUSTER"


def test_list_chains_statement_count_does_not_grow(client, db, count_statements):
    group = make_group(db)
    for _ in range(2):
        make_chain(db, group_id=group.id)
    with count_statements() as small:
        r = client.get(f"{API}/chains", params={"group_id": group.id})
    assert r.json()["total"] == 2
    for _ in range(20):
        make_chain(db, group_id=make_group(db).id)
    with count_statements() as large:
        r = client.get(f"{API}/chains", params={"limit": 200})
    assert r.json()["total"] >= 22
    assert large.count == small.count <= 3


# --- leadership -----------------------------------------------------------------


def test_leaders_create_list_end(client, db):
    chain = make_chain(db)
    url = f"{API}/chains/{chain.id}/leaders"
    r = client.post(
        url,
        json={
            "role": "leader",
            "person_name": "王某",
            "title": "副省长",
            "start_on": "2021-03-01",
        },
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["role_label"] == "链长" and first["end_on"] is None
    assert r.headers["Location"] == f"{API}/chain-leaders/{first['id']}"

    # End the first term, start a successor's on the same day.
    r = client.patch(
        f"{API}/chain-leaders/{first['id']}",
        json={"end_on": "2024-02-01"},
        headers={"If-Match": r.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["end_on"] == "2024-02-01" and r.headers["ETag"] == '"2"'
    r = client.post(url, json={"role": "leader", "person_name": "李某", "start_on": "2024-02-01"})
    second = r.json()
    r = client.post(
        url, json={"role": "chief_leader", "person_name": "总某", "start_on": "2021-01-01"}
    )
    chief = r.json()

    r = client.get(url)
    body = r.json()
    assert body["total"] == 3
    # Ladder order: chief first; within a role, the latest term first.
    assert [x["id"] for x in body["items"]] == [chief["id"], second["id"], first["id"]]

    r = client.get(url, params={"current": "true"})
    assert {x["id"] for x in r.json()["items"]} == {chief["id"], second["id"]}
    r = client.get(url, params={"as_of": "2024-01-31", "role": "leader"})
    assert [x["id"] for x in r.json()["items"]] == [first["id"]]
    r = client.get(url, params={"as_of": "2024-02-01", "role": "leader"})
    assert [x["id"] for x in r.json()["items"]] == [second["id"]]

    r = client.get(f"{API}/chain-leaders/{second['id']}")
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'


def test_leader_bad_input_writes_nothing(client, db):
    chain = make_chain(db)
    leader = make_leader(db, chain, person_name="赵某", start_on=dt.date(2023, 5, 1))
    url = f"{API}/chains/{chain.id}/leaders"
    before = _count(db, ChainLeader)

    body = assert_problem(
        client.post(
            url,
            json={
                "role": "leader",
                "person_name": "钱某",
                "start_on": "2024-05-01",
                "end_on": "2024-04-30",
            },
        ),
        422,
        field="end_on",
    )
    assert body["errors"][0]["code"] == "date_order"
    body = assert_problem(
        client.post(url, json={"role": "leader", "person_name": "赵某", "start_on": "2024-01-01"}),
        409,
    )
    assert body["existing_id"] == leader.id
    assert_problem(
        client.post(url, json={"role": "king", "person_name": "x", "start_on": "2024-01-01"}),
        422,
        field="role",
    )
    assert_problem(
        client.post(
            f"{API}/chains/999999/leaders",
            json={"role": "leader", "person_name": "x", "start_on": "2024-01-01"},
        ),
        404,
    )
    assert _count(db, ChainLeader) == before

    lurl = f"{API}/chain-leaders/{leader.id}"
    assert_problem(
        client.patch(lurl, json={"end_on": "2023-04-30"}, headers={"If-Match": '"1"'}),
        422,
        field="end_on",
    )
    assert_problem(
        client.patch(
            lurl,
            json={"start_on": "2030-01-01", "end_on": "2029-01-01"},
            headers={"If-Match": '"1"'},
        ),
        422,
        field="end_on",
    )
    assert_problem(client.patch(lurl, json={"end_on": "2024-01-01"}), 428)
    assert_problem(
        client.patch(lurl, json={"end_on": "2024-01-01"}, headers={"If-Match": '"3"'}), 412
    )
    assert_problem(
        client.patch(lurl, json={"person_name": None}, headers={"If-Match": '"1"'}),
        422,
        field="person_name",
    )
    assert_problem(
        client.patch(lurl, json={"chain_id": 1}, headers={"If-Match": '"1"'}), 422, field="chain_id"
    )
    assert_problem(client.get(f"{API}/chain-leaders/999999"), 404)
    # Terms are history: there is no delete.
    assert client.delete(lurl).status_code == 405
    db.expire_all()
    fresh = db.get(ChainLeader, leader.id)
    assert fresh.end_on is None and fresh.version == 1


def test_leaders_list_unknown_chain(client):
    assert_problem(client.get(f"{API}/chains/999999/leaders"), 404)
