"""Leads in spreadsheets (template, import, export) and PATCH of a lead."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from chaintrack.attraction.sheets import LEADS
from chaintrack.models import AttractionLead, AttractionStep, AuditRecord
from chaintrack.sheets.reader import open_sheet
from chaintrack.sheets.writer import csv_bytes
from tests.factories import fake_uscc, make_chain, make_node
from tests.problems import assert_problem
from tests.test_attraction_api import URL, advance, new_lead


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
    assert r.status_code in (403, 404, 422)
    r = client.patch(f"{URL}/{lead['id']}", json={"uscc": None, "origin": None}, headers=fresh)
    assert_problem(r, 422, "validation", field="origin")
    r = client.patch(f"{URL}/{lead['id']}", json={"source": None}, headers=fresh)
    assert_problem(r, 422, "validation", field="source")
