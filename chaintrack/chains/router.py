"""HTTP routes for chain groups, chains and leadership terms (产业链、链长)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from chaintrack.auth.permissions import ChainOf, admin_only, chain_write
from chaintrack.chains import service, service_leaders
from chaintrack.chains.schemas import (
    ChainCreate,
    ChainGroupCreate,
    ChainGroupOut,
    ChainGroupUpdate,
    ChainLeaderCreate,
    ChainLeaderOut,
    ChainLeaderUpdate,
    ChainOut,
    ChainUpdate,
)
from chaintrack.common.concurrency import IfMatch, created, set_etag
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.common.pagination import Page, PageDep, sort_query
from chaintrack.common.schemas import IsoDate
from chaintrack.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    problem_responses,
)
from chaintrack.models.enums import ChainStatus, LeaderRole

router = APIRouter(tags=["chains"])

API = service.API
WRITE_PROBLEMS = (NotFound, Conflict, PreconditionFailed, PreconditionRequired, ValidationProblem)
GroupSort = Annotated[str | None, sort_query(service.GROUP_SORTS)]
ChainSort = Annotated[str | None, sort_query(service.CHAIN_SORTS)]
LeaderSort = Annotated[str | None, sort_query(service_leaders.LEADER_SORTS)]


# --- chain groups -----------------------------------------------------------------


@router.post(
    "/chain-groups",
    dependencies=[admin_only()],
    response_model=ChainGroupOut,
    status_code=201,
    summary="Create a chain group (产业链分组)",
    description="A family of chains, e.g. 新增长极. The code must be unused (409 otherwise).",
    responses=problem_responses(Conflict, ValidationProblem),
)
def create_group(data: ChainGroupCreate, session: SessionDep, response: Response) -> ChainGroupOut:
    group = service.create_group(session, data)
    created(response, f"{API}/chain-groups/{group.id}", group)
    return ChainGroupOut.model_validate(group)


@router.get(
    "/chain-groups",
    response_model=Page[ChainGroupOut],
    summary="List chain groups",
    responses=problem_responses(ValidationProblem),
)
def list_groups(
    session: SessionDep,
    page: PageDep,
    q: Annotated[
        str | None, Query(max_length=64, description="Name (zh/en) or code fragment")
    ] = None,
    sort: GroupSort = None,
) -> Page[ChainGroupOut]:
    total, rows = service.list_groups(session, page, q=q, sort=sort)
    return Page[ChainGroupOut](
        items=[ChainGroupOut.model_validate(g) for g in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/chain-groups/{group_id}",
    response_model=ChainGroupOut,
    summary="Read a chain group",
    responses=problem_responses(NotFound),
)
def get_group(group_id: StrictId, session: SessionDep, response: Response) -> ChainGroupOut:
    group = service.get_group(session, group_id)
    set_etag(response, group)
    return ChainGroupOut.model_validate(group)


@router.patch(
    "/chain-groups/{group_id}",
    dependencies=[admin_only()],
    response_model=ChainGroupOut,
    summary="Update a chain group",
    description="Send only the fields to change, with `If-Match` (the ETag you read).",
    responses=problem_responses(*WRITE_PROBLEMS),
)
def update_group(
    group_id: StrictId,
    data: ChainGroupUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ChainGroupOut:
    group = service.update_group(session, group_id, data, if_match)
    set_etag(response, group)
    return ChainGroupOut.model_validate(group)


# --- chains ---------------------------------------------------------------------


@router.post(
    "/chains",
    dependencies=[admin_only()],
    response_model=ChainOut,
    status_code=201,
    summary="Create a chain (产业链)",
    description=(
        "Register an industrial chain. `code` must be unused (409 naming the existing chain); "
        "`group_id` must be an existing group and `region_code` a current region of the "
        "catalogue (422 naming the field). / 新增产业链。"
    ),
    responses=problem_responses(Conflict, ValidationProblem),
)
def create_chain(data: ChainCreate, session: SessionDep, response: Response) -> ChainOut:
    chain = service.create_chain(session, data)
    created(response, f"{API}/chains/{chain.id}", chain)
    return ChainOut.model_validate(chain)


@router.get(
    "/chains",
    response_model=Page[ChainOut],
    summary="List chains",
    description="Filter by group, status, region or a name fragment (zh/en/code). / 产业链列表。",
    responses=problem_responses(ValidationProblem),
)
def list_chains(
    session: SessionDep,
    page: PageDep,
    group_id: Annotated[StrictId | None, Query(description="Chain group id")] = None,
    status: Annotated[ChainStatus | None, Query(description="planning / active / archived")] = None,
    region_code: Annotated[str | None, Query(max_length=6, examples=["370000"])] = None,
    q: Annotated[
        str | None,
        Query(max_length=64, description="Name fragment (zh/en) or code", examples=["半导体"]),
    ] = None,
    sort: ChainSort = None,
) -> Page[ChainOut]:
    total, rows = service.list_chains(
        session, page, group_id=group_id, status=status, region_code=region_code, q=q, sort=sort
    )
    return Page[ChainOut](
        items=[ChainOut.model_validate(c) for c in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/chains/{chain_id}",
    response_model=ChainOut,
    summary="Read a chain (with its group)",
    responses=problem_responses(NotFound),
)
def get_chain(chain_id: StrictId, session: SessionDep, response: Response) -> ChainOut:
    chain = service.get_chain(session, chain_id)
    set_etag(response, chain)
    return ChainOut.model_validate(chain)


@router.patch(
    "/chains/{chain_id}",
    dependencies=[admin_only()],
    response_model=ChainOut,
    summary="Update a chain (administrators)",
    description=(
        "Send only the fields to change, with `If-Match` (the ETag you read). The chain "
        "register (code, names, group, status) is the province's: administrators only; chain "
        "editors keep the chain's map, lists, leaders, memberships, projects and progress."
    ),
    responses=problem_responses(*WRITE_PROBLEMS),
)
def update_chain(
    chain_id: StrictId,
    data: ChainUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ChainOut:
    chain = service.update_chain(session, chain_id, data, if_match)
    set_etag(response, chain)
    return ChainOut.model_validate(chain)


# --- leadership -----------------------------------------------------------------


@router.get(
    "/chains/{chain_id}/leaders",
    response_model=Page[ChainLeaderOut],
    summary="List a chain's leadership terms (链长)",
    description=(
        "All terms, history included, unless `current=true` (in office today) or "
        "`as_of=YYYY-MM-DD` (in office on that day: `start_on <= as_of < end_on`). "
        "Ordered 总链长, 链长, 副链长, 联络员, latest term first."
    ),
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_leaders(
    chain_id: StrictId,
    session: SessionDep,
    page: PageDep,
    current: Annotated[bool, Query(description="Only terms in office today")] = False,
    as_of: Annotated[IsoDate | None, Query(description="Only terms in office on this day")] = None,
    role: Annotated[LeaderRole | None, Query()] = None,
    sort: LeaderSort = None,
) -> Page[ChainLeaderOut]:
    total, rows = service_leaders.list_leaders(
        session, chain_id, page, current=current, as_of=as_of, role=role, sort=sort
    )
    return Page[ChainLeaderOut](
        items=[ChainLeaderOut.model_validate(x) for x in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/chains/{chain_id}/leaders",
    dependencies=[chain_write(ChainOf.chain())],
    response_model=ChainLeaderOut,
    status_code=201,
    summary="Record a leadership term",
    description=(
        "A person's term in a role on the chain. `end_on`, when given, must not be before "
        "`start_on`; the same person cannot hold overlapping terms in the same role (409)."
    ),
    responses=problem_responses(NotFound, Conflict, ValidationProblem),
)
def create_leader(
    chain_id: StrictId, data: ChainLeaderCreate, session: SessionDep, response: Response
) -> ChainLeaderOut:
    leader = service_leaders.create_leader(session, chain_id, data)
    created(response, f"{API}/chain-leaders/{leader.id}", leader)
    return ChainLeaderOut.model_validate(leader)


@router.get(
    "/chain-leaders/{leader_id}",
    response_model=ChainLeaderOut,
    summary="Read a leadership term",
    responses=problem_responses(NotFound),
)
def get_leader(leader_id: StrictId, session: SessionDep, response: Response) -> ChainLeaderOut:
    leader = service_leaders.get_leader(session, leader_id)
    set_etag(response, leader)
    return ChainLeaderOut.model_validate(leader)


@router.patch(
    "/chain-leaders/{leader_id}",
    dependencies=[chain_write(ChainOf.chain_leader("leader_id"))],
    response_model=ChainLeaderOut,
    summary="Update or end a leadership term",
    description=(
        'E.g. end a term with `{"end_on": "2025-01-31"}`. Terms are history and are never '
        "deleted. Requires `If-Match`. / 修改或结束任期（不删除）。"
    ),
    responses=problem_responses(*WRITE_PROBLEMS),
)
def update_leader(
    leader_id: StrictId,
    data: ChainLeaderUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ChainLeaderOut:
    leader = service_leaders.update_leader(session, leader_id, data, if_match)
    set_etag(response, leader)
    return ChainLeaderOut.model_validate(leader)
