"""The attraction pipeline's indicators for the assessment (考核): leads signed and funds
received, by chain and by the city where a lead landed (its registered enterprise's
region; a lead not yet registered counts for its chain only). Registered with
chaintrack.assessment.indicators, which imports this module when it exists."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chaintrack.assessment.indicators import Part, Window, city_of, register
from chaintrack.models import AttractionFunds, AttractionLead, Enterprise
from chaintrack.models.assessment import IndicatorKind


def _parts(rows: Any) -> list[Part]:
    return [Part(r.chain_id, r.city, Decimal(r.amount or 0), int(r.records or 0)) for r in rows]


@register(
    IndicatorKind.LEADS_SIGNED,
    "本年1月至截止日签约的招商项目数（城市按落地企业所在地）",
)
def leads_signed(session: Session, w: Window, params: dict[str, Any]) -> list[Part]:
    city = city_of(Enterprise.region_code)
    stmt = (
        select(
            AttractionLead.chain_id.label("chain_id"),
            city.label("city"),
            func.count(AttractionLead.id).label("amount"),
            func.count(AttractionLead.id).label("records"),
        )
        .select_from(AttractionLead)
        .outerjoin(Enterprise, Enterprise.id == AttractionLead.enterprise_id)
        .where(AttractionLead.signed_on.between(w.start, w.day))
        .group_by(AttractionLead.chain_id, city)
    )
    return _parts(session.execute(stmt))


@register(
    IndicatorKind.FUNDS_RECEIVED,
    "本年1月至截止月招商项目到位资金之和（万元，城市按落地企业所在地）",
)
def funds_received(session: Session, w: Window, params: dict[str, Any]) -> list[Part]:
    city = city_of(Enterprise.region_code)
    stmt = (
        select(
            AttractionLead.chain_id.label("chain_id"),
            city.label("city"),
            func.sum(AttractionFunds.amount).label("amount"),
            func.count().label("records"),
        )
        .select_from(AttractionFunds)
        .join(AttractionLead, AttractionLead.id == AttractionFunds.lead_id)
        .outerjoin(Enterprise, Enterprise.id == AttractionLead.enterprise_id)
        .where(AttractionFunds.period.between(w.first_month, w.last_month))
        .group_by(AttractionLead.chain_id, city)
    )
    return _parts(session.execute(stmt))
