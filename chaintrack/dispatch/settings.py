"""The dispatch round's settings (``CHAINTRACK_DISPATCH_*``): warning thresholds and the
statuses that make a project due. Defaults (README, "调度"):

- ``CHAINTRACK_DISPATCH_SCHEDULE_YELLOW`` (0.8) / ``_SCHEDULE_RED`` (0.5): investment
  this year below this share of the time-elapsed share of the annual plan (序时进度, m/12
  at the end of month m) is yellow / red;
- ``CHAINTRACK_DISPATCH_SILENT_YELLOW`` (2) / ``_SILENT_RED`` (3): months without a report,
  counted back from the round's month, for yellow / red;
- ``CHAINTRACK_DISPATCH_UNUSUAL_FACTOR`` (3): a month more than this many times the
  project's usual (mean) month is a warning the reporter must confirm;
- ``CHAINTRACK_DISPATCH_DUE_STATUSES`` (``under_construction,completed``): the statuses,
  at the month's end, that make a project due (comma-separated).

A planned start missed is yellow, a planned completion missed red, an open problem past
its deadline red (not configurable).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chaintrack.models.enums import ProjectStatus


class DispatchSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CHAINTRACK_DISPATCH_", env_file=".env", extra="ignore"
    )

    schedule_yellow: Decimal = Field(default=Decimal("0.8"), gt=0, le=1)
    schedule_red: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)
    silent_yellow: int = Field(default=2, ge=1, le=99)
    silent_red: int = Field(default=3, ge=1, le=99)
    unusual_factor: Decimal = Field(default=Decimal("3"), gt=1)
    due_statuses: str = Field(
        default="under_construction,completed",
        description="comma-separated project statuses that make a project due",
    )

    @field_validator("due_statuses")
    @classmethod
    def _statuses(cls, value: str) -> str:
        names = [v.strip() for v in value.split(",") if v.strip()]
        known = {s.value for s in ProjectStatus}
        unknown = [n for n in names if n not in known]
        if not names or unknown:
            raise ValueError(f"due_statuses: unknown statuses {unknown or names}; known: {known}")
        return ",".join(names)

    @model_validator(mode="after")
    def _ordered(self) -> DispatchSettings:
        if self.schedule_red > self.schedule_yellow:
            raise ValueError("schedule_red must not be above schedule_yellow")
        if self.silent_red < self.silent_yellow:
            raise ValueError("silent_red must not be below silent_yellow")
        return self


@dataclass(frozen=True)
class Thresholds:
    schedule_yellow: Decimal
    schedule_red: Decimal
    silent_yellow: int
    silent_red: int
    unusual_factor: Decimal
    due_statuses: tuple[ProjectStatus, ...]


@lru_cache
def thresholds() -> Thresholds:
    """The settings as read once per process (tests: ``thresholds.cache_clear()``)."""
    s = DispatchSettings()
    return Thresholds(
        schedule_yellow=s.schedule_yellow,
        schedule_red=s.schedule_red,
        silent_yellow=s.silent_yellow,
        silent_red=s.silent_red,
        unusual_factor=s.unusual_factor,
        due_statuses=tuple(ProjectStatus(v) for v in s.due_statuses.split(",")),
    )
