"""Import limits, read from the environment (``CHAINTRACK_IMPORT_MAX_BYTES``,
``CHAINTRACK_IMPORT_MAX_ROWS``) or a ``.env`` file, like the other settings.

Kept here rather than in chaintrack/config.py so the import package owns them; the
route reads them through :func:`import_limits` (a FastAPI dependency, so a test or a
deployment can override it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chaintrack.sheets.reader import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS


class ImportSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CHAINTRACK_IMPORT_", env_file=".env", extra="ignore"
    )

    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1024, description="largest upload")
    max_rows: int = Field(default=DEFAULT_MAX_ROWS, ge=1, description="most data rows per file")


@dataclass(frozen=True)
class ImportLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS

    @property
    def max_mb(self) -> float:
        return self.max_bytes / (1024 * 1024)


@lru_cache
def _settings_limits() -> ImportLimits:
    s = ImportSettings()
    return ImportLimits(max_bytes=s.max_bytes, max_rows=s.max_rows)


def import_limits() -> ImportLimits:
    """The limits in force (a dependency: ``app.dependency_overrides`` may replace it)."""
    return _settings_limits()
