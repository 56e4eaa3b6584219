"""The dashboard's SQL, built once per process with bound parameters (as the chain
report's, chain_queries.py): the chains, then each group of figures as one query
grouped by chain."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Integer,
    Subquery,
    and_,
    bindparam,
    distinct,
    exists,
    func,
    select,
    union,
)

from chaintrack.common.sql import const, consts
from chaintrack.history import membership_current, problem_open, revision_on_record, status_as_of
from chaintrack.models import (
    Chain,
    ChainGroup,
    ListEntry,
    MapNode,
    Membership,
    Problem,
    ProgressReport,
    Project,
    ProjectAnnualPlan,
    ProjectTarget,
)
from chaintrack.models.enums import Assessment, MembershipRole, ProjectStatus
from chaintrack.problems.figures_sql import closing_columns
from chaintrack.projects.lifecycle import behind_schedule_condition
from chaintrack.reports.sql import (
    CUTOFF,
    DAY,
    GROUP,
    MONTH,
    MONTH_START,
    PERIOD,
    YEAR,
    YEAR_START,
    AnySelect,
    count_where,
    money_sum,
)

UNDER_CONSTRUCTION = const(ProjectStatus.UNDER_CONSTRUCTION)
CANCELLED = const(ProjectStatus.CANCELLED)


@dataclass(frozen=True)
class DashboardFigures:
    """(chain id, figures...) per chain; a chain with no rows has zeros."""

    members: AnySelect
    nodes: AnySelect
    addressed: AnySelect
    projects: AnySelect
    plans: AnySelect
    investment: AnySelect
    problems: AnySelect

    def items(self) -> list[tuple[str, AnySelect]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


def _members() -> AnySelect:
    return (
        select(
            Membership.chain_id,
            func.count(distinct(Membership.enterprise_id)),
            count_where(Membership.role == const(MembershipRole.CHAIN_MASTER)),
        )
        .where(membership_current(DAY))
        .group_by(Membership.chain_id)
    )


def _nodes() -> AnySelect:
    return select(
        MapNode.chain_id,
        func.count(),
        *(
            count_where(MapNode.assessment == const(a))
            for a in (Assessment.STRONG, Assessment.WEAK, Assessment.MISSING)
        ),
    ).group_by(MapNode.chain_id)


def _addressed(live: Subquery) -> AnySelect:
    # Non-correlated IN (...) so the status subquery is evaluated once, not per node.
    addressing: CompoundSelect = union(
        select(ProjectTarget.node_id)
        .join(live, live.c.project_id == ProjectTarget.project_id)
        .where(live.c.status != CANCELLED),
        select(ListEntry.node_id).where(ListEntry.node_id.is_not(None)),
    )
    return (
        select(MapNode.chain_id, func.count())
        .where(
            MapNode.assessment.in_(consts((Assessment.WEAK, Assessment.MISSING))),
            MapNode.id.in_(addressing),
        )
        .group_by(MapNode.chain_id)
    )


def _not_reported(live: Subquery, on_record: ColumnElement[bool]) -> ColumnElement[bool]:
    """Under construction on DAY and no report for PERIOD on record (未报送)."""
    reported = exists().where(
        ProgressReport.project_id == Project.id, ProgressReport.period == PERIOD, on_record
    )
    return and_(live.c.status == UNDER_CONSTRUCTION, ~reported)


def _overdue_problem() -> ColumnElement[bool]:
    """Open on DAY with its deadline passed (逾期问题)."""
    return and_(problem_open(DAY, MONTH), Problem.deadline.is_not(None), Problem.deadline < DAY)


def _projects(live: Subquery, on_record: ColumnElement[bool]) -> AnySelect:
    return (
        select(
            Project.chain_id,
            func.count(),
            count_where(live.c.status == UNDER_CONSTRUCTION),
            money_sum(Project.total_investment, live.c.status != CANCELLED),
            count_where(behind_schedule_condition(DAY, status=live.c.status)),
            count_where(_not_reported(live, on_record)),
        )
        .join(live, live.c.project_id == Project.id)
        .group_by(Project.chain_id)
    )


def _plans(live: Subquery) -> AnySelect:
    return (
        select(Project.chain_id, money_sum(ProjectAnnualPlan.planned_investment))
        .join(Project, Project.id == ProjectAnnualPlan.project_id)
        .join(live, live.c.project_id == Project.id)
        .where(ProjectAnnualPlan.year == YEAR, live.c.status != CANCELLED)
        .group_by(Project.chain_id)
    )


def _investment(on_record: ColumnElement[bool]) -> AnySelect:
    amount = ProgressReport.investment_month
    return (
        select(
            Project.chain_id,
            money_sum(amount, ProgressReport.period == PERIOD),
            money_sum(amount, ProgressReport.period >= YEAR_START),
            money_sum(amount),
        )
        .join(Project, Project.id == ProgressReport.project_id)
        .where(ProgressReport.period <= PERIOD, on_record)
        .group_by(Project.chain_id)
    )


def _problems() -> AnySelect:
    """Every problem of the chain (on a project, an enterprise or the chain itself) raised
    by the month: open, overdue, then the loop's closing figures (figures_sql.py)."""
    still_open = problem_open(DAY, MONTH)
    return (
        select(
            Problem.chain_id,
            count_where(still_open),
            count_where(_overdue_problem()),
            *closing_columns(DAY, MONTH_START),
        )
        .where(Problem.period <= MONTH)
        .group_by(Problem.chain_id)
    )


