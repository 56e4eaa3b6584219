"""Importing chain memberships (链上企业): upsert by chain, enterprise, role, node and start.

Rules are the API's, from ``memberships.service``: the node must be on the row's chain
(a node code is looked up on that chain), one membership per enterprise, chain, role and
node at a time (``check_no_overlap``, also between rows of one file), a membership ends
on or after its start (``check_date_order``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.imports.bulk import create_or_update
from chaintrack.imports.engine import Plan, failed, row_error
from chaintrack.imports.handlers_common import (
    ChainScoped,
    name_check,
    rule_errors,
    unknown_enterprise,
)
from chaintrack.imports.resolvers import NodeCodes, batched, enterprises_by_uscc, in_values
from chaintrack.imports.schemas import Action
from chaintrack.memberships.service import check_date_order, check_no_overlap, periods_meet
from chaintrack.models import Membership
from chaintrack.sheets.specs import ParsedRow, RowError, SheetSpec, get_spec

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
                errors.append(unknown_enterprise(spec, row, "uscc", v["uscc"]))
            else:
                errors += name_check(spec, row, v.get("enterprise_name"), ent)
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
        others = [(m.id, m.started_on, m.ended_on) for m in group if m is not match]
        if match is not None:
            end = v.get("ended_on") if self.has("ended_on") else match.ended_on
        errors = rule_errors(spec, row, "ended_on", check_date_order, start, end, "ended_on")
        if not errors:  # the API's rule against the memberships on record, then the file's
            errors = rule_errors(
                spec, row, "started_on", check_no_overlap, v["role"], start, end, others
            )
        if not errors and match is None:
            errors = _overlapping_row(spec, row, start, end, self.planned.get(group_key, []))
        if errors:
            return failed(spec, row, key, *errors)
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


def _overlapping_row(
    spec: SheetSpec,
    row: int,
    start: dt.date,
    end: dt.date | None,
    planned: Sequence[tuple[dt.date, dt.date | None, int]],
) -> list[RowError]:
    """The membership rule between rows of the file (periods that meet, as
    ``memberships.service.periods_meet`` says)."""
    for other_start, other_end, other_row in planned:
        if periods_meet(start, end, other_start, other_end):
            message = (
                f"该企业已以相同角色在本链（同一节点）登记，见第{other_row}行，期间重叠 / the "
                "enterprise already holds a membership with this role on this chain and node "
                f"for an overlapping period (row {other_row})"
            )
            return [row_error(spec, row, "started_on", message, "overlap")]
    return []
