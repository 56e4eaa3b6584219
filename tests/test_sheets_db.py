"""Spreadsheets against the database, on both engines: the seeded list types give
working templates, and exact decimals stored in the database survive export → import."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from chaintrack.models import EnterpriseFigures, ListType, ProgressReport
from chaintrack.sheets.specs import ENTERPRISES, PROGRESS, list_entry_spec
from chaintrack.sheets.templates import template_csv, template_xlsx
from chaintrack.sheets.writer import csv_bytes, xlsx_bytes
from tests.factories import make_chain, make_enterprise, make_project, make_report


def test_every_seeded_list_type_gives_a_template_that_reads_back(db):
    types = db.scalars(select(ListType).order_by(ListType.code)).all()
    assert types
    for lt in types:
        spec = list_entry_spec(lt.fields, entry_ref=lt.entry_ref, name_zh=lt.name_zh, code=lt.code)
        for data in (template_xlsx(spec), template_csv(spec)):
            with spec.open(data) as reader:
                assert reader.unknown_headers == [], lt.code
                assert set(reader.columns) == {c.field for c in spec.columns}
                assert list(reader) == []


def _parse(spec, data):
    with spec.open(data) as reader:
        parsed = list(spec.parse_rows(reader))
    assert all(p.ok for p in parsed), [p.errors for p in parsed]
    return [p.values for p in parsed]


def test_money_from_the_database_round_trips_exactly(db):
    amounts = [Decimal("12345678.1234"), Decimal("0.1"), Decimal("0.0001"), Decimal("99.9999")]
    enterprises = []
    for i, amount in enumerate(amounts):
        ent = make_enterprise(db, founded_on=dt.date(2001, 2, 3))
        db.add(
            EnterpriseFigures(
                enterprise_id=ent.id, year=2024, revenue=amount, employees=i, rd_spend=amount / 10
            )
        )
        enterprises.append(ent)
    db.flush()
    db.expire_all()
    rows = []
    for ent in enterprises:
        fig = db.scalars(
            select(EnterpriseFigures).where(EnterpriseFigures.enterprise_id == ent.id)
        ).one()
        rows.append(
            {
                "uscc": ent.uscc,
                "name": ent.name,
                "region_code": ent.region_code,
                "founded_on": ent.founded_on,
                "listing_status": ent.listing_status,
                "figures": {
                    "year": fig.year,
                    "revenue": fig.revenue,  # e.g. Decimal('0.1000') from NUMERIC(20, 4)
                    "employees": fig.employees,
                    "rd_spend": fig.rd_spend,
                },
            }
        )
    assert [r["figures"]["revenue"] for r in rows] == amounts
    for data in (xlsx_bytes(ENTERPRISES, rows), csv_bytes(ENTERPRISES, rows)):
        back = _parse(ENTERPRISES, data)
        for got, want in zip(back, rows, strict=True):
            assert got["figures"] == want["figures"]
            assert got["founded_on"] == want["founded_on"]
            assert got["listing_status"] is want["listing_status"]


def test_progress_from_the_database_round_trips_exactly(db):
    project = make_project(db, make_chain(db))
    make_report(
        db,
        project,
        "2024-10",
        investment_month=Decimal("1234.5678"),
        physical_progress_pct=Decimal("35.50"),
    )
    db.expire_all()
    stored = db.scalars(select(ProgressReport).where(ProgressReport.project_id == project.id)).one()
    row = {
        "internal_code": project.internal_code,
        "period": stored.period,
        "investment_month": stored.investment_month,
        "physical_progress_pct": stored.physical_progress_pct,
    }
    for data in (xlsx_bytes(PROGRESS, [row]), csv_bytes(PROGRESS, [row])):
        (back,) = _parse(PROGRESS, data)
        assert back["period"] == "2024-10"
        assert back["investment_month"] == Decimal("1234.5678")
        assert back["physical_progress_pct"] == Decimal("35.5")
