"""Investment attraction (招商): the rules. Services flush, never commit.

A lead belongs to one chain and targets nodes of that chain; it moves along
:mod:`chaintrack.attraction.pipeline`, one dated step at a time. At 落地 it is
converted through the enterprises, memberships and projects services (no retyping),
and the lead, the enterprise and the project point at one another: the lead holds
``enterprise_id`` and ``project_id``; the reverse look-ups are :func:`lead_of_project`
and the ``enterprise_id`` / ``project_id`` filters of :func:`list_leads`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Select, and_, case, delete, func, select, type_coerce
from sqlalchemy.orm import Session

from chaintrack.assessment.indicators import city_of
from chaintrack.attraction import pipeline
from chaintrack.attraction.schemas import (
    FundsIn,
    FundsOut,
    FunnelOut,
    GapCoverage,
    GapLead,
    LandIn,
    LeadCreate,
    LeadListItem,
    LeadOut,
    LeadStepOut,
    StageFigure,
    StepIn,
)
from chaintrack.audit.capture import context as audit_context
from chaintrack.common.pagination import Paged, PageParams, paginate
from chaintrack.common.refs import ChainRef, EnterpriseRef, NodeRef, ProjectRef
from chaintrack.enterprises.schemas import EnterpriseCreate
from chaintrack.enterprises.service import checked_uscc, create_enterprise
from chaintrack.errors import Conflict, FieldError, ValidationProblem, not_found
from chaintrack.memberships.schemas import MembershipCreate
from chaintrack.memberships.service import create_membership
from chaintrack.models import (
    AttractionFunds,
    AttractionLead,
    AttractionLeadNode,
    AttractionStep,
    Chain,
    Enterprise,
    MapNode,
    Membership,
    Project,
    ProjectTarget,
)
from chaintrack.models.assessment import AssessmentTarget, Indicator, IndicatorKind, SubjectKind
from chaintrack.models.attraction import LeadSource, LeadStage
from chaintrack.models.base import Money, utcnow
from chaintrack.models.enums import Assessment, MembershipRole, ProjectStatus, ProjectType
from chaintrack.projects.lifecycle import allowed_next as project_allowed_next
from chaintrack.projects.schemas import ProjectCreate, TransitionIn
from chaintrack.projects.service import create_project
from chaintrack.projects.service_lifecycle import transition

API_PATH = "/api/v1/attraction/leads"
CONVERSION_TYPES = (ProjectType.FILL, ProjectType.EXTEND)
ZERO = Decimal(0)


# --- helpers ---------------------------------------------------------------------------


def _field(name: str, message: str, code: str = "invalid") -> FieldError:
    return FieldError(location="body", field=name, message=message, code=code)


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise ValidationProblem(summary, errors=errors)


def get_lead(session: Session, lead_id: int) -> AttractionLead:
    lead = session.get(AttractionLead, lead_id)
    if lead is None:
        raise not_found("attraction lead", lead_id)
    return lead


def touch(lead: AttractionLead) -> None:
    """Mark the lead changed, so its version (ETag) moves on at the next flush."""
    lead.updated_at = utcnow()


def _not_future(name: str, day: dt.date, today: dt.date, errors: list[FieldError]) -> None:
    if day > today:
        errors.append(
            _field(name, f"日期 {day} 晚于今天 {today} / {day} is in the future", "future_date")
        )


def _actor_id(session: Session) -> int | None:
    ctx = audit_context(session)
    return ctx.user_id if ctx is not None else None


def _step(
    session: Session,
    lead: AttractionLead,
    to_stage: LeadStage,
    day: dt.date,
    actor: str,
    summary: str,
    next_step: str | None = None,
    next_contact_on: dt.date | None = None,
    from_stage: LeadStage | None = None,
) -> AttractionStep:
    step = AttractionStep(
        lead_id=lead.id,
        from_stage=from_stage,
        to_stage=to_stage,
        happened_on=day,
        actor=actor,
        summary=summary,
        next_step=next_step,
        next_contact_on=next_contact_on,
        recorded_by=_actor_id(session),
    )
    session.add(step)
    return step


def _refuse_move(lead: AttractionLead, target: LeadStage) -> Conflict:
    allowed = pipeline.allowed_next(lead.stage)
    names = ", ".join(s.value for s in allowed) or "无（终态）/ none (terminal)"
    return Conflict(
        f"线索阶段不能从“{lead.stage.label_zh}”变为“{target.label_zh}” / a lead cannot move "
        f"from {lead.stage.value} to {target.value}; allowed: {names}",
        current_stage=lead.stage.value,
        requested_stage=target.value,
        allowed=[s.value for s in allowed],
    )


# --- writes ----------------------------------------------------------------------------


def lead_errors(
    data: LeadCreate,
    today: dt.date,
    *,
    chain_known: bool,
    node_chains: Mapping[int, int],
    check_found_on: bool = True,
) -> tuple[str | None, list[FieldError]]:
    """The rules of a lead's fields, on what the caller looked up: the checked USCC (or
    the origin without one), a known chain, nodes of that chain, a date not in the
    future. The API (create, PATCH) and the spreadsheet import share this."""
    errors: list[FieldError] = []
    uscc: str | None = None
    if data.uscc:
        try:
            uscc = checked_uscc(data.uscc)
        except ValidationProblem as problem:
            errors.extend(problem.errors or [_field("uscc", problem.detail or "invalid")])
    elif not data.origin:
        errors.append(
            _field(
                "origin",
                "无统一社会信用代码时须填写来源国家或省份 / without a USCC, give the country "
                "or province of origin",
                "required",
            )
        )
    if not chain_known:
        errors.append(_field("chain_id", f"产业链 {data.chain_id} 不存在", "unknown_reference"))
        return uscc, errors
    for i, node_id in enumerate(data.node_ids):
        name = f"node_ids.{i}"
        if node_id not in node_chains:
            errors.append(
                _field(
                    name,
                    f"图谱节点 {node_id} 不存在 / map node {node_id} does not exist",
                    "unknown_reference",
                )
            )
        elif node_chains[node_id] != data.chain_id:
            errors.append(
                _field(
                    name,
                    f"图谱节点 {node_id} 不属于本产业链 / map node {node_id} belongs to "
                    f"another chain (cross-chain reference)",
                    "cross_chain",
                )
            )
    if check_found_on:
        _not_future("found_on", data.found_on or today, today, errors)
    return uscc, errors


def node_chains_of(session: Session, node_ids: Sequence[int]) -> dict[int, int]:
    """node id -> its chain, for the given ids (one statement)."""
    if not node_ids:
        return {}
    return {
        node_id: chain_id
        for node_id, chain_id in session.execute(
            select(MapNode.id, MapNode.chain_id).where(MapNode.id.in_(set(node_ids)))
        )
    }


def create_lead(
    session: Session, data: LeadCreate, today: dt.date, actor: str | None = None
) -> AttractionLead:
    uscc, errors = lead_errors(
        data,
        today,
        chain_known=session.get(Chain, data.chain_id) is not None,
        node_chains=node_chains_of(session, data.node_ids),
    )
    _raise_if(errors)
    node_ids = list(dict.fromkeys(data.node_ids))
    found_on = data.found_on or today
    lead = AttractionLead(
        chain_id=data.chain_id,
        company_name=data.company_name,
        uscc=uscc,
        origin=data.origin,
        source=data.source,
        intended_investment=data.intended_investment,
        responsible_unit=data.responsible_unit,
        responsible_person=data.responsible_person,
        stage=LeadStage.LEAD,
        stage_on=found_on,
        note=data.note,
    )
    session.add(lead)
    session.flush()
    session.add_all(
        AttractionLeadNode(lead_id=lead.id, node_id=n, chain_id=lead.chain_id) for n in node_ids
    )
    _step(
        session,
        lead,
        LeadStage.LEAD,
        found_on,
        actor or data.responsible_person,
        "登记线索 / lead recorded",
    )
    session.flush()
    return lead


#: The fields PATCH (and an import's update) may change; the chain, the stage and the
#: conversion links move only through their own routes.
EDITABLE = (
    "company_name",
    "uscc",
    "origin",
    "source",
    "intended_investment",
    "responsible_unit",
    "responsible_person",
    "note",
)


def update_lead(
    session: Session, lead: AttractionLead, changes: Mapping[str, Any], today: dt.date
) -> list[str]:
    """Change a lead's fields and nodes (``changes``: the PATCH body's set fields, ``node_ids``
    replacing the nodes). The merged lead passes :func:`lead_errors` as a new one would;
    a landed lead keeps its USCC (it is the registered enterprise's). Returns the names
    of what changed."""
    current_nodes = node_ids_of(session, lead.id)
    merged = {name: getattr(lead, name) for name in EDITABLE}
    merged["node_ids"] = current_nodes
    merged.update({k: v for k, v in changes.items() if k in (*EDITABLE, "node_ids")})
    try:
        data = LeadCreate.model_validate({"chain_id": lead.chain_id, **merged})
    except ValidationError as exc:
        _raise_if(
            [_field(".".join(str(p) for p in e["loc"]), e["msg"], e["type"]) for e in exc.errors()]
        )
        raise
    uscc, errors = lead_errors(
        data,
        today,
        chain_known=True,
        node_chains=node_chains_of(session, data.node_ids),
        check_found_on=False,
    )
    if lead.enterprise_id is not None and uscc != lead.uscc:
        errors.append(
            _field("uscc", "已落地线索的信用代码不能修改 / a landed lead keeps its USCC", "locked")
        )
    _raise_if(errors)
    values = {name: getattr(data, name) for name in EDITABLE}
    values["uscc"] = uscc
    changed = [name for name, value in values.items() if getattr(lead, name) != value]
    for name in changed:
        setattr(lead, name, values[name])
    node_ids = list(dict.fromkeys(data.node_ids))
    if sorted(node_ids) != current_nodes:
        session.execute(delete(AttractionLeadNode).where(AttractionLeadNode.lead_id == lead.id))
        session.add_all(
            AttractionLeadNode(lead_id=lead.id, node_id=n, chain_id=lead.chain_id) for n in node_ids
        )
        changed.append("node_ids")
    if changed:
        touch(lead)
    session.flush()
    return changed


def add_step(
    session: Session, lead: AttractionLead, data: StepIn, today: dt.date
) -> AttractionStep:
    """Record a contact, or move the lead along the pipeline (409 listing the moves)."""
    target = data.to_stage
    if target is not None and target not in pipeline.allowed_next(lead.stage):
        raise _refuse_move(lead, target)
    if target is None and lead.stage in pipeline.TERMINAL:
        raise _refuse_move(lead, lead.stage)
    errors: list[FieldError] = []
    if target is LeadStage.LANDED:
        errors.append(
            _field(
                "to_stage",
                "落地须登记企业与项目（转化） / 落地 goes through the conversion (POST …/land)",
                "use_land",
            )
        )
    _not_future("happened_on", data.happened_on, today, errors)
    if target is not None and data.happened_on < lead.stage_on:
        errors.append(
            _field(
                "happened_on",
                f"日期 {data.happened_on} 早于当前阶段的日期 {lead.stage_on} / before the "
                f"current stage's date",
                "before_previous_step",
            )
        )
    if target is LeadStage.TERMINATED and not data.reason:
        errors.append(_field("reason", "终止须说明原因 / a reason is required", "required"))
    if target is LeadStage.SIGNED and data.signed_amount is None:
        errors.append(_field("signed_amount", "签约须填写签约金额 / the signed amount", "required"))
    if target is not LeadStage.SIGNED and data.signed_amount is not None:
        errors.append(
            _field("signed_amount", "签约金额只在签约时填写 / only when signing", "not_accepted")
        )
    if data.next_contact_on is not None and data.next_contact_on < data.happened_on:
        errors.append(
            _field("next_contact_on", "下次联系日期早于本次日期 / before this step", "date_order")
        )
    _raise_if(errors)

    summary = data.summary
    if target is LeadStage.TERMINATED:
        summary = f"{summary}（终止原因：{data.reason}）"
    step = _step(
        session,
        lead,
        target or lead.stage,
        data.happened_on,
        data.actor,
        summary,
        data.next_step,
        data.next_contact_on,
        from_stage=lead.stage if target is not None else None,
    )
    if target is not None:
        if target is LeadStage.TERMINATED:
            lead.terminated_from = lead.stage
            lead.termination_reason = data.reason
        if target is LeadStage.SIGNED:
            lead.signed_amount = data.signed_amount
            lead.signed_on = data.happened_on
        if target is LeadStage.STARTED:
            _start_project(session, lead, data.happened_on, today)
        lead.stage = target
        lead.stage_on = data.happened_on
    touch(lead)
    session.flush()
    return step


def _start_project(session: Session, lead: AttractionLead, day: dt.date, today: dt.date) -> None:
    """开工: the landed project moves to 在建 through the projects lifecycle, if it may."""
    if lead.project_id is None:
        return
    project = session.get(Project, lead.project_id)
    assert project is not None
    if ProjectStatus.UNDER_CONSTRUCTION in project_allowed_next(project.status):
        transition(
            session,
            project,
            TransitionIn(to_status=ProjectStatus.UNDER_CONSTRUCTION, changed_on=day, reason=None),
            today,
        )


def record_funds(session: Session, lead: AttractionLead, data: FundsIn) -> AttractionFunds:
    """到位资金 for a month (replaces that month's figure); only once the lead is signed."""
    if pipeline.reached(lead.stage, lead.terminated_from) < pipeline.RANK[LeadStage.SIGNED]:
        raise Conflict(
            f"线索尚未签约（当前：{lead.stage.label_zh}），不能登记到位资金 / funds are "
            "recorded once the lead is signed",
            current_stage=lead.stage.value,
        )
    row = session.get(AttractionFunds, (lead.id, data.period))
    if row is None:
        row = AttractionFunds(lead_id=lead.id, period=data.period, amount=data.amount)
        session.add(row)
    else:
        row.amount = data.amount
    touch(lead)
    session.flush()
    return row


def land(session: Session, lead: AttractionLead, data: LandIn, today: dt.date) -> AttractionLead:
    """落地: link to (or register) the enterprise, put it on the chain at the lead's first
    node, and create the fill / extend project on the lead's nodes — through their
    services, so their rules and audit apply. A USCC already registered links."""
    if LeadStage.LANDED not in pipeline.allowed_next(lead.stage):
        raise _refuse_move(lead, LeadStage.LANDED)
    errors: list[FieldError] = []
    _not_future("happened_on", data.happened_on, today, errors)
    if data.happened_on < lead.stage_on:
        errors.append(_field("happened_on", f"日期早于签约日期 {lead.stage_on} / before signing"))
    if data.project_type not in CONVERSION_TYPES:
        errors.append(
            _field("project_type", "落地项目为补链或延链 / a fill or extend project", "enum")
        )
    raw = data.uscc or lead.uscc
    if not raw:
        errors.append(_field("uscc", "落地须填写注册企业的统一社会信用代码 / the USCC", "required"))
    _raise_if(errors)
    assert raw is not None
    uscc = checked_uscc(raw)
    enterprise = session.scalars(select(Enterprise).where(Enterprise.uscc == uscc)).first()
    if enterprise is None:
        enterprise = create_enterprise(
            session,
            EnterpriseCreate(
                uscc=uscc,
                name=data.enterprise_name or lead.company_name,
                region_code=data.region_code,
            ),
        )
    node_ids = node_ids_of(session, lead.id)
    on_chain = session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.enterprise_id == enterprise.id,
            Membership.chain_id == lead.chain_id,
            Membership.ended_on.is_(None),
        )
    )
    if not on_chain:
        create_membership(
            session,
            lead.chain_id,
            MembershipCreate(
                enterprise_id=enterprise.id,
                node_id=node_ids[0] if node_ids else None,
                role=MembershipRole.SUPPORTING,
                started_on=data.happened_on,
                note=f"招商落地（线索 {lead.id}）",
            ),
        )
    project = create_project(
        session,
        ProjectCreate(
            chain_id=lead.chain_id,
            name=data.project_name,
            type=data.project_type,
            owner_enterprise_id=enterprise.id,
            region_code=data.region_code,
            total_investment=data.total_investment
            or lead.signed_amount
            or lead.intended_investment,
            target_node_ids=node_ids,
            status=ProjectStatus.SIGNED,
            status_date=data.happened_on,
            responsible_unit=lead.responsible_unit,
        ),
        today,
    )
    _step(
        session,
        lead,
        LeadStage.LANDED,
        data.happened_on,
        data.actor,
        data.summary or f"落地注册：{enterprise.name}；项目 {project.internal_code}",
        from_stage=lead.stage,
    )
    lead.uscc = uscc
    lead.enterprise_id = enterprise.id
    lead.project_id = project.id
    lead.stage = LeadStage.LANDED
    lead.stage_on = data.happened_on
    touch(lead)
    session.flush()
    return lead


