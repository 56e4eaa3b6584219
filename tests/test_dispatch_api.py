"""The dispatch round through HTTP: a round and its due list, a region-scoped reporter,
submit → return → resubmit → accept, the chase list, the red list and the counting rule."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pydantic import ValidationError
from sqlalchemy import func, select

from chaintrack.dispatch import service
from chaintrack.dispatch.settings import thresholds
from chaintrack.models import (
    AuditRecord,
    ProgressReport,
    ProjectAnnualPlan,
    ReporterScope,
    ReviewEvent,
)
from chaintrack.models.base import utcnow
from chaintrack.models.enums import ProjectStatus, ReviewState, UserRole
from tests.factories import make_chain, make_project
from tests.problems import assert_problem

API = "/api/v1/dispatch"
PERIOD = "2026-10"


def _reporter(db, make_user, region):
    user = make_user(UserRole.REPORTER)
    db.add(ReporterScope(user_id=user.id, region_code=region))
    db.flush()
    return user


def _world(db, make_user, client_for):
    chain = make_chain(db)
    # 莱芜 (371202, merged into 济南 in 2019) is in the 济南 reporter's region.
    laiwu = make_project(db, chain, region_code="371202", planned_start=dt.date(2026, 1, 1))
    jinan = make_project(db, chain, region_code="370102")
    yantai = make_project(db, chain, region_code="370602")
    make_project(db, chain, region_code="370102", status=ProjectStatus.PLANNED)  # not due
    editor = client_for(make_user(UserRole.EDITOR, chains=[chain]))
    reporter = client_for(_reporter(db, make_user, "370100"))
    outsider = client_for(_reporter(db, make_user, "370600"))
    return chain, (laiwu, jinan, yantai), editor, reporter, outsider


def test_the_loop(db, make_user, client_for):
    chain, (laiwu, jinan, yantai), editor, reporter, outsider = _world(db, make_user, client_for)
    r = editor.post(
        f"{API}/rounds",
        json={"period": PERIOD, "deadline": "2026-11-05", "chain_ids": [chain.id]},
    )
    assert r.status_code == 201, r.text
    rnd = r.json()
    assert {d["project_id"] for d in rnd["due"]} == {laiwu.id, jinan.id, yantai.id}
    assert rnd["due_count"] == 3 and rnd["reported_count"] == 0

    # Outside the region: 403 naming the rule, nothing written.
    before = db.scalar(select(func.count()).select_from(AuditRecord))
    r = outsider.put(f"{API}/projects/{laiwu.id}/reports/{PERIOD}", json={"investment_month": "5"})
    assert_problem(r, 403, "forbidden", detail="辖区")
    assert db.scalar(select(func.count()).select_from(AuditRecord)) == before
    # A reporter cannot review or open rounds.
    r = reporter.post(
        f"{API}/rounds",
        json={"period": "2026-09", "deadline": "2026-10-05", "chain_ids": [chain.id]},
    )
    assert r.status_code == 403

    # Zero investment on a project under construction: a warning to confirm.
    url = f"{API}/projects/{laiwu.id}/reports/{PERIOD}"
    r = reporter.put(url, json={"investment_month": "0"})
    assert_problem(r, 409, "conflict", detail="确认")
    assert "zero investment" in r.json()["warnings"][0]
    r = reporter.put(url, json={"investment_month": "0", "confirm_warnings": True})
    assert r.status_code == 201, r.text
    report1 = r.json()["id"]

    review = editor.get(f"{API}/reports/{report1}/review")
    assert review.json()["state"] == "pending" and review.json()["warnings"]
    etag = review.headers["ETag"]
    r = editor.post(
        f"{API}/reports/{report1}/return", json={"reason": "投资额漏报"}, headers={"If-Match": etag}
    )
    assert r.status_code == 200 and r.json()["state"] == "returned"
    chase = {c["project_id"]: c for c in editor.get(f"{API}/rounds/{rnd['id']}/chase").json()}
    assert chase[laiwu.id]["reason"] == "returned"
    assert chase[jinan.id]["reason"] == "not_reported"
    assert chase[jinan.id]["reporter_ids"] and chase[yantai.id]["reporter_ids"]
    assert chase[laiwu.id]["reporter_ids"] == chase[jinan.id]["reporter_ids"]

    # Stale review (the editor's ETag from before the return): 412.
    r = editor.post(f"{API}/reports/{report1}/accept", headers={"If-Match": etag})
    assert_problem(r, 412, "precondition-failed")

    r = reporter.put(
        url,
        json={"investment_month": "120", "correction_reason": "补报投资"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    report2 = r.json()["id"]
    # The old revision's review is stale now.
    assert (
        editor.post(f"{API}/reports/{report1}/accept", headers={"If-Match": etag}).status_code
        == 412
    )
    queue = editor.get(f"{API}/reviews").json()
    assert [q["report_id"] for q in queue] == [report2]
    etag = editor.get(f"{API}/reports/{report2}/review").headers["ETag"]
    r = editor.post(f"{API}/reports/{report2}/accept", headers={"If-Match": etag})
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    again = editor.post(f"{API}/reports/{report2}/accept", headers={"If-Match": etag})
    assert again.status_code == 200 and again.json()["state"] == "accepted"
    history = [(h["action"], h["revision"]) for h in again.json()["history"]]
    assert history == [("submit", 1), ("return", 1), ("resubmit", 2), ("accept", 2)]
    assert again.json()["history"][1]["reason"] == "投资额漏报"

    detail = editor.get(f"{API}/rounds/{rnd['id']}").json()
    laiwu_row = next(d for d in detail["due"] if d["project_id"] == laiwu.id)
    assert laiwu_row["review_state"] == "accepted" and laiwu_row["counts"] is True
    assert detail["reported_count"] == 1 and detail["reporting_rate"] is not None
    chase = editor.get(f"{API}/rounds/{rnd['id']}/chase").json()
    assert laiwu.id not in {c["project_id"] for c in chase}

    # The inbox: notify reporters of what is still to chase.
    assert editor.post(f"{API}/rounds/{rnd['id']}/notify").json()["notifications"] == 2
    inbox = reporter.get(f"{API}/inbox").json()
    assert [n["project_id"] for n in inbox] == [jinan.id]
    assert "请于2026-11-05前报送" in inbox[0]["message"]
    assert outsider.get(f"{API}/inbox").json()[0]["project_id"] == yantai.id

    r = editor.post(f"{API}/rounds/{rnd['id']}/close", headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["is_closed"]
    events = db.scalar(select(func.count()).select_from(ReviewEvent))
    assert events == 4


def test_refusals_and_warnings(db, make_user, client_for):
    chain, (laiwu, jinan, _), _editor, reporter, _ = _world(db, make_user, client_for)
    planned = make_project(db, chain, region_code="370102", status=ProjectStatus.PLANNED)
    r = reporter.put(
        f"{API}/projects/{planned.id}/reports/{PERIOD}", json={"investment_month": "1"}
    )
    assert_problem(r, 409, "conflict", detail="尚未开工")
    r = reporter.put(f"{API}/projects/{laiwu.id}/reports/2025-12", json={"investment_month": "1"})
    assert_problem(r, 422, "validation", field="period", detail="开工月份")
    r = reporter.put(f"{API}/projects/{laiwu.id}/reports/2099-01", json={"investment_month": "1"})
    assert r.status_code == 422
    assert db.scalar(select(func.count()).select_from(ProgressReport)) == 0

    for period, amount, pct in (
        ("2026-06", "10", "50"),
        ("2026-07", "10", "60"),
        ("2026-08", "10", "70"),
    ):
        body = {"investment_month": amount, "physical_progress_pct": pct}
        assert (
            reporter.put(f"{API}/projects/{jinan.id}/reports/{period}", json=body).status_code
            == 201
        )
    body = {"investment_month": "20000", "physical_progress_pct": "40"}
    r = reporter.put(f"{API}/projects/{jinan.id}/reports/2026-09", json=body)
    warnings = r.json()["warnings"]
    assert len(warnings) == 3, warnings
    assert any("超过总投资" in w for w in warnings)
    assert any("降至" in w for w in warnings)
    assert any("倍" in w for w in warnings)


def test_counting_rule_and_as_of(db, make_user, client_for):
    chain, (laiwu, _jinan, _yantai), editor, reporter, _ = _world(db, make_user, client_for)
    rnd = service.open_round(db, PERIOD, dt.date(2026, 11, 5), [chain.id], None)
    opened = utcnow()
    body = {"investment_month": "10", "confirm_warnings": True}
    assert reporter.put(f"{API}/projects/{laiwu.id}/reports/{PERIOD}", json=body).status_code == 201
    rows = {r.project.id: r for r in service.due_list(db, rnd, None)}
    # Pending: counts once the deadline has passed (it has: today is after 2026-11-05).
    assert rows[laiwu.id].state is ReviewState.PENDING
    assert service.counts(ReviewState.PENDING, dt.date(2026, 11, 5), utcnow()) is True
    assert service.counts(ReviewState.PENDING, dt.date(2999, 1, 1), utcnow()) is False
    assert service.counts(ReviewState.RETURNED, dt.date(2026, 11, 5), utcnow()) is False
    assert service.counts(None, dt.date(2999, 1, 1), utcnow()) is True  # an editor's entry
    # As of the moment the round opened: nothing reported yet.
    r = editor.get(f"{API}/rounds/{rnd.id}", params={"as_of": opened.isoformat()})
    assert r.json()["reported_count"] == 0
    assert editor.get(f"{API}/rounds/{rnd.id}").json()["reported_count"] == 1
    r = editor.get(f"{API}/rounds", params={"as_of": "2020-01-01T00:00:00+08:00"})
    assert r.json() == []


def test_red_list(db, make_user, client_for):
    chain = make_chain(db)
    editor = client_for(make_user(UserRole.EDITOR, chains=[chain]))
    on_track = make_project(db, chain)
    behind = make_project(db, chain, planned_completion=dt.date(2026, 6, 30))
    silent = make_project(db, chain)
    for p in (on_track, behind, silent):
        db.add(ProjectAnnualPlan(project_id=p.id, year=2026, planned_investment=Decimal("1200")))
    for m in range(1, 11):
        db.add(
            ProgressReport(
                project_id=on_track.id, period=f"2026-{m:02d}", investment_month=Decimal("100")
            )
        )
        if m <= 8:
            db.add(
                ProgressReport(
                    project_id=silent.id, period=f"2026-{m:02d}", investment_month=Decimal("100")
                )
            )
    db.add(ProgressReport(project_id=behind.id, period="2026-10", investment_month=Decimal("100")))
    db.flush()
    rnd = service.open_round(db, PERIOD, dt.date(2026, 11, 5), [chain.id], None)
    rows = {r["project_id"]: r for r in editor.get(f"{API}/rounds/{rnd.id}/warnings").json()}
    assert rows[on_track.id]["level"] == "green"
    assert rows[behind.id]["level"] == "red"
    assert any("序时" in x for x in rows[behind.id]["reasons"])
    assert any("竣工" in x for x in rows[behind.id]["reasons"])
    assert rows[silent.id]["level"] == "yellow"  # 2 months silent, 800 of 1000 due
    red = editor.get(f"{API}/rounds/{rnd.id}/warnings", params={"level": "red"}).json()
    assert [r["project_id"] for r in red] == [behind.id]


def test_chase_and_red_lists_as_excel(db, make_user, client_for):
    chain, (laiwu, jinan, yantai), editor, reporter, _ = _world(db, make_user, client_for)
    rnd = service.open_round(db, PERIOD, dt.date(2026, 11, 5), [chain.id], None)
    body = {"investment_month": "10", "confirm_warnings": True}
    assert reporter.put(f"{API}/projects/{laiwu.id}/reports/{PERIOD}", json=body).status_code == 201

    r = editor.get(f"{API}/rounds/{rnd.id}/chase", params={"format": "xlsx"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:2] == ("项目ID", "项目名称") and "催报原因" in rows[0]
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {laiwu.id, jinan.id, yantai.id}
    reason = rows[0].index("催报原因")
    assert by_id[laiwu.id][reason] == "待审核" and by_id[jinan.id][reason] == "未报送"
    assert by_id[jinan.id][rows[0].index("产业链")] == chain.name_zh
    assert by_id[yantai.id][rows[0].index("地市代码")] == "370600"
    json_rows = editor.get(f"{API}/rounds/{rnd.id}/chase").json()
    assert len(json_rows) == len(rows) - 1

    r = editor.get(f"{API}/rounds/{rnd.id}/warnings", params={"format": "xlsx", "level": "red"})
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.content)).worksheets[0].iter_rows(values_only=True))
    red = editor.get(f"{API}/rounds/{rnd.id}/warnings", params={"level": "red"}).json()
    assert sorted(row[0] for row in rows[1:]) == sorted(w["project_id"] for w in red)
    assert red and all(row[rows[0].index("预警等级")] == "红" for row in rows[1:])
    assert editor.get(f"{API}/rounds/{rnd.id}/chase", params={"format": "pdf"}).status_code == 422


REGIONS = ("370102", "371202", "370602", "370203")


def grow_round(db, make_user, chain, n):
    """``n`` more due projects and reporters: pending, returned, accepted and missing
    reports, annual plans and overdue problems (everything the three lists read)."""
    from chaintrack.dispatch.schemas import DispatchSubmit
    from chaintrack.models import Problem

    for i in range(n):
        region = REGIONS[i % len(REGIONS)]
        p = make_project(db, chain, region_code=region)
        _reporter(db, make_user, region)
        db.add(ProjectAnnualPlan(project_id=p.id, year=2026, planned_investment=Decimal("1200")))
        db.add(
            Problem(
                project_id=p.id, period=PERIOD, description="征地", deadline=dt.date(2026, 1, 1)
            )
        )
        if i % 4 != 3:
            body = DispatchSubmit(investment_month=Decimal("10"), confirm_warnings=True)
            sub = service.submit(db, p.id, PERIOD, body, None, None)
            etag = f'"{sub.review.version}"'
            if i % 4 == 1:
                service.decide(db, sub.report.id, False, "请核实", etag, None)
            elif i % 4 == 2:
                service.decide(db, sub.report.id, True, None, etag, None)
    db.flush()


def test_the_lists_run_a_fixed_number_of_statements(db, make_user, client_for, count_statements):
    chain = make_chain(db)
    editor = client_for(make_user(UserRole.EDITOR, chains=[chain]))
    rnd = service.open_round(db, PERIOD, dt.date(2026, 11, 5), [chain.id], None)
    urls = {
        "chase": f"{API}/rounds/{rnd.id}/chase",
        "red": f"{API}/rounds/{rnd.id}/warnings",
        "reviews": f"{API}/reviews",
    }
    counts: dict[str, list[int]] = {k: [] for k in urls}
    sizes = []
    for n in (4, 12):
        grow_round(db, make_user, chain, n)
        for key, url in urls.items():
            with count_statements() as c:
                r = editor.get(url)
            assert r.status_code == 200, r.text
            counts[key].append(c.count)
        sizes.append(
            (
                len(editor.get(urls["chase"]).json()),
                len(editor.get(urls["reviews"]).json()),
                len(editor.get(urls["red"], params={"level": "red"}).json()),
            )
        )
    assert sizes[0] == (3, 1, 4) and sizes[1] == (12, 4, 16), sizes  # the data did grow
    for key, (small, large) in counts.items():
        assert small == large, (key, counts)


def test_a_closed_round_flags_late_reports_and_makes_changes_corrections(db, make_user, client_for):
    chain, (laiwu, jinan, _), editor, reporter, _ = _world(db, make_user, client_for)
    rnd = service.open_round(db, PERIOD, dt.date(2026, 11, 5), [chain.id], None)
    body = {"investment_month": "10", "confirm_warnings": True}
    url = f"{API}/projects/{laiwu.id}/reports/{PERIOD}"
    accepted = reporter.put(url, json=body).json()["id"]
    etag = editor.get(f"{API}/reports/{accepted}/review").headers["ETag"]
    assert editor.post(f"{API}/reports/{accepted}/accept", headers={"If-Match": etag}).is_success
    r = editor.post(f"{API}/rounds/{rnd.id}/close", headers={"If-Match": '"1"'})
    assert r.json()["is_closed"]
    due = {d["project_id"]: d for d in r.json()["due"]}
    assert due[laiwu.id]["late"] is False and due[laiwu.id]["counted_report_id"] == accepted

    # A first report for the period after the closing: late.
    r = reporter.put(f"{API}/projects/{jinan.id}/reports/{PERIOD}", json=body)
    assert r.status_code == 201
    # A change to the accepted report: a correction waiting for an editor; the accepted
    # revision keeps counting meanwhile.
    change = {**body, "investment_month": "30", "correction_reason": "漏报设备款"}
    r = reporter.put(url, json=change, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    corrected = r.json()["id"]
    due = {d["project_id"]: d for d in editor.get(f"{API}/rounds/{rnd.id}").json()["due"]}
    assert due[jinan.id]["late"] is True and due[jinan.id]["correction"] is False
    row = due[laiwu.id]
    assert (row["late"], row["correction"], row["review_state"]) == (False, True, "pending")
    assert row["report_id"] == corrected and row["counted_report_id"] == accepted
    queue = {q["report_id"]: q for q in editor.get(f"{API}/reviews").json()}
    assert queue[corrected]["correction"] is True
    assert queue[due[jinan.id]["report_id"]]["correction"] is False

    # Returned: the accepted revision still counts; accepted: the correction counts.
    etag = editor.get(f"{API}/reports/{corrected}/review").headers["ETag"]
    r = editor.post(
        f"{API}/reports/{corrected}/return", json={"reason": "附发票"}, headers={"If-Match": etag}
    )
    assert r.json()["state"] == "returned" and r.json()["correction"] is True
    row = next(
        d for d in editor.get(f"{API}/rounds/{rnd.id}").json()["due"] if d["project_id"] == laiwu.id
    )
    assert row["counted_report_id"] == accepted and row["counts"] is True
    r = reporter.put(url, json=change | {"investment_month": "31"}, headers={"If-Match": '"2"'})
    corrected = r.json()["id"]
    review = editor.get(f"{API}/reports/{corrected}/review")
    assert review.json()["correction"] is True
    r = editor.post(
        f"{API}/reports/{corrected}/accept", headers={"If-Match": review.headers["ETag"]}
    )
    assert r.json()["state"] == "accepted" and r.json()["correction"] is False
    row = next(
        d for d in editor.get(f"{API}/rounds/{rnd.id}").json()["due"] if d["project_id"] == laiwu.id
    )
    assert row["counted_report_id"] == corrected and row["correction"] is False


@pytest.fixture
def dispatch_env(monkeypatch):
    """Set CHAINTRACK_DISPATCH_* for one test (the settings are read once per process)."""

    def _set(**values):
        for key, value in values.items():
            monkeypatch.setenv(f"CHAINTRACK_DISPATCH_{key.upper()}", value)
        thresholds.cache_clear()

    yield _set
    monkeypatch.undo()
    thresholds.cache_clear()


def test_thresholds_and_due_statuses_are_settings(db, make_user, client_for, dispatch_env):
    defaults = thresholds()
    assert (defaults.schedule_yellow, defaults.schedule_red) == (Decimal("0.8"), Decimal("0.5"))
    assert (defaults.silent_yellow, defaults.silent_red, defaults.unusual_factor) == (2, 3, 3)
    assert defaults.due_statuses == (ProjectStatus.UNDER_CONSTRUCTION, ProjectStatus.COMPLETED)

    chain = make_chain(db)
    editor = client_for(make_user(UserRole.EDITOR, chains=[chain]))
    silent = make_project(db, chain)
    operating = make_project(db, chain, status=ProjectStatus.IN_OPERATION)
    for m in range(1, 9):  # two months silent before 2026-10
        db.add(
            ProgressReport(
                project_id=silent.id, period=f"2026-{m:02d}", investment_month=Decimal("100")
            )
        )
    db.flush()
    rnd = service.open_round(db, PERIOD, dt.date(2026, 11, 5), [chain.id], None)
    warnings = f"{API}/rounds/{rnd.id}/warnings"
    assert [w["level"] for w in editor.get(warnings).json()] == ["yellow"]

    dispatch_env(silent_red="2", silent_yellow="1")
    assert [w["level"] for w in editor.get(warnings).json()] == ["red"]
    dispatch_env(silent_red="5", silent_yellow="4")
    assert [w["level"] for w in editor.get(warnings).json()] == ["green"]

    dispatch_env(due_statuses="under_construction, in_operation")
    due = editor.get(f"{API}/rounds/{rnd.id}").json()["due"]
    assert {d["project_id"] for d in due} == {silent.id, operating.id}

    dispatch_env(due_statuses="building")
    with pytest.raises(ValidationError, match="due_statuses"):
        thresholds()
    dispatch_env(due_statuses="completed", schedule_red="0.9")
    with pytest.raises(ValidationError, match="schedule_red"):
        thresholds()
