"""Projects: register and update. Services flush, never commit.

Every write path starts from a project (or, on create, a chain id in the body),
so ``project.chain_id`` is always at hand for a later per-chain permission check.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from chaintrack.errors import Conflict, FieldError, ValidationProblem
from chaintrack.models import (
    Chain,
    Enterprise,
    MapNode,
    Project,
    ProjectAnnualPlan,
    ProjectStatusChange,
    ProjectTarget,
)
from chaintrack.models.base import utcnow
from chaintrack.models.enums import ProjectStatus
from chaintrack.projects import queries
from chaintrack.projects.queries import API_PATH, ProjectFilters, list_plans
from chaintrack.projects.schemas import AnnualPlanIn, ProjectCreate, ProjectUpdate


def filter_projects(stmt: Select[Any], f: ProjectFilters, today: dt.date) -> Select[Any]:
    """``stmt`` (over :class:`Project`) narrowed as GET /projects narrows it."""
    return queries._filtered(stmt, f, today)


# --- checks shared by create and update ------------------------------------------


def _unknown(field_name: str, message: str) -> FieldError:
    return FieldError(location="body", field=field_name, message=message, code="unknown_reference")


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise ValidationProblem(summary, errors=errors)


def _check_owner(session: Session, owner_id: int | None, errors: list[FieldError]) -> None:
    if owner_id is not None and session.get(Enterprise, owner_id) is None:
        errors.append(
            _unknown(
                "owner_enterprise_id",
                f"企业 {owner_id} 不存在 / enterprise {owner_id} does not exist",
            )
        )


def date_order_errors(start: dt.date | None, completion: dt.date | None) -> list[FieldError]:
    """Planned completion before planned start (the errors; empty when in order)."""
    if start is not None and completion is not None and completion < start:
        return [
            FieldError(
                location="body",
                field="planned_completion",
                message=f"计划竣工日期 {completion} 早于计划开工日期 {start} / "
                f"planned completion {completion} is before planned start {start}",
                code="date_order",
            )
        ]
    return []


def check_date_order(start: dt.date | None, completion: dt.date | None) -> None:
    _raise_if(date_order_errors(start, completion))


def plans_exceed(total: Decimal, amounts: Iterable[Decimal]) -> Decimal | None:
    """The plans' sum when it exceeds the total investment, else None."""
    planned = sum(amounts, Decimal(0))
    return planned if planned > total else None


def check_plans_within_total(
    total: Decimal, amounts: Iterable[Decimal], field_name: str = "annual_plans"
) -> None:
    """The annual plans may not sum to more than the total investment (422 on the field)."""
    planned = plans_exceed(total, amounts)
    if planned is not None:
        _raise_if([_plans_error(field_name, planned, total)])


def _plans_error(field_name: str, planned: Decimal, total: Decimal) -> FieldError:
    return FieldError(
        location="body",
        field=field_name,
        message=f"年度计划投资合计 {planned} 万元超过总投资 {total} 万元 / "
        f"annual plans sum to {planned}, more than the total investment {total} (万元)",
        code="plans_exceed_total",
    )


def _check_targets(
    session: Session, chain: Chain, node_ids: Sequence[int], errors: list[FieldError]
) -> list[int]:
    """Distinct node ids in the order given; unknown and cross-chain ones are errors."""
    wanted = list(dict.fromkeys(node_ids))
    if not wanted:
        return []
    found = {
        node_id: (chain_id, chain_code)
        for node_id, chain_id, chain_code in session.execute(
            select(MapNode.id, MapNode.chain_id, Chain.code)
            .join(Chain, Chain.id == MapNode.chain_id)
            .where(MapNode.id.in_(wanted))
        )
    }
    for i, node_id in enumerate(node_ids):
        name = f"target_node_ids.{i}"
        if node_id not in found:
            errors.append(
                _unknown(name, f"图谱节点 {node_id} 不存在 / map node {node_id} does not exist")
            )
        elif found[node_id][0] != chain.id:
            other = found[node_id][1]
            errors.append(
                FieldError(
                    location="body",
                    field=name,
                    message=f"图谱节点 {node_id} 属于产业链 {other}，不属于本项目所在的产业链 "
                    f"{chain.code} / map node {node_id} belongs to chain {other}, not to the "
                    f"project's chain {chain.code} (cross-chain reference)",
                    code="cross_chain",
                )
            )
    return wanted


def _existing_ref(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "internal_code": project.internal_code,
        "national_code": project.national_code,
        "name": project.name,
        "href": f"{API_PATH}/{project.id}",
    }


def check_code_free(field_name: str, value: str, holder: Project | None) -> None:
    """A project code (``internal_code``, ``national_code``) names one project: 409 naming
    ``holder``, the other project that already uses it (None: the code is free)."""
    if holder is not None:
        raise Conflict(
            f"{field_name} “{value}” 已被项目 {holder.id}《{holder.name}》使用 / "
            f"{field_name} '{value}' is already used by project {holder.id}",
            errors=[
                FieldError(location="body", field=field_name, message="duplicate", code="duplicate")
            ],
            existing=_existing_ref(holder),
        )


def _check_unique(
    session: Session, column: Any, field_name: str, value: str, exclude_id: int | None = None
) -> None:
    stmt = select(Project).where(column == value)
    if exclude_id is not None:
        stmt = stmt.where(Project.id != exclude_id)
    check_code_free(field_name, value, session.scalars(stmt.limit(1)).first())


