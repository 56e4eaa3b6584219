"""Leads in spreadsheets: the template's columns, the import handler and the export rows.

A lead is matched by its chain and company name (产业链代码 + 目标企业). A new one is
created by :func:`service.create_lead`, an existing one changed by
:func:`service.update_lead`; both rows are first checked by the same
:func:`service.lead_errors` the API runs (on nodes and chains looked up per chunk), so
no rule is restated here. Stage, stage date and signed amount are export-only: the
pipeline moves through its steps, not through a spreadsheet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.attraction import service
from chaintrack.attraction.schemas import LeadCreate
from chaintrack.attraction.service import EDITABLE, LeadFilters
from chaintrack.history import office_today
from chaintrack.imports.engine import Handler, Plan, failed, row_error, validation_errors
from chaintrack.imports.resolvers import NodeCodes
from chaintrack.imports.schemas import Action
from chaintrack.imports.scope import Scope
from chaintrack.models import AttractionLead, AttractionLeadNode, Chain, MapNode
from chaintrack.models.attraction import LeadSource, LeadStage
from chaintrack.sheets.columns import Column
from chaintrack.sheets.kinds import ColumnKind
from chaintrack.sheets.sheetspec import ParsedRow, RowError, SheetSpec
from chaintrack.sheets.spec_helpers import date, enum, money, note, text

LEADS = SheetSpec(
    name="attraction_leads",
    title_zh="招商线索",
    title_en="Attraction leads",
    key=("chain_code", "company_name"),
    columns=(
        Column(
            "chain_code",
            "产业链代码",
            ColumnKind.CODE,
            max_length=32,
            help="产业链代码；在某条产业链下导入时可不填，填写时须与该链一致",
        ),
        text("company_name", "目标企业", 200, required=True, help="与产业链一起用作线索的标识"),
        Column(
            "uscc",
            "统一社会信用代码",
            ColumnKind.USCC,
            aliases=("信用代码",),
            help="境内企业的18位代码；没有时须填写来源地",
        ),
        text("origin", "来源国家或省份", 64, aliases=("来源地",)),
        enum("source", "线索来源", LeadSource, required=True),
        money("intended_investment", "意向投资（万元）", required=True),
        text("responsible_unit", "责任单位", 128, required=True),
        text("responsible_person", "责任人", 64, required=True),
        Column(
            "node_codes",
            "图谱节点代码",
            ColumnKind.TEXT_LIST,
            required=True,
            max_length=32,
            aliases=("节点代码",),
            help="拟补的图谱节点代码，多个用顿号或分号分隔",
        ),
        date("found_on", "线索日期", help="仅新增时使用，不填为今天"),
        note("note", "备注"),
        enum("stage", "阶段", LeadStage, export_only=True),
        date("stage_on", "阶段日期", export_only=True),
        money("signed_amount", "签约金额（万元）", export_only=True),
    ),
    notes=("已有线索（同一产业链、同一目标企业）按所填内容更新；阶段须通过跟进记录推进。",),
)

#: the API's field names that sit under another column
_COLUMN_OF = {"node_ids": "node_codes", "chain_id": "chain_code"}


def _column(field: str) -> str | None:
    head = field.split(".")[0]
    name = _COLUMN_OF.get(head, head)
    return name if name in {c.field for c in LEADS.columns} else None


@dataclass(slots=True)
class _Write:
    lead: AttractionLead | None
    data: LeadCreate
    changes: dict[str, Any]


class LeadHandler(Handler):
    entity = "attraction_leads"
    spec = LEADS

    def __init__(self, scope: Scope, today: dt.date | None = None) -> None:
        self.scope = scope
        self.today = today or office_today()

    def start(self, session: Session, columns: set[str]) -> None:
        super().start(session, columns)
        self.chains: dict[str, int] = {
            code: chain_id for chain_id, code in session.execute(select(Chain.id, Chain.code))
        }
        self.codes = {v: k for k, v in self.chains.items()}
        self.nodes = NodeCodes()

    def _chain_of(self, values: Mapping[str, Any]) -> int | str | None:
        code = values.get("chain_code")
        if code is None:
            return self.scope.chain_id
        chain_id = self.chains.get(code)
        if chain_id is None:
            return code
        if self.scope.chain_id is not None and chain_id != self.scope.chain_id:
            return code
        return chain_id

    def key(self, values: Mapping[str, Any]) -> Hashable:
        return (values.get("chain_code") or self.scope.chain_id, values["company_name"])

    def key_text(self, values: Mapping[str, Any]) -> str:
        return f"{values.get('chain_code') or ''} {values['company_name']}".strip()

    def plan(self, session: Session, rows: Sequence[ParsedRow]) -> list[Plan]:
        chain_of = {r.row: self._chain_of(r.values) for r in rows}
        wanted = {
            (c, code)
            for r in rows
            if isinstance(c := chain_of[r.row], int)
            for code in r.values.get("node_codes") or []
        }
        self.nodes.load(session, wanted)
        chain_ids = {c for c in chain_of.values() if isinstance(c, int)}
        names = {r.values["company_name"] for r in rows}
        existing: dict[tuple[int, str], AttractionLead] = {}
        if chain_ids:
            for lead in session.scalars(
                select(AttractionLead)
                .where(
                    AttractionLead.chain_id.in_(chain_ids),
                    AttractionLead.company_name.in_(names),
                )
                .order_by(AttractionLead.id.desc())
            ):
                existing[(lead.chain_id, lead.company_name)] = lead
        nodes_of: dict[int, list[int]] = {}
        if existing:
            for lead_id, node_id in session.execute(
                select(AttractionLeadNode.lead_id, AttractionLeadNode.node_id)
                .where(AttractionLeadNode.lead_id.in_([x.id for x in existing.values()]))
                .order_by(AttractionLeadNode.node_id)
            ):
                nodes_of.setdefault(lead_id, []).append(node_id)
        return [self._plan_row(r, chain_of[r.row], existing, nodes_of) for r in rows]

    def _plan_row(
        self,
        parsed: ParsedRow,
        chain: int | str | None,
        existing: dict[tuple[int, str], AttractionLead],
        nodes_of: dict[int, list[int]],
    ) -> Plan:
        v, row, spec = parsed.values, parsed.row, self.spec
        key = self.key_text(v)
        if chain is None:
            return failed(
                spec,
                row,
                key,
                row_error(
                    spec, row, "chain_code", "须填写产业链代码 / chain_code required", "required"
                ),
            )
        if isinstance(chain, str):
            return failed(
                spec,
                row,
                key,
                row_error(
                    spec,
                    row,
                    "chain_code",
                    f"产业链代码“{chain}”不存在或与导入的产业链不一致 / unknown or other chain",
                    "unknown_reference",
                    chain,
                ),
            )
        self.scope.check(chain, row, "线索")
        errors: list[RowError] = []
        node_ids: list[int] = []
        for code in v.get("node_codes") or []:
            node_id = self.nodes.get(chain, code)
            if node_id is None:
                errors.append(
                    row_error(
                        spec,
                        row,
                        "node_codes",
                        f"图谱节点“{code}”不在该产业链上 / node {code} is not on the chain",
                        "unknown_reference",
                        code,
                    )
                )
            else:
                node_ids.append(node_id)
        if errors:
            return failed(spec, row, key, *errors)
        lead = existing.get((chain, v["company_name"]))
        given = {k: x for k in (*EDITABLE, "found_on") if (x := v.get(k)) is not None}
        if lead is not None:  # columns not in the file keep the lead's values
            given |= {k: getattr(lead, k) for k in EDITABLE if not self.has(k) and k not in given}
        try:
            data = LeadCreate.model_validate({"chain_id": chain, "node_ids": node_ids, **given})
        except ValidationError as exc:
            return failed(spec, row, key, *validation_errors(spec, row, exc, _COLUMN_OF))
        uscc, problems = service.lead_errors(
            data,
            self.today,
            chain_known=True,
            node_chains=dict.fromkeys(node_ids, chain),
            check_found_on=lead is None,
        )
        if problems:
            return failed(
                spec,
                row,
                key,
                *(
                    row_error(spec, row, _column(e.field or ""), e.message, e.code or "invalid")
                    for e in problems
                ),
            )
        if lead is None:
            return Plan(row, key, Action.CREATE, data=_Write(None, data, {}))
        wanted: dict[str, Any] = {name: getattr(data, name) for name in EDITABLE}
        wanted["uscc"] = uscc
        changes = {
            name: value
            for name, value in wanted.items()
            if self.has(name) and getattr(lead, name) != value
        }
        if sorted(set(node_ids)) != nodes_of.get(lead.id, []):
            changes["node_ids"] = node_ids
        if not changes:
            return Plan(row, key, Action.UNCHANGED)
        return Plan(row, key, Action.UPDATE, list(changes), data=_Write(lead, data, changes))

    def apply(self, session: Session, plans: Sequence[Plan]) -> None:
        """Through the service, so its rules, the steps and the audit apply (leads are a
        register of hundreds, not of millions)."""
        for plan in plans:
            w: _Write = plan.data
            if w.lead is None:
                service.create_lead(session, w.data, self.today)
            else:
                service.update_lead(session, w.lead, w.changes, self.today)


def export_rows(session: Session, f: LeadFilters) -> Iterator[dict[str, Any]]:
    """The leads the list's filters select, in the template's format (two statements)."""
    rows = session.execute(
        select(AttractionLead, Chain.code)
        .join(Chain, Chain.id == AttractionLead.chain_id)
        .where(*service.lead_conditions(f))
        .order_by(AttractionLead.chain_id, AttractionLead.id)
    ).all()
    codes: dict[int, list[str]] = {}
    for part_start in range(0, len(rows), 5000):
        ids = [lead.id for lead, _ in rows[part_start : part_start + 5000]]
        for lead_id, code in session.execute(
            select(AttractionLeadNode.lead_id, MapNode.code)
            .join(MapNode, MapNode.id == AttractionLeadNode.node_id)
            .where(AttractionLeadNode.lead_id.in_(ids))
            .order_by(AttractionLeadNode.lead_id, MapNode.position, MapNode.id)
        ):
            codes.setdefault(lead_id, []).append(code)
    for lead, chain_code in rows:
        yield {
            "chain_code": chain_code,
            **{name: getattr(lead, name) for name in EDITABLE},
            "node_codes": codes.get(lead.id, []),
            "stage": lead.stage,
            "stage_on": lead.stage_on,
            "signed_amount": lead.signed_amount,
        }
