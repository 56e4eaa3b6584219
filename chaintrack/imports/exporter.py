"""Exports in the template format, so export → edit → import is a round trip.

Each ``*_rows`` function streams the rows of one entity from the database
(``yield_per``: one batch in memory at a time) as dicts shaped like the sheet spec,
filtered as the entity's list endpoint filters. :func:`write_export` writes them as
.xlsx (openpyxl write-only) or CSV into a spooled temporary file that the route then
streams out, so memory stays flat whatever the size.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any
from urllib.parse import quote

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from chaintrack.common.numbers import percent
from chaintrack.enterprises.rules import designation_active_on, membership_current_on
from chaintrack.enterprises.service import EnterpriseFilters, region_prefix, search_statement
from chaintrack.history import office_today
from chaintrack.imports.schemas import ExportFormat
from chaintrack.memberships.params import MembershipFilters
from chaintrack.memberships.service import enterprise_text, region_filter
from chaintrack.models import (
    Chain,
    ChainList,
    Designation,
    Enterprise,
    EnterpriseFigures,
    ListEntry,
    MapNode,
    Membership,
    Problem,
    ProgressReport,
    Project,
    ProjectAnnualPlan,
)
from chaintrack.models.enums import Tier
from chaintrack.projects.queries import ProjectFilters
from chaintrack.projects.service import filter_projects
from chaintrack.sheets.specs import SheetSpec
from chaintrack.sheets.writer import write_csv, write_xlsx

BATCH = 1000
SPOOL_BYTES = 8 * 1024 * 1024
STREAM_CHUNK = 64 * 1024
ZERO = Decimal(0)


def _stream(session: Session, stmt: Select[Any]) -> Iterator[Any]:
    yield from session.execute(stmt.execution_options(yield_per=BATCH))


# ------------------------------------------------------------------------ enterprises


def enterprise_rows(
    session: Session, filters: EnterpriseFilters, year: int | None = None
) -> Iterator[dict[str, Any]]:
    """Enterprises with one year's figures (``year``, default each one's latest)."""
    base = search_statement(session, filters)
    if year is not None:
        joined = base.outerjoin(
            EnterpriseFigures,
            and_(EnterpriseFigures.enterprise_id == Enterprise.id, EnterpriseFigures.year == year),
        )
    else:
        latest = (
            select(
                EnterpriseFigures.enterprise_id.label("enterprise_id"),
                func.max(EnterpriseFigures.year).label("year"),
            )
            .group_by(EnterpriseFigures.enterprise_id)
            .subquery()
        )
        joined = base.outerjoin(latest, latest.c.enterprise_id == Enterprise.id).outerjoin(
            EnterpriseFigures,
            and_(
                EnterpriseFigures.enterprise_id == Enterprise.id,
                EnterpriseFigures.year == latest.c.year,
            ),
        )
    stmt = joined.add_columns(EnterpriseFigures).order_by(Enterprise.id)
    for ent, figures in _stream(session, stmt):
        row = {c.key: getattr(ent, c.key) for c in Enterprise.__table__.columns}
        row["figures"] = (
            {
                "year": figures.year,
                "revenue": figures.revenue,
                "employees": figures.employees,
                "rd_spend": figures.rd_spend,
            }
            if figures is not None
            else None
        )
        yield row


# ----------------------------------------------------------------------- designations


@dataclass(frozen=True)
class DesignationFilters:
    q: str | None = None
    tier: Tier | None = None
    region_code: str | None = None
    chain_id: int | None = None
    active: bool = False


def designation_rows(session: Session, f: DesignationFilters) -> Iterator[dict[str, Any]]:
    stmt = select(Designation, Enterprise.uscc, Enterprise.name).join(
        Enterprise, Enterprise.id == Designation.enterprise_id
    )
    today = office_today()
    if f.q:
        stmt = stmt.where(
            or_(
                Enterprise.name.icontains(f.q, autoescape=True),
                Enterprise.uscc.startswith(f.q.strip().upper(), autoescape=True),
            )
        )
    if f.tier is not None:
        stmt = stmt.where(Designation.tier == f.tier)
    if f.region_code:
        stmt = stmt.where(Enterprise.region_code.startswith(region_prefix(f.region_code)))
    if f.chain_id is not None:
        stmt = stmt.where(
            Enterprise.id.in_(
                select(Membership.enterprise_id).where(
                    Membership.chain_id == f.chain_id, membership_current_on(today)
                )
            )
        )
    if f.active:
        stmt = stmt.where(designation_active_on(today))
    stmt = stmt.order_by(Enterprise.uscc, Designation.recognised_on, Designation.id)
    for d, uscc, name in _stream(session, stmt):
        row = {c.key: getattr(d, c.key) for c in Designation.__table__.columns}
        row.update(uscc=uscc, enterprise_name=name)
        yield row


# ------------------------------------------------------------------------ memberships


def membership_rows(
    session: Session, chain_id: int | None, f: MembershipFilters
) -> Iterator[dict[str, Any]]:
    """Memberships of one chain (or all) filtered as GET /chains/{chain_id}/memberships."""
    stmt = (
        select(Membership, Enterprise.uscc, Enterprise.name, Chain.code, MapNode.code)
        .join(Enterprise, Enterprise.id == Membership.enterprise_id)
        .join(Chain, Chain.id == Membership.chain_id)
        .outerjoin(MapNode, MapNode.id == Membership.node_id)
    )
    if chain_id is not None:
        stmt = stmt.where(Membership.chain_id == chain_id)
    if f.current or f.as_of is not None:
        stmt = stmt.where(membership_current_on(f.as_of or office_today()))
    if f.role is not None:
        stmt = stmt.where(Membership.role == f.role)
    if f.node_id is not None:
        stmt = stmt.where(Membership.node_id == f.node_id)
    if f.region_code:
        stmt = stmt.where(region_filter(session, f.region_code))
    if f.q:
        stmt = stmt.where(enterprise_text(f.q))
    stmt = stmt.order_by(Chain.code, Membership.role, Enterprise.uscc, Membership.started_on)
    for m, uscc, name, chain_code, node_code in _stream(session, stmt):
        row = {c.key: getattr(m, c.key) for c in Membership.__table__.columns}
        row.update(uscc=uscc, enterprise_name=name, chain_code=chain_code, node_code=node_code)
        yield row


# --------------------------------------------------------------------------- projects


def project_rows(
    session: Session, f: ProjectFilters, plan_year: int | None = None
) -> Iterator[dict[str, Any]]:
    """Projects with one annual plan (``plan_year``, default each one's latest)."""
    if plan_year is not None:
        plan_join = and_(
            ProjectAnnualPlan.project_id == Project.id, ProjectAnnualPlan.year == plan_year
        )
        stmt = select(Project, Chain.code, Enterprise.uscc, Enterprise.name, ProjectAnnualPlan)
        stmt = stmt.outerjoin(ProjectAnnualPlan, plan_join)
    else:
        latest = (
            select(
                ProjectAnnualPlan.project_id.label("project_id"),
                func.max(ProjectAnnualPlan.year).label("year"),
            )
            .group_by(ProjectAnnualPlan.project_id)
            .subquery()
        )
        stmt = (
            select(Project, Chain.code, Enterprise.uscc, Enterprise.name, ProjectAnnualPlan)
            .outerjoin(latest, latest.c.project_id == Project.id)
            .outerjoin(
                ProjectAnnualPlan,
                and_(
                    ProjectAnnualPlan.project_id == Project.id,
                    ProjectAnnualPlan.year == latest.c.year,
                ),
            )
        )
    stmt = stmt.join(Chain, Chain.id == Project.chain_id).outerjoin(
        Enterprise, Enterprise.id == Project.owner_enterprise_id
    )
    stmt = filter_projects(stmt, f, office_today()).order_by(Project.internal_code)
    for project, chain_code, owner_uscc, owner_name, plan in _stream(session, stmt):
        row = {c.key: getattr(project, c.key) for c in Project.__table__.columns}
        row.update(chain_code=chain_code, owner_uscc=owner_uscc, owner_name=owner_name)
        row["annual_plan"] = (
            {"year": plan.year, "planned_investment": plan.planned_investment} if plan else None
        )
        yield row


# --------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class ProgressFilters:
    chain_id: int | None = None
    project_id: int | None = None
    period_from: str | None = None
    period_to: str | None = None
    q: str | None = None


def _first_problems(
    session: Session, wanted: Any, f: ProgressFilters
) -> dict[tuple[int, str], Problem]:
    """The first problem raised for each project and month (the one a row carries)."""
    stmt = select(Problem).where(Problem.project_id.in_(wanted))
    if f.period_from:
        stmt = stmt.where(Problem.period >= f.period_from)
    if f.period_to:
        stmt = stmt.where(Problem.period <= f.period_to)
    first: dict[tuple[int, str], Problem] = {}
    for problem in session.scalars(stmt.order_by(Problem.id)):
        first.setdefault((problem.project_id or 0, problem.period), problem)
    return first


def progress_rows(session: Session, f: ProgressFilters) -> Iterator[dict[str, Any]]:
    """Each project's months on record with the computed figures (cumulative sums run
    over every month, also those before ``period_from``)."""
    projects = select(Project.id)
    if f.chain_id is not None:
        projects = projects.where(Project.chain_id == f.chain_id)
    if f.project_id is not None:
        projects = projects.where(Project.id == f.project_id)
    if f.q:
        projects = filter_projects(projects, ProjectFilters(q=f.q), office_today())
    wanted = projects.scalar_subquery()
    plans = {
        (pid, year): amount
        for pid, year, amount in session.execute(
            select(
                ProjectAnnualPlan.project_id,
                ProjectAnnualPlan.year,
                ProjectAnnualPlan.planned_investment,
            ).where(ProjectAnnualPlan.project_id.in_(wanted))
        )
    }
    first_problem = _first_problems(session, wanted, f)
    stmt = (
        select(ProgressReport, Project.internal_code, Project.name, Project.total_investment)
        .join(Project, Project.id == ProgressReport.project_id)
        .where(ProgressReport.superseded_at.is_(None), ProgressReport.project_id.in_(wanted))
        .order_by(Project.internal_code, ProgressReport.period)
    )
    if f.period_to:
        stmt = stmt.where(ProgressReport.period <= f.period_to)
    project_id, cum_total, cum_year, year = None, ZERO, ZERO, ""
    for report, code, name, total in _stream(session, stmt):
        if report.project_id != project_id:
            project_id, cum_total, cum_year, year = report.project_id, ZERO, ZERO, ""
        if report.period[:4] != year:
            year, cum_year = report.period[:4], ZERO
        cum_total += report.investment_month
        cum_year += report.investment_month
        if f.period_from and report.period < f.period_from:
            continue
        plan = plans.get((report.project_id, int(year)))
        first = first_problem.get((report.project_id, report.period))
        yield {
            "internal_code": code,
            "project_name": name,
            "period": report.period,
            "investment_month": report.investment_month,
            "physical_progress_pct": report.physical_progress_pct,
            "physical_progress": report.physical_progress,
            "next_steps": report.next_steps,
            "correction_reason": report.correction_reason,
            "problem": first.description if first else None,
            "problem_responsible_unit": first.responsible_unit if first else None,
            "problem_responsible_person": first.responsible_person if first else None,
            "problem_deadline": first.deadline if first else None,
            "cumulative_year": cum_year,
            "cumulative_total": cum_total,
            "annual_plan": plan,
            "pct_of_annual_plan": percent(cum_year, plan),
            "total_investment": total,
            "pct_of_total_investment": percent(cum_total, total),
            "revision": report.revision,
        }


# ----------------------------------------------------------------------- list entries


def list_entry_rows(session: Session, chain_list: ChainList) -> Iterator[dict[str, Any]]:
    stmt = (
        select(ListEntry, Enterprise.uscc, Project.internal_code, MapNode.code)
        .outerjoin(Enterprise, Enterprise.id == ListEntry.enterprise_id)
        .outerjoin(Project, Project.id == ListEntry.project_id)
        .outerjoin(MapNode, MapNode.id == ListEntry.node_id)
        .where(ListEntry.list_id == chain_list.id)
        .order_by(ListEntry.position, ListEntry.id)
    )
    for entry, uscc, project_code, node_code in _stream(session, stmt):
        yield {
            "position": entry.position,
            "title": entry.title,
            "uscc": uscc,
            "project_code": project_code,
            "node_code": node_code,
            "attributes": dict(entry.attributes or {}),
            "note": entry.note,
        }


# ------------------------------------------------------------------------------ files


def write_export(
    spec: SheetSpec, rows: Iterable[Mapping[str, Any]], fmt: ExportFormat, target: IO[bytes]
) -> int:
    """Write ``rows`` in the template format; returns the number of rows."""
    if fmt is ExportFormat.XLSX:
        return write_xlsx(spec, rows, target)
    count = 0

    def counted() -> Iterator[Mapping[str, Any]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    write_csv(spec, counted(), target)
    return count


def spooled_export(
    spec: SheetSpec, rows: Iterable[Mapping[str, Any]], fmt: ExportFormat
) -> tuple[IO[bytes], int, int]:
    """The export in a temporary file (memory up to 8 MB, then disk): file, size, rows."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    try:
        count = write_export(spec, rows, fmt, spool)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool, size, count


def iter_file(fh: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := fh.read(STREAM_CHUNK):
            yield chunk
    finally:
        fh.close()


def content_disposition(filename: str, fallback: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    plain = "".join(ch for ch in fallback if ch.isascii() and ch not in '"\\;') or "download"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def export_filenames(
    spec: SheetSpec, fmt: ExportFormat, label: str | None = None
) -> tuple[str, str]:
    """The Chinese download name and its ASCII fallback, dated in Beijing time."""
    day = f"{office_today():%Y%m%d}"
    middle = f"_{label}" if label else ""
    return (
        f"{spec.title_zh}{middle}_导出_{day}.{fmt.value}",
        f"{spec.name}{middle if middle.isascii() else ''}-export-{day}.{fmt.value}",
    )
