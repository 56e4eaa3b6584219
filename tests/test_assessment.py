"""The assessment (考核): a hand-computed province, bad input, statement counts, tasks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from chaintrack.history import office_today
from chaintrack.models import Problem, ProjectStatusChange
from chaintrack.models.assessment import AssessmentScheme, AssessmentTarget
from chaintrack.models.enums import ProblemStatus, ProjectStatus
from tests.factories import (
    make_chain,
    make_designation,
    make_enterprise,
    make_membership,
    make_project,
    make_report,
)
from tests.problems import assert_problem

API = "/api/v1"
TODAY = office_today()
YEAR = TODAY.year
D = dt.date(YEAR, 1, 15)  # a business date of the year before today

SCHEME_ITEMS = [
    {"indicator_code": "INV", "weight": "30", "rule": "linear", "cap": "1.2"},
    {
        "indicator_code": "PRJ_START",
        "weight": "20",
        "rule": "thresholds",
        "steps": [{"ratio": "1", "score": "100"}, {"ratio": "0.5", "score": "60"}],
    },
    {"indicator_code": "TIER_ANY", "weight": "15", "rule": "per_item", "points": "5"},
    {"indicator_code": "REVENUE", "weight": "25", "rule": "linear"},
    {"indicator_code": "PROB_ON_TIME", "weight": "10", "rule": "per_item", "points": "2"},
]


def _publish(client, items=SCHEME_ITEMS, year=YEAR):
    r = client.post(
        f"{API}/assessment/schemes", json={"year": year, "name": "考核办法", "items": items}
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"{API}/assessment/schemes/{r.json()['id']}/publish",
        headers={"If-Match": r.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    return r.json()


def _target(client, value, code, chain=None, city=None):
    body = {"year": YEAR, "indicator_code": code, "value": str(value)}
    body |= (
        {"subject_kind": "chain", "chain_id": chain.id}
        if chain
        else {
            "subject_kind": "city",
            "region_code": city,
        }
    )
    r = client.put(f"{API}/assessment/targets", json=body)
    assert r.status_code == 200, r.text


def _started(db, project, day=D):
    db.add(
        ProjectStatusChange(
            project_id=project.id,
            from_status=ProjectStatus.PLANNED,
            to_status=ProjectStatus.UNDER_CONSTRUCTION,
            changed_on=day,
        )
    )
    db.flush()


def _resolved(db, project, *, late=False):
    db.add(
        Problem(
            project_id=project.id,
            period=f"{YEAR}-01",
            description="用地指标",
            deadline=D + dt.timedelta(days=10),
            status=ProblemStatus.RESOLVED,
            resolved_on=D + dt.timedelta(days=20 if late else 5),
        )
    )
    db.flush()


def _designated(db, chain, region):
    ent = make_enterprise(db, region_code=region)
    make_membership(db, ent, chain, started_on=dt.date(YEAR - 2, 1, 1))
    make_designation(db, ent, recognised_on=D)


def _province(db, client):
    """Three chains, two cities (370100: chains A and C; 370200: chain B)."""
    a, b, c = (make_chain(db, name_zh=n) for n in ("甲链", "乙链", "丙链"))
    pa1 = make_project(db, a, region_code="370102")
    pa2 = make_project(db, a, region_code="370103")
    pb = make_project(db, b, region_code="370203")
    pc = make_project(db, c, region_code="370102")
    make_report(db, pa1, f"{YEAR}-01", investment_month=Decimal("600"))
    make_report(db, pa2, f"{YEAR}-01", investment_month=Decimal("600"))
    make_report(db, pb, f"{YEAR}-01", investment_month=Decimal("500"))
    make_report(db, pb, f"{YEAR - 1}-12", investment_month=Decimal("9999"))  # last year
    _started(db, pa1)
    _started(db, pa2)
    _started(db, pb)
    _started(db, pc, dt.date(YEAR - 1, 12, 1))  # last year: not counted
    _designated(db, a, "370100")
    for _ in range(4):
        _designated(db, b, "370200")
    _resolved(db, pa1)
    for _ in range(3):
        _resolved(db, pc)
    _resolved(db, pc, late=True)
    _publish(client)
    for chain, inv, started, revenue in ((a, 1000, 2, 100), (b, 1000, 2, 100), (c, 800, 1, 80)):
        _target(client, inv, "INV", chain=chain)
        _target(client, started, "PRJ_START", chain=chain)
        _target(client, revenue, "REVENUE", chain=chain)
    for city, inv, started, revenue in (("370100", 2000, 4, 300), ("370200", 500, 1, 100)):
        _target(client, inv, "INV", city=city)
        _target(client, started, "PRJ_START", city=city)
        _target(client, revenue, "REVENUE", city=city)
    for subject, value in (
        ({"chain_id": a.id}, 90),
        ({"chain_id": b.id}, 100),
        ({"chain_id": c.id}, 50),
    ):
        body = {"year": YEAR, "indicator_code": "REVENUE", "subject_kind": "chain", **subject}
        r = client.post(
            f"{API}/assessment/figures", json=body | {"value": str(value), "source": "统计快报"}
        )
        assert r.status_code == 201, r.text
    r = client.post(
        f"{API}/assessment/figures",
        json={
            "year": YEAR,
            "indicator_code": "REVENUE",
            "subject_kind": "city",
            "region_code": "370100",
            "value": "300",
            "source": "市统计局",
        },
    )
    assert r.status_code == 201, r.text
    for chain, points, reason in ((c, "3", "获国家级表彰"), (b, "-1", "调度迟报")):
        r = client.post(
            f"{API}/assessment/adjustments",
            json={
                "year": YEAR,
                "subject_kind": "chain",
                "chain_id": chain.id,
                "points": points,
                "reason": reason,
                "decided_on": D.isoformat(),
            },
        )
        assert r.status_code == 201, r.text
    return a, b, c


def _mine(board, ids):
    return {s["chain_id"]: s for s in board["subjects"] if s["chain_id"] in ids}


def test_a_hand_computed_province(db, client):
    a, b, c = _province(db, client)
    r = client.get(f"{API}/assessment/scores", params={"year": YEAR})
    assert r.status_code == 200, r.text
    chains = _mine(r.json(), {a.id, b.id, c.id})
    points = {cid: [line["weighted"] for line in s["indicators"]] for cid, s in chains.items()}
    assert points[a.id] == ["36.00", "20.00", "5.00", "22.50", "2.00"]
    assert points[b.id] == ["15.00", "12.00", "15.00", "25.00", "0.00"]
    assert points[c.id] == ["0.00", "0.00", "0.00", "15.63", "6.00"]
    assert [chains[x]["total"] for x in (a.id, b.id, c.id)] == ["85.50", "66.00", "24.63"]
    assert [chains[x]["adjustments"] for x in (a.id, b.id, c.id)] == ["0.00", "-1.00", "3.00"]
    assert [chains[x]["rank"] for x in (a.id, b.id, c.id)] == [1, 2, 3]
    inv = chains[a.id]["indicators"][0]
    assert (inv["actual"], inv["target"], inv["ratio"], inv["score"], inv["records"]) == (
        "1200.0000",
        "1000.0000",
        "1.2000",
        "120.00",
        2,
    )
    assert "统计快报" in chains[a.id]["indicators"][3]["explanation"]

    r = client.get(f"{API}/assessment/scores", params={"year": YEAR, "subject_kind": "city"})
    cities = {s["region_code"]: s for s in r.json()["subjects"]}
    assert set(cities) == {"370100", "370200"}
    assert [x["weighted"] for x in cities["370100"]["indicators"]] == [
        "18.00",
        "12.00",
        "5.00",
        "25.00",
        "8.00",
    ]
    assert [x["weighted"] for x in cities["370200"]["indicators"]] == [
        "30.00",
        "20.00",
        "15.00",
        "0.00",
        "0.00",
    ]
    assert cities["370200"]["indicators"][3]["actual"] is None
    assert (cities["370100"]["total"], cities["370100"]["rank"]) == ("68.00", 1)
    assert (cities["370200"]["total"], cities["370200"]["rank"]) == ("65.00", 2)

    # reproducible: the same inputs give byte-identical scores
    again = client.get(f"{API}/assessment/scores", params={"year": YEAR, "subject_kind": "city"})
    assert again.content == r.content
    # as of a day before the scheme was published there is nothing to score by
    early = client.get(
        f"{API}/assessment/scores",
        params={"year": YEAR, "as_of": (D - dt.timedelta(days=1)).isoformat()},
    )
    assert_problem(early, 404, "not-found", detail="尚无已发布")

    xlsx = client.get(f"{API}/assessment/scores", params={"year": YEAR, "format": "xlsx"})
    assert xlsx.status_code == 200
    from io import BytesIO

    from openpyxl import load_workbook

    wb = load_workbook(BytesIO(xlsx.content))
    assert len(wb.sheetnames) == 1 + 5 + 1  # summary, one per indicator, adjustments
    summary = [row for row in wb.worksheets[0].iter_rows(values_only=True)]
    assert "甲链" in [row[1] for row in summary[1:]]


def _scale(db, n):
    for i in range(n):
        chain = make_chain(db)
        p = make_project(db, chain, region_code="370102" if i % 2 else "370203")
        make_report(db, p, f"{YEAR}-01")
        _started(db, p)
        _resolved(db, p)
        _designated(db, chain, "370100")


def test_scoring_runs_a_fixed_number_of_statements(db, client, count_statements):
    _publish(client)
    counts = []
    for size in (1, 6):
        _scale(db, size)
        for kind in ("chain", "city"):
            with count_statements() as counter:
                r = client.get(
                    f"{API}/assessment/scores", params={"year": YEAR, "subject_kind": kind}
                )
            assert r.status_code == 200, r.text
            counts.append(len(counter.statements))
    assert counts[0:2] == counts[2:4], counts
    assert max(counts) <= 14, counts


def test_bad_schemes_and_targets_write_nothing(db, client):
    before = db.scalar(select(func.count()).select_from(AssessmentScheme))
    items = [dict(SCHEME_ITEMS[0], weight="31"), *SCHEME_ITEMS[1:]]
    r = client.post(f"{API}/assessment/schemes", json={"year": YEAR, "name": "错", "items": items})
    assert_problem(r, 422, "validation", field="items", detail="101")
    assert db.scalar(select(func.count()).select_from(AssessmentScheme)) == before

    chain = make_chain(db)
    r = client.put(
        f"{API}/assessment/targets",
        json={
            "year": 2020,
            "indicator_code": "INV",
            "subject_kind": "chain",
            "chain_id": chain.id,
            "value": "1",
        },
    )
    assert_problem(r, 422, "validation", field="chain_id")
    assert db.scalar(select(func.count()).select_from(AssessmentTarget)) == 0

    published = _publish(client)
    r = client.patch(
        f"{API}/assessment/schemes/{published['id']}",
        json={"name": "改名"},
        headers={"If-Match": f'"{published["version"]}"'},
    )
    assert_problem(r, 409, "conflict", detail="已发布")
    r = client.post(
        f"{API}/assessment/schemes/{published['id']}/publish",
        headers={"If-Match": f'"{published["version"]}"'},
    )
    assert_problem(r, 409, "conflict")
    r = client.get(f"{API}/assessment/scores", params={"year": YEAR - 5})
    assert_problem(r, 404, "not-found")


def test_a_task_list_as_of_any_day(db, client):
    chain = make_chain(db)
    past = TODAY - dt.timedelta(days=30)
    body = {
        "year": YEAR,
        "title": "引进补链项目2个",
        "owner_unit": "市工信局",
        "owner_person": "张三",
        "deadline": (TODAY - dt.timedelta(days=1)).isoformat(),
        "listed_on": past.isoformat(),
        "evidence_files": [{"name": "协议.pdf", "sha256": "a" * 64}],
    }
    r = client.post(f"{API}/chains/{chain.id}/tasks", json=body)
    assert r.status_code == 201, r.text
    task = r.json()
    assert (task["status"], task["overdue"]) == ("not_started", True)
    bad = client.post(
        f"{API}/chains/{chain.id}/tasks",
        json=body | {"evidence_files": [{"name": "x", "sha256": "zz"}]},
    )
    assert_problem(bad, 422, "validation")
    notes = f"{API}/chains/{chain.id}/tasks/{task['id']}/notes"
    r = client.post(
        notes,
        json={
            "noted_on": (past + dt.timedelta(days=5)).isoformat(),
            "text": "已对接",
            "status": "in_progress",
        },
    )
    assert r.status_code == 201, r.text
    r = client.post(notes, json={"noted_on": TODAY.isoformat(), "text": "签约", "status": "done"})
    assert r.status_code == 201, r.text
    now = client.get(f"{API}/chains/{chain.id}/tasks", params={"year": YEAR}).json()
    assert (now["items"][0]["status"], now["items"][0]["overdue"], now["overdue"]) == (
        "done",
        False,
        0,
    )
    then = client.get(
        f"{API}/chains/{chain.id}/tasks",
        params={"year": YEAR, "as_of": (past + dt.timedelta(days=6)).isoformat()},
    ).json()
    assert then["items"][0]["status"] == "in_progress"
    assert len(then["items"][0]["notes"]) == 1
    before = client.get(
        f"{API}/chains/{chain.id}/tasks",
        params={"year": YEAR, "as_of": (past - dt.timedelta(days=1)).isoformat()},
    ).json()
    assert before["items"] == []
    other = make_chain(db)
    assert_problem(
        client.post(
            f"{API}/chains/{other.id}/tasks/{task['id']}/notes",
            json={"noted_on": TODAY.isoformat(), "text": "x"},
        ),
        404,
    )


def add_assessment_rows(db, chain):
    """One row in each assessment table (tests/test_constraints.py checks every enum)."""
    from chaintrack.models import (
        AnnualTask,
        AssessmentScheme,
        IndicatorFigure,
        ScoreAdjustment,
        TaskNote,
    )
    from chaintrack.models.assessment_history import TargetRevision

    task = AnnualTask(
        chain_id=chain.id,
        year=2024,
        title="任务",
        owner_unit="工信局",
        deadline=dt.date(2024, 12, 31),
        listed_on=dt.date(2024, 1, 1),
        evidence_files=[],
    )
    db.add(task)
    db.flush()
    subject = {"subject_kind": "chain", "chain_id": chain.id}
    db.add_all(
        [
            TaskNote(task_id=task.id, chain_id=chain.id, noted_on=dt.date(2024, 2, 1), text="进展"),
            AssessmentTarget(year=2024, indicator_code="INV", value=Decimal(1), **subject),
            IndicatorFigure(
                year=2024, indicator_code="REVENUE", value=Decimal(1), source="统计", **subject
            ),
            AssessmentScheme(year=2024, number=1, name="方案", items=[]),
            ScoreAdjustment(
                year=2024,
                points=Decimal(1),
                reason="加分",
                decided_on=dt.date(2024, 3, 1),
                **subject,
            ),
            # a target's earlier value (chaintrack.models.assessment_history)
            TargetRevision(
                target_id=1,
                year=2024,
                indicator_code="INV",
                value=Decimal(1),
                valid_from=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                valid_until=dt.datetime(2024, 2, 1, tzinfo=dt.UTC),
                **subject,
            ),
        ]
    )
    db.flush()
