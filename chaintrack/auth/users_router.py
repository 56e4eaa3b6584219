"""User management for administrators: accounts, roles, passwords, editor assignments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from chaintrack.auth import service
from chaintrack.auth.deps import CurrentPrincipal, auth_state
from chaintrack.auth.permissions import admin_only
from chaintrack.auth.schemas import (
    ChainAssignmentOut,
    PasswordReset,
    UserCreate,
    UserOut,
    UserUpdate,
)
from chaintrack.common.concurrency import IfMatch, created, set_etag
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.common.pagination import Page, PageDep, sort_query
from chaintrack.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    problem_responses,
)
from chaintrack.models.enums import UserRole

router = APIRouter(prefix="/users", tags=["users"], dependencies=[admin_only()])

UserId = Annotated[StrictId, Path(description="User id")]
ChainId = Annotated[StrictId, Path(description="Chain id")]
WRITE_PROBLEMS = (
    Forbidden,
    NotFound,
    Conflict,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
)


@router.get(
    "",
    response_model=Page[UserOut],
    summary="List users (用户列表)",
    description="Administrators only. Filter by role, active flag, assigned chain or a "
    "fragment of the username / display name.",
    responses=problem_responses(Forbidden, ValidationProblem),
)
def list_users(
    session: SessionDep,
    page: PageDep,
    role: Annotated[UserRole | None, Query()] = None,
    is_active: Annotated[bool | None, Query()] = None,
    chain_id: Annotated[StrictId | None, Query(description="Editors of this chain")] = None,
    q: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")] = None,
    sort: Annotated[str | None, sort_query(service.SORT_KEYS)] = None,
) -> Page[UserOut]:
    total, items = service.list_users(
        session, page, role=role, is_active=is_active, chain_id=chain_id, q=q, sort=sort
    )
    return Page[UserOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a user (新建用户)",
    description=(
        "Administrators only. The password is hashed (Argon2id) and never returned. An "
        "editor may be given `chain_ids` at once (or later through /users/{id}/chains). "
        "A username in use is a 409 pointing at the existing user."
    ),
    responses=problem_responses(Forbidden, Conflict, ValidationProblem),
)
def create_user(
    request: Request, data: UserCreate, session: SessionDep, response: Response
) -> UserOut:
    user = service.create_user(session, auth_state(request), data)
    created(response, f"/api/v1/users/{user.id}", user)
    return service.user_out(session, user)


@router.get(
    "/{user_id}",
    response_model=UserOut,
    summary="Read a user",
    responses=problem_responses(Forbidden, NotFound),
)
def get_user(user_id: UserId, session: SessionDep, response: Response) -> UserOut:
    user = service.get_user(session, user_id)
    set_etag(response, user)
    return service.user_out(session, user)


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    summary="Change a user's name, role or active flag (修改用户/停用)",
    description=(
        "Send only what changes, with If-Match. `is_active: false` deactivates the user: "
        "their tokens stop working at once. The last active administrator cannot be "
        "deactivated or demoted (409), nor can you deactivate yourself."
    ),
    responses=problem_responses(*WRITE_PROBLEMS),
)
def update_user(
    user_id: UserId,
    data: UserUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> UserOut:
    user = service.update_user(session, principal.user, user_id, data, if_match)
    set_etag(response, user)
    return service.user_out(session, user)


@router.post(
    "/{user_id}/password",
    response_model=UserOut,
    summary="Reset a user's password (重置密码)",
    description=(
        "Sets a new password (If-Match required); the user's tokens stop working. For your "
        "own account send `current_password` too (or use POST /api/v1/auth/password)."
    ),
    responses=problem_responses(*WRITE_PROBLEMS),
)
def reset_password(
    request: Request,
    user_id: UserId,
    data: PasswordReset,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> UserOut:
    user = service.reset_password(
        session, auth_state(request), principal.user, user_id, data, if_match
    )
    set_etag(response, user)
    return service.user_out(session, user)


@router.post(
    "/{user_id}/unlock",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Lift a sign-in lock (解除登录锁定)",
    description=(
        "Forgets the account's failed sign-ins, so that a user locked out by failures "
        "(their own or someone else's) can sign in at once. 204 whether or not it was locked."
    ),
    responses=problem_responses(Forbidden, NotFound),
)
def unlock(user_id: UserId, session: SessionDep) -> Response:
    service.unlock_user(session, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{user_id}/chains",
    response_model=list[ChainAssignmentOut],
    summary="The chains an editor may change (编辑负责的产业链)",
    responses=problem_responses(Forbidden, NotFound),
)
def list_chains(user_id: UserId, session: SessionDep) -> list[ChainAssignmentOut]:
    return service.list_assignments(session, user_id)


@router.put(
    "/{user_id}/chains/{chain_id}",
    response_model=ChainAssignmentOut,
    summary="Make an editor responsible for a chain (分配产业链)",
    description="201 when assigned now, 200 when it already was. Only editors (409 otherwise).",
    responses={
        201: {"model": ChainAssignmentOut, "description": "Assigned"},
        **problem_responses(Forbidden, NotFound, Conflict),
    },
)
def assign_chain(
    user_id: UserId, chain_id: ChainId, session: SessionDep, response: Response
) -> ChainAssignmentOut:
    out, is_new = service.assign_chain(session, user_id, chain_id)
    response.status_code = status.HTTP_201_CREATED if is_new else status.HTTP_200_OK
    return out


@router.delete(
    "/{user_id}/chains/{chain_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Take a chain from an editor (取消分配)",
    responses=problem_responses(Forbidden, NotFound),
)
def unassign_chain(user_id: UserId, chain_id: ChainId, session: SessionDep) -> Response:
    service.unassign_chain(session, user_id, chain_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
