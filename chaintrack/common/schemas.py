"""Base schemas and field types shared by the domain packages."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from chaintrack.identifiers import (
    validate_internal_project_code,
    validate_national_project_code,
    validate_period,
    validate_region_code,
    validate_uscc,
)


class InputModel(BaseModel):
    """Request bodies: unknown or server-owned fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL; refuse it here with the field's name.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("contains a NUL character (\\u0000)")
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

Uscc = Annotated[
    str,
    AfterValidator(validate_uscc),
    Field(description="统一社会信用代码 (18 characters)", examples=["91110000600037341L"]),
]
RegionCode = Annotated[
    str,
    AfterValidator(validate_region_code),
    Field(description="GB/T 2260 region code", examples=["370600"]),
]
NationalProjectCode = Annotated[
    str,
    AfterValidator(validate_national_project_code),
    Field(description="GB/T 40058-2021 project code", examples=["2104-370600-04-01-A1B2C3"]),
]
InternalProjectCode = Annotated[
    str, AfterValidator(validate_internal_project_code), Field(examples=["SD-GDZB-2025-001"])
]
Period = Annotated[
    str, AfterValidator(validate_period), Field(description="YYYY-MM", examples=["2025-03"])
]


def reject_null(value: Any) -> Any:
    """PATCH: leaving a field out keeps it; sending ``null`` for a required one is refused."""
    if value is None:
        raise ValueError("不能为空 / may not be null (leave the field out to keep its value)")
    return value


def not_null(*fields: str) -> Any:
    """A validator for update models: these fields may be left out but not set to null."""
    return field_validator(*fields, mode="before")(reject_null)
