"""The loop's figures as SQL: which problems count as open, closed, rated and satisfied
on a day, and the days each took to close. Shared by ``service.loop_figures`` (the
``/problem-figures`` endpoint), the chain report's summary row and the dashboard's
problem query, so the three read one definition.

Every function takes the day (and the first day of its month) as a date or a bound
parameter, so the reports' statements are built once with their named parameters.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from chaintrack.common.numbers import percent
from chaintrack.common.sql import SQL_ONE, SQL_ZERO, const, consts
from chaintrack.models import Problem
from chaintrack.models.enums import ProblemState, Satisfaction

Day = dt.date | ColumnElement[dt.date]

CLOSED_STATES = (ProblemState.HANDLED, ProblemState.RATED)
GOOD = (Satisfaction.SATISFIED, Satisfaction.FAIRLY)
TENTHS = Decimal("0.1")


class days_to_close(FunctionElement[int]):
    """Whole days from the office day a problem was raised to the day it was closed."""

    type = Integer()
    inherit_cache = True
    name = "days_to_close"


@compiles(days_to_close, "sqlite")
def _days_sqlite(element: days_to_close, compiler: SQLCompiler, **kw: Any) -> str:
    # Asia/Shanghai has no daylight saving: its day starts at 16:00 UTC the day before.
    return (
        f"CAST(julianday({compiler.process(Problem.__table__.c.resolved_on, **kw)}) - "
        f"julianday(date({compiler.process(Problem.__table__.c.raised_at, **kw)}, "
        "'+8 hours')) AS INTEGER)"
    )


@compiles(days_to_close)
def _days_postgresql(element: days_to_close, compiler: SQLCompiler, **kw: Any) -> str:
    resolved = compiler.process(Problem.__table__.c.resolved_on, **kw)
    raised = compiler.process(Problem.__table__.c.raised_at, **kw)
    return f"({resolved} - CAST(timezone('Asia/Shanghai', {raised}) AS DATE))"


def closed_by(day: Day) -> ColumnElement[bool]:
    """Handled (办结, then perhaps rated) on or before ``day``; 退回 is not a closing."""
    return and_(
        Problem.resolved_on.is_not(None),
        Problem.resolved_on <= day,
        Problem.state.in_(consts(CLOSED_STATES)),
    )


def rated() -> ColumnElement[bool]:
    return Problem.state == const(ProblemState.RATED)


def satisfied() -> ColumnElement[bool]:
    return and_(rated(), Problem.satisfaction.in_(consts(GOOD)))


def _count(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((cond, SQL_ONE), else_=SQL_ZERO)), SQL_ZERO)


def closing_columns(day: Day, month_start: Day) -> list[ColumnElement[Any]]:
    """closed this month, closed by the day, their days to close (summed), rated, satisfied.

    Read by :func:`closing_figures`; the caller adds its own WHERE (the problems raised
    by the day) and grouping.
    """
    closed = closed_by(day)
    return [
        _count(and_(closed, Problem.resolved_on >= month_start)),
        _count(closed),
        func.coalesce(func.sum(case((closed, days_to_close()), else_=SQL_ZERO)), SQL_ZERO),
        _count(rated()),
        _count(satisfied()),
    ]


CLOSING_ZEROS = (0, 0, 0, 0, 0)


def closing_figures(values: tuple[Any, ...] | list[Any]) -> dict[str, Any]:
    """The figures shown from :func:`closing_columns`'s values (summed over chains for a
    total): closed this month, average days to close (one decimal), satisfaction in %."""
    this_month, closed, days, rated_, good = (int(v or 0) for v in values)
    return {
        "closed_this_month": this_month,
        "average_days_to_close": (
            (Decimal(days) / closed).quantize(TENTHS, rounding=ROUND_HALF_UP) if closed else None
        ),
        "satisfaction_pct": percent(Decimal(good), Decimal(rated_)),
    }
