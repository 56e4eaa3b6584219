"""Output shapes of the reference catalogues (read-only)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, computed_field

from chaintrack.common.schemas import OutputModel
from chaintrack.models.enums import Level, ProjectType, Tier


class RegionOut(OutputModel):
    """A GB/T 2260 division. Abolished codes are kept (historical USCCs still carry them)."""

    code: str = Field(description="GB/T 2260 行政区划代码", examples=["370600"])
    name_zh: str = Field(examples=["烟台市"])
    name_en: str | None = Field(default=None, examples=["Yantai"])
    parent_code: str | None = Field(default=None, examples=["370000"])
    abolished_on: dt.date | None = Field(
        default=None, description="撤销日期 / date the code was abolished", examples=[None]
    )
    successor_code: str | None = Field(
        default=None,
        description="撤销后并入的区划 / the division that took over an abolished code",
        examples=[None],
    )

    @computed_field(description="已撤销 / true when the code is no longer in use")  # type: ignore[prop-decorator]
    @property
    def abolished(self) -> bool:
        return self.abolished_on is not None


class TierOut(OutputModel):
    """A rung of the cultivation ladder (梯度培育)."""

    code: Tier = Field(examples=["little_giant"])
    name_zh: str = Field(examples=["专精特新“小巨人”企业"])
    name_en: str = Field(examples=['Specialised and innovative "little giant"'])
    rank: int = Field(description="Position on the ladder; higher is further up", examples=[50])
    levels: list[Level] = Field(
        description="Who recognises it: national / provincial / city", examples=[["national"]]
    )
    description: str | None = None


class ProjectTypeOut(OutputModel):
    """建链 / 补链 / 延链 / 强链."""

    code: ProjectType = Field(examples=["fill"])
    name_zh: str = Field(examples=["补链"])
    name_en: str = Field(examples=["Fill the chain"])
    description: str | None = None
