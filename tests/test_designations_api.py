"""Designations (梯度培育) through HTTP: grant, history with states, revoke, correct."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from chaintrack.enterprises.rules import (
    DesignationState,
    designation_active_on,
    designation_in_state_on,
    designation_state,
)
from chaintrack.history import office_today
from chaintrack.models import Designation
from chaintrack.models.enums import Level, Tier
from tests.factories import make_designation, make_enterprise
from tests.problems import assert_problem

API = "/api/v1"
D = dt.date


def count(db) -> int:
    return db.scalar(select(func.count()).select_from(Designation))


def grant(client, ent_id: int, **kw):
    payload = {"tier": "little_giant", "level": "national", "recognised_on": "2023-07-14", **kw}
    return client.post(f"{API}/enterprises/{ent_id}/designations", json=payload)


# --------------------------------------------------------------------------- grant


def test_grant_designation(client, db):
    ent = make_enterprise(db)
    r = grant(client, ent.id, batch="第五批", issuer="工业和信息化部", valid_until="2099-07-13")
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["state"] == "active" and data["state_label"] == "有效"
    assert data["tier_label"] == "专精特新“小巨人”企业" and data["level_label"] == "国家级"
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"{API}/designations/{data['id']}"

    detail = client.get(f"{API}/enterprises/{ent.id}").json()
    assert detail["current_tiers"] == ["little_giant"]
    assert [d["id"] for d in detail["current_designations"]] == [data["id"]]

    got = client.get(f"{API}/designations/{data['id']}")
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    assert got.json()["batch"] == "第五批"


def test_future_recognition_is_pending(client, db):
    ent = make_enterprise(db)
    later = office_today() + dt.timedelta(days=30)
    r = grant(client, ent.id, tier="gazelle", level="provincial", recognised_on=later.isoformat())
    assert r.status_code == 201 and r.json()["state"] == "pending"
    assert client.get(f"{API}/enterprises/{ent.id}").json()["current_tiers"] == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"tier": "dragon"}, "tier"),
        ({"level": "city"}, "level"),  # little_giant is national only
        ({"level": "provincial"}, "level"),
        ({"level": "county"}, "level"),
        ({"tier": "gazelle", "level": "national"}, "level"),
        ({"tier": "single_champion_product", "level": "national"}, "product"),
        ({"tier": "gazelle", "level": "provincial", "product": "轮胎"}, "product"),
        ({"recognised_on": "2023-07-14", "valid_until": "2023-07-13"}, "valid_until"),
        ({"recognised_on": "2023-02-30"}, "recognised_on"),
        ({"recognised_on": None}, "recognised_on"),
        ({"revoked_on": "2024-01-01"}, "revoked_on"),
        ({"state": "active"}, "state"),
    ],
)
def test_grant_bad_input(client, db, payload, field):
    ent = make_enterprise(db)
    before = count(db)
    assert_problem(grant(client, ent.id, **payload), 422, field=field, slug="validation")
    assert count(db) == before


def test_level_message_names_allowed_levels(client, db):
    ent = make_enterprise(db)
    data = assert_problem(grant(client, ent.id, level="provincial"), 422, field="level")
    assert "national" in data["errors"][0]["message"]
    assert "国家级" in data["errors"][0]["message"]


def test_grant_to_missing_enterprise(client, db):
    before = count(db)
    assert_problem(grant(client, 999999), 404, slug="not-found")
    assert count(db) == before


def test_overlapping_designation_is_409(client, db):
    ent = make_enterprise(db)
    first = make_designation(
        db,
        ent,
        tier=Tier.SPECIALIZED_SME,
        level=Level.PROVINCIAL,
        recognised_on=D(2021, 1, 1),
        valid_until=D(2023, 12, 31),
    )
    before = count(db)
    r = grant(
        client, ent.id, tier="specialized_sme", level="provincial", recognised_on="2023-12-31"
    )
    data = assert_problem(r, 409, slug="conflict")
    assert data["existing_id"] == first.id
    assert data["existing_url"] == f"{API}/designations/{first.id}"
    assert count(db) == before

    # the day after it expires, a re-recognition is fine; so is another level of a tier
    r = grant(
        client, ent.id, tier="specialized_sme", level="provincial", recognised_on="2024-01-01"
    )
    assert r.status_code == 201, r.text


def test_open_ended_designation_blocks_later_one(client, db):
    ent = make_enterprise(db)
    existing = make_designation(db, ent, tier=Tier.GAZELLE, recognised_on=D(2024, 1, 1))
    r = grant(client, ent.id, tier="gazelle", level="provincial", recognised_on="2020-01-01")
    assert assert_problem(r, 409)["existing_id"] == existing.id


def test_revoked_designation_no_longer_blocks(client, db):
    ent = make_enterprise(db)
    make_designation(
        db, ent, tier=Tier.GAZELLE, recognised_on=D(2021, 1, 1), revoked_on=D(2022, 5, 1)
    )
    r = grant(client, ent.id, tier="gazelle", level="provincial", recognised_on="2022-05-01")
    assert r.status_code == 201, r.text


def test_single_champion_products_are_per_product(client, db):
    ent = make_enterprise(db)
    kw = {"tier": "single_champion_product", "level": "national", "recognised_on": "2022-11-01"}
    assert grant(client, ent.id, product="全钢子午线轮胎", **kw).status_code == 201
    assert grant(client, ent.id, product="半钢子午线轮胎", **kw).status_code == 201
    before = count(db)
    assert_problem(grant(client, ent.id, product=" 全钢子午线轮胎 ", **kw), 409)
    assert count(db) == before


# --------------------------------------------------------------------------- history


def test_history_newest_first_with_states(client, db):
    ent = make_enterprise(db)
    t = office_today()
    expired = make_designation(
        db, ent, tier=Tier.GAZELLE, recognised_on=D(2018, 1, 1), valid_until=D(2020, 12, 31)
    )
    revoked = make_designation(
        db,
        ent,
        tier=Tier.SPECIALIZED_SME,
        recognised_on=D(2019, 1, 1),
        revoked_on=D(2021, 3, 1),
        revoke_reason="复核未通过",
    )
    active = make_designation(
        db, ent, tier=Tier.LITTLE_GIANT, level=Level.NATIONAL, recognised_on=D(2022, 1, 1)
    )
    pending = make_designation(db, ent, tier=Tier.UNICORN, recognised_on=t + dt.timedelta(days=10))
    url = f"{API}/enterprises/{ent.id}/designations"

    data = client.get(url).json()
    assert data["total"] == 4
    assert [(i["id"], i["state"]) for i in data["items"]] == [
        (pending.id, "pending"),
        (active.id, "active"),
        (revoked.id, "revoked"),
        (expired.id, "expired"),
    ]

    past = {
        i["id"]: i["state"] for i in client.get(url, params={"as_of": "2020-06-01"}).json()["items"]
    }
    assert past == {
        pending.id: "pending",
        active.id: "pending",
        revoked.id: "active",
        expired.id: "active",
    }
    assert [i["id"] for i in client.get(url, params={"state": "revoked"}).json()["items"]] == [
        revoked.id
    ]
    assert [
        i["id"]
        for i in client.get(url, params={"state": "active", "as_of": "2020-06-01"}).json()["items"]
    ] == [revoked.id, expired.id]
    assert client.get(url, params={"tier": "unicorn"}).json()["total"] == 1
    assert client.get(url, params={"limit": 1}).json()["total"] == 4
    assert (
        client.get(f"{API}/designations/{revoked.id}", params={"as_of": "2020-01-01"}).json()[
            "state"
        ]
        == "active"
    )


def test_history_bad_input(client, db):
    ent = make_enterprise(db)
    url = f"{API}/enterprises/{ent.id}/designations"
    assert_problem(client.get(url, params={"state": "sleeping"}), 422, field="state")
    assert_problem(client.get(url, params={"as_of": "yesterday"}), 422, field="as_of")
    assert_problem(client.get(f"{API}/enterprises/999999/designations"), 404)
    assert_problem(client.get(f"{API}/designations/999999"), 404)


def test_history_statement_count_does_not_grow(client, db, count_statements):
    ent = make_enterprise(db)
    url = f"{API}/enterprises/{ent.id}/designations"

    def run() -> int:
        with count_statements() as c:
            assert client.get(url, params={"limit": 200}).status_code == 200
        return c.count

    make_designation(db, ent, recognised_on=D(2000, 1, 1), valid_until=D(2000, 12, 31))
    small = run()
    for year in range(2001, 2020):
        make_designation(db, ent, recognised_on=D(year, 1, 1), valid_until=D(year, 12, 31))
    assert run() == small


# --------------------------------------------------------------------------- revoke


def test_revoke_designation(client, db):
    ent = make_enterprise(db)
    row = make_designation(db, ent, tier=Tier.GAZELLE, recognised_on=D(2022, 1, 1))
    url = f"{API}/designations/{row.id}/revoke"
    payload = {"revoked_on": "2024-03-01", "reason": "复核未通过"}

    assert_problem(client.post(url, json=payload), 428, slug="precondition-required")
    assert_problem(client.post(url, json=payload, headers={"If-Match": '"5"'}), 412)
    db.refresh(row)
    assert row.revoked_on is None

    r = client.post(url, json=payload, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "revoked" and r.json()["revoke_reason"] == "复核未通过"
    assert r.headers["ETag"] == '"2"'
    assert client.get(f"{API}/enterprises/{ent.id}").json()["current_tiers"] == []

    data = assert_problem(client.post(url, json=payload, headers={"If-Match": '"2"'}), 409)
    assert data["existing_id"] == row.id
    # history is kept
    assert client.get(f"{API}/enterprises/{ent.id}/designations").json()["total"] == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"revoked_on": "2021-12-31", "reason": "x"}, "revoked_on"),  # before recognised_on
        ({"revoked_on": "2026-01-01", "reason": "x"}, "revoked_on"),  # after valid_until
        ({"revoked_on": "2024-01-01"}, "reason"),
        ({"revoked_on": "2024-01-01", "reason": ""}, "reason"),
        ({"reason": "x"}, "revoked_on"),
    ],
)
def test_revoke_bad_input(client, db, payload, field):
    ent = make_enterprise(db)
    row = make_designation(db, ent, recognised_on=D(2022, 1, 1), valid_until=D(2024, 12, 31))
    r = client.post(
        f"{API}/designations/{row.id}/revoke", json=payload, headers={"If-Match": '"1"'}
    )
    assert_problem(r, 422, field=field)
    db.refresh(row)
    assert row.revoked_on is None and row.version == 1


def test_revoke_missing_designation(client):
    r = client.post(
        f"{API}/designations/999999/revoke",
        json={"revoked_on": "2024-01-01", "reason": "x"},
        headers={"If-Match": '"1"'},
    )
    assert_problem(r, 404)


# --------------------------------------------------------------------------- correct


def test_correct_designation(client, db):
    ent = make_enterprise(db)
    row = make_designation(db, ent, recognised_on=D(2022, 1, 1))
    url = f"{API}/designations/{row.id}"
    r = client.patch(
        url,
        json={
            "batch": "2022年第一批",
            "issuer": "山东省工业和信息化厅",
            "valid_until": "2024-12-31",
        },
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["batch"] == "2022年第一批" and data["valid_until"] == "2024-12-31"
    assert data["state"] == "expired" and data["version"] == 2
    assert r.headers["ETag"] == '"2"'

    # extending it again (open-ended)
    r = client.patch(url, json={"valid_until": None}, headers={"If-Match": '"2"'})
    assert r.json()["valid_until"] is None and r.json()["state"] == "active"


def test_correct_designation_refusals(client, db):
    ent = make_enterprise(db)
    row = make_designation(
        db, ent, recognised_on=D(2020, 1, 1), valid_until=D(2022, 12, 31), batch="原批次"
    )
    later = make_designation(db, ent, recognised_on=D(2023, 1, 1))
    url = f"{API}/designations/{row.id}"

    assert_problem(client.patch(url, json={"batch": "新"}), 428)
    assert_problem(client.patch(url, json={"batch": "新"}, headers={"If-Match": '"2"'}), 412)
    h = {"If-Match": '"1"'}
    assert_problem(
        client.patch(url, json={"valid_until": "2019-12-31"}, headers=h), 422, field="valid_until"
    )
    assert_problem(
        client.patch(url, json={"revoked_on": "2021-01-01"}, headers=h), 422, field="revoked_on"
    )
    assert_problem(client.patch(url, json={"tier": "unicorn"}, headers=h), 422, field="tier")
    data = assert_problem(client.patch(url, json={"valid_until": "2023-06-30"}, headers=h), 409)
    assert data["existing_id"] == later.id
    assert_problem(client.patch(f"{API}/designations/999999", json={}, headers=h), 404)

    db.refresh(row)
    assert (row.batch, row.valid_until, row.version) == ("原批次", D(2022, 12, 31), 1)


# --------------------------------------------------------------------------- the predicate


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (D(2021, 12, 31), DesignationState.PENDING),
        (D(2022, 1, 1), DesignationState.ACTIVE),  # recognised_on is inclusive
        (D(2023, 5, 31), DesignationState.ACTIVE),
        (D(2023, 6, 1), DesignationState.REVOKED),  # revoked_on is the first day without it
    ],
)
def test_predicate_boundaries_revoked(db, on, expected):
    ent = make_enterprise(db)
    row = make_designation(
        db, ent, recognised_on=D(2022, 1, 1), valid_until=D(2024, 12, 31), revoked_on=D(2023, 6, 1)
    )
    _check_consistent(db, row, on, expected)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (D(2024, 12, 31), DesignationState.ACTIVE),  # valid_until is inclusive
        (D(2025, 1, 1), DesignationState.EXPIRED),
    ],
)
def test_predicate_boundaries_expiry(db, on, expected):
    ent = make_enterprise(db)
    row = make_designation(db, ent, recognised_on=D(2022, 1, 1), valid_until=D(2024, 12, 31))
    _check_consistent(db, row, on, expected)


def _check_consistent(db, row, on, expected) -> None:
    assert (
        designation_state(
            on,
            recognised_on=row.recognised_on,
            valid_until=row.valid_until,
            revoked_on=row.revoked_on,
        )
        == expected
    )
    active = db.scalar(
        select(func.count()).where(Designation.id == row.id, designation_active_on(on))
    )
    assert active == (1 if expected is DesignationState.ACTIVE else 0)
    for state in DesignationState:
        n = db.scalar(
            select(func.count()).where(Designation.id == row.id, designation_in_state_on(state, on))
        )
        assert n == (1 if state is expected else 0), state