_CODE_CHARS = re.compile(r"[^A-Z0-9_-]")


def generate_internal_code(session: Session, chain: Chain, year: int) -> str:
    """``<CHAINCODE>-<YYYY>-<NNN>``, the next free number for that chain and year."""
    chain_part = _CODE_CHARS.sub("", chain.code.upper()) or f"C{chain.id}"
    chain_part = chain_part[: 32 - len("-2025-000")]
    prefix = f"{chain_part}-{year}-"
    used = session.scalars(
        select(Project.internal_code).where(
            Project.internal_code.startswith(prefix, autoescape=True)
        )
    ).all()
    numbers = [int(code[len(prefix) :]) for code in used if code[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


# --- writing -------------------------------------------------------------------


def create_project(session: Session, data: ProjectCreate, today: dt.date) -> Project:
    errors: list[FieldError] = []
    chain = session.get(Chain, data.chain_id)
    if chain is None:
        errors.append(
            _unknown(
                "chain_id", f"产业链 {data.chain_id} 不存在 / chain {data.chain_id} does not exist"
            )
        )
    _check_owner(session, data.owner_enterprise_id, errors)
    errors += date_order_errors(data.planned_start, data.planned_completion)
    planned = plans_exceed(data.total_investment, (p.planned_investment for p in data.annual_plans))
    if planned is not None:
        errors.append(_plans_error("annual_plans", planned, data.total_investment))
    status_date = data.status_date or today
    if status_date > today:
        errors.append(
            FieldError(
                location="body",
                field="status_date",
                message=f"日期 {status_date} 晚于今天 {today} / {status_date} is in the future",
                code="future_date",
            )
        )
    node_ids = _check_targets(session, chain, data.target_node_ids, errors) if chain else []
    _raise_if(errors)
    assert chain is not None

    if data.internal_code:
        _check_unique(session, Project.internal_code, "internal_code", data.internal_code)
        internal_code = data.internal_code
    else:
        internal_code = generate_internal_code(session, chain, today.year)
    if data.national_code:
        _check_unique(session, Project.national_code, "national_code", data.national_code)

    values = data.model_dump(
        exclude={"annual_plans", "target_node_ids", "status_date", "internal_code"}
    )
    project = Project(**values, internal_code=internal_code)
    if data.status is ProjectStatus.UNDER_CONSTRUCTION:
        project.actual_start = status_date
    session.add(project)
    session.flush()
    session.add_all(
        ProjectTarget(project_id=project.id, node_id=n, chain_id=chain.id) for n in node_ids
    )
    session.add_all(_plan_rows(project.id, data.annual_plans))
    session.add(
        ProjectStatusChange(
            project_id=project.id,
            from_status=None,
            to_status=data.status,
            changed_on=status_date,
            reason=None,
        )
    )
    session.flush()
    return project


def _plan_rows(project_id: int, plans: Iterable[AnnualPlanIn]) -> list[ProjectAnnualPlan]:
    return [
        ProjectAnnualPlan(
            project_id=project_id, year=p.year, planned_investment=p.planned_investment
        )
        for p in plans
    ]


def update_project(session: Session, project: Project, data: ProjectUpdate) -> Project:
    """Apply a PATCH. The project version (ETag) changes when anything changes."""
    changes = data.model_dump(exclude_unset=True)
    new_targets: list[int] | None = changes.pop("target_node_ids", None)
    errors: list[FieldError] = []
    if "owner_enterprise_id" in changes:
        _check_owner(session, changes["owner_enterprise_id"], errors)
    errors += date_order_errors(
        changes.get("planned_start", project.planned_start),
        changes.get("planned_completion", project.planned_completion),
    )
    if "total_investment" in changes:
        total = changes["total_investment"]
        planned = plans_exceed(
            total, (p.planned_investment for p in list_plans(session, project.id))
        )
        if planned is not None:
            errors.append(_plans_error("total_investment", planned, total))
    chain = session.get(Chain, project.chain_id)
    assert chain is not None
    target_ids = _check_targets(session, chain, new_targets, errors) if new_targets else []
    _raise_if(errors)

    code = changes.get("internal_code")
    if code and code != project.internal_code:
        _check_unique(session, Project.internal_code, "internal_code", code, project.id)
    national = changes.get("national_code")
    if national and national != project.national_code:
        _check_unique(session, Project.national_code, "national_code", national, project.id)

    dirty = False
    for name, value in changes.items():
        if getattr(project, name) != value:
            setattr(project, name, value)
            dirty = True
    if new_targets is not None:
        dirty |= _replace_targets(session, project, target_ids)
    if dirty:
        touch(project)
    session.flush()
    return project


def _replace_targets(session: Session, project: Project, node_ids: list[int]) -> bool:
    current = set(
        session.scalars(
            select(ProjectTarget.node_id).where(ProjectTarget.project_id == project.id)
        ).all()
    )
    wanted = set(node_ids)
    if current == wanted:
        return False
    removed = current - wanted
    if removed:
        session.execute(
            delete(ProjectTarget).where(
                ProjectTarget.project_id == project.id, ProjectTarget.node_id.in_(removed)
            )
        )
    session.add_all(
        ProjectTarget(project_id=project.id, node_id=n, chain_id=project.chain_id)
        for n in node_ids
        if n not in current
    )
    return True


def touch(project: Project) -> None:
    """Mark the project changed, so its version (ETag) moves on at the next flush."""
    project.updated_at = utcnow()
