"""``as_of`` on the reports takes a date-time with a time zone as well as a date: the
revisions on record at that instant, the state of the day it falls on in Beijing, and by
default the latest month over at that instant."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.factories import make_chain, make_project, make_report

API = "/api/v1/reports"
UTC = dt.UTC


@pytest.fixture
def chain(db):
    chain = make_chain(db)
    project = make_project(db, chain)
    # 2026-01 reported at 09:00 Beijing on 3 February, corrected at 14:00 the same day
    make_report(
        db,
        project,
        "2026-01",
        investment_month=Decimal("100"),
        submitted_at=dt.datetime(2026, 2, 3, 1, tzinfo=UTC),
        superseded_at=dt.datetime(2026, 2, 3, 6, tzinfo=UTC),
    )
    make_report(
        db,
        project,
        "2026-01",
        revision=2,
        investment_month=Decimal("150"),
        submitted_at=dt.datetime(2026, 2, 3, 6, tzinfo=UTC),
    )
    return chain


def _completed(client, url, as_of):
    r = client.get(url, params={"as_of": as_of, "period": "2026-01"})
    assert r.status_code == 200, r.text
    return Decimal(r.json()["headline"]["completed_since_start"])


@pytest.mark.parametrize(
    ("as_of", "completed"),
    [
        ("2026-02-03T08:59:00+08:00", 0),
        ("2026-02-03T10:00:00+08:00", 100),
        ("2026-02-03T02:00:00Z", 100),
        ("2026-02-02T20:30:00-05:00", 100),  # 09:30 Beijing
        ("2026-02-03T14:30:00+08:00", 150),
        ("2026-02-03", 150),  # the end of the day
        ("2026-02-02", 0),
    ],
)
def test_an_instant_shows_the_revisions_on_record_then(client, chain, as_of, completed):
    assert _completed(client, f"{API}/chains/{chain.id}", as_of) == completed
    board = client.get(f"{API}/dashboard", params={"as_of": as_of, "period": "2026-01"})
    assert board.status_code == 200, board.text
    rows = [r for r in board.json()["rows"] if r["chain_id"] == chain.id]
    assert [Decimal(r["completed_since_start"]) for r in rows] == [completed]


@pytest.mark.parametrize(
    ("as_of", "period", "day"),
    [
        ("2026-01-31", "2026-01", "2026-01-31"),  # the end of the day: January is over
        # not yet over at 23:00 (the state date is capped at the period's end, as for dates)
        ("2026-01-31T23:00:00+08:00", "2025-12", "2025-12-31"),
        ("2026-01-31T16:00:00-08:00", "2026-01", "2026-01-31"),  # 08:00 Beijing, 1 February
    ],
)
def test_the_default_period_is_the_latest_month_over_at_that_moment(
    client, chain, as_of, period, day
):
    meta = client.get(f"{API}/chains/{chain.id}", params={"as_of": as_of}).json()["meta"]
    assert (meta["period"], meta["state_date"]) == (period, day)


@pytest.mark.parametrize(
    "as_of", ["2026-02-03T10:00:00", "2026-02-03 10:00", "1700000000", "1999-12-31T12:00:00Z"]
)
def test_a_date_time_without_a_time_zone_or_out_of_range_is_refused(client, chain, as_of):
    r = client.get(f"{API}/chains/{chain.id}", params={"as_of": as_of})
    assert r.status_code == 422, r.text
    assert any(e.get("field") == "as_of" for e in r.json()["errors"]), r.json()
