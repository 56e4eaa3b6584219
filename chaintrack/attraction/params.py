"""The lead list's filters as one dependency: the list, the export and the page share it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from chaintrack.attraction.service import LeadFilters
from chaintrack.common.ids import StrictId
from chaintrack.models.attraction import LeadSource, LeadStage


def lead_filters(
    chain_id: Annotated[StrictId | None, Query(description="产业链")] = None,
    stage: Annotated[LeadStage | None, Query(description="阶段")] = None,
    source: Annotated[LeadSource | None, Query(description="线索来源")] = None,
    responsible: Annotated[
        str | None, Query(max_length=64, description="责任单位或责任人（片段）")
    ] = None,
    node_id: Annotated[StrictId | None, Query(description="图谱节点")] = None,
    enterprise_id: Annotated[StrictId | None, Query(description="落地企业")] = None,
    project_id: Annotated[StrictId | None, Query(description="落地项目")] = None,
) -> LeadFilters:
    return LeadFilters(chain_id, stage, source, responsible, node_id, enterprise_id, project_id)


LeadFiltersDep = Annotated[LeadFilters, Depends(lead_filters)]
