"""An imported row's history, read through the audit API, is what the same row created
through the API records: same action, user, chain, and every field with the same value
(bulk inserts render their records with the listeners' own function). One test per
family of bulk-inserted tables; nothing imported is left without its record."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from chaintrack.history import office_today
from chaintrack.models import (
    Enterprise,
    EnterpriseFigures,
    Problem,
    ProgressReport,
    Project,
    ProjectAnnualPlan,
    ProjectStatusChange,
)
from tests.factories import make_chain, make_enterprise, make_project
from tests.test_imports_api import API, csv_text, upload, uscc

#: Timestamps set at write time: present on both sides, values not compared.
STAMPS = frozenset({"recorded_at", "submitted_at", "raised_at"})


def history(client: Any, entity: str, entity_id: int) -> list[dict[str, Any]]:
    r = client.get(f"{API}/audit", params={"entity": entity, "entity_id": str(entity_id)})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def created(client: Any, entity: str, entity_id: int) -> dict[str, Any]:
    """The row's one record (a create), without what names this particular row."""
    [record] = history(client, entity, entity_id)
    assert record["action"] == "create"
    changes = record["changes"]
    assert changes.pop("id") == {"before": None, "after": entity_id}
    assert all(c["before"] is None for c in changes.values())
    return {"user_id": record["user_id"], "chain_id": record["chain_id"], "changes": changes}


def assert_same(api: dict[str, Any], imported: dict[str, Any], *differ: str) -> None:
    """Field for field equal, but for the columns ``differ`` (present on both sides with
    different values: keys, parents) and write-time stamps (present on both sides)."""
    assert (api["user_id"], api["chain_id"]) == (imported["user_id"], imported["chain_id"])
    a, b = dict(api["changes"]), dict(imported["changes"])
    assert set(a) == set(b), set(a) ^ set(b)
    for column in (*differ, *(STAMPS & set(a))):
        assert a.pop(column)["after"] is not None and b.pop(column)["after"] is not None
    assert a == b


def one(db: Any, model: Any, *where: Any) -> Any:
    found = db.scalars(select(model).where(*where)).all()
    assert len(found) == 1, found
    return found[0]


def test_enterprises_and_their_figures(client, db, admin_user):
    fields = {
        "name": "审计对照企业有限公司",
        "former_names": ["审计对照旧名有限公司"],
        "region_code": "370602",
        "size_class": "small",
        "ownership": "private",
        "listing_status": "unlisted",
        "stock_code": None,
        "founded_on": "2001-02-03",
        "address": "山东省烟台市“引号”路\\1号",
        "note": "备注：“引号”",
    }
    posted = client.post(f"{API}/enterprises", json={"uscc": uscc(), **fields})
    assert posted.status_code == 201, posted.text
    api_id = posted.json()["id"]
    figures = {"revenue": "1250.5000", "employees": 12, "rd_spend": "0.25"}
    r = client.put(f"{API}/enterprises/{api_id}/figures/2024", json=figures)
    assert r.status_code in (200, 201), r.text

    code = uscc()
    header = ["uscc", *fields, "year", "revenue", "employees", "rd_spend"]
    values = [v[0] if isinstance(v, list) else (v or "") for v in fields.values()]
    content = csv_text([header, [code, *values, "2024", "1250.5", "12", "0.25"]])
    r = upload(client, "/imports/enterprises", content, mode="commit")
    assert r.status_code == 200, r.text
    imported = one(db, Enterprise, Enterprise.uscc == code)

    api = created(client, "enterprises", api_id)
    assert api["user_id"] == admin_user.id
    assert_same(api, created(client, "enterprises", imported.id), "uscc")
    api_fig = one(db, EnterpriseFigures, EnterpriseFigures.enterprise_id == api_id)
    imp_fig = one(db, EnterpriseFigures, EnterpriseFigures.enterprise_id == imported.id)
    assert_same(
        created(client, "enterprise_figures", api_fig.id),
        created(client, "enterprise_figures", imp_fig.id),
        "enterprise_id",
    )


