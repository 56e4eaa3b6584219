"""Importing the entries of one list (清单条目).

An entry is matched by what it references (the enterprise or project: once per list;
a node together with the title) or, for free-standing entries, by its title.
Attributes are checked against the list type's fields by the API's own
``validate_attributes``; decimals compare as numbers, so an exported ``1250.50`` read
back as ``1250.5`` is not a change. References must be on the list's chain (an
enterprise registered to it, a project or node of it), as for POST .../entries.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chaintrack.imports.bulk import create_or_update
from chaintrack.imports.engine import Handler, Plan, failed, row_error
from chaintrack.imports.resolvers import (
    NodeCodes,
    batched,
    enterprises_by_uscc,
    in_values,
    projects_by_code,
)
from chaintrack.imports.schemas import Action
from chaintrack.lists.attributes import FieldSpec, parse_fields, validate_attributes
from chaintrack.lists.service_entries import reference_error
from chaintrack.models import ChainList, ListEntry, ListType, Membership
from chaintrack.models.enums import FieldType
from chaintrack.sheets.specs import ParsedRow, RowError, SheetSpec, list_entry_spec

_REF_FIELD = {"enterprise": "uscc", "project": "project_code", "node": "node_code"}


def entry_spec(list_type: ListType) -> SheetSpec:
    return list_entry_spec(
        list_type.fields,
        entry_ref=list_type.entry_ref,
        name_zh=list_type.name_zh,
        code=list_type.code,
    )


def same_attributes(
    fields: Sequence[FieldSpec], a: Mapping[str, Any], b: Mapping[str, Any]
) -> bool:
    """Equal attribute sets; decimal fields compare as numbers."""
    if a.keys() != b.keys():
        return False
    kinds = {f.name: f.type for f in fields}
    for name, value in a.items():
        other = b[name]
        if kinds.get(name) is FieldType.DECIMAL:
            try:
                if Decimal(str(value)) != Decimal(str(other)):
                    return False
            except InvalidOperation:
                return False
        elif value != other:
            return False
    return True


class ListEntryHandler(Handler):
    entity = "list_entries"

    def __init__(self, chain_list: ChainList, list_type: ListType) -> None:
        self.chain_list = chain_list
        self.list_type = list_type
        self.spec = entry_spec(list_type)
        self.fields = parse_fields(list_type.fields)
        self.ref = list_type.entry_ref
        self.ref_field = _REF_FIELD.get(self.ref or "")
        self.attribute_columns = {
            c.path[1]: c.field for c in self.spec.columns if c.path[0] == "attributes"
        }

    def start(self, session: Session, columns: set[str]) -> None:
        super().start(session, columns)
        entries = session.scalars(
            select(ListEntry).where(ListEntry.list_id == self.chain_list.id)
        ).all()
        self.by_ref: dict[tuple[str, Any], ListEntry] = {}
        self.by_title: dict[str, ListEntry] = {}
        for e in entries:
            if e.enterprise_id is not None:
                self.by_ref[("enterprise", e.enterprise_id)] = e
            elif e.project_id is not None:
                self.by_ref[("project", e.project_id)] = e
            elif e.node_id is not None:
                self.by_ref[("node", (e.node_id, e.title))] = e
            else:
                self.by_title.setdefault(e.title, e)
        self.next_position = (
            session.scalar(
                select(func.max(ListEntry.position)).where(ListEntry.list_id == self.chain_list.id)
            )
            or 0
        ) + 1
        self.nodes = NodeCodes()

    def key(self, values: Mapping[str, Any]) -> Hashable:
        ref = values.get(self.ref_field) if self.ref_field else None
        if ref and self.ref != "node":
            return ("ref", ref)
        return ("title", ref, values["title"])

    def key_text(self, values: Mapping[str, Any]) -> str:
        ref = values.get(self.ref_field) if self.ref_field else None
        return f"{ref} {values['title']}" if ref else values["title"]

    def plan(self, session: Session, rows: Sequence[ParsedRow]) -> list[Plan]:
        chain_id = self.chain_list.chain_id
        field_name = self.ref_field
        refs: list[str] = (
            [str(r.values[field_name]) for r in rows if r.values.get(field_name)]
            if field_name
            else []
        )
        resolved: dict[str, int | RowError | str] = {}
        if self.ref == "enterprise" and refs:
            ents = enterprises_by_uscc(session, refs)
            on_chain: set[int] = set()
            for part in batched({e.id for e in ents.values()}):
                on_chain.update(
                    session.scalars(
                        select(Membership.enterprise_id)
                        .where(
                            Membership.chain_id == chain_id,
                            in_values(session, Membership.enterprise_id, part),
                        )
                        .distinct()
                    )
                )
            for uscc in refs:
                ent = ents.get(uscc)
                if ent is None:
                    resolved[uscc] = "unknown"
                elif ent.id not in on_chain:
                    resolved[uscc] = "not_on_chain"
                else:
                    resolved[uscc] = ent.id
        elif self.ref == "project" and refs:
            projects = projects_by_code(session, refs)
            for code in refs:
                p = projects.get(code)
                resolved[code] = (
                    "unknown" if p is None else ("cross_chain" if p.chain_id != chain_id else p.id)
                )
        elif self.ref == "node" and refs:
            self.nodes.load(session, {(chain_id, c) for c in refs})
            for code in refs:
                node_id = self.nodes.get(chain_id, code)
                resolved[code] = "unknown" if node_id is None else node_id
        return [self._plan_row(r, resolved) for r in rows]

    def _ref_problem(self, row: int, value: str, state: str) -> RowError:
        """The API's reference rule (``reference_error``) on what the chunk looked up."""
        kind = self.ref or ""
        error = reference_error(
            kind, self.ref_field or "", value, exists=state != "unknown", on_chain=False
        )
        assert error is not None  # an unknown or off-chain reference is always an error
        return row_error(self.spec, row, self.ref_field, error.message, error.code or state, value)

    def _attribute_errors(self, row: int, errors: Sequence[Any]) -> list[RowError]:
        out = []
        for e in errors:
            name = e.field.removeprefix("attributes.")
            column = self.attribute_columns.get(name)
            out.append(row_error(self.spec, row, column, e.message, e.code or "invalid"))
        return out

    def _plan_row(self, parsed: ParsedRow, resolved: dict[str, Any]) -> Plan:
        v, row, spec = parsed.values, parsed.row, self.spec
        key = self.key_text(v)
        ref_value = v.get(self.ref_field) if self.ref_field else None
        ref_id = None
        if ref_value:
            state = resolved.get(ref_value)
            if isinstance(state, str):
                return failed(spec, row, key, self._ref_problem(row, ref_value, state))
            ref_id = state
        if ref_id is not None and self.ref != "node":
            existing = self.by_ref.get((self.ref or "", ref_id))
        elif ref_id is not None:
            existing = self.by_ref.get(("node", (ref_id, v["title"])))
        else:
            existing = self.by_title.get(v["title"])
        given = dict(v.get("attributes") or {})
        attributes = dict(existing.attributes or {}) if existing is not None else {}
        for name, column_field in self.attribute_columns.items():
            if self.has(column_field):
                attributes.pop(name, None)
        attributes.update(given)
        normalised, errors = validate_attributes(self.fields, attributes)
        if errors:
            return failed(spec, row, key, *self._attribute_errors(row, errors))
        ref_column = {"enterprise": "enterprise_id", "project": "project_id", "node": "node_id"}
        if existing is None:
            position = v.get("position")
            if position is None:
                position = self.next_position
                self.next_position += 1
            values: dict[str, Any] = {
                "list_id": self.chain_list.id,
                "chain_id": self.chain_list.chain_id,
                "position": position,
                "title": v["title"],
                "enterprise_id": None,
                "project_id": None,
                "node_id": None,
                "attributes": normalised,
                "note": v.get("note"),
            }
            if ref_id is not None and self.ref:
                values[ref_column[self.ref]] = ref_id
            return Plan(row, key, Action.CREATE, data=(None, values))
        diff: dict[str, Any] = {}
        if v["title"] != existing.title:
            diff["title"] = v["title"]
        position = v.get("position") if self.has("position") else None
        if position is not None and position != existing.position:
            diff["position"] = position
        if self.has("note") and v.get("note") != existing.note:
            diff["note"] = v.get("note")
        if not same_attributes(self.fields, normalised, existing.attributes or {}):
            diff["attributes"] = normalised
        if not diff:
            return Plan(row, key, Action.UNCHANGED)
        return Plan(row, key, Action.UPDATE, list(diff), data=(existing, diff))

    def apply(self, session: Session, plans: Sequence[Plan]) -> None:
        create_or_update(session, ListEntry, plans)
