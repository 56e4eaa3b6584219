"""Importing chain-scoped records: memberships (链上企业) and projects (建链项目).

Each row's chain is the chain the import was started under (``chain_id``) or its
``chain_code`` column; when both are given they must agree. Every chain a row names,
and every existing project a row updates, must be one the caller edits (403 for the
whole file otherwise). Rules are the API's: the same request schemas, the node must be
on the row's chain, one membership per enterprise, chain, role and node at a time,
annual plans within the total investment, a new project's initial status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.history import office_today
from chaintrack.imports.bulk import acting_user, create_or_update, insert_rows
from chaintrack.imports.engine import Handler, Plan, failed, row_error, validation_errors
from chaintrack.imports.handlers_register import _name_check
from chaintrack.imports.resolvers import (
    ChainCodes,
    NodeCodes,
    batched,
    enterprises_by_uscc,
    in_values,
    projects_by_code,
)
from chaintrack.imports.schemas import Action
from chaintrack.imports.scope import Scope
from chaintrack.models import (
    Membership,
    Project,
    ProjectAnnualPlan,
    ProjectStatusChange,
)
from chaintrack.models.base import utcnow
from chaintrack.models.enums import ProjectStatus
from chaintrack.projects.schemas import ProjectCreate
from chaintrack.projects.service import plans_exceed, touch
from chaintrack.sheets.specs import ParsedRow, RowError, SheetSpec, get_spec


class ChainScoped(Handler):
    """Resolving each row's chain (``chain_code`` or the import's chain) and the 403."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def start(self, session: Session, columns: set[str]) -> None:
        super().start(session, columns)
        self.chains = ChainCodes(session)

    def chain_key(self, values: Mapping[str, Any]) -> str:
        code = values.get("chain_code")
        if code:
            found = self.chains.find(code)
            return found[1] if found else code
        return self.chains.code_of(self.scope.chain_id) if self.scope.chain_id else ""

    def resolve_chain(self, spec: SheetSpec, parsed: ParsedRow) -> int | RowError:
        """The row's chain id, or the error; raises 403 for a chain the caller does not edit."""
        row, code = parsed.row, parsed.values.get("chain_code")
        found = self.chains.find(code) if code else None
        if code and found is None:
            return row_error(
                spec,
                row,
                "chain_code",
                f"产业链代码“{code}”不存在 / no chain has code {code}",
                "unknown_reference",
                code,
            )
        if self.scope.chain_id is not None:
            if found is not None and found[0] != self.scope.chain_id:
                wanted = self.chains.code_of(self.scope.chain_id)
                return row_error(
                    spec,
                    row,
                    "chain_code",
                    f"本文件导入到产业链{wanted}，此行却填写了产业链{found[1]} / this file is "
                    f"imported into chain {wanted}, but the row names chain {found[1]}",
                    "chain_mismatch",
                    code,
                )
            chain_id = self.scope.chain_id
        elif found is None:
            return row_error(
                spec,
                row,
                "chain_code",
                "请填写产业链代码，或在某条产业链下导入 / give the chain code, or import "
                "into one chain (chain_id)",
                "required",
            )
        else:
            chain_id = found[0]
        self.scope.check(chain_id, row, f"产业链{self.chains.code_of(chain_id)}")
        return chain_id


def _unknown_enterprise(spec: SheetSpec, row: int, field_name: str, uscc: str) -> RowError:
    return row_error(
        spec,
        row,
        field_name,
        f"统一社会信用代码{uscc}的企业尚未登记，请先导入或登记该企业 / no enterprise with "
        "this USCC is registered; import it first",
        "unknown_reference",
        uscc,
    )


# ------------------------------------------------------------------------- memberships

MEMBERSHIP_UPDATABLE = ("ended_on", "end_reason", "note")
_GroupKey = tuple[int, int, Any, int | None]  # chain, enterprise, role, node


