"""Chain status report and dashboard against a small dataset with known answers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from chaintrack.models import (
    ChainLeader,
    ChainList,
    ListEntry,
    Problem,
    ProjectAnnualPlan,
    ProjectStatusChange,
    ProjectTarget,
)
from chaintrack.models.enums import (
    Assessment,
    GapKind,
    MembershipRole,
    ProblemStatus,
    ProjectStatus,
    ProjectType,
    Tier,
)
from chaintrack.reports.schemas import ChainReport
from tests.factories import (
    make_chain,
    make_designation,
    make_enterprise,
    make_list_type,
    make_membership,
    make_node,
    make_project,
    make_report,
)
from tests.problems import assert_problem

D = dt.date
UTC = dt.UTC


def _at(y, m, d, h=12):
    return dt.datetime(y, m, d, h, tzinfo=UTC)


def _project(db, chain, *, ptype, history, total, plan=None, targets=(), **kw):
    project = make_project(
        db, chain, type=ptype, status=history[-1][0], total_investment=Decimal(total), **kw
    )
    previous = None
    for status, day in history:
        db.add(
            ProjectStatusChange(
                project_id=project.id, from_status=previous, to_status=status, changed_on=day
            )
        )
        previous = status
    if plan is not None:
        db.add(
            ProjectAnnualPlan(project_id=project.id, year=2026, planned_investment=Decimal(plan))
        )
    for node in targets:
        db.add(ProjectTarget(project_id=project.id, node_id=node.id, chain_id=chain.id))
    db.flush()
    return project


@pytest.fixture
def known(db):
    """The dataset described in the module docstring's tests; returns handles."""
    chain = make_chain(db)
    other = make_chain(db)
    seg = make_node(db, chain)
    n1 = make_node(db, chain, parent_id=seg.id, assessment=Assessment.STRONG)
    n2 = make_node(db, chain, parent_id=seg.id, assessment=Assessment.WEAK, gap_kind=GapKind.SUPPLY)
    n3 = make_node(
        db, chain, parent_id=seg.id, assessment=Assessment.MISSING, gap_kind=GapKind.TECHNOLOGY
    )
    n4 = make_node(db, chain, parent_id=seg.id, assessment=Assessment.MISSING)
    other_node = make_node(db, other, assessment=Assessment.MISSING)

    e1 = make_enterprise(db, region_code="370102")
    e2 = make_enterprise(db, region_code="370203")
    e3 = make_enterprise(db, region_code="370211")
    e4 = make_enterprise(db, region_code="370600")
    make_membership(
        db, e1, chain, node_id=n1.id, role=MembershipRole.CHAIN_MASTER, started_on=D(2024, 1, 1)
    )
    make_membership(
        db,
        e2,
        chain,
        node_id=n1.id,
        role=MembershipRole.LEADING,
        started_on=D(2024, 1, 1),
        ended_on=D(2026, 10, 15),
    )
    make_membership(
        db, e3, chain, node_id=n2.id, role=MembershipRole.SUPPORTING, started_on=D(2026, 10, 10)
    )
    make_membership(db, e4, other, node_id=other_node.id, role=MembershipRole.CHAIN_MASTER)
    make_designation(
        db,
        e1,
        tier=Tier.LITTLE_GIANT,
        level="national",
        recognised_on=D(2023, 1, 1),
        valid_until=D(2026, 12, 31),
    )
    make_designation(
        db, e3, tier=Tier.GAZELLE, recognised_on=D(2025, 1, 1), revoked_on=D(2026, 10, 20)
    )
    make_designation(db, e4, tier=Tier.GAZELLE, recognised_on=D(2025, 1, 1))
    db.add_all(
        [
            ChainLeader(chain_id=chain.id, role="leader", person_name="甲", start_on=D(2021, 1, 1)),
            ChainLeader(
                chain_id=chain.id,
                role="deputy",
                person_name="乙",
                start_on=D(2021, 1, 1),
                end_on=D(2025, 1, 1),
            ),
        ]
    )

    p1 = _project(
        db,
        chain,
        ptype=ProjectType.FILL,
        total="1000",
        plan="600",
        targets=[n2],
        history=[
            (ProjectStatus.PLANNED, D(2025, 1, 1)),
            (ProjectStatus.UNDER_CONSTRUCTION, D(2025, 3, 1)),
        ],
        planned_start=D(2025, 3, 1),
        planned_completion=D(2026, 6, 30),
    )
    p2 = _project(
        db,
        chain,
        ptype=ProjectType.BUILD,
        total="500",
        plan="100",
        history=[(ProjectStatus.PLANNED, D(2026, 2, 1))],
        planned_start=D(2026, 5, 1),
        planned_completion=D(2027, 12, 31),
    )
    p3 = _project(
        db,
        chain,
        ptype=ProjectType.STRENGTHEN,
        total="200",
        plan="200",
        history=[(ProjectStatus.UNDER_CONSTRUCTION, D(2026, 1, 1))],
        planned_start=D(2026, 1, 1),
        planned_completion=D(2027, 6, 30),
    )
    _project(
        db,
        chain,
        ptype=ProjectType.EXTEND,
        total="300",
        targets=[n3],
        history=[(ProjectStatus.PLANNED, D(2025, 6, 1)), (ProjectStatus.CANCELLED, D(2026, 3, 1))],
    )
    p5 = _project(
        db,
        other,
        ptype=ProjectType.BUILD,
        total="99999",
        plan="99999",
        history=[(ProjectStatus.UNDER_CONSTRUCTION, D(2025, 1, 1))],
    )

    make_report(db, p1, "2025-12", investment_month=Decimal("20"), submitted_at=_at(2026, 1, 5))
    make_report(db, p1, "2026-01", investment_month=Decimal("100"), submitted_at=_at(2026, 2, 5))
    make_report(db, p1, "2026-09", investment_month=Decimal("50.25"), submitted_at=_at(2026, 10, 5))
    make_report(
        db,
        p1,
        "2026-10",
        investment_month=Decimal("30.5"),
        submitted_at=_at(2026, 11, 5),
        superseded_at=_at(2026, 11, 20),
    )
    make_report(
        db,
        p1,
        "2026-10",
        revision=2,
        investment_month=Decimal("40.5"),
        submitted_at=_at(2026, 11, 20),
    )
    make_report(db, p3, "2026-09", investment_month=Decimal("10"), submitted_at=_at(2026, 10, 6))
    make_report(db, p5, "2026-10", investment_month=Decimal("5555"), submitted_at=_at(2026, 11, 5))

    db.add_all(
        [
            Problem(
                project_id=p1.id,
                period="2026-09",
                description="用地手续滞后",
                responsible_unit="自然资源局",
                deadline=D(2026, 10, 15),
            ),
            Problem(
                project_id=p3.id,
                period="2026-08",
                description="用电增容",
                deadline=D(2026, 12, 1),
                status=ProblemStatus.RESOLVED,
                resolution="已增容",
                resolved_on=D(2026, 10, 5),
            ),
        ]
    )
    ltype = make_list_type(db, entry_ref="node")
    clist = ChainList(chain_id=chain.id, list_type_id=ltype.id, period="2026")
    db.add(clist)
    db.flush()
    db.add(
        ListEntry(
            list_id=clist.id, chain_id=chain.id, title="招商目标", node_id=n4.id, attributes={}
        )
    )
    db.flush()
    return {"chain": chain, "other": other, "p1": p1, "p2": p2, "p3": p3, "nodes": (n1, n2, n3, n4)}


