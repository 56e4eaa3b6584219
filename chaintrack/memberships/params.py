"""The filters of GET /chains/{chain_id}/memberships as one dependency, shared with the
membership export (GET /exports/memberships), so the two take the same query parameters
(the export takes the chain as an optional query parameter besides)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from chaintrack.common.ids import StrictId
from chaintrack.common.schemas import IsoDate
from chaintrack.models.enums import MembershipRole


@dataclass(frozen=True)
class MembershipFilters:
    role: MembershipRole | None = None
    current: bool = True
    as_of: dt.date | None = None
    node_id: int | None = None
    region_code: str | None = None
    q: str | None = None


def membership_filters(
    role: Annotated[
        MembershipRole | None, Query(description="chain_master / leading / supporting")
    ] = None,
    current: Annotated[
        bool, Query(description="true: current only (default); false: history included")
    ] = True,
    as_of: Annotated[
        IsoDate | None,
        Query(description="Only memberships current on this day (implies `current=true`)"),
    ] = None,
    node_id: Annotated[
        StrictId | None, Query(description="Only memberships on this map node")
    ] = None,
    region_code: Annotated[
        str | None,
        Query(pattern=r"^\d{6}$", description="Enterprise region (or below)", examples=["370600"]),
    ] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Enterprise name fragment or exact USCC")
    ] = None,
) -> MembershipFilters:
    return MembershipFilters(
        role=role, current=current, as_of=as_of, node_id=node_id, region_code=region_code, q=q
    )


MembershipFiltersDep = Annotated[MembershipFilters, Depends(membership_filters)]