class MembershipHandler(ChainScoped):
    entity = "memberships"
    spec = get_spec("memberships")

    def start(self, session: Session, columns: set[str]) -> None:
        super().start(session, columns)
        self.nodes = NodeCodes()
        self.planned: dict[_GroupKey, list[tuple[dt.date, dt.date | None, int]]] = {}

    def key(self, values: Mapping[str, Any]) -> Hashable:
        return (
            self.chain_key(values),
            values["uscc"],
            values["role"],
            values.get("node_code"),
            values["started_on"],
        )

    def key_text(self, values: Mapping[str, Any]) -> str:
        parts = [self.chain_key(values), values["uscc"], values["role"].label_zh]
        if values.get("node_code"):
            parts.append(values["node_code"])
        parts.append(values["started_on"].isoformat())
        return " ".join(p for p in parts if p)

    def plan(self, session: Session, rows: Sequence[ParsedRow]) -> list[Plan]:
        spec = self.spec
        chains = {r.row: self.resolve_chain(spec, r) for r in rows}
        ents = enterprises_by_uscc(session, [r.values["uscc"] for r in rows])
        self.nodes.load(
            session,
            {
                (c, r.values["node_code"])
                for r in rows
                if r.values.get("node_code") and isinstance(c := chains[r.row], int)
            },
        )
        groups: dict[_GroupKey, list[Membership]] = {}
        chain_ids = {c for c in chains.values() if isinstance(c, int)}
        for part in batched({e.id for e in ents.values()}):
            stmt = select(Membership).where(
                in_values(session, Membership.enterprise_id, part),
                in_values(session, Membership.chain_id, chain_ids),
            )
            for m in session.scalars(stmt.order_by(Membership.started_on, Membership.id)):
                groups.setdefault((m.chain_id, m.enterprise_id, m.role, m.node_id), []).append(m)
        plans = []
        for r in rows:
            v, row, key = r.values, r.row, self.key_text(r.values)
            chain = chains[r.row]
            ent = ents.get(v["uscc"])
            errors: list[RowError] = []
            if not isinstance(chain, int):
                errors.append(chain)
            if ent is None:
                errors.append(_unknown_enterprise(spec, row, "uscc", v["uscc"]))
            else:
                errors += _name_check(spec, row, v.get("enterprise_name"), ent)
            node_id = None
            if v.get("node_code") and isinstance(chain, int):
                node_id = self.nodes.get(chain, v["node_code"])
                if node_id is None:
                    errors.append(
                        row_error(
                            spec,
                            row,
                            "node_code",
                            f"产业链{self.chains.code_of(chain)}的图谱中没有代码为“{v['node_code']}”"
                            f"的节点 / chain {self.chains.code_of(chain)} has no map node "
                            f"{v['node_code']}",
                            "unknown_reference",
                            v["node_code"],
                        )
                    )
            if errors or ent is None or not isinstance(chain, int):
                plans.append(failed(spec, row, key, *errors))
                continue
            group_key = (chain, ent.id, v["role"], node_id)
            plans.append(self._plan_row(r, key, group_key, groups.get(group_key, [])))
        return plans

    def _plan_row(
        self, parsed: ParsedRow, key: str, group_key: _GroupKey, group: list[Membership]
    ) -> Plan:
        v, row, spec = parsed.values, parsed.row, self.spec
        start, end = v["started_on"], v.get("ended_on")
        match = next((m for m in group if m.started_on == start), None)
        others = [(m.started_on, m.ended_on, m.id) for m in group if m is not match]
        if match is not None:
            end = v.get("ended_on") if self.has("ended_on") else match.ended_on
        clash = _overlapping(start, end, others)
        if clash is None and match is None:
            clash = _overlapping(start, end, self.planned.get(group_key, []), in_file=True)
        if clash is not None:
            return failed(spec, row, key, row_error(spec, row, "started_on", clash, "overlap"))
        if match is None:
            self.planned.setdefault(group_key, []).append((start, end, row))
            chain_id, ent_id, role, node_id = group_key
            values = {
                "enterprise_id": ent_id,
                "chain_id": chain_id,
                "node_id": node_id,
                "role": role,
                "started_on": start,
                **{k: v.get(k) for k in MEMBERSHIP_UPDATABLE},
            }
            return Plan(row, key, Action.CREATE, data=(None, values))
        wanted = {k: v.get(k) for k in MEMBERSHIP_UPDATABLE if self.has(k)}
        diff = {k: val for k, val in wanted.items() if getattr(match, k) != val}
        if not diff:
            return Plan(row, key, Action.UNCHANGED)
        return Plan(row, key, Action.UPDATE, list(diff), data=(match, diff))

    def apply(self, session: Session, plans: Sequence[Plan]) -> None:
        create_or_update(session, Membership, plans)


def _overlapping(
    start: dt.date,
    end: dt.date | None,
    others: Sequence[tuple[dt.date, dt.date | None, int]],
    *,
    in_file: bool = False,
) -> str | None:
    """The membership rule: periods [started_on, ended_on) of one enterprise, chain, role
    and node must not meet (as the API's duplicate check)."""
    for other_start, other_end, ref in others:
        if (other_end is None or other_end > start) and (end is None or other_start < end):
            where = f"第{ref}行" if in_file else f"成员关系{ref}（自{other_start}起）"
            return (
                f"该企业已以相同角色在本链（同一节点）登记，见{where}，期间重叠 / the enterprise "
                "already holds a membership with this role on this chain and node for an "
                "overlapping period"
            )
    return None


