"""Importing projects (建链项目): upsert by internal code, with one year's annual plan.

Rules are the API's, from ``projects.service``: the request schema (``ProjectCreate``,
a new project's initial status), one project per national code (``check_code_free``),
planned completion not before planned start (``check_date_order``), annual plans within
the total investment (``check_plans_within_total``). An existing project keeps its chain
and its status (a status changes through its transitions, not by import).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.history import office_today
from chaintrack.imports.bulk import acting_user, insert_rows
from chaintrack.imports.engine import Plan, failed, row_error, validation_errors
from chaintrack.imports.handlers_common import ChainScoped, rule_errors, unknown_enterprise
from chaintrack.imports.resolvers import batched, enterprises_by_uscc, in_values, projects_by_code
from chaintrack.imports.schemas import Action
from chaintrack.models import Enterprise, Project, ProjectAnnualPlan, ProjectStatusChange
from chaintrack.models.base import utcnow
from chaintrack.models.enums import ProjectStatus
from chaintrack.projects.schemas import ProjectCreate
from chaintrack.projects.service import (
    check_code_free,
    check_date_order,
    check_plans_within_total,
    touch,
)
from chaintrack.sheets.specs import ParsedRow, RowError, get_spec

PROJECT_FIELDS = (
    "national_code",
    "name",
    "type",
    "region_code",
    "location",
    "development_zone",
    "nature",
    "level",
    "goals",
    "content",
    "responsible_leader",
    "responsible_unit",
    "contact",
    "planned_start",
    "planned_completion",
    "actual_start",
    "actual_completion",
    "total_investment",
)
_SCHEMA_FIELDS = {
    "chain_id": "chain_code",
    "owner_enterprise_id": "owner_uscc",
    "annual_plans": "plan_year",
    "annual_plans.0.year": "plan_year",
    "annual_plans.0.planned_investment": "planned_investment",
}
_NOT_IN_SCHEMA = ("actual_start", "actual_completion")


@dataclass(slots=True)
class _Loaded:
    """What a chunk's rows refer to, loaded in bulk: owners by USCC, projects holding the
    national codes the rows give, annual plans of the existing projects by year."""

    owners: dict[str, Enterprise]
    national_holders: dict[str, Project]
    plans: dict[int, dict[int, ProjectAnnualPlan]]


class ProjectHandler(ChainScoped):
    entity = "projects"
    spec = get_spec("projects")

    def start(self, session: Session, columns: set[str]) -> None:
        super().start(session, columns)
        self.national_seen: dict[str, int] = {}
        self.today = office_today()

    def key(self, values: Mapping[str, Any]) -> Hashable:
        return values["internal_code"]

    def plan(self, session: Session, rows: Sequence[ParsedRow]) -> list[Plan]:
        existing = projects_by_code(session, [r.values["internal_code"] for r in rows])
        owners = enterprises_by_uscc(session, [r.values.get("owner_uscc") or "" for r in rows])
        nationals = {r.values["national_code"] for r in rows if r.values.get("national_code")}
        holders: dict[str, Project] = {}
        for part in batched(nationals):
            for holder in session.scalars(
                select(Project).where(in_values(session, Project.national_code, part))
            ):
                holders[holder.national_code or ""] = holder
        plans_by_project: dict[int, dict[int, ProjectAnnualPlan]] = {}
        for part in batched({p.id for p in existing.values()}):
            for plan in session.scalars(
                select(ProjectAnnualPlan).where(
                    in_values(session, ProjectAnnualPlan.project_id, part)
                )
            ):
                plans_by_project.setdefault(plan.project_id, {})[plan.year] = plan
        loaded = _Loaded(owners, holders, plans_by_project)
        return [self._plan_row(r, existing.get(r.values["internal_code"]), loaded) for r in rows]

    def _plan_row(self, parsed: ParsedRow, project: Project | None, loaded: _Loaded) -> Plan:
        v, row, spec = parsed.values, parsed.row, self.spec
        code = v["internal_code"]
        chain = self._chain(parsed, project)
        errors: list[RowError] = [chain] if isinstance(chain, RowError) else []
        if project is not None:
            errors += self._chain_kept(parsed, project, chain)
        owner_id, owner_errors = self._owner(parsed, loaded.owners)
        errors += owner_errors
        errors += self._national_code_errors(parsed, project, loaded.national_holders)
        data = self._validated(parsed, project, chain, owner_id, errors)
        if project is not None and v.get("status") is not None and v["status"] != project.status:
            errors.append(
                row_error(
                    spec,
                    row,
                    "status",
                    f"项目状态为“{project.status.label_zh}”，不能通过导入改为“{v['status'].label_zh}”，"
                    "请使用状态流转 / a project's status changes through its transitions, "
                    "not by import",
                    "status_change",
                )
            )
        if errors or data is None or (project is None and not isinstance(chain, int)):
            return failed(spec, row, code, *errors)
        plans = loaded.plans.get(project.id, {}) if project is not None else {}
        errors = self._project_rules(parsed, project, data, plans)
        if errors:
            return failed(spec, row, code, *errors)
        values: dict[str, Any] = {k: v.get(k) for k in PROJECT_FIELDS if self.has(k)}
        for k in ("name", "type", "region_code", "total_investment"):
            values[k] = getattr(data, k)
        for k, default in (("nature", data.nature), ("level", data.level)):
            if self.has(k) and values.get(k) is None:
                values[k] = default
        if self.has("owner_uscc"):
            values["owner_enterprise_id"] = owner_id
        if project is None:
            return self._plan_new(parsed, data, values, chain)
        return self._plan_update(parsed, project, data, values, plans)

    def _chain(self, parsed: ParsedRow, project: Project | None) -> int | RowError:
        """An existing project's rows may leave the chain out (outside a chain's import)."""
        v = parsed.values
        if project is not None and not v.get("chain_code") and self.scope.chain_id is None:
            return project.chain_id
        return self.resolve_chain(self.spec, parsed)

    def _chain_kept(
        self, parsed: ParsedRow, project: Project, chain: int | RowError
    ) -> list[RowError]:
        """403 for a project of a chain the caller does not edit; a project keeps its chain."""
        code = project.internal_code
        self.scope.check(project.chain_id, parsed.row, f"项目{code}")
        if not isinstance(chain, int) or chain == project.chain_id:
            return []
        other = self.chains.code_of(project.chain_id)
        return [
            row_error(
                self.spec,
                parsed.row,
                "chain_code",
                f"项目{code}属于产业链{other}，不能通过导入改到其他产业链 / project {code} "
                f"belongs to chain {other}",
                "chain_mismatch",
            )
        ]

    def _owner(
        self, parsed: ParsedRow, owners: dict[str, Enterprise]
    ) -> tuple[int | None, list[RowError]]:
        v, row, spec = parsed.values, parsed.row, self.spec
        if not v.get("owner_uscc"):
            return None, []
        owner = owners.get(v["owner_uscc"])
        if owner is None:
            return None, [unknown_enterprise(spec, row, "owner_uscc", v["owner_uscc"])]
        name = v.get("owner_name")
        if name and name not in (owner.name, *(owner.former_names or [])):
            return owner.id, [
                row_error(
                    spec,
                    row,
                    "owner_name",
                    f"业主单位“{name}”与信用代码登记的企业“{owner.name}”不符 / "
                    "the owner's name does not match the USCC",
                    "name_mismatch",
                    name,
                )
            ]
        return owner.id, []

    def _national_code_errors(
        self, parsed: ParsedRow, project: Project | None, holders: dict[str, Project]
    ) -> list[RowError]:
        """One project per national code (the API's rule), also between rows of the file."""
        v, row, spec = parsed.values, parsed.row, self.spec
        national = v.get("national_code")
        if not national:
            return []
        first = self.national_seen.setdefault(national, row)
        holder = holders.get(national)
        if holder is not None and holder.internal_code == v["internal_code"]:
            holder = None  # the project of this row
        errors = rule_errors(
            spec,
            row,
            "national_code",
            check_code_free,
            "national_code",
            national,
            holder,
            _value=national,
        )
        if not errors and first != row:
            errors.append(
                row_error(
                    spec,
                    row,
                    "national_code",
                    f"国家项目代码{national}与第{first}行重复 / the same national code as "
                    f"row {first}",
                    "duplicate",
                    national,
                )
            )
        return errors

    def _validated(
        self,
        parsed: ParsedRow,
        project: Project | None,
        chain: int | RowError,
        owner_id: int | None,
        errors: list[RowError],
    ) -> ProjectCreate | None:
        """The row through POST /projects' schema; its errors are added to ``errors``."""
        v = parsed.values
        fallback_chain = project.chain_id if project else 1  # the chain's error is reported
        body: dict[str, Any] = {
            "chain_id": chain if isinstance(chain, int) else fallback_chain,
            "internal_code": v["internal_code"],
            "owner_enterprise_id": owner_id,
            **{k: v[k] for k in PROJECT_FIELDS if k not in _NOT_IN_SCHEMA and v.get(k) is not None},
        }
        if v.get("annual_plan"):
            body["annual_plans"] = [v["annual_plan"]]
        if project is None and v.get("status") is not None:
            body["status"] = v["status"]
        try:
            return ProjectCreate.model_validate(body)
        except ValidationError as exc:
            errors += validation_errors(self.spec, parsed.row, exc, _SCHEMA_FIELDS)
            return None

    def _project_rules(
        self,
        parsed: ParsedRow,
        project: Project | None,
        data: ProjectCreate,
        plans: dict[int, ProjectAnnualPlan],
    ) -> list[RowError]:
        """The service's rules on the project as it would stand after the row."""
        v, row, spec = parsed.values, parsed.row, self.spec

        def after(name: str) -> Any:
            given = v.get(name) if project is None or self.has(name) else getattr(project, name)
            return given

        errors = rule_errors(
            spec,
            row,
            "planned_completion",
            check_date_order,
            after("planned_start"),
            after("planned_completion"),
        )
        plan_in = v.get("annual_plan")
        amounts = {year: p.planned_investment for year, p in plans.items()}
        if plan_in:
            amounts[plan_in["year"]] = data.annual_plans[0].planned_investment
        errors += rule_errors(
            spec,
            row,
            "planned_investment" if plan_in else "total_investment",
            check_plans_within_total,
            data.total_investment,
            amounts.values(),
        )
        return errors

    def _plan_update(
        self,
        parsed: ParsedRow,
        project: Project,
        data: ProjectCreate,
        values: dict[str, Any],
        plans: dict[int, ProjectAnnualPlan],
    ) -> Plan:
        row, code, plan_in = parsed.row, project.internal_code, parsed.values.get("annual_plan")
        diff = {k: val for k, val in values.items() if getattr(project, k) != val}
        plan_change = None
        if plan_in:
            current = plans.get(plan_in["year"])
            amount = data.annual_plans[0].planned_investment
            if current is None or current.planned_investment != amount:
                plan_change = (current, plan_in["year"], amount)
        changes = list(diff) + (["annual_plan.planned_investment"] if plan_change else [])
        if not changes:
            return Plan(row, code, Action.UNCHANGED)
        return Plan(row, code, Action.UPDATE, changes, data=(project, diff, plan_change))

    def _plan_new(
        self, parsed: ParsedRow, data: ProjectCreate, values: dict[str, Any], chain: Any
    ) -> Plan:
        row_values: dict[str, Any] = dict.fromkeys(PROJECT_FIELDS)
        row_values.update(values)
        row_values.update(
            chain_id=chain,
            internal_code=data.internal_code,
            owner_enterprise_id=data.owner_enterprise_id,
            nature=data.nature,
            level=data.level,
            status=data.status,
        )
        if data.status is ProjectStatus.UNDER_CONSTRUCTION and row_values["actual_start"] is None:
            row_values["actual_start"] = self.today
        plan = (
            (data.annual_plans[0].year, data.annual_plans[0].planned_investment)
            if data.annual_plans
            else None
        )
        return Plan(
            parsed.row, data.internal_code or "", Action.CREATE, data=(None, row_values, plan)
        )

    def apply(self, session: Session, plans: Sequence[Plan]) -> None:
        new_rows: list[dict[str, Any]] = []
        new_plans: list[tuple[int, Decimal] | None] = []
        annual: list[dict[str, Any]] = []
        for plan in plans:
            if plan.data[0] is None:
                _, values, annual_plan = plan.data
                new_rows.append(values)
                new_plans.append(annual_plan)
                continue
            project, diff, plan_change = plan.data
            for name, value in diff.items():
                setattr(project, name, value)
            if plan_change is not None:
                current, year, amount = plan_change
                if current is None:
                    annual.append(
                        {"project_id": project.id, "year": year, "planned_investment": amount}
                    )
                else:
                    current.planned_investment = amount
            touch(project)
        ids = insert_rows(session, Project, new_rows)
        user, now = acting_user(session), utcnow()
        history = [
            {
                "project_id": pid,
                "from_status": None,
                "to_status": values["status"],
                "changed_on": self.today,
                "reason": None,
                "recorded_at": now,
                "recorded_by": user,
            }
            for pid, values in zip(ids, new_rows, strict=True)
        ]
        for pid, annual_plan in zip(ids, new_plans, strict=True):
            if annual_plan is not None:
                annual.append(
                    {
                        "project_id": pid,
                        "year": annual_plan[0],
                        "planned_investment": annual_plan[1],
                    }
                )
        insert_rows(session, ProjectStatusChange, history)
        insert_rows(session, ProjectAnnualPlan, annual)
