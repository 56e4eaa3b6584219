"""Rules of the catalogue, targets, hand-entered figures, adjustments and schemes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chaintrack.assessment import schemas as s
from chaintrack.assessment.indicators import COMPUTATIONS
from chaintrack.errors import Conflict, ValidationProblem, not_found
from chaintrack.history import OFFICE_TZ, end_of_day
from chaintrack.models import Chain, Region
from chaintrack.models.assessment import (
    AssessmentScheme,
    AssessmentTarget,
    Indicator,
    IndicatorFigure,
    IndicatorKind,
    SchemeStatus,
    ScoreAdjustment,
    ScoringRule,
    SubjectKind,
)
from chaintrack.models.assessment_history import TargetRevision
from chaintrack.models.base import utcnow

API = "/api/v1"
Row = TypeVar("Row", IndicatorFigure, ScoreAdjustment)


def is_computed(kind: IndicatorKind) -> bool:
    return kind is not IndicatorKind.MANUAL


# --- catalogue -------------------------------------------------------------------------------


def list_indicators(session: Session) -> list[Indicator]:
    return list(session.scalars(select(Indicator).order_by(Indicator.code)))


def create_indicator(session: Session, data: s.IndicatorCreate) -> Indicator:
    if session.get(Indicator, data.code) is not None:
        raise Conflict(f"指标代码 {data.code} 已存在 / indicator {data.code} exists")
    allowed = {"project_type"} if data.kind.value.startswith("projects") else set()
    if data.kind is IndicatorKind.NEW_DESIGNATIONS:
        allowed = {"tier"}
    if data.kind is IndicatorKind.INVESTMENT_COMPLETED:
        allowed = {"project_type"}
    extra = set(data.params) - allowed
    if extra:
        raise ValidationProblem.for_field(
            "params", f"此类指标不接受参数 {sorted(extra)} / not accepted for this kind"
        )
    indicator = Indicator(**data.model_dump())
    session.add(indicator)
    session.flush()
    return indicator


def indicator_by_code(session: Session, code: str) -> Indicator:
    indicator = session.get(Indicator, code)
    if indicator is None:
        raise not_found("indicator", code)
    return indicator


def get_row(session: Session, model: type[Row], row_id: int, entity: str) -> Row:
    row = session.get(model, row_id)
    if row is None:
        raise not_found(entity, row_id)
    return row


def get_indicator(session: Session, code: str, field: str = "indicator_code") -> Indicator:
    indicator = session.get(Indicator, code)
    if indicator is None:
        raise ValidationProblem.for_field(field, f"指标 {code} 不存在 / no such indicator")
    return indicator


# --- subjects ---------------------------------------------------------------------------------


def chain_existed(chain: Chain, year: int) -> bool:
    """A chain exists in a year from the year it was registered on."""
    return chain.created_at.astimezone(OFFICE_TZ).year <= year


def _subject(session: Session, data: s.SubjectIn, year: int) -> dict[str, Any]:
    if data.subject_kind is SubjectKind.CHAIN:
        if data.chain_id is None or data.region_code is not None:
            raise ValidationProblem.for_field("chain_id", "产业链考核须填产业链，不填地区")
        chain = session.get(Chain, data.chain_id)
        if chain is None:
            raise ValidationProblem.for_field("chain_id", f"产业链 {data.chain_id} 不存在")
        if not chain_existed(chain, year):
            raise ValidationProblem.for_field(
                "chain_id",
                f"产业链 {chain.name_zh} 在 {year} 年尚未设立 / the chain did not exist in {year}",
            )
        return {"subject_kind": data.subject_kind, "chain_id": chain.id, "region_code": None}
    code = data.region_code
    if code is None or data.chain_id is not None:
        raise ValidationProblem.for_field("region_code", "城市考核须填地区代码，不填产业链")
    if not (code.endswith("00") and not code.endswith("0000")):
        raise ValidationProblem.for_field("region_code", "须为地市级代码（如 370600）")
    region = session.get(Region, code)
    if region is None or (
        region.abolished_on is not None and region.abolished_on <= dt.date(year, 1, 1)
    ):
        raise ValidationProblem.for_field("region_code", f"{year} 年无此地市 {code}")
    return {"subject_kind": data.subject_kind, "chain_id": None, "region_code": code}


def set_target(session: Session, data: s.TargetSet) -> AssessmentTarget:
    """Create or replace the target of a subject for an indicator and period."""
    get_indicator(session, data.indicator_code)
    subject = _subject(session, data, data.year)
    quarter = AssessmentTarget.quarter
    existing = session.scalars(
        select(AssessmentTarget).where(
            AssessmentTarget.year == data.year,
            quarter.is_(None) if data.quarter is None else quarter == data.quarter,
            AssessmentTarget.indicator_code == data.indicator_code,
            AssessmentTarget.subject_kind == subject["subject_kind"],
            AssessmentTarget.chain_id.is_(None)
            if subject["chain_id"] is None
            else AssessmentTarget.chain_id == subject["chain_id"],
            AssessmentTarget.region_code.is_(None)
            if subject["region_code"] is None
            else AssessmentTarget.region_code == subject["region_code"],
        )
    ).first()
    if existing is not None:
        if existing.value != data.value:
            keep_target(session, existing)
            existing.value = data.value
            session.flush()
        return existing
    target = AssessmentTarget(
        year=data.year,
        quarter=data.quarter,
        indicator_code=data.indicator_code,
        value=data.value,
        **subject,
    )
    session.add(target)
    session.flush()
    return target


def keep_target(session: Session, target: AssessmentTarget, deleted: bool = False) -> None:
    """Keep the value the target has had until now (before a change or a deletion)."""
    since = session.scalar(
        select(func.max(TargetRevision.valid_until)).where(TargetRevision.target_id == target.id)
    )
    session.add(
        TargetRevision(
            target_id=target.id,
            year=target.year,
            quarter=target.quarter,
            indicator_code=target.indicator_code,
            subject_kind=target.subject_kind,
            chain_id=target.chain_id,
            region_code=target.region_code,
            value=target.value,
            valid_from=since or target.created_at,
            valid_until=utcnow(),
            deleted=deleted,
        )
    )


def get_target(session: Session, target_id: int) -> AssessmentTarget:
    target = session.get(AssessmentTarget, target_id)
    if target is None:
        raise not_found("target", target_id)
    return target


def update_target(
    session: Session, target: AssessmentTarget, data: s.TargetUpdate
) -> AssessmentTarget:
    """Change a target's value; the earlier value stays on record for past days."""
    if data.value != target.value:
        keep_target(session, target)
        target.value = data.value
        session.flush()
    return target