# --- reads -----------------------------------------------------------------------------


def node_ids_of(session: Session, lead_id: int) -> list[int]:
    return list(
        session.scalars(
            select(AttractionLeadNode.node_id)
            .where(AttractionLeadNode.lead_id == lead_id)
            .order_by(AttractionLeadNode.node_id)
        )
    )


def lead_of_project(session: Session, project_id: int) -> AttractionLead | None:
    """The lead a project came from (the project -> lead direction of the link)."""
    return session.scalars(
        select(AttractionLead).where(AttractionLead.project_id == project_id)
    ).first()


def leads_of_enterprise(session: Session, enterprise_id: int) -> list[tuple[int, str]]:
    """(id, company name) of the leads that landed as this enterprise (the enterprise ->
    lead direction of the link), for the enterprise's page."""
    return [
        (i, n)
        for i, n in session.execute(
            select(AttractionLead.id, AttractionLead.company_name)
            .where(AttractionLead.enterprise_id == enterprise_id)
            .order_by(AttractionLead.id)
        )
    ]


@dataclass(frozen=True)
class LeadFilters:
    chain_id: int | None = None
    stage: LeadStage | None = None
    source: LeadSource | None = None
    responsible: str | None = None
    node_id: int | None = None
    enterprise_id: int | None = None
    project_id: int | None = None


