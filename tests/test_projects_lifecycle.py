"""Project lifecycle, status history, annual plans and the behind-schedule rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from chaintrack.history import office_today
from chaintrack.models import Project, ProjectAnnualPlan, ProjectStatusChange
from chaintrack.models.enums import ProjectStatus as S
from chaintrack.projects.lifecycle import (
    FINISHED,
    INITIAL_STATUSES,
    LIFECYCLE,
    TERMINAL,
    allowed_next,
    behind_schedule_condition,
    is_behind_schedule,
    lifecycle_markdown,
)
from tests.factories import make_chain, make_project
from tests.problems import assert_problem

URL = "/api/v1/projects"
TODAY = office_today()


def new_project(client, db, **kw) -> dict:
    chain = make_chain(db)
    data = {
        "chain_id": chain.id,
        "name": "生命周期测试项目",
        "type": "extend",
        "region_code": "370300",
        "total_investment": "1000",
        "status_date": "2024-01-10",
    }
    data.update(kw)
    r = client.post(URL, json=data)
    assert r.status_code == 201, r.text
    return r.json()


def move(client, project_id: int, etag: str, to: str, on: str, reason: str | None = None):
    payload = {"to_status": to, "changed_on": on}
    if reason is not None:
        payload["reason"] = reason
    return client.post(f"{URL}/{project_id}/transitions", json=payload, headers={"If-Match": etag})


def state(db, project_id: int):
    p = db.scalars(
        select(Project).where(Project.id == project_id).execution_options(populate_existing=True)
    ).one()
    n = db.scalar(
        select(func.count())
        .select_from(ProjectStatusChange)
        .where(ProjectStatusChange.project_id == project_id)
    )
    return p.status, p.version, p.actual_start, p.actual_completion, n


# --- the table itself ---------------------------------------------------------


def test_lifecycle_table():
    assert set(LIFECYCLE) == set(S)
    assert set(TERMINAL) == {S.IN_OPERATION, S.CANCELLED}
    assert set(INITIAL_STATUSES) == {S.PLANNED, S.SIGNED, S.UNDER_CONSTRUCTION}
    assert allowed_next(S.SUSPENDED, S.SIGNED) == [S.SIGNED, S.UNDER_CONSTRUCTION, S.CANCELLED]
    assert allowed_next(S.SUSPENDED, S.UNDER_CONSTRUCTION) == [S.UNDER_CONSTRUCTION, S.CANCELLED]
    assert "`in_operation` (投产运营) → — terminal" in lifecycle_markdown()


# --- transitions ----------------------------------------------------------------


def test_full_lifecycle(client, db):
    p = new_project(client, db)
    pid = p["id"]
    steps = [
        ("signed", "2024-02-01", None),
        ("under_construction", "2024-03-01", None),
        ("suspended", "2024-05-01", "资金未到位"),
        ("under_construction", "2024-06-01", "资金已到位"),
        ("completed", "2025-01-15", None),
        ("in_operation", "2025-02-01", None),
    ]
    etag = '"1"'
    for to, on, reason in steps:
        r = move(client, pid, etag, to, on, reason)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == to
        etag = r.headers["ETag"]
    out = r.json()
    # actual_start keeps the first start, not the resumption
    assert out["actual_start"] == "2024-03-01"
    assert out["actual_completion"] == "2025-01-15"
    assert out["allowed_transitions"] == []
    assert etag == f'"{1 + len(steps)}"'
    history = client.get(f"{URL}/{pid}/status-history").json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "planned"),
        ("planned", "signed"),
        ("signed", "under_construction"),
        ("under_construction", "suspended"),
        ("suspended", "under_construction"),
        ("under_construction", "completed"),
        ("completed", "in_operation"),
    ]
    assert history[3]["reason"] == "资金未到位" and history[3]["to_label"] == "暂停"


def test_suspended_resumes_to_previous_status(client, db):
    p = new_project(client, db, status="signed")
    r = move(client, p["id"], '"1"', "suspended", "2024-02-01", "等待审批")
    assert r.json()["allowed_transitions"] == ["signed", "under_construction", "cancelled"]
    r = move(client, p["id"], r.headers["ETag"], "signed", "2024-03-01")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "signed" and r.json()["actual_start"] is None


@pytest.mark.parametrize(
    ("initial", "to", "allowed"),
    [
        ("planned", "completed", ["signed", "under_construction", "cancelled"]),
        ("planned", "planned", ["signed", "under_construction", "cancelled"]),
        ("signed", "in_operation", ["under_construction", "suspended", "cancelled"]),
        ("under_construction", "signed", ["completed", "suspended", "cancelled"]),
    ],
)
def test_forbidden_transition_lists_allowed(client, db, initial, to, allowed):
    p = new_project(client, db, status=initial)
    before = state(db, p["id"])
    r = move(client, p["id"], '"1"', to, "2024-06-01", "原因")
    problem = assert_problem(r, 409, "conflict")
    assert problem["allowed"] == allowed
    assert problem["current_status"] == initial and problem["requested_status"] == to
    assert state(db, p["id"]) == before


def test_terminal_status_allows_nothing(client, db):
    p = new_project(client, db)
    r = move(client, p["id"], '"1"', "cancelled", "2024-02-01", "项目落地条件变化")
    assert r.status_code == 200, r.text
    before = state(db, p["id"])
    r = move(client, p["id"], '"2"', "signed", "2024-03-01")
    assert assert_problem(r, 409, "conflict")["allowed"] == []
    assert state(db, p["id"]) == before


def test_transition_bad_dates_and_reason(client, db):
    p = new_project(client, db, status="under_construction")
    before = state(db, p["id"])
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    r = move(client, p["id"], '"1"', "completed", tomorrow)
    assert (
        assert_problem(r, 422, "validation", field="changed_on")["errors"][0]["code"]
        == "future_date"
    )
    r = move(client, p["id"], '"1"', "completed", "2024-01-09")
    problem = assert_problem(r, 422, "validation", field="changed_on")
    assert problem["errors"][0]["code"] == "before_previous_change"
    for to in ("suspended", "cancelled"):
        assert_problem(
            move(client, p["id"], '"1"', to, "2024-06-01"), 422, "validation", field="reason"
        )
        assert_problem(
            move(client, p["id"], '"1"', to, "2024-06-01", ""), 422, "validation", field="reason"
        )
    assert state(db, p["id"]) == before


def test_transition_body_and_preconditions(client, db):
    p = new_project(client, db)
    pid = p["id"]
    before = state(db, pid)
    url = f"{URL}/{pid}/transitions"
    ok = {"to_status": "signed", "changed_on": "2024-02-01"}
    assert_problem(client.post(url, json=ok), 428, "precondition-required")
    assert_problem(
        client.post(url, json=ok, headers={"If-Match": '"5"'}), 412, "precondition-failed"
    )
    assert_problem(
        client.post(f"{URL}/999999/transitions", json=ok, headers={"If-Match": '"1"'}),
        404,
        "not-found",
    )
    for bad, field in (
        ({**ok, "to_status": "exploded"}, "to_status"),
        ({**ok, "changed_on": "yesterday"}, "changed_on"),
        ({"to_status": "signed"}, "changed_on"),
        ({**ok, "from_status": "planned"}, "from_status"),
        ({**ok, "recorded_at": "2024-01-01T00:00:00Z"}, "recorded_at"),
    ):
        r = client.post(url, json=bad, headers={"If-Match": '"1"'})
        assert_problem(r, 422, "validation", field=field)
    assert state(db, pid) == before
    # the stale ETag after a successful change
    assert client.post(url, json=ok, headers={"If-Match": '"1"'}).status_code == 200
    r = client.post(
        url,
        json={"to_status": "under_construction", "changed_on": "2024-03-01"},
        headers={"If-Match": '"1"'},
    )
    assert_problem(r, 412, "precondition-failed")


# --- annual plans ---------------------------------------------------------------


def plans_in_db(db, project_id):
    return {
        p.year: p.planned_investment
        for p in db.scalars(
            select(ProjectAnnualPlan)
            .where(ProjectAnnualPlan.project_id == project_id)
            .execution_options(populate_existing=True)
        )
    }


def test_annual_plans_put_and_get(client, db):
    p = new_project(client, db, annual_plans=[{"year": 2024, "planned_investment": "300"}])
    pid = p["id"]
    url = f"{URL}/{pid}/annual-plans"
    r = client.get(url)
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'
    assert r.json()["planned_sum"] == "300.0000" and r.json()["total_investment"] == "1000.0000"
    r = client.put(f"{url}/2025", json={"planned_investment": "500"}, headers={"If-Match": '"1"'})
    assert r.status_code == 201, r.text
    assert r.json() == {"year": 2025, "planned_investment": "500.0000"}
    assert r.headers["ETag"] == '"2"'
    r = client.put(f"{url}/2024", json={"planned_investment": "500"}, headers={"If-Match": '"2"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"3"'
    # the same amount again changes nothing
    r = client.put(
        f"{url}/2024", json={"planned_investment": "500.00"}, headers={"If-Match": '"3"'}
    )
    assert r.status_code == 200 and r.headers["ETag"] == '"3"'
    assert client.get(f"{URL}/{pid}").headers["ETag"] == '"3"'
    items = client.get(url).json()["items"]
    assert items == [
        {"year": 2024, "planned_investment": "500.0000"},
        {"year": 2025, "planned_investment": "500.0000"},
    ]


def test_annual_plans_bad_input(client, db):
    p = new_project(client, db, annual_plans=[{"year": 2024, "planned_investment": "600"}])
    pid = p["id"]
    url = f"{URL}/{pid}/annual-plans"
    before = (plans_in_db(db, pid), state(db, pid))
    amount = {"planned_investment": "100"}
    assert_problem(client.put(f"{url}/2025", json=amount), 428, "precondition-required")
    assert_problem(
        client.put(f"{url}/2025", json=amount, headers={"If-Match": '"9"'}),
        412,
        "precondition-failed",
    )
    assert_problem(
        client.put(f"{URL}/999999/annual-plans/2025", json=amount, headers={"If-Match": '"1"'}),
        404,
        "not-found",
    )
    r = client.put(
        f"{url}/2025", json={"planned_investment": "400.01"}, headers={"If-Match": '"1"'}
    )
    problem = assert_problem(r, 422, "validation", field="planned_investment")
    assert problem["errors"][0]["code"] == "plans_exceed_total"
    for year, payload, field in (
        ("2025", {"planned_investment": "-1"}, "planned_investment"),
        ("1999", amount, "year"),
        ("abcd", amount, "year"),
        ("2025", {"planned_investment": "1", "year": 2025}, "year"),
        ("2025", {}, "planned_investment"),
    ):
        r = client.put(f"{url}/{year}", json=payload, headers={"If-Match": '"1"'})
        assert_problem(r, 422, "validation", field=field)
    assert (plans_in_db(db, pid), state(db, pid)) == before


# --- behind schedule ------------------------------------------------------------


def test_behind_schedule_rule():
    today = dt.date(2025, 6, 1)
    past, future = dt.date(2025, 1, 1), dt.date(2026, 1, 1)
    assert is_behind_schedule(S.UNDER_CONSTRUCTION, past, past, today)
    assert is_behind_schedule(S.SUSPENDED, past, past, today)
    assert is_behind_schedule(S.SIGNED, past, future, today)
    assert not is_behind_schedule(S.UNDER_CONSTRUCTION, past, future, today)
    assert not is_behind_schedule(S.PLANNED, future, None, today)
    assert not is_behind_schedule(S.PLANNED, None, None, today)
    for done in FINISHED:
        assert not is_behind_schedule(done, past, past, today)


def test_behind_schedule_sql_matches_python(db):
    chain = make_chain(db)
    today = dt.date(2025, 6, 1)
    dates = [None, dt.date(2025, 1, 1), dt.date(2025, 6, 1), dt.date(2026, 1, 1)]
    projects = []
    for status in S:
        for start in dates:
            for end in dates:
                if start and end and end < start:
                    continue
                projects.append(
                    make_project(
                        db, chain, status=status, planned_start=start, planned_completion=end
                    )
                )
    ids = {p.id for p in projects}
    behind = set(
        db.scalars(
            select(Project.id).where(Project.chain_id == chain.id, behind_schedule_condition(today))
        )
    )
    on_time = set(
        db.scalars(
            select(Project.id).where(
                Project.chain_id == chain.id, behind_schedule_condition(today, behind=False)
            )
        )
    )
    expected = {
        p.id
        for p in projects
        if is_behind_schedule(p.status, p.planned_start, p.planned_completion, today)
    }
    assert behind == expected
    assert on_time == ids - expected


def test_money_is_never_float(client, db):
    p = new_project(client, db, total_investment="1234.5678")
    assert p["total_investment"] == "1234.5678"
    stored = db.scalar(select(Project.total_investment).where(Project.id == p["id"]))
    assert stored == Decimal("1234.5678")
