"""HTTP routes for the N lists (N张清单): list types, lists per chain and period, entries."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status

from chaintrack.auth.permissions import ChainOf, Ref, admin_only, chain_write
from chaintrack.common.concurrency import IfMatch, created, set_etag
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.common.pagination import Page, PageDep, sort_query
from chaintrack.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    problem_responses,
)
from chaintrack.lists import service, service_entries, service_types
from chaintrack.lists.schemas import (
    ChainListCreate,
    ChainListDetail,
    ChainListOut,
    ChainListUpdate,
    EntryCreate,
    EntryOrder,
    EntryOrderOut,
    EntryOut,
    EntryUpdate,
    ListTypeBrief,
    ListTypeCreate,
    ListTypeOut,
    ListTypeUpdate,
)
from chaintrack.lists.service import ListView
from chaintrack.lists.service_entries import EntryView

router = APIRouter(tags=["lists"])

# An entry may point at an enterprise, project or node: none may be another chain's.
ENTRY_REFS = (Ref.enterprise("enterprise_id"), Ref.project("project_id"), Ref.node("node_id"))

Id = Annotated[StrictId, Path()]
QueryId = Annotated[StrictId | None, Query()]

NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
_UPDATE_PROBLEMS = (NotFound, Conflict, PreconditionFailed, PreconditionRequired, ValidationProblem)


def _list_out(view: ListView) -> ChainListOut:
    lst = view.chain_list
    return ChainListOut(
        id=lst.id,
        chain_id=lst.chain_id,
        list_type_id=lst.list_type_id,
        list_type=ListTypeBrief.model_validate(view.list_type),
        period=lst.period,
        title=lst.title,
        note=lst.note,
        entry_count=view.entry_count,
        version=lst.version,
        created_at=lst.created_at,
        updated_at=lst.updated_at,
    )


def _list_detail(view: ListView, response: Response) -> ChainListDetail:
    set_etag(response, view.chain_list)
    brief = _list_out(view).model_dump(exclude={"list_type"})
    return ChainListDetail(**brief, list_type=ListTypeOut.model_validate(view.list_type))


def _entry_out(view: EntryView) -> EntryOut:
    e = view.entry
    return EntryOut(
        id=e.id,
        list_id=e.list_id,
        chain_id=e.chain_id,
        position=e.position,
        title=e.title,
        enterprise_id=e.enterprise_id,
        project_id=e.project_id,
        node_id=e.node_id,
        enterprise=view.enterprise,
        project=view.project,
        node=view.node,
        attributes=e.attributes or {},
        note=e.note,
        version=e.version,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def _entry_single(view: EntryView, response: Response) -> EntryOut:
    set_etag(response, view.entry)
    return _entry_out(view)


# --- list types -----------------------------------------------------------------


@router.get(
    "/list-types",
    response_model=Page[ListTypeOut],
    summary="List the list-type catalogue (清单类型目录)",
    description="清单类型目录，可按启用状态、关键词、引用对象筛选。 The catalogue of list types.",
    responses=problem_responses(ValidationProblem),
)
def list_list_types(
    session: SessionDep,
    page: PageDep,
    active: Annotated[bool | None, Query(description="Only active (true) / inactive")] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100, pattern=NO_NUL, description="Fragment of code or name (代码或名称片段)"
        ),
    ] = None,
    entry_ref: Annotated[
        Literal["enterprise", "project", "node", "none"] | None,
        Query(description="What entries point at; `none` for stand-alone lists"),
    ] = None,
    sort: Annotated[str | None, sort_query(service_types._SORTS)] = None,
) -> Page[ListTypeOut]:
    total, rows = service_types.list_list_types(
        session, page, active=active, q=q, entry_ref=entry_ref, sort=sort
    )
    return Page(
        items=[ListTypeOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/list-types/{type_id}",
    response_model=ListTypeOut,
    summary="Read a list type",
    responses=problem_responses(NotFound, ValidationProblem),
)
def get_list_type(type_id: Id, session: SessionDep, response: Response) -> ListTypeOut:
    row = service_types.get_list_type(session, type_id)
    set_etag(response, row)
    return ListTypeOut.model_validate(row)


@router.post(
    "/list-types",
    dependencies=[admin_only()],
    response_model=ListTypeOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a list type to the catalogue (新增清单类型)",
    description=(
        "声明条目字段（名称、标签、类型、是否必填、可选值）和条目可引用的对象。"
        " Declares the fields entries carry and what they may reference. "
        "A code already used gets 409 pointing to the existing type."
    ),
    responses=problem_responses(Conflict, ValidationProblem),
)
def create_list_type(data: ListTypeCreate, session: SessionDep, response: Response) -> ListTypeOut:
    row = service_types.create_list_type(session, data)
    created(response, f"/api/v1/list-types/{row.id}", row)
    return ListTypeOut.model_validate(row)


@router.patch(
    "/list-types/{type_id}",
    dependencies=[admin_only()],
    response_model=ListTypeOut,
    summary="Change a list type (修改清单类型)",
    description=(
        "Requires If-Match. Changing `fields` or `entry_ref` is checked against every existing "
        "entry of the type: adding optional fields is always fine; a change that existing "
        "entries would violate (a field made required, a choice removed, a field with values "
        "removed, a reference kind no longer allowed) gets 409 naming how many entries conflict. "
        "`is_active: false` deactivates the type (no new lists of it). "
        "修改字段定义时会校验已有条目。"
    ),
    responses=problem_responses(*_UPDATE_PROBLEMS),
)
def update_list_type(
    type_id: Id,
    data: ListTypeUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ListTypeOut:
    row = service_types.update_list_type(session, type_id, data, if_match)
    set_etag(response, row)
    return ListTypeOut.model_validate(row)


# --- lists ----------------------------------------------------------------------


@router.get(
    "/chains/{chain_id}/lists",
    response_model=Page[ChainListOut],
    summary="A chain's lists (产业链的清单)",
    description="Each with its type and entry count; newest period first by default.",
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_chain_lists(
    chain_id: Id,
    session: SessionDep,
    page: PageDep,
    list_type_id: QueryId = None,
    type: Annotated[
        str | None,
        Query(
            max_length=48,
            pattern=NO_NUL,
            description="List type code",
            examples=["henan_key_projects"],
        ),
    ] = None,
    period: Annotated[str | None, Query(max_length=16, pattern=NO_NUL, examples=["2025"])] = None,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="Periods of this year (2025, 2025-Q1, ...)")
    ] = None,
    sort: Annotated[str | None, sort_query(service._SORTS)] = None,
) -> Page[ChainListOut]:
    total, views = service.list_chain_lists(
        session,
        chain_id,
        page,
        list_type_id=list_type_id,
        type_code=type,
        period=period,
        year=year,
        sort=sort,
    )
    return Page(
        items=[_list_out(v) for v in views], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/chains/{chain_id}/lists",
    dependencies=[chain_write(ChainOf.chain())],
    response_model=ChainListDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Open a list for a chain and period (新建清单)",
    description=(
        "One list per chain, type and period: a second gets 409 pointing to the existing list. "
        "An inactive type gets 409. 每条产业链每个期间每类清单只有一张。"
    ),
    responses=problem_responses(NotFound, Conflict, ValidationProblem),
)
def create_list(
    chain_id: Id, data: ChainListCreate, session: SessionDep, response: Response
) -> ChainListDetail:
    view = service.create_list(session, chain_id, data)
    created(response, f"/api/v1/lists/{view.chain_list.id}", view.chain_list)
    return _list_detail(view, response)


@router.get(
    "/lists/{list_id}",
    response_model=ChainListDetail,
    summary="Read a list with its type and entry count",
    responses=problem_responses(NotFound, ValidationProblem),
)
def get_list(list_id: Id, session: SessionDep, response: Response) -> ChainListDetail:
    return _list_detail(service.list_view(session, list_id), response)


@router.patch(
    "/lists/{list_id}",
    dependencies=[chain_write(ChainOf.list("list_id"))],
    response_model=ChainListDetail,
    summary="Change a list's period, title or note",
    description="Requires If-Match. The type of a list cannot change.",
    responses=problem_responses(*_UPDATE_PROBLEMS),
)
def update_list(
    list_id: Id,
    data: ChainListUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ChainListDetail:
    return _list_detail(service.update_list(session, list_id, data, if_match), response)


# --- entries --------------------------------------------------------------------


@router.get(
    "/lists/{list_id}/entries",
    response_model=Page[EntryOut],
    summary="A list's entries in order (清单条目)",
    description=(
        "Ordered by position; referenced enterprise, project and node names resolved. "
        "A bounded number of SQL statements whatever the page size."
    ),
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_entries(
    list_id: Id,
    session: SessionDep,
    page: PageDep,
    q: Annotated[
        str | None, Query(max_length=100, pattern=NO_NUL, description="Fragment of the title")
    ] = None,
    enterprise_id: QueryId = None,
    project_id: QueryId = None,
    node_id: QueryId = None,
) -> Page[EntryOut]:
    total, views = service_entries.list_entries(
        session,
        list_id,
        page,
        q=q,
        enterprise_id=enterprise_id,
        project_id=project_id,
        node_id=node_id,
    )
    return Page(
        items=[_entry_out(v) for v in views], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/lists/{list_id}/entries",
    dependencies=[chain_write(ChainOf.list("list_id"), *ENTRY_REFS)],
    response_model=EntryOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add an entry to a list (新增清单条目)",
    description=(
        "`attributes` are checked against the list type's fields: required ones present, "
        "no undeclared ones, values of the declared type (decimals as strings, dates "
        "YYYY-MM-DD, choices from the set); each failure is a 422 error naming "
        "`attributes.<field>`. A referenced node or project must be on the list's chain; an "
        "enterprise must be (or have been) registered on it. An enterprise or project "
        "appears once per list (409). 属性按清单类型校验，引用须属于同一产业链。"
    ),
    responses=problem_responses(NotFound, Conflict, ValidationProblem),
)
def create_entry(
    list_id: Id, data: EntryCreate, session: SessionDep, response: Response
) -> EntryOut:
    view = service_entries.create_entry(session, list_id, data)
    created(response, f"/api/v1/list-entries/{view.entry.id}", view.entry)
    return _entry_out(view)


@router.put(
    "/lists/{list_id}/entries/order",
    dependencies=[chain_write(ChainOf.list("list_id"), Ref.list_entries("entry_ids"))],
    response_model=EntryOrderOut,
    summary="Re-order a list's entries (调整条目顺序)",
    description=(
        "Send every entry id of the list exactly once, in the new order; positions become "
        "1..n. Requires If-Match with the list's ETag; the response carries its new ETag."
    ),
    responses=problem_responses(*_UPDATE_PROBLEMS),
)
def reorder_entries(
    list_id: Id, data: EntryOrder, session: SessionDep, response: Response, if_match: IfMatch = None
) -> EntryOrderOut:
    chain_list = service_entries.reorder_entries(session, list_id, data.entry_ids, if_match)
    set_etag(response, chain_list)
    return EntryOrderOut(list_id=chain_list.id, entry_ids=data.entry_ids)


@router.get(
    "/list-entries/{entry_id}",
    response_model=EntryOut,
    summary="Read a list entry",
    responses=problem_responses(NotFound, ValidationProblem),
)
def get_entry(entry_id: Id, session: SessionDep, response: Response) -> EntryOut:
    return _entry_single(service_entries.entry_view(session, entry_id), response)


@router.patch(
    "/list-entries/{entry_id}",
    dependencies=[chain_write(ChainOf.list_entry("entry_id"), *ENTRY_REFS)],
    response_model=EntryOut,
    summary="Change a list entry (修改清单条目)",
    description=(
        "Requires If-Match. `attributes` is merged into the current ones (a key set to null "
        "removes it) and the result re-validated against the list type; references sent are "
        "checked as on creation."
    ),
    responses=problem_responses(*_UPDATE_PROBLEMS),
)
def update_entry(
    entry_id: Id,
    data: EntryUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> EntryOut:
    view = service_entries.update_entry(session, entry_id, data, if_match)
    return _entry_single(view, response)


@router.delete(
    "/list-entries/{entry_id}",
    dependencies=[chain_write(ChainOf.list_entry("entry_id"))],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove an entry from its list (删除清单条目)",
    description="Requires If-Match.",
    responses=problem_responses(NotFound, PreconditionFailed, PreconditionRequired),
)
def delete_entry(entry_id: Id, session: SessionDep, if_match: IfMatch = None) -> Response:
    service_entries.delete_entry(session, entry_id, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