def _nodes_by_lead(session: Session, lead_ids: Sequence[int]) -> dict[int, list[NodeRef]]:
    out: dict[int, list[NodeRef]] = {i: [] for i in lead_ids}
    if not lead_ids:
        return out
    rows = session.execute(
        select(AttractionLeadNode.lead_id, MapNode.id, MapNode.code, MapNode.name_zh)
        .join(MapNode, MapNode.id == AttractionLeadNode.node_id)
        .where(AttractionLeadNode.lead_id.in_(lead_ids))
        .order_by(AttractionLeadNode.lead_id, MapNode.position, MapNode.id)
    ).all()
    for lead_id, node_id, code, name in rows:
        # Read from the database, so valid already: no validation per node.
        out[lead_id].append(NodeRef.model_construct(id=node_id, code=code, name_zh=name))
    return out


def _item(lead: AttractionLead, chain: Chain, nodes: list[NodeRef]) -> dict[str, Any]:
    return {
        "id": lead.id,
        "chain": ChainRef.model_validate(chain),
        "company_name": lead.company_name,
        "uscc": lead.uscc,
        "origin": lead.origin,
        "source": lead.source,
        "intended_investment": lead.intended_investment,
        "responsible_unit": lead.responsible_unit,
        "responsible_person": lead.responsible_person,
        "stage": lead.stage,
        "stage_label": lead.stage.label_zh,
        "stage_on": lead.stage_on,
        "signed_amount": lead.signed_amount,
        "nodes": nodes,
        "enterprise_id": lead.enterprise_id,
        "project_id": lead.project_id,
        "version": lead.version,
    }


