"""Imports and exports through HTTP: templates, dry run, commit, errors, limits, audit.

Spreadsheets are built here (CSV text, openpyxl workbooks, or the sheets writer) with
the quirks real office files have; the parsing itself is tested in test_sheets_*.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from chaintrack.identifiers import make_uscc
from chaintrack.imports.limits import ImportLimits, import_limits
from chaintrack.models import (
    AuditRecord,
    Enterprise,
    EnterpriseFigures,
)
from chaintrack.sheets.specs import get_spec
from chaintrack.sheets.writer import csv_bytes, xlsx_bytes

API = "/api/v1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_n = iter(range(1, 10_000_000))


def uscc() -> str:
    """A valid fictional code, distinct from the factories' counter range."""
    return make_uscc(f"91370600{800_000_000 + next(_n):09d}")


def upload(client: Any, path: str, content: bytes, name: str = "data.csv", **params: Any) -> Any:
    return client.post(f"{API}{path}", params=params, files={"file": (name, content)})


def count(db: Any, model: Any) -> int:
    return db.scalar(select(func.count()).select_from(model))


def audit_count(db: Any) -> int:
    return count(db, AuditRecord)


def enterprise(db: Any, code: str) -> Enterprise | None:
    return db.scalar(select(Enterprise).where(Enterprise.uscc == code))


