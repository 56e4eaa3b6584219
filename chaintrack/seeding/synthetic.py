"""A synthetic, province-scale dataset for benchmarks and demonstrations of scale.

Deterministic from a seed value: the same seed, scale and end period give the
same rows. At scale 1.0: 40 chains (the seeded ones plus synthetic ones), about
1,500 map nodes, 50,000 enterprises, 80,000 memberships, 20,000 designations,
8,000 projects with 24 months of progress each (~190,000 reports) and their
problems going through the loop (steps, 督办: synthetic_problems.py). Chains
differ in size on purpose, so a report's cost can be compared against its chain's
own size.

Rows go in with Core ``executemany`` in batches (no ORM unit of work), with ids
assigned here so foreign keys need no round trips; PostgreSQL sequences are
moved past them afterwards.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, func, insert, select, text

from chaintrack.identifiers import Period, make_uscc
from chaintrack.models import (
    AttractionFunds,
    AttractionLead,
    AttractionLeadNode,
    AttractionStep,
    Chain,
    Designation,
    Enterprise,
    MapNode,
    Membership,
    Problem,
    ProblemStep,
    ProgressReport,
    Project,
    ProjectAnnualPlan,
    ProjectStatusChange,
    ProjectTarget,
    SupervisionNotice,
)
from chaintrack.models.enums import (
    Assessment,
    GapKind,
    Level,
    MembershipRole,
    NodeKind,
    SizeClass,
    Stage,
    Tier,
)
from chaintrack.seeding.synthetic_attraction import LEADS_AT_SCALE_1, AttractionRows
from chaintrack.seeding.synthetic_projects import ProjectRows


def _t(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


CITIES = (
    "370100 370200 370300 370400 370500 370600 370700 370800 "
    "370900 371000 371100 371300 371400 371500 371600 371700"
).split()
BATCH = 5000
TIER_LEVEL = {
    Tier.NAVIGATOR: Level.PROVINCIAL,
    Tier.SINGLE_CHAMPION_ENTERPRISE: Level.NATIONAL,
    Tier.SINGLE_CHAMPION_PRODUCT: Level.PROVINCIAL,
    Tier.LITTLE_GIANT: Level.NATIONAL,
    Tier.SPECIALIZED_SME: Level.PROVINCIAL,
    Tier.GAZELLE: Level.PROVINCIAL,
    Tier.UNICORN: Level.PROVINCIAL,
    Tier.QUASI_UNICORN: Level.PROVINCIAL,
}


@dataclass
class Plan:
    chains: int = 40
    nodes: int = 1500
    enterprises: int = 50_000
    memberships: int = 80_000
    designations: int = 20_000
    projects: int = 8_000
    months: int = 24

    @classmethod
    def at_scale(cls, scale: float) -> Plan:
        base = cls()
        return cls(
            chains=max(2, round(base.chains * min(scale * 4, 1.0))),
            nodes=max(20, round(base.nodes * scale)),
            enterprises=max(20, round(base.enterprises * scale)),
            memberships=max(30, round(base.memberships * scale)),
            designations=max(10, round(base.designations * scale)),
            projects=max(8, round(base.projects * scale)),
            months=base.months,
        )


@dataclass
class Counts:
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n


def periods_ending(end_period: str, months: int) -> list[str]:
    period = Period.parse(end_period)
    out = []
    for _ in range(months):
        out.append(str(period))
        period = period.previous()
    return out[::-1]


def latest_complete_month(today: dt.date | None = None) -> str:
    return str(Period.of(today or dt.date.today()).previous())


class _Generator:
    def __init__(self, conn: Connection, seed: int, plan: Plan, end_period: str) -> None:
        self.conn = conn
        self.rng = random.Random(seed)
        self.seed = seed
        self.plan = plan
        self.end_period = end_period
        self.counts = Counts()

    def _next_id(self, table: Table) -> int:
        return int(self.conn.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1

    def _insert(self, table: Table, rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> None:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                self.conn.execute(insert(table), batch)
                self.counts.add(table.name, len(batch))
                batch = []
        if batch:
            self.conn.execute(insert(table), batch)
            self.counts.add(table.name, len(batch))

    # chains: the seeded ones first, synthetic ones up to plan.chains
    def chains(self) -> list[int]:
        t = _t(Chain)
        existing = list(self.conn.scalars(select(t.c.id).order_by(t.c.id)))
        ids = existing[: self.plan.chains]
        next_id = self._next_id(t)
        new = []
        for k in range(self.plan.chains - len(ids)):
            cid = next_id + k
            new.append(
                {
                    "id": cid,
                    "code": f"SYN{self.seed % 1000:03d}{k + 1:02d}",
                    "name_zh": f"合成产业链{k + 1:02d}",
                    "name_en": f"Synthetic chain {k + 1:02d}",
                    "region_code": "370000",
                    "status": "active",
                    "version": 1,
                }
            )
            ids.append(cid)
        self._insert(t, new)
        return ids

    def weights(self, chain_ids: list[int]) -> list[float]:
        # Chains differ in size: weights from 1 to ~6.
        return [1.0 + 5.0 * self.rng.random() ** 2 for _ in chain_ids]

    def _spread(self, total: int, weights: list[float]) -> list[int]:
        s = sum(weights)
        counts = [max(1, int(total * w / s)) for w in weights]
        counts[0] += total - sum(counts)
        return counts

    def nodes(self, chain_ids: list[int], weights: list[float]) -> dict[int, list[int]]:
        t = _t(MapNode)
        nid = self._next_id(t)
        per_chain: dict[int, list[int]] = {}
        rows = []
        stages = list(Stage)
        for cid, n in zip(chain_ids, self._spread(self.plan.nodes, weights), strict=True):
            ids: list[int] = []
            seg_ids: list[int] = []
            for k in range(n):
                is_segment = k < 3
                parent = None if is_segment else self.rng.choice(seg_ids)
                r = self.rng.random()
                assessment = (
                    None
                    if is_segment
                    else Assessment.STRONG
                    if r < 0.4
                    else Assessment.WEAK
                    if r < 0.75
                    else Assessment.MISSING
                )
                gap = (
                    self.rng.choice(list(GapKind))
                    if assessment in (Assessment.WEAK, Assessment.MISSING)
                    else None
                )
                rows.append(
                    {
                        "id": nid,
                        "chain_id": cid,
                        "parent_id": parent,
                        "code": f"G{k + 1:03d}",
                        "name_zh": ("环节" if is_segment else "节点") + f"{k + 1:03d}",
                        "kind": NodeKind.SEGMENT if is_segment else NodeKind.PRODUCT,
                        "stage": stages[k % 3] if is_segment else stages[self.rng.randrange(3)],
                        "assessment": assessment,
                        "gap_kind": gap,
                        "position": k,
                        "version": 1,
                    }
                )
                if is_segment:
                    seg_ids.append(nid)
                else:
                    ids.append(nid)
                nid += 1
            per_chain[cid] = ids
        self._insert(t, rows)
        return per_chain

    def enterprises(self) -> list[int]:
        t = _t(Enterprise)
        eid = self._next_id(t)
        ids = list(range(eid, eid + self.plan.enterprises))
        sizes = list(SizeClass)

        def rows() -> Iterator[dict[str, Any]]:
            for k, i in enumerate(ids):
                city = CITIES[self.rng.randrange(len(CITIES))]
                yield {
                    "id": i,
                    "uscc": make_uscc(f"91{city}H{(self.seed % 10) * 10_000_000 + k:08d}"),
                    "name": f"合成企业{self.seed}-{k + 1:06d}有限公司",
                    "former_names": [],
                    "region_code": city,
                    "size_class": sizes[min(3, int(self.rng.random() ** 0.5 * 4))],
                    "listing_status": "unlisted",
                    "version": 1,
                }

        self._insert(t, rows())
        return ids

    def memberships(
        self,
        chain_ids: list[int],
        weights: list[float],
        nodes: dict[int, list[int]],
        enterprise_ids: list[int],
    ) -> dict[int, list[int]]:
        t = _t(Membership)
        mid = self._next_id(t)
        on_chain: dict[int, list[int]] = {}
        rows = []
        seen: set[tuple[int, int]] = set()
        for cid, n in zip(chain_ids, self._spread(self.plan.memberships, weights), strict=True):
            members = on_chain.setdefault(cid, [])
            for k in range(n):
                ent = self.rng.choice(enterprise_ids)
                if (ent, cid) in seen:
                    continue
                seen.add((ent, cid))
                started = dt.date(2019 + self.rng.randrange(6), 1 + self.rng.randrange(12), 1)
                ended = (
                    started + dt.timedelta(days=200 + self.rng.randrange(900))
                    if self.rng.random() < 0.08
                    else None
                )
                role = (
                    MembershipRole.CHAIN_MASTER
                    if k < 2
                    else MembershipRole.LEADING
                    if self.rng.random() < 0.1
                    else MembershipRole.SUPPORTING
                )
                rows.append(
                    {
                        "id": mid,
                        "enterprise_id": ent,
                        "chain_id": cid,
                        "node_id": self.rng.choice(nodes[cid])
                        if nodes[cid] and self.rng.random() < 0.9
                        else None,
                        "role": role,
                        "started_on": started,
                        "ended_on": ended,
                        "version": 1,
                    }
                )
                members.append(ent)
                mid += 1
        self._insert(t, rows)
        return on_chain

    def designations(self, enterprise_ids: list[int]) -> None:
        t = _t(Designation)
        did = self._next_id(t)
        tiers = (
            [Tier.SPECIALIZED_SME] * 8
            + [Tier.GAZELLE] * 5
            + [Tier.LITTLE_GIANT] * 4
            + [
                Tier.SINGLE_CHAMPION_ENTERPRISE,
                Tier.SINGLE_CHAMPION_PRODUCT,
                Tier.QUASI_UNICORN,
                Tier.UNICORN,
                Tier.NAVIGATOR,
            ]
        )

        def rows() -> Iterator[dict[str, Any]]:
            for k in range(self.plan.designations):
                tier = self.rng.choice(tiers)
                recognised = dt.date(2019 + self.rng.randrange(7), 1 + self.rng.randrange(12), 1)
                revoked = recognised + dt.timedelta(days=400) if self.rng.random() < 0.05 else None
                yield {
                    "id": did + k,
                    "enterprise_id": self.rng.choice(enterprise_ids),
                    "tier": tier,
                    "level": TIER_LEVEL[tier],
                    "batch": f"{recognised.year}年",
                    "product": "合成产品" if tier == Tier.SINGLE_CHAMPION_PRODUCT else None,
                    "recognised_on": recognised,
                    "valid_until": recognised + dt.timedelta(days=3 * 365),
                    "revoked_on": revoked,
                    "version": 1,
                }

        self._insert(t, rows())

    def projects(
        self,
        chain_ids: list[int],
        weights: list[float],
        nodes: dict[int, list[int]],
        on_chain: dict[int, list[int]],
    ) -> None:
        order = (
            "projects",
            "project_targets",
            "project_annual_plans",
            "project_status_changes",
            "progress_reports",
            "problems",
            "problem_steps",
            "supervision_notices",
        )
        models = {
            "projects": Project,
            "project_targets": ProjectTarget,
            "project_annual_plans": ProjectAnnualPlan,
            "project_status_changes": ProjectStatusChange,
            "progress_reports": ProgressReport,
            "problems": Problem,
            "problem_steps": ProblemStep,
            "supervision_notices": SupervisionNotice,
        }
        with_ids = (
            "projects",
            "project_status_changes",
            "progress_reports",
            "problems",
            "problem_steps",
            "supervision_notices",
        )
        rows = ProjectRows(
            rng=self.rng,
            seed=self.seed,
            periods=periods_ending(self.end_period, self.plan.months),
            cities=CITIES,
            next_ids={name: self._next_id(_t(models[name])) for name in with_ids},
        )
        for cid, n in zip(chain_ids, self._spread(self.plan.projects, weights), strict=True):
            for _ in range(n):
                rows.add_project(cid, nodes[cid], on_chain.get(cid, []))
        for name in order:  # parents before children
            self._insert(_t(models[name]), rows.tables.get(name, []))

    def attraction(
        self,
        chain_ids: list[int],
        weights: list[float],
        nodes: dict[int, list[int]],
        on_chain: dict[int, list[int]],
    ) -> None:
        """Leads, their steps and funds (chaintrack.seeding.synthetic_attraction)."""
        models = {
            "attraction_leads": AttractionLead,
            "attraction_lead_nodes": AttractionLeadNode,
            "attraction_steps": AttractionStep,
            "attraction_funds": AttractionFunds,
        }
        end = Period.parse(self.end_period).last_day
        rows = AttractionRows(
            random.Random(f"attraction-{self.seed}"),
            end,
            {
                name: self._next_id(_t(models[name]))
                for name in ("attraction_leads", "attraction_steps")
            },
        )
        total = max(10, round(LEADS_AT_SCALE_1 * self.plan.projects / Plan().projects))
        for cid, n in zip(chain_ids, self._spread(total, weights), strict=True):
            if not nodes.get(cid):
                continue
            for _ in range(n):
                rows.add_lead(cid, nodes[cid], on_chain.get(cid, []))
        for name, model in models.items():  # parents before children
            self._insert(_t(model), rows.tables[name])

    def fix_sequences(self) -> None:
        if self.conn.dialect.name != "postgresql":
            return
        for table in (
            Chain,
            MapNode,
            Enterprise,
            Membership,
            Designation,
            Project,
            ProjectStatusChange,
            ProgressReport,
            Problem,
            ProblemStep,
            SupervisionNotice,
            AttractionLead,
            AttractionStep,
        ):
            name = table.__tablename__
            self.conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {name}))"
                )
            )


def generate(
    conn: Connection, *, seed: int = 1, scale: float = 1.0, end_period: str | None = None
) -> dict[str, int]:
    """Insert the synthetic dataset through ``conn`` (the caller commits)."""
    plan = Plan.at_scale(scale)
    gen = _Generator(conn, seed, plan, end_period or latest_complete_month())
    chain_ids = gen.chains()
    weights = gen.weights(chain_ids)
    nodes = gen.nodes(chain_ids, weights)
    enterprise_ids = gen.enterprises()
    on_chain = gen.memberships(chain_ids, weights, nodes, enterprise_ids)
    gen.designations(enterprise_ids)
    gen.projects(chain_ids, weights, nodes, on_chain)
    gen.attraction(chain_ids, weights, nodes, on_chain)
    gen.fix_sequences()
    return gen.counts.rows
