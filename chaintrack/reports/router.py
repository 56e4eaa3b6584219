"""HTTP routes for reports: ``?format=json|csv|xlsx`` or the Accept header."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, PlainValidator, WithJsonSchema

from chaintrack.auth.deps import checks_account_in_work, run_signed_in_read
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.common.pagination import sort_query
from chaintrack.errors import NotFound, ValidationProblem, problem_responses
from chaintrack.history import OFFICE_TZ
from chaintrack.identifiers import IdentifierError
from chaintrack.reports import schemas as s
from chaintrack.reports.chain_report import build_chain_report
from chaintrack.reports.dashboard import SORT_KEYS, build_dashboard
from chaintrack.reports.render import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, to_csv, to_json, to_xlsx
from chaintrack.reports.tables import Section, chain_report_sections, dashboard_sections
from chaintrack.reports.window import Window, latest_complete_period

router = APIRouter(prefix="/reports", tags=["reports"])

Format = Literal["json", "csv", "xlsx"]
PeriodQuery = Annotated[
    str | None,
    Query(
        max_length=16,
        description="Reporting month YYYY-MM; default: the latest complete month",
        examples=["2026-10"],
    ),
]
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NOT_AN_AS_OF = (
    "应为日期 YYYY-MM-DD 或带时区的日期时间（如 2026-11-05T09:00:00+08:00）/ expected a "
    "date or a date-time with a time zone"
)


def date_or_instant(value: Any) -> dt.date | dt.datetime:
    """``YYYY-MM-DD`` (a day) or an ISO 8601 date-time with a time zone (an instant)."""
    if isinstance(value, dt.date):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            raise ValueError(NOT_AN_AS_OF)
        return value
    text = value.strip() if isinstance(value, str) else ""
    try:
        if _DAY.match(text):
            return dt.date.fromisoformat(text)
        if _INSTANT.match(text):
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    raise ValueError(NOT_AN_AS_OF)


DateOrInstant = Annotated[
    dt.date | dt.datetime,
    PlainValidator(date_or_instant),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 40,
            "anyOf": [{"format": "date"}, {"format": "date-time"}],
            "examples": ["2026-11-05", "2026-11-05T09:00:00+08:00"],
        }
    ),
]
AsOfQuery = Annotated[
    DateOrInstant | None,
    Query(
        description="Show the register as it stood at the end of this day (Beijing time), "
        "or at this instant when a date-time with a time zone is given "
        "(2026-11-05T09:00:00+08:00): memberships, tiers, statuses and progress revisions "
        "as they were then. 2000-01-01 to 2200-12-31; the default period is the latest "
        "month complete on that day, or at that instant (2000-01 in January 2000)"
    ),
]
FormatQuery = Annotated[
    Format | None,
    Query(description="json (default), csv or xlsx; overrides the Accept header"),
]
FILE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}},
        "description": "JSON, CSV (sections stacked) or Excel (a sheet per section)",
    },
}


# Reporting months run 2000-01 .. 2200-12 (identifiers.validate_period); so do the days
# a report can be asked for.
AS_OF_FIRST, AS_OF_LAST = dt.date(2000, 1, 1), dt.date(2200, 12, 31)


def _window(period: str | None, as_of: dt.date | dt.datetime | None) -> Window:
    if isinstance(as_of, dt.datetime):
        # An instant: the day it falls on in the office's time zone gives the state shown
        # (memberships, statuses); the progress revisions are those on record at it. The
        # default period is the latest month over at that instant.
        day = as_of.astimezone(OFFICE_TZ).date()
        if period is None and AS_OF_FIRST <= day <= AS_OF_LAST and day >= dt.date(2000, 2, 1):
            period = latest_complete_period(day)
        window = _window(period, day)
        return dataclasses.replace(window, cutoff=as_of.astimezone(dt.UTC))
    if as_of is not None and not AS_OF_FIRST <= as_of <= AS_OF_LAST:
        raise ValidationProblem.for_field(
            "as_of",
            f"日期应在{AS_OF_FIRST}至{AS_OF_LAST}之间 / "
            f"as_of must be between {AS_OF_FIRST} and {AS_OF_LAST}",
            location="query",
            code="as_of",
        )
    if period is None and as_of is not None and as_of < dt.date(2000, 1, 31):
        # No reporting month is over yet on that day: the first one, as it stood then
        # (nothing can have been reported earlier), rather than a month before 2000-01.
        period = "2000-01"
    try:
        return Window.build(period, as_of)
    except IdentifierError as err:
        raise ValidationProblem.for_field("period", err.message, location="query") from None


def _format(request: Request, fmt: Format | None) -> Format:
    if fmt:
        return fmt
    accept = request.headers.get("accept", "")
    if "spreadsheetml" in accept:
        return "xlsx"
    if "text/csv" in accept:
        return "csv"
    return "json"


def _respond(
    report: BaseModel, sections: Callable[[], list[Section]], fmt: Format, filename: str
) -> Response:
    if fmt == "json":
        return Response(to_json(report), media_type="application/json")
    body, media, ext = (
        (to_csv(sections()), CSV_MEDIA_TYPE, "csv")
        if fmt == "csv"
        else (to_xlsx(sections()), XLSX_MEDIA_TYPE, "xlsx")
    )
    ascii_name = "".join(
        ch if (ch.isascii() and ch.isalnum()) or ch in "-_" else "-" for ch in filename
    )
    disposition = (
        f"attachment; filename=\"{ascii_name}.{ext}\"; filename*=UTF-8''{quote(filename)}.{ext}"
    )
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


@router.get(
    "/chains/{chain_id}",
    summary="Chain status report (产业链运行情况报告)",
    response_model=s.ChainReport,
    responses={**FILE_RESPONSES, **problem_responses(NotFound, ValidationProblem)},
)
@checks_account_in_work
async def chain_report(
    chain_id: StrictId,
    request: Request,
    session: SessionDep,
    period: PeriodQuery = None,
    as_of: AsOfQuery = None,
    format: FormatQuery = None,
) -> Response:
    """Leaders and chain masters, map coverage and gaps, enterprises by role / tier / city,
    projects by type × status, investment and completion rates, projects behind schedule or
    not reported, open problems, and the change against the previous month."""
    window = _window(period, as_of)
    fmt = _format(request, format)

    def work() -> Response:
        report = build_chain_report(session, chain_id, window, dt.datetime.now(dt.UTC))
        return _respond(
            report,
            lambda: chain_report_sections(report),
            fmt,
            f"产业链报告-{report.chain.code}-{window.period}",
        )

    return await run_signed_in_read(request, session, work)


@router.get(
    "/dashboard",
    summary="Province dashboard: one row per chain (全省产业链总览)",
    response_model=s.Dashboard,
    responses={**FILE_RESPONSES, **problem_responses(ValidationProblem)},
)
@checks_account_in_work
async def dashboard(
    request: Request,
    session: SessionDep,
    period: PeriodQuery = None,
    as_of: AsOfQuery = None,
    sort: Annotated[
        str | None,
        sort_query(SORT_KEYS, "A row field, '-' for descending", "-completed_year", multiple=False),
    ] = None,
    group_id: Annotated[StrictId | None, Query(description="Only chains of this group")] = None,
    format: FormatQuery = None,
) -> Response:
    window = _window(period, as_of)
    fmt = _format(request, format)

    def work() -> Response:
        board = build_dashboard(
            session, window, dt.datetime.now(dt.UTC), sort=sort, group_id=group_id
        )
        return _respond(
            board,
            lambda: dashboard_sections(board),
            fmt,
            f"全省产业链总览-{board.meta.period}",
        )

    return await run_signed_in_read(request, session, work)