def delete_target(session: Session, target: AssessmentTarget) -> None:
    """Delete a target; scores as of earlier days still use it."""
    keep_target(session, target, deleted=True)
    session.delete(target)
    session.flush()


@dataclass(frozen=True)
class TargetOnRecord:
    target_id: int
    quarter: int | None
    indicator_code: str
    chain_id: int | None
    region_code: str | None
    value: Decimal


def targets_on_record(
    session: Session, year: int, subject_kind: SubjectKind, cutoff: dt.datetime
) -> list[TargetOnRecord]:
    """The targets of a year as they were on record at ``cutoff`` (two statements)."""
    current = session.scalars(
        select(AssessmentTarget).where(
            AssessmentTarget.year == year, AssessmentTarget.subject_kind == subject_kind
        )
    ).all()
    kept: dict[int, TargetRevision] = {}
    for rev in session.scalars(
        select(TargetRevision)
        .where(
            TargetRevision.year == year,
            TargetRevision.subject_kind == subject_kind,
            TargetRevision.valid_until >= cutoff,
        )
        .order_by(TargetRevision.valid_until.desc(), TargetRevision.id.desc())
    ):
        kept[rev.target_id] = rev  # the earliest still valid at the cutoff wins
    out: list[TargetOnRecord] = []
    for t in current:
        if t.id not in kept and t.created_at < cutoff:
            out.append(
                TargetOnRecord(
                    t.id, t.quarter, t.indicator_code, t.chain_id, t.region_code, t.value
                )
            )
    for rev in kept.values():
        if rev.valid_from < cutoff:
            out.append(
                TargetOnRecord(
                    rev.target_id,
                    rev.quarter,
                    rev.indicator_code,
                    rev.chain_id,
                    rev.region_code,
                    rev.value,
                )
            )
    return out


