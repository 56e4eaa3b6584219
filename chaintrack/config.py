"""Settings, read from the environment with the ``CHAINTRACK_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "chaintrack.db"
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINTRACK_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_SQLITE_PATH}",
        description="SQLAlchemy URL; postgresql+psycopg://user@host/db selects PostgreSQL.",
    )
    sqlite_busy_timeout_ms: int = 30_000
    # Page cache of each serving SQLite connection (KiB); up to 15 per worker (chaintrack.db).
    sqlite_cache_kib: int = Field(default=4096, ge=256, le=1_048_576)
    page_size_default: int = 50
    page_size_max: int = 200
    echo_sql: bool = False

    # --- authentication -------------------------------------------------------------
    env: Literal["development", "production"] = Field(
        default="production",
        description=(
            "development allows a missing or placeholder secret key (a random one is used "
            "for the process); production refuses to start without a real one."
        ),
    )
    secret_key: str = Field(
        default="",
        description=f"Signs the access tokens; at least {MIN_SECRET_LENGTH} random characters.",
    )
    token_ttl_minutes: int = Field(default=480, ge=1, le=60 * 24 * 30)
    password_min_length: int = Field(default=10, ge=1)
    # Argon2id cost; the defaults are pwdlib's recommendation. Tests use cheap ones.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost: int = Field(default=65536, ge=8, description="KiB")
    argon2_parallelism: int = Field(default=4, ge=1)
    # Each hash holds argon2_memory_cost KiB while it runs: at most this many at once per
    # process; a sign-in that waits longer than argon2_wait_seconds gets 503 + Retry-After.
    argon2_max_concurrent: int = Field(default=2, ge=1)
    argon2_wait_seconds: float = Field(default=10.0, gt=0)
    # Login throttling (chaintrack.auth.throttle): failures within the window, per account
    # and per client address; passing a limit locks for login_lock_seconds, doubling.
    login_window_seconds: int = Field(default=900, ge=1)
    login_max_failures_per_user: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_lock_seconds: int = Field(default=60, ge=1)
    # Import limits (CHAINTRACK_IMPORT_*: file size, rows including blank ones, columns,
    # cells, characters per cell, unpacked size, shared strings, time budget) are the
    # import package's own settings: chaintrack.imports.limits.ImportSettings.
    # `chaintrack serve --demo`: the demo administrator's password (else generated).
    demo_admin_password: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_development(self) -> bool:
        return self.env == "development"


@lru_cache
def get_settings() -> Settings:
    return Settings()
