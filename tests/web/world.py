"""A small chain with a map, members, a list, projects and progress, for page tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from chaintrack.history import office_today
from chaintrack.models import ChainList, ListEntry, Problem
from chaintrack.models.enums import Assessment, MembershipRole, Stage
from tests.factories import (
    make_chain,
    make_designation,
    make_enterprise,
    make_list_type,
    make_membership,
    make_node,
    make_project,
    make_report,
)


@dataclass
class PageWorld:
    chain: Any
    nodes: list[Any]
    enterprises: list[Any]
    projects: list[Any]
    chain_list: Any


def previous_month(day: dt.date) -> str:
    first = day.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def build_world(db: Session, size: int = 2) -> PageWorld:
    chain = make_chain(db)
    nodes = []
    for i, stage in enumerate([Stage.UPSTREAM, Stage.MIDSTREAM, Stage.DOWNSTREAM] * size):
        assessment = [Assessment.STRONG, Assessment.WEAK, Assessment.MISSING][i % 3]
        nodes.append(make_node(db, chain, stage=stage, assessment=assessment))
    enterprises = []
    for i in range(size * 2):
        ent = make_enterprise(db)
        make_designation(db, ent)
        make_membership(
            db, ent, chain, node_id=nodes[i % len(nodes)].id, role=MembershipRole.LEADING
        )
        enterprises.append(ent)
    period = previous_month(office_today())
    projects = []
    for i in range(size * 2):
        project = make_project(db, chain, owner_enterprise_id=enterprises[i].id)
        make_report(db, project, period, investment_month=Decimal("100") + i)
        db.add(Problem(project_id=project.id, period=period, description=f"问题{i}"))
        projects.append(project)
    lt = make_list_type(db)
    chain_list = ChainList(chain_id=chain.id, list_type_id=lt.id, period=str(office_today().year))
    db.add(chain_list)
    db.flush()
    for i in range(size * 2):
        db.add(
            ListEntry(
                list_id=chain_list.id,
                chain_id=chain.id,
                title=f"条目{i}",
                attributes={"note": "x"},
                position=i + 1,
                node_id=nodes[0].id,
            )
        )
    db.flush()
    return PageWorld(chain, nodes, enterprises, projects, chain_list)


def page_urls(w: PageWorld) -> list[str]:
    c = w.chain.id
    return [
        "/",
        "/overview",
        "/overview/charts",
        "/chains",
        f"/chains/{c}/map",
        f"/chains/{c}/map/nodes/{w.nodes[0].id}",
        f"/chains/{c}/map?node={w.nodes[0].id}",
        f"/chains/{c}/lists",
        f"/chains/{c}/enterprises",
        f"/chains/{c}/projects",
        f"/chains/{c}/report",
        "/enterprises",
        f"/enterprises/{w.enterprises[0].id}",
        "/projects",
        f"/projects/{w.projects[0].id}",
        "/imports",
    ]
