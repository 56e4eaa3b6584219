"""Request and response bodies for the chain map (产业链图谱)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, computed_field

from chaintrack.common.refs import ChainRef
from chaintrack.common.schemas import InputModel, OutputModel, not_null
from chaintrack.models.enums import Assessment, GapKind, NodeKind, RelationKind, Stage

NodeCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="节点编码，链内唯一 / node code, unique within the chain",
        examples=["UP-01"],
    ),
]
NameZh = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        description="中文名称 / Chinese name",
        examples=["高纯碳化硅衬底"],
    ),
]
NameEn = Annotated[
    str | None,
    Field(
        default=None,
        max_length=200,
        description="English name",
        examples=["High-purity SiC substrate"],
    ),
]


def _label(value: Any) -> str | None:
    return getattr(value, "label_zh", None) if value is not None else None


# ---------------------------------------------------------------- nodes


class NodeCreate(InputModel):
    """A new node of the chain map: a segment, sub-segment, product or technology."""

    parent_id: int | None = Field(
        default=None,
        description="上级节点（须属于同一条产业链）；为空表示顶层环节 / "
        "parent node on the same chain; null for a top-level segment",
        examples=[None],
    )
    code: NodeCode
    name_zh: NameZh
    name_en: NameEn = None
    kind: NodeKind = Field(description="节点类型 / node kind", examples=["segment"])
    stage: Stage = Field(description="上游/中游/下游 / stage", examples=["upstream"])
    assessment: Assessment | None = Field(
        default=None,
        description="研判：强（长板）/弱（短板）/缺（断链）；为空表示未研判 / "
        "strong, weak, missing; null when not assessed yet",
        examples=["weak"],
    )
    gap_kind: GapKind | None = Field(
        default=None,
        description="缺口类型，仅弱链或缺链节点可填 / gap kind, only on weak or missing nodes",
        examples=["technology"],
    )
    description: str | None = Field(
        default=None, max_length=4000, examples=["6英寸及以上导电型衬底"]
    )
    position: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="同级排序（小者在前）/ order among siblings (lower first)",
        examples=[10],
    )


class NodeUpdate(InputModel):
    """Partial update: rename, re-assess, move (parent_id) or reorder. Send only what changes."""

    parent_id: int | None = Field(
        default=None,
        description="移动到新的上级节点（同链）；null 表示移到顶层 / "
        "move under another node of the same chain; null moves it to the top level",
    )
    code: NodeCode | None = None
    name_zh: NameZh | None = None
    name_en: NameEn = None
    kind: NodeKind | None = None
    stage: Stage | None = None
    assessment: Assessment | None = Field(
        default=None, description="重新研判；null 表示未研判 / re-assess; null = not assessed"
    )
    gap_kind: GapKind | None = Field(
        default=None, description="缺口类型，仅弱链或缺链节点可填 / only on weak or missing nodes"
    )
    description: str | None = Field(default=None, max_length=4000)
    position: int | None = Field(default=None, ge=0, le=1_000_000)

    _no_null = not_null("code", "name_zh", "kind", "stage", "position")


class NodeOut(OutputModel):
    id: int
    chain_id: int
    parent_id: int | None
    code: str = Field(examples=["UP-01"])
    name_zh: str
    name_en: str | None
    kind: NodeKind
    stage: Stage
    assessment: Assessment | None
    gap_kind: GapKind | None
    description: str | None
    position: int
    version: int = Field(description="Optimistic-concurrency version (the ETag)")
    created_at: dt.datetime
    updated_at: dt.datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kind_label(self) -> str | None:
        return _label(self.kind)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def stage_label(self) -> str | None:
        return _label(self.stage)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def assessment_label(self) -> str | None:
        return _label(self.assessment)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def gap_kind_label(self) -> str | None:
        return _label(self.gap_kind)


# ---------------------------------------------------------------- relations


class RelationCreate(InputModel):
    """A supply (or technology / service) relation between two nodes of the same chain."""

    from_node_id: int = Field(description="供给方节点 / supplying node", examples=[11])
    to_node_id: int = Field(description="需求方节点 / receiving node", examples=[12])
    kind: RelationKind = Field(default=RelationKind.SUPPLY, examples=["supply"])
    description: str | None = Field(default=None, max_length=4000, examples=["衬底供外延片生产"])


class RelationOut(OutputModel):
    id: int
    chain_id: int
    from_node_id: int
    to_node_id: int
    kind: RelationKind
    description: str | None
    created_at: dt.datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kind_label(self) -> str | None:
        return _label(self.kind)


# ---------------------------------------------------------------- whole map


class MapNodeOut(OutputModel):
    """A node of the tree with its children and its registered enterprise count."""

    id: int
    parent_id: int | None
    code: str
    name_zh: str
    name_en: str | None
    kind: NodeKind
    kind_label: str
    stage: Stage
    stage_label: str
    assessment: Assessment | None
    assessment_label: str | None
    gap_kind: GapKind | None
    gap_kind_label: str | None
    description: str | None
    position: int
    enterprise_count: int = Field(
        description="该节点当前登记的企业数（按 as_of 日期）/ "
        "enterprises with a membership on this node current at as_of",
        examples=[3],
    )
    children: list[MapNodeOut] = Field(default_factory=list)


class StageGroup(OutputModel):
    stage: Stage
    stage_label: str = Field(examples=["上游"])
    nodes: list[MapNodeOut] = Field(
        description="Top-level nodes of this stage, with their subtrees"
    )


class MapRelationOut(OutputModel):
    id: int
    from_node_id: int
    to_node_id: int
    kind: RelationKind
    kind_label: str
    description: str | None


class MapSummary(OutputModel):
    nodes_total: int
    strong: int = Field(description="强链（长板）节点数")
    weak: int = Field(description="弱链（短板）节点数")
    missing: int = Field(description="缺链（断链）节点数")
    unassessed: int = Field(description="未研判节点数")
    nodes_with_enterprises: int = Field(description="有登记企业的节点数")
    relations_total: int


class ChainMapOut(OutputModel):
    """产业链图谱：按上中下游分组的节点树、供应关系与汇总。"""

    chain: ChainRef
    as_of: dt.date = Field(description="Date the enterprise counts are taken at")
    stages: list[StageGroup]
    relations: list[MapRelationOut]
    summary: MapSummary


# ---------------------------------------------------------------- versions


class MapVersionCreate(InputModel):
    """Publish the current map as a frozen, numbered version (图谱1.0 → 2.0)."""

    label: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="版本名称，链内唯一",
        examples=["图谱2.0"],
    )
    published_on: dt.date | None = Field(
        default=None, description="发布日期，默认今天 / defaults to today", examples=["2025-03-31"]
    )
    note: str | None = Field(default=None, max_length=4000, examples=["新增第三代半导体装备环节"])


class MapVersionOut(OutputModel):
    id: int
    chain_id: int
    number: int = Field(description="1, 2, 3 … per chain", examples=[2])
    label: str | None
    published_on: dt.date
    published_at: dt.datetime
    note: str | None


class SnapshotNode(OutputModel):
    id: int
    parent_id: int | None
    code: str
    name_zh: str
    name_en: str | None = None
    kind: str
    stage: str
    assessment: str | None = None
    gap_kind: str | None = None
    description: str | None = None
    position: int = 0


class SnapshotRelation(OutputModel):
    id: int
    from_node_id: int
    to_node_id: int
    kind: str
    description: str | None = None


class MapSnapshot(OutputModel):
    nodes: list[SnapshotNode]
    relations: list[SnapshotRelation]


class MapVersionDetail(MapVersionOut):
    snapshot: MapSnapshot


class DiffSide(OutputModel):
    number: int | None = Field(description="Version number; null for the live map")
    label: str | None = None
    published_on: dt.date | None = None


class NodeReassessed(OutputModel):
    id: int
    code: str
    name_zh: str
    old_assessment: str | None
    new_assessment: str | None
    old_gap_kind: str | None
    new_gap_kind: str | None


class NodeMoved(OutputModel):
    id: int
    code: str
    name_zh: str
    old_parent_id: int | None
    new_parent_id: int | None
    old_parent_code: str | None
    new_parent_code: str | None


class NodeRenamed(OutputModel):
    id: int
    old_code: str
    new_code: str
    old_name_zh: str
    new_name_zh: str
    old_name_en: str | None
    new_name_en: str | None


class DiffSummary(OutputModel):
    nodes_added: int
    nodes_removed: int
    nodes_reassessed: int
    nodes_moved: int
    nodes_renamed: int
    relations_added: int
    relations_removed: int


class MapDiffOut(OutputModel):
    """两个图谱版本之间（或某版本与当前图谱之间）的变化。"""

    chain_id: int
    from_version: DiffSide
    to_version: DiffSide
    nodes_added: list[SnapshotNode]
    nodes_removed: list[SnapshotNode]
    nodes_reassessed: list[NodeReassessed]
    nodes_moved: list[NodeMoved]
    nodes_renamed: list[NodeRenamed]
    relations_added: list[SnapshotRelation]
    relations_removed: list[SnapshotRelation]
    summary: DiffSummary
