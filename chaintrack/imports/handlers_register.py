"""Importing the shared register: enterprises (with a year's key figures). Designations
are imported by ``handlers_designations``.

Validation is the API's: each row goes through the same request schemas
(``EnterpriseCreate``, ``FiguresPut``) and the same rules (``check_year``, former names
as ``clean_former_names`` keeps them), evaluated against a chunk's rows loaded in bulk
instead of one statement per row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.enterprises.schemas import EnterpriseCreate, FiguresPut
from chaintrack.enterprises.service import check_year, clean_former_names
from chaintrack.errors import ValidationProblem
from chaintrack.imports.bulk import insert_rows
from chaintrack.imports.engine import (
    Handler,
    Plan,
    failed,
    problem_errors,
    validation_errors,
)
from chaintrack.imports.resolvers import batched, enterprises_by_uscc, in_values
from chaintrack.imports.schemas import Action
from chaintrack.models import Enterprise, EnterpriseFigures
from chaintrack.models.enums import ListingStatus
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
