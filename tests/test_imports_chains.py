"""Imports of chain-scoped records and designations through HTTP: memberships, projects,
monthly progress (with revisions), list entries; editors' permissions; round trips."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from chaintrack.history import office_today
from chaintrack.models import (
    AuditRecord,
    ChainList,
    Designation,
    ListEntry,
    Membership,
    Problem,
    ProgressReport,
    Project,
    ProjectAnnualPlan,
    ProjectStatusChange,
)
from chaintrack.models.enums import MembershipRole, ProjectStatus, Tier, UserRole
from chaintrack.sheets.specs import get_spec
from chaintrack.sheets.writer import xlsx_bytes
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
from tests.test_imports_api import API, count, csv_text, upload


def _rows(db: Any, model: Any, *where: Any) -> list[Any]:
    return list(db.scalars(select(model).where(*where)).all())


# ------------------------------------------------------------------------ memberships


def test_memberships_import_under_a_chain_and_reimport(client, db):
    chain = make_chain(db)
    node = make_node(db, chain, code="UP-01")
    a, b = make_enterprise(db), make_enterprise(db)
    content = csv_text(
        [
            ["统一社会信用代码", "企业名称", "图谱节点代码", "链上角色", "入链日期"],
            [a.uscc, a.name, "UP-01", "链主企业", "2024/3/1"],
            [b.uscc, "", "", "配套企业", "2024年3月5日"],
        ]
    )
    dry = upload(client, "/imports/memberships", content, chain_id=chain.id)
    assert dry.status_code == 200, dry.text
    assert dry.json()["summary"]["create"] == 2
    assert _rows(db, Membership, Membership.chain_id == chain.id) == []

    r = upload(client, "/imports/memberships", content, chain_id=chain.id, mode="commit")
    assert r.status_code == 200, r.text
    [master] = _rows(db, Membership, Membership.enterprise_id == a.id)
    assert master.role is MembershipRole.CHAIN_MASTER and master.node_id == node.id
    assert master.started_on == dt.date(2024, 3, 1)
    audit = db.scalar(
        select(AuditRecord).where(
            AuditRecord.entity == "memberships", AuditRecord.entity_id == str(master.id)
        )
    )
    assert audit is not None and audit.chain_id == chain.id

    again = upload(client, "/imports/memberships", content, chain_id=chain.id, mode="commit")
    assert again.json()["summary"]["unchanged"] == 2


def test_membership_errors_name_row_and_column(client, db):
    chain = make_chain(db)
    other = make_chain(db)
    known = make_enterprise(db)
    make_membership(
        db, known, chain, role=MembershipRole.SUPPORTING, started_on=dt.date(2023, 1, 1)
    )
    content = csv_text(
        [
            ["产业链代码", "统一社会信用代码", "图谱节点代码", "链上角色", "入链日期"],
            [chain.code, "91110000600037341L", "", "配套企业", "2024-01-01"],
            [chain.code, known.uscc, "NOPE", "配套企业", "2024-01-01"],
            [other.code, known.uscc, "", "配套企业", "2024-01-01"],
            [chain.code, known.uscc, "", "配套企业", "2024-06-01"],
        ]
    )
    r = upload(client, "/imports/memberships", content, chain_id=chain.id, mode="commit")
    assert r.status_code == 422
    errors = {(e["row"], e["field"]): e for e in r.json()["errors"]}
    assert errors[(2, "uscc")]["code"] == "unknown_reference"
    assert errors[(3, "node_code")]["column"] == "图谱节点代码"
    assert errors[(4, "chain_code")]["code"] == "chain_mismatch"
    assert errors[(5, "started_on")]["code"] == "overlap"
    assert len(_rows(db, Membership, Membership.chain_id == chain.id)) == 1


def test_editor_of_another_chain_gets_403_and_nothing_is_written(client_for, make_user, db):
    chain, other = make_chain(db), make_chain(db)
    ent = make_enterprise(db)
    editor = make_user(UserRole.EDITOR, chains=[other])
    content = csv_text(
        [
            ["产业链代码", "统一社会信用代码", "链上角色", "入链日期"],
            [chain.code, ent.uscc, "配套企业", "2024-01-01"],
        ]
    )
    audits = count(db, AuditRecord)
    c = client_for(editor)
    r = upload(c, "/imports/memberships", content, chain_id=chain.id, mode="commit")
    assert r.status_code == 403
    assert r.json()["type"] == "urn:chaintrack:problem:forbidden"
    # Without chain_id the row's chain is checked: still refused, also in a dry run.
    r = upload(c, "/imports/memberships", content)
    assert r.status_code == 403
    assert r.json()["row"] == 2
    assert _rows(db, Membership, Membership.chain_id == chain.id) == []
    assert count(db, AuditRecord) == audits
    # Their own chain works.
    mine = csv_text(
        [
            ["产业链代码", "统一社会信用代码", "链上角色", "入链日期"],
            [other.code, ent.uscc, "配套企业", "2024-01-01"],
        ]
    )
    assert upload(c, "/imports/memberships", mine, mode="commit").status_code == 200


def test_unknown_chain_id_is_404(client):
    r = upload(client, "/imports/memberships", b"a,b\n", chain_id=999999)
    assert r.status_code == 404


# --------------------------------------------------------------------------- projects


def _project_csv(
    chain_code: str, code: str, owner: str = "", status: str = "在建", **kw: str
) -> bytes:
    header = [
        "产业链代码",
        "项目编号",
        "项目名称",
        "项目类型",
        "业主单位信用代码",
        "所在地区代码",
        "项目状态",
        "总投资（万元）",
        "计划年度",
        "年度计划投资（万元）",
    ]
    row = [
        chain_code,
        code,
        kw.get("name", "导入的补链项目"),
        "补链",
        owner,
        "370600",
        status,
        kw.get("total", "50,000.50"),
        "2025",
        kw.get("plan", "12000"),
    ]
    return csv_text([header, row])


def test_projects_import_create_update_and_status_rule(client, db):
    chain = make_chain(db)
    owner = make_enterprise(db)
    r = upload(
        client,
        "/imports/projects",
        _project_csv(chain.code, "IMP-P-001", owner.uscc),
        mode="commit",
    )
    assert r.status_code == 200, r.text
    project = db.scalar(select(Project).where(Project.internal_code == "IMP-P-001"))
    assert project.chain_id == chain.id and project.owner_enterprise_id == owner.id
    assert project.total_investment == Decimal("50000.5")
    assert project.status is ProjectStatus.UNDER_CONSTRUCTION and project.actual_start is not None
    [plan] = _rows(db, ProjectAnnualPlan, ProjectAnnualPlan.project_id == project.id)
    assert (plan.year, plan.planned_investment) == (2025, Decimal("12000"))
    [history] = _rows(db, ProjectStatusChange, ProjectStatusChange.project_id == project.id)
    assert history.to_status is ProjectStatus.UNDER_CONSTRUCTION and history.recorded_by is not None

    same = upload(
        client,
        "/imports/projects",
        _project_csv(chain.code, "IMP-P-001", owner.uscc),
        mode="commit",
    )
    assert same.json()["summary"]["unchanged"] == 1

    changed = _project_csv(chain.code, "IMP-P-001", owner.uscc, name="改名项目", plan="13000")
    r = upload(client, "/imports/projects", changed, mode="commit")
    assert r.json()["rows"][0]["action"] == "update"
    assert set(r.json()["rows"][0]["changes"]) == {"name", "annual_plan.planned_investment"}
    db.refresh(project)
    db.refresh(plan)
    assert project.name == "改名项目" and plan.planned_investment == Decimal("13000")

    r = upload(
        client,
        "/imports/projects",
        _project_csv(chain.code, "IMP-P-001", owner.uscc, status="已竣工"),
        mode="commit",
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "status"


def test_project_plan_over_total_and_unknown_owner(client, db):
    chain = make_chain(db)
    content = _project_csv(chain.code, "IMP-P-002", "91110000600037341L", total="100", plan="200")
    r = upload(client, "/imports/projects", content)
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"owner_uscc", "planned_investment"} or "owner_uscc" in fields
    assert db.scalar(select(Project).where(Project.internal_code == "IMP-P-002")) is None


def test_project_of_another_chain_cannot_be_updated_by_its_editor(client_for, make_user, db):
    chain, other = make_chain(db), make_chain(db)
    make_project(db, chain, internal_code="IMP-P-003")
    editor = make_user(UserRole.EDITOR, chains=[other])
    r = upload(
        client_for(editor), "/imports/projects", _project_csv("", "IMP-P-003"), mode="commit"
    )
    assert r.status_code == 403


# --------------------------------------------------------------------------- progress


def _progress_csv(rows: list[list[str]]) -> bytes:
    header = [
        "项目编号",
        "调度月份",
        "本月完成投资（万元）",
        "形象进度（%）",
        "存在问题",
        "问题解决时限",
    ]
    return csv_text([header, *rows])


def test_progress_import_revisions_and_no_op(client, db):
    chain = make_chain(db)
    project = make_project(db, chain, internal_code="IMP-G-001")
    content = _progress_csv(
        [
            ["IMP-G-001", "2024年3月", "1,250.50", "35", "用地指标未落实", "2024-06-30"],
            ["IMP-G-001", "2024/4", "100", "", "", ""],
        ]
    )
    r = upload(client, "/imports/progress", content, mode="commit")
    assert r.status_code == 200, r.text
    reports = _rows(db, ProgressReport, ProgressReport.project_id == project.id)
    assert sorted((p.period, p.revision, p.investment_month) for p in reports) == [
        ("2024-03", 1, Decimal("1250.5")),
        ("2024-04", 1, Decimal("100")),
    ]
    [problem] = _rows(db, Problem, Problem.project_id == project.id)
    assert problem.period == "2024-03" and problem.deadline == dt.date(2024, 6, 30)
    assert problem.report_id == next(p.id for p in reports if p.period == "2024-03")

    again = upload(client, "/imports/progress", content, mode="commit")
    assert again.json()["summary"] == {
        "rows": 2,
        "create": 0,
        "update": 0,
        "unchanged": 2,
        "error": 0,
    }

    changed = _progress_csv(
        [["IMP-G-001", "2024-03", "1300", "35", "用地指标未落实", "2024-06-30"]]
    )
    r = upload(client, "/imports/progress", changed, mode="commit")
    assert r.json()["rows"][0]["action"] == "update"
    assert r.json()["rows"][0]["changes"] == ["investment_month"]
    march = _rows(
        db,
        ProgressReport,
        ProgressReport.project_id == project.id,
        ProgressReport.period == "2024-03",
    )
    old, new = sorted(march, key=lambda p: p.revision)
    db.refresh(old)
    assert old.superseded_at is not None and old.investment_month == Decimal("1250.5")
    assert new.revision == 2 and new.superseded_at is None
    assert new.correction_reason == "导入更正" and new.investment_month == Decimal("1300")
    assert new.physical_progress_pct == Decimal("35")
    assert len(_rows(db, Problem, Problem.project_id == project.id)) == 1


def test_progress_errors(client, db):
    chain = make_chain(db)
    make_project(db, chain, internal_code="IMP-G-002")
    make_project(db, chain, internal_code="IMP-G-003", status=ProjectStatus.CANCELLED)
    content = _progress_csv(
        [
            ["IMP-G-404", "2024-03", "1", "", "", ""],
            ["IMP-G-002", f"{office_today().year + 1}-01", "1", "", "", ""],
            ["IMP-G-003", "2024-03", "1", "", "", ""],
            ["IMP-G-002", "2024-03", "1", "", "问题", "2024-01-01"],
            ["IMP-G-002", "2024-05", "1", "120", "", ""],
        ]
    )
    r = upload(client, "/imports/progress", content, mode="commit")
    assert r.status_code == 422
    got = {(e["row"], e["field"], e["code"]) for e in r.json()["errors"]}
    assert (2, "internal_code", "unknown_reference") in got
    assert (3, "period", "period_in_future") in got
    assert (4, "internal_code", "project_cancelled") in got
    assert (5, "problem_deadline", "deadline_before_period") in got
    assert any(row == 6 and field == "physical_progress_pct" for row, field, _ in got)
    assert count(db, ProgressReport) == 0 or not _rows(
        db,
        ProgressReport,
        ProgressReport.project_id.in_(select(Project.id).where(Project.chain_id == chain.id)),
    )


def test_progress_for_another_chains_project_is_403(client_for, make_user, db):
    chain, other = make_chain(db), make_chain(db)
    make_project(db, chain, internal_code="IMP-G-004")
    editor = make_user(UserRole.EDITOR, chains=[other])
    r = upload(
        client_for(editor),
        "/imports/progress",
        _progress_csv([["IMP-G-004", "2024-03", "1", "", "", ""]]),
    )
    assert r.status_code == 403


def test_progress_export_import_round_trip(client, db):
    chain = make_chain(db)
    project = make_project(
        db, chain, internal_code="IMP-G-005", total_investment=Decimal("9999.9999")
    )
    db.add(ProjectAnnualPlan(project_id=project.id, year=2024, planned_investment=Decimal("5000")))
    make_report(db, project, "2024-01", investment_month=Decimal("0.0001"))
    make_report(
        db,
        project,
        "2024-02",
        investment_month=Decimal("1234.5678"),
        physical_progress_pct=Decimal("12.5"),
    )
    db.add(
        Problem(
            project_id=project.id, period="2024-02", description="资金缺口", responsible_unit="某局"
        )
    )
    db.flush()
    r = client.get(f"{API}/exports/progress", params={"chain_id": chain.id})
    assert r.status_code == 200 and r.headers["x-row-count"] == "2"
    again = upload(client, "/imports/progress", r.content, "p.xlsx", mode="commit")
    assert again.status_code == 200, again.text
    assert again.json()["summary"]["unchanged"] == 2
    assert len(_rows(db, ProgressReport, ProgressReport.project_id == project.id)) == 2


# ------------------------------------------------------------------ designations


def test_designations_import_round_trip_and_rules(client, db):
    ent = make_enterprise(db)
    make_designation(
        db,
        ent,
        tier=Tier.GAZELLE,
        level="provincial",
        recognised_on=dt.date(2022, 1, 1),
        valid_until=dt.date(2024, 12, 31),
    )
    content = csv_text(
        [
            ["统一社会信用代码", "培育层级", "认定级别", "批次", "认定日期", "有效期至"],
            [ent.uscc, "专精特新中小企业", "省级", "第三批", "2023-05-01", "2026-04-30"],
            [ent.uscc, "瞪羚企业", "省级", "", "2024-06-01", ""],
        ]
    )
    r = upload(client, "/imports/designations", content, mode="commit")
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["row"] == 3 and error["code"] == "overlap"

    ok = csv_text(
        [
            ["统一社会信用代码", "培育层级", "认定级别", "批次", "认定日期", "有效期至"],
            [ent.uscc, "专精特新中小企业", "省级", "第三批", "2023-05-01", "2026-04-30"],
        ]
    )
    r = upload(client, "/imports/designations", ok, mode="commit")
    assert r.status_code == 200, r.text
    assert len(_rows(db, Designation, Designation.enterprise_id == ent.id)) == 2

    exported = client.get(f"{API}/exports/designations", params={"q": ent.uscc})
    assert exported.headers["x-row-count"] == "2"
    again = upload(client, "/imports/designations", exported.content, "d.xlsx", mode="commit")
    assert again.json()["summary"]["unchanged"] == 2, again.text


# -------------------------------------------------------------------- round trips


def test_memberships_and_projects_export_import_round_trip(client, db):
    chain = make_chain(db)
    node = make_node(db, chain)
    ents = [make_enterprise(db) for _ in range(3)]
    make_membership(
        db,
        ents[0],
        chain,
        node_id=node.id,
        note="备注",
        started_on=dt.date(2020, 1, 1),
        ended_on=dt.date(2021, 1, 1),
        end_reason="迁出",
    )
    make_membership(db, ents[0], chain, node_id=node.id, started_on=dt.date(2022, 1, 1))
    make_membership(db, ents[1], chain, role=MembershipRole.CHAIN_MASTER)
    project = make_project(
        db, chain, owner_enterprise_id=ents[2].id, total_investment=Decimal("100000.0001")
    )
    db.add(
        ProjectAnnualPlan(project_id=project.id, year=2025, planned_investment=Decimal("12.3456"))
    )
    db.flush()
    for path, params, n in (
        ("memberships", {"chain_id": chain.id, "current": "false"}, 3),
        ("projects", {"chain_id": chain.id}, 1),
    ):
        for fmt in ("xlsx", "csv"):
            exported = client.get(f"{API}/exports/{path}", params={**params, "format": fmt})
            assert exported.status_code == 200
            assert exported.headers["x-row-count"] == str(n)
            r = upload(
                client,
                f"/imports/{path}",
                exported.content,
                f"e.{fmt}",
                chain_id=chain.id,
                mode="commit",
            )
            assert r.status_code == 200, (path, fmt, r.text)
            assert r.json()["summary"]["unchanged"] == n, (path, fmt, r.json())


# ---------------------------------------------------------------------- list entries


def _list_with_decimal(db: Any, chain: Any) -> ChainList:
    lt = make_list_type(
        db,
        entry_ref="enterprise",
        fields=[
            {"name": "budget", "label": "投资额（万元）", "type": "decimal", "required": True},
            {"name": "due", "label": "完成时限", "type": "date"},
            {"name": "kind", "label": "类别", "type": "choice", "choices": ["招商", "培育"]},
        ],
    )
    lst = ChainList(chain_id=chain.id, list_type_id=lt.id, period="2025")
    db.add(lst)
    db.flush()
    return lst


def test_list_entries_import_and_round_trip(client, db):
    chain, other = make_chain(db), make_chain(db)
    lst = _list_with_decimal(db, chain)
    on_chain, off_chain = make_enterprise(db), make_enterprise(db)
    make_membership(db, on_chain, chain)
    make_membership(db, off_chain, other)
    db.add(
        ListEntry(
            list_id=lst.id,
            chain_id=chain.id,
            title="已有条目",
            enterprise_id=on_chain.id,
            position=1,
            attributes={"budget": "1250.50", "kind": "招商"},
        )
    )
    db.flush()
    template = client.get(f"{API}/list-types/{lst.list_type_id}/template", params={"format": "csv"})
    assert template.status_code == 200
    assert "投资额（万元）" in template.content.decode("utf-8-sig")

    exported = client.get(f"{API}/lists/{lst.id}/export")
    assert exported.status_code == 200 and exported.headers["x-row-count"] == "1"
    r = upload(client, f"/lists/{lst.id}/import", exported.content, "l.xlsx", mode="commit")
    assert r.status_code == 200, r.text
    assert r.json()["summary"]["unchanged"] == 1  # "1250.50" read back as 1250.5: same number

    content = csv_text(
        [
            ["名称", "统一社会信用代码", "投资额（万元）", "完成时限", "类别"],
            ["新条目", off_chain.uscc, "10", "2025-12-31", "培育"],
            ["无投资额", "", "", "", ""],
            ["坏类别", "", "5", "", "其他"],
        ]
    )
    r = upload(client, f"/lists/{lst.id}/import", content, mode="commit")
    assert r.status_code == 422
    got = {(e["row"], e["field"]) for e in r.json()["errors"]}
    assert got == {(2, "uscc"), (3, "budget"), (4, "kind")}
    good = csv_text(
        [
            ["名称", "统一社会信用代码", "投资额（万元）", "完成时限"],
            ["新条目", "", "1,000.10", "2025/12/31"],
        ]
    )
    r = upload(client, f"/lists/{lst.id}/import", good, mode="commit")
    assert r.status_code == 200, r.text
    entry = db.scalar(
        select(ListEntry).where(ListEntry.list_id == lst.id, ListEntry.title == "新条目")
    )
    assert entry.attributes == {"budget": "1000.10", "due": "2025-12-31"} and entry.position == 2


def test_list_import_by_editor_of_another_chain_is_403(client_for, make_user, db):
    chain, other = make_chain(db), make_chain(db)
    lst = _list_with_decimal(db, chain)
    editor = make_user(UserRole.EDITOR, chains=[other])
    r = upload(
        client_for(editor),
        f"/lists/{lst.id}/import",
        csv_text([["名称", "投资额（万元）"], ["甲", "1"]]),
    )
    assert r.status_code == 403
    assert count(db, ListEntry) == 0 or not _rows(db, ListEntry, ListEntry.list_id == lst.id)


def test_seeded_xlsx_with_every_enterprise_column(client, db):
    """The writer's own file (numbers as numbers, dates as dates) imports as exported."""
    spec = get_spec("memberships")
    chain = make_chain(db)
    ent = make_enterprise(db)
    content = xlsx_bytes(
        spec,
        [
            {
                "chain_code": chain.code,
                "uscc": ent.uscc,
                "role": "supporting",
                "started_on": dt.date(2024, 2, 29),
            }
        ],
    )
    r = upload(client, "/imports/memberships", content, "m.xlsx", mode="commit")
    assert r.status_code == 200, r.text
    [m] = _rows(db, Membership, Membership.enterprise_id == ent.id)
    assert m.started_on == dt.date(2024, 2, 29)
    assert func  # keep the import used in assertions above
