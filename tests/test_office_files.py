"""Spreadsheets as office suites save them (issue 22): percent cells, codes turned into
numbers, .xls and .ods, dates as text, times on dates, currency and thousands formats,
leading apostrophes and merged cells, read from files LibreOffice Calc wrote
(tests/fixtures/office, see its README) and from files openpyxl writes, through the
reader, the API and the command line."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack import migrate
from chaintrack.cli import build_parser
from chaintrack.db import make_engine
from chaintrack.models import Problem, ProgressReport, Project
from chaintrack.seeding.reference import load_reference
from chaintrack.sheets import cells, styles
from chaintrack.sheets.cells import CellError
from chaintrack.sheets.specs import SPECS, get_spec
from chaintrack.sheets.templates import template_xlsx
from tests.conftest import settings_for_tests
from tests.factories import make_chain, make_project
from tests.test_imports_api import upload

OFFICE = Path(__file__).parent / "fixtures" / "office"
KINDS = ["xlsx", "xls", "ods"]
PROGRESS = get_spec("progress")
ENTERPRISES = get_spec("enterprises")
PROJECT_NAMES = {
    "OF-001": "甲项目",
    "OF-002": "乙项目",
    "2024007": "丙项目",
    "202400000000004": "丁项目",
}
# as in fixtures/office/make_sources.py
DIGIT_USCC = "913702000049936450"
TEXT_USCC = "91370100000000001W"

JUNE_30, JULY_15 = dt.date(2024, 6, 30), dt.date(2024, 7, 15)
#: What every progress.* fixture reads as: (row, code, name, period, investment,
#: progress %, problem, deadline).
EXPECTED = [
    (3, "OF-001", "甲项目", "2024-01", Decimal("1234.5"), Decimal("45"), None, None),
    (4, "OF-001", "甲项目", "2024-02", Decimal("2000"), Decimal("50.5"), None, None),
    (5, "OF-001", "甲项目", "2024-03", Decimal("300"), Decimal("84"), None, None),
    (6, "OF-002", "乙项目", "2024-03", Decimal("10"), Decimal("45"), "缺资金", JUNE_30),
    (7, "2024007", "丙项目", "2024-03", Decimal("12345.67"), Decimal("100"), "用地", JULY_15),
    (8, "202400000000004", "丁项目", "2024-03", Decimal("0"), Decimal("12.5"), None, None),
]  # fmt: skip


def _read(spec: Any, source: Any, **kw: Any) -> list[Any]:
    with spec.open(source, **kw) as reader:
        return [spec.parse_row(raw, date1904=reader.date1904) for raw in reader]


def _progress_tuples(parsed: list[Any]) -> list[tuple[Any, ...]]:
    out = []
    for row in parsed:
        assert row.ok, row.errors
        v = row.values
        problem = v["problem"] or {}
        out.append(
            (
                row.row,
                v["internal_code"],
                v["project_name"],
                v["period"],
                v["investment_month"],
                v["physical_progress_pct"],
                problem.get("description"),
                problem.get("deadline"),
            )
        )
    return out


# ------------------------------------------------------------------ LibreOffice files


@pytest.mark.parametrize("kind", KINDS)
def test_libreoffice_progress_reads_as_the_clerk_typed_it(kind):
    """45 % typed in a percent cell is 45 (not 0.45), a plain 84 stays 84, "45%" typed
    as text is 45; the project merged over three months names each of them; currency and
    thousands formats, a month as a date cell, a date as text, a deadline with a time of
    day, a code with a leading apostrophe and a 15-digit code stored as a number."""
    assert _progress_tuples(_read(PROGRESS, OFFICE / f"progress.{kind}")) == EXPECTED


@pytest.mark.parametrize("kind", KINDS)
def test_libreoffice_credit_code_stored_as_a_number_is_refused(kind):
    rows = _read(ENTERPRISES, OFFICE / f"codes.{kind}")
    assert [r.row for r in rows] == [2, 3, 4]
    text, number, apostrophe = rows
    assert text.ok and text.values["uscc"] == TEXT_USCC
    assert text.values["region_code"] == "370100"  # a number that kept its digits
    [error] = number.errors
    assert error.field == "uscc" and error.code == "lost_digits"
    assert "以数字形式保存" in error.message and "文本" in error.message
    assert "check" not in error.message.lower()
    assert apostrophe.ok and apostrophe.values["uscc"] == DIGIT_USCC
    assert apostrophe.values["region_code"] == "370200"


def test_ods_merge_at_the_end_of_the_sheet():
    rows = _read(PROGRESS, OFFICE / "repeated.ods")
    assert [
        (r.row, r.values["internal_code"], r.values["physical_progress_pct"]) for r in rows
    ] == [
        (2, "OF-009", Decimal("30")),
        (3, "OF-009", Decimal("30")),
        (4, "OF-009", Decimal("30")),
        (5, "OF-010", Decimal("60")),
        (6, "OF-010", Decimal("70")),
    ]


def _rewrite(path: Path, member: str, change: Any) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == member:
                data = change(data)
            dst.writestr(info, data)
    return out.getvalue()


def test_ods_repeated_rows_keep_their_percent_format():
    """Identical rows are stored once with table:number-rows-repeated."""

    def collapse(xml: bytes) -> bytes:
        rows = re.findall(rb"<table:table-row[^>]*>.*?</table:table-row>", xml, re.S)
        assert rows[1] == rows[2] == rows[3]  # the three identical OF-009 rows
        repeated = rows[1].replace(
            b"<table:table-row ", b'<table:table-row table:number-rows-repeated="3" ', 1
        )
        return xml.replace(rows[1] * 3, repeated, 1)

    content = _rewrite(OFFICE / "repeated.ods", "content.xml", collapse)
    rows = _read(PROGRESS, content)
    assert [(r.row, r.values["physical_progress_pct"]) for r in rows] == [
        (2, Decimal("30")),
        (3, Decimal("30")),
        (4, Decimal("30")),
        (5, Decimal("60")),
        (6, Decimal("70")),
    ]


def test_xlsx_percent_cells_without_cell_references():
    """``r`` is optional on a cell: the sheet is then parsed as XML, with the same result."""

    def strip(xml: bytes) -> bytes:
        return re.sub(rb'(<c) r="[A-Z]+\d+"', rb"\1", xml)

    content = _rewrite(OFFICE / "progress.xlsx", "xl/worksheets/sheet1.xml", strip)
    assert b' r="E3"' not in content
    assert _progress_tuples(_read(PROGRESS, content)) == EXPECTED


def test_xls_without_percent_cells_does_not_load_the_sheet_twice(monkeypatch):
    import xlrd.book

    def refuse(*args: Any, **kw: Any) -> Any:
        raise AssertionError("the sheet was loaded by xlrd")

    monkeypatch.setattr(xlrd.book.Book, "sheet_by_name", refuse)
    # codes.xls has only the "Percent" cell style, no percent cell format
    with open(OFFICE / "codes.xls", "rb") as fh:
        assert styles.xls_percent_cells(fh, "企业", {0, 1, 2}) == []
    with open(OFFICE / "progress.xls", "rb") as fh, pytest.raises(ValueError, match="xlrd"):
        styles.xls_percent_cells(fh, "月度调度", {4})


# ------------------------------------------------------------------ openpyxl files


def _openpyxl_progress(cells_e: list[tuple[Any, str | None]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["项目编号", "调度月份", "本月完成投资（万元）", "形象进度（%）"])
    for i, (value, fmt) in enumerate(cells_e, start=2):
        ws.append([f"OP-{i:03d}", "2024-03", 1, value])
        if fmt is not None:
            ws.cell(i, 4).number_format = fmt
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_openpyxl_percent_formats():
    content = _openpyxl_progress(
        [
            (0.45, "0%"),  # built-in format 9
            (0.125, "0.00%"),  # built-in 10
            (0.333, "0.0%;[Red]-0.0%"),  # a custom percent format
            (45, '0"%"'),  # a quoted % is text shown after 45, not a percent format
            (84, "#,##0.00"),
            (84, None),
            ("45%", None),
            (0.5, "[$-804]0%"),
        ]
    )
    rows = _read(PROGRESS, content)
    assert [r.values["physical_progress_pct"] for r in rows] == [
        Decimal("45"),
        Decimal("12.5"),
        Decimal("33.3"),
        Decimal("45"),
        Decimal("84"),
        Decimal("84"),
        Decimal("45"),
        Decimal("50"),
    ]


def test_percent_format_only_changes_percentage_columns():
    """A percent-formatted cell in a money column is its value: only percentage columns
    read formats."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["项目编号", "调度月份", "本月完成投资（万元）"])
    ws.append(["OP-1", "2024-03", 0.5])
    ws["C2"].number_format = "0%"
    buf = io.BytesIO()
    wb.save(buf)
    [row] = _read(PROGRESS, buf.getvalue())
    assert row.values["investment_month"] == Decimal("0.5")


