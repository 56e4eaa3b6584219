"""Request and response shapes for chain groups, chains and leadership terms."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints, computed_field

from chaintrack.common.schemas import InputModel, OutputModel, RegionCode, not_null
from chaintrack.models.enums import ChainStatus, LeaderRole


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


Code = Annotated[
    str,
    BeforeValidator(_upper),
    StringConstraints(max_length=32, pattern=r"^[A-Z0-9][A-Z0-9_-]{0,31}$"),
    Field(
        description="Short code: letters, digits, '-' or '_', up to 32 (stored upper-case)",
        examples=["GDZB"],
    ),
]
NameZh = Annotated[
    str, StringConstraints(min_length=1, max_length=64), Field(examples=["高端装备"])
]
NameEn = Annotated[
    str, StringConstraints(min_length=1, max_length=128), Field(examples=["High-end equipment"])
]


# --- chain groups -----------------------------------------------------------------


class ChainGroupCreate(InputModel):
    code: Code = Field(examples=["GROWTH"])
    name_zh: NameZh = Field(examples=["新增长极"])
    name_en: NameEn = Field(examples=["New growth poles"])
    description: str | None = Field(default=None, max_length=2000)
    position: int = Field(default=0, ge=0, le=10_000, description="Display order")


class ChainGroupUpdate(InputModel):
    code: Code | None = None
    name_zh: NameZh | None = None
    name_en: NameEn | None = None
    description: str | None = Field(default=None, max_length=2000)
    position: int | None = Field(default=None, ge=0, le=10_000)

    _not_null = not_null("code", "name_zh", "name_en", "position")


class ChainGroupSummary(OutputModel):
    id: int
    code: str = Field(examples=["GROWTH"])
    name_zh: str = Field(examples=["新增长极"])
    name_en: str = Field(examples=["New growth poles"])


class ChainGroupOut(ChainGroupSummary):
    description: str | None
    position: int
    version: int = Field(description="Also sent as the ETag")
    created_at: dt.datetime
    updated_at: dt.datetime


# --- chains ---------------------------------------------------------------------


class ChainCreate(InputModel):
    code: Code
    name_zh: NameZh
    name_en: NameEn
    group_id: int | None = Field(default=None, description="Chain group id", examples=[1])
    region_code: RegionCode = Field(
        default="370000", description="Region that runs the chain (GB/T 2260)"
    )
    description: str | None = Field(default=None, max_length=4000)
    status: ChainStatus = Field(default=ChainStatus.ACTIVE, examples=["active"])


class ChainUpdate(InputModel):
    code: Code | None = None
    name_zh: NameZh | None = None
    name_en: NameEn | None = None
    group_id: int | None = Field(default=None, description="`null` takes it out of its group")
    region_code: RegionCode | None = None
    description: str | None = Field(default=None, max_length=4000)
    status: ChainStatus | None = None

    _not_null = not_null("code", "name_zh", "name_en", "region_code", "status")


class ChainSummary(OutputModel):
    id: int
    code: str = Field(examples=["GDZB"])
    name_zh: str = Field(examples=["高端装备"])
    name_en: str = Field(examples=["High-end equipment"])


class ChainOut(ChainSummary):
    group_id: int | None
    group: ChainGroupSummary | None
    region_code: str = Field(examples=["370000"])
    description: str | None
    status: ChainStatus

    @computed_field(examples=["推进中"])  # type: ignore[prop-decorator]
    @property
    def status_label(self) -> str:
        return self.status.label_zh

    version: int = Field(description="Also sent as the ETag")
    created_at: dt.datetime
    updated_at: dt.datetime


# --- leadership -----------------------------------------------------------------

PersonName = Annotated[
    str, StringConstraints(min_length=1, max_length=64), Field(examples=["张三"])
]


class ChainLeaderCreate(InputModel):
    role: LeaderRole = Field(description="总链长 / 链长 / 副链长 / 联络员", examples=["leader"])
    person_name: PersonName
    title: str | None = Field(default=None, max_length=128, examples=["副省长"])
    organisation: str | None = Field(default=None, max_length=128, examples=["山东省人民政府"])
    start_on: dt.date = Field(examples=["2023-02-01"])
    end_on: dt.date | None = Field(
        default=None,
        description="Day the term ended (the successor's start day); empty while in office",
        examples=[None],
    )


class ChainLeaderUpdate(InputModel):
    role: LeaderRole | None = None
    person_name: PersonName | None = None
    title: str | None = Field(default=None, max_length=128)
    organisation: str | None = Field(default=None, max_length=128)
    start_on: dt.date | None = None
    end_on: dt.date | None = Field(
        default=None,
        description="Set it to end a term; `null` re-opens it",
        examples=["2025-01-31"],
    )

    _not_null = not_null("role", "person_name", "start_on")


class ChainLeaderOut(OutputModel):
    id: int
    chain_id: int
    role: LeaderRole

    @computed_field(examples=["链长"])  # type: ignore[prop-decorator]
    @property
    def role_label(self) -> str:
        return self.role.label_zh

    person_name: str
    title: str | None
    organisation: str | None
    start_on: dt.date
    end_on: dt.date | None
    version: int = Field(description="Also sent as the ETag")
    created_at: dt.datetime
    updated_at: dt.datetime
