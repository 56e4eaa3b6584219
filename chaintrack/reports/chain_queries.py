"""The chain report's SQL, built once per process with bound parameters.

Building SQLAlchemy statements and their cache keys costs more than running
them for a small chain; built once (:func:`chain_statements`), a statement keeps
its cache key, each request only binds its values (``chain``, ``day``,
``period`` ...) and SQLAlchemy finds the compiled SQL in the engine's cache.
Constants are written into the SQL text (``common.sql``), so each execution
binds only those named values.

Every single figure is one column of ``summary`` (chain_summary.py). The lists
come with their own statements, and the projects are counted in SQL, so only the
rows the report shows reach Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import (
    ColumnElement,
    String,
    Subquery,
    and_,
    distinct,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)

from chaintrack.common.sql import SQL_ONE, const, consts
from chaintrack.history import (
    leader_current,
    membership_current,
    problem_open,
    revision_on_record,
    status_as_of,
)
from chaintrack.models import (
    ChainLeader,
    ChainList,
    Enterprise,
    ListEntry,
    ListType,
    MapNode,
    Membership,
    Problem,
    ProgressReport,
    Project,
    ProjectAnnualPlan,
    ProjectTarget,
    Region,
)
from chaintrack.models.enums import Assessment, MembershipRole, ProjectStatus
from chaintrack.projects.lifecycle import behind_schedule_condition
from chaintrack.reports.chain_summary import summary_statement
from chaintrack.reports.sql import (
    CHAIN,
    CUTOFF,
    DAY,
    MONTH,
    PERIOD,
    YEAR,
    AnySelect,
    money_sum,
)

GAP_ASSESSMENTS = (Assessment.WEAK, Assessment.MISSING)


@dataclass(frozen=True)
class ChainStatements:
    """The report's nine SELECTs; each selects columns and aggregates, never entities."""

    summary: AnySelect
    leaders: AnySelect
    masters: AnySelect
    gap_nodes: AnySelect
    gap_addressing: AnySelect
    cities: AnySelect
    project_groups: AnySelect
    project_rows: AnySelect
    problems: AnySelect


def _gap_addressing(live: Subquery) -> AnySelect:
    """Projects and list entries that address a gap node: projects first (by code),
    then list entries (by id); ``sort_code`` is NULL for entries."""
    is_gap = MapNode.assessment.in_(consts(GAP_ASSESSMENTS))
    gap_projects: AnySelect = (
        select(
            ProjectTarget.node_id.label("node_id"),
            literal_column("0").label("kind"),
            Project.internal_code.label("sort_code"),
            Project.id.label("id"),
            Project.internal_code.label("a"),
            Project.name.label("b"),
            # Plain text: the list entries' column in this place is a period.
            type_coerce(live.c.status, String).label("c"),
        )
        .join(Project, Project.id == ProjectTarget.project_id)
        .join(live, live.c.project_id == Project.id)
        .join(MapNode, MapNode.id == ProjectTarget.node_id)
        .where(
            ProjectTarget.chain_id == CHAIN, is_gap, live.c.status != const(ProjectStatus.CANCELLED)
        )
    )
    gap_entries: AnySelect = (
        select(
            ListEntry.node_id,
            literal_column("1"),
            null(),
            ListEntry.id,
            ListEntry.title,
            ListType.name_zh,
            ChainList.period,
        )
        .join(ChainList, ChainList.id == ListEntry.list_id)
        .join(ListType, ListType.id == ChainList.list_type_id)
        .join(MapNode, MapNode.id == ListEntry.node_id)
        .where(ListEntry.chain_id == CHAIN, is_gap)
    )
    addressing = union_all(gap_projects, gap_entries).subquery("addressing")
    return select(
        addressing.c.node_id,
        addressing.c.kind,
        addressing.c.id,
        addressing.c.a,
        addressing.c.b,
        addressing.c.c,
    ).order_by(addressing.c.kind, addressing.c.sort_code, addressing.c.id)


