"""The problem loop's closing gaps (issue 17, wave 3): the Excel export with the list's
filters, the figures in the chain report and the dashboard, reporters raising problems."""

from __future__ import annotations

import datetime as dt
import io
import itertools

from openpyxl import load_workbook

from chaintrack.history import office_today
from chaintrack.models import Problem
from chaintrack.models.enums import UserRole
from tests.factories import make_chain, make_enterprise, make_membership, make_project
from tests.problems import assert_problem

API = "/api/v1"


def _problems(db, chain, n: int, **kw) -> list[Problem]:
    fields = {"subject": "chain", "period": f"{office_today():%Y-%m}", "description": "链上问题"}
    rows = [Problem(chain_id=chain.id, **{**fields, **kw}) for _ in range(n)]
    db.add_all(rows)
    db.flush()
    return rows


def _sheet(content: bytes) -> list[tuple]:
    wb = load_workbook(io.BytesIO(content))
    return list(wb.worksheets[0].iter_rows(values_only=True))


def test_excel_export_reads_the_lists_filters(db, make_user, client_for, count_statements):
    chain, other = make_chain(db), make_chain(db)
    viewer = make_user(UserRole.VIEWER)
    me = client_for(viewer)
    late = office_today() - dt.timedelta(days=2)
    _problems(db, chain, 2, category="land", description="=用地未落实")
    _problems(db, chain, 3, category="energy", deadline=late)
    _problems(db, other, 4, category="energy", deadline=late)

    r = me.get(f"{API}/problems", params={"chain_id": chain.id, "format": "xlsx"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"]
    rows = _sheet(r.content)
    assert rows[0][0] == "编号" and len(rows) == 1 + 5
    assert {row[2] for row in rows[1:]} == {chain.name_zh}
    assert "=用地未落实" in {row[6] for row in rows[1:]}  # text stays text

    # the same filters as the page of the list: overdue and category combine
    params = {"overdue": "true", "category": "energy"}
    page = me.get(f"{API}/problems", params=params).json()
    with count_statements() as small:
        rows = _sheet(me.get(f"{API}/problems", params={**params, "format": "xlsx"}).content)
    assert page["total"] == 7 and len(rows) == 1 + 7
    assert {row[12] for row in rows[1:]} == {"是"}
    assert sorted(row[0] for row in rows[1:]) == sorted(i["id"] for i in page["items"])
    _problems(db, other, 20, category="energy", deadline=late)
    with count_statements() as large:
        rows = _sheet(me.get(f"{API}/problems", params={**params, "format": "xlsx"}).content)
    assert len(rows) == 1 + 27 and small.count == large.count
    # mine=true: those I raised (none); a bad format is refused
    rows = _sheet(me.get(f"{API}/problems", params={"mine": "1", "format": "xlsx"}).content)
    assert len(rows) == 1
    assert me.get(f"{API}/problems", params={"format": "pdf"}).status_code == 422


def _at(day: str, hour: int = 2) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


def test_report_and_dashboard_show_the_loop_figures_as_of_a_day(db, make_user, client_for):
    chain = make_chain(db)
    me = client_for(make_user(UserRole.VIEWER))
    # September: raised on the 20th (18:00 UTC is the 21st in the office), handled on the 30th
    _problems(
        db, chain, 1, period="2026-09", raised_at=_at("2026-09-20", 18), state="handled",
        status="resolved", resolved_on=dt.date(2026, 9, 30),
    )  # fmt: skip
    # October: one handled in 4 days and rated 满意, one overdue, one rated 基本满意
    _problems(
        db, chain, 1, period="2026-10", raised_at=_at("2026-10-05"), state="rated",
        status="resolved", resolved_on=dt.date(2026, 10, 9), satisfaction="satisfied",
    )  # fmt: skip
    _problems(
        db, chain, 1, period="2026-10", raised_at=_at("2026-10-06"), state="rated",
        status="resolved", resolved_on=dt.date(2026, 10, 11), satisfaction="fairly",
    )  # fmt: skip
    _problems(
        db, chain, 1, period="2026-10", raised_at=_at("2026-10-10"), state="in_progress",
        deadline=dt.date(2026, 10, 20),
    )  # fmt: skip

    october = me.get(f"{API}/reports/chains/{chain.id}", params={"period": "2026-10"}).json()
    loop = october["problems"]["loop"]
    # closed by the day: 9 (the 21st to the 30th), 4 and 5 days; 2 of 2 rated satisfied
    assert loop == {
        "open": 1,
        "overdue": 1,
        "closed_this_month": 2,
        "average_days_to_close": "6.0",
        "satisfaction_pct": "100.00",
    }
    september = me.get(f"{API}/reports/chains/{chain.id}", params={"period": "2026-09"}).json()
    assert september["problems"]["loop"] == {
        "open": 0,
        "overdue": 0,
        "closed_this_month": 1,
        "average_days_to_close": "9.0",
        "satisfaction_pct": None,
    }
    csv = me.get(
        f"{API}/reports/chains/{chain.id}", params={"period": "2026-10", "format": "csv"}
    ).content.decode("utf-8-sig")
    assert "【问题闭环】" in csv and "平均办结用时（天）,6.0" in csv

    board = me.get(f"{API}/reports/dashboard", params={"period": "2026-10"}).json()
    row = next(r for r in board["rows"] if r["chain_id"] == chain.id)
    assert (row["open_problems"], row["overdue_problems"], row["closed_this_month"]) == (1, 1, 2)
    assert row["average_days_to_close"] == "6.0" and row["satisfaction_pct"] == "100.00"
    totals = board["totals"]
    assert totals["closed_this_month"] >= 2 and totals["average_days_to_close"] is not None
    xlsx = me.get(f"{API}/reports/dashboard", params={"period": "2026-10", "format": "xlsx"})
    header = _sheet(xlsx.content)[0]
    assert "平均办结用时（天）" in header and "问题满意率（%）" in header

    # the pages show them: the chain report's card and the overview's columns
    page = me.get(f"/chains/{chain.id}/report", params={"period": "2026-10"})
    assert page.status_code == 200 and 'id="problem-figures"' in page.text
    assert "平均办结用时 6.0 天" in page.text and "满意率 100.00%" in page.text
    page = me.get("/overview", params={"period": "2026-10"})
    assert page.status_code == 200 and "平均办结天数" in page.text and "问题满意率" in page.text


def _reporter(db, make_user, region_code: str):
    from chaintrack.models import ReporterScope

    user = make_user(UserRole.REPORTER)
    db.add(ReporterScope(user_id=user.id, region_code=region_code))
    db.flush()
    return user


def test_reporters_raise_problems_in_their_scope(db, make_user, client_for):
    chain = make_chain(db)
    here = make_project(db, chain)  # 370100 济南
    there = make_project(db, chain, region_code="370600")
    ours, theirs = make_enterprise(db), make_enterprise(db, region_code="370600")
    for ent in (ours, theirs):
        make_membership(db, ent, chain)
    me = client_for(_reporter(db, make_user, "370100"))

    def raise_on(**subject):
        body = {"chain_id": chain.id, "description": "用工紧张", **subject}
        return me.post(f"{API}/problems", json=body)

    r = raise_on(project_id=here.id)
    assert r.status_code == 201, r.text
    assert r.json()["raised_by"] is not None and r.json()["subject"] == "project"
    assert raise_on(enterprise_id=ours.id).status_code == 201
    r = raise_on(project_id=there.id)
    assert_problem(r, 403)
    assert r.json()["rule"] == "reporter_scope"
    assert raise_on(enterprise_id=theirs.id).status_code == 403
    assert raise_on().status_code == 403  # not on a whole chain
    # an unknown project: the endpoint's own 422 naming the field
    assert raise_on(project_id=here.id + 10_000).status_code == 422
    # nothing else of the loop: a reporter neither accepts nor handles
    pid = raise_on(project_id=here.id).json()["id"]
    r = me.post(f"{API}/problems/{pid}/accept", json={}, headers={"If-Match": '"1"'})
    assert r.status_code == 403


def test_generate_runs_problems_through_the_loop(db):
    from sqlalchemy import func, select

    from chaintrack.models import ProblemStep, SupervisionNotice
    from chaintrack.seeding.synthetic import generate

    nested = db.begin_nested()
    counts = generate(db.connection(), seed=5, scale=0.02, end_period="2026-10")
    assert counts["problems"] > 50 and counts["problem_steps"] > 2 * counts["problems"]
    assert counts["supervision_notices"] > 0
    states = dict(
        db.execute(select(Problem.state, func.count()).group_by(Problem.state)).tuples().all()
    )
    assert {"in_progress", "handled", "rated", "returned"} <= {str(s) for s in states}
    horizon = dt.date(2026, 10, 31)
    # every problem's steps start with 提出 and chain from state to state to its own
    steps: dict[int, list[ProblemStep]] = {}
    for s in db.scalars(select(ProblemStep).order_by(ProblemStep.problem_id, ProblemStep.id)):
        steps.setdefault(s.problem_id, []).append(s)
    for p in db.scalars(select(Problem)):
        trail = steps[p.id]
        assert trail[0].action == "raise" and trail[0].from_state is None
        for before, after in itertools.pairwise(trail):
            assert (after.from_state, after.from_level) == (before.to_state, before.to_level)
            assert after.acted_at >= before.acted_at
        assert (trail[-1].to_state, trail[-1].to_level) == (p.state, p.level)
        assert p.raised_at.date() <= horizon and (p.resolved_on or horizon) <= horizon
        if p.resolved_on is not None:
            assert p.resolved_on >= p.raised_at.date()
    late = db.scalar(select(func.max(SupervisionNotice.issued_at)))
    assert late is not None and late.date() <= horizon
    nested.rollback()
