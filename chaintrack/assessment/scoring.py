"""Scoring chains and cities against a year's published scheme.

Reproducible: the same records, targets, figures and scheme give the same scores
(Decimal throughout, each score rounded half-up to 0.01 at one place, ties ranked
alike). The targets are those on record at the end of the as-of day (earlier values
are kept on change or deletion: :func:`chaintrack.assessment.service.targets_on_record`).
The number of statements is fixed by the scheme: a handful of reads plus one
statement per computed indicator (two for tier designations), whatever the number of
chains, cities and records.

Rules (points are out of the indicator's weight):
- linear: weight × min(actual / target, cap), cap 1 unless the scheme says so;
- thresholds: the step with the highest ratio reached gives its % of the weight;
- per item: actual × points each, at most ``max_points`` (default the weight).
A target of 0 counts as met. Without a target, linear and threshold rules give 0.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.assessment import schemas as s
from chaintrack.assessment.indicators import COMPUTATIONS, EXPLAINED, Part, Window
from chaintrack.assessment.service import chain_existed, scheme_in_force, targets_on_record
from chaintrack.errors import NotFound
from chaintrack.history import office_today
from chaintrack.models import Chain, Region
from chaintrack.models.assessment import (
    Indicator,
    IndicatorFigure,
    IndicatorKind,
    ScoreAdjustment,
    ScoringRule,
    SubjectKind,
)

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
HUNDRED = Decimal(100)


def q(value: Decimal, quantum: Decimal = CENT) -> Decimal:
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Points:
    ratio: Decimal | None
    weighted: Decimal
    score: Decimal


def score_item(item: dict[str, Any], actual: Decimal | None, target: Decimal | None) -> Points:
    """One indicator's points under its rule (see the module's docstring)."""
    weight = Decimal(str(item["weight"]))
    rule = ScoringRule(item["rule"])
    ratio: Decimal | None = None
    if target is not None and actual is not None:
        ratio = Decimal(1) if target == 0 else actual / target
    points = Decimal(0)
    if rule is ScoringRule.LINEAR and ratio is not None:
        cap = Decimal(str(item.get("cap", "1")))
        points = weight * max(Decimal(0), min(ratio, cap))
    elif rule is ScoringRule.THRESHOLDS and ratio is not None:
        reached = [
            Decimal(str(st["score"])) for st in item["steps"] if ratio >= Decimal(str(st["ratio"]))
        ]
        points = weight * max(reached, default=Decimal(0)) / HUNDRED
    elif rule is ScoringRule.PER_ITEM and actual is not None:
        top = Decimal(str(item.get("max_points", weight)))
        points = max(Decimal(0), min(actual * Decimal(str(item["points"])), top))
    weighted = q(points)
    return Points(
        None if ratio is None else q(ratio, RATIO),
        weighted,
        q(weighted * HUNDRED / weight),
    )


def rule_text(item: dict[str, Any]) -> str:
    rule = ScoringRule(item["rule"])
    weight = Decimal(str(item["weight"])).normalize()
    if rule is ScoringRule.LINEAR:
        cap = Decimal(str(item.get("cap", "1"))).normalize()
        return f"权重{weight:f}×完成比例，完成比例封顶{cap:f}"
    if rule is ScoringRule.THRESHOLDS:
        steps = "；".join(
            f"≥{Decimal(str(st['ratio'])).normalize():f}得{Decimal(str(st['score'])).normalize():f}%"
            for st in sorted(item["steps"], key=lambda st: Decimal(str(st["ratio"])), reverse=True)
        )
        return f"分档：{steps}（权重{weight:f}）"
    top = Decimal(str(item.get("max_points", weight))).normalize()
    return f"每件{Decimal(str(item['points'])).normalize():f}分，最高{top:f}分"


SubjectKey = tuple[int | None, str | None]


@dataclass
class Figure:
    amount: Decimal = Decimal(0)
    base: Decimal | None = None
    records: int = 0

    def add(self, part: Part) -> None:
        self.amount += part.amount
        self.records += part.records
        if part.base is not None:
            self.base = (self.base or Decimal(0)) + part.base

    def value(self, rate: bool) -> Decimal:
        if not rate:
            return self.amount
        return q(self.amount * HUNDRED / self.base) if self.base else Decimal(0)


def _key(kind: SubjectKind, chain_id: int | None, city: str | None) -> SubjectKey:
    return (chain_id, None) if kind is SubjectKind.CHAIN else (None, city)


def _period_match(row_quarter: int | None, quarter: int | None) -> bool:
    return row_quarter == quarter


def score_board(
    session: Session,
    year: int,
    quarter: int | None,
    subject_kind: SubjectKind,
    as_of: dt.date | None = None,
) -> s.ScoreBoard:
    window = Window.of(year, quarter, as_of or office_today())
    scheme = scheme_in_force(session, year, window.as_of)
    if scheme is None:
        raise NotFound(
            f"{year} 年尚无已发布的考核方案（截至 {window.as_of}）/ no published scheme",
            entity="scheme",
            key=str(year),
        )
    codes = [i["indicator_code"] for i in scheme.items]
    indicators = {
        i.code: i for i in session.scalars(select(Indicator).where(Indicator.code.in_(codes)))
    }

    targets: dict[tuple[SubjectKey, str], Decimal] = {}
    for t in targets_on_record(session, year, subject_kind, window.cutoff):
        if _period_match(t.quarter, quarter):
            targets[(_key(subject_kind, t.chain_id, t.region_code), t.indicator_code)] = t.value

    # subjects: chains of the year; cities given a target for it
    names: dict[SubjectKey, str] = {}
    if subject_kind is SubjectKind.CHAIN:
        for chain in session.scalars(select(Chain).order_by(Chain.code)):
            if chain_existed(chain, year):
                names[(chain.id, None)] = chain.name_zh
    else:
        cities = sorted({key[1] for key, _ in targets if key[1] is not None})
        found = dict(
            session.execute(select(Region.code, Region.name_zh).where(Region.code.in_(cities)))
            .tuples()
            .all()
        )
        for city in cities:
            names[(None, city)] = found.get(city, city)

    figures: dict[str, dict[SubjectKey, Figure]] = defaultdict(lambda: defaultdict(Figure))
    manual = select(IndicatorFigure).where(
        IndicatorFigure.year == year,
        IndicatorFigure.subject_kind == subject_kind,
        IndicatorFigure.indicator_code.in_(codes),
        IndicatorFigure.created_at < window.cutoff,
    )
    entered: dict[tuple[str, SubjectKey], list[str]] = defaultdict(list)
    for f in session.scalars(manual.order_by(IndicatorFigure.id)):
        if _period_match(f.quarter, quarter):
            key = _key(subject_kind, f.chain_id, f.region_code)
            figures[f.indicator_code][key].add(Part(f.chain_id, f.region_code, f.value, 1))
            entered[(f.indicator_code, key)].append(f.source)

    missing: set[str] = set()
    for code in codes:
        indicator = indicators[code]
        if indicator.kind is IndicatorKind.MANUAL:
            continue
        compute = COMPUTATIONS.get(indicator.kind)
        if compute is None:
            missing.add(code)
            continue
        for part in compute(session, window, dict(indicator.params or {})):
            owner = part.chain_id if subject_kind is SubjectKind.CHAIN else part.city
            if owner is not None:
                figures[code][_key(subject_kind, part.chain_id, part.city)].add(part)

    adjustments: dict[SubjectKey, list[s.AdjustmentLine]] = defaultdict(list)
    for a in session.scalars(
        select(ScoreAdjustment)
        .where(
            ScoreAdjustment.year == year,
            ScoreAdjustment.subject_kind == subject_kind,
            ScoreAdjustment.decided_on <= window.as_of,
            ScoreAdjustment.created_at < window.cutoff,
        )
        .order_by(ScoreAdjustment.decided_on, ScoreAdjustment.id)
    ):
        if _period_match(a.quarter, quarter):
            adjustments[_key(subject_kind, a.chain_id, a.region_code)].append(
                s.AdjustmentLine(points=a.points, reason=a.reason, decided_on=a.decided_on)
            )

    subjects = []
    for key, name in names.items():
        lines = []
        for item in scheme.items:
            code = item["indicator_code"]
            indicator = indicators[code]
            rate = indicator.kind is IndicatorKind.REPORTING_RATE
            figure = figures[code].get(key)
            if indicator.kind is IndicatorKind.MANUAL:
                actual = None if figure is None else figure.value(False)
                sources = "、".join(entered.get((code, key), []))
                explanation = f"手工填报（来源：{sources}）" if sources else "未填报"
            elif code in missing:
                actual = None
                explanation = "招商模块未接入，暂无数据"
            else:
                actual = Figure().value(rate) if figure is None else figure.value(rate)
                explanation = EXPLAINED[indicator.kind]
                if indicator.params:
                    explanation += f"（{_params_text(indicator.params)}）"
            target = targets.get((key, code))
            points = score_item(item, actual, target)
            if target is None and ScoringRule(item["rule"]) is not ScoringRule.PER_ITEM:
                explanation += "；未设目标"
            lines.append(
                s.IndicatorScore(
                    indicator_code=code,
                    name_zh=indicator.name_zh,
                    unit=indicator.unit,
                    actual=actual,
                    records=0 if figure is None else figure.records,
                    target=target,
                    ratio=points.ratio,
                    rule=ScoringRule(item["rule"]),
                    rule_text=rule_text(item),
                    score=points.score,
                    weight=Decimal(str(item["weight"])),
                    weighted=points.weighted,
                    explanation=explanation,
                )
            )
        base = sum((line.weighted for line in lines), Decimal(0))
        adjusted = sum((a.points for a in adjustments.get(key, [])), Decimal(0))
        subjects.append(
            s.SubjectScore(
                subject_kind=subject_kind,
                chain_id=key[0],
                region_code=key[1],
                name=name,
                rank=0,
                base=q(base),
                adjustments=q(adjusted),
                total=q(base + adjusted),
                indicators=lines,
                adjustment_items=adjustments.get(key, []),
            )
        )
    _rank(subjects)
    return s.ScoreBoard(
        year=year,
        quarter=quarter,
        subject_kind=subject_kind,
        as_of=window.as_of,
        scheme_id=scheme.id,
        scheme_number=scheme.number,
        scheme_name=scheme.name,
        total_weight=scheme.total_weight,
        subjects=subjects,
    )


def _params_text(params: dict[str, Any]) -> str:
    from chaintrack.models.enums import ProjectType, Tier

    parts = []
    if params.get("project_type"):
        parts.append(ProjectType(params["project_type"]).label_zh)
    if params.get("tier"):
        parts.append(Tier(params["tier"]).label_zh)
    return "、".join(parts)


def _rank(subjects: list[s.SubjectScore]) -> None:
    """Highest total first; equal totals share a rank (1, 1, 3)."""
    subjects.sort(key=lambda x: (-x.total, x.name, x.chain_id or 0, x.region_code or ""))
    previous: Decimal | None = None
    rank = 0
    for n, subject in enumerate(subjects, start=1):
        if subject.total != previous:
            rank, previous = n, subject.total
        subject.rank = rank