# ---------------------------------------------------------------------------- projects

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
        nationals = [r.values["national_code"] for r in rows if r.values.get("national_code")]
        national_owner: dict[str, str] = {}
        for part in batched(set(nationals)):
            for code, internal in session.execute(
                select(Project.national_code, Project.internal_code).where(
                    in_values(session, Project.national_code, part)
                )
            ):
                national_owner[code] = internal
        plans_by_project: dict[int, dict[int, ProjectAnnualPlan]] = {}
        for part in batched({p.id for p in existing.values()}):
            for plan in session.scalars(
                select(ProjectAnnualPlan).where(
                    in_values(session, ProjectAnnualPlan.project_id, part)
                )
            ):
                plans_by_project.setdefault(plan.project_id, {})[plan.year] = plan
        out = []
        for r in rows:
            project = existing.get(r.values["internal_code"])
            out.append(
                self._plan_row(
                    r,
                    project,
                    owners,
                    national_owner,
                    plans_by_project.get(project.id, {}) if project else {},
                )
            )
        return out

    def _plan_row(
        self,
        parsed: ParsedRow,
        project: Project | None,
        owners: dict[str, Any],
        national_owner: dict[str, str],
        plans: dict[int, ProjectAnnualPlan],
    ) -> Plan:
        v, row, spec = parsed.values, parsed.row, self.spec
        code = v["internal_code"]
        errors: list[RowError] = []
        chain: int | RowError
        if project is not None and not v.get("chain_code") and self.scope.chain_id is None:
            chain = project.chain_id
        else:
            chain = self.resolve_chain(spec, parsed)
        if isinstance(chain, RowError):
            errors.append(chain)
        if project is not None:
            self.scope.check(project.chain_id, row, f"项目{code}")
            if isinstance(chain, int) and chain != project.chain_id:
                errors.append(
                    row_error(
                        spec,
                        row,
                        "chain_code",
                        f"项目{code}属于产业链{self.chains.code_of(project.chain_id)}，不能通过导入"
                        f"改到其他产业链 / project {code} belongs to chain "
                        f"{self.chains.code_of(project.chain_id)}",
                        "chain_mismatch",
                    )
                )
        owner_id = None
        if v.get("owner_uscc"):
            owner = owners.get(v["owner_uscc"])
            if owner is None:
                errors.append(_unknown_enterprise(spec, row, "owner_uscc", v["owner_uscc"]))
            else:
                owner_id = owner.id
                if v.get("owner_name") and v["owner_name"] not in (
                    owner.name,
                    *(owner.former_names or []),
                ):
                    errors.append(
                        row_error(
                            spec,
                            row,
                            "owner_name",
                            f"业主单位“{v['owner_name']}”与信用代码登记的企业“{owner.name}”不符 / "
                            "the owner's name does not match the USCC",
                            "name_mismatch",
                            v["owner_name"],
                        )
                    )
        national = v.get("national_code")
        if national:
            holder = national_owner.get(national)
            first = self.national_seen.setdefault(national, row)
            if holder is not None and holder != code:
                errors.append(
                    row_error(
                        spec,
                        row,
                        "national_code",
                        f"国家项目代码{national}已被项目{holder}使用 / national code already "
                        f"used by project {holder}",
                        "duplicate",
                        national,
                    )
                )
            elif first != row:
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
        plan_in = v.get("annual_plan")
        body: dict[str, Any] = {
            "chain_id": chain if isinstance(chain, int) else (project.chain_id if project else 1),
            "internal_code": code,
            "owner_enterprise_id": owner_id,
            **{k: v[k] for k in PROJECT_FIELDS if k not in _NOT_IN_SCHEMA and v.get(k) is not None},
        }
        if plan_in:
            body["annual_plans"] = [plan_in]
        if project is None and v.get("status") is not None:
            body["status"] = v["status"]
        try:
            data = ProjectCreate.model_validate(body)
        except ValidationError as exc:
            errors += validation_errors(spec, row, exc, _SCHEMA_FIELDS)
            data = None
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
        total = data.total_investment
        amounts = {year: p.planned_investment for year, p in plans.items()}
        if plan_in:
            amounts[plan_in["year"]] = data.annual_plans[0].planned_investment
        planned = plans_exceed(total, amounts.values())
        if planned is not None:
            return failed(
                spec,
                row,
                code,
                row_error(
                    spec,
                    row,
                    "planned_investment" if plan_in else "total_investment",
                    f"年度计划投资合计{planned}万元超过总投资{total}万元 / annual plans sum to "
                    f"{planned}, more than the total investment {total}",
                    "plans_exceed_total",
                ),
            )
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
