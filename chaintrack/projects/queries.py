"""Projects: reading and searching (one place for the queries reports reuse)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from chaintrack.common.pagination import PageParams, paginate, sort_clause
from chaintrack.errors import not_found
from chaintrack.models import (
    Chain,
    Enterprise,
    MapNode,
    Project,
    ProjectAnnualPlan,
    ProjectStatusChange,
    ProjectTarget,
    Region,
)
from chaintrack.models.enums import ProjectLevel, ProjectStatus, ProjectType
from chaintrack.projects.lifecycle import allowed_next, behind_schedule_condition

API_PATH = "/api/v1/projects"


def get_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise not_found("project", project_id)
    return project


@dataclass
class ProjectDetail:
    project: Project
    chain: Chain
    owner: Enterprise | None
    region_name: str | None
    targets: list[MapNode] = field(default_factory=list)
    plans: list[ProjectAnnualPlan] = field(default_factory=list)
    allowed: list[ProjectStatus] = field(default_factory=list)


def last_status_change(session: Session, project_id: int) -> ProjectStatusChange | None:
    return session.scalars(
        select(ProjectStatusChange)
        .where(ProjectStatusChange.project_id == project_id)
        .order_by(ProjectStatusChange.changed_on.desc(), ProjectStatusChange.id.desc())
        .limit(1)
    ).first()


def allowed_transitions(session: Session, project: Project) -> list[ProjectStatus]:
    suspended_from = None
    if project.status is ProjectStatus.SUSPENDED:
        last = last_status_change(session, project.id)
        suspended_from = last.from_status if last else None
    return allowed_next(project.status, suspended_from)


def load_detail(session: Session, project_id: int) -> ProjectDetail:
    """The project with chain, owner, region name, targets and plans (4-5 statements)."""
    row = session.execute(
        select(Project, Chain, Enterprise, Region.name_zh)
        .join(Chain, Chain.id == Project.chain_id)
        .outerjoin(Enterprise, Enterprise.id == Project.owner_enterprise_id)
        .outerjoin(Region, Region.code == Project.region_code)
        .where(Project.id == project_id)
    ).one_or_none()
    if row is None:
        raise not_found("project", project_id)
    project, chain, owner, region_name = row
    targets = session.scalars(
        select(MapNode)
        .join(ProjectTarget, ProjectTarget.node_id == MapNode.id)
        .where(ProjectTarget.project_id == project_id)
        .order_by(MapNode.position, MapNode.id)
    ).all()
    return ProjectDetail(
        project=project,
        chain=chain,
        owner=owner,
        region_name=region_name,
        targets=list(targets),
        plans=list_plans(session, project_id),
        allowed=allowed_transitions(session, project),
    )


def list_plans(session: Session, project_id: int) -> list[ProjectAnnualPlan]:
    return list(
        session.scalars(
            select(ProjectAnnualPlan)
            .where(ProjectAnnualPlan.project_id == project_id)
            .order_by(ProjectAnnualPlan.year)
        ).all()
    )


@dataclass(frozen=True)
class ProjectFilters:
    chain_id: int | None = None
    type: ProjectType | None = None
    status: ProjectStatus | None = None
    level: ProjectLevel | None = None
    region_code: str | None = None
    owner_enterprise_id: int | None = None
    q: str | None = None
    behind_schedule: bool | None = None


SORT_KEYS: dict[str, Any] = {
    "id": Project.id,
    "name": Project.name,
    "internal_code": Project.internal_code,
    "type": Project.type,
    "status": Project.status,
    "region_code": Project.region_code,
    "planned_start": Project.planned_start,
    "planned_completion": Project.planned_completion,
    "total_investment": Project.total_investment,
    "created_at": Project.created_at,
    "updated_at": Project.updated_at,
}


def _like_fragment(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(stmt: Select[Any], f: ProjectFilters, today: dt.date) -> Select[Any]:
    if f.chain_id is not None:
        stmt = stmt.where(Project.chain_id == f.chain_id)
    if f.type is not None:
        stmt = stmt.where(Project.type == f.type)
    if f.status is not None:
        stmt = stmt.where(Project.status == f.status)
    if f.level is not None:
        stmt = stmt.where(Project.level == f.level)
    if f.region_code:
        stmt = stmt.where(Project.region_code.startswith(f.region_code, autoescape=True))
    if f.owner_enterprise_id is not None:
        stmt = stmt.where(Project.owner_enterprise_id == f.owner_enterprise_id)
    if f.q:
        pattern = _like_fragment(f.q)
        stmt = stmt.where(
            Project.name.ilike(pattern, escape="\\")
            | Project.internal_code.ilike(pattern, escape="\\")
            | Project.national_code.ilike(pattern, escape="\\")
        )
    if f.behind_schedule is not None:
        stmt = stmt.where(behind_schedule_condition(today, behind=f.behind_schedule))
    return stmt


def list_projects(
    session: Session, f: ProjectFilters, sort: str | None, page: PageParams, today: dt.date
) -> tuple[int, Sequence[Any]]:
    """Rows of (Project, chain code, owner name): two statements whatever the page size."""
    stmt = _filtered(
        select(Project, Chain.code, Enterprise.name)
        .join(Chain, Chain.id == Project.chain_id)
        .outerjoin(Enterprise, Enterprise.id == Project.owner_enterprise_id),
        f,
        today,
    ).order_by(*sort_clause(sort, SORT_KEYS, [Project.id.asc()]))
    # The chain and the owner are joined one per project: count the projects alone.
    return paginate(session, stmt, page, count=_filtered(select(Project.id), f, today))


# --- for the chain map picture (chaintrack.web) ----------------------------------------


def project_counts_by_node(session: Session, chain_id: int) -> dict[int, int]:
    """{node id: projects targeting it} for one chain (one statement)."""
    rows = session.execute(
        select(ProjectTarget.node_id, func.count())
        .where(ProjectTarget.chain_id == chain_id)
        .group_by(ProjectTarget.node_id)
    ).all()
    return {node_id: count for node_id, count in rows}


def projects_targeting(session: Session, node_id: int, limit: int = 100) -> Sequence[Project]:
    """The projects addressing one map node, by id (one statement)."""
    return session.scalars(
        select(Project)
        .join(ProjectTarget, ProjectTarget.project_id == Project.id)
        .where(ProjectTarget.node_id == node_id)
        .order_by(Project.id)
        .limit(limit)
    ).all()