@cache
def chains_statement(with_group: bool) -> AnySelect:
    """(id, code, name, group name) of every chain, or of the chains of GROUP."""
    stmt = (
        select(Chain.id, Chain.code, Chain.name_zh, ChainGroup.name_zh)
        .outerjoin(ChainGroup, ChainGroup.id == Chain.group_id)
        .order_by(ChainGroup.position, Chain.code)
    )
    return stmt.where(Chain.group_id == GROUP) if with_group else stmt


@cache
def figure_statements(with_cutoff: bool) -> DashboardFigures:
    """Statements for revisions current now (False) or on record at CUTOFF (True)."""
    on_record = revision_on_record(CUTOFF if with_cutoff else None)
    live = status_as_of(DAY).subquery()
    return DashboardFigures(
        members=_members(),
        nodes=_nodes(),
        addressed=_addressed(live),
        projects=_projects(live, on_record),
        plans=_plans(live),
        investment=_investment(on_record),
        problems=_problems(),
    )


@dataclass(frozen=True)
class TodoStatements:
    """The projects behind the dashboard's 未报送 / 进度滞后 / 逾期问题 counts, by the
    same conditions, for the chains in the expanding ``chain_ids`` parameter; each
    ``(chain id, project id, code, name[, problem id, deadline])``, at most LIMIT rows,
    and the total as a window count."""

    not_reported: AnySelect
    behind_schedule: AnySelect
    overdue_problems: AnySelect


CHAIN_IDS: BindParameter[int] = bindparam("chain_ids", expanding=True)
LIMIT: BindParameter[int] = bindparam("limit", type_=Integer)


@cache
def todo_statements(with_cutoff: bool) -> TodoStatements:
    on_record = revision_on_record(CUTOFF if with_cutoff else None)
    live = status_as_of(DAY).subquery()
    total = func.count().over().label("total")
    columns = (Project.chain_id, Project.id, Project.internal_code, Project.name)

    def projects(condition: ColumnElement[bool]) -> AnySelect:
        return (
            select(*columns, total)
            .join(live, live.c.project_id == Project.id)
            .where(Project.chain_id.in_(CHAIN_IDS), condition)
            .order_by(Project.chain_id, Project.internal_code)
            .limit(LIMIT)
        )

    overdue = (
        select(*columns, Problem.id, Problem.deadline, total)
        .join(Project, Project.id == Problem.project_id)
        .where(Project.chain_id.in_(CHAIN_IDS), _overdue_problem())
        .order_by(Problem.deadline, Problem.id)
        .limit(LIMIT)
    )
    return TodoStatements(
        not_reported=projects(_not_reported(live, on_record)),
        behind_schedule=projects(behind_schedule_condition(DAY, status=live.c.status)),
        overdue_problems=overdue,
    )
