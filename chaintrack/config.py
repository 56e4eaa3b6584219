"""Settings, read from the environment with the ``CHAINTRACK_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "chaintrack.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINTRACK_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_SQLITE_PATH}",
        description="SQLAlchemy URL; postgresql+psycopg://user@host/db selects PostgreSQL.",
    )
    sqlite_busy_timeout_ms: int = 30_000
    page_size_default: int = 50
    page_size_max: int = 200
    echo_sql: bool = False

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
