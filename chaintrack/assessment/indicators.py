"""Computed indicators: one SQL statement (two for tier designations) per indicator.

Every computation returns :class:`Part` rows grouped by chain and city; the scoring run
adds them up per subject, so an indicator costs the same number of statements whatever
the number of chains, cities and records. The window is the year from 1 January to the
end of the assessed quarter (or year), cut at the as-of day: business dates (starts,
designations, resolutions) on or before the earlier of the two count, and what was on
record at the end of the as-of day (progress revisions, entered figures, the scheme).

The registry (:data:`COMPUTATIONS`, :func:`register`) holds one computation per
:class:`IndicatorKind`. The attraction pipeline's kinds (leads signed, funds received)
are registered by ``chaintrack.attraction.assessment`` when that package exists
(imported at the bottom of this module): until then they have no figure.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from chaintrack.history import end_of_day, membership_current, revision_on_record, status_as_of
from chaintrack.models import (
    Designation,
    Enterprise,
    Membership,
    Problem,
    ProgressReport,
    Project,
    ProjectStatusChange,
)
from chaintrack.models.assessment import IndicatorKind
from chaintrack.models.enums import ProblemStatus, ProjectStatus


@dataclass(frozen=True)
class Window:
    """What a scoring run looks at: 1 January of ``year`` to ``day``."""

    year: int
    quarter: int | None
    start: dt.date
    end: dt.date  # the last day of the assessed quarter or year
    day: dt.date  # min(end, as_of): business dates up to this day count
    as_of: dt.date  # what was on record at the end of this day (revisions, figures)

    @classmethod
    def of(cls, year: int, quarter: int | None, as_of: dt.date) -> Window:
        month = 12 if quarter is None else quarter * 3
        end = (
            dt.date(year, 12, 31)
            if month == 12
            else dt.date(year, month + 1, 1) - dt.timedelta(days=1)
        )
        return cls(year, quarter, dt.date(year, 1, 1), end, min(end, as_of), as_of)

    @property
    def cutoff(self) -> dt.datetime:
        return end_of_day(self.as_of)

    @property
    def first_month(self) -> str:
        return f"{self.year:04d}-01"

    @property
    def last_month(self) -> str:
        return f"{self.day.year:04d}-{self.day.month:02d}"

    @property
    def months(self) -> int:
        return self.day.month if self.day >= self.start else 0


@dataclass(frozen=True)
class Part:
    """A piece of a figure: ``amount`` (and ``base`` for a rate) counted from ``records``
    rows, belonging to a chain and/or a city (None: to none)."""

    chain_id: int | None
    city: str | None
    amount: Decimal
    records: int
    base: Decimal | None = None


Computation = Callable[[Session, Window, dict[str, Any]], list[Part]]
COMPUTATIONS: dict[IndicatorKind, Computation] = {}
#: How each kind counts, for the explanation beside every score.
EXPLAINED: dict[IndicatorKind, str] = {}


def register(kind: IndicatorKind, explanation: str) -> Callable[[Computation], Computation]:
    def add(fn: Computation) -> Computation:
        COMPUTATIONS[kind] = fn
        EXPLAINED[kind] = explanation
        return fn

    return add


def city_of(region_code: Any) -> ColumnElement[str]:
    """The prefecture-level city (地市) of a six-digit region code."""
    return func.substr(region_code, 1, 4).concat("00")


def _parts(rows: Any, *, rate: bool = False) -> list[Part]:
    return [
        Part(
            r.chain_id,
            r.city,
            Decimal(r.amount or 0),
            int(r.records or 0),
            Decimal(r.base or 0) if rate else None,
        )
        for r in rows
    ]


def _project_type(params: dict[str, Any]) -> ColumnElement[bool]:
    kind = params.get("project_type")
    return Project.type == kind if kind else true()


@register(
    IndicatorKind.INVESTMENT_COMPLETED,
    "本年1月至截止月各项目调度报告“本月完成投资”之和（截止日当时在案的修订）",
)
def investment_completed(session: Session, w: Window, params: dict[str, Any]) -> list[Part]:
    city = city_of(Project.region_code)
    stmt = (
        select(
            Project.chain_id.label("chain_id"),
            city.label("city"),
            func.sum(ProgressReport.investment_month).label("amount"),
            func.count(ProgressReport.id).label("records"),
        )
        .select_from(ProgressReport)
        .join(Project, Project.id == ProgressReport.project_id)
        .where(
            revision_on_record(w.cutoff),
            ProgressReport.period >= w.first_month,
            ProgressReport.period <= w.last_month,
            _project_type(params),
        )
        .group_by(Project.chain_id, city)
    )
    return _parts(session.execute(stmt))


def _status_reached(
    session: Session, w: Window, params: dict[str, Any], to: ProjectStatus, froms: list[Any]
) -> list[Part]:
    city = city_of(Project.region_code)
    stmt = (
        select(
            Project.chain_id.label("chain_id"),
            city.label("city"),
            func.count(func.distinct(Project.id)).label("amount"),
            func.count(func.distinct(Project.id)).label("records"),
        )
        .select_from(ProjectStatusChange)
        .join(Project, Project.id == ProjectStatusChange.project_id)
        .where(
            ProjectStatusChange.to_status == to,
            or_(
                ProjectStatusChange.from_status.is_(None),
                ProjectStatusChange.from_status.in_(froms),
            ),
            ProjectStatusChange.changed_on >= w.start,
            ProjectStatusChange.changed_on <= w.day,
            _project_type(params),
        )
        .group_by(Project.chain_id, city)
    )
    return _parts(session.execute(stmt))


@register(
    IndicatorKind.PROJECTS_STARTED,
    "本年内状态由谋划/签约转为在建的项目数（复工不计），可按项目类型",
)
def projects_started(session: Session, w: Window, params: dict[str, Any]) -> list[Part]:
    froms = [ProjectStatus.PLANNED, ProjectStatus.SIGNED]
    return _status_reached(session, w, params, ProjectStatus.UNDER_CONSTRUCTION, froms)


@register(IndicatorKind.PROJECTS_COMPLETED, "本年内转为竣工的项目数，可按项目类型")
def projects_completed(session: Session, w: Window, params: dict[str, Any]) -> list[Part]:
    froms = [ProjectStatus.UNDER_CONSTRUCTION, ProjectStatus.SUSPENDED]
    return _status_reached(session, w, params, ProjectStatus.COMPLETED, froms)


@register(IndicatorKind.NEW_MEMBERS, "本年内开始的链上企业成员关系数（城市按企业所在地）")
def new_members(session: Session, w: Window, params: dict[str, Any]) -> list[Part]:
    city = city_of(Enterprise.region_code)
    stmt = (
        select(
            Membership.chain_id.label("chain_id"),
            city.label("city"),
            func.count(Membership.id).label("amount"),
            func.count(Membership.id).label("records"),
        )
        .select_from(Membership)
        .join(Enterprise, Enterprise.id == Membership.enterprise_id)
        .where(Membership.started_on >= w.start, Membership.started_on <= w.day)
        .group_by(Membership.chain_id, city)
    )
    return _parts(session.execute(stmt))


@register(
    IndicatorKind.NEW_DESIGNATIONS,
    "本年内认定且截止日未撤销的梯度培育称号数（可限定梯度）；产业链按认定当日所在链，"
    "城市按企业所在地",
)
def new_designations(session: Session, w: Window, params: dict[str, Any]) -> list[Part]:
    conditions = [
        Designation.recognised_on >= w.start,
        Designation.recognised_on <= w.day,
        or_(Designation.revoked_on.is_(None), Designation.revoked_on > w.day),
    ]
    if params.get("tier"):
        conditions.append(Designation.tier == params["tier"])
    by_chain = (
        select(
            Membership.chain_id.label("chain_id"),
            func.count(func.distinct(Designation.id)).label("amount"),
            func.count(func.distinct(Designation.id)).label("records"),
        )
        .select_from(Designation)
        .join(Membership, Membership.enterprise_id == Designation.enterprise_id)
        .where(
            *conditions, membership_current(cast(ColumnElement[dt.date], Designation.recognised_on))
        )
        .group_by(Membership.chain_id)
    )
    city = city_of(Enterprise.region_code)
    by_city = (
        select(
            city.label("city"),
            func.count(Designation.id).label("amount"),
            func.count(Designation.id).label("records"),
        )
        .select_from(Designation)
        .join(Enterprise, Enterprise.id == Designation.enterprise_id)
        .where(*conditions)
        .group_by(city)
    )
    parts = [
        Part(r.chain_id, None, Decimal(r.amount), int(r.records)) for r in session.execute(by_chain)
    ]
    parts += [
        Part(None, r.city, Decimal(r.amount), int(r.records)) for r in session.execute(by_city)
    ]
    return parts


@register(
    IndicatorKind.PROBLEMS_CLOSED_ON_TIME,
    "本年内解决且不晚于期限（无期限者视为按期）的问题数",
)
def problems_closed_on_time(session: Session, w: Window, params: dict[str, Any]) -> list[Part]:
    city = city_of(Project.region_code)
    stmt = (
        select(
            Project.chain_id.label("chain_id"),
            city.label("city"),
            func.count(Problem.id).label("amount"),
            func.count(Problem.id).label("records"),
        )
        .select_from(Problem)
        .join(Project, Project.id == Problem.project_id)
        .where(
            Problem.status == ProblemStatus.RESOLVED,
            Problem.resolved_on >= w.start,
            Problem.resolved_on <= w.day,
            or_(Problem.deadline.is_(None), Problem.resolved_on <= Problem.deadline),
        )
        .group_by(Project.chain_id, city)
    )
    return _parts(session.execute(stmt))


@register(
    IndicatorKind.REPORTING_RATE,
    "截止日在建项目在本年1月至截止月应报月数中已报送（在案）的比例（%）",
)
def reporting_rate(session: Session, w: Window, params: dict[str, Any]) -> list[Part]:
    status = status_as_of(w.day).subquery()
    city = city_of(Project.region_code)
    stmt = (
        select(
            Project.chain_id.label("chain_id"),
            city.label("city"),
            func.count(ProgressReport.id).label("amount"),
            (func.count(func.distinct(Project.id)) * w.months).label("base"),
            func.count(ProgressReport.id).label("records"),
        )
        .select_from(status)
        .join(Project, Project.id == status.c.project_id)
        .outerjoin(
            ProgressReport,
            and_(
                ProgressReport.project_id == Project.id,
                revision_on_record(w.cutoff),
                ProgressReport.period >= w.first_month,
                ProgressReport.period <= w.last_month,
            ),
        )
        .where(status.c.status == ProjectStatus.UNDER_CONSTRUCTION, _project_type(params))
        .group_by(Project.chain_id, city)
    )
    return _parts(session.execute(stmt), rate=True)


def _load_attraction() -> None:
    """The attraction pipeline registers LEADS_SIGNED and FUNDS_RECEIVED when it exists
    (a module ``chaintrack.attraction.assessment`` calling :func:`register`)."""
    try:
        spec = importlib.util.find_spec("chaintrack.attraction.assessment")
    except ModuleNotFoundError:  # no chaintrack.attraction package yet
        return
    if spec is not None:
        importlib.import_module("chaintrack.attraction.assessment")


_load_attraction()