def test_openpyxl_merged_cells_inside_the_data():
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["月度调度"])
    ws.merge_cells("A1:D1")
    ws.append(["项目编号", "项目名称", "调度月份", "本月完成投资（万元）"])
    ws.append(["OM-1", "合并项目", "2024-01", 1])
    ws.append([None, None, "2024-02", 2])
    ws.append([None, None, "2024-03", 3])
    ws.append(["OM-2", None, "2024-03", 4])  # after the merge: its own (blank) name
    ws.merge_cells("A3:A5")
    ws.merge_cells("B3:B5")
    buf = io.BytesIO()
    wb.save(buf)
    rows = _read(PROGRESS, buf.getvalue())
    assert [(r.values["internal_code"], r.values["project_name"]) for r in rows] == [
        ("OM-1", "合并项目"),
        ("OM-1", "合并项目"),
        ("OM-1", "合并项目"),
        ("OM-2", None),
    ]


def test_openpyxl_codes_stored_as_numbers():
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["统一社会信用代码", "企业名称", "所在地区代码"])
    ws.append([int(DIGIT_USCC), "数字代码", 370100])
    ws.append([DIGIT_USCC, "文本代码", 370100.0])
    buf = io.BytesIO()
    wb.save(buf)
    number, text = _read(ENTERPRISES, buf.getvalue())
    assert [e.code for e in number.errors] == ["lost_digits"]
    assert text.ok and text.values["uscc"] == DIGIT_USCC and text.values["region_code"] == "370100"


