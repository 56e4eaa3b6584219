"""The fictional demonstration dataset in ``seeds/demo/`` (演示数据).

Loaded on a fresh embedded database by ``chaintrack serve --demo`` so a newcomer
sees a living system. Rows are matched by natural key (chain code, node code,
USCC, project internal code, list type + period), so loading twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.models import (
    Chain,
    ChainLeader,
    ChainList,
    Designation,
    Enterprise,
    EnterpriseFigures,
    ListEntry,
    ListType,
    MapNode,
    MapRelation,
    Membership,
    Problem,
    ProgressReport,
    Project,
    ProjectAnnualPlan,
    ProjectStatusChange,
    ProjectTarget,
)
from chaintrack.models.enums import ProblemStatus
from chaintrack.seeding.reference import SEEDS_DIR

DEMO_DIR = SEEDS_DIR / "demo"


def _read(name: str, directory: Path) -> Any:
    return json.loads((directory / name).read_text(encoding="utf-8"))


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _report_time(period: str, days_after_month_end: int) -> dt.datetime:
    year, month = map(int, period.split("-"))
    month_end = dt.date(year + month // 12, month % 12 + 1, 1)
    when = dt.datetime.combine(month_end, dt.time(9, 0), tzinfo=dt.UTC)
    return when + dt.timedelta(days=days_after_month_end)


class _Loader:
    def __init__(self, session: Session) -> None:
        self.s = session
        self.chains = {c.code: c for c in session.scalars(select(Chain))}
        self.nodes: dict[tuple[str, str], MapNode] = {}
        self.enterprises: dict[str, Enterprise] = {}
        self.created = 0

    def node(self, chain_code: str, code: str) -> MapNode:
        key = (chain_code, code)
        if key not in self.nodes:
            chain = self.chains[chain_code]
            self.nodes[key] = self.s.scalars(
                select(MapNode).filter_by(chain_id=chain.id, code=code)
            ).one()
        return self.nodes[key]

    def maps(self, data: dict[str, Any]) -> None:
        for item in data["chains"]:
            chain = self.chains[item["chain_code"]]
            existing = set(self.s.scalars(select(MapNode.code).filter_by(chain_id=chain.id)))
            if existing:
                continue
            for n in item["nodes"]:
                parent = self.node(chain.code, n["parent"]).id if n["parent"] else None
                node = MapNode(
                    chain_id=chain.id,
                    parent_id=parent,
                    code=n["code"],
                    name_zh=n["name_zh"],
                    kind=n["kind"],
                    stage=n["stage"],
                    assessment=n["assessment"],
                    gap_kind=n["gap_kind"],
                    position=n["position"],
                )
                self.s.add(node)
                self.s.flush()
                self.nodes[(chain.code, n["code"])] = node
            for r in item["relations"]:
                self.s.add(
                    MapRelation(
                        chain_id=chain.id,
                        from_node_id=self.node(chain.code, r["from"]).id,
                        to_node_id=self.node(chain.code, r["to"]).id,
                        kind=r["kind"],
                    )
                )
            for leader in item["leaders"]:
                self.s.add(
                    ChainLeader(
                        chain_id=chain.id,
                        role=leader["role"],
                        person_name=leader["person_name"],
                        title=leader["title"],
                        organisation=leader["organisation"],
                        start_on=_date(leader["start_on"]),
                    )
                )
            self.created += 1
        self.s.flush()

    def enterprises_(self, data: dict[str, Any]) -> None:
        for e in data["enterprises"]:
            found = self.s.scalars(select(Enterprise).filter_by(uscc=e["uscc"])).one_or_none()
            if found is not None:
                self.enterprises[e["uscc"]] = found
                continue
            ent = Enterprise(
                uscc=e["uscc"],
                name=e["name"],
                region_code=e["region_code"],
                size_class=e["size_class"],
                ownership=e["ownership"],
                listing_status=e["listing_status"],
                founded_on=_date(e["founded_on"]),
            )
            self.s.add(ent)
            self.s.flush()
            self.enterprises[e["uscc"]] = ent
            for f in e["figures"]:
                self.s.add(
                    EnterpriseFigures(
                        enterprise_id=ent.id,
                        year=f["year"],
                        revenue=Decimal(f["revenue"]),
                        employees=f["employees"],
                        rd_spend=Decimal(f["rd_spend"]),
                    )
                )
            for d in e["designations"]:
                self.s.add(
                    Designation(
                        enterprise_id=ent.id,
                        tier=d["tier"],
                        level=d["level"],
                        batch=d.get("batch"),
                        product=d.get("product"),
                        recognised_on=_date(d["recognised_on"]),
                        valid_until=_date(d.get("valid_until")),
                        revoked_on=_date(d.get("revoked_on")),
                        revoke_reason=d.get("revoke_reason"),
                    )
                )
            for m in e["memberships"]:
                self.s.add(
                    Membership(
                        enterprise_id=ent.id,
                        chain_id=self.chains[m["chain_code"]].id,
                        node_id=self.node(m["chain_code"], m["node"]).id,
                        role=m["role"],
                        started_on=_date(m["started_on"]),
                        ended_on=_date(m.get("ended_on")),
                        end_reason=m.get("end_reason"),
                    )
                )
            self.created += 1
        self.s.flush()

    def projects(self, data: dict[str, Any]) -> None:
        for p in data["projects"]:
            if self.s.scalars(
                select(Project.id).filter_by(internal_code=p["internal_code"])
            ).first():
                continue
            chain = self.chains[p["chain_code"]]
            history = p["status_history"]
            project = Project(
                chain_id=chain.id,
                internal_code=p["internal_code"],
                name=p["name"],
                type=p["type"],
                owner_enterprise_id=self.enterprises[p["owner_uscc"]].id,
                region_code=p["region_code"],
                nature=p["nature"],
                level=p["level"],
                goals=p["goals"],
                content=p["content"],
                responsible_leader=p["responsible_leader"],
                responsible_unit=p["responsible_unit"],
                planned_start=_date(p["planned_start"]),
                planned_completion=_date(p["planned_completion"]),
                total_investment=Decimal(p["total_investment"]),
                status=history[-1]["status"],
            )
            for step in history:
                if step["status"] == "under_construction":
                    project.actual_start = _date(step["changed_on"])
                if step["status"] == "completed":
                    project.actual_completion = _date(step["changed_on"])
            self.s.add(project)
            self.s.flush()
            previous = None
            for step in history:
                self.s.add(
                    ProjectStatusChange(
                        project_id=project.id,
                        from_status=previous,
                        to_status=step["status"],
                        changed_on=_date(step["changed_on"]),
                        reason=step["reason"],
                    )
                )
                previous = step["status"]
            for code in p["target_nodes"]:
                self.s.add(
                    ProjectTarget(
                        project_id=project.id,
                        chain_id=chain.id,
                        node_id=self.node(chain.code, code).id,
                    )
                )
            for plan in p["annual_plans"]:
                self.s.add(
                    ProjectAnnualPlan(
                        project_id=project.id,
                        year=plan["year"],
                        planned_investment=Decimal(plan["planned_investment"]),
                    )
                )
            self._reports(project, p)
            self.created += 1
        self.s.flush()

    def _reports(self, project: Project, p: dict[str, Any]) -> None:
        now = dt.datetime.now(dt.UTC)
        for r in p["reports"]:
            first_at = min(_report_time(r["period"], 7), now)
            revisions = [{**r, "correction_reason": None}, *r.get("corrections", [])]
            for number, rev in enumerate(revisions, start=1):
                submitted = min(first_at + dt.timedelta(days=30 * (number - 1)), now)
                is_last = number == len(revisions)
                self.s.add(
                    ProgressReport(
                        project_id=project.id,
                        period=r["period"],
                        revision=number,
                        investment_month=Decimal(rev["investment_month"]),
                        physical_progress_pct=Decimal(r["physical_progress_pct"])
                        if r["physical_progress_pct"]
                        else None,
                        physical_progress=r["physical_progress"],
                        next_steps=r["next_steps"],
                        correction_reason=rev.get("correction_reason"),
                        submitted_at=submitted,
                        superseded_at=None
                        if is_last
                        else min(first_at + dt.timedelta(days=30 * number), now),
                    )
                )
        for prob in p["problems"]:
            resolved = prob.get("resolved_on")
            self.s.add(
                Problem(
                    project_id=project.id,
                    period=prob["period"],
                    description=prob["description"],
                    responsible_unit=prob["responsible_unit"],
                    deadline=_date(prob["deadline"]),
                    status=ProblemStatus.RESOLVED if resolved else ProblemStatus.OPEN,
                    resolution=prob.get("resolution"),
                    resolved_on=_date(resolved),
                )
            )

    def lists(self, data: dict[str, Any]) -> None:
        types = {t.code: t for t in self.s.scalars(select(ListType))}
        projects = {p.internal_code: p for p in self.s.scalars(select(Project))}
        for item in data["lists"]:
            chain = self.chains[item["chain_code"]]
            ltype = types[item["list_type"]]
            if self.s.scalars(
                select(ChainList.id).filter_by(
                    chain_id=chain.id, list_type_id=ltype.id, period=item["period"]
                )
            ).first():
                continue
            clist = ChainList(
                chain_id=chain.id,
                list_type_id=ltype.id,
                period=item["period"],
                title=f"{chain.name_zh}产业链{ltype.name_zh}（{item['period']}年，演示）",
            )
            self.s.add(clist)
            self.s.flush()
            for pos, e in enumerate(item["entries"]):
                self.s.add(
                    ListEntry(
                        list_id=clist.id,
                        chain_id=chain.id,
                        position=pos,
                        title=e["title"],
                        enterprise_id=self.enterprises[e["enterprise_uscc"]].id
                        if e.get("enterprise_uscc")
                        else None,
                        project_id=projects[e["project_code"]].id
                        if e.get("project_code")
                        else None,
                        node_id=self.node(chain.code, e["node"]).id if e.get("node") else None,
                        attributes=e.get("attributes", {}),
                    )
                )
            self.created += 1
        self.s.flush()


def load_demo(session: Session, directory: Path = DEMO_DIR) -> int:
    """Load the demonstration dataset (reference data must be loaded first).

    Returns the number of top-level records created (0 when already loaded).
    """
    loader = _Loader(session)
    loader.maps(_read("maps.json", directory))
    loader.enterprises_(_read("enterprises.json", directory))
    loader.projects(_read("projects.json", directory))
    loader.lists(_read("lists.json", directory))
    return loader.created
