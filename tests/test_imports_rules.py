"""Each domain rule lives in its service; an import applies it exactly as the API does.

For every rule an import applies, the same bad input goes through the API (422/409 with
``errors[].code`` naming the reason) and through an import (that row's error with the
same ``code``), so a rule changed in a service changes what an import accepts. The
export endpoints take the filters of the list endpoints they mirror (same parameters).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from chaintrack.history import office_today
from chaintrack.models import ChainList, Problem
from chaintrack.models.enums import MembershipRole, ProblemStatus, ProjectStatus, Tier
from chaintrack.sheets.specs import get_spec
from tests.factories import (
    make_chain,
    make_designation,
    make_enterprise,
    make_list_type,
    make_membership,
    make_project,
    make_report,
)
from tests.test_imports_api import API, csv_text, upload


def sheet(entity: str, *rows: dict[str, str]) -> bytes:
    """A CSV with the template's Chinese headers for the fields the rows give."""
    spec = get_spec(entity)
    fields = list(dict.fromkeys(f for row in rows for f in row))
    header = [spec.column(f).header for f in fields]
    return csv_text([header, *[[row.get(f, "") for f in fields] for row in rows]])


def api_codes(r: Any, status: int) -> set[str]:
    assert r.status_code == status, r.text
    return {e["code"] for e in r.json().get("errors", [])}


def import_codes(r: Any, column: str) -> set[str]:
    """A dry run's row errors on ``column`` (the file is checked, nothing is written)."""
    assert r.status_code == 200 and r.json()["summary"]["error"] == 1, r.text
    return {e["code"] for e in r.json()["errors"] if e["field"] == column}


# Each case arranges the data, sends the bad input through the API and through an
# import, and returns (API response, its status, import response, the row's column).
Case = Callable[[Any, Any], tuple[Any, int, Any, str]]


