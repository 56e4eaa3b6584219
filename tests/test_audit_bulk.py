"""Create records of bulk inserts (imports/bulk.insert_rows) hold exactly what the session
listeners record for the same row: every bulk-inserted table (those of create_or_update
too), every column type, awkward values included."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from chaintrack.audit import capture
from chaintrack.imports.bulk import insert_rows
from chaintrack.models import (
    AuditRecord,
    ChainList,
    Enterprise,
    EnterpriseFigures,
    ListEntry,
    Membership,
    Problem,
    ProgressReport,
    Project,
    ProjectAnnualPlan,
    ProjectStatusChange,
)
from chaintrack.models.enums import (
    ListingStatus,
    MembershipRole,
    Ownership,
    ProblemStatus,
    ProjectLevel,
    ProjectNature,
    ProjectStatus,
    ProjectType,
    SizeClass,
)
from tests.factories import (
    fake_uscc,
    make_chain,
    make_enterprise,
    make_list_type,
    make_node,
    make_project,
)

AWKWARD = "“引号”'单引号' \"double\" back\\slash\nnew line\ttab \x01 😀 end"
UTC = dt.UTC


def _cases(db) -> list[tuple[Any, dict[str, Any], list[str]]]:
    """(model, column values, columns that must differ between the two rows)."""
    chain = make_chain(db)
    enterprise = make_enterprise(db)
    node = make_node(db, chain)
    project = make_project(db, chain, owner_enterprise_id=enterprise.id)
    chain_list = ChainList(chain_id=chain.id, list_type_id=make_list_type(db).id, period="2025")
    db.add(chain_list)
    db.flush()
    return [
        (
            Enterprise,
            {
                "uscc": fake_uscc(),
                "name": AWKWARD,
                "former_names": ["旧名一", 'with "quote"'],
                "region_code": "371202",
                "size_class": SizeClass.SMALL,
                "ownership": Ownership.PRIVATE,
                "listing_status": ListingStatus.UNLISTED,
                "stock_code": None,
                "founded_on": dt.date(1999, 12, 31),
                "address": "山东省济南市",
                "note": "",
            },
            ["uscc"],
        ),
        (
            Enterprise,
            {
                "uscc": fake_uscc(),
                "name": "空曾用名",
                "former_names": [],
                "region_code": "370100",
                "listing_status": ListingStatus.MAIN_BOARD,
            },
            ["uscc"],
        ),
        (
            EnterpriseFigures,
            {
                "enterprise_id": enterprise.id,
                "year": 2023,
                "revenue": Decimal("1250.5000"),
                "employees": 0,
                "rd_spend": Decimal("100"),
            },
            ["year"],
        ),
        (
            EnterpriseFigures,
            {
                "enterprise_id": enterprise.id,
                "year": 2024,
                "revenue": Decimal("999999999999.9999"),
                "employees": None,
                "rd_spend": Decimal("0.0001"),
            },
            ["year"],
        ),
        (
            EnterpriseFigures,
            {
                "enterprise_id": enterprise.id,
                "year": 2022,
                "revenue": Decimal("0"),
                "rd_spend": Decimal("12.3400"),
            },
            ["year"],
        ),
        (
            Membership,
            {
                "enterprise_id": enterprise.id,
                "chain_id": chain.id,
                "node_id": node.id,
                "role": MembershipRole.LEADING,
                "started_on": dt.date(2024, 1, 1),
                "ended_on": dt.date(2025, 6, 30),
                "end_reason": AWKWARD,
                "note": None,
            },
            ["role"],
        ),
        (
            Project,
            {
                "chain_id": chain.id,
                "internal_code": "SQL-AUDIT-1",
                "national_code": "2104-370600-04-01-A1B2C3",
                "name": AWKWARD,
                "type": ProjectType.EXTEND,
                "owner_enterprise_id": enterprise.id,
                "region_code": "370600",
                "location": "烟台",
                "development_zone": None,
                "nature": ProjectNature.EXPANSION,
                "level": ProjectLevel.CITY,
                "goals": "目标",
                "content": "内容",
                "responsible_leader": "王某",
                "responsible_unit": "单位",
                "contact": "0535-1234567",
                "planned_start": dt.date(2025, 1, 1),
                "planned_completion": dt.date(2027, 12, 31),
                "actual_start": None,
                "actual_completion": None,
                "total_investment": Decimal("120000.0100"),
                "status": ProjectStatus.SIGNED,
            },
            ["internal_code", "national_code"],
        ),
        (
            ProjectStatusChange,
            {
                "project_id": project.id,
                "from_status": None,
                "to_status": ProjectStatus.SIGNED,
                "changed_on": dt.date(2025, 2, 1),
                "reason": "签约",
                "recorded_at": dt.datetime(2025, 2, 1, 8, 0, 0, tzinfo=UTC),
                "recorded_by": None,
            },
            [],
        ),
        (
            ProgressReport,
            {
                "project_id": project.id,
                "period": "2025-03",
                "revision": 1,
                "investment_month": Decimal("800.5000"),
                "physical_progress_pct": Decimal("45.50"),
                "physical_progress": AWKWARD,
                "next_steps": None,
                "correction_reason": None,
                "submitted_at": dt.datetime(2025, 4, 8, 1, 2, 3, 4005, tzinfo=UTC),
                "submitted_by": None,
                "superseded_at": dt.datetime(2025, 5, 1, tzinfo=UTC),
            },
            ["revision"],
        ),
        (
            Problem,
            {
                "project_id": project.id,
                "report_id": None,
                "period": "2025-03",
                "description": AWKWARD,
                "responsible_unit": "单位",
                "responsible_person": None,
                "deadline": dt.date(2025, 4, 30),
                "status": ProblemStatus.OPEN,
                "resolution": None,
                "resolved_on": None,
                # the problem loop's columns (issue 17)
                "subject": "project",
                "chain_id": project.chain_id,
                "enterprise_id": None,
                "category": "other",
                "raised_by": None,
                "raised_at": dt.datetime(2025, 3, 5, 1, 2, 3, tzinfo=UTC),
                "level": "county",
                "state": "pending",
                "satisfaction": None,
                "return_reason": None,
            },
            [],
        ),
        (
            ProjectAnnualPlan,  # keyed by (project_id, year)
            {"project_id": project.id, "year": 2026, "planned_investment": Decimal("5000.50")},
            ["year"],
        ),
        (
            ListEntry,
            {
                "list_id": chain_list.id,
                "chain_id": chain.id,
                "position": 3,
                "title": AWKWARD,
                "enterprise_id": enterprise.id,
                "project_id": project.id,
                "node_id": None,
                "attributes": {"budget": "12.5", "tags": ["a", "b"], "nested": {"x": 1}},
                "note": None,
            },
            ["position"],
        ),
    ]


def _record(db, entity: str, entity_id: int | str) -> AuditRecord:
    record = db.scalar(
        select(AuditRecord).where(
            AuditRecord.entity == entity, AuditRecord.entity_id == str(entity_id)
        )
    )
    assert record is not None
    return record


def test_bulk_create_records_equal_the_listeners_records(db):
    capture.enable(db, request_id="bulk-audit-test")
    for model, values, unique in _cases(db):
        # The same row twice: through the ORM (the listeners record it) and in bulk.
        orm_values = {**values, **{c: _other(c, values[c]) for c in unique}}
        obj = model(**orm_values)
        db.add(obj)
        db.flush()
        capture.write_pending(db, capture.context(db))
        row = dict(values)
        insert_rows(db, model, [row])
        table = model.__table__
        pk = [c.name for c in table.primary_key.columns]
        by_listener = _record(db, table.name, "/".join(str(getattr(obj, c)) for c in pk))
        by_bulk = _record(db, table.name, "/".join(str(row[c]) for c in pk))
        listened, built = dict(by_listener.changes), dict(by_bulk.changes)
        if pk == ["id"]:
            assert listened.pop("id") == {"before": None, "after": obj.id}
            assert built.pop("id") == {"before": None, "after": row["id"]}
        for column in unique:
            assert listened.pop(column)["after"] != built.pop(column)["after"]
        assert built == listened, table.name
        assert (by_bulk.action, by_bulk.chain_id, by_bulk.request_id) == (
            by_listener.action,
            by_listener.chain_id,
            by_listener.request_id,
        ), table.name
        # And what the rendering promises, spelt out.
        expected = {
            c: {"before": None, "after": capture.jsonable(v)}
            for c, v in values.items()
            if v is not None and c not in unique
        }
        if "version" in table.c:
            expected["version"] = {"before": None, "after": 1}
        assert built == expected, table.name


def _other(column: str, value: Any) -> Any:
    """Another value for a column the two rows may not share."""
    if column == "uscc":
        return fake_uscc()
    if isinstance(value, MembershipRole):
        return MembershipRole.SUPPORTING
    if isinstance(value, str):
        return value[:-1] + "9"
    if column == "year":
        return value - 10
    if isinstance(value, int):
        return value + 1
    raise AssertionError(value)


def test_decimals_are_rendered_as_the_listeners_render_them(db):
    """Trailing zeros of the storage scale dropped, never an exponent, signs kept."""
    capture.enable(db, request_id="decimals")
    enterprise = make_enterprise(db)
    samples = ["0", "100", "1000000", "0.5", "0.0001", "12.3400", "7.0010", "999999999999.9999"]
    rows = [
        {"enterprise_id": enterprise.id, "year": 2000 + i, "revenue": Decimal(v)}
        for i, v in enumerate(samples)
    ]
    ids = insert_rows(db, EnterpriseFigures, rows)
    shown = [_record(db, "enterprise_figures", i).changes["revenue"]["after"] for i in ids]
    assert shown == [capture.decimal_text(Decimal(v)) for v in samples]
    assert shown == ["0", "100", "1000000", "0.5", "0.0001", "12.34", "7.001", "999999999999.9999"]


@pytest.mark.parametrize("micro", [0, 1, 999999])
def test_timestamps_are_rendered_as_isoformat(db, micro):
    capture.enable(db, request_id="stamps")
    project = make_project(db, make_chain(db))
    stamp = dt.datetime(2025, 1, 2, 3, 4, 5, micro, tzinfo=UTC)
    (sid,) = insert_rows(
        db,
        ProjectStatusChange,
        [
            {
                "project_id": project.id,
                "to_status": ProjectStatus.SIGNED,
                "changed_on": dt.date(2025, 1, 2),
                "recorded_at": stamp,
            }
        ],
    )
    record = _record(db, "project_status_changes", sid)
    assert record.changes["recorded_at"]["after"] == stamp.isoformat()
    assert record.chain_id == project.chain_id
