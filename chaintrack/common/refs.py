"""The short references one resource's output carries to another, defined once.

Every module that shows "which chain / node / enterprise / project" in its output uses
these classes, so the OpenAPI document has one schema per concept (``ChainRef``, not one
per module with a module path in its name) and a generated client one model. A shape
that truly differs gets its own name (e.g. ``EnterpriseSummary`` with the region, the
report's ``ChainHeader``); ``tests/test_openapi.py`` fails on two schemas with one title.
"""

from __future__ import annotations

from pydantic import Field

from chaintrack.common.schemas import OutputModel


class ChainRef(OutputModel):
    """An industrial chain (产业链), by id, code and names."""

    id: int
    code: str = Field(examples=["GDZB"])
    name_zh: str = Field(examples=["高端装备"])
    name_en: str = Field(examples=["High-end equipment"])


class NodeRef(OutputModel):
    """A node of a chain map (图谱节点)."""

    id: int
    code: str = Field(examples=["UP-01"])
    name_zh: str = Field(examples=["关键零部件"])


class EnterpriseRef(OutputModel):
    """An enterprise (企业), by id, name and USCC."""

    id: int
    name: str = Field(examples=["示例精密机械有限公司"])
    uscc: str = Field(examples=["91370100MA3C0000XX"])


class ProjectRef(OutputModel):
    """A chain-building project (项目), by id, name and internal code."""

    id: int
    name: str = Field(examples=["高端数控机床产业化项目"])
    internal_code: str = Field(examples=["SD-GDZB-2025-001"])