def list_targets(
    session: Session, year: int, subject_kind: SubjectKind | None = None
) -> list[AssessmentTarget]:
    stmt = select(AssessmentTarget).where(AssessmentTarget.year == year)
    if subject_kind is not None:
        stmt = stmt.where(AssessmentTarget.subject_kind == subject_kind)
    order = (AssessmentTarget.subject_kind, AssessmentTarget.chain_id, AssessmentTarget.region_code)
    return list(session.scalars(stmt.order_by(*order, AssessmentTarget.indicator_code)))


def create_figure(session: Session, data: s.FigureCreate) -> IndicatorFigure:
    indicator = get_indicator(session, data.indicator_code)
    if is_computed(indicator.kind):
        raise ValidationProblem.for_field(
            "indicator_code", "该指标由系统按已录数据计算，不能手工填报 / computed indicator"
        )
    subject = _subject(session, data, data.year)
    values = data.model_dump(exclude={"subject_kind", "chain_id", "region_code"})
    figure = IndicatorFigure(**values, **subject)
    session.add(figure)
    session.flush()
    return figure


def create_adjustment(session: Session, data: s.AdjustmentCreate) -> ScoreAdjustment:
    if data.points == 0:
        raise ValidationProblem.for_field("points", "加减分不能为 0")
    subject = _subject(session, data, data.year)
    values = data.model_dump(exclude={"subject_kind", "chain_id", "region_code"})
    item = ScoreAdjustment(**values, **subject)
    session.add(item)
    session.flush()
    return item


def update_adjustment(
    session: Session, item: ScoreAdjustment, data: s.AdjustmentUpdate
) -> ScoreAdjustment:
    changes = data.model_dump(exclude_unset=True)
    for field in ("points", "reason", "decided_on"):
        if field in changes and changes[field] is None:
            raise ValidationProblem.for_field(field, "不能为空 / may not be null")
    if changes.get("points") == 0:
        raise ValidationProblem.for_field("points", "加减分不能为 0")
    for field, value in changes.items():
        setattr(item, field, value)
    session.flush()
    return item


def update_figure(
    session: Session, figure: IndicatorFigure, data: s.FigureUpdate
) -> IndicatorFigure:
    changes = data.model_dump(exclude_unset=True)
    for field in ("value", "source"):
        if field in changes and changes[field] is None:
            raise ValidationProblem.for_field(field, "不能为空 / may not be null")
    for field, value in changes.items():
        setattr(figure, field, value)
    session.flush()
    return figure


def delete_row(session: Session, row: IndicatorFigure | ScoreAdjustment) -> None:
    session.delete(row)
    session.flush()


def list_figures(session: Session, year: int) -> list[IndicatorFigure]:
    stmt = select(IndicatorFigure).where(IndicatorFigure.year == year)
    order = (IndicatorFigure.subject_kind, IndicatorFigure.chain_id, IndicatorFigure.region_code)
    return list(session.scalars(stmt.order_by(*order, IndicatorFigure.indicator_code)))


def list_adjustments(session: Session, year: int) -> list[ScoreAdjustment]:
    stmt = select(ScoreAdjustment).where(ScoreAdjustment.year == year)
    return list(session.scalars(stmt.order_by(ScoreAdjustment.decided_on, ScoreAdjustment.id)))


def cities(session: Session, year: int) -> list[Region]:
    """The prefecture-level cities of the reference regions existing in ``year``."""
    stmt = select(Region).where(Region.code.like("__%00"), Region.code.not_like("%0000"))
    return [
        r
        for r in session.scalars(stmt.order_by(Region.code))
        if r.abolished_on is None or r.abolished_on > dt.date(year, 1, 1)
    ]


# --- schemes ----------------------------------------------------------------------------------


