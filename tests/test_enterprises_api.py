"""Enterprises and key figures through HTTP: success paths and bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from chaintrack.history import office_today
from chaintrack.identifiers import make_uscc
from chaintrack.models import Enterprise, EnterpriseFigures
from chaintrack.models.enums import MembershipRole, SizeClass, Tier
from tests.factories import (
    fake_uscc,
    make_chain,
    make_designation,
    make_enterprise,
    make_membership,
)
from tests.problems import assert_problem

API = "/api/v1"
VALID = "91110000600037341L"


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def body(**kw):
    return {"uscc": fake_uscc(), "name": "烟台示例新材料有限公司", "region_code": "370602", **kw}


# --------------------------------------------------------------------------- create


def test_create_enterprise_normalises_and_returns_etag(client, db):
    r = client.post(
        f"{API}/enterprises",
        json={
            "uscc": " ９１１１００００６０００３７３４１ｌ ",
            "name": "示例装备制造有限公司",
            "former_names": ["示例机械厂"],
            "region_code": "370602",
            "size_class": "medium",
            "ownership": "private",
            "founded_on": "2005-04-01",
        },
    )
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["uscc"] == VALID
    assert data["former_names"] == ["示例机械厂"]
    assert data["listing_status"] == "unlisted"
    assert data["current_tiers"] == [] and data["latest_figures"] is None
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"{API}/enterprises/{data['id']}"

    got = client.get(f"{API}/enterprises/{data['id']}")
    assert got.status_code == 200
    assert got.json()["name"] == "示例装备制造有限公司"
    assert got.headers["ETag"] == '"1"'


@pytest.mark.parametrize("authority", ["N1", "Y1", "A1", "12", "51", "93"])
def test_letter_first_and_other_authorities_are_accepted(client, authority):
    code = fake_uscc(authority=authority)
    r = client.post(f"{API}/enterprises", json=body(uscc=code))
    assert r.status_code == 201, r.text
    assert r.json()["uscc"] == code


def test_lower_case_letter_first_uscc_is_normalised(client):
    code = make_uscc("N2370600MA1234567")
    r = client.post(f"{API}/enterprises", json=body(uscc=code.lower()))
    assert r.status_code == 201, r.text
    assert r.json()["uscc"] == code


def test_wrong_check_character_names_field_and_position(client, db):
    before = count(db, Enterprise)
    r = client.post(f"{API}/enterprises", json=body(uscc="91110000600037341X"))
    data = assert_problem(r, 422, field="uscc", slug="validation")
    assert data["position"] == 18
    message = data["errors"][0]["message"]
    assert "第18位" in message and "'L'" in message
    assert count(db, Enterprise) == before


@pytest.mark.parametrize(
    ("uscc", "position"),
    [
        ("91110000600037341", None),  # too short
        ("9111000060003734IL", 17),  # I is never used
        ("X1110000600037341L", 1),  # X is not an authority
        ("9111A000600037341L", 5),  # region part must be digits
    ],
)
def test_malformed_uscc(client, db, uscc, position):
    before = count(db, Enterprise)
    data = assert_problem(
        client.post(f"{API}/enterprises", json=body(uscc=uscc)), 422, field="uscc"
    )
    assert data.get("position") == position
    assert count(db, Enterprise) == before


def test_duplicate_uscc_points_to_existing(client, db):
    existing = make_enterprise(db, uscc=VALID)
    before = count(db, Enterprise)
    r = client.post(f"{API}/enterprises", json=body(uscc="91110000600037341l"))
    data = assert_problem(r, 409, slug="conflict")
    assert data["existing_id"] == existing.id
    assert data["existing_url"] == f"{API}/enterprises/{existing.id}"
    assert count(db, Enterprise) == before


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"id": 5}, "id"),
        ({"version": 3}, "version"),
        ({"region_code": "99"}, "region_code"),
        ({"region_code": "990100"}, "region_code"),
        ({"size_class": "huge"}, "size_class"),
        ({"name": ""}, "name"),
        ({"founded_on": "2999-01-01"}, "founded_on"),
    ],
)
def test_create_bad_input(client, db, extra, field):
    before = count(db, Enterprise)
    assert_problem(client.post(f"{API}/enterprises", json=body(**extra)), 422, field=field)
    assert count(db, Enterprise) == before


def test_missing_enterprise_is_404(client):
    data = assert_problem(client.get(f"{API}/enterprises/999999"), 404, slug="not-found")
    assert data["entity"] == "enterprise"


def test_malformed_json_is_400(client):
    r = client.post(
        f"{API}/enterprises", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert_problem(r, 400)


# --------------------------------------------------------------------------- update


def test_rename_pushes_old_name_into_former_names(client, db):
    ent = make_enterprise(db, name="旧名有限公司", former_names=["更早名称厂"])
    r = client.patch(
        f"{API}/enterprises/{ent.id}",
        json={"name": "新名有限公司", "size_class": "large"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["name"] == "新名有限公司"
    assert data["former_names"] == ["更早名称厂", "旧名有限公司"]
    assert data["size_class"] == "large"
    assert data["version"] == 2 and r.headers["ETag"] == '"2"'

    # renaming back to an earlier name takes it out of the former names
    r = client.patch(
        f"{API}/enterprises/{ent.id}", json={"name": "旧名有限公司"}, headers={"If-Match": '"2"'}
    )
    assert r.json()["former_names"] == ["更早名称厂", "新名有限公司"]


def test_patch_requires_if_match_and_refuses_stale(client, db):
    ent = make_enterprise(db, name="原名称有限公司")
    assert_problem(client.patch(f"{API}/enterprises/{ent.id}", json={"name": "X有限公司"}), 428)
    data = assert_problem(
        client.patch(
            f"{API}/enterprises/{ent.id}", json={"name": "X有限公司"}, headers={"If-Match": '"7"'}
        ),
        412,
        slug="precondition-failed",
    )
    assert data["current_etag"] == '"1"'
    db.expire_all()
    assert db.get(Enterprise, ent.id).name == "原名称有限公司"


def test_patch_uscc_change(client, db):
    ent = make_enterprise(db)
    other = make_enterprise(db)
    new_code = fake_uscc(authority="Y1")
    r = client.patch(
        f"{API}/enterprises/{ent.id}", json={"uscc": new_code.lower()}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 200 and r.json()["uscc"] == new_code

    data = assert_problem(
        client.patch(
            f"{API}/enterprises/{ent.id}", json={"uscc": other.uscc}, headers={"If-Match": '"2"'}
        ),
        409,
    )
    assert data["existing_id"] == other.id
    bad = new_code[:-1] + ("0" if new_code[-1] != "0" else "1")
    data = assert_problem(
        client.patch(
            f"{API}/enterprises/{ent.id}", json={"uscc": bad}, headers={"If-Match": '"2"'}
        ),
        422,
        field="uscc",
    )
    assert data["position"] == 18
    db.expire_all()
    assert db.get(Enterprise, ent.id).uscc == new_code


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": None}, "name"),
        ({"listing_status": None}, "listing_status"),
        ({"region_code": "12"}, "region_code"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_patch_bad_input(client, db, payload, field):
    ent = make_enterprise(db)
    r = client.patch(f"{API}/enterprises/{ent.id}", json=payload, headers={"If-Match": '"1"'})
    assert_problem(r, 422, field=field)
    db.expire_all()
    assert db.get(Enterprise, ent.id).version == 1


def test_patch_missing_enterprise_is_404(client):
    r = client.patch(f"{API}/enterprises/999999", json={"note": "x"}, headers={"If-Match": '"1"'})
    assert_problem(r, 404)


# --------------------------------------------------------------------------- search


def _ids(r) -> list[int]:
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


def test_search_filters(client, db):
    chain = make_chain(db)
    other_chain = make_chain(db)
    a = make_enterprise(
        db, name="烟台甲新材料有限公司", region_code="370602", size_class=SizeClass.SMALL
    )
    b = make_enterprise(
        db,
        name="济南乙科技有限公司",
        former_names=["济南乙新材料厂"],
        region_code="370100",
        uscc=fake_uscc(region="370100", authority="N1"),
    )
    c = make_enterprise(db, name="莱芜丙钢铁有限公司", region_code="371202")
    make_designation(db, a, tier=Tier.LITTLE_GIANT, level="national")
    make_designation(
        db, b, tier=Tier.GAZELLE, recognised_on=dt.date(2018, 6, 1), valid_until=dt.date(2020, 1, 1)
    )  # expired
    make_membership(db, a, chain, role=MembershipRole.CHAIN_MASTER)
    make_membership(db, b, chain, ended_on=dt.date(2024, 6, 1))  # ended
    make_membership(db, c, other_chain)
    mine = {a.id, b.id, c.id}

    def search(**params) -> set[int]:
        return set(_ids(client.get(f"{API}/enterprises", params={"limit": 200, **params}))) & mine

    assert search(q="新材料") == {a.id, b.id}  # b by its former name
    assert search(q="N1370100") == {b.id}  # USCC prefix
    assert search(q="n1370100") == {b.id}
    assert search(uscc=c.uscc.lower()) == {c.id}
    assert search(region_code="3706") == {a.id}
    assert search(region_code="370600") == {a.id}
    assert search(region_code="3712") == {c.id}  # historical Laiwu codes
    assert search(region_code="37") == mine
    assert search(tier="little_giant") == {a.id}
    assert search(tier="gazelle") == set()
    assert search(tier="gazelle", as_of="2019-06-01") == {b.id}
    assert search(chain_id=chain.id) == {a.id}
    assert search(chain_id=chain.id, as_of="2024-03-01") == {a.id, b.id}
    assert search(role="chain_master") == {a.id}
    assert search(chain_id=other_chain.id, role="chain_master") == set()
    assert search(size_class="small") == {a.id}

    r = client.get(f"{API}/enterprises", params={"q": "甲新材料"})
    item = next(i for i in r.json()["items"] if i["id"] == a.id)
    assert item["current_tiers"] == ["little_giant"]


def test_search_q_escapes_wildcards(client, db):
    make_enterprise(db, name="普通有限公司")
    r = client.get(f"{API}/enterprises", params={"q": "%"})
    assert r.status_code == 200
    assert all("%" in i["name"] for i in r.json()["items"])


def test_search_sort_and_paginate(client, db):
    ents = [
        make_enterprise(db, name=f"排序测试{n}有限公司", region_code="371502") for n in (3, 1, 2)
    ]
    ids = {e.id for e in ents}
    r = client.get(
        f"{API}/enterprises", params={"q": "排序测试", "sort": "-uscc", "limit": 2, "offset": 0}
    )
    data = r.json()
    assert data["total"] == 3 and len(data["items"]) == 2
    expected = [e.id for e in sorted(ents, key=lambda e: e.uscc, reverse=True)]
    assert [i["id"] for i in data["items"]] == expected[:2]
    r2 = client.get(
        f"{API}/enterprises", params={"q": "排序测试", "sort": "-uscc", "limit": 2, "offset": 2}
    )
    assert [i["id"] for i in r2.json()["items"]] == expected[2:]
    assert set(_ids(client.get(f"{API}/enterprises", params={"region_code": "3715"}))) >= ids


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "revenue"}, "sort"),
        ({"region_code": "37a"}, "region_code"),
        ({"tier": "dragon"}, "tier"),
        ({"role": "boss"}, "role"),
        ({"limit": 100000}, "limit"),
        ({"as_of": "2024-13-01"}, "as_of"),
    ],
)
def test_search_bad_query(client, params, field):
    assert_problem(client.get(f"{API}/enterprises", params=params), 422, field=field)


def test_list_statement_count_does_not_grow(client, db, count_statements):
    chain = make_chain(db)

    def populate(n: int) -> None:
        for _ in range(n):
            e = make_enterprise(db, region_code="370902", name="计数测试有限公司")
            make_designation(db, e, tier=Tier.GAZELLE)
            make_designation(db, e, tier=Tier.LITTLE_GIANT, level="national")
            make_membership(db, e, chain, role=MembershipRole.LEADING)

    def run() -> int:
        with count_statements() as c:
            r = client.get(
                f"{API}/enterprises",
                params={"region_code": "3709", "chain_id": chain.id, "limit": 200},
            )
        assert r.status_code == 200
        assert all(i["current_tiers"] == ["little_giant", "gazelle"] for i in r.json()["items"])
        return c.count

    populate(3)
    small = run()
    populate(37)
    large = run()
    assert small == large
    assert large <= 3


# --------------------------------------------------------------------------- figures


def test_figures_create_update_and_list(client, db):
    ent = make_enterprise(db)
    url = f"{API}/enterprises/{ent.id}/figures"
    r = client.put(f"{url}/2023", json={"revenue": "12345.6789", "employees": 320})
    assert r.status_code == 201, r.text
    assert r.json()["revenue"] == "12345.6789" and r.json()["rd_spend"] is None
    assert r.headers["ETag"] == '"1"'
    client.put(f"{url}/2024", json={"revenue": "15000", "rd_spend": "800.5"})

    r = client.put(
        f"{url}/2023",
        json={"revenue": "12500", "employees": 330, "rd_spend": "610"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.headers["ETag"] == '"2"'

    listing = client.get(url).json()
    assert listing["total"] == 2
    assert [i["year"] for i in listing["items"]] == [2024, 2023]
    assert listing["items"][1]["revenue"] == "12500.0000"
    assert [i["year"] for i in client.get(url, params={"sort": "year"}).json()["items"]] == [
        2023,
        2024,
    ]
    assert client.get(url, params={"from_year": 2024}).json()["total"] == 1

    detail = client.get(f"{API}/enterprises/{ent.id}").json()
    assert detail["latest_figures"]["year"] == 2024
    assert detail["latest_figures"]["rd_spend"] == "800.5000"


def test_figures_update_needs_if_match(client, db):
    ent = make_enterprise(db)
    url = f"{API}/enterprises/{ent.id}/figures/2022"
    assert client.put(url, json={"revenue": "100"}).status_code == 201
    assert_problem(client.put(url, json={"revenue": "200"}), 428)
    assert_problem(client.put(url, json={"revenue": "200"}, headers={"If-Match": '"9"'}), 412)
    row = db.scalars(
        select(EnterpriseFigures).where(EnterpriseFigures.enterprise_id == ent.id)
    ).one()
    db.refresh(row)
    assert str(row.revenue) == "100.0000" and row.version == 1


@pytest.mark.parametrize(
    ("year", "payload", "field"),
    [
        (2023, {"revenue": "-1"}, "revenue"),
        (2023, {"rd_spend": "-0.01"}, "rd_spend"),
        (2023, {"employees": -3}, "employees"),
        (2023, {"revenue": "1.123456"}, "revenue"),
        (2023, {"revenue": "abc"}, "revenue"),
        (2023, {"profit": "1"}, "profit"),
        (1900, {"revenue": "1"}, "year"),
        (office_today().year + 1, {"revenue": "1"}, "year"),
    ],
)
def test_figures_bad_input(client, db, year, payload, field):
    ent = make_enterprise(db)
    before = count(db, EnterpriseFigures)
    r = client.put(f"{API}/enterprises/{ent.id}/figures/{year}", json=payload)
    assert_problem(r, 422, field=field)
    assert count(db, EnterpriseFigures) == before


def test_figures_unknown_enterprise(client, db):
    before = count(db, EnterpriseFigures)
    assert_problem(client.put(f"{API}/enterprises/999999/figures/2023", json={}), 404)
    assert_problem(client.get(f"{API}/enterprises/999999/figures"), 404)
    assert count(db, EnterpriseFigures) == before


def test_lost_registration_race_still_points_to_existing(db, monkeypatch):
    """If a concurrent request registers the same USCC between the check and the
    insert, the unique constraint trips and the 409 still names the winner."""
    from chaintrack.enterprises import service
    from chaintrack.enterprises.schemas import EnterpriseCreate
    from chaintrack.errors import Conflict

    winner = make_enterprise(db)
    real = service._ensure_uscc_free
    calls = []

    def skip_first(session, uscc, **kw):
        calls.append(uscc)
        if len(calls) > 1:
            real(session, uscc, **kw)

    monkeypatch.setattr(service, "_ensure_uscc_free", skip_first)
    data = EnterpriseCreate(uscc=winner.uscc, name="后来者有限公司", region_code="370100")
    with pytest.raises(Conflict) as info:
        service.create_enterprise(db, data)
    assert info.value.extra["existing_id"] == winner.id
    assert db.scalar(select(func.count()).where(Enterprise.uscc == winner.uscc)) == 1
