"""HTTP routes for the chain map (产业链图谱): nodes, relations, the whole map, versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from chaintrack.auth.permissions import ChainOf, Ref, chain_write
from chaintrack.common.concurrency import IfMatch, check_if_match, created, set_etag
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.common.pagination import Page, PageDep, sort_query
from chaintrack.common.schemas import IsoDate
from chaintrack.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    problem_responses,
)
from chaintrack.maps import service, service_map, versions
from chaintrack.maps.schemas import (
    ChainMapOut,
    MapDiffOut,
    MapVersionCreate,
    MapVersionDetail,
    MapVersionOut,
    NodeCreate,
    NodeOut,
    NodeUpdate,
    RelationCreate,
    RelationOut,
)
from chaintrack.models.enums import Assessment, GapKind, NodeKind, RelationKind, Stage

router = APIRouter(tags=["map"])

ChainId = Annotated[StrictId, Path(description="产业链 id / chain id")]
NodeId = Annotated[StrictId, Path(description="节点 id / map node id")]
NodeSort = Annotated[str | None, sort_query(service.NODE_SORTS)]
RelationSort = Annotated[str | None, sort_query(service.RELATION_SORTS)]
VersionSort = Annotated[str | None, sort_query(versions.VERSION_SORTS)]
PREFIX = "/api/v1"


# ---------------------------------------------------------------- nodes


@router.post(
    "/chains/{chain_id}/nodes",
    dependencies=[chain_write(ChainOf.chain(), Ref.node("parent_id"))],
    response_model=NodeOut,
    status_code=status.HTTP_201_CREATED,
    summary="新增图谱节点 / Add a map node",
    description=(
        "在产业链图谱中新增一个环节、子环节、产品或技术节点。上级节点须属于同一条链，编码链内唯一，"
        "缺口类型只能填在弱链或缺链节点上。\n\n"
        "Adds a node. The parent must be on the same chain (422 naming `parent_id`), the code is "
        "unique per chain (409 pointing at the existing node), and `gap_kind` is only allowed "
        "when `assessment` is `weak` or `missing` (422 naming `gap_kind`)."
    ),
    responses=problem_responses(BadRequest, NotFound, Conflict, ValidationProblem),
)
def create_node(
    chain_id: ChainId, body: NodeCreate, session: SessionDep, response: Response
) -> NodeOut:
    node = service.create_node(session, chain_id, body.model_dump())
    created(response, f"{PREFIX}/nodes/{node.id}", node)
    return NodeOut.model_validate(node)


@router.get(
    "/chains/{chain_id}/nodes",
    response_model=Page[NodeOut],
    summary="图谱节点列表 / List a chain's map nodes",
    description="平铺的节点列表，可按上中下游、研判、类型、上级节点和关键词筛选。"
    "Flat, paginated; use GET /chains/{chain_id}/map for the tree.",
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_nodes(
    chain_id: ChainId,
    session: SessionDep,
    page: PageDep,
    stage: Annotated[Stage | None, Query(description="上游/中游/下游")] = None,
    assessment: Annotated[Assessment | None, Query(description="强/弱/缺")] = None,
    unassessed: Annotated[
        bool | None, Query(description="true: only nodes not assessed yet; false: only assessed")
    ] = None,
    kind: Annotated[NodeKind | None, Query()] = None,
    gap_kind: Annotated[GapKind | None, Query()] = None,
    parent_id: Annotated[StrictId | None, Query(description="Direct children of this node")] = None,
    top_level: Annotated[
        bool | None, Query(description="true: only top-level nodes; false: only sub-nodes")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100, description="编码或名称包含 / code or name contains", examples=["衬底"]
        ),
    ] = None,
    sort: NodeSort = None,
) -> Page[NodeOut]:
    filters = service.NodeFilters(
        stage=stage,
        assessment=assessment,
        unassessed=unassessed,
        kind=kind,
        gap_kind=gap_kind,
        parent_id=parent_id,
        top_level=top_level,
        q=q,
    )
    total, rows = service.list_nodes(session, chain_id, filters, sort, page)
    return Page[NodeOut](
        items=[NodeOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/nodes/{node_id}",
    response_model=NodeOut,
    summary="读取图谱节点 / Read a map node",
    responses=problem_responses(NotFound),
)
def read_node(node_id: NodeId, session: SessionDep, response: Response) -> NodeOut:
    node = service.get_node(session, node_id)
    set_etag(response, node)
    return NodeOut.model_validate(node)


@router.patch(
    "/nodes/{node_id}",
    dependencies=[chain_write(ChainOf.node("node_id"), Ref.node("parent_id"))],
    response_model=NodeOut,
    summary="修改、重新研判或移动节点 / Rename, re-assess or move a node",
    description=(
        "只发送要修改的字段；需带 If-Match。移动（改 parent_id）时不能移到本节点或其下级之下"
        "（409，返回路径），也不能移到其他产业链的节点之下（422）。\n\n"
        "Send only the fields that change, with If-Match. Moving under the node itself or one "
        "of its descendants is a 409 with the `path`; a parent on another chain is a 422."
    ),
    responses=problem_responses(
        NotFound, Conflict, PreconditionFailed, ValidationProblem, PreconditionRequired
    ),
)
def update_node(
    node_id: NodeId,
    body: NodeUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> NodeOut:
    node = service.get_node(session, node_id)
    check_if_match(if_match, node)
    node = service.update_node(session, node, body.model_dump(exclude_unset=True))
    set_etag(response, node)
    return NodeOut.model_validate(node)


@router.delete(
    "/nodes/{node_id}",
    dependencies=[chain_write(ChainOf.node("node_id"))],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="删除图谱节点 / Delete a map node",
    description=(
        "仅当节点没有下级节点、企业登记（含已结束的）、项目目标和清单条目引用时可删除；"
        "其供应关系随之删除。需带 If-Match。\n\n"
        "Only a node nothing references (children, memberships incl. ended ones, project "
        "targets, list entries) can be deleted — otherwise 409 listing the `references`. Its "
        "relations go with it. Requires If-Match."
    ),
    responses=problem_responses(NotFound, Conflict, PreconditionFailed, PreconditionRequired),
)
def delete_node(node_id: NodeId, session: SessionDep, if_match: IfMatch = None) -> Response:
    node = service.get_node(session, node_id)
    check_if_match(if_match, node)
    service.delete_node(session, node)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- relations


@router.post(
    "/chains/{chain_id}/relations",
    dependencies=[chain_write(ChainOf.chain(), Ref.node("from_node_id"), Ref.node("to_node_id"))],
    response_model=RelationOut,
    status_code=status.HTTP_201_CREATED,
    summary="新增节点间关系 / Add a relation between two nodes",
    description=(
        "两端节点须属于该产业链（否则 422），不能自己指向自己（422），同类关系不能重复（409）。\n\n"
        "Both nodes must be on this chain (422 naming the field), a node cannot relate to "
        "itself (422), and the same (from, to, kind) twice is a 409."
    ),
    responses=problem_responses(BadRequest, NotFound, Conflict, ValidationProblem),
)
def create_relation(
    chain_id: ChainId, body: RelationCreate, session: SessionDep, response: Response
) -> RelationOut:
    relation = service.create_relation(session, chain_id, body.model_dump())
    created(response, f"{PREFIX}/relations/{relation.id}", None)
    return RelationOut.model_validate(relation)


@router.get(
    "/chains/{chain_id}/relations",
    response_model=Page[RelationOut],
    summary="节点间关系列表 / List a chain's relations",
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_relations(
    chain_id: ChainId,
    session: SessionDep,
    page: PageDep,
    node_id: Annotated[StrictId | None, Query(description="Relations touching this node")] = None,
    from_node_id: Annotated[StrictId | None, Query()] = None,
    to_node_id: Annotated[StrictId | None, Query()] = None,
    kind: Annotated[RelationKind | None, Query()] = None,
    sort: RelationSort = None,
) -> Page[RelationOut]:
    filters = service.RelationFilters(
        node_id=node_id, from_node_id=from_node_id, to_node_id=to_node_id, kind=kind
    )
    total, rows = service.list_relations(session, chain_id, filters, sort, page)
    return Page[RelationOut](
        items=[RelationOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/relations/{relation_id}",
    response_model=RelationOut,
    summary="读取节点间关系 / Read a relation",
    responses=problem_responses(NotFound),
)
def read_relation(relation_id: Annotated[StrictId, Path()], session: SessionDep) -> RelationOut:
    return RelationOut.model_validate(service.get_relation(session, relation_id))


@router.delete(
    "/relations/{relation_id}",
    dependencies=[chain_write(ChainOf.relation("relation_id"))],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="删除节点间关系 / Delete a relation",
    responses=problem_responses(NotFound),
)
def delete_relation(relation_id: Annotated[StrictId, Path()], session: SessionDep) -> Response:
    relation = service.get_relation(session, relation_id)
    service.delete_relation(session, relation)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- whole map


@router.get(
    "/chains/{chain_id}/map",
    response_model=ChainMapOut,
    summary="产业链图谱全图 / The whole map of a chain",
    description=(
        "按上游、中游、下游分组的节点树（同级按 position、id 排序），每个节点带当前登记企业数，"
        "以及节点间关系和强/弱/缺汇总。无论图谱大小，SQL 语句数固定。\n\n"
        "The node tree grouped by stage (siblings ordered by position, then id), each node "
        "with the number of enterprises registered on it at `as_of` (default today), the "
        "relations and summary counts — in a fixed number of SQL statements."
    ),
    responses=problem_responses(NotFound, ValidationProblem),
)
def read_map(
    chain_id: ChainId,
    session: SessionDep,
    as_of: Annotated[
        IsoDate | None,
        Query(
            description="企业数统计日期，默认今天 / date for the counts", examples=["2025-06-30"]
        ),
    ] = None,
) -> ChainMapOut:
    return ChainMapOut.model_validate(service_map.chain_map(session, chain_id, as_of))


# ---------------------------------------------------------------- versions


@router.post(
    "/chains/{chain_id}/map-versions",
    dependencies=[chain_write(ChainOf.chain())],
    response_model=MapVersionOut,
    status_code=status.HTTP_201_CREATED,
    summary="发布图谱版本 / Publish a map version",
    description=(
        "把当前图谱（全部节点和关系）冻结为新版本，版本号为已有最大版本号加一。\n\n"
        "Freezes the current map (all nodes and relations) as the next numbered version."
    ),
    responses=problem_responses(BadRequest, NotFound, Conflict, ValidationProblem),
)
def publish_version(
    chain_id: ChainId, body: MapVersionCreate, session: SessionDep, response: Response
) -> MapVersionOut:
    version = versions.publish(session, chain_id, body.model_dump())
    created(response, f"{PREFIX}/map-versions/{version.id}", None)
    return MapVersionOut.model_validate(version)


@router.get(
    "/chains/{chain_id}/map-versions",
    response_model=Page[MapVersionOut],
    summary="图谱版本列表 / List a chain's map versions",
    description="不含快照内容；最新版本在前。Without snapshot bodies; newest first.",
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_versions(
    chain_id: ChainId, session: SessionDep, page: PageDep, sort: VersionSort = None
) -> Page[MapVersionOut]:
    total, rows = versions.list_versions(session, chain_id, sort, page)
    return Page[MapVersionOut](
        items=[MapVersionOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/chains/{chain_id}/map-versions/diff",
    response_model=MapDiffOut,
    summary="比较两个图谱版本 / Compare two map versions",
    description=(
        "列出新增、删除、重新研判、移动、改名的节点以及新增、删除的关系。"
        "省略 to_number 时与当前图谱比较。\n\n"
        "Nodes added, removed, re-assessed, moved and renamed, relations added and removed. "
        "Omit `to_number` to compare with the live map. Unknown numbers are a 404."
    ),
    responses=problem_responses(NotFound, ValidationProblem),
)
def diff_versions(
    chain_id: ChainId,
    session: SessionDep,
    from_number: Annotated[int, Query(ge=1, description="Older version number", examples=[1])],
    to_number: Annotated[
        int | None, Query(ge=1, description="Newer version number; omit for the live map")
    ] = None,
) -> MapDiffOut:
    return MapDiffOut.model_validate(versions.diff(session, chain_id, from_number, to_number))


@router.get(
    "/map-versions/{version_id}",
    response_model=MapVersionDetail,
    summary="读取图谱版本（含快照）/ Read a map version with its snapshot",
    responses=problem_responses(NotFound),
)
def read_version(version_id: Annotated[StrictId, Path()], session: SessionDep) -> MapVersionDetail:
    return MapVersionDetail.model_validate(versions.get_version(session, version_id))