def _check_items(
    session: Session, total: Decimal, items: list[s.SchemeItem]
) -> list[dict[str, Any]]:
    codes = {i.code for i in session.scalars(select(Indicator))}
    seen: set[str] = set()
    out = []
    for n, item in enumerate(items):
        field = f"items.{n}"
        if item.indicator_code not in codes:
            raise ValidationProblem.for_field(f"{field}.indicator_code", "指标不存在")
        if item.indicator_code in seen:
            raise ValidationProblem.for_field(f"{field}.indicator_code", "指标重复")
        seen.add(item.indicator_code)
        if item.rule is ScoringRule.THRESHOLDS and not item.steps:
            raise ValidationProblem.for_field(f"{field}.steps", "分档计分须给出档次")
        if item.rule is ScoringRule.PER_ITEM and item.points is None:
            raise ValidationProblem.for_field(f"{field}.points", "按件计分须给出每件分值")
        if item.max_points is not None and item.max_points > item.weight:
            raise ValidationProblem.for_field(f"{field}.max_points", "封顶分不能超过权重")
        out.append(item.model_dump(mode="json", exclude_none=True))
    weights = sum((i.weight for i in items), Decimal(0))
    if weights != total:
        raise ValidationProblem.for_field(
            "items",
            f"权重合计 {weights.normalize():f}，应为 {total.normalize():f} / "
            f"weights add up to {weights.normalize():f}, not {total.normalize():f}",
        )
    return out


def create_scheme(session: Session, data: s.SchemeCreate) -> AssessmentScheme:
    items = _check_items(session, data.total_weight, data.items)
    last = session.scalar(
        select(func.max(AssessmentScheme.number)).where(AssessmentScheme.year == data.year)
    )
    scheme = AssessmentScheme(
        year=data.year,
        number=(last or 0) + 1,
        name=data.name,
        total_weight=data.total_weight,
        items=items,
        status=SchemeStatus.DRAFT,
    )
    session.add(scheme)
    session.flush()
    return scheme


def get_scheme(session: Session, scheme_id: int) -> AssessmentScheme:
    scheme = session.get(AssessmentScheme, scheme_id)
    if scheme is None:
        raise not_found("scheme", scheme_id)
    return scheme


def _frozen(scheme: AssessmentScheme) -> Conflict:
    return Conflict(
        f"考核方案 {scheme.year} 第{scheme.number}版已发布，不能修改，请另建新版本 / "
        "a published scheme is frozen; create a new version",
        scheme_id=scheme.id,
    )


def update_scheme(
    session: Session, scheme: AssessmentScheme, data: s.SchemeUpdate
) -> AssessmentScheme:
    if scheme.status is SchemeStatus.PUBLISHED:
        raise _frozen(scheme)
    total = data.total_weight if data.total_weight is not None else scheme.total_weight
    if data.items is not None:
        scheme.items = _check_items(session, total, data.items)
    elif data.total_weight is not None:
        _check_items(session, total, [s.SchemeItem.model_validate(i) for i in scheme.items])
    if data.name is not None:
        scheme.name = data.name
    scheme.total_weight = total
    session.flush()
    return scheme


def publish_scheme(session: Session, scheme: AssessmentScheme) -> AssessmentScheme:
    if scheme.status is SchemeStatus.PUBLISHED:
        raise _frozen(scheme)
    scheme.status = SchemeStatus.PUBLISHED
    scheme.published_at = utcnow()
    session.flush()
    return scheme


def list_schemes(session: Session, year: int) -> list[AssessmentScheme]:
    stmt = select(AssessmentScheme).where(AssessmentScheme.year == year)
    return list(session.scalars(stmt.order_by(AssessmentScheme.number)))


def scheme_in_force(session: Session, year: int, day: dt.date) -> AssessmentScheme | None:
    """The latest version of the year published by the end of ``day``."""
    stmt = (
        select(AssessmentScheme)
        .where(
            AssessmentScheme.year == year,
            AssessmentScheme.status == SchemeStatus.PUBLISHED,
            AssessmentScheme.published_at < end_of_day(day),
        )
        .order_by(AssessmentScheme.number.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


__all__ = ["API", "COMPUTATIONS"]