def _project_groups(live: Subquery) -> AnySelect:
    """Counts, planned totals and this year's plan per type and status
    (``project_annual_plans`` has one row per project and year)."""
    return (
        select(
            Project.type,
            live.c.status,
            func.count(),
            money_sum(Project.total_investment),
            money_sum(ProjectAnnualPlan.planned_investment),
        )
        .join(live, live.c.project_id == Project.id)
        .outerjoin(
            ProjectAnnualPlan,
            and_(ProjectAnnualPlan.project_id == Project.id, ProjectAnnualPlan.year == YEAR),
        )
        .where(Project.chain_id == CHAIN)
        .group_by(Project.type, live.c.status)
    )


def _project_rows(live: Subquery, on_record: ColumnElement[bool]) -> AnySelect:
    """Only the projects the report lists: behind schedule, or under construction
    without a report for the period."""
    reported = exists().where(
        ProgressReport.project_id == Project.id, ProgressReport.period == PERIOD, on_record
    )
    under_construction = live.c.status == const(ProjectStatus.UNDER_CONSTRUCTION)
    return (
        select(
            Project.id,
            Project.internal_code,
            Project.name,
            Project.type,
            live.c.status,
            Project.planned_start,
            Project.planned_completion,
            reported.label("reported"),
        )
        .join(live, live.c.project_id == Project.id)
        .where(
            Project.chain_id == CHAIN,
            or_(
                behind_schedule_condition(DAY, status=live.c.status),
                and_(under_construction, ~reported),
            ),
        )
        .order_by(Project.internal_code)
    )


def _cities() -> AnySelect:
    city = func.substr(Enterprise.region_code, SQL_ONE, literal_column("4"), type_=String)
    return (
        select(city, func.count(distinct(Enterprise.id)), func.max(Region.name_zh))
        .join(Membership, Membership.enterprise_id == Enterprise.id)
        .outerjoin(Region, Region.code == city + literal_column("'00'", String))
        .where(Membership.chain_id == CHAIN, membership_current(DAY))
        .group_by(city)
        .order_by(city)
    )


@cache
def chain_statements(with_cutoff: bool) -> ChainStatements:
    """Statements for revisions current now (False) or on record at CUTOFF (True)."""
    on_record = revision_on_record(CUTOFF if with_cutoff else None)
    live = status_as_of(DAY, CHAIN).subquery()
    return ChainStatements(
        summary=summary_statement(on_record),
        leaders=select(
            ChainLeader.role,
            ChainLeader.person_name,
            ChainLeader.title,
            ChainLeader.organisation,
            ChainLeader.start_on,
        )
        .where(ChainLeader.chain_id == CHAIN, leader_current(DAY))
        .order_by(ChainLeader.role, ChainLeader.start_on),
        masters=select(
            Enterprise.id,
            Enterprise.uscc,
            Enterprise.name,
            Enterprise.region_code,
            Membership.started_on,
        )
        .join(Membership, Membership.enterprise_id == Enterprise.id)
        .where(
            Membership.chain_id == CHAIN,
            Membership.role == const(MembershipRole.CHAIN_MASTER),
            membership_current(DAY),
        )
        .order_by(Enterprise.name),
        gap_nodes=select(
            MapNode.id,
            MapNode.code,
            MapNode.name_zh,
            MapNode.stage,
            MapNode.assessment,
            MapNode.gap_kind,
        )
        .where(MapNode.chain_id == CHAIN, MapNode.assessment.in_(consts(GAP_ASSESSMENTS)))
        .order_by(MapNode.stage, MapNode.position, MapNode.id),
        gap_addressing=_gap_addressing(live),
        cities=_cities(),
        project_groups=_project_groups(live),
        project_rows=_project_rows(live, on_record),
        problems=select(
            Problem.id,
            Project.id,
            Project.internal_code,
            Project.name,
            Problem.period,
            Problem.description,
            Problem.responsible_unit,
            Problem.deadline,
        )
        .join(Project, Project.id == Problem.project_id)
        .where(Project.chain_id == CHAIN, problem_open(DAY, MONTH))
        .order_by(Problem.deadline, Problem.id),
    )
