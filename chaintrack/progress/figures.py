"""Cumulative investment figures, computed in SQL from the reports on record.

"On record" is either now (the current revisions, ``superseded_at IS NULL``) or as
of a moment T (the revision with ``submitted_at <= T < coalesce(superseded_at, ∞)``).
Sums run in the database; on SQLite ``Money`` columns hold scaled integers, so every
SUM is typed as ``Money()`` (``type_coerce``) and comes back as an exact Decimal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    and_,
    case,
    cast,
    func,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from chaintrack.common.pagination import PageParams, paginate
from chaintrack.history import revision_on_record
from chaintrack.identifiers import Period
from chaintrack.models import ProgressReport, ProjectAnnualPlan
from chaintrack.models.base import Money


def on_record(as_of: dt.datetime | None) -> ColumnElement[bool]:
    """The revisions on record now (``as_of`` None) or at the instant ``as_of``.

    history.revision_on_record takes an exclusive cut-off (the first instant
    after a day); a revision filed at ``as_of`` itself counts, hence the microsecond.
    """
    return revision_on_record(None if as_of is None else as_of + dt.timedelta(microseconds=1))


def _money(expr: Any) -> Any:
    return type_coerce(expr, Money())


def _year_of(period_col: Any) -> Any:
    return func.substr(period_col, 1, 4)


@dataclass(frozen=True)
class MonthFigures:
    cumulative_year: Decimal
    cumulative_total: Decimal
    annual_plan: Decimal | None


def month_figures(
    session: Session, project_id: int, period: str, as_of: dt.datetime | None
) -> MonthFigures:
    """This year's and the all-time cumulative investment up to ``period``: one statement."""
    month = Period.parse(period)
    report = ProgressReport
    in_year = case((report.period >= str(month.january), report.investment_month))
    plan = (
        select(ProjectAnnualPlan.planned_investment)
        .where(ProjectAnnualPlan.project_id == project_id, ProjectAnnualPlan.year == month.year)
        .scalar_subquery()
    )
    stmt = select(
        _money(func.coalesce(func.sum(in_year), 0)).label("cumulative_year"),
        _money(func.coalesce(func.sum(report.investment_month), 0)).label("cumulative_total"),
        _money(plan).label("annual_plan"),
    ).where(report.project_id == project_id, report.period <= period, on_record(as_of))
    row = session.execute(stmt).one()
    return MonthFigures(row.cumulative_year, row.cumulative_total, row.annual_plan)


def reports_with_figures(
    session: Session,
    project_id: int,
    as_of: dt.datetime | None,
    page: PageParams,
    *,
    descending: bool = False,
) -> tuple[int, Sequence[Row[Any]]]:
    """Every report on record with its running sums: two statements whatever the size.

    Window functions run before LIMIT/OFFSET, so a page's figures still count the
    months before the page.
    """
    report = ProgressReport
    year = _year_of(report.period)
    cum_year = func.sum(report.investment_month).over(
        partition_by=year, order_by=report.period, rows=(None, 0)
    )
    cum_total = func.sum(report.investment_month).over(order_by=report.period, rows=(None, 0))
    where = (report.project_id == project_id, on_record(as_of))
    stmt = (
        select(
            report,
            _money(cum_year).label("cumulative_year"),
            _money(cum_total).label("cumulative_total"),
            ProjectAnnualPlan.planned_investment.label("annual_plan"),
        )
        .outerjoin(
            ProjectAnnualPlan,
            and_(
                ProjectAnnualPlan.project_id == report.project_id,
                ProjectAnnualPlan.year == cast(year, Integer),
            ),
        )
        .where(*where)
        .order_by(report.period.desc() if descending else report.period.asc())
    )
    # At most one plan per year joins each report: count the reports alone.
    return paginate(session, stmt, page, count=select(report.id).where(*where))
