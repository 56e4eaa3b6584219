"""Reports for days before any data or far ahead (issue 13).

``as_of=2000-01-01`` used to answer 422 about a period ``1999-12`` the server derived
itself. A day in January 2000 (before any reporting month is over) now reports the first
month, 2000-01, as it stood then: nothing can have been on record, so the report is empty.
Days outside the reporting months (2000-01 .. 2200-12) are refused naming ``as_of``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.factories import make_chain, make_project, make_report

API = "/api/v1/reports"


@pytest.fixture
def chain(db):
    chain = make_chain(db)
    project = make_project(db, chain)
    make_report(db, project, "2026-01", investment_month=Decimal("100"))
    return chain


def _get(client, url, **params):
    return client.get(url, params=params)


@pytest.mark.parametrize("as_of", ["2000-01-01", "2000-01-30"])
def test_a_day_before_any_month_is_over_reports_the_first_month_empty(client, chain, as_of):
    report = _get(client, f"{API}/chains/{chain.id}", as_of=as_of)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["meta"]["period"] == "2000-01"
    assert body["meta"]["state_date"] == as_of
    assert Decimal(body["headline"]["completed_since_start"]) == 0
    board = _get(client, f"{API}/dashboard", as_of=as_of)
    assert board.status_code == 200, board.text
    assert board.json()["meta"]["period"] == "2000-01"
    rows = [r for r in board.json()["rows"] if r["chain_id"] == chain.id]
    assert [Decimal(r["completed_since_start"]) for r in rows] == [0]


def test_the_end_of_january_2000_reports_january(client, chain):
    body = _get(client, f"{API}/chains/{chain.id}", as_of="2000-01-31").json()
    assert body["meta"]["period"] == "2000-01"
    assert (
        _get(client, f"{API}/chains/{chain.id}", as_of="2000-02-01").json()["meta"]["period"]
        == "2000-01"
    )


@pytest.mark.parametrize(
    ("as_of", "period"), [("2150-06-15", "2150-05"), ("2200-12-31", "2200-12")]
)
def test_a_far_future_day_reports_the_register_as_it_stands(client, chain, as_of, period):
    report = _get(client, f"{API}/chains/{chain.id}", as_of=as_of)
    assert report.status_code == 200, report.text
    assert report.json()["meta"]["period"] == period
    # what is on record now was on record then
    assert Decimal(report.json()["headline"]["completed_since_start"]) == 100
    board = _get(client, f"{API}/dashboard", as_of=as_of)
    assert board.status_code == 200, board.text
    assert board.json()["meta"]["period"] == period


@pytest.mark.parametrize(
    "as_of", ["1999-12-31", "1900-01-01", "0001-01-01", "2201-01-01", "9999-12-31"]
)
@pytest.mark.parametrize("url", ["/chains/{chain}", "/dashboard"])
def test_a_day_outside_the_reporting_months_is_refused_naming_as_of(client, chain, as_of, url):
    resp = _get(client, API + url.format(chain=chain.id), as_of=as_of)
    assert resp.status_code == 422, resp.text
    [error] = resp.json()["errors"]
    assert (error["location"], error["field"]) == ("query", "as_of")
    assert "2000-01-01" in error["message"] and "2200-12-31" in error["message"]
    assert "period" not in resp.json()["detail"]


def test_a_period_the_client_gives_is_still_blamed_on_the_period(client, chain):
    resp = _get(client, f"{API}/dashboard", period="1999-12", as_of="2000-01-01")
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "period"


def test_an_explicit_period_with_an_early_day(client, chain):
    resp = _get(client, f"{API}/chains/{chain.id}", period="2026-01", as_of="2000-01-01")
    assert resp.status_code == 200, resp.text
    assert resp.json()["meta"]["period"] == "2026-01"
    assert dt.date.fromisoformat(resp.json()["meta"]["state_date"]) == dt.date(2000, 1, 1)
    assert Decimal(resp.json()["headline"]["completed_since_start"]) == 0
