"""The chain report's summary: the chain and every single figure of the report, one row.

Every single-figure aggregate is one column (one round trip); counts over a fixed set
of values (assessments, roles, tiers) are pivoted into columns too. Built once with the
named parameters of ``reports.sql``, like the report's other statements.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Subquery, and_, distinct, func, select, true

from chaintrack.common.sql import const
from chaintrack.history import designation_active, membership_current, problem_open, status_as_of
from chaintrack.models import (
    Chain,
    ChainGroup,
    Designation,
    MapNode,
    Membership,
    Problem,
    ProgressReport,
    Project,
)
from chaintrack.models.enums import Assessment, MembershipRole, ProjectStatus, Tier
from chaintrack.problems.figures_sql import closing_columns
from chaintrack.reports.sql import (
    CHAIN,
    DAY,
    MONTH,
    MONTH_START,
    PERIOD,
    PREV_DAY,
    PREV_MONTH,
    PREV_PERIOD,
    PREV_YEAR_START,
    YEAR_START,
    AnySelect,
    count_where,
    money_sum,
)

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
#: The loop's figures of every problem of the chain (project, enterprise or chain):
#: open and overdue, then ``problems.figures_sql.closing_columns``.
PROBLEM_COLUMNS = (
    "problems_open",
    "problems_overdue",
    "problems_closed_this_month",
    "problems_closed",
    "problems_close_days",
    "problems_rated",
    "problems_satisfied",
)


def _problem_figures() -> Subquery:
    still_open = problem_open(DAY, MONTH)
    columns = [
        count_where(still_open),
        count_where(and_(still_open, Problem.deadline.is_not(None), Problem.deadline < DAY)),
        *closing_columns(DAY, MONTH_START),
    ]
    return (
        select(*(c.label(n) for c, n in zip(columns, PROBLEM_COLUMNS, strict=True)))
        .where(Problem.chain_id == CHAIN, Problem.period <= MONTH)
        .subquery("problem_figures")
    )


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


def summary_statement(on_record: ColumnElement[bool]) -> AnySelect:
    """The chain and every single figure of the report, in one row."""
    nodes, members, tiers = _node_counts(), _member_counts(), _tier_counts()
    investment, previous = _investment(on_record), _previous_projects()
    problems = _problem_figures()
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
            *(problems.c[c] for c in PROBLEM_COLUMNS),
        )
        .select_from(Chain)
        .outerjoin(ChainGroup, ChainGroup.id == Chain.group_id)
        .join(nodes, true())
        .join(members, true())
        .join(tiers, true())
        .join(investment, true())
        .join(previous, true())
        .join(problems, true())
        .where(Chain.id == CHAIN)
    )
