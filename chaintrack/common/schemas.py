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
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from chaintrack.common.text import check_text, is_multiline
from chaintrack.identifiers import (
    PROVINCE_PREFIXES,
    USCC_ALPHABET,
    USCC_AUTHORITIES,
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

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # PATCH models: a field checked by not_null() may be left out but not sent as
        # null, so the document must not offer null for it (its default None only
        # means "left out").
        schema = handler(core_schema)
        refused = _null_refused(cls)
        if refused:
            properties = handler.resolve_ref_schema(schema).get("properties", {})
            for name in refused:
                field = cls.model_fields[name]
                prop = properties.get(field.alias or name)
                if prop is not None:
                    _drop_null(prop)
        return schema


def _null_refused(cls: type[BaseModel]) -> list[str]:
    """The fields of ``cls`` whose before-validator is :func:`reject_null`."""
    names: list[str] = []
    for decorator in cls.__pydantic_decorators__.field_validators.values():
        func = getattr(decorator.func, "__func__", decorator.func)
        if func is reject_null:
            fields = decorator.info.fields
            names.extend(cls.model_fields if fields == ("*",) else fields)
    return [n for n in names if n in cls.model_fields]


def _drop_null(prop: dict[str, Any]) -> None:
    branches = prop.get("anyOf")
    if branches is not None:
        kept = [b for b in branches if b.get("type") != "null"]
        if len(kept) == 1:
            del prop["anyOf"]
            # the remaining branch's own keys; the property's title/description win
            prop.update({k: v for k, v in kept[0].items() if k not in prop})
        else:
            prop["anyOf"] = kept
    if prop.get("default", ...) is None:
        del prop["default"]


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _decimal_schema(pattern: str, maximum: int) -> Any:
    """json_schema_extra for a Decimal input: the string form gets its pattern (the
    canonical spelling the server reads), the number form its bound."""

    def extra(schema: dict[str, Any]) -> None:
        for branch in schema.get("anyOf", [schema]):
            if branch.get("type") == "string":
                branch["pattern"] = pattern
            elif branch.get("type") == "number":
                branch["maximum"] = maximum

    return extra


MONEY_PATTERN = r"^[0-9]{1,12}(?:\.[0-9]{1,4})?$"
PERCENT_PATTERN = r"^(?:100(?:\.0{1,2})?|[0-9]{1,2}(?:\.[0-9]{1,2})?)$"

Money = Annotated[
    Decimal,
    Field(
        ge=0,
        max_digits=16,
        decimal_places=4,
        description="万元 (10,000 yuan), exact decimal; sent and returned as a string",
        examples=["1250.50"],
        json_schema_extra=_decimal_schema(MONEY_PATTERN, 999_999_999_999),
    ),
]
PercentValue = Annotated[
    Decimal,
    Field(
        ge=0,
        le=100,
        max_digits=5,
        decimal_places=2,
        examples=["45.5"],
        json_schema_extra=_decimal_schema(PERCENT_PATTERN, 100),
    ),
]

# Identifiers are checked by their validators (with the position of a wrong
# character, after normalising full-width characters, case and spaces); the patterns
# below document the canonical spelling for clients (``json_schema_extra``: the
# validators, not the pattern, decide) and the lengths bound what is read.
_PROVINCE = "(?:" + "|".join(sorted(PROVINCE_PREFIXES)) + ")"
USCC_PATTERN = (
    f"^[{USCC_AUTHORITIES}][{USCC_ALPHABET}]{_PROVINCE}[0-9]{{4}}[{USCC_ALPHABET}]{{10}}$"
)
REGION_CODE_PATTERN = f"^{_PROVINCE}[0-9]{{4}}$"
NATIONAL_PROJECT_CODE_PATTERN = (
    f"^(?:20[0-9]{{2}}|[0-9]{{2}}(?:0[1-9]|1[0-2]))-{_PROVINCE}[0-9]{{4}}"
    "-[0-9]{2}-[0-9]{2}-[A-Z0-9]{6}$"
)
INTERNAL_PROJECT_CODE_PATTERN = r"^[A-Z0-9][A-Z0-9_-]{1,31}$"
PERIOD_PATTERN = r"^(?:20[0-9]{2}|21[0-9]{2}|2200)-(?:0[1-9]|1[0-2])$"

Uscc = Annotated[
    str,
    AfterValidator(validate_uscc),
    Field(
        max_length=64,
        description="统一社会信用代码 (18 characters)",
        examples=["91110000600037341L"],
        json_schema_extra={"pattern": USCC_PATTERN},
    ),
]
RegionCode = Annotated[
    str,
    AfterValidator(validate_region_code),
    Field(
        max_length=16,
        description="GB/T 2260 region code",
        examples=["370600"],
        json_schema_extra={"pattern": REGION_CODE_PATTERN},
    ),
]
NationalProjectCode = Annotated[
    str,
    AfterValidator(validate_national_project_code),
    Field(
        max_length=64,
        description="GB/T 40058-2021 project code",
        examples=["2104-370600-04-01-A1B2C3"],
        json_schema_extra={"pattern": NATIONAL_PROJECT_CODE_PATTERN},
    ),
]
InternalProjectCode = Annotated[
    str,
    AfterValidator(validate_internal_project_code),
    Field(
        max_length=64,
        examples=["SD-GDZB-2025-001"],
        json_schema_extra={"pattern": INTERNAL_PROJECT_CODE_PATTERN},
    ),
]
Period = Annotated[
    str,
    AfterValidator(validate_period),
    Field(
        max_length=16,
        description="YYYY-MM",
        examples=["2025-03"],
        json_schema_extra={"pattern": PERIOD_PATTERN},
    ),
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