def _report(client, chain_id, **params):
    r = client.get(f"/api/v1/reports/chains/{chain_id}", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    ChainReport.model_validate_json(r.content)  # the documented shape
    return r.json()


def test_chain_report_figures(client, known):
    chain = known["chain"]
    body = _report(client, chain.id, period="2026-10")
    assert body["meta"]["period"] == "2026-10"
    assert body["meta"]["state_date"] == "2026-10-31"
    assert [x["person_name"] for x in body["leaders"]] == ["甲"]
    assert len(body["chain_masters"]) == 1

    m = body["map"]
    assert (m["nodes_total"], m["strong"], m["weak"], m["missing"], m["unassessed"]) == (
        5,
        1,
        1,
        2,
        1,
    )
    assert m["nodes_with_enterprises"] == 2
    assert (m["gaps_total"], m["gaps_addressed"]) == (3, 2)
    _n1, n2, n3, n4 = known["nodes"]
    assert [g["node_id"] for g in m["gaps_unaddressed"]] == [n3.id]
    addressed = {g["node_id"]: [a["kind"] for a in g["addressed_by"]] for g in m["gaps"]}
    assert addressed == {n2.id: ["project"], n3.id: [], n4.id: ["list_entry"]}

    e = body["enterprises"]
    assert e["total"] == 2
    assert {r["key"]: r["count"] for r in e["by_role"]} == {
        "chain_master": 1,
        "leading": 0,
        "supporting": 1,
    }
    tiers = {r["key"]: r["count"] for r in e["by_tier"]}
    assert tiers["little_giant"] == 1 and tiers["gazelle"] == 0
    assert {r["key"]: r["count"] for r in e["by_city"]} == {"370100": 1, "370200": 1}
    assert {r["key"]: r["label_zh"] for r in e["by_city"]}["370100"] == "济南市"

    p = body["projects"]
    assert p["total"] == 4
    assert {(r["type"], r["status"]): r["count"] for r in p["by_type_status"]} == {
        ("build", "planned"): 1,
        ("fill", "under_construction"): 1,
        ("extend", "cancelled"): 1,
        ("strengthen", "under_construction"): 1,
    }
    inv = p["investment"]
    assert Decimal(inv["total_planned"]) == Decimal("1700")
    assert Decimal(inv["year_plan"]) == Decimal("900")
    assert Decimal(inv["completed_month"]) == Decimal("40.5")
    assert Decimal(inv["completed_year"]) == Decimal("200.75")
    assert Decimal(inv["completed_since_start"]) == Decimal("220.75")
    assert inv["year_completion_pct"] == "22.31"
    assert inv["total_completion_pct"] == "12.99"
    assert {x["project_id"] for x in p["behind_schedule"]} == {known["p1"].id, known["p2"].id}
    assert [x["project_id"] for x in p["not_reported"]] == [known["p3"].id]

    pr = body["problems"]
    assert (pr["open"], pr["overdue"]) == (1, 1)
    assert pr["items"][0]["project_id"] == known["p1"].id

    changes = {c["key"]: (Decimal(c["previous"]), Decimal(c["change"])) for c in body["changes"]}
    assert body["previous_period"] == "2026-09"
    assert changes["enterprises"] == (Decimal(2), Decimal(0))  # E1+E2 then, E1+E3 now
    assert changes["completed_month"] == (Decimal("60.25"), Decimal("-19.75"))
    assert changes["open_problems"] == (Decimal(2), Decimal(-1))


def test_as_of_before_a_correction_and_before_a_membership_ended(client, known):
    chain = known["chain"]
    before_correction = _report(client, chain.id, period="2026-10", as_of="2026-11-10")
    inv = before_correction["projects"]["investment"]
    assert Decimal(inv["completed_month"]) == Decimal("30.5")
    assert Decimal(inv["completed_year"]) == Decimal("190.75")

    mid_october = _report(client, chain.id, period="2026-10", as_of="2026-10-12")
    e = mid_october["enterprises"]
    assert e["total"] == 3  # E2's membership ended on 10-15, E3 joined on 10-10
    assert {r["key"]: r["count"] for r in e["by_tier"]}["gazelle"] == 1  # revoked 10-20
    # Nothing for October was on record on 10-12.
    assert Decimal(mid_october["projects"]["investment"]["completed_month"]) == 0
    assert mid_october["meta"]["state_date"] == "2026-10-12"

    # Before P2 existed (its first status is 2026-02-01) it is not in the report.
    january = _report(client, chain.id, period="2026-01", as_of="2026-01-31")
    assert january["projects"]["total"] == 3


def test_report_statement_count_does_not_grow(client, db, known, count_statements):
    chain = known["chain"]
    with count_statements() as small:
        _report(client, chain.id, period="2026-10")
    # Grow this chain and another one tenfold.
    nodes = known["nodes"]
    for i in range(12):
        ent = make_enterprise(db)
        make_membership(db, ent, chain, node_id=nodes[i % 4].id)
        make_designation(db, ent)
        project = _project(
            db,
            chain,
            ptype=ProjectType.FILL,
            total="10",
            plan="5",
            targets=[nodes[1]],
            history=[(ProjectStatus.UNDER_CONSTRUCTION, D(2026, 1, 1))],
        )
        make_report(db, project, "2026-10", submitted_at=_at(2026, 11, 5))
        db.add(Problem(project_id=project.id, period="2026-10", description="x"))
    db.flush()
    with count_statements() as large:
        body = _report(client, chain.id, period="2026-10")
    assert body["projects"]["total"] == 16
    # One row of single figures, then leaders, chain masters, gap nodes, what
    # addresses them, cities, project groups, listed projects and open problems.
    assert large.count == small.count == 9


def test_csv_and_xlsx_carry_the_json_figures(client, known):
    chain = known["chain"]
    body = _report(client, chain.id, period="2026-10")
    inv = body["projects"]["investment"]

    x = client.get(
        f"/api/v1/reports/chains/{chain.id}", params={"period": "2026-10", "format": "xlsx"}
    )
    assert x.status_code == 200
    assert x.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in x.headers["content-disposition"]
    assert ".xlsx" in x.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    assert {
        "概况",
        "图谱覆盖",
        "缺口环节",
        "链上企业",
        "投资完成",
        "滞后项目",
        "未解决问题",
    } <= set(wb.sheetnames)
    figures = {row[0]: row[1] for row in wb["投资完成"].iter_rows(min_row=2, values_only=True)}
    assert isinstance(figures["本年累计完成投资（万元）"], (int, float))
    assert Decimal(str(figures["本年累计完成投资（万元）"])) == Decimal(inv["completed_year"])
    assert Decimal(str(figures["本月完成投资（万元）"])) == Decimal(inv["completed_month"])
    coverage = {row[0]: row[1] for row in wb["图谱覆盖"].iter_rows(min_row=2, values_only=True)}
    assert coverage["节点总数"] == body["map"]["nodes_total"]
    assert wb["滞后项目"].max_row == 1 + len(body["projects"]["behind_schedule"])

    c = client.get(
        f"/api/v1/reports/chains/{chain.id}",
        params={"period": "2026-10"},
        headers={"Accept": "text/csv"},
    )
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    text = c.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    values = {r[0]: r[1] for r in rows if len(r) >= 2}
    assert Decimal(values["本年累计完成投资（万元）"]) == Decimal(inv["completed_year"])
    assert Decimal(values["计划总投资（万元）"]) == Decimal(inv["total_planned"])


def test_dashboard_rows_match_chain_reports(client, known):
    chain = known["chain"]
    board = client.get("/api/v1/reports/dashboard", params={"period": "2026-10"}).json()
    row = next(r for r in board["rows"] if r["chain_id"] == chain.id)
    report = _report(client, chain.id, period="2026-10")
    inv = report["projects"]["investment"]
    assert row["enterprises"] == report["enterprises"]["total"] == 2
    assert row["chain_masters"] == 1
    assert (row["nodes_total"], row["strong"], row["weak"], row["missing"]) == (5, 1, 1, 2)
    assert row["gaps_addressed"] == 2
    assert row["projects"] == 4 and row["projects_under_construction"] == 2
    for key in (
        "total_planned",
        "year_plan",
        "completed_month",
        "completed_year",
        "completed_since_start",
    ):
        assert Decimal(row[key]) == Decimal(inv[key]), key
    assert row["year_completion_pct"] == inv["year_completion_pct"]
    assert (row["behind_schedule"], row["not_reported"]) == (2, 1)
    assert (row["open_problems"], row["overdue_problems"]) == (1, 1)

    other = next(r for r in board["rows"] if r["chain_id"] == known["other"].id)
    assert Decimal(other["completed_month"]) == Decimal("5555")
    total = board["totals"]
    assert Decimal(total["completed_month"]) == sum(
        Decimal(r["completed_month"]) for r in board["rows"]
    )

    ordered = client.get(
        "/api/v1/reports/dashboard", params={"period": "2026-10", "sort": "-completed_month"}
    ).json()
    assert ordered["rows"][0]["chain_id"] == known["other"].id
    x = client.get("/api/v1/reports/dashboard", params={"period": "2026-10", "format": "xlsx"})
    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    sheet = wb.worksheets[0]
    header = [c.value for c in sheet[1]]
    by_code = {
        r[0]: dict(zip(header, r, strict=True))
        for r in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert Decimal(str(by_code[chain.code]["本年累计完成（万元）"])) == Decimal(
        inv["completed_year"]
    )
    assert by_code["TOTAL"]["产业链"] == "合计"


def test_dashboard_statement_count_is_fixed(client, db, known, count_statements):
    with count_statements() as small:
        client.get("/api/v1/reports/dashboard", params={"period": "2026-10"})
    for _ in range(3):
        c = make_chain(db)
        node = make_node(db, c, assessment=Assessment.WEAK)
        _project(
            db,
            c,
            ptype=ProjectType.FILL,
            total="1",
            targets=[node],
            history=[(ProjectStatus.UNDER_CONSTRUCTION, D(2026, 1, 1))],
        )
    with count_statements() as large:
        client.get("/api/v1/reports/dashboard", params={"period": "2026-10"})
    assert large.count == small.count <= 25


@pytest.mark.parametrize(
    ("url", "params", "status", "field"),
    [
        ("/api/v1/reports/chains/999999", {}, 404, None),
        ("/api/v1/reports/chains/{chain}", {"period": "2026-13"}, 422, "period"),
        ("/api/v1/reports/chains/{chain}", {"format": "pdf"}, 422, "format"),
        ("/api/v1/reports/chains/{chain}", {"as_of": "yesterday"}, 422, "as_of"),
        ("/api/v1/reports/dashboard", {"sort": "nope"}, 422, "sort"),
    ],
)
def test_report_bad_input(client, known, url, params, status, field):
    r = client.get(url.format(chain=known["chain"].id), params=params)
    body = assert_problem(r, status, field=field)
    if field:
        assert body["errors"][0]["field"] == field


def test_report_for_an_id_beyond_the_database_range_is_not_a_server_error(client):
    response = client.get(f"/api/v1/reports/chains/{10**30}")
    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_if_match_star_is_refused(client, db):
    from tests.factories import make_chain as _make_chain

    chain = _make_chain(db)
    r = client.patch(
        f"/api/v1/chains/{chain.id}", json={"description": "x"}, headers={"If-Match": "*"}
    )
    assert r.status_code == 428
    assert r.json()["current_etag"] == '"1"'


def test_text_that_looks_like_a_formula_stays_text(client, db, known):
    known["p1"].name = '=HYPERLINK("http://example.invalid","点击")'
    db.flush()
    chain = known["chain"]
    x = client.get(
        f"/api/v1/reports/chains/{chain.id}", params={"period": "2026-10", "format": "xlsx"}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(x.content))["滞后项目"]
    cells = [
        c
        for row in sheet.iter_rows(min_row=2)
        for c in row
        if c.value and str(c.value).startswith("=")
    ]
    assert cells and all(c.data_type == "s" for c in cells)
    c = client.get(
        f"/api/v1/reports/chains/{chain.id}", params={"period": "2026-10", "format": "csv"}
    )
    assert "'=HYPERLINK" in c.content.decode("utf-8-sig")