@pytest.mark.parametrize(
    ("code", "percent"),
    [
        ("0%", True),
        ("0.00%", True),
        ("#,##0.0%;[Red]-#,##0.0%", True),
        ('0"%"', False),
        ("0\\%", False),
        ("[$%-804]0.00", False),
        ("General", False),
        ("#,##0.00", False),
    ],
)
def test_is_percent_format(code, percent):
    assert styles.is_percent_format(code) is percent


@pytest.mark.parametrize(
    "value",
    [913702000049936450, 9.13702000049937e17, 1234567890123456, 1e15, 1234567890.1234567],
)
def test_numbers_that_lost_digits_are_refused_in_code_columns(value):
    for parse in (cells.parse_uscc, cells.parse_internal_code, cells.parse_code):
        with pytest.raises(CellError) as exc:
            parse(value)
        assert exc.value.code == "lost_digits"


@pytest.mark.parametrize(
    ("value", "code"),
    [(202400000000004.0, "202400000000004"), (123456789012345, "123456789012345"), (12.0, "12")],
)
def test_numbers_that_kept_every_digit_are_the_code(value, code):
    assert cells.parse_internal_code(value) == code
    assert cells.parse_code(value) == code


def test_templates_format_every_code_column_as_text():
    """So that an all-digit code typed into a template is text from the start."""
    checked = 0
    for spec in SPECS.values():
        ws = openpyxl.load_workbook(io.BytesIO(template_xlsx(spec))).worksheets[0]
        for i, col in enumerate(spec.template_columns, start=1):
            if col.rules.code:
                assert ws.column_dimensions[get_column_letter(i)].number_format == "@", (
                    spec.name,
                    col.field,
                )
                checked += 1
    assert checked >= 8


# ------------------------------------------------------------------ API and CLI


def _projects(db: Session) -> dict[str, Project]:
    chain = make_chain(db)
    return {
        code: make_project(db, chain, internal_code=code, name=name)
        for code, name in PROJECT_NAMES.items()
    }


def _stored(db: Session, projects: dict[str, Project]) -> list[tuple[Any, ...]]:
    by_id = {p.id: code for code, p in projects.items()}
    reports = db.scalars(
        select(ProgressReport).where(ProgressReport.project_id.in_(list(by_id)))
    ).all()
    problems = {
        (p.project_id, p.period): p.deadline
        for p in db.scalars(select(Problem).where(Problem.project_id.in_(list(by_id))))
    }
    return sorted(
        (
            by_id[r.project_id],
            r.period,
            r.investment_month,
            r.physical_progress_pct,
            problems.get((r.project_id, r.period)),
        )
        for r in reports
    )


STORED = sorted(
    (code, period, investment, pct, deadline)
    for _, code, _, period, investment, pct, _, deadline in EXPECTED
)


@pytest.mark.parametrize("kind", KINDS)
def test_progress_files_through_the_api(client, db, kind):
    projects = _projects(db)
    content = (OFFICE / f"progress.{kind}").read_bytes()
    r = upload(client, "/imports/progress", content, name=f"调度.{kind}", mode="commit")
    assert r.status_code == 200, r.text
    assert r.json()["summary"]["create"] == 6
    assert _stored(db, projects) == STORED


@pytest.mark.parametrize("kind", KINDS)
def test_code_stored_as_a_number_through_the_api(client, kind):
    content = (OFFICE / f"codes.{kind}").read_bytes()
    r = upload(client, "/imports/enterprises", content, name=f"企业.{kind}")
    assert r.status_code == 200, r.text
    [error] = r.json()["errors"]
    assert error["row"] == 3 and error["field"] == "uscc"
    assert "以数字形式保存" in error["message"]


def run(settings: Any, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return int(args.func(args, settings))


def test_office_files_through_the_command_line(scratch_database_url, capsys):
    """The .xlsx commits; the .xls and .ods of the same sheet then change nothing."""
    settings = settings_for_tests(scratch_database_url)
    engine = make_engine(scratch_database_url)
    try:
        migrate.upgrade(engine)
        with Session(engine) as s:
            load_reference(s)
            projects = _projects(s)
            s.commit()
        xlsx = str(OFFICE / "progress.xlsx")
        assert run(settings, "import", "progress", xlsx, "--commit") == 0
        assert "create 6" in capsys.readouterr().out
        for kind in ("xls", "ods"):
            assert run(settings, "import", "progress", str(OFFICE / f"progress.{kind}")) == 0
            assert "unchanged 6" in capsys.readouterr().out, kind
        with Session(engine) as s:
            assert _stored(s, {code: s.merge(p) for code, p in projects.items()}) == STORED
        for kind in KINDS:
            assert run(settings, "import", "enterprises", str(OFFICE / f"codes.{kind}")) == 1
            out = capsys.readouterr().out
            assert "row 3" in out and "以数字形式保存" in out, kind
    finally:
        engine.dispose()