def lead_conditions(f: LeadFilters) -> list[ColumnElement[bool]]:
    """The WHERE of the lead list (and its export)."""
    conditions: list[ColumnElement[bool]] = []
    if f.chain_id is not None:
        conditions.append(AttractionLead.chain_id == f.chain_id)
    if f.stage is not None:
        conditions.append(AttractionLead.stage == f.stage)
    if f.source is not None:
        conditions.append(AttractionLead.source == f.source)
    if f.responsible:
        like = f"%{f.responsible}%"
        conditions.append(
            AttractionLead.responsible_person.like(like)
            | AttractionLead.responsible_unit.like(like)
        )
    if f.enterprise_id is not None:
        conditions.append(AttractionLead.enterprise_id == f.enterprise_id)
    if f.project_id is not None:
        conditions.append(AttractionLead.project_id == f.project_id)
    if f.node_id is not None:
        conditions.append(
            AttractionLead.id.in_(
                select(AttractionLeadNode.lead_id).where(AttractionLeadNode.node_id == f.node_id)
            )
        )
    return conditions


def list_leads(
    session: Session, f: LeadFilters, page: PageParams
) -> tuple[int, list[LeadListItem]]:
    """One page of leads: three statements at any size (count, page, their nodes)."""
    stmt: Select[Any] = select(AttractionLead, Chain).join(
        Chain, Chain.id == AttractionLead.chain_id
    )
    conditions = lead_conditions(f)
    stmt = stmt.where(*conditions).order_by(
        AttractionLead.stage_on.desc(), AttractionLead.id.desc()
    )
    count = select(AttractionLead.id).where(*conditions)
    paged: Paged = paginate(session, stmt, page, count=count)
    nodes = _nodes_by_lead(session, [row[0].id for row in paged.rows])
    items = [
        LeadListItem.model_validate(_item(lead, chain, nodes[lead.id]))
        for lead, chain in paged.rows
    ]
    return paged.total, items


