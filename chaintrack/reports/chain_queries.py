"""The chain report's SQL, built once per process with bound parameters.

Building SQLAlchemy statements and their cache keys costs more than running
them for a small chain; built once, each request only binds its values
(``chain``, ``day``, ``period`` ...) and SQLAlchemy reuses the compiled SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Date, Integer, String, and_, bindparam, distinct, func, literal, or_, select

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
from chaintrack.models.base import UTCDateTime
from chaintrack.models.enums import Assessment, MembershipRole, ProjectStatus
from chaintrack.reports.sql import count_where, money_sum

GAP_ASSESSMENTS = (Assessment.WEAK, Assessment.MISSING)

CHAIN = bindparam("chain", type_=Integer)
DAY = bindparam("day", type_=Date)
PREV_DAY = bindparam("prev_day", type_=Date)
MONTH = bindparam("month", type_=String)  # the month of DAY, YYYY-MM
PREV_MONTH = bindparam("prev_month", type_=String)
PERIOD = bindparam("period", type_=String)
PREV_PERIOD = bindparam("prev_period", type_=String)
YEAR_START = bindparam("year_start", type_=String)
PREV_YEAR_START = bindparam("prev_year_start", type_=String)
YEAR = bindparam("year", type_=Integer)
CUTOFF = bindparam("cutoff", type_=UTCDateTime())


@dataclass(frozen=True)
class ChainStatements:
    chain: Any
    leaders: Any
    masters: Any
    nodes_by_assessment: Any
    nodes_with_enterprises: Any
    gap_nodes: Any
    gap_projects: Any
    gap_entries: Any
    members_by_role: Any
    member_totals: Any
    tiers: Any
    cities: Any
    projects: Any
    prev_statuses: Any
    year_plan: Any
    investment: Any
    reported: Any
    problems: Any


@cache
def chain_statements(with_cutoff: bool) -> ChainStatements:
    """Statements for revisions current now (False) or on record at CUTOFF (True)."""
    on_record = revision_on_record(CUTOFF if with_cutoff else None)
    now, prev = membership_current(DAY), membership_current(PREV_DAY)
    live = status_as_of(DAY, CHAIN).subquery()
    prev_live = status_as_of(PREV_DAY, CHAIN).subquery()
    members_now = select(Membership.enterprise_id).where(Membership.chain_id == CHAIN, now)
    city = func.substr(Enterprise.region_code, 1, 4)
    amount = ProgressReport.investment_month
    open_now, open_prev = problem_open(DAY, MONTH), problem_open(PREV_DAY, PREV_MONTH)
    return ChainStatements(
        chain=select(
            Chain.id, Chain.code, Chain.name_zh, Chain.name_en, ChainGroup.name_zh, Chain.status
        )
        .outerjoin(ChainGroup, ChainGroup.id == Chain.group_id)
        .where(Chain.id == CHAIN),
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
        .where(Membership.chain_id == CHAIN, Membership.role == MembershipRole.CHAIN_MASTER, now)
        .order_by(Enterprise.name),
        nodes_by_assessment=select(MapNode.assessment, func.count())
        .where(MapNode.chain_id == CHAIN)
        .group_by(MapNode.assessment),
        nodes_with_enterprises=select(func.count(distinct(Membership.node_id))).where(
            Membership.chain_id == CHAIN, Membership.node_id.is_not(None), now
        ),
        gap_nodes=select(
            MapNode.id,
            MapNode.code,
            MapNode.name_zh,
            MapNode.stage,
            MapNode.assessment,
            MapNode.gap_kind,
        )
        .where(MapNode.chain_id == CHAIN, MapNode.assessment.in_(GAP_ASSESSMENTS))
        .order_by(MapNode.stage, MapNode.position, MapNode.id),
        gap_projects=select(
            ProjectTarget.node_id, Project.id, Project.internal_code, Project.name, live.c.status
        )
        .join(Project, Project.id == ProjectTarget.project_id)
        .join(live, live.c.project_id == Project.id)
        .join(MapNode, MapNode.id == ProjectTarget.node_id)
        .where(
            ProjectTarget.chain_id == CHAIN,
            MapNode.assessment.in_(GAP_ASSESSMENTS),
            live.c.status != ProjectStatus.CANCELLED,
        )
        .order_by(Project.internal_code),
        gap_entries=select(
            ListEntry.node_id, ListEntry.id, ListEntry.title, ListType.name_zh, ChainList.period
        )
        .join(ChainList, ChainList.id == ListEntry.list_id)
        .join(ListType, ListType.id == ChainList.list_type_id)
        .join(MapNode, MapNode.id == ListEntry.node_id)
        .where(ListEntry.chain_id == CHAIN, MapNode.assessment.in_(GAP_ASSESSMENTS))
        .order_by(ListEntry.id),
        members_by_role=select(Membership.role, count_where(now), count_where(prev))
        .where(Membership.chain_id == CHAIN)
        .group_by(Membership.role),
        member_totals=select(
            func.count(distinct(Membership.enterprise_id)).filter(now),
            func.count(distinct(Membership.enterprise_id)).filter(prev),
        ).where(Membership.chain_id == CHAIN),
        tiers=select(Designation.tier, func.count(distinct(Designation.enterprise_id)))
        .where(Designation.enterprise_id.in_(members_now), designation_active(DAY))
        .group_by(Designation.tier),
        cities=select(city, func.count(distinct(Enterprise.id)), func.max(Region.name_zh))
        .join(Membership, Membership.enterprise_id == Enterprise.id)
        .outerjoin(Region, Region.code == city + literal("00"))
        .where(Membership.chain_id == CHAIN, now)
        .group_by(city)
        .order_by(city),
        projects=select(
            Project.id,
            Project.internal_code,
            Project.name,
            Project.type,
            live.c.status,
            Project.planned_start,
            Project.planned_completion,
            Project.total_investment,
        )
        .join(live, live.c.project_id == Project.id)
        .where(Project.chain_id == CHAIN)
        .order_by(Project.internal_code),
        prev_statuses=select(prev_live.c.status, func.count()).group_by(prev_live.c.status),
        year_plan=select(money_sum(ProjectAnnualPlan.planned_investment))
        .join(Project, Project.id == ProjectAnnualPlan.project_id)
        .join(live, live.c.project_id == Project.id)
        .where(
            Project.chain_id == CHAIN,
            ProjectAnnualPlan.year == YEAR,
            live.c.status != ProjectStatus.CANCELLED,
        ),
        # This month / year / since start, for the period and the one before.
        investment=select(
            money_sum(amount, ProgressReport.period == PERIOD),
            money_sum(amount, ProgressReport.period >= YEAR_START),
            money_sum(amount),
            money_sum(amount, ProgressReport.period == PREV_PERIOD),
            money_sum(
                amount,
                and_(
                    ProgressReport.period >= PREV_YEAR_START, ProgressReport.period <= PREV_PERIOD
                ),
            ),
            money_sum(amount, ProgressReport.period <= PREV_PERIOD),
        )
        .join(Project, Project.id == ProgressReport.project_id)
        .where(Project.chain_id == CHAIN, ProgressReport.period <= PERIOD, on_record),
        reported=select(ProgressReport.project_id)
        .join(Project, Project.id == ProgressReport.project_id)
        .where(Project.chain_id == CHAIN, ProgressReport.period == PERIOD, on_record),
        problems=select(
            Problem.id,
            Project.id,
            Project.internal_code,
            Project.name,
            Problem.period,
            Problem.description,
            Problem.responsible_unit,
            Problem.deadline,
            open_now,
            open_prev,
        )
        .join(Project, Project.id == Problem.project_id)
        .where(Project.chain_id == CHAIN, or_(open_now, open_prev))
        .order_by(Problem.deadline, Problem.id),
    )
