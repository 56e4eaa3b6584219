"""工作台 (each user's home) and 全省总览 (the province dashboard)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.chains.service import list_groups
from chaintrack.common.deps import SessionDep, run_read
from chaintrack.common.pagination import PageParams
from chaintrack.dispatch.service import chase_list, list_rounds
from chaintrack.errors import ValidationProblem
from chaintrack.identifiers import IdentifierError
from chaintrack.models.enums import ProjectType, UserRole
from chaintrack.progress.summary import investment_by_type_and_month
from chaintrack.reports.dashboard import SORT_KEYS, build_dashboard
from chaintrack.reports.dashboard_queries import todo_statements
from chaintrack.reports.sql import window_values
from chaintrack.reports.window import Window
from chaintrack.web import charts
from chaintrack.web.core import render

router = APIRouter(include_in_schema=False)

COLUMNS = (
    ("enterprises", "链上企业"),
    ("chain_masters", "链主"),
    ("nodes_total", "图谱节点"),
    ("missing", "缺链节点"),
    ("projects", "项目"),
    ("projects_under_construction", "在建"),
    ("total_planned", "计划总投资"),
    ("completed_month", "本月完成"),
    ("completed_year", "本年完成"),
    ("year_completion_pct", "年度完成率"),
    ("behind_schedule", "进度滞后"),
    ("not_reported", "未报送"),
    ("open_problems", "未解决问题"),
    ("closed_this_month", "本月办结问题"),
    ("average_days_to_close", "平均办结天数"),
    ("satisfaction_pct", "问题满意率"),
)
MONEY = {"total_planned", "completed_month", "completed_year"}


def window_of(period: str | None, as_of: str | None) -> Window:
    """The report window from the page's pickers (422 page for bad values)."""
    day = None
    if as_of:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            raise ValidationProblem.for_field(
                "as_of", "日期格式为 YYYY-MM-DD / a date", location="query"
            ) from None
    try:
        return Window.build(period or None, day)
    except IdentifierError as err:
        raise ValidationProblem.for_field("period", err.message, location="query") from None


TODO_SHOWN = 20


def _todo_lists(session: Session, window: Window, chain_ids: list[int]) -> dict[str, Any]:
    """The projects behind the counts (the dashboard's own conditions), at most
    TODO_SHOWN of each with the total: one statement each, whatever the data size."""
    params = {**window_values(window), "chain_ids": chain_ids, "limit": TODO_SHOWN}
    conn = session.connection()
    out: dict[str, Any] = {}
    for name, stmt in todo_statements(window.cutoff is not None).__dict__.items():
        rows = conn.execute(stmt, params).all()
        out[name] = {"rows": rows, "total": rows[0].total if rows else 0}
    return out


def _returned(session: Session, window: Window, chain_ids: set[int]) -> list[dict[str, Any]]:
    """Reports returned by the reviewers in this month's dispatch round(s), not yet
    submitted again (the round's chase list decides)."""
    out: list[dict[str, Any]] = []
    for rnd in list_rounds(session, None):
        if rnd.period != window.period:
            continue
        out.extend(
            row
            for row in chase_list(session, rnd, None)
            if row["reason"] == "returned" and row["chain_id"] in chain_ids
        )
    return out[:TODO_SHOWN]


@router.get("/")
def home(request: Request, principal: CurrentPrincipal, session: SessionDep) -> Response:
    window = window_of(None, None)
    board = build_dashboard(session, window, dt.datetime.now(dt.UTC))
    if principal.role is UserRole.EDITOR:
        mine = principal.editable_chains(session)
        rows = [r for r in board.rows if r.chain_id in mine]
    else:
        rows = board.rows
    todo = {
        "not_reported": sum(r.not_reported for r in rows),
        "overdue_problems": sum(r.overdue_problems for r in rows),
        "behind_schedule": sum(r.behind_schedule for r in rows),
    }
    chain_ids = [r.chain_id for r in rows]
    return render(
        request,
        "home.html",
        {
            "rows": rows,
            "todo": todo,
            "lists": _todo_lists(session, window, chain_ids),
            "returned": _returned(session, window, set(chain_ids)),
            "chain_names": {r.chain_id: r.name_zh for r in rows},
            "shown": TODO_SHOWN,
            "window": window,
            "mine_only": principal.role is UserRole.EDITOR,
        },
        section="home",
    )


@router.get("/overview")
async def overview(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    period: str | None = None,
    as_of: str | None = None,
    sort: str | None = None,
    group_id: int | None = None,
) -> Response:
    window = window_of(period, as_of)
    if sort and sort.lstrip("-") not in SORT_KEYS:
        raise ValidationProblem.for_field("sort", "未知的排序字段", location="query")

    def work() -> Response:
        board = build_dashboard(
            session, window, dt.datetime.now(dt.UTC), sort=sort, group_id=group_id
        )
        _, groups = list_groups(session, PageParams(limit=200, offset=0))
        query = {
            k: v
            for k, v in {"period": period, "as_of": as_of, "group_id": group_id}.items()
            if v not in (None, "")
        }
        rows = board.rows
        chart_chain = charts.bar(
            "本年完成投资（按产业链）", [r.name_zh for r in rows], [r.completed_year for r in rows]
        )
        return render(
            request,
            "overview.html",
            {
                "board": board,
                "window": window,
                "columns": COLUMNS,
                "money": MONEY,
                "groups": groups,
                "group_id": group_id,
                "sort": sort or "",
                "period": period or "",
                "as_of": as_of or "",
                "query": urlencode(query),
                "sort_base": "/overview?" + urlencode(query) + ("&" if query else ""),
                "chart_chain": chart_chain,
                "charts_url": "/overview/charts?" + urlencode(query),
                "xlsx_url": "/api/v1/reports/dashboard?" + urlencode({**query, "format": "xlsx"}),
            },
            section="overview",
        )

    return await run_read(session, work)


@router.get("/overview/charts")
def overview_charts(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    period: str | None = None,
    as_of: str | None = None,
    group_id: int | None = None,
) -> Response:
    """The overview's charts by project type and by month (loaded after the table)."""
    window = window_of(period, as_of)
    by_type, by_month = investment_by_type_and_month(
        session, window.year_start, window.period, window.cutoff, group_id
    )
    return render(
        request,
        "overview_charts.html",
        {
            "chart_type": charts.pie(
                "本年完成投资（按项目类型）",
                [(ProjectType(k).label_zh, v) for k, v in by_type.items()],
            ),
            "chart_trend": charts.line(
                f"{window.year}年月度完成投资", list(by_month), {"全省": list(by_month.values())}
            ),
        },
    )
