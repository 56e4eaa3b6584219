"""The filters of GET /projects as one dependency, shared with the project export
(GET /exports/projects), so the two take the same query parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from chaintrack.common.ids import StrictId
from chaintrack.models.enums import ProjectLevel, ProjectStatus, ProjectType
from chaintrack.projects.queries import ProjectFilters


def project_filters(
    chain_id: Annotated[StrictId | None, Query()] = None,
    type: Annotated[ProjectType | None, Query(description="build/fill/extend/strengthen")] = None,
    status_: Annotated[ProjectStatus | None, Query(alias="status")] = None,
    level: Annotated[ProjectLevel | None, Query()] = None,
    region_code: Annotated[
        str | None,
        Query(pattern=r"^\d{2,6}$", description="Region code or prefix", examples=["3706"]),
    ] = None,
    owner_enterprise_id: Annotated[StrictId | None, Query()] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1, max_length=100, description="Fragment of name / internal / national code"
        ),
    ] = None,
    behind_schedule: Annotated[
        bool | None, Query(description="true: only projects behind schedule (进度滞后)")
    ] = None,
) -> ProjectFilters:
    return ProjectFilters(
        chain_id=chain_id,
        type=type,
        status=status_,
        level=level,
        region_code=region_code,
        owner_enterprise_id=owner_enterprise_id,
        q=q,
        behind_schedule=behind_schedule,
    )


ProjectFiltersDep = Annotated[ProjectFilters, Depends(project_filters)]
