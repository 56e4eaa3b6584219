"""DriverSelect: compiled SELECTs run on the driver's cursor give what Core gives."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Date, Integer, bindparam, event, func, select, type_coerce
from sqlalchemy.exc import StatementError

from chaintrack.common.driver import DriverSelect, bind_values
from chaintrack.models import ProgressReport, Project, User
from chaintrack.models.base import Money, UTCDateTime
from chaintrack.models.enums import ProjectStatus
from chaintrack.reports.sql import money_sum
from tests.factories import make_chain, make_project, make_report
from tests.problems import assert_problem

DAY = bindparam("day", type_=Date)


def _arranged(db):
    chain = make_chain(db)
    project = make_project(
        db,
        chain,
        total_investment=Decimal("12345.6789"),
        planned_start=dt.date(2025, 3, 1),
        status=ProjectStatus.SIGNED,
    )
    make_report(db, project, "2025-04", investment_month=Decimal("0.0001"))
    make_report(db, project, "2025-05", investment_month=Decimal("100.5"))
    return chain, project


def test_rows_equal_core_execution_with_every_kind_of_value(db, connection):
    """Money (SQLite's scaled integers back to Decimal), dates, enumerations, booleans,
    timestamps and money sums: the same values as ``connection.execute(...).all()``."""
    chain, project = _arranged(db)
    stmt = (
        select(
            Project.id,
            Project.total_investment,
            Project.planned_start,
            Project.status,
            Project.created_at,
            money_sum(ProgressReport.investment_month),
            func.count(ProgressReport.id),
        )
        .join(ProgressReport, ProgressReport.project_id == Project.id)
        .where(Project.chain_id == bindparam("chain", type_=Integer), Project.planned_start <= DAY)
        .group_by(Project.id)
    )
    values = {"chain": chain.id, "day": dt.date(2025, 3, 1)}
    driver = DriverSelect(stmt)
    conn = db.connection()

    rows = driver.rows(conn, bind_values(conn, [driver], values))
    assert [tuple(r) for r in rows] == [tuple(r) for r in conn.execute(stmt, values).all()]
    (pid, total, start, status, created, spent, reports) = rows[0]
    assert (pid, total, start, status, reports) == (
        project.id,
        Decimal("12345.6789"),
        dt.date(2025, 3, 1),
        ProjectStatus.SIGNED,
        2,
    )
    assert spent == Decimal("100.5001") and isinstance(spent, Decimal)
    assert created.tzinfo is not None
    # A second run uses what the first one learnt (result processors): same rows.
    again = driver.rows(conn, bind_values(conn, [driver], values))
    assert [tuple(r) for r in again] == [tuple(r) for r in rows]


def test_parameters_go_through_their_types(db):
    """A money parameter is bound as the column stores it (a scaled integer on SQLite):
    unconverted, 12345.679 would compare as less than the stored 123456789."""
    _arranged(db)  # a project of 12345.6789
    amount = bindparam("amount", type_=Money())
    stmt = select(func.count()).select_from(Project).where(Project.total_investment >= amount)
    driver = DriverSelect(stmt)
    conn = db.connection()

    def count(value: Decimal) -> int:
        return int(driver.rows(conn, bind_values(conn, [driver], {"amount": value}))[0][0])

    assert count(Decimal("12345.6789")) >= 1
    assert count(Decimal("12345.679")) == count(Decimal("99999999")) == 0


def test_one_mapping_serves_every_statement_but_names_must_agree(db):
    conn = db.connection()
    a = DriverSelect(select(type_coerce(5, Integer).label("x")))
    b = DriverSelect(select(type_coerce(6, Integer).label("x")))
    # Both statements name their constant param_1: one mapping cannot serve both.
    with pytest.raises(ValueError, match="different values"):
        bind_values(conn, [a, b], {})
    needs = DriverSelect(select(bindparam("n", type_=Integer)))
    with pytest.raises(ValueError, match="required"):
        bind_values(conn, [needs], {})


def test_a_value_its_type_cannot_bind_is_a_statement_error(db):
    """As SQLAlchemy reports it, so the API answers 422, not 500."""
    conn = db.connection()
    driver = DriverSelect(select(bindparam("at", type_=UTCDateTime())))
    with pytest.raises(StatementError) as caught:
        bind_values(conn, [driver], {"at": dt.datetime(2025, 1, 1)})  # naive: refused
    assert isinstance(caught.value.orig, ValueError)


def test_listeners_see_every_statement(db):
    """Statement counting and SQL echo rely on the cursor events."""
    seen: list[str] = []
    conn = db.connection()

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    driver = DriverSelect(select(User.id).where(User.id == bindparam("user_id", type_=Integer)))
    event.listen(conn, "before_cursor_execute", before)
    try:
        assert driver.rows(conn, {"user_id": -1}) == []
    finally:
        event.remove(conn, "before_cursor_execute", before)
    assert len(seen) == 1 and "FROM users" in seen[0]


def test_a_value_the_driver_cannot_bind_is_wrapped_as_sqlalchemy_wraps_it(db):
    driver = DriverSelect(select(User.id).where(User.id == bindparam("user_id", type_=Integer)))
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        pytest.skip("psycopg binds any integer (as numeric)")
    with pytest.raises(StatementError) as caught:
        driver.rows(conn, {"user_id": 10**30})
    assert isinstance(caught.value.orig, OverflowError)


def test_expanding_parameters_are_refused(db):
    """An IN over a bound list is re-rendered per execution: not for the driver path."""
    stmt = select(Project.id).where(Project.status.in_([ProjectStatus.SIGNED]))
    with pytest.raises(ValueError, match="non-expanding"):
        DriverSelect(stmt).rows(db.connection(), {})


def test_parameters_with_a_value_of_their_own(db):
    """A parameter the statement carries (``type_coerce(5, ...)``) needs no value."""
    stmt = select(type_coerce(5, Integer) + bindparam("n", type_=Integer))
    driver = DriverSelect(stmt)
    conn = db.connection()
    assert driver.rows(conn, bind_values(conn, [driver], {"n": 2}))[0][0] == 7


def test_report_for_an_id_beyond_the_database_range_is_not_a_server_error(client):
    response = client.get(f"/api/v1/reports/chains/{10**30}")
    assert response.status_code in (404, 422), response.text
    assert_problem(response, response.status_code)
