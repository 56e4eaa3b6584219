"""Leads in spreadsheets (template, import, export) and PATCH of a lead."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from chaintrack.attraction.sheets import LEADS
from chaintrack.models import AttractionLead, AttractionStep, AuditRecord
from chaintrack.sheets.reader import open_sheet
from chaintrack.sheets.writer import csv_bytes
from tests.factories import fake_uscc, make_chain, make_node
from tests.problems import assert_problem
from tests.test_attraction_api import TODAY, URL, YEAR, advance, land_body, new_lead


def _row(chain: Any, *nodes: Any, **kw: Any) -> dict[str, Any]:
    row = {
        "chain_code": chain.code,
        "company_name": "导入精密部件有限公司",
        "origin": "德国",
        "source": "expo",
        "intended_investment": "12000",
        "responsible_unit": "烟台市商务局",
        "responsible_person": "李某",
        "node_codes": [n.code for n in nodes],
    }
    row.update(kw)
    return row


def _import(client: Any, rows: list[dict[str, Any]], **params: Any) -> Any:
    content = csv_bytes(LEADS, rows)
    return client.post(f"{URL}/import", params=params, files={"file": ("线索.csv", content)})


def _count(db: Any) -> int:
    return db.scalar(select(func.count()).select_from(AttractionLead))


def test_template_lists_the_columns(client):
    r = client.get(f"{URL}/template", params={"format": "csv"})
    assert r.status_code == 200
    header = r.content.decode("utf-8-sig").splitlines()[0]
    assert "目标企业" in header and "图谱节点代码" in header and "阶段" not in header
    r = client.get(f"{URL}/template")
    assert r.status_code == 200 and r.content[:2] == b"PK"


def test_import_checks_with_the_services_rules_then_commits_atomically(client, db):
    chain, other = make_chain(db), make_chain(db)
    n1, n2, foreign = make_node(db, chain), make_node(db, chain), make_node(db, other)
    good = _row(chain, n1, n2)
    bad_uscc = fake_uscc()[:-1] + ("0" if fake_uscc()[-1] != "0" else "1")
    rows = [
        good,
        _row(chain, foreign, company_name="跨链公司"),  # a node of another chain
        _row(chain, n1, company_name="无来源公司", origin=None),  # no USCC, no origin
    ]
    r = _import(client, rows)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["summary"] == {"rows": 3, "create": 1, "update": 0, "unchanged": 0, "error": 2}
    by_row = {e["row"]: e for e in report["errors"]}
    assert by_row[3]["field"] == "node_codes" and by_row[4]["field"] == "origin"
    r = _import(client, rows, mode="commit")
    assert_problem(r, 422, "import-rejected")
    assert _count(db) == 0
    # A USCC is checked as the API checks it.
    r = _import(client, [_row(chain, n1, uscc=bad_uscc)])
    assert r.json()["errors"][0]["field"] == "uscc"

    r = _import(client, [good], mode="commit")
    assert r.status_code == 200 and r.json()["committed"], r.text
    lead = db.scalars(select(AttractionLead)).one()
    assert lead.stage.value == "lead" and lead.responsible_person == "李某"
    assert db.scalar(select(func.count()).select_from(AttractionStep)) == 1
    audited = db.scalar(
        select(func.count())
        .select_from(AuditRecord)
        .where(AuditRecord.entity == "attraction_leads")
    )
    assert audited == 1
    # Again: nothing changes; a changed figure and node list is an update.
    assert _import(client, [good], mode="commit").json()["summary"]["unchanged"] == 1
    changed = {**good, "intended_investment": "15000", "node_codes": [n2.code]}
    report = _import(client, [changed], mode="commit").json()
    assert report["summary"]["update"] == 1
    assert set(report["rows"][0]["changes"]) == {"intended_investment", "node_ids"}
    detail = client.get(f"{URL}/{lead.id}").json()
    assert detail["intended_investment"] == "15000.0000"
    assert [n["id"] for n in detail["nodes"]] == [n2.id]


def test_import_under_a_chain_refuses_other_chains_rows(client, db):
    chain, other = make_chain(db), make_chain(db)
    node = make_node(db, chain)
    r = _import(client, [_row(other, make_node(db, other))], chain_id=chain.id)
    assert r.json()["errors"][0]["field"] == "chain_code"
    r = _import(client, [_row(chain, node, chain_code=None)], chain_id=chain.id, mode="commit")
    assert r.json()["committed"]


def test_export_uses_the_lists_filters_and_round_trips(client, db):
    chain, other = make_chain(db), make_chain(db)
    node = make_node(db, chain)
    a = new_lead(client, chain, [node], company_name="甲公司")
    new_lead(client, chain, [node], company_name="乙公司")
    new_lead(client, other, [make_node(db, other)], company_name="丙公司")
    advance(client, a, "contact")
    listed = client.get(URL, params={"chain_id": chain.id, "stage": "contact"}).json()
    assert [x["company_name"] for x in listed["items"]] == ["甲公司"]
    r = client.get(
        f"{URL}/export", params={"chain_id": chain.id, "stage": "contact", "format": "csv"}
    )
    assert r.status_code == 200 and r.headers["X-Row-Count"] == "1"
    with open_sheet(r.content, LEADS.header_map(), filename="x.csv") as sheet:
        rows = list(LEADS.parse_rows(sheet))
    assert [p.values["company_name"] for p in rows] == ["甲公司"]
    assert rows[0].values["node_codes"] == [node.code]
    r = client.get(f"{URL}/export", params={"chain_id": chain.id})
    assert r.status_code == 200 and r.headers["X-Row-Count"] == "2" and r.content[:2] == b"PK"
    back = client.post(f"{URL}/import", files={"file": ("导出.xlsx", r.content)}).json()
    assert back["summary"]["unchanged"] == 2 and back["summary"]["error"] == 0


def test_patch_changes_fields_and_nodes_with_if_match(client, db):
    chain, other = make_chain(db), make_chain(db)
    n1, n2, foreign = make_node(db, chain), make_node(db, chain), make_node(db, other)
    lead = new_lead(client, chain, [n1])
    etag = f'"{lead["version"]}"'
    r = client.patch(
        f"{URL}/{lead['id']}",
        json={"intended_investment": "30000", "node_ids": [n2.id, n1.id], "uscc": fake_uscc()},
        headers={"If-Match": etag},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["intended_investment"] == "30000.0000" and body["version"] > lead["version"]
    assert {n["id"] for n in body["nodes"]} == {n1.id, n2.id}
    assert r.headers["ETag"] == f'"{body["version"]}"'
    r = client.patch(f"{URL}/{lead['id']}", json={"note": "x"}, headers={"If-Match": etag})
    assert r.status_code == 412
    fresh = {"If-Match": f'"{body["version"]}"'}
    r = client.patch(f"{URL}/{lead['id']}", json={"node_ids": [foreign.id]}, headers=fresh)
    assert_problem(r, 422, "validation", field="node_ids.0")
    r = client.patch(f"{URL}/{lead['id']}", json={"uscc": None, "origin": None}, headers=fresh)
    assert_problem(r, 422, "validation", field="origin")
    r = client.patch(f"{URL}/{lead['id']}", json={"source": None}, headers=fresh)
    assert_problem(r, 422, "validation", field="source")


# --- the funnel per city, as of a day, against the year's targets ------------------------

FUNNEL = "/api/v1/attraction/funnel"


def _stages(body: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {s["stage"]: (s["current"], s["reached"]) for s in body["stages"]}


def test_funnel_as_of_a_day_per_city_and_against_targets(client, db):
    from chaintrack.models.assessment import AssessmentTarget, Indicator, IndicatorKind

    chain = make_chain(db)
    node = make_node(db, chain)
    d0, d1, d2 = (TODAY - dt.timedelta(days=n) for n in (30, 20, 10))
    a = new_lead(client, chain, [node], company_name="甲", found_on=d0.isoformat())
    a = advance(client, a, "contact", happened_on=d1.isoformat())
    a = advance(client, a, "visit", "negotiation", "signed", happened_on=d2.isoformat())
    r = client.post(
        f"{URL}/{a['id']}/land",
        json=land_body(region_code="370602", happened_on=d2.isoformat()),
        headers={"If-Match": f'"{a["version"]}"'},
    )
    assert r.status_code == 200, r.text
    c = new_lead(client, chain, [node], company_name="丙", found_on=d0.isoformat())
    advance(client, c, "terminated", happened_on=d1.isoformat(), reason="无意向")
    new_lead(client, chain, [node], company_name="乙", found_on=d2.isoformat())

    def funnel(**params: Any) -> dict[str, Any]:
        r = client.get(FUNNEL, params={"year": YEAR, "chain_id": chain.id, **params})
        assert r.status_code == 200, r.text
        return r.json()

    then = funnel(as_of=d0.isoformat())
    assert _stages(then)["lead"] == (2, 2) and _stages(then)["contact"] == (0, 0)
    assert then["terminated"] == 0
    mid = funnel(as_of=d1.isoformat())
    assert _stages(mid)["lead"] == (0, 2) and _stages(mid)["contact"] == (1, 1)
    assert mid["terminated"] == 1 and mid["signed_count"] == 0
    now = funnel()
    assert _stages(now)["landed"] == (1, 1) and _stages(now)["lead"] == (1, 3)
    assert funnel(as_of=TODAY.isoformat())["stages"] == now["stages"]
    # Per city: the leads that landed there (the assessment's rule).
    city = client.get(FUNNEL, params={"year": YEAR, "city": "370600"}).json()
    assert _stages(city)["landed"] == (1, 1) and _stages(city)["lead"] == (0, 1)
    assert city["signed_count"] == 1 and city["signed_target"] is None
    elsewhere = client.get(FUNNEL, params={"year": YEAR, "city": "370200"}).json()
    assert _stages(elsewhere)["lead"] == (0, 0) and elsewhere["signed_count"] == 0
    # Against the year's targets when the assessment has them.
    assert now["signed_target"] is None and now["signed_pct"] is None
    db.add_all(
        [
            Indicator(code="ATT_N", name_zh="签约数", kind=IndicatorKind.LEADS_SIGNED, params={}),
            Indicator(code="ATT_F", name_zh="到位", kind=IndicatorKind.FUNDS_RECEIVED, params={}),
        ]
    )
    db.flush()
    chain_subject = {"subject_kind": "chain", "chain_id": chain.id, "year": YEAR}
    db.add_all(
        [
            AssessmentTarget(indicator_code="ATT_N", value=Decimal(4), **chain_subject),
            AssessmentTarget(indicator_code="ATT_F", value=Decimal(1000), **chain_subject),
            AssessmentTarget(
                indicator_code="ATT_N",
                value=Decimal(2),
                subject_kind="city",
                region_code="370600",
                year=YEAR,
            ),
        ]
    )
    db.flush()
    now = funnel()
    assert Decimal(now["signed_target"]) == 4 and now["signed_pct"] == "25.0"
    assert Decimal(now["received_target"]) == 1000 and now["received_pct"] == "0.0"
    city = client.get(FUNNEL, params={"year": YEAR, "city": "370600"}).json()
    assert Decimal(city["signed_target"]) == 2 and city["signed_pct"] == "50.0"
    r = client.get(FUNNEL, params={"year": YEAR, "city": "370602"})
    assert_problem(r, 422, "validation")
