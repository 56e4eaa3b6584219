"""Small builders for arranging test data directly in the database.

Each returns the flushed ORM object; pass keyword arguments to override
defaults. Unique values come from a counter so tests never collide.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from chaintrack.identifiers import make_uscc
from chaintrack.models import (
    Chain,
    Designation,
    Enterprise,
    ListType,
    MapNode,
    Membership,
    ProgressReport,
    Project,
)
from chaintrack.models.enums import (
    MembershipRole,
    NodeKind,
    ProjectStatus,
    ProjectType,
    Stage,
    Tier,
)

_seq = itertools.count(1)


def next_n() -> int:
    return next(_seq)


def fake_uscc(n: int | None = None, region: str = "370100", authority: str = "91") -> str:
    """A valid, clearly fictional USCC (organisation part is the counter)."""
    n = next_n() if n is None else n
    return make_uscc(f"{authority}{region}{n:09d}")


def _add(session: Session, obj: Any) -> Any:
    session.add(obj)
    session.flush()
    return obj


def make_chain(session: Session, **kw: Any) -> Chain:
    n = next_n()
    defaults: dict[str, Any] = {
        "code": f"T{n:05d}",
        "name_zh": f"测试链{n}",
        "name_en": f"Test chain {n}",
        "region_code": "370000",
    }
    return _add(session, Chain(**{**defaults, **kw}))


def make_node(session: Session, chain: Chain, **kw: Any) -> MapNode:
    n = next_n()
    defaults: dict[str, Any] = {
        "chain_id": chain.id,
        "code": f"N{n}",
        "name_zh": f"环节{n}",
        "kind": NodeKind.SEGMENT,
        "stage": Stage.MIDSTREAM,
    }
    return _add(session, MapNode(**{**defaults, **kw}))


def make_enterprise(session: Session, **kw: Any) -> Enterprise:
    n = next_n()
    defaults: dict[str, Any] = {
        "uscc": fake_uscc(n),
        "name": f"测试企业{n}有限公司",
        "region_code": "370100",
    }
    return _add(session, Enterprise(**{**defaults, **kw}))


def make_membership(
    session: Session, enterprise: Enterprise, chain: Chain, **kw: Any
) -> Membership:
    defaults: dict[str, Any] = {
        "enterprise_id": enterprise.id,
        "chain_id": chain.id,
        "role": MembershipRole.SUPPORTING,
        "started_on": dt.date(2024, 1, 1),
    }
    return _add(session, Membership(**{**defaults, **kw}))


def make_designation(session: Session, enterprise: Enterprise, **kw: Any) -> Designation:
    defaults: dict[str, Any] = {
        "enterprise_id": enterprise.id,
        "tier": Tier.GAZELLE,
        "level": "provincial",
        "recognised_on": dt.date(2023, 6, 1),
    }
    return _add(session, Designation(**{**defaults, **kw}))


def make_project(session: Session, chain: Chain, **kw: Any) -> Project:
    n = next_n()
    defaults: dict[str, Any] = {
        "chain_id": chain.id,
        "internal_code": f"TP-{n:06d}",
        "name": f"测试项目{n}",
        "type": ProjectType.FILL,
        "region_code": "370100",
        "total_investment": Decimal("10000"),
        "status": ProjectStatus.UNDER_CONSTRUCTION,
    }
    return _add(session, Project(**{**defaults, **kw}))


def make_report(session: Session, project: Project, period: str, **kw: Any) -> ProgressReport:
    defaults: dict[str, Any] = {
        "project_id": project.id,
        "period": period,
        "revision": 1,
        "investment_month": Decimal("100"),
    }
    return _add(session, ProgressReport(**{**defaults, **kw}))


def make_list_type(session: Session, **kw: Any) -> ListType:
    n = next_n()
    defaults: dict[str, Any] = {
        "code": f"test_type_{n}",
        "name_zh": f"测试清单{n}",
        "name_en": f"Test list {n}",
        "fields": [{"name": "note", "label": "备注", "type": "text", "required": False}],
    }
    return _add(session, ListType(**{**defaults, **kw}))
