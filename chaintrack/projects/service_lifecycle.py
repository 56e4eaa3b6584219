"""Status transitions, status history and annual plans of a project."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.errors import Conflict, FieldError, ValidationProblem
from chaintrack.models import Project, ProjectAnnualPlan, ProjectStatusChange
from chaintrack.models.enums import ProjectStatus
from chaintrack.projects.lifecycle import REASON_REQUIRED, allowed_next
from chaintrack.projects.queries import last_status_change, list_plans
from chaintrack.projects.schemas import TransitionIn
from chaintrack.projects.service import plans_exceed, touch


def transition(
    session: Session, project: Project, data: TransitionIn, today: dt.date
) -> ProjectStatusChange:
    """Move the project along its lifecycle and record the change."""
    last = last_status_change(session, project.id)
    current = project.status
    suspended_from = last.from_status if current is ProjectStatus.SUSPENDED and last else None
    allowed = allowed_next(current, suspended_from)
    target = data.to_status
    if target not in allowed:
        names = ", ".join(s.value for s in allowed) or "无（终态）/ none (terminal)"
        raise Conflict(
            f"项目状态不能从“{current.label_zh}”变为“{target.label_zh}” / a project cannot "
            f"move from {current.value} to {target.value}; allowed: {names}",
            current_status=current.value,
            requested_status=target.value,
            allowed=[s.value for s in allowed],
        )
    errors: list[FieldError] = []
    if data.changed_on > today:
        errors.append(
            FieldError(
                location="body",
                field="changed_on",
                message=f"日期 {data.changed_on} 晚于今天 {today} / {data.changed_on} is in "
                "the future",
                code="future_date",
            )
        )
    elif last is not None and data.changed_on < last.changed_on:
        errors.append(
            FieldError(
                location="body",
                field="changed_on",
                message=f"日期 {data.changed_on} 早于上一次状态变更（{last.changed_on}）/ "
                f"{data.changed_on} is before the previous change on {last.changed_on}",
                code="before_previous_change",
            )
        )
    if target in REASON_REQUIRED and not data.reason:
        errors.append(
            FieldError(
                location="body",
                field="reason",
                message=f"变更为“{target.label_zh}”须说明原因 / a reason is required for "
                f"{target.value}",
                code="missing",
            )
        )
    if errors:
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise ValidationProblem(summary, errors=errors)

    project.status = target
    if target is ProjectStatus.UNDER_CONSTRUCTION and project.actual_start is None:
        project.actual_start = data.changed_on
    if target is ProjectStatus.COMPLETED:
        project.actual_completion = data.changed_on
    change = ProjectStatusChange(
        project_id=project.id,
        from_status=current,
        to_status=target,
        changed_on=data.changed_on,
        reason=data.reason,
    )
    session.add(change)
    session.flush()
    return change


def status_history(session: Session, project_id: int) -> list[ProjectStatusChange]:
    return list(
        session.scalars(
            select(ProjectStatusChange)
            .where(ProjectStatusChange.project_id == project_id)
            .order_by(ProjectStatusChange.changed_on, ProjectStatusChange.id)
        ).all()
    )


def put_plan(
    session: Session, project: Project, year: int, amount: Decimal
) -> tuple[ProjectAnnualPlan, bool]:
    """Set one year's planned investment; returns (plan, created).

    Plans are part of the project: a change moves the project's version on.
    """
    plans = list_plans(session, project.id)
    existing = next((p for p in plans if p.year == year), None)
    others = (p.planned_investment for p in plans if p.year != year)
    planned = plans_exceed(project.total_investment, [*others, amount])
    if planned is not None:
        raise ValidationProblem.for_field(
            "planned_investment",
            f"年度计划投资合计将为 {planned} 万元，超过总投资 {project.total_investment} 万元 / "
            f"annual plans would sum to {planned}, more than the total investment "
            f"{project.total_investment}",
            code="plans_exceed_total",
        )
    if existing is None:
        plan = ProjectAnnualPlan(project_id=project.id, year=year, planned_investment=amount)
        session.add(plan)
        touch(project)
        session.flush()
        return plan, True
    if existing.planned_investment != amount:
        existing.planned_investment = amount
        touch(project)
        session.flush()
    return existing, False