def lead_detail(session: Session, lead_id: int) -> LeadOut:
    lead = get_lead(session, lead_id)
    chain = session.get(Chain, lead.chain_id)
    assert chain is not None
    steps = session.scalars(
        select(AttractionStep)
        .where(AttractionStep.lead_id == lead_id)
        .order_by(AttractionStep.happened_on, AttractionStep.id)
    ).all()
    funds = session.scalars(
        select(AttractionFunds)
        .where(AttractionFunds.lead_id == lead_id)
        .order_by(AttractionFunds.period)
    ).all()
    enterprise = session.get(Enterprise, lead.enterprise_id) if lead.enterprise_id else None
    project = session.get(Project, lead.project_id) if lead.project_id else None
    return LeadOut.model_validate(
        {
            **_item(lead, chain, _nodes_by_lead(session, [lead.id])[lead.id]),
            "terminated_from": lead.terminated_from,
            "termination_reason": lead.termination_reason,
            "signed_on": lead.signed_on,
            "note": lead.note,
            "enterprise": EnterpriseRef.model_validate(enterprise) if enterprise else None,
            "project": ProjectRef.model_validate(project) if project else None,
            "allowed_next": pipeline.allowed_next(lead.stage),
            "steps": [LeadStepOut.model_validate(s) for s in steps],
            "funds": [FundsOut.model_validate(x) for x in funds],
            "funds_total": sum((x.amount for x in funds), ZERO),
        }
    )


