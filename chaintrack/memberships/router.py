"""HTTP routes for chain memberships (链上企业) and chain-master enterprises (链主)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Response

from chaintrack.auth.permissions import ChainOf, Ref, chain_write
from chaintrack.common.concurrency import IfMatch, created, set_etag
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.common.pagination import Page, PageDep, PageParams, sort_query
from chaintrack.common.schemas import IsoDate
from chaintrack.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    problem_responses,
)
from chaintrack.memberships import service
from chaintrack.memberships.params import MembershipFiltersDep
from chaintrack.memberships.schemas import (
    MembershipCreate,
    MembershipEnd,
    MembershipOut,
    MembershipUpdate,
)
from chaintrack.models import Membership
from chaintrack.models.enums import MembershipRole

router = APIRouter(tags=["memberships"])

WRITE_PROBLEMS = (NotFound, Conflict, PreconditionFailed, PreconditionRequired, ValidationProblem)
CURRENT_RULE = (
    "A membership is current on D when `started_on <= D` and `ended_on` is empty or after D."
)
Sort = Annotated[str | None, sort_query(service.SORTS)]
AsOf = Annotated[
    IsoDate | None,
    Query(description="Only memberships current on this day (implies `current=true`)"),
]
RoleQ = Annotated[MembershipRole | None, Query(description="chain_master / leading / supporting")]


def _page(total: int, rows: Sequence[Membership], page: PageParams) -> Page[MembershipOut]:
    return Page[MembershipOut](
        items=[MembershipOut.model_validate(m) for m in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/chains/{chain_id}/memberships",
    dependencies=[chain_write(ChainOf.chain(), Ref.node("node_id"))],
    response_model=MembershipOut,
    status_code=201,
    summary="Register an enterprise to a chain (企业入链)",
    description=(
        "Put an enterprise on the chain in a role, optionally on a map node of the same chain. "
        "422 names `enterprise_id` or `node_id` when the reference is unknown or on another "
        "chain; 409 points to the existing membership when the enterprise already holds the "
        "same role on the same node for an overlapping period. / 登记企业到产业链。"
    ),
    responses=problem_responses(NotFound, Conflict, ValidationProblem),
)
def create_membership(
    chain_id: StrictId, data: MembershipCreate, session: SessionDep, response: Response
) -> MembershipOut:
    membership = service.create_membership(session, chain_id, data)
    created(response, f"{service.API}/memberships/{membership.id}", membership)
    return MembershipOut.model_validate(membership)


@router.get(
    "/chains/{chain_id}/memberships",
    response_model=Page[MembershipOut],
    summary="List a chain's enterprises (链上企业)",
    description=(
        "Current memberships by default (`current=false` for the whole history). "
        + CURRENT_RULE
        + " `region_code` matches the enterprise's region and everything under it "
        "(370100 covers 3701xx and the old 莱芜 3712xx codes merged into it)."
    ),
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_chain_memberships(
    chain_id: StrictId,
    session: SessionDep,
    page: PageDep,
    filters: MembershipFiltersDep,
    sort: Sort = None,
) -> Page[MembershipOut]:
    total, rows = service.list_chain_memberships(
        session, chain_id, page, **dataclasses.asdict(filters), sort=sort
    )
    return _page(total, rows, page)


@router.get(
    "/chains/{chain_id}/masters",
    response_model=Page[MembershipOut],
    summary="A chain's chain-master enterprises (链主企业)",
    description=(
        "Memberships with role `chain_master`, current by default; `as_of` for a past day, "
        "`current=false` for the whole history. " + CURRENT_RULE
    ),
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_masters(
    chain_id: StrictId,
    session: SessionDep,
    page: PageDep,
    current: Annotated[bool, Query(description="false: history included")] = True,
    as_of: AsOf = None,
    sort: Sort = None,
) -> Page[MembershipOut]:
    total, rows = service.list_chain_memberships(
        session,
        chain_id,
        page,
        role=MembershipRole.CHAIN_MASTER,
        current=current,
        as_of=as_of,
        sort=sort,
    )
    return _page(total, rows, page)


@router.get(
    "/enterprises/{enterprise_id}/memberships",
    response_model=Page[MembershipOut],
    summary="An enterprise's chains (企业所在产业链)",
    description=(
        "Every chain the enterprise is or was on, history included (latest first); "
        "`current=true` or `as_of` to narrow. " + CURRENT_RULE
    ),
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_enterprise_memberships(
    enterprise_id: StrictId,
    session: SessionDep,
    page: PageDep,
    chain_id: Annotated[StrictId | None, Query()] = None,
    role: RoleQ = None,
    current: Annotated[bool, Query(description="true: current only")] = False,
    as_of: AsOf = None,
    sort: Sort = None,
) -> Page[MembershipOut]:
    total, rows = service.list_enterprise_memberships(
        session,
        enterprise_id,
        page,
        chain_id=chain_id,
        role=role,
        current=current,
        as_of=as_of,
        sort=sort,
    )
    return _page(total, rows, page)


@router.get(
    "/memberships/{membership_id}",
    response_model=MembershipOut,
    summary="Read a membership",
    responses=problem_responses(NotFound),
)
def get_membership(
    membership_id: StrictId, session: SessionDep, response: Response
) -> MembershipOut:
    membership = service.get_membership(session, membership_id)
    set_etag(response, membership)
    return MembershipOut.model_validate(membership)


@router.patch(
    "/memberships/{membership_id}",
    dependencies=[chain_write(ChainOf.membership("membership_id"), Ref.node("node_id"))],
    response_model=MembershipOut,
    summary="Change a membership's role, node or note",
    description=(
        "Send only the fields to change, with `If-Match`. To take an enterprise off the chain "
        "use `POST /memberships/{id}/end` (memberships are history, never deleted)."
    ),
    responses=problem_responses(*WRITE_PROBLEMS),
)
def update_membership(
    membership_id: StrictId,
    data: MembershipUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> MembershipOut:
    membership = service.update_membership(session, membership_id, data, if_match)
    set_etag(response, membership)
    return MembershipOut.model_validate(membership)


@router.post(
    "/memberships/{membership_id}/end",
    dependencies=[chain_write(ChainOf.membership("membership_id"))],
    response_model=MembershipOut,
    summary="End a membership (企业出链)",
    description=(
        "Sets `ended_on` (not before `started_on`) and the reason; the row stays as history. "
        "Ending one that has already ended is a 409. Requires `If-Match`."
    ),
    responses=problem_responses(*WRITE_PROBLEMS),
)
def end_membership(
    membership_id: StrictId,
    data: MembershipEnd,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> MembershipOut:
    membership = service.end_membership(session, membership_id, data, if_match)
    set_etag(response, membership)
    return MembershipOut.model_validate(membership)
