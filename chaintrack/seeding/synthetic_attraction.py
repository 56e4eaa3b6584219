"""The synthetic attraction (招商) flow: leads on the chains' nodes, their dated steps
along the pipeline, the signed ones' funds by month, the landed ones linked to a
registered enterprise (whose city the per-city funnel and the assessment count).

At scale 1.0 about 6,000 leads: of every ten, about four stay early (线索 … 洽谈), two
are terminated, four are signed, half of those landed and a third of those started.
Rows are built here with ids assigned, and inserted by the generator in batches.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from chaintrack.attraction.pipeline import FORWARD, RANK
from chaintrack.models.attraction import LeadSource, LeadStage

LEADS_AT_SCALE_1 = 6000
UNITS = ("市商务局", "市投资促进中心", "区招商局", "开发区管委会", "县商务局")
PEOPLE = ("王某", "李某", "张某", "刘某", "陈某", "杨某")
ORIGINS = ("江苏省", "浙江省", "广东省", "上海市", "德国", "日本", "韩国", "新加坡")
SOURCES = tuple(LeadSource)


def _furthest(r: float) -> tuple[LeadStage, bool]:
    """The furthest stage a lead got to, and whether it was terminated there."""
    if r < 0.2:
        return FORWARD[int(r * 20) % 4], True  # terminated early
    if r < 0.6:
        return FORWARD[int((r - 0.2) * 10)], False  # 线索 … 洽谈, open
    if r < 0.8:
        return LeadStage.SIGNED, False
    if r < 0.93:
        return LeadStage.LANDED, False
    return LeadStage.STARTED, False


class AttractionRows:
    def __init__(self, rng: random.Random, end: dt.date, next_ids: dict[str, int]) -> None:
        self.rng = rng
        self.end = end
        self.lead_id = next_ids["attraction_leads"]
        self.step_id = next_ids["attraction_steps"]
        self.tables: dict[str, list[dict[str, Any]]] = {
            "attraction_leads": [],
            "attraction_lead_nodes": [],
            "attraction_steps": [],
            "attraction_funds": [],
        }

    def _step(
        self, lead_id: int, to: LeadStage, frm: LeadStage | None, day: dt.date, who: str
    ) -> None:
        self.tables["attraction_steps"].append(
            {
                "id": self.step_id,
                "lead_id": lead_id,
                "from_stage": frm,
                "to_stage": to,
                "happened_on": day,
                "actor": who,
                "summary": f"{to.label_zh}（合成）",
                "next_step": None,
                "next_contact_on": None,
                "recorded_at": dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
                "recorded_by": None,
            }
        )
        self.step_id += 1

    def add_lead(self, chain_id: int, nodes: list[int], enterprises: list[int]) -> None:
        rng, lid = self.rng, self.lead_id
        self.lead_id += 1
        furthest, terminated = _furthest(rng.random())
        if furthest in (LeadStage.LANDED, LeadStage.STARTED) and not enterprises:
            furthest = LeadStage.SIGNED
        who = rng.choice(PEOPLE)
        day = self.end - dt.timedelta(days=rng.randint(60, 900))
        intended = Decimal(rng.randint(5, 500) * 100)
        signed_on: dt.date | None = None
        self._step(lid, LeadStage.LEAD, None, day, who)
        for stage in FORWARD[1 : RANK[furthest] + 1]:
            day = min(self.end, day + dt.timedelta(days=rng.randint(5, 60)))
            self._step(lid, stage, FORWARD[RANK[stage] - 1], day, who)
            if stage is LeadStage.SIGNED:
                signed_on = day
        stage_on = day
        if terminated:
            stage_on = min(self.end, day + dt.timedelta(days=rng.randint(5, 60)))
            self._step(lid, LeadStage.TERMINATED, furthest, stage_on, who)
        signed_amount = (intended * Decimal(rng.randint(60, 120)) / 100) if signed_on else None
        self.tables["attraction_leads"].append(
            {
                "id": lid,
                "chain_id": chain_id,
                "company_name": f"合成招商企业{lid:06d}",
                "uscc": None,
                "origin": rng.choice(ORIGINS),
                "source": rng.choice(SOURCES),
                "intended_investment": intended,
                "responsible_unit": rng.choice(UNITS),
                "responsible_person": who,
                "stage": LeadStage.TERMINATED if terminated else furthest,
                "stage_on": stage_on,
                "terminated_from": furthest if terminated else None,
                "termination_reason": "意向变化（合成）" if terminated else None,
                "signed_amount": signed_amount,
                "signed_on": signed_on,
                "enterprise_id": rng.choice(enterprises)
                if RANK.get(furthest, 0) >= RANK[LeadStage.LANDED]
                else None,
                "project_id": None,
                "note": None,
                "version": 1,
                "created_at": dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
                "updated_at": dt.datetime.combine(stage_on, dt.time(9), tzinfo=dt.UTC),
            }
        )
        for node_id in sorted(set(rng.sample(nodes, min(len(nodes), rng.randint(1, 2))))):
            self.tables["attraction_lead_nodes"].append(
                {"lead_id": lid, "node_id": node_id, "chain_id": chain_id}
            )
        if signed_on is not None and signed_amount is not None:
            month = dt.date(signed_on.year, signed_on.month, 1)
            remaining = signed_amount
            while month <= self.end and remaining > 0 and rng.random() < 0.8:
                amount = min(remaining, (signed_amount * Decimal(rng.randint(5, 30)) / 100))
                amount = amount.quantize(Decimal("0.0001"))
                self.tables["attraction_funds"].append(
                    {
                        "lead_id": lid,
                        "period": f"{month.year:04d}-{month.month:02d}",
                        "amount": amount,
                        "created_at": dt.datetime.combine(month, dt.time(9), tzinfo=dt.UTC),
                        "updated_at": dt.datetime.combine(month, dt.time(9), tzinfo=dt.UTC),
                    }
                )
                remaining -= amount
                month = (month + dt.timedelta(days=32)).replace(day=1)