def csv_text(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


# --------------------------------------------------------------------------- templates


@pytest.mark.parametrize(
    "entity", ["enterprises", "designations", "memberships", "projects", "progress"]
)
def test_templates_download_with_utf8_names(client, entity):
    r = client.get(f"{API}/templates/{entity}", params={"format": "xlsx"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition and "%E5%AF%BC%E5%85%A5" in disposition  # 导入
    wb = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    assert "说明" in wb.sheetnames
    r = client.get(f"{API}/templates/{entity}", params={"format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")


def test_unknown_template_entity_is_422(client):
    r = client.get(f"{API}/templates/unicorns")
    assert r.status_code == 422
    assert r.json()["type"] == "urn:chaintrack:problem:validation"


# ------------------------------------------------------------------------- enterprises


def _enterprise_csv(codes: list[str], *, bad_row: int | None = None) -> bytes:
    rows = [["统一社会信用代码", "企业名称", "所在地区代码", "数据年度", "营业收入（万元）"]]
    for i, code in enumerate(codes):
        region = "999999" if i == bad_row else "370600"
        rows.append([code, f"导入测试企业{i}有限公司", region, "2024", f"{1000 + i}.25"])
    return csv_text(rows)


def test_imported_rows_are_audited_exactly_as_api_writes_are(client, db):
    """The bulk path writes its create records itself; they must hold what the session
    listeners record for the same enterprise created through the API (every value,
    decimals, dates, enumerations and lists included)."""
    fields = {
        "name": "审计对照企业有限公司",
        "former_names": ["审计对照旧名有限公司"],
        "region_code": "370602",
        "size_class": "small",
        "ownership": "private",
        "founded_on": "2001-02-03",
        "address": "山东省烟台市“引号”路\\1号",
    }
    posted = client.post(f"{API}/enterprises", json={"uscc": uscc(), **fields})
    assert posted.status_code == 201, posted.text
    figures = {"revenue": "1250.5000", "employees": 12, "rd_spend": "0.25"}
    r = client.put(f"{API}/enterprises/{posted.json()['id']}/figures/2024", json=figures)
    assert r.status_code in (200, 201), r.text
    code = uscc()
    content = csv_text(
        [
            ["uscc", *fields, "year", "revenue", "employees", "rd_spend"],
            [code, *(v if isinstance(v, str) else v[0] for v in fields.values()),
             "2024", "1250.5", "12", "0.25"],
        ]
    )  # fmt: skip
    r = upload(client, "/imports/enterprises", content, mode="commit")
    assert r.status_code == 200, r.text
    imported = enterprise(db, code)
    assert imported is not None

    def created(entity: str, entity_id: int) -> dict[str, Any]:
        record = db.scalar(
            select(AuditRecord).where(
                AuditRecord.entity == entity, AuditRecord.entity_id == str(entity_id)
            )
        )
        assert record is not None and record.action.value == "create"
        return dict(record.changes)

    api_ent, bulk_ent = (
        created("enterprises", posted.json()["id"]),
        created("enterprises", imported.id),
    )
    for changes, ident in ((api_ent, posted.json()["id"]), (bulk_ent, imported.id)):
        assert changes.pop("id") == {"before": None, "after": ident}
        changes.pop("uscc")
    assert bulk_ent == api_ent
    fig_ids = db.execute(
        select(EnterpriseFigures.id, EnterpriseFigures.enterprise_id).where(
            EnterpriseFigures.enterprise_id.in_([posted.json()["id"], imported.id])
        )
    ).all()
    by_ent = {e: f for f, e in fig_ids}
    api_fig = created("enterprise_figures", by_ent[posted.json()["id"]])
    bulk_fig = created("enterprise_figures", by_ent[imported.id])
    for changes in (api_fig, bulk_fig):
        changes.pop("id"), changes.pop("enterprise_id")
    assert bulk_fig == api_fig
    assert bulk_fig["revenue"] == {"before": None, "after": "1250.5"}


def test_dry_run_reports_rows_and_writes_nothing(client, db):
    codes = [uscc(), uscc()]
    before = (count(db, Enterprise), audit_count(db))
    r = upload(client, "/imports/enterprises", _enterprise_csv(codes))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "dry_run" and body["committed"] is False
    assert body["summary"] == {"rows": 2, "create": 2, "update": 0, "unchanged": 0, "error": 0}
    assert [row["action"] for row in body["rows"]] == ["create", "create"]
    assert [row["row"] for row in body["rows"]] == [2, 3]
    assert body["rows"][0]["key"] == codes[0]
    assert "预检通过" in body["message"]
    assert (count(db, Enterprise), audit_count(db)) == before


def test_commit_writes_audits_and_reimport_is_a_no_op(client, db):
    codes = [uscc(), uscc(), uscc()]
    content = _enterprise_csv(codes)
    audits = audit_count(db)
    r = client.post(
        f"{API}/imports/enterprises",
        params={"mode": "commit"},
        files={"file": ("企业.csv", content)},
        headers={"X-Request-ID": "import-test-1"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["committed"] is True
    assert r.json()["summary"]["create"] == 3
    ent = enterprise(db, codes[1])
    assert ent is not None and ent.name == "导入测试企业1有限公司"
    figures = db.scalar(select(EnterpriseFigures).where(EnterpriseFigures.enterprise_id == ent.id))
    assert figures.year == 2024 and figures.revenue == Decimal("1001.25")
    records = db.scalars(select(AuditRecord).where(AuditRecord.request_id == "import-test-1")).all()
    assert audit_count(db) - audits == len(records) == 6  # 3 enterprises + 3 figures
    created = next(a for a in records if a.entity == "enterprises" and a.entity_id == str(ent.id))
    assert created.action.value == "create" and created.user_id is not None
    assert created.changes["uscc"] == {"before": None, "after": codes[1]}

    again = upload(client, "/imports/enterprises", content, mode="commit")
    assert again.status_code == 200
    assert again.json()["summary"]["unchanged"] == 3
    assert audit_count(db) - audits == 6  # nothing changed, nothing audited


def test_update_changes_only_what_differs_and_keeps_the_old_name(client, db):
    code = uscc()
    upload(client, "/imports/enterprises", _enterprise_csv([code]), mode="commit")
    ent = enterprise(db, code)
    version = ent.version
    content = csv_text(
        [
            ["统一社会信用代码", "企业名称", "所在地区代码", "数据年度", "营业收入（万元）"],
            [code, "改名后的企业有限公司", "370600", "2024", "1000.25"],
        ]
    )
    r = upload(client, "/imports/enterprises", content, mode="commit")
    assert r.status_code == 200, r.text
    assert r.json()["rows"][0]["action"] == "update"
    assert r.json()["rows"][0]["changes"] == ["name", "former_names"]
    db.refresh(ent)
    assert ent.name == "改名后的企业有限公司"
    assert ent.former_names == ["导入测试企业0有限公司"]
    assert ent.version == version + 1


def test_one_bad_row_writes_nothing_and_names_the_row(client, db):
    codes = [uscc() for _ in range(5)]
    before = (count(db, Enterprise), count(db, EnterpriseFigures), audit_count(db))
    r = upload(client, "/imports/enterprises", _enterprise_csv(codes, bad_row=3), mode="commit")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["type"] == "urn:chaintrack:problem:import-rejected"
    assert body["summary"]["error"] == 1
    [error] = body["errors"]
    assert error["row"] == 5 and error["column"] == "所在地区代码"
    assert error["field"] == "region_code" and error["location"] == "file"
    assert "999999" in error["message"] or error.get("value") == "999999"
    assert (count(db, Enterprise), count(db, EnterpriseFigures), audit_count(db)) == before
    assert enterprise(db, codes[0]) is None


def test_dry_run_lists_every_error(client):
    good = uscc()
    content = csv_text(
        [
            ["统一社会信用代码", "企业名称", "所在地区代码", "成立日期"],
            [good, "好企业", "370600", "2020-01-01"],
            ["91370600MA3C00000X", "", "370600", "2020-01-01"],
            [good, "重复企业", "370600", "2099-01-01"],
        ]
    )
    r = upload(client, "/imports/enterprises", content)
    assert r.status_code == 200
    body = r.json()
    assert body["summary"] == {"rows": 3, "create": 1, "update": 0, "unchanged": 0, "error": 2}
    by_row: dict[int, list[str]] = {}
    for e in body["errors"]:
        by_row.setdefault(e["row"], []).append(e["field"])
    assert set(by_row[3]) == {"uscc", "name"}
    assert by_row[4] == ["uscc"]  # duplicate of row 2 in the file
    assert "重复" in next(e["message"] for e in body["errors"] if e["row"] == 4)
    assert "错误" in body["message"]


def test_future_founding_date_is_refused_like_the_api(client):
    content = csv_text(
        [
            ["统一社会信用代码", "企业名称", "所在地区代码", "成立日期"],
            [uscc(), "甲", "370600", "2999-01-01"],
        ]
    )
    body = upload(client, "/imports/enterprises", content).json()
    assert body["errors"][0]["field"] == "founded_on"
    assert body["errors"][0]["column"] == "成立日期"


# ---------------------------------------------------------------------------- quirks


def _quirky_workbook(code: str) -> bytes:
    """A title row merged across the sheet, English headers, numbers stored as text with
    thousands separators, full-width digits, an Excel date serial, padded text, and
    empty rows after the data."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "企业名单"
    ws.append(["2024年重点企业名单（示例）"])
    ws.merge_cells("A1:G1")
    ws.append(["uscc", "name", "region_code", "founded_on", "year", "revenue", "employees"])
    full_width = code.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    ws.append(
        [
            f"  {full_width.lower()} ",
            "  示例材料有限公司 ",
            "３７０６００",
            43831,
            "２０２４",
            "1,234.50",
            "1,200",
        ]
    )
    ws.append([None] * 7)
    ws.append(["", "", "", None, None, None, None])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_excel_quirks_arrive_parsed(client, db):
    code = uscc()
    r = upload(client, "/imports/enterprises", _quirky_workbook(code), "名单.xlsx", mode="commit")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["file"]["format"] == "xlsx" and body["file"]["header_row"] == 2
    assert body["summary"]["rows"] == 1 and body["rows"][0]["row"] == 3
    ent = enterprise(db, code)
    assert ent is not None
    assert ent.name == "示例材料有限公司"
    assert ent.region_code == "370600"
    assert ent.founded_on == dt.date(2020, 1, 1)  # serial 43831
    figures = db.scalar(select(EnterpriseFigures).where(EnterpriseFigures.enterprise_id == ent.id))
    assert (figures.year, figures.revenue, figures.employees) == (2024, Decimal("1234.5"), 1200)


def test_gbk_csv_with_padding_and_separators(client, db):
    code = uscc()
    text = (
        "统一社会信用代码,企业名称,所在地区代码,数据年度,营业收入（万元）,研发投入（万元）\r\n"
        f' {code} , 山东示例装备有限公司 ,370100,2023,"12,345.6789",0.1\r\n\r\n'
    )
    r = upload(client, "/imports/enterprises", text.encode("gb18030"), mode="commit")
    assert r.status_code == 200, r.text
    assert r.json()["file"]["encoding"] == "gb18030"
    ent = enterprise(db, code)
    figures = db.scalar(select(EnterpriseFigures).where(EnterpriseFigures.enterprise_id == ent.id))
    assert figures.revenue == Decimal("12345.6789") and figures.rd_spend == Decimal("0.1")
    assert ent.name == "山东示例装备有限公司"


# ---------------------------------------------------------------------------- limits


def test_file_over_the_size_cap_is_413(app, client, db):
    app.dependency_overrides[import_limits] = lambda: ImportLimits(max_bytes=2048, max_rows=10)
    try:
        content = _enterprise_csv([uscc() for _ in range(60)])
        assert len(content) > 2048
        before = count(db, Enterprise)
        r = upload(client, "/imports/enterprises", content, mode="commit")
        assert r.status_code == 413
        body = r.json()
        assert body["type"] == "urn:chaintrack:problem:payload-too-large"
        assert "MB" in body["detail"]
        assert count(db, Enterprise) == before
    finally:
        app.dependency_overrides.pop(import_limits, None)


def test_more_rows_than_the_cap_is_422(app, client, db):
    app.dependency_overrides[import_limits] = lambda: ImportLimits(max_bytes=1 << 20, max_rows=3)
    try:
        before = count(db, Enterprise)
        r = upload(
            client,
            "/imports/enterprises",
            _enterprise_csv([uscc() for _ in range(5)]),
            mode="commit",
        )
        assert r.status_code == 422
        assert r.json()["code"] == "too_many_rows"
        assert "3" in r.json()["detail"]
        assert count(db, Enterprise) == before
    finally:
        app.dependency_overrides.pop(import_limits, None)


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "report.pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old.xls"),
        (b"PK\x03\x04broken zip", "broken.xlsx"),
        (b"", "empty.csv"),
    ],
)
def test_not_a_spreadsheet_is_a_clear_400(client, content, name):
    r = upload(client, "/imports/enterprises", content, name, mode="commit")
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["type"] == "urn:chaintrack:problem:bad-request"
    assert body["errors"][0]["location"] == "file"
    assert body["detail"]


def test_missing_required_column_is_422(client):
    r = upload(
        client, "/imports/enterprises", csv_text([["企业名称", "所在地区代码"], ["甲", "370600"]])
    )
    assert r.status_code == 422
    assert r.json()["code"] == "missing_columns"
    assert "统一社会信用代码" in r.json()["detail"]


def test_missing_file_is_422(client):
    r = client.post(f"{API}/imports/enterprises")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "file"


# -------------------------------------------------------------------- round trip


def _enterprise_rows(codes: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "uscc": code,
            "name": f"往返测试企业{i}有限公司",
            "former_names": ["旧名甲", "旧名乙"] if i == 0 else [],
            "region_code": "371200",  # historical (莱芜): still accepted
            "size_class": "medium" if i else None,
            "ownership": "private",
            "listing_status": "unlisted",
            "stock_code": None,
            "founded_on": dt.date(2001, 2, 3 + i),
            "address": "=不是公式",
            "note": "第一行\n第二行",
            "figures": {
                "year": 2024,
                "revenue": Decimal("123456789012.3456"),
                "employees": 12,
                "rd_spend": Decimal("0.0001"),
            },
        }
        for i, code in enumerate(codes)
    ]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_import_is_a_no_op(client, db, fmt):
    codes = [uscc(), uscc()]
    spec = get_spec("enterprises")
    seed = xlsx_bytes(spec, _enterprise_rows(codes))
    r = upload(client, "/imports/enterprises", seed, "seed.xlsx", mode="commit")
    assert r.status_code == 200, r.text
    stored = enterprise(db, codes[0])
    assert stored.address == "=不是公式" and stored.former_names == ["旧名甲", "旧名乙"]

    exported = client.get(f"{API}/exports/enterprises", params={"format": fmt, "q": "往返测试"})
    assert exported.status_code == 200
    assert exported.headers["x-row-count"] == "2"
    assert "filename*=UTF-8''" in exported.headers["content-disposition"]
    audits = audit_count(db)
    again = upload(client, "/imports/enterprises", exported.content, f"export.{fmt}", mode="commit")
    assert again.status_code == 200, again.text
    assert again.json()["summary"] == {
        "rows": 2,
        "create": 0,
        "update": 0,
        "unchanged": 2,
        "error": 0,
    }
    assert audit_count(db) == audits
    figures = db.scalar(
        select(EnterpriseFigures).where(EnterpriseFigures.enterprise_id == stored.id)
    )
    assert figures.revenue == Decimal("123456789012.3456")
    assert figures.rd_spend == Decimal("0.0001")


def test_export_filters_by_region(client, db):
    codes = [uscc(), uscc()]
    rows = _enterprise_rows(codes)
    rows[1]["region_code"] = "370100"
    upload(
        client,
        "/imports/enterprises",
        xlsx_bytes(get_spec("enterprises"), rows),
        "x.xlsx",
        mode="commit",
    )
    r = client.get(
        f"{API}/exports/enterprises",
        params={"format": "csv", "region_code": "3701", "q": "往返测试"},
    )
    assert r.status_code == 200
    assert r.headers["x-row-count"] == "1"
    assert codes[1] in r.content.decode("utf-8-sig") and codes[0] not in r.content.decode(
        "utf-8-sig"
    )


def test_csv_template_round_trips_through_the_reader(client, db):
    code = uscc()
    content = csv_bytes(get_spec("enterprises"), _enterprise_rows([code]))
    r = upload(client, "/imports/enterprises", content, mode="commit")
    assert r.status_code == 200, r.text
    assert enterprise(db, code).note == "第一行\n第二行"


# ----------------------------------------------------------------------- permissions


def test_viewer_cannot_import(viewer_client, db):
    before = count(db, Enterprise)
    r = upload(viewer_client, "/imports/enterprises", _enterprise_csv([uscc()]), mode="commit")
    assert r.status_code == 403
    assert r.json()["type"] == "urn:chaintrack:problem:forbidden"
    assert count(db, Enterprise) == before


def test_anonymous_cannot_download_a_template(anon_client):
    assert anon_client.get(f"{API}/templates/enterprises").status_code == 401


def test_a_bad_row_after_written_chunks_rolls_everything_back(client, db, monkeypatch):
    """Through HTTP the file is checked whole before the write lock is taken, so a bad
    row means nothing is even applied; the engine's own roll-back of chunks written
    before a bad row (the command line, one pass) is tested in test_imports_locking."""
    from chaintrack.imports import engine
    from chaintrack.imports.handlers_register import EnterpriseHandler

    monkeypatch.setattr(engine, "CHUNK_ROWS", 2)
    applied: list[int] = []
    apply = EnterpriseHandler.apply

    def counting_apply(self, session, plans):
        applied.append(len(plans))
        return apply(self, session, plans)

    monkeypatch.setattr(EnterpriseHandler, "apply", counting_apply)
    codes = [uscc() for _ in range(7)]
    before = (count(db, Enterprise), count(db, EnterpriseFigures), audit_count(db))
    r = upload(client, "/imports/enterprises", _enterprise_csv(codes, bad_row=6), mode="commit")
    assert r.status_code == 422, r.text
    assert applied == []  # checked in the read pass: nothing was written
    assert [e["row"] for e in r.json()["errors"]] == [8]
    assert (count(db, Enterprise), count(db, EnterpriseFigures), audit_count(db)) == before
    assert all(enterprise(db, code) is None for code in codes)


def test_a_huge_number_in_an_xlsx_cell_is_a_row_error_not_a_crash(client, db):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "企业名称", "所在地区代码", "数据年度", "营业收入（万元）"])
    ws.append([uscc(), "巨大数值测试有限公司", "370600", 2024, 1e300])
    buf = io.BytesIO()
    wb.save(buf)
    r = upload(client, "/imports/enterprises", buf.getvalue(), name="big.xlsx")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"]["error"] == 1
    assert body["errors"][0]["row"] == 2 and body["errors"][0]["field"] == "revenue"
