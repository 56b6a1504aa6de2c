"""Settings of the web application, on top of the core settings (``TERRITORIA_*``)."""

from __future__ import annotations

import secrets
from functools import cache
from ipaddress import IPv4Network, IPv6Network, ip_network

from pydantic import Field, SecretStr, field_validator

from territoria.errors import ConfigurationError
from territoria.settings import Settings

__all__ = ["WebSettings", "parse_networks"]

#: Shortest secret key accepted outside demo mode.
MIN_SECRET_LENGTH = 32


@cache
def parse_networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Parse comma-separated addresses and CIDR blocks (``10.0.0.5, 192.168.0.0/24``).

    Raises
    ------
    ConfigurationError
        On an entry that is neither.
    """
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            msg = (
                f"TERRITORIA_TRUSTED_PROXIES: {item!r} is not an address or a CIDR block "
                "(e.g. 127.0.0.1, 10.0.0.0/8)"
            )
            raise ConfigurationError(msg) from None
    return tuple(networks)


class WebSettings(Settings):
    """Settings of ``territoria serve``, read from ``TERRITORIA_*`` environment variables."""

    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="Key signing session cookies and CSRF tokens (at least 32 characters); "
        "required outside demo mode. Generate one with "
        "'python -c \"import secrets; print(secrets.token_urlsafe(48))\"'.",
    )
    demo: bool = Field(
        default=False,
        description="Demo mode: a random secret key and a demo admin with a random password "
        "printed once at start-up.",
    )
    secure_cookies: bool = Field(
        default=False,
        description="Send cookies only over HTTPS (turn on behind a TLS proxy).",
    )
    session_hours: float = Field(
        default=12.0, gt=0, description="Hours before a session cookie expires."
    )
    login_attempts: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins allowed per address and user name before each further "
        "attempt waits twice as long as the one before (HTTP 429); an address may fail ten "
        "times as often within login_window_seconds, whatever the user names.",
    )
    login_window_seconds: int = Field(
        default=300,
        ge=1,
        description="Seconds after which failed sign-ins are forgotten; the longest wait.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or CIDR blocks of the reverse proxies whose "
        "X-Forwarded-For header gives the client's address (for sign-in throttling and the "
        "sessions list); empty: the header is ignored.",
    )
    language: str = Field(default="fr", description="Default language of the pages: 'fr' or 'en'.")
    warm_cache: bool = Field(
        default=True,
        description="Precompute the simplified map geometries in the background at start-up.",
    )
    route_threads: int = Field(
        default=4,
        ge=1,
        description="Threads running the requests (anyio's default is 40): on a few cores, "
        "fewer threads wait less for Python's global lock.",
    )
    plan_workers: int = Field(
        default=1, ge=1, description="Influence plans computed at the same time."
    )
    jobs_per_user: int = Field(
        default=3, ge=1, description="Unfinished (queued or running) plans a user may have."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        parse_networks(value)
        return value

    def proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """Return :attr:`trusted_proxies` parsed."""
        return parse_networks(self.trusted_proxies)

    def signing_key(self) -> str:
        """Return the key signing cookies; refuse an unset or short key outside demo mode.

        Raises
        ------
        ConfigurationError
            When the key is missing or shorter than 32 characters and demo mode is off.
        """
        key = self.secret_key.get_secret_value()
        if len(key) >= MIN_SECRET_LENGTH:
            return key
        if self.demo:
            return secrets.token_urlsafe(48)
        if not key:
            msg = (
                "TERRITORIA_SECRET_KEY is not set: set it to a random string of at least "
                f"{MIN_SECRET_LENGTH} characters (or run 'territoria serve --demo' to try "
                "the application)"
            )
        else:
            msg = (
                f"TERRITORIA_SECRET_KEY is too short ({len(key)} characters): use at least "
                f"{MIN_SECRET_LENGTH} random characters"
            )
        raise ConfigurationError(msg)