# --- figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AttractionTotals:
    """Signed amount (by signing date) and funds received (by month) in a year, 万元."""

    signed: Decimal
    received: Decimal
    signed_count: int


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _scoped(
    stmt: Select[Any], chain_id: int | None, city: str | None, joined: bool = False
) -> Select[Any]:
    """Restrict a statement over AttractionLead to a chain and / or a city (where the
    lead landed: its registered enterprise's city, as the assessment counts it)."""
    if chain_id is not None:
        stmt = stmt.where(AttractionLead.chain_id == chain_id)
    if city is not None:
        stmt = stmt.join(Enterprise, Enterprise.id == AttractionLead.enterprise_id).where(
            city_of(Enterprise.region_code) == city
        )
    return stmt


def _totals_columns(
    chain_id: int | None, year: int, city: str | None, as_of: dt.date | None
) -> list[Any]:
    """signed, received, n: the year's totals as scalar subqueries (one SELECT)."""
    first, last = _year_bounds(year)
    if as_of is not None:
        last = min(last, as_of)
    last_month = f"{last.year:04d}-{last.month:02d}" if last >= first else f"{year - 1:04d}-12"

    def signed_sum(what: Any) -> Any:
        stmt = (
            select(what)
            .select_from(AttractionLead)
            .where(AttractionLead.signed_on.between(first, last))
        )
        return _scoped(stmt, chain_id, city).scalar_subquery()

    received = _scoped(
        select(func.coalesce(func.sum(AttractionFunds.amount), 0))
        .select_from(AttractionFunds)
        .join(AttractionLead, AttractionLead.id == AttractionFunds.lead_id)
        .where(AttractionFunds.period.between(f"{year:04d}-01", last_month)),
        chain_id,
        city,
    ).scalar_subquery()
    return [
        type_coerce(
            signed_sum(func.coalesce(func.sum(AttractionLead.signed_amount), 0)), Money()
        ).label("signed"),
        type_coerce(received, Money()).label("received"),
        signed_sum(func.count(AttractionLead.id)).label("n"),
    ]


def _totals(row: Any) -> AttractionTotals:
    return AttractionTotals(
        signed=row.signed if row.signed is not None else ZERO,
        received=row.received if row.received is not None else ZERO,
        signed_count=int(row.n or 0),
    )


def attraction_figures(
    session: Session,
    chain_id: int | None,
    year: int,
    *,
    city: str | None = None,
    as_of: dt.date | None = None,
) -> AttractionTotals:
    """The year's signed and received totals (up to ``as_of``, if given) for a chain, a
    city, both, or the province. One statement. This is what the assessment reads."""
    columns = _totals_columns(chain_id, year, city, as_of)
    return _totals(session.execute(select(*columns)).one())