def _future_period(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    project = make_project(db, make_chain(db))
    period = f"{office_today().year + 1}-01"
    api = client.put(
        f"{API}/projects/{project.id}/progress/{period}", json={"investment_month": "1"}
    )
    row = {"internal_code": project.internal_code, "period": period, "investment_month": "1"}
    return api, 422, upload(client, "/imports/progress", sheet("progress", row)), "period"


def _cancelled_project(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    project = make_project(db, make_chain(db), status=ProjectStatus.CANCELLED)
    api = client.put(
        f"{API}/projects/{project.id}/progress/2024-03", json={"investment_month": "1"}
    )
    row = {"internal_code": project.internal_code, "period": "2024-03", "investment_month": "1"}
    return api, 409, upload(client, "/imports/progress", sheet("progress", row)), "internal_code"


def _deadline_before_period(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    project = make_project(db, make_chain(db))
    body = {
        "investment_month": "1",
        "problems": [{"description": "用地指标", "deadline": "2024-02-01"}],
    }
    api = client.put(f"{API}/projects/{project.id}/progress/2024-03", json=body)
    row = {
        "internal_code": project.internal_code,
        "period": "2024-03",
        "investment_month": "1",
        "problem": "用地指标",
        "problem_deadline": "2024-02-01",
    }
    return api, 422, upload(client, "/imports/progress", sheet("progress", row)), "problem_deadline"


def _resolved_problem(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    project = make_project(db, make_chain(db))
    report = make_report(db, project, "2024-03")
    problem = Problem(
        project_id=project.id,
        report_id=report.id,
        period="2024-03",
        description="用地指标",
        responsible_unit="自然资源局",
        status=ProblemStatus.RESOLVED,
        resolution="已解决",
        resolved_on=dt.date(2024, 4, 1),
    )
    db.add(problem)
    db.flush()
    api = client.patch(
        f"{API}/problems/{problem.id}",
        json={"responsible_unit": "住建局"},
        headers={"If-Match": f'"{problem.version}"'},
    )
    row = {
        "internal_code": project.internal_code,
        "period": "2024-03",
        "investment_month": str(report.investment_month),
        "problem": "用地指标",
        "problem_responsible_unit": "住建局",
    }
    return api, 409, upload(client, "/imports/progress", sheet("progress", row)), "problem"


def _project_row(chain: Any, code: str, **values: str) -> dict[str, str]:
    row = {
        "chain_code": chain.code,
        "internal_code": code,
        "name": "规则测试项目",
        "type": "补链",
        "region_code": "370600",
        "status": "在建",
        "total_investment": "100",
    }
    row.update(values)
    return row


def _project_body(chain: Any, **values: Any) -> dict[str, Any]:
    body = {
        "chain_id": chain.id,
        "name": "规则测试项目",
        "type": "fill",
        "region_code": "370600",
        "total_investment": "100",
    }
    body.update(values)
    return body


def _national_code_taken(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    chain = make_chain(db)
    national = "2024-370600-26-03-000001"
    make_project(db, chain, national_code=national)
    api = client.post(f"{API}/projects", json=_project_body(chain, national_code=national))
    row = _project_row(chain, "RULE-P-001", national_code=national)
    return api, 409, upload(client, "/imports/projects", sheet("projects", row)), "national_code"


def _planned_dates_out_of_order(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    chain = make_chain(db)
    project = make_project(db, chain, planned_start=dt.date(2026, 1, 1))
    api = client.patch(
        f"{API}/projects/{project.id}",
        json={"planned_completion": "2025-12-31"},
        headers={"If-Match": f'"{project.version}"'},
    )
    # Only the completion is in the file: the rule holds against the start on record.
    row = {
        "internal_code": project.internal_code,
        "name": project.name,
        "type": project.type.label_zh,
        "region_code": project.region_code,
        "total_investment": str(project.total_investment),
        "planned_completion": "2025-12-31",
    }
    r = upload(client, "/imports/projects", sheet("projects", row))
    return api, 422, r, "planned_completion"


def _plans_over_total(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    chain = make_chain(db)
    plans = [{"year": 2025, "planned_investment": "200"}]
    api = client.post(f"{API}/projects", json=_project_body(chain, annual_plans=plans))
    row = _project_row(chain, "RULE-P-002", plan_year="2025", planned_investment="200")
    r = upload(client, "/imports/projects", sheet("projects", row))
    return api, 422, r, "planned_investment"


def _designation_row(ent: Any, **values: str) -> dict[str, str]:
    row = {"uscc": ent.uscc, "tier": "瞪羚企业", "level": "省级", "recognised_on": "2024-06-01"}
    row.update(values)
    return row


def _designation_overlap(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    ent = make_enterprise(db)
    make_designation(db, ent, tier=Tier.GAZELLE, level="provincial")
    api = client.post(
        f"{API}/enterprises/{ent.id}/designations",
        json={"tier": "gazelle", "level": "provincial", "recognised_on": "2024-06-01"},
    )
    r = upload(client, "/imports/designations", sheet("designations", _designation_row(ent)))
    return api, 409, r, "recognised_on"


def _designation_validity(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    ent = make_enterprise(db)
    api = client.post(
        f"{API}/enterprises/{ent.id}/designations",
        json={
            "tier": "gazelle",
            "level": "provincial",
            "recognised_on": "2024-06-01",
            "valid_until": "2024-01-01",
        },
    )
    row = _designation_row(ent, valid_until="2024-01-01")
    r = upload(client, "/imports/designations", sheet("designations", row))
    return api, 422, r, "valid_until"


def _designation_product(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    ent = make_enterprise(db)
    api = client.post(
        f"{API}/enterprises/{ent.id}/designations",
        json={
            "tier": "gazelle",
            "level": "provincial",
            "recognised_on": "2024-06-01",
            "product": "轮胎",
        },
    )
    row = _designation_row(ent, product="轮胎")
    r = upload(client, "/imports/designations", sheet("designations", row))
    return api, 422, r, "product"


def _revoked_after_expiry(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    ent = make_enterprise(db)
    d = make_designation(
        db, ent, recognised_on=dt.date(2024, 6, 1), valid_until=dt.date(2024, 12, 31)
    )
    api = client.post(
        f"{API}/designations/{d.id}/revoke",
        json={"revoked_on": "2025-02-01", "reason": "核查不符"},
        headers={"If-Match": f'"{d.version}"'},
    )
    row = _designation_row(ent, valid_until="2024-12-31", revoked_on="2025-02-01")
    r = upload(client, "/imports/designations", sheet("designations", row))
    return api, 422, r, "revoked_on"


def _already_revoked(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    ent = make_enterprise(db)
    d = make_designation(
        db,
        ent,
        recognised_on=dt.date(2024, 6, 1),
        revoked_on=dt.date(2024, 9, 1),
        revoke_reason="核查不符",
    )
    api = client.post(
        f"{API}/designations/{d.id}/revoke",
        json={"revoked_on": "2024-10-01", "reason": "再次撤销"},
        headers={"If-Match": f'"{d.version}"'},
    )
    row = _designation_row(ent, revoked_on="2024-10-01")
    r = upload(client, "/imports/designations", sheet("designations", row))
    return api, 409, r, "revoked_on"


def _membership_overlap(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    chain, ent = make_chain(db), make_enterprise(db)
    make_membership(db, ent, chain, role=MembershipRole.SUPPORTING, started_on=dt.date(2023, 1, 1))
    api = client.post(
        f"{API}/chains/{chain.id}/memberships",
        json={"enterprise_id": ent.id, "role": "supporting", "started_on": "2024-01-01"},
    )
    row = {
        "chain_code": chain.code,
        "uscc": ent.uscc,
        "role": "配套企业",
        "started_on": "2024-01-01",
    }
    r = upload(client, "/imports/memberships", sheet("memberships", row))
    return api, 409, r, "started_on"


def _membership_ends_before_start(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    chain, ent = make_chain(db), make_enterprise(db)
    m = make_membership(db, ent, chain, started_on=dt.date(2024, 3, 1))
    api = client.post(
        f"{API}/memberships/{m.id}/end",
        json={"ended_on": "2024-01-01", "reason": "退出"},
        headers={"If-Match": f'"{m.version}"'},
    )
    row = {
        "chain_code": chain.code,
        "uscc": make_enterprise(db).uscc,
        "role": "配套企业",
        "started_on": "2024-03-01",
        "ended_on": "2024-01-01",
    }
    r = upload(client, "/imports/memberships", sheet("memberships", row))
    return api, 422, r, "ended_on"


def _entry_not_on_chain(client: Any, db: Any) -> tuple[Any, int, Any, str]:
    chain = make_chain(db)
    lt = make_list_type(db, entry_ref="enterprise", fields=[])
    lst = ChainList(chain_id=chain.id, list_type_id=lt.id, period="2025")
    db.add(lst)
    db.flush()
    ent = make_enterprise(db)
    api = client.post(
        f"{API}/lists/{lst.id}/entries", json={"title": "甲", "enterprise_id": ent.id}
    )
    content = csv_text([["名称", "统一社会信用代码"], ["甲", ent.uscc]])
    return api, 422, upload(client, f"/lists/{lst.id}/import", content), "uscc"


CASES: dict[str, tuple[Case, str]] = {
    "period in the future": (_future_period, "period_in_future"),
    "cancelled project": (_cancelled_project, "project_cancelled"),
    "deadline before the month": (_deadline_before_period, "deadline_before_period"),
    "resolved problem": (_resolved_problem, "problem_resolved"),
    "national code taken": (_national_code_taken, "duplicate"),
    "planned dates out of order": (_planned_dates_out_of_order, "date_order"),
    "plans over the total": (_plans_over_total, "plans_exceed_total"),
    "designation overlap": (_designation_overlap, "overlap"),
    # The sheet spec's cross-column check (sheets/specs.py ``_order``) refuses these two
    # before the handler runs the service's check, with its own code "rule".
    "designation validity": (_designation_validity, "date_order|rule"),
    "designation product": (_designation_product, "product_not_allowed"),
    "revoked after expiry": (_revoked_after_expiry, "revoked_after_expiry"),
    "already revoked": (_already_revoked, "already_revoked"),
    "membership overlap": (_membership_overlap, "overlap"),
    "membership ends before it starts": (_membership_ends_before_start, "date_order|rule"),
    "list entry off the chain": (_entry_not_on_chain, "not_on_chain"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_import_and_the_api_refuse_for_the_same_reason(client, db, case):
    arrange, reasons = CASES[case]
    reason, _, sheet_reason = reasons.partition("|")
    api, status, imported, column = arrange(client, db)
    assert reason in api_codes(api, status)
    assert (sheet_reason or reason) in import_codes(imported, column), imported.text


def test_a_rule_changed_in_the_service_changes_what_an_import_accepts(client, db, monkeypatch):
    """The import calls the service's check: replaced, the import follows it."""
    from chaintrack.errors import ValidationProblem
    from chaintrack.imports import handlers_designations

    def stricter(session: Any, tier: Any, level: Any) -> None:
        raise ValidationProblem.for_field("level", "no longer granted", code="closed")

    monkeypatch.setattr(handlers_designations, "check_level", stricter)
    ent = make_enterprise(db)
    r = upload(client, "/imports/designations", sheet("designations", _designation_row(ent)))
    assert import_codes(r, "level") == {"closed"}


# ------------------------------------------------------------ export filters = list filters

PAIRS = [
    ("/enterprises", "/exports/enterprises", {"limit", "offset", "sort"}, {"format", "year"}),
    ("/projects", "/exports/projects", {"limit", "offset", "sort"}, {"format", "plan_year"}),
    (
        "/chains/{chain_id}/memberships",
        "/exports/memberships",
        {"limit", "offset", "sort", "chain_id"},
        {"format", "chain_id"},
    ),
]


@pytest.mark.parametrize(("listed", "exported", "list_only", "export_only"), PAIRS)
def test_an_export_takes_the_filters_of_its_list(client, listed, exported, list_only, export_only):
    paths = client.app.openapi()["paths"]

    def params(path: str) -> dict[str, Any]:
        return {p["name"]: p for p in paths[f"{API}{path}"]["get"].get("parameters", [])}

    list_params, export_params = params(listed), params(exported)
    assert list_only <= set(list_params) and export_only <= set(export_params)
    filters = {k: v for k, v in list_params.items() if k not in list_only}
    assert filters, listed
    assert filters == {k: v for k, v in export_params.items() if k not in export_only}
