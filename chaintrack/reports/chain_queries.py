"""The chain report's SQL, built once per process with bound parameters.

Building SQLAlchemy statements and their cache keys costs more than running
them for a small chain; built once (:func:`chain_statements`), a statement keeps
its cache key, each request only binds its values (``chain``, ``day``,
``period`` ...) and SQLAlchemy finds the compiled SQL in the engine's cache.
Constants are written into the SQL text (``common.sql``), so each execution
binds only those named values.

Every single-figure aggregate is one column of ``summary`` (one round trip);
counts over a fixed set of values (assessments, roles, tiers) are pivoted into
columns there too. The lists come with their own statements, and the projects
are counted in SQL, so only the rows the report shows reach Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
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
    true,
    type_coerce,
    union_all,
)

from chaintrack.common.sql import SQL_ONE, const, consts
from chaintrack.history import (
    designation_active,
    leader_current,
    membership_current,
    problem_open,
    revision_on_record,
    status_as_of,
)
from chaintrack.models import (
    Chain,
    ChainGroup,
    ChainLeader,
    ChainList,
    Designation,
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
from chaintrack.models.enums import Assessment, MembershipRole, ProjectStatus, Tier
from chaintrack.projects.lifecycle import behind_schedule_condition
from chaintrack.reports.sql import (
    CHAIN,
    CUTOFF,
    DAY,
    MONTH,
    PERIOD,
    PREV_DAY,
    PREV_MONTH,
    PREV_PERIOD,
    PREV_YEAR_START,
    YEAR,
    YEAR_START,
    count_where,
    money_sum,
)

GAP_ASSESSMENTS = (Assessment.WEAK, Assessment.MISSING)

# Columns of ``summary`` after the chain's own six, in order.
NODE_COLUMNS = ("nodes_total", "strong", "weak", "missing", "unassessed")
MEMBER_COLUMNS = (
    "members_now",
    "members_prev",
    "nodes_with_enterprises",
    *(f"{r.value}_{when}" for r in MembershipRole for when in ("now", "prev")),
)
TIER_COLUMNS = tuple(t.value for t in Tier)
INVESTMENT_COLUMNS = ("month", "year", "total", "prev_month", "prev_year", "prev_total")
PREVIOUS_COLUMNS = ("prev_projects", "prev_under_construction", "prev_open_problems")


@dataclass(frozen=True)
class ChainStatements:
    """The report's nine SELECTs; each selects columns and aggregates, never entities."""

    summary: Select[Any]
    leaders: Select[Any]
    masters: Select[Any]
    gap_nodes: Select[Any]
    gap_addressing: Select[Any]
    cities: Select[Any]
    project_groups: Select[Any]
    project_rows: Select[Any]
    problems: Select[Any]


def _node_counts() -> Subquery:
    return (
        select(
            func.count().label("nodes_total"),
            *(count_where(MapNode.assessment == const(a)).label(a.value) for a in Assessment),
            count_where(MapNode.assessment.is_(None)).label("unassessed"),
        )
        .where(MapNode.chain_id == CHAIN)
        .subquery("node_counts")
    )


def _member_counts() -> Subquery:
    now, prev = membership_current(DAY), membership_current(PREV_DAY)
    return (
        select(
            func.count(distinct(Membership.enterprise_id)).filter(now).label("members_now"),
            func.count(distinct(Membership.enterprise_id)).filter(prev).label("members_prev"),
            # COUNT(DISTINCT) skips the NULL node of members placed on no node.
            func.count(distinct(Membership.node_id)).filter(now).label("nodes_with_enterprises"),
            *(
                count_where(and_(Membership.role == const(r), cond)).label(f"{r.value}_{when}")
                for r in MembershipRole
                for when, cond in (("now", now), ("prev", prev))
            ),
        )
        .where(Membership.chain_id == CHAIN)
        .subquery("member_counts")
    )


def _tier_counts() -> Subquery:
    members_now = select(Membership.enterprise_id).where(
        Membership.chain_id == CHAIN, membership_current(DAY)
    )
    return (
        select(
            *(
                func.count(distinct(Designation.enterprise_id))
                .filter(Designation.tier == const(t))
                .label(t.value)
                for t in Tier
            )
        )
        .where(Designation.enterprise_id.in_(members_now), designation_active(DAY))
        .subquery("tier_counts")
    )


def _investment(on_record: ColumnElement[bool]) -> Subquery:
    """This month / year / since start, for the period and the one before."""
    amount = ProgressReport.investment_month
    return (
        select(
            money_sum(amount, ProgressReport.period == PERIOD).label("month"),
            money_sum(amount, ProgressReport.period >= YEAR_START).label("year"),
            money_sum(amount).label("total"),
            money_sum(amount, ProgressReport.period == PREV_PERIOD).label("prev_month"),
            money_sum(
                amount,
                and_(
                    ProgressReport.period >= PREV_YEAR_START, ProgressReport.period <= PREV_PERIOD
                ),
            ).label("prev_year"),
            money_sum(amount, ProgressReport.period <= PREV_PERIOD).label("prev_total"),
        )
        .join(Project, Project.id == ProgressReport.project_id)
        .where(Project.chain_id == CHAIN, ProgressReport.period <= PERIOD, on_record)
        .subquery("investment")
    )


def _previous_projects() -> Subquery:
    prev_live = status_as_of(PREV_DAY, CHAIN).subquery()
    return (
        select(
            func.count().label("prev_projects"),
            count_where(prev_live.c.status == const(ProjectStatus.UNDER_CONSTRUCTION)).label(
                "prev_under_construction"
            ),
        )
        .select_from(prev_live)
        .subquery("previous_projects")
    )


def _summary(on_record: ColumnElement[bool]) -> Select[Any]:
    """The chain and every single figure of the report, in one row."""
    nodes, members, tiers = _node_counts(), _member_counts(), _tier_counts()
    investment, previous = _investment(on_record), _previous_projects()
    prev_open_problems = (
        select(func.count())
        .select_from(Problem)
        .join(Project, Project.id == Problem.project_id)
        .where(Project.chain_id == CHAIN, problem_open(PREV_DAY, PREV_MONTH))
        .scalar_subquery()
        .label("prev_open_problems")
    )
    return (
        select(
            Chain.id,
            Chain.code,
            Chain.name_zh,
            Chain.name_en,
            ChainGroup.name_zh,
            Chain.status,
            *(nodes.c[c] for c in NODE_COLUMNS),
            *(members.c[c] for c in MEMBER_COLUMNS),
            *(tiers.c[c] for c in TIER_COLUMNS),
            *(investment.c[c] for c in INVESTMENT_COLUMNS),
            previous.c.prev_projects,
            previous.c.prev_under_construction,
            prev_open_problems,
        )
        .select_from(Chain)
        .outerjoin(ChainGroup, ChainGroup.id == Chain.group_id)
        .join(nodes, true())
        .join(members, true())
        .join(tiers, true())
        .join(investment, true())
        .join(previous, true())
        .where(Chain.id == CHAIN)
    )


def _gap_addressing(live: Subquery) -> Select[Any]:
    """Projects and list entries that address a gap node: projects first (by code),
    then list entries (by id); ``sort_code`` is NULL for entries."""
    is_gap = MapNode.assessment.in_(consts(GAP_ASSESSMENTS))
    gap_projects: Select[Any] = (
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
    gap_entries: Select[Any] = (
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


def _project_groups(live: Subquery) -> Select[Any]:
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


def _project_rows(live: Subquery, on_record: ColumnElement[bool]) -> Select[Any]:
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


def _cities() -> Select[Any]:
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
        summary=_summary(on_record),
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