def _stage_counts(chain_id: int | None, city: str | None, as_of: dt.date | None) -> Select[Any]:
    """(stage, stopped-at, count, intended) now, or as of a day from the dated steps:
    a lead's stage on a day is the stage of its latest step up to that day (a lead with
    no step by then did not exist yet)."""
    if as_of is None:
        stage: Any = AttractionLead.stage
        stopped: Any = AttractionLead.terminated_from
        stmt = select(AttractionLead.id).select_from(AttractionLead)
    else:
        rank = (
            func.row_number()
            .over(
                partition_by=AttractionStep.lead_id,
                order_by=(AttractionStep.happened_on.desc(), AttractionStep.id.desc()),
            )
            .label("rank")
        )
        latest = (
            select(AttractionStep.lead_id, AttractionStep.to_stage, AttractionStep.from_stage, rank)
            .where(AttractionStep.happened_on <= as_of)
            .subquery()
        )
        stage = latest.c.to_stage
        stopped = case((latest.c.to_stage == LeadStage.TERMINATED, latest.c.from_stage), else_=None)
        stmt = (
            select(AttractionLead.id)
            .select_from(latest)
            .join(AttractionLead, AttractionLead.id == latest.c.lead_id)
            .where(latest.c.rank == 1)
        )
    stmt = stmt.with_only_columns(
        stage.label("stage"),
        stopped.label("stopped"),
        func.count(AttractionLead.id),
        func.sum(AttractionLead.intended_investment),
        maintain_column_froms=True,
    ).group_by(stage, stopped)
    return _scoped(stmt, chain_id, city)


def _target_columns(chain_id: int | None, city: str | None, year: int) -> list[Any]:
    """The year's targets (考核目标) of the leads-signed and funds-received indicators for
    the chain or the city, as scalar subqueries labelled by the indicator kind (NULL when
    not set; none for the province or a chain within a city)."""
    if (chain_id is None) == (city is None):
        return []
    subject = (
        and_(
            AssessmentTarget.subject_kind == SubjectKind.CHAIN,
            AssessmentTarget.chain_id == chain_id,
        )
        if chain_id is not None
        else and_(
            AssessmentTarget.subject_kind == SubjectKind.CITY,
            AssessmentTarget.region_code == city,
        )
    )
    return [
        type_coerce(
            select(func.sum(AssessmentTarget.value))
            .join(Indicator, Indicator.code == AssessmentTarget.indicator_code)
            .where(
                AssessmentTarget.year == year,
                AssessmentTarget.quarter.is_(None),
                Indicator.kind == kind,
                subject,
            )
            .scalar_subquery(),
            Money(),
        ).label(kind.value)
        for kind in (IndicatorKind.LEADS_SIGNED, IndicatorKind.FUNDS_RECEIVED)
    ]


def _pct(part: Decimal, whole: Decimal | None) -> Decimal | None:
    if not whole:
        return None
    return (part * 100 / whole).quantize(Decimal("0.1"))


def funnel(
    session: Session,
    chain_id: int | None,
    year: int,
    *,
    city: str | None = None,
    as_of: dt.date | None = None,
) -> FunnelOut:
    """Counts and amounts by stage (now, or as of a day), conversion between stages, the
    year's signed and received totals and, for a chain or a city, the year's targets:
    two statements at any size."""
    current: dict[LeadStage, int] = {}
    intended: dict[LeadStage, Decimal] = {}
    reached = [0] * len(pipeline.FORWARD)
    terminated = 0
    for stage, stopped, n, amount in session.execute(_stage_counts(chain_id, city, as_of)).all():
        current[stage] = current.get(stage, 0) + n
        intended[stage] = intended.get(stage, ZERO) + (amount or ZERO)
        if stage is LeadStage.TERMINATED:
            terminated += n
        for i in range(pipeline.reached(stage, stopped) + 1):
            reached[i] += n
    stages = []
    for i, stage in enumerate(pipeline.FORWARD):
        before = reached[i - 1] if i else None
        pct = (Decimal(reached[i]) * 100 / before).quantize(Decimal("0.1")) if before else None
        stages.append(
            StageFigure(
                stage=stage,
                label=stage.label_zh,
                current=current.get(stage, 0),
                reached=reached[i],
                intended=intended.get(stage, ZERO),
                conversion_pct=pct,
            )
        )
    row = session.execute(
        select(
            *_totals_columns(chain_id, year, city, as_of),
            *_target_columns(chain_id, city, year),
        )
    ).one()
    totals = _totals(row)
    targets = row._mapping
    signed_target = targets.get(IndicatorKind.LEADS_SIGNED.value)
    received_target = targets.get(IndicatorKind.FUNDS_RECEIVED.value)
    return FunnelOut(
        chain_id=chain_id,
        city=city,
        year=year,
        as_of=as_of,
        stages=stages,
        terminated=terminated,
        signed_count=totals.signed_count,
        signed_total=totals.signed,
        received_total=totals.received,
        signed_target=signed_target,
        signed_pct=_pct(Decimal(totals.signed_count), signed_target),
        received_target=received_target,
        received_pct=_pct(totals.received, received_target),
    )


