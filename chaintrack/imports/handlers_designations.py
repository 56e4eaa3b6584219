"""Importing designations (梯度培育认定): upsert by enterprise, tier, level, recognition
day (and product, for a single-champion product).

Rules are the API's, from ``enterprises.service_designations``: the tier's levels
(``check_level``), the product (``check_product``), the validity and revocation dates
(``check_validity``, ``check_revocation``, ``check_not_revoked``) and one designation of a
tier and level in force at a time (``check_no_overlap``, also between rows of one file),
evaluated against a chunk's designations loaded in bulk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.enterprises.rules import designation_end
from chaintrack.enterprises.service_designations import (
    check_level,
    check_no_overlap,
    check_not_revoked,
    check_product,
    check_revocation,
    check_validity,
    periods_meet,
    same_product,
)
from chaintrack.imports.engine import (
    Handler,
    Plan,
    failed,
    row_error,
)
from chaintrack.imports.handlers_common import name_check, rule_errors, unknown_enterprise
from chaintrack.imports.resolvers import batched, enterprises_by_uscc, in_values
from chaintrack.imports.schemas import Action
from chaintrack.models import Designation, Enterprise
from chaintrack.models.enums import Tier
from chaintrack.sheets.specs import ParsedRow, RowError, get_spec

DESIGNATION_UPDATABLE = ("batch", "issuer", "valid_until", "revoked_on", "revoke_reason")


@dataclass(frozen=True, slots=True)
class _Period:
    start: dt.date
    end: dt.date | None
    product: str | None
    label: str


class DesignationHandler(Handler):
    entity = "designations"
    spec = get_spec("designations")

    def start(self, session: Session, columns: set[str]) -> None:
        super().start(session, columns)
        # Designations this file creates, by (enterprise, tier, level): the overlap rule
        # also holds between rows of one file.
        self.planned: dict[tuple[int, Tier, Any], list[_Period]] = {}

    def key(self, values: Mapping[str, Any]) -> Hashable:
        product = values.get("product") if values["tier"] is Tier.SINGLE_CHAMPION_PRODUCT else None
        return (
            values["uscc"],
            values["tier"],
            values["level"],
            values["recognised_on"],
            " ".join((product or "").split()).casefold() or None,
        )

    def key_text(self, values: Mapping[str, Any]) -> str:
        parts = [values["uscc"], values["tier"].label_zh, values["level"].label_zh]
        parts.append(values["recognised_on"].isoformat())
        if values["tier"] is Tier.SINGLE_CHAMPION_PRODUCT and values.get("product"):
            parts.append(values["product"])
        return " ".join(parts)

    def plan(self, session: Session, rows: Sequence[ParsedRow]) -> list[Plan]:
        ents = enterprises_by_uscc(session, [r.values["uscc"] for r in rows])
        by_ent: dict[int, list[Designation]] = {}
        for part in batched({e.id for e in ents.values()}):
            stmt = select(Designation).where(in_values(session, Designation.enterprise_id, part))
            for d in session.scalars(stmt.order_by(Designation.recognised_on, Designation.id)):
                by_ent.setdefault(d.enterprise_id, []).append(d)
        plans = []
        for r in rows:
            ent = ents.get(r.values["uscc"])
            plans.append(self._plan_row(session, r, ent, by_ent.get(ent.id, []) if ent else []))
        return plans

    def _plan_row(
        self, session: Session, parsed: ParsedRow, ent: Enterprise | None, held: list[Designation]
    ) -> Plan:
        v, row, spec = parsed.values, parsed.row, self.spec
        key = self.key_text(v)
        if ent is None:
            return failed(spec, row, key, unknown_enterprise(spec, row, "uscc", v["uscc"]))
        errors = name_check(spec, row, v.get("enterprise_name"), ent)
        tier, level = v["tier"], v["level"]
        product = v.get("product") or None
        # The API's rules (POST /enterprises/{id}/designations), on the loaded rows.
        errors += rule_errors(
            spec, row, "level", check_level, session, tier, level, _fields={"tier": "tier"}
        )
        errors += rule_errors(spec, row, "product", check_product, tier, product)
        if errors:
            return failed(spec, row, key, *errors)
        same = [
            d
            for d in held
            if d.tier == tier
            and d.level == level
            and (tier is not Tier.SINGLE_CHAMPION_PRODUCT or same_product(product, d.product))
        ]
        match = next((d for d in same if d.recognised_on == v["recognised_on"]), None)
        wanted = {k: v.get(k) for k in DESIGNATION_UPDATABLE if self.has(k)}
        if match is None:
            return self._plan_new(parsed, ent, same, key, product)
        errors = self._check_change(parsed, match, same, wanted)
        if errors:
            return failed(spec, row, key, *errors)
        diff = {k: val for k, val in wanted.items() if getattr(match, k) != val}
        if not diff:
            return Plan(row, key, Action.UNCHANGED)
        return Plan(row, key, Action.UPDATE, list(diff), data=(match, diff))

    def _planned_overlap(
        self, row: int, start: dt.date, end: dt.date | None, planned: list[_Period]
    ) -> list[RowError]:
        """The overlap rule between rows of the file (``periods_meet``, as the API's)."""
        for other in planned:
            if periods_meet(start, end, other.start, other.end):
                return [
                    row_error(
                        self.spec,
                        row,
                        "recognised_on",
                        f"该企业已有同梯度同层级的认定（{other.label}）与此期间重叠 / "
                        "a designation of the same tier and level overlaps this period",
                        "overlap",
                    )
                ]
        return []

    def _plan_new(
        self,
        parsed: ParsedRow,
        ent: Enterprise,
        same: list[Designation],
        key: str,
        product: str | None,
    ) -> Plan:
        v, row, spec = parsed.values, parsed.row, self.spec
        start = v["recognised_on"]
        end = designation_end(v.get("valid_until"), v.get("revoked_on"))
        tier = v["tier"]
        errors = rule_errors(spec, row, "valid_until", check_validity, start, v.get("valid_until"))
        errors += rule_errors(
            spec,
            row,
            "revoked_on",
            check_revocation,
            start,
            v.get("valid_until"),
            v.get("revoked_on"),
        )
        errors += rule_errors(
            spec,
            row,
            "recognised_on",
            check_no_overlap,
            tier=tier,
            product=product,
            start=start,
            end=end,
            held=same,
        )
        group = (ent.id, tier, v["level"])
        if not errors:
            planned = [
                p
                for p in self.planned.get(group, [])
                if tier is not Tier.SINGLE_CHAMPION_PRODUCT or same_product(product, p.product)
            ]
            errors = self._planned_overlap(row, start, end, planned)
        if errors:
            return failed(spec, row, key, *errors)
        self.planned.setdefault(group, []).append(_Period(start, end, product, f"第{row}行"))
        values = {
            "enterprise_id": ent.id,
            "tier": v["tier"],
            "level": v["level"],
            "product": product,
            "recognised_on": start,
            **{k: v.get(k) for k in DESIGNATION_UPDATABLE},
        }
        return Plan(row, key, Action.CREATE, data=(None, values))

    def _check_change(
        self,
        parsed: ParsedRow,
        match: Designation,
        same: list[Designation],
        wanted: dict[str, Any],
    ) -> list[RowError]:
        """The rules of correcting and revoking a designation (PATCH and /revoke)."""
        spec, row = self.spec, parsed.row
        errors: list[RowError] = []
        revoked_on = wanted.get("revoked_on", match.revoked_on)
        valid_until = wanted.get("valid_until", match.valid_until)
        if revoked_on != match.revoked_on:
            errors += rule_errors(spec, row, "revoked_on", check_not_revoked, match)
        if valid_until != match.valid_until:
            errors += rule_errors(
                spec, row, "valid_until", check_validity, match.recognised_on, valid_until
            )
        if revoked_on != match.revoked_on or valid_until != match.valid_until:
            errors += rule_errors(
                spec,
                row,
                "revoked_on",
                check_revocation,
                match.recognised_on,
                valid_until,
                revoked_on,
            )
        end = designation_end(valid_until, revoked_on)
        if end != designation_end(match.valid_until, match.revoked_on):
            errors += rule_errors(
                spec,
                row,
                "valid_until",
                check_no_overlap,
                tier=match.tier,
                product=match.product,
                start=match.recognised_on,
                end=end,
                held=[d for d in same if d.id != match.id],
                field="valid_until",
            )
        return errors

    def apply(self, session: Session, plans: Sequence[Plan]) -> None:
        new = []
        for plan in plans:
            existing, values = plan.data
            if existing is None:
                new.append(Designation(**values))
            else:
                for name, value in values.items():
                    setattr(existing, name, value)
        session.add_all(new)
