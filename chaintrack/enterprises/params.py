"""The filters of GET /enterprises as one dependency, shared with the enterprise export
(GET /exports/enterprises), so the two take the same query parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from chaintrack.common.ids import StrictId
from chaintrack.common.schemas import IsoDate
from chaintrack.enterprises.service import EnterpriseFilters
from chaintrack.models.enums import MembershipRole, Ownership, SizeClass, Tier


def enterprise_filters(
    q: Annotated[
        str | None,
        Query(max_length=100, description="名称/曾用名片段或信用代码前缀", examples=["新材料"]),
    ] = None,
    uscc: Annotated[str | None, Query(max_length=64, description="信用代码（精确）")] = None,
    region_code: Annotated[
        str | None, Query(max_length=12, description="行政区划代码前缀", examples=["3706"])
    ] = None,
    tier: Annotated[Tier | None, Query(description="当前持有的梯度")] = None,
    chain_id: Annotated[StrictId | None, Query(description="当前所在产业链")] = None,
    role: Annotated[MembershipRole | None, Query(description="在链角色")] = None,
    size_class: Annotated[SizeClass | None, Query()] = None,
    ownership: Annotated[Ownership | None, Query()] = None,
    as_of: Annotated[
        IsoDate | None,
        Query(description="Evaluate states/tiers as of this date (default: today in China)"),
    ] = None,
) -> EnterpriseFilters:
    return EnterpriseFilters(
        q=q,
        uscc=uscc,
        region_code=region_code,
        tier=tier,
        chain_id=chain_id,
        role=role,
        size_class=size_class,
        ownership=ownership,
        as_of=as_of,
    )


EnterpriseFiltersDep = Annotated[EnterpriseFilters, Depends(enterprise_filters)]