# --- the map's gaps --------------------------------------------------------------------

OPEN_STAGES = tuple(s for s in LeadStage if s not in pipeline.TERMINAL)


def leads_by_node(session: Session, chain_id: int) -> dict[int, list[GapLead]]:
    """The chain's open leads (not 开工, not 终止) by the node they address: one statement.
    The chain page's map panel calls this."""
    rows = session.execute(
        select(
            AttractionLeadNode.node_id,
            AttractionLead.id,
            AttractionLead.company_name,
            AttractionLead.stage,
        )
        .join(AttractionLead, AttractionLead.id == AttractionLeadNode.lead_id)
        .where(AttractionLeadNode.chain_id == chain_id, AttractionLead.stage.in_(OPEN_STAGES))
        .order_by(AttractionLeadNode.node_id, AttractionLead.id)
    ).all()
    out: dict[int, list[GapLead]] = {}
    for node_id, lead_id, name, stage in rows:
        out.setdefault(node_id, []).append(
            GapLead(id=lead_id, company_name=name, stage=stage, stage_label=stage.label_zh)
        )
    return out


def leads_of_node(session: Session, node_id: int) -> list[GapLead]:
    """Every lead on one node (any stage), latest first."""
    rows = session.execute(
        select(AttractionLead.id, AttractionLead.company_name, AttractionLead.stage)
        .join(AttractionLeadNode, AttractionLeadNode.lead_id == AttractionLead.id)
        .where(AttractionLeadNode.node_id == node_id)
        .order_by(AttractionLead.id.desc())
    ).all()
    return [GapLead(id=i, company_name=n, stage=s, stage_label=s.label_zh) for i, n, s in rows]


def gap_coverage(session: Session, chain_id: int) -> list[GapCoverage]:
    """Each weak or missing node with its open leads and its project count; ``covered``
    is false for the gaps with neither. Four statements at any size."""
    if session.get(Chain, chain_id) is None:
        raise not_found("chain", chain_id)
    nodes = session.execute(
        select(MapNode.id, MapNode.code, MapNode.name_zh, MapNode.assessment)
        .where(
            MapNode.chain_id == chain_id,
            MapNode.assessment.in_((Assessment.WEAK, Assessment.MISSING)),
        )
        .order_by(MapNode.position, MapNode.id)
    ).all()
    leads = leads_by_node(session, chain_id)
    projects: dict[int, int] = {
        node_id: n
        for node_id, n in session.execute(
            select(ProjectTarget.node_id, func.count(ProjectTarget.project_id))
            .join(Project, and_(Project.id == ProjectTarget.project_id))
            .where(ProjectTarget.chain_id == chain_id, Project.status != ProjectStatus.CANCELLED)
            .group_by(ProjectTarget.node_id)
        ).all()
    }
    out = []
    for node_id, code, name, assessment in nodes:
        node_leads = leads.get(node_id, [])
        n_projects = int(projects.get(node_id, 0))
        out.append(
            GapCoverage(
                node=NodeRef(id=node_id, code=code, name_zh=name),
                assessment=assessment.value if assessment else None,
                leads=node_leads,
                projects=n_projects,
                covered=bool(node_leads or n_projects),
            )
        )
    return out


def node_choices(session: Session, chain_id: int) -> list[tuple[int, str, str | None]]:
    """The chain's nodes for a lead's form: (id, "code name", assessment), gaps first."""
    rows = session.execute(
        select(MapNode.id, MapNode.code, MapNode.name_zh, MapNode.assessment)
        .where(MapNode.chain_id == chain_id)
        .order_by(MapNode.position, MapNode.id)
    ).all()
    gaps = (Assessment.MISSING, Assessment.WEAK)
    ordered = sorted(rows, key=lambda r: r.assessment not in gaps)
    return [
        (r.id, f"{r.code} {r.name_zh}", r.assessment.value if r.assessment else None)
        for r in ordered
    ]
