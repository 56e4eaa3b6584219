"""HTTP routes for the reference catalogues (read-only): regions, tiers, project types."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from chaintrack.common.deps import SessionDep
from chaintrack.common.pagination import Page, PageDep, sort_query
from chaintrack.errors import NotFound, ValidationProblem, problem_responses
from chaintrack.reference import service
from chaintrack.reference.schemas import ProjectTypeOut, RegionOut, TierOut

router = APIRouter(tags=["reference"])


@router.get(
    "/regions",
    response_model=Page[RegionOut],
    summary="List regions (行政区划)",
    description=(
        "GB/T 2260 divisions known to chaintrack. Abolished codes (e.g. 莱芜市 371200, "
        "merged into 济南 in 2019) are listed too, flagged `abolished` with their successor, "
        "because historical USCCs still carry them. / 行政区划列表，含已撤销区划（标注撤销）。"
    ),
    responses=problem_responses(ValidationProblem),
)
def list_regions(
    session: SessionDep,
    page: PageDep,
    parent_code: Annotated[
        str | None,
        Query(max_length=16, description="Only the children of this code", examples=["370000"]),
    ] = None,
    include_abolished: Annotated[
        bool, Query(description="Include abolished codes (flagged `abolished`)")
    ] = True,
    q: Annotated[
        str | None,
        Query(max_length=64, description="Name fragment (zh/en) or exact code", examples=["烟台"]),
    ] = None,
    sort: Annotated[str | None, sort_query(service.REGION_SORTS)] = None,
) -> Page[RegionOut]:
    total, rows = service.list_regions(
        session,
        page,
        parent_code=parent_code,
        include_abolished=include_abolished,
        q=q,
        sort=sort,
    )
    return Page[RegionOut](
        items=[RegionOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/regions/{code}",
    response_model=RegionOut,
    summary="Read one region",
    responses=problem_responses(NotFound),
)
def get_region(
    session: SessionDep, code: Annotated[str, Path(max_length=16, examples=["371200"])]
) -> RegionOut:
    return RegionOut.model_validate(service.get_region(session, code))


@router.get(
    "/tiers",
    response_model=list[TierOut],
    summary="The cultivation ladder (梯度培育)",
    description=(
        "Every tier, top rung first (`rank` descending): navigator → single champion → "
        "unicorn → little giant → … A fixed catalogue of a few rows, so not paginated. / "
        "梯度培育层级，按层级从高到低排列。"
    ),
)
def list_tiers(session: SessionDep) -> list[TierOut]:
    return [TierOut.model_validate(t) for t in service.list_tiers(session)]


@router.get(
    "/project-types",
    response_model=list[ProjectTypeOut],
    summary="Chain-building project types (建链、补链、延链、强链)",
    description="The four project types with their working definitions. Not paginated.",
)
def list_project_types(session: SessionDep) -> list[ProjectTypeOut]:
    return [ProjectTypeOut.model_validate(t) for t in service.list_project_types(session)]
