"""Request and response bodies for list types, lists and entries (N张清单)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from chaintrack.common.refs import EnterpriseRef, NodeRef, ProjectRef
from chaintrack.common.schemas import InputModel, OutputModel, key_bound, not_null
from chaintrack.models.enums import FieldType

MAX_ID = 2_147_483_647

EntryRef = Literal["enterprise", "project", "node"]

_LIST_PERIOD = re.compile(r"^(\d{4})(?:-(H[12]|Q[1-4]|\d{2}))?$")


def validate_list_period(raw: str) -> str:
    """A list's period: a year ``2025``, half ``2025-H1``, quarter ``2025-Q3`` or month."""
    value = raw.strip().upper()
    m = _LIST_PERIOD.fullmatch(value)
    ok = bool(m) and m is not None and 2000 <= int(m.group(1)) <= 2100
    if ok and m is not None and m.group(2) and m.group(2).isdigit():
        ok = 1 <= int(m.group(2)) <= 12
    if not ok:
        raise ValueError(
            f"期间应为年（2025）、半年（2025-H1）、季度（2025-Q3）或月份（2025-03），"
            f"实际为“{raw}” / a list period is YYYY, YYYY-H1|H2, YYYY-Q1..Q4 or YYYY-MM"
        )
    return value


ListPeriod = Annotated[
    str,
    AfterValidator(validate_list_period),
    Field(
        max_length=16,
        description="清单期间 / period: `2025`, `2025-H1`, `2025-Q3` or `2025-03`",
        examples=["2025"],
    ),
]

FieldName = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{0,47}$",
        description="Attribute key: lower-case identifier (letters, digits, underscore)",
        examples=["main_products"],
    ),
]
TypeCode = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{1,47}$",
        description="Catalogue code: lower-case identifier, unique",
        examples=["henan_key_projects"],
    ),
]


