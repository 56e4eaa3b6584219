"""Base schemas and field types shared by the domain packages."""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from chaintrack.common.text import check_text, is_multiline
from chaintrack.identifiers import (
    validate_internal_project_code,
    validate_national_project_code,
    validate_period,
    validate_region_code,
    validate_uscc,
)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBERISH = re.compile(r"^\s*[-+]?[\d.eE+-]+\s*$")
NOT_A_DATE = "应为日期 YYYY-MM-DD / expected a date as YYYY-MM-DD"
NOT_A_DATETIME = "应为 ISO 8601 日期时间 / expected an ISO 8601 date-time, not a number"
NOT_A_BOOL_NUMBER = "应为数字，不能是 true/false / expected a number, not true or false"


def iso_date(value: Any) -> Any:
    """Pydantic's lax mode reads ``0`` or ``"1700000000"`` as a Unix time; a clerk's
    mistyped cell must not become 1970-01-01. Only ``YYYY-MM-DD`` is a date."""
    if isinstance(value, bool | int | float | Decimal) or (
        isinstance(value, str) and not _ISO_DATE.match(value.strip())
    ):
        raise ValueError(NOT_A_DATE)
    return value


def iso_datetime(value: Any) -> Any:
    """Date-times are ISO 8601 strings, never Unix times."""
    if isinstance(value, bool | int | float | Decimal) or (
        isinstance(value, str) and _NUMBERISH.match(value)
    ):
        raise ValueError(NOT_A_DATETIME)
    return value


IsoDate = Annotated[dt.date, BeforeValidator(iso_date)]
IsoAwareDatetime = Annotated[AwareDatetime, BeforeValidator(iso_datetime)]


def _kinds(annotation: Any) -> frozenset[Any]:
    """The plain types a field admits (Optional/Union/Annotated/list unwrapped one level)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _kinds(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return frozenset().union(*(_kinds(a) for a in typing.get_args(annotation)))
    return frozenset([annotation])


_FIELD_KINDS: dict[tuple[type, str], frozenset[Any]] = {}
_NUMBERS = frozenset([int, float, Decimal])
# The JSON scalars the guard looks at (exact classes: a StrEnum member is already typed).
_GUARDED = frozenset([bool, int, float, str])
_TEMPORAL = frozenset([dt.date, dt.datetime])


_EXEMPT = "exempt"
_TEXT_RULES: dict[tuple[type, str], bool | str] = {}


def _max_length(annotation: Any, metadata: Iterable[Any] = ()) -> int | None:
    """The max_length declared on a field (in Field(), Annotated metadata or constr)."""
    for item in metadata:
        if isinstance(getattr(item, "max_length", None), int):
            return int(item.max_length)
        found = _max_length(None, getattr(item, "metadata", ()))
        if found is not None:
            return found
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        inner, *extra = typing.get_args(annotation)
        return _max_length(None, extra) or _max_length(inner)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _max_length(arg)
            if found is not None:
                return found
    return None


def _text_rule(cls: type[BaseModel], name: str) -> bool | str:
    """True: a multi-line text field; False: one line; _EXEMPT: a password (a secret,
    never shown or exported, taken as typed)."""
    if "password" in name:
        return _EXEMPT
    field = cls.model_fields.get(name)
    if field is None:
        return False
    return is_multiline(_max_length(field.annotation, field.metadata))


class InputModel(BaseModel):
    """Request bodies: unknown or server-owned fields are refused, not ignored.

    Values are not silently converted across kinds: ``true`` is not the number 1 and
    a number is not a date (Pydantic's lax mode would accept both).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_cross_kind(cls, value: Any, info: ValidationInfo) -> Any:
        if value.__class__ not in _GUARDED or info.field_name is None:
            return value
        key = (cls, info.field_name)
        kinds = _FIELD_KINDS.get(key)
        if kinds is None:
            field = cls.model_fields.get(info.field_name)
            kinds = _kinds(field.annotation) if field is not None else frozenset()
            _FIELD_KINDS[key] = kinds
        if isinstance(value, bool):
            if bool not in kinds and kinds & (_NUMBERS | _TEMPORAL):
                raise ValueError(NOT_A_BOOL_NUMBER)
            return value
        if not kinds & _TEMPORAL or kinds & _NUMBERS or (isinstance(value, str) and str in kinds):
            return value
        return iso_datetime(value) if dt.datetime in kinds else iso_date(value)

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any, info: ValidationInfo) -> Any:
        # One rule for every text field (common/text.py): no control characters (NUL
        # included: PostgreSQL cannot hold it), not invisible only. Lists of texts too.
        if not isinstance(value, str | list) or info.field_name is None:
            return value
        multiline = _TEXT_RULES.get((cls, info.field_name))
        if multiline is None:
            multiline = _text_rule(cls, info.field_name)
            _TEXT_RULES[(cls, info.field_name)] = multiline
        if multiline is _EXEMPT:
            return value
        for text in [value] if isinstance(value, str) else value:
            if isinstance(text, str):
                check_text(text, multiline=multiline is True)
        return value


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


Money = Annotated[
    Decimal,
    Field(
        ge=0,
        max_digits=16,
        decimal_places=4,
        description="万元 (10,000 yuan), exact decimal; sent and returned as a string",
        examples=["1250.50"],
    ),
]
PercentValue = Annotated[
    Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2, examples=["45.5"])
]

# Identifiers are checked by their validators (with the position of a wrong
# character); the lengths here only bound what is read and document it.
Uscc = Annotated[
    str,
    AfterValidator(validate_uscc),
    Field(
        max_length=64,
        description="统一社会信用代码 (18 characters)",
        examples=["91110000600037341L"],
    ),
]
RegionCode = Annotated[
    str,
    AfterValidator(validate_region_code),
    Field(max_length=16, description="GB/T 2260 region code", examples=["370600"]),
]
NationalProjectCode = Annotated[
    str,
    AfterValidator(validate_national_project_code),
    Field(
        max_length=64,
        description="GB/T 40058-2021 project code",
        examples=["2104-370600-04-01-A1B2C3"],
    ),
]
InternalProjectCode = Annotated[
    str,
    AfterValidator(validate_internal_project_code),
    Field(max_length=64, examples=["SD-GDZB-2025-001"]),
]
Period = Annotated[
    str,
    AfterValidator(validate_period),
    Field(max_length=16, description="YYYY-MM", examples=["2025-03"]),
]


def key_bound(limit: int) -> Any:
    """Annotated metadata for a free-form object (``dict``) of an input model: more than
    ``limit`` keys is refused before any key is looked at. Put it after the type's own
    constraints (it must be the outermost validator). Without it a body of 200,000 keys
    cost seconds of CPU in per-key work and answered a 48 MB list of errors."""

    def check(value: Any) -> Any:
        if isinstance(value, Mapping) and len(value) > limit:
            raise ValueError(
                f"最多{limit}个字段，实际为{len(value)}个 / at most {limit} keys, got {len(value)}"
            )
        return value

    return BeforeValidator(check)


def reject_null(value: Any) -> Any:
    """PATCH: leaving a field out keeps it; sending ``null`` for a required one is refused."""
    if value is None:
        raise ValueError("不能为空 / may not be null (leave the field out to keep its value)")
    return value


def not_null(*fields: str) -> Any:
    """A validator for update models: these fields may be left out but not set to null."""
    return field_validator(*fields, mode="before")(reject_null)
