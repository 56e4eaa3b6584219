"""The monthly dispatch through HTTP: submitting, correcting and reading progress reports."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from chaintrack.models import Problem, ProgressReport, ProjectAnnualPlan
from chaintrack.models.enums import ProjectStatus
from chaintrack.progress.rules import current_period
from tests.factories import make_chain, make_project, make_report
from tests.problems import assert_problem

API = "/api/v1"


def url(project_id: int, period: str | None = None) -> str:
    base = f"{API}/projects/{project_id}/progress"
    return f"{base}/{period}" if period else base


def report_count(db, project_id: int) -> int:
    return db.scalar(
        select(func.count())
        .select_from(ProgressReport)
        .where(ProgressReport.project_id == project_id)
    )


def problem_count(db, project_id: int) -> int:
    return db.scalar(
        select(func.count()).select_from(Problem).where(Problem.project_id == project_id)
    )


def add_plan(db, project, year: int, amount: str) -> None:
    db.add(ProjectAnnualPlan(project_id=project.id, year=year, planned_investment=Decimal(amount)))
    db.flush()


def next_month(period: str) -> str:
    y, m = int(period[:4]), int(period[5:])
    return f"{y + m // 12}-{m % 12 + 1:02d}"


@pytest.fixture
def project(db):
    chain = make_chain(db)
    return make_project(db, chain, total_investment=Decimal("50000000"))


# --- success paths ------------------------------------------------------------------


def test_two_months_and_exact_cumulative_figures(client, db, project):
    add_plan(db, project, 2024, "1000")
    r = client.put(url(project.id, "2023-12"), json={"investment_month": "12345678.9999"})
    assert r.status_code == 201, r.text
    r = client.put(
        url(project.id, "2024-01"),
        json={
            "investment_month": "0.1",
            "physical_progress_pct": "12.5",
            "physical_progress": "主体厂房开工",
            "next_steps": "设备招标",
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"{API}/progress-reports/{r.json()['id']}"
    r = client.put(url(project.id, "2024-02"), json={"investment_month": "0.2"})
    assert r.status_code == 201, r.text
    feb = r.json()
    assert feb["revision"] == 1 and feb["superseded_revisions"] == 0 and feb["is_current"]
    assert feb["investment_month"] == "0.2000"
    assert feb["cumulative_year"] == "0.3000"  # 0.1 + 0.2 exactly, 2023-12 not in 2024
    assert feb["cumulative_total"] == "12345679.2999"
    assert feb["annual_plan"] == "1000.0000"
    assert feb["pct_of_annual_plan"] == "0.03"
    assert feb["total_investment"] == "50000000.0000"
    assert feb["pct_of_total_investment"] == "24.69"
    assert len(feb["revisions"]) == 1 and feb["problems"] == []

    r = client.get(url(project.id))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 3
    rows = {i["period"]: i for i in page["items"]}
    assert [i["period"] for i in page["items"]] == ["2023-12", "2024-01", "2024-02"]
    assert rows["2023-12"]["cumulative_year"] == "12345678.9999"
    assert rows["2023-12"]["annual_plan"] is None
    assert rows["2023-12"]["pct_of_annual_plan"] is None
    assert rows["2024-01"]["cumulative_year"] == "0.1000"
    assert rows["2024-01"]["cumulative_total"] == "12345679.0999"
    assert rows["2024-01"]["pct_of_annual_plan"] == "0.01"
    assert rows["2024-01"]["physical_progress_pct"] == "12.50"
    assert rows["2024-02"]["cumulative_year"] == "0.3000"
    assert rows["2024-02"]["cumulative_total"] == "12345679.2999"

    # Latest first; a page after the first still counts the months before it.
    r = client.get(url(project.id), params={"sort": "-period", "limit": 1, "offset": 1})
    assert r.json()["items"][0]["period"] == "2024-01"
    assert r.json()["items"][0]["cumulative_total"] == "12345679.0999"

    r = client.get(url(project.id, "2024-02"))
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'
    assert r.json()["cumulative_total"] == "12345679.2999"


def test_zero_total_investment_gives_null_percent(client, db):
    project = make_project(db, make_chain(db), total_investment=Decimal("0"))
    add_plan(db, project, 2024, "0")
    r = client.put(url(project.id, "2024-03"), json={"investment_month": "5"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["pct_of_total_investment"] is None and body["pct_of_annual_plan"] is None
    assert body["annual_plan"] == "0.0000"


def test_correction_is_a_new_revision_and_as_of_shows_the_old(client, db, project):
    add_plan(db, project, 2024, "10")
    client.put(url(project.id, "2024-01"), json={"investment_month": "1"})
    first = client.put(url(project.id, "2024-02"), json={"investment_month": "2"})
    assert first.status_code == 201
    before_correction = dt.datetime.now(dt.UTC)
    time.sleep(0.01)

    r = client.put(
        url(project.id, "2024-02"),
        json={"investment_month": "3.5", "correction_reason": "财务核对后更正"},
        headers={"If-Match": first.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    body = r.json()
    assert body["revision"] == 2 and body["superseded_revisions"] == 1
    assert body["correction_reason"] == "财务核对后更正"
    assert body["cumulative_year"] == "4.5000"
    assert body["pct_of_annual_plan"] == "45.00"
    old, new = body["revisions"]
    assert old["revision"] == 1 and old["superseded_at"] is not None
    assert old["investment_month"] == "2.0000"
    assert new["revision"] == 2 and new["superseded_at"] is None
    assert report_count(db, project.id) == 3

    # The list shows only the current revision of each month.
    items = client.get(url(project.id)).json()["items"]
    assert [(i["period"], i["revision"]) for i in items] == [("2024-01", 1), ("2024-02", 2)]
    assert items[1]["cumulative_total"] == "4.5000"

    # What was on record before the correction.
    params = {"as_of": before_correction.isoformat()}
    r = client.get(url(project.id, "2024-02"), params=params)
    assert r.status_code == 200, r.text
    then = r.json()
    assert then["revision"] == 1 and then["investment_month"] == "2.0000"
    assert then["cumulative_year"] == "3.0000" and then["pct_of_annual_plan"] == "30.00"
    assert then["superseded_at"] is None and [v["revision"] for v in then["revisions"]] == [1]
    assert "ETag" not in r.headers
    r = client.get(url(project.id), params=params)
    assert [i["cumulative_total"] for i in r.json()["items"]] == ["1.0000", "3.0000"]

    # An old revision by id: not current, figures as they stood when it was submitted.
    r = client.get(f"{API}/progress-reports/{first.json()['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["is_current"] is False and r.json()["superseded_at"] is not None
    assert r.json()["cumulative_year"] == "3.0000"

    # Before anything was submitted there was nothing on record.
    long_ago = {"as_of": "2000-01-01T00:00:00+08:00"}
    assert_problem(client.get(url(project.id, "2024-02"), params=long_ago), 404)
    assert client.get(url(project.id), params=long_ago).json()["total"] == 0


def test_inline_problems_are_raised_with_the_report(client, db, project):
    r = client.put(
        url(project.id, "2024-05"),
        json={
            "investment_month": "10",
            "problems": [
                {
                    "description": "用地指标未落实",
                    "responsible_unit": "市自然资源和规划局",
                    "deadline": "2024-06-30",
                },
                {"description": "施工用电未接入"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    problems = r.json()["problems"]
    assert [p["description"] for p in problems] == ["用地指标未落实", "施工用电未接入"]
    assert all(p["report_id"] == r.json()["id"] and p["status"] == "open" for p in problems)
    assert problem_count(db, project.id) == 2


def test_statement_count_of_the_progress_list_does_not_grow(client, db, count_statements):
    chain = make_chain(db)
    small = make_project(db, chain)
    large = make_project(db, chain)
    for year in (2022, 2023):
        add_plan(db, small, year, "100")
        add_plan(db, large, year, "100")
    for i in range(2):
        make_report(db, small, f"2022-{i + 1:02d}")
    for i in range(24):
        make_report(db, large, f"{2022 + i // 12}-{i % 12 + 1:02d}")
    db.flush()

    with count_statements() as c_small:
        r = client.get(url(small.id))
    assert r.status_code == 200 and r.json()["total"] == 2
    with count_statements() as c_large:
        r = client.get(url(large.id))
    assert r.status_code == 200 and r.json()["total"] == 24
    assert r.json()["items"][-1]["cumulative_total"] == "2400.0000"
    assert r.json()["items"][-1]["cumulative_year"] == "1200.0000"
    assert c_small.count == c_large.count <= 4


# --- bad input: nothing is written ---------------------------------------------------


def test_future_period_is_refused(client, db, project):
    future = next_month(current_period())
    r = client.put(url(project.id, future), json={"investment_month": "1"})
    body = assert_problem(r, 422, field="period", location="path")
    assert body["errors"][0]["code"] == "period_in_future"
    assert report_count(db, project.id) == 0
    # The current month itself is fine.
    assert client.put(url(project.id, current_period()), json={"investment_month": "1"}).is_success


@pytest.mark.parametrize("period", ["2024-13", "2024-1", "202401", "1999-12", "abcd-ef"])
def test_bad_period_is_refused(client, db, project, period):
    r = client.put(url(project.id, period), json={"investment_month": "1"})
    assert_problem(r, 422, field="period", location="path")
    assert report_count(db, project.id) == 0
    assert_problem(client.get(url(project.id, period)), 422, field="period", location="path")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"investment_month": "-0.01"}, "investment_month"),
        ({"investment_month": "1.00001"}, "investment_month"),
        ({"investment_month": "abc"}, "investment_month"),
        ({"investment_month": "NaN"}, "investment_month"),
        ({"investment_month": "1e20"}, "investment_month"),
        ({}, "investment_month"),
        ({"investment_month": "1", "physical_progress_pct": "100.5"}, "physical_progress_pct"),
        ({"investment_month": "1", "cumulative_year": "5"}, "cumulative_year"),
        ({"investment_month": "1", "revision": 3}, "revision"),
        (
            {"investment_month": "1", "problems": [{"description": "x", "deadline": "2024-01-31"}]},
            "problems.0.deadline",
        ),
        ({"investment_month": "1", "problems": [{"description": ""}]}, "problems.0.description"),
    ],
)
def test_bad_body_is_refused(client, db, project, body, field):
    r = client.put(url(project.id, "2024-02"), json=body)
    assert_problem(r, 422, field=field, location="body")
    assert report_count(db, project.id) == 0
    assert problem_count(db, project.id) == 0


def test_resubmission_needs_if_match_and_a_reason(client, db, project):
    first = client.put(url(project.id, "2024-03"), json={"investment_month": "1"})
    assert first.status_code == 201
    correction = {"investment_month": "2", "correction_reason": "更正"}

    r = client.put(url(project.id, "2024-03"), json=correction)
    assert_problem(r, 428)
    r = client.put(url(project.id, "2024-03"), json=correction, headers={"If-Match": '"7"'})
    body = assert_problem(r, 412)
    assert body["current_etag"] == '"1"'
    r = client.put(
        url(project.id, "2024-03"), json={"investment_month": "2"}, headers={"If-Match": '"1"'}
    )
    assert_problem(r, 422, field="correction_reason")

    assert report_count(db, project.id) == 1
    current = client.get(url(project.id, "2024-03")).json()
    assert current["revision"] == 1 and current["revisions"][0]["superseded_at"] is None

    # A second correction with the first revision's ETag is stale.
    ok = client.put(url(project.id, "2024-03"), json=correction, headers={"If-Match": '"1"'})
    assert ok.status_code == 200
    r = client.put(url(project.id, "2024-03"), json=correction, headers={"If-Match": '"1"'})
    assert_problem(r, 412)
    assert report_count(db, project.id) == 2


def test_if_match_on_a_first_submission_is_stale(client, db, project):
    r = client.put(
        url(project.id, "2024-03"), json={"investment_month": "1"}, headers={"If-Match": '"1"'}
    )
    assert_problem(r, 412)
    assert report_count(db, project.id) == 0


def test_cancelled_project_takes_no_reports(client, db):
    project = make_project(db, make_chain(db), status=ProjectStatus.CANCELLED)
    r = client.put(
        url(project.id, "2024-03"),
        json={"investment_month": "1", "problems": [{"description": "停工"}]},
    )
    body = assert_problem(r, 409)
    assert body["project_status"] == "cancelled"
    assert report_count(db, project.id) == 0 and problem_count(db, project.id) == 0


def test_huge_ids_are_422_not_500(client):
    for path in [url(2**40), url(2**40, "2024-03"), f"{API}/progress-reports/{2**63}"]:
        assert_problem(client.get(path), 422)


def test_unknown_project_and_report(client):
    assert_problem(client.put(url(999_999, "2024-03"), json={"investment_month": "1"}), 404)
    assert_problem(client.get(url(999_999)), 404)
    assert_problem(client.get(url(999_999, "2024-03")), 404)
    assert_problem(client.get(f"{API}/progress-reports/999999"), 404)


def test_month_without_a_report_is_404(client, project):
    body = assert_problem(client.get(url(project.id, "2024-03")), 404)
    assert body["entity"] == "progress report"


def test_as_of_needs_a_time_zone(client, project):
    r = client.get(url(project.id), params={"as_of": "2024-03-01T00:00:00"})
    assert_problem(r, 422, field="as_of", location="query")
    r = client.get(url(project.id), params={"sort": "investment"})
    assert_problem(r, 422, field="sort", location="query")