def test_projects_their_first_status_and_annual_plans(client, db):
    chain = make_chain(db)
    owner = make_enterprise(db)
    today = office_today()
    common = {
        "name": "审计对照的补链项目",
        "type": "fill",
        "national_code": None,
        "region_code": "370600",
        "location": "烟台开发区",
        "development_zone": "八角片区",
        "nature": "expansion",
        "level": "city",
        "goals": "年产“十万”吨",
        "content": "建设内容\n第二行",
        "responsible_leader": "王某",
        "responsible_unit": "市发改委",
        "contact": "0535-1234567",
        "planned_start": "2025-01-01",
        "planned_completion": "2027-12-31",
        "total_investment": "50000.5",
    }
    posted = client.post(
        f"{API}/projects",
        json={
            **common,
            "chain_id": chain.id,
            "internal_code": "AUD-API-001",
            "owner_enterprise_id": owner.id,
            "annual_plans": [{"year": 2025, "planned_investment": "12000.25"}],
            "status": "under_construction",
            "status_date": today.isoformat(),
        },
    )
    assert posted.status_code == 201, posted.text
    api_id = posted.json()["id"]

    row = {
        **{k: v or "" for k, v in common.items()},
        "chain_code": chain.code,
        "internal_code": "AUD-IMP-001",
        "owner_uscc": owner.uscc,
        "status": "under_construction",
        "plan_year": "2025",
        "planned_investment": "12000.25",
    }
    r = upload(
        client, "/imports/projects", csv_text([list(row), list(row.values())]), mode="commit"
    )
    assert r.status_code == 200, r.text
    imported = one(db, Project, Project.internal_code == "AUD-IMP-001")

    assert_same(
        created(client, "projects", api_id),
        created(client, "projects", imported.id),
        "internal_code",
    )
    for model, entity in (
        (ProjectStatusChange, "project_status_changes"),
        (ProjectAnnualPlan, "project_annual_plans"),
    ):
        api_row = one(db, model, model.project_id == api_id)
        imp_row = one(db, model, model.project_id == imported.id)
        if model is ProjectAnnualPlan:  # keyed by (project, year): no id of its own
            api_rec, imp_rec = (
                history(client, entity, f"{api_id}/2025"),
                history(client, entity, f"{imported.id}/2025"),
            )
            assert [r["action"] for r in api_rec] == [r["action"] for r in imp_rec] == ["create"]
            a = {"user_id": api_rec[0]["user_id"], "chain_id": api_rec[0]["chain_id"]}
            b = {"user_id": imp_rec[0]["user_id"], "chain_id": imp_rec[0]["chain_id"]}
            assert_same(
                {**a, "changes": api_rec[0]["changes"]},
                {**b, "changes": imp_rec[0]["changes"]},
                "project_id",
            )
            continue
        assert_same(
            created(client, entity, api_row.id),
            created(client, entity, imp_row.id),
            "project_id",
        )


def test_progress_reports_and_their_problems(client, db):
    chain = make_chain(db)
    by_api = make_project(db, chain, internal_code="AUD-G-API")
    by_import = make_project(db, chain, internal_code="AUD-G-IMP")
    report = {
        "investment_month": "1250.50",
        "physical_progress_pct": "35.5",
        "physical_progress": "主体封顶",
        "next_steps": "设备安装",
    }
    problem = {
        "description": "用地指标未落实",
        "responsible_unit": "市自然资源局",
        "responsible_person": "张三",
        "deadline": "2025-06-30",
    }
    r = client.put(
        f"{API}/projects/{by_api.id}/progress/2025-03", json={**report, "problems": [problem]}
    )
    assert r.status_code == 201, r.text

    row = {
        "internal_code": "AUD-G-IMP",
        "period": "2025-03",
        **report,
        "problem": problem["description"],
        "problem_responsible_unit": problem["responsible_unit"],
        "problem_responsible_person": problem["responsible_person"],
        "problem_deadline": problem["deadline"],
    }
    r = upload(
        client, "/imports/progress", csv_text([list(row), list(row.values())]), mode="commit"
    )
    assert r.status_code == 200, r.text

    api_report = one(db, ProgressReport, ProgressReport.project_id == by_api.id)
    imp_report = one(db, ProgressReport, ProgressReport.project_id == by_import.id)
    assert_same(
        created(client, "progress_reports", api_report.id),
        created(client, "progress_reports", imp_report.id),
        "project_id",
    )
    api_problem = one(db, Problem, Problem.project_id == by_api.id)
    imp_problem = one(db, Problem, Problem.project_id == by_import.id)
    assert_same(
        created(client, "problems", api_problem.id),
        created(client, "problems", imp_problem.id),
        "project_id",
        "report_id",
    )


def test_the_stamps_are_the_stored_values(client, db):
    """Write-time stamps are not compared above; they are the row's own values."""
    chain = make_chain(db)
    project = make_project(db, chain, internal_code="AUD-S-1")
    content = csv_text(
        [["internal_code", "period", "investment_month"], ["AUD-S-1", "2025-01", "1"]]
    )
    assert upload(client, "/imports/progress", content, mode="commit").status_code == 200
    stored = one(db, ProgressReport, ProgressReport.project_id == project.id)
    record = created(client, "progress_reports", stored.id)
    shown = dt.datetime.fromisoformat(record["changes"]["submitted_at"]["after"])
    assert shown == stored.submitted_at
