"""Importing the shared register: enterprises (with a year's key figures) and designations.

Validation is the API's: each row goes through the same request schemas
(``EnterpriseCreate``, ``FiguresPut``) and the same rules (``check_year``, the
designation level, product and overlap rules), evaluated against a chunk's rows
loaded in bulk instead of one statement per row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.enterprises.rules import designation_end
from chaintrack.enterprises.schemas import EnterpriseCreate, FiguresPut
from chaintrack.enterprises.service import check_year, clean_former_names
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
from chaintrack.errors import ValidationProblem
from chaintrack.imports.bulk import insert_rows
from chaintrack.imports.engine import (
    Handler,
    Plan,
    failed,
    problem_errors,
    row_error,
    validation_errors,
)
from chaintrack.imports.handlers_common import name_check, rule_errors, unknown_enterprise
from chaintrack.imports.resolvers import batched, enterprises_by_uscc, in_values
from chaintrack.imports.schemas import Action
from chaintrack.models import Designation, Enterprise, EnterpriseFigures
from chaintrack.models.enums import ListingStatus, Tier
from chaintrack.sheets.specs import ParsedRow, RowError, get_spec

ENTERPRISE_FIELDS = (
    "name",
    "former_names",
    "region_code",
    "size_class",
    "ownership",
    "listing_status",
    "stock_code",
    "founded_on",
    "address",
    "note",
)
FIGURE_FIELDS = ("revenue", "employees", "rd_spend")


@dataclass(slots=True)
class _EnterpriseWrite:
    enterprise: Enterprise | None  # None: create
    values: dict[str, Any]  # all fields (create) or the changed ones (update)
    year: int | None = None
    figures: EnterpriseFigures | None = None  # existing row of that year
    figure_values: dict[str, Any] | None = None  # to create or change


@dataclass(slots=True)
class _Checked:
    """A row as the request schemas see it: the enterprise (None: invalid), its errors
    and, when given and valid, the year and the figures of the given columns."""

    data: EnterpriseCreate | None
    errors: list[RowError]
    year: int | None = None
    figure_values: dict[str, Any] | None = None


class EnterpriseHandler(Handler):
    entity = "enterprises"
    spec = get_spec("enterprises")

    def key(self, values: Mapping[str, Any]) -> Hashable:
        return values["uscc"]

    def start(self, session: Session, columns: set[str]) -> None:
        super().start(session, columns)
        self.fields = [k for k in ENTERPRISE_FIELDS if k in columns]
        self.figure_fields = [k for k in FIGURE_FIELDS if k in columns]
        self.year_errors: dict[int, list[RowError] | None] = {}

    def plan(self, session: Session, rows: Sequence[ParsedRow]) -> list[Plan]:
        existing = enterprises_by_uscc(session, [r.values["uscc"] for r in rows])
        figures = self._existing_figures(session, rows, existing)
        return [self._plan_row(r, existing.get(r.values["uscc"]), figures) for r in rows]

    def _existing_figures(
        self, session: Session, rows: Sequence[ParsedRow], existing: dict[str, Enterprise]
    ) -> dict[tuple[int, int], EnterpriseFigures]:
        wanted = {
            (existing[r.values["uscc"]].id, r.values["figures"]["year"])
            for r in rows
            if r.values["uscc"] in existing and (r.values.get("figures") or {}).get("year")
        }
        out: dict[tuple[int, int], EnterpriseFigures] = {}
        years = {y for _, y in wanted}
        for part in batched({e for e, _ in wanted}):
            stmt = select(EnterpriseFigures).where(
                in_values(session, EnterpriseFigures.enterprise_id, part),
                in_values(session, EnterpriseFigures.year, years),
            )
            for row in session.scalars(stmt):
                out[(row.enterprise_id, row.year)] = row
        return out

    def _year_errors(self, row: int, year: int) -> list[RowError]:
        """check_year's verdict, once per distinct year of the file (it depends on the
        year and today only); errors carry the row they are reported for."""
        if year not in self.year_errors:
            try:
                check_year(year)
                self.year_errors[year] = None
            except ValidationProblem as problem:
                self.year_errors[year] = problem_errors(self.spec, 0, problem, "year")
        found = self.year_errors[year]
        return [dataclasses.replace(e, row=row) for e in found] if found else []

    def prepare(self, parsed: ParsedRow) -> _Checked:
        """The request schemas' verdict on a row (``EnterpriseCreate``, ``FiguresPut``,
        the year rule): needs no database, so it runs in the read-ahead thread."""
        v = parsed.values
        spec, row = self.spec, parsed.row
        given = {k: x for k in self.fields if (x := v.get(k)) is not None and x != []}
        given["uscc"] = v["uscc"]
        try:
            data = EnterpriseCreate.model_validate(given)
        except ValidationError as exc:
            return _Checked(None, validation_errors(spec, row, exc))
        checked = _Checked(data, [])
        group = v.get("figures")
        if group and (year := group.get("year")) is not None:
            checked.errors += self._year_errors(row, year)
            given_figs = {k: group.get(k) for k in self.figure_fields}
            try:
                figs = FiguresPut.model_validate(given_figs)
            except ValidationError as exc:
                checked.errors += validation_errors(spec, row, exc)
            else:
                checked.year = year
                checked.figure_values = {k: getattr(figs, k) for k in given_figs}
        return checked

    def _plan_row(
        self,
        parsed: ParsedRow,
        ent: Enterprise | None,
        figures: dict[tuple[int, int], EnterpriseFigures],
    ) -> Plan:
        spec, row, uscc = self.spec, parsed.row, parsed.values["uscc"]
        checked = parsed.prepared if parsed.prepared is not None else self.prepare(parsed)
        data = checked.data
        if data is None or checked.errors:
            return failed(spec, row, uscc, *checked.errors)
        clean = dict(data.__dict__)  # the validated fields (model_dump, without its cost)
        write = _EnterpriseWrite(ent, {})
        changes: list[str] = []
        if ent is None:
            clean.pop("uscc")
            clean["former_names"] = clean_former_names(data.former_names, data.name)
            write.values = clean
        else:
            wanted = {k: clean[k] for k in self.fields}
            if "listing_status" in wanted and wanted["listing_status"] is None:
                wanted["listing_status"] = ListingStatus.UNLISTED
            # Renaming keeps the old name among the former names (as PATCH does).
            former = list(wanted.get("former_names", ent.former_names or []))
            if data.name != ent.name:
                former.append(ent.name)
            cleaned = clean_former_names(former, data.name)
            if cleaned != (ent.former_names or []):
                wanted["former_names"] = cleaned
            else:
                wanted.pop("former_names", None)
            write.values = {k: val for k, val in wanted.items() if getattr(ent, k) != val}
            changes.extend(write.values)
        year, fig_values = checked.year, checked.figure_values
        if year is not None and fig_values is not None:
            current = figures.get((ent.id, year)) if ent is not None else None
            write.year = year
            if current is None:
                if any(val is not None for val in fig_values.values()):
                    write.figure_values = fig_values
                    changes.append(f"figures.{year}")
            else:
                diff = {k: val for k, val in fig_values.items() if getattr(current, k) != val}
                if diff:
                    write.figures, write.figure_values = current, diff
                    changes.extend(f"figures.{k}" for k in diff)
        if ent is None:
            return Plan(row, uscc, Action.CREATE, data=write)
        if changes:
            return Plan(row, uscc, Action.UPDATE, changes, data=write)
        return Plan(row, uscc, Action.UNCHANGED)

    def apply(self, session: Session, plans: Sequence[Plan]) -> None:
        writes: list[_EnterpriseWrite] = [p.data for p in plans]
        new_rows: list[dict[str, Any]] = []
        new_writes: list[_EnterpriseWrite] = []
        for w, plan in zip(writes, plans, strict=True):
            if w.enterprise is None:
                new_rows.append({"uscc": plan.key, **w.values})
                new_writes.append(w)
            else:
                for name, value in w.values.items():
                    setattr(w.enterprise, name, value)
        ids = insert_rows(session, Enterprise, new_rows)
        enterprise_ids = {id(w): ent_id for w, ent_id in zip(new_writes, ids, strict=True)}
        figure_rows = []
        for w in writes:
            if w.figure_values is None:
                continue
            if w.figures is None:
                ent_id = w.enterprise.id if w.enterprise is not None else enterprise_ids[id(w)]
                values = dict.fromkeys(FIGURE_FIELDS)
                values.update(w.figure_values)
                figure_rows.append({"enterprise_id": ent_id, "year": w.year, **values})
            else:
                for name, value in w.figure_values.items():
                    setattr(w.figures, name, value)
        insert_rows(session, EnterpriseFigures, figure_rows)


# ------------------------------------------------------------------------ designations

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
