"""Problems (存在问题) through HTTP: raise, assign, resolve, list per project and chain."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from chaintrack.history import office_today
from chaintrack.models import Problem
from chaintrack.models.enums import ProblemStatus
from chaintrack.progress.rules import current_period
from tests.factories import make_chain, make_project, make_report
from tests.problems import assert_problem

API = "/api/v1"


def problem_count(db, **where) -> int:
    stmt = select(func.count()).select_from(Problem)
    for name, value in where.items():
        stmt = stmt.where(getattr(Problem, name) == value)
    return db.scalar(stmt)


def make_problem(db, project, **kw) -> Problem:
    defaults = {"project_id": project.id, "period": "2024-03", "description": "问题"}
    problem = Problem(**{**defaults, **kw})
    db.add(problem)
    db.flush()
    return problem


@pytest.fixture
def project(db):
    return make_project(db, make_chain(db))


def test_problem_lifecycle(client, db, project):
    report = make_report(db, project, "2024-03")
    r = client.post(
        f"{API}/projects/{project.id}/problems",
        json={
            "period": "2024-03",
            "description": "用地指标未落实",
            "report_id": report.id,
            "deadline": "2024-04-30",
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    pid = created["id"]
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"{API}/problems/{pid}"
    assert created["status"] == "open" and created["status_label"] == "未解决"
    assert created["overdue"] is True  # the deadline has passed and it is open
    assert created["report_id"] == report.id

    r = client.get(f"{API}/problems/{pid}")
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'

    # Assign it.
    change = {"responsible_unit": "市自然资源和规划局", "responsible_person": "张三"}
    assert_problem(client.patch(f"{API}/problems/{pid}", json=change), 428)
    assert_problem(
        client.patch(f"{API}/problems/{pid}", json=change, headers={"If-Match": '"9"'}), 412
    )
    r = client.patch(f"{API}/problems/{pid}", json=change, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    assert r.json()["responsible_unit"] == "市自然资源和规划局"
    assert r.json()["description"] == "用地指标未落实"  # left out, kept

    # Bad edits write nothing.
    for body, field in [
        ({"description": None}, "description"),
        ({"deadline": "2024-02-28"}, "deadline"),
        ({"status": "resolved"}, "status"),
    ]:
        r = client.patch(f"{API}/problems/{pid}", json=body, headers={"If-Match": '"2"'})
        assert_problem(r, 422, field=field, location="body")
    assert client.get(f"{API}/problems/{pid}").json()["version"] == 2

    # Resolve it.
    resolve = {"resolution": "已取得用地批复", "resolved_on": "2024-05-20"}
    assert_problem(client.post(f"{API}/problems/{pid}/resolve", json=resolve), 428)
    assert_problem(
        client.post(f"{API}/problems/{pid}/resolve", json=resolve, headers={"If-Match": '"1"'}),
        412,
    )
    future = (office_today() + dt.timedelta(days=1)).isoformat()
    for body, field in [
        ({**resolve, "resolved_on": future}, "resolved_on"),
        ({**resolve, "resolved_on": "2024-02-29"}, "resolved_on"),
        ({"resolved_on": "2024-05-20"}, "resolution"),
    ]:
        r = client.post(f"{API}/problems/{pid}/resolve", json=body, headers={"If-Match": '"2"'})
        assert_problem(r, 422, field=field, location="body")
    assert problem_count(db, status=ProblemStatus.RESOLVED) == 0

    r = client.post(f"{API}/problems/{pid}/resolve", json=resolve, headers={"If-Match": '"2"'})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "resolved" and done["resolved_on"] == "2024-05-20"
    assert done["overdue"] is False and r.headers["ETag"] == '"3"'

    # Resolved is history: no second resolution, no edits.
    r = client.post(f"{API}/problems/{pid}/resolve", json=resolve, headers={"If-Match": '"3"'})
    assert_problem(r, 409)
    r = client.patch(f"{API}/problems/{pid}", json=change, headers={"If-Match": '"3"'})
    assert_problem(r, 409)
    assert client.get(f"{API}/problems/{pid}").json()["version"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "x"}, "period"),
        ({"period": "2024-13", "description": "x"}, "period"),
        ({"period": "2024-03"}, "description"),
        ({"period": "2024-03", "description": "x", "deadline": "2024-02-01"}, "deadline"),
        ({"period": "2024-03", "description": "x", "status": "resolved"}, "status"),
        ({"period": "2024-03", "description": "x", "report_id": 999999}, "report_id"),
    ],
)
def test_bad_problem_is_refused(client, db, project, body, field):
    r = client.post(f"{API}/projects/{project.id}/problems", json=body)
    assert_problem(r, 422, field=field, location="body")
    assert problem_count(db, project_id=project.id) == 0


def test_problem_references_are_checked(client, db, project):
    other = make_project(db, make_chain(db))
    foreign = make_report(db, other, "2024-03")
    own = make_report(db, project, "2024-03")
    base = {"period": "2024-03", "description": "x"}
    r = client.post(f"{API}/projects/{project.id}/problems", json={**base, "report_id": foreign.id})
    assert_problem(r, 422, field="report_id", location="body")
    r = client.post(
        f"{API}/projects/{project.id}/problems",
        json={**base, "period": "2024-04", "report_id": own.id},
    )
    assert (
        assert_problem(r, 422, field="report_id", location="body")["errors"][0]["code"]
        == "period_mismatch"
    )
    y, m = int(current_period()[:4]), int(current_period()[5:])
    future = f"{y + m // 12}-{m % 12 + 1:02d}"
    r = client.post(f"{API}/projects/{project.id}/problems", json={**base, "period": future})
    assert_problem(r, 422, field="period", location="body")
    assert problem_count(db, project_id=project.id) == 0
    assert_problem(client.post(f"{API}/projects/999999/problems", json=base), 404)
    assert_problem(client.get(f"{API}/problems/999999"), 404)
    assert_problem(
        client.patch(f"{API}/problems/999999", json={}, headers={"If-Match": '"1"'}), 404
    )


def test_project_problem_list_filters(client, db, project):
    make_problem(db, project, description="a")
    b = make_problem(db, project, description="b", period="2024-04")
    make_problem(
        db,
        project,
        description="c",
        status=ProblemStatus.RESOLVED,
        resolution="ok",
        resolved_on=dt.date(2024, 5, 1),
    )
    base = f"{API}/projects/{project.id}/problems"
    assert client.get(base).json()["total"] == 3
    r = client.get(base, params={"status": "open", "sort": "-period"})
    assert [p["description"] for p in r.json()["items"]] == ["b", "a"]
    assert client.get(base, params={"status": "resolved"}).json()["total"] == 1
    assert client.get(base, params={"period": "2024-04"}).json()["items"][0]["id"] == b.id
    assert_problem(
        client.get(base, params={"status": "closed"}), 422, field="status", location="query"
    )
    assert_problem(client.get(base, params={"sort": "nope"}), 422, field="sort", location="query")
    assert_problem(client.get(f"{API}/projects/999999/problems"), 404)


def test_chain_problem_list(client, db):
    chain = make_chain(db)
    p1 = make_project(db, chain, name="一号项目")
    p2 = make_project(db, chain, name="二号项目")
    elsewhere = make_project(db, make_chain(db))
    overdue = make_problem(
        db, p1, description="逾期", deadline=dt.date(2024, 4, 1), responsible_unit="市发改委"
    )
    make_problem(
        db,
        p2,
        description="未到期",
        deadline=office_today() + dt.timedelta(days=30),
        responsible_unit="市自然资源和规划局",
    )
    make_problem(
        db, p2, status=ProblemStatus.RESOLVED, resolution="ok", resolved_on=dt.date(2024, 5, 1)
    )
    make_problem(db, elsewhere, description="别的链")

    base = f"{API}/chains/{chain.id}/problems"
    r = client.get(base)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 2  # open by default, this chain only
    first = next(i for i in page["items"] if i["id"] == overdue.id)
    assert first["project_code"] == p1.internal_code and first["project_name"] == "一号项目"
    assert first["overdue"] is True

    r = client.get(base, params={"overdue": "true"})
    assert [i["id"] for i in r.json()["items"]] == [overdue.id]
    r = client.get(base, params={"overdue": "false"})
    assert [i["description"] for i in r.json()["items"]] == ["未到期"]
    r = client.get(base, params={"responsible_unit": "自然资源"})
    assert [i["description"] for i in r.json()["items"]] == ["未到期"]
    assert client.get(base, params={"status": "all"}).json()["total"] == 3
    r = client.get(base, params={"sort": "-project_code", "limit": 1})
    assert r.json()["total"] == 2 and r.json()["items"][0]["project_id"] == p2.id

    assert_problem(client.get(f"{API}/chains/999999/problems"), 404)
    assert_problem(client.get(base, params={"limit": 100000}), 422, field="limit", location="query")


def test_chain_problem_list_statement_count_does_not_grow(client, db, count_statements):
    def chain_with(n_projects: int, per_project: int):
        chain = make_chain(db)
        for _ in range(n_projects):
            project = make_project(db, chain)
            for _ in range(per_project):
                make_problem(db, project)
        return chain

    small = chain_with(1, 2)
    large = chain_with(5, 4)
    with count_statements() as c_small:
        r = client.get(f"{API}/chains/{small.id}/problems")
    assert r.json()["total"] == 2
    with count_statements() as c_large:
        r = client.get(f"{API}/chains/{large.id}/problems")
    assert r.json()["total"] == 20 and len(r.json()["items"]) == 20
    assert c_small.count == c_large.count <= 3