class _Input(InputModel):
    """Input bodies of this package: no NUL characters (PostgreSQL text cannot hold them)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and "\x00" in v for v in items):
            raise ValueError("不能包含NUL字符 / must not contain NUL (\\u0000) characters")
        return value


# --- list types -----------------------------------------------------------------


class FieldDefinition(_Input):
    """One attribute an entry of this list type carries."""

    name: FieldName
    label: str = Field(
        min_length=1, max_length=64, description="中文标签 / label", examples=["主导产品"]
    )
    type: FieldType = Field(description="text, integer, decimal, date, boolean or choice")
    required: bool = Field(default=False, description="Entries must carry a value")
    choices: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None,
        max_length=200,
        description="Allowed values (choice fields only, at most 200)",
        examples=[["高", "中", "低"]],
    )

    @model_validator(mode="after")
    def _choices_fit_type(self) -> FieldDefinition:
        if self.type is FieldType.CHOICE:
            if not self.choices:
                raise ValueError("选项字段必须列出可选值 / a choice field needs non-empty choices")
            if len(set(self.choices)) != len(self.choices):
                raise ValueError("可选值不能重复 / choices must be unique")
        elif self.choices:
            raise ValueError("只有选项字段可以列出可选值 / only choice fields take choices")
        return self

    def stored(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type.value,
            "required": self.required,
        }
        if self.type is FieldType.CHOICE:
            out["choices"] = list(self.choices or [])
        return out


def _unique_names(fields: list[FieldDefinition]) -> list[FieldDefinition]:
    seen: set[str] = set()
    for f in fields:
        if f.name in seen:
            raise ValueError(f"字段名“{f.name}”重复 / field names must be unique")
        seen.add(f.name)
    return fields


MAX_FIELDS = 100  # fields a list type declares, so keys an entry's attributes can have

FieldList = Annotated[
    list[FieldDefinition],
    AfterValidator(_unique_names),
    Field(max_length=MAX_FIELDS, description="The attributes entries carry, in display order"),
]
# Refused as a whole above the bound, before any key is validated (issue 13).
Attributes = Annotated[dict[str, Any], Field(max_length=MAX_FIELDS), key_bound(MAX_FIELDS)]


class ListTypeCreate(_Input):
    code: TypeCode
    name_zh: str = Field(min_length=1, max_length=64, examples=["重点项目清单"])
    name_en: str = Field(min_length=1, max_length=128, examples=["Key projects"])
    description: str | None = Field(default=None, max_length=4000)
    source: str | None = Field(
        default=None, max_length=128, description="Where this list is used", examples=["河南"]
    )
    entry_ref: EntryRef | None = Field(
        default=None,
        description="What an entry may point at: enterprise, project, node, or null (stand-alone)",
        examples=["project"],
    )
    fields: FieldList = Field(default_factory=list)
    is_active: bool = True


class ListTypeUpdate(_Input):
    code: TypeCode | None = None
    name_zh: str | None = Field(default=None, min_length=1, max_length=64)
    name_en: str | None = Field(default=None, min_length=1, max_length=128)
    description: str | None = Field(default=None, max_length=4000)
    source: str | None = Field(default=None, max_length=128)
    entry_ref: EntryRef | None = None
    fields: FieldList | None = Field(
        default=None,
        description=(
            "The new field definitions (replaces the old). Existing entries are checked "
            "against them; if any would no longer fit, 409 names how many. "
            "新定义须与已有条目相容。"
        ),
    )
    is_active: bool | None = Field(default=None, description="false deactivates the type")

    _no_null = not_null("code", "name_zh", "name_en", "is_active", "fields")


class FieldDefinitionOut(OutputModel):
    name: str
    label: str
    type: FieldType
    required: bool = False
    choices: list[str] | None = None


class ListTypeOut(OutputModel):
    id: int
    code: str
    name_zh: str
    name_en: str
    description: str | None
    source: str | None
    entry_ref: EntryRef | None
    fields: list[FieldDefinitionOut]
    is_active: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ListTypeBrief(OutputModel):
    id: int
    code: str
    name_zh: str
    name_en: str
    entry_ref: EntryRef | None
    is_active: bool


# --- lists ----------------------------------------------------------------------


class ChainListCreate(_Input):
    list_type_id: int = Field(
        gt=0, le=MAX_ID, description="The list type (catalogue id)", examples=[10]
    )
    period: ListPeriod
    title: str | None = Field(default=None, max_length=200, examples=["2025年重点项目清单"])
    note: str | None = Field(default=None, max_length=4000)


class ChainListUpdate(_Input):
    period: ListPeriod | None = None
    title: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _period_not_null(self) -> ChainListUpdate:
        if "period" in self.model_fields_set and self.period is None:
            raise ValueError("period cannot be null / 期间不能为空")
        return self

    _no_null = not_null("period")


class _ChainListFields(OutputModel):
    id: int
    chain_id: int
    list_type_id: int
    period: str
    title: str | None
    note: str | None
    entry_count: int = Field(description="Entries in the list")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ChainListOut(_ChainListFields):
    list_type: ListTypeBrief


class ChainListDetail(_ChainListFields):
    list_type: ListTypeOut


# --- entries --------------------------------------------------------------------


class EntryCreate(_Input):
    title: str = Field(min_length=1, max_length=200, examples=["裕龙岛炼化一体化项目"])
    enterprise_id: int | None = Field(
        default=None, gt=0, le=MAX_ID, description="An enterprise on the chain"
    )
    project_id: int | None = Field(
        default=None, gt=0, le=MAX_ID, description="A project of the same chain"
    )
    node_id: int | None = Field(
        default=None, gt=0, le=MAX_ID, description="A map node of the same chain"
    )
    attributes: Attributes = Field(
        default_factory=dict,
        description=(
            'Values for the list type\'s fields. Decimals as strings ("1250.50"), dates as '
            "YYYY-MM-DD, choices from the declared set. 按清单类型的字段填写。"
        ),
        examples=[{"priority": "高"}],
    )
    note: str | None = Field(default=None, max_length=4000)
    position: int | None = Field(
        default=None, ge=0, le=1_000_000, description="Sort position; default: after the last"
    )


class EntryUpdate(_Input):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    enterprise_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    project_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    node_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    attributes: Attributes | None = Field(
        default=None,
        description=(
            "Merged into the current attributes (JSON merge patch): a key set to null removes "
            "that attribute. The result is validated against the list type."
        ),
        examples=[{"priority": "中"}],
    )
    note: str | None = Field(default=None, max_length=4000)
    position: int | None = Field(default=None, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _not_null(self) -> EntryUpdate:
        for name in ("title", "position", "attributes"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null / 不能为空")
        return self

    _no_null = not_null("title", "position", "attributes")


class EntryOut(OutputModel):
    id: int
    list_id: int
    chain_id: int
    position: int
    title: str
    enterprise_id: int | None
    project_id: int | None
    node_id: int | None
    enterprise: EnterpriseRef | None = Field(default=None, description="Resolved reference")
    project: ProjectRef | None = None
    node: NodeRef | None = None
    attributes: dict[str, Any]
    note: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class EntryOrder(_Input):
    entry_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        max_length=10_000,
        description="Every entry id of the list, each once, in the new order",
        examples=[[12, 10, 11]],
    )


class EntryOrderOut(OutputModel):
    list_id: int
    entry_ids: list[int] = Field(description="The entry ids in their new order")
