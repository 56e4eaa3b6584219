"""SQL building blocks shared by the report queries: named parameters and aggregates.

The report statements are built once per process with these parameters; a request
passes one mapping of values (:func:`window_values`) and each statement takes the
names it uses.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    bindparam,
    case,
    func,
    type_coerce,
)

from chaintrack.common.sql import SQL_ONE, SQL_ZERO
from chaintrack.models.base import Money, UTCDateTime
from chaintrack.reports.window import Window

ZERO = Decimal("0")

#: A SELECT of any columns. Unparameterised on purpose: ``Select[Any]`` means any
#: columns in SQLAlchemy 2.0 but one column in 2.1 (whose Select is variadic).
AnySelect = Select

CHAIN = bindparam("chain", type_=Integer)
GROUP = bindparam("group", type_=Integer)
DAY = bindparam("day", type_=Date)
PREV_DAY = bindparam("prev_day", type_=Date)
MONTH = bindparam("month", type_=String)  # the month of DAY, YYYY-MM
MONTH_START = bindparam("month_start", type_=Date)  # the first day of DAY's month
PREV_MONTH = bindparam("prev_month", type_=String)
PERIOD = bindparam("period", type_=String)
PREV_PERIOD = bindparam("prev_period", type_=String)
YEAR_START = bindparam("year_start", type_=String)
PREV_YEAR_START = bindparam("prev_year_start", type_=String)
YEAR = bindparam("year", type_=Integer)
CUTOFF = bindparam("cutoff", type_=UTCDateTime())


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def window_values(window: Window) -> dict[str, Any]:
    """Values of the parameters above for ``window`` and the period before it."""
    prev = window.previous()
    return {
        "day": window.day,
        "prev_day": prev.day,
        "month": _month(window.day),
        "month_start": window.day.replace(day=1),
        "prev_month": _month(prev.day),
        "period": window.period,
        "prev_period": prev.period,
        "year_start": window.year_start,
        "prev_year_start": prev.year_start,
        "year": window.year,
        "cutoff": window.cutoff,
    }


def money_sum(expr: Any, when: ColumnElement[bool] | None = None) -> ColumnElement[Decimal]:
    """SUM of a money column (optionally only where ``when``), exact on both engines.

    On SQLite money columns hold scaled integers; typing the aggregate as Money
    turns the integer sum back into a Decimal.
    """
    inner = expr if when is None else case((when, expr), else_=SQL_ZERO)
    return type_coerce(func.coalesce(func.sum(inner), SQL_ZERO), Money())


def count_where(when: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((when, SQL_ONE), else_=SQL_ZERO)), SQL_ZERO)
