"""The province dashboard: one row per chain, each group of figures one grouped query
(dashboard_queries.py), then sorted, with a totals row.

Assembled as plain data and validated into ``schemas.Dashboard`` once, as the chain
report is (chain_report.py)."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from chaintrack.common.numbers import percent
from chaintrack.common.pagination import sort_pattern
from chaintrack.errors import ValidationProblem
from chaintrack.problems.figures_sql import CLOSING_ZEROS, closing_figures
from chaintrack.reports import schemas as s
from chaintrack.reports.dashboard_queries import chains_statement, figure_statements
from chaintrack.reports.sql import ZERO, window_values
from chaintrack.reports.window import Window

SORT_KEYS = tuple(s.DashboardRow.model_fields)
MONEY_FIELDS = (
    "total_planned",
    "year_plan",
    "completed_month",
    "completed_year",
    "completed_since_start",
)

#: Figures of a chain that has no row in a grouped query.
NO_ROW: dict[str, tuple[Any, ...]] = {
    "members": (0, 0),
    "nodes": (0, 0, 0, 0),
    "addressed": (0,),
    "projects": (0, 0, ZERO, 0, 0),
    "plans": (ZERO,),
    "investment": (ZERO, ZERO, ZERO),
    "problems": (0, 0, *CLOSING_ZEROS),
}

Figures = dict[str, dict[int, tuple[Any, ...]]]


def build_dashboard(
    session: Session,
    window: Window,
    generated_at: dt.datetime,
    sort: str | None = None,
    group_id: int | None = None,
) -> s.Dashboard:
    conn = session.connection()
    params = {**window_values(window), "group": group_id}
    chains = conn.execute(chains_statement(group_id is not None), params).all()
    figures = {
        name: _by_chain(conn, stmt, params)
        for name, stmt in figure_statements(window.cutoff is not None).items()
    }
    rows = _sorted([_row(chain, figures) for chain in chains], sort)
    meta = dict(
        period=window.period, state_date=window.day, as_of=window.cutoff, generated_at=generated_at
    )
    return s.Dashboard.model_validate(dict(meta=meta, rows=rows, totals=_totals(rows)))


def _by_chain(conn: Connection, stmt: Any, params: dict[str, Any]) -> dict[int, tuple[Any, ...]]:
    return {row[0]: tuple(row[1:]) for row in conn.execute(stmt, params)}


def _row(chain: Sequence[Any], figures: Figures) -> dict[str, Any]:
    cid, code, name, group_name = chain

    def of(name: str) -> tuple[Any, ...]:
        return figures[name].get(cid, NO_ROW[name])

    m, n, p, inv, prob = (
        of("members"),
        of("nodes"),
        of("projects"),
        of("investment"),
        of("problems"),
    )
    plan = of("plans")[0]
    return dict(
        chain_id=cid,
        code=code,
        name_zh=name,
        group_name_zh=group_name,
        enterprises=m[0],
        chain_masters=m[1],
        nodes_total=n[0],
        strong=n[1],
        weak=n[2],
        missing=n[3],
        gaps_addressed=of("addressed")[0],
        projects=p[0],
        projects_under_construction=p[1],
        total_planned=p[2],
        year_plan=plan,
        completed_month=inv[0],
        completed_year=inv[1],
        completed_since_start=inv[2],
        year_completion_pct=percent(inv[1], plan),
        behind_schedule=p[3],
        not_reported=p[4],
        open_problems=prob[0],
        overdue_problems=prob[1],
        **closing_figures(prob[2:]),
        # summed into the totals' average and rate (not fields of the row)
        _closing=prob[2:],
    )


def _sorted(rows: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    if not sort:
        return rows
    key = sort.lstrip("-+")
    if re.fullmatch(sort_pattern(SORT_KEYS, multiple=False), sort) is None:
        raise ValidationProblem.for_field(
            "sort",
            f"unknown sort key '{key}'; use one of {', '.join(SORT_KEYS)}",
            location="query",
        )
    present = [r for r in rows if r[key] is not None]
    missing = [r for r in rows if r[key] is None]
    present.sort(key=lambda r: r[key], reverse=sort.startswith("-"))
    return present + missing


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    sums: dict[str, Any] = defaultdict(int)
    for row in rows:
        for name, value in row.items():
            if isinstance(value, (int, Decimal)) and name != "chain_id":
                sums[name] += value
    fields: dict[str, Any] = {
        name: sums[name]
        for name, f in s.DashboardRow.model_fields.items()
        if f.annotation in (int, Decimal)
    }
    fields.update(chain_id=0, code="TOTAL", name_zh="合计", group_name_zh=None)
    for key in MONEY_FIELDS:
        fields[key] = Decimal(sums[key]) if sums[key] else ZERO
    fields["year_completion_pct"] = percent(fields["completed_year"], fields["year_plan"])
    closing = [sum(col) for col in zip(*(r["_closing"] for r in rows), strict=True)]
    fields.update(closing_figures(closing or CLOSING_ZEROS))
    return fields
