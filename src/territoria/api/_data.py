"""What the routes read, through the knowledge-base cache: territories, profiles, users.

Each function returns shared, cached data: callers must not modify it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import duckdb

from territoria.accounts import Session, User, session_for, user_for_token
from territoria.api import _queries as q
from territoria.api._cache import KBCache
from territoria.api._capabilities import function
from territoria.api._jobs import to_jsonable
from territoria.errors import CapabilityMissing

__all__ = [
    "economy",
    "has_establishments",
    "pole",
    "poles",
    "profile",
    "session",
    "territory",
    "token_user",
]

ECONOMY = "territoria.analysis.specialisation"
POLES = "territoria.analysis.poles"
#: Firms and actors listed per pole in the web application (and engaged by its plans).
POLE_TOP = 20


def territory(
    cache: KBCache, con: duckdb.DuckDBPyConnection, code: str, *, level: str | None = None
) -> dict[str, Any]:
    """Return a territory's identity and figures, its parents and its children counts.

    Raises
    ------
    UnknownTerritory, UnknownLevel
    """

    def compute() -> dict[str, Any]:
        found = q.find_territory(con, code, level=level)
        found["parents"] = q.breadcrumbs(con, found["level"], found["code"])
        found["children"] = q.children_count(con, found["level"], found["code"])
        return found

    return cache.get(("territory", level, code), compute)


def profile(
    cache: KBCache, con: duckdb.DuckDBPyConnection, code: str, *, level: str | None = None
) -> dict[str, Any]:
    """Return :func:`territoria.analysis.profile.profile` as JSON-able data.

    Raises
    ------
    CapabilityMissing, UnknownTerritory, UnknownLevel
    """

    def compute() -> dict[str, Any]:
        library = function("territoria.analysis.profile", "profile")
        data: dict[str, Any] = to_jsonable(library(con, code, level=level))
        return data

    return cache.get(("profile", level, code), compute)


def has_establishments(cache: KBCache, con: duckdb.DuckDBPyConnection) -> bool:
    """Whether SIRENE establishments were imported (False without the economic modules)."""

    def compute() -> bool:
        try:
            return bool(function(ECONOMY, "has_establishments")(con))
        except CapabilityMissing:
            return False

    return cache.get(("has_establishments",), compute)


def economy(
    cache: KBCache,
    con: duckdb.DuckDBPyConnection,
    code: str,
    *,
    level: str | None = None,
    sector_level: str = "division",
    measure: str = "employment",
    reference: str = "nation",
    since: dt.date | None = None,
    top: int = 10,
) -> dict[str, Any]:
    """Return :func:`territoria.analysis.specialisation.specialisation_profile` as JSON data.

    Raises
    ------
    CapabilityMissing, UnknownTerritory, UnknownLevel, NoEstablishments, InvalidAnalysisRequest
    """
    options = {
        "level": level,
        "sector_level": sector_level,
        "measure": measure,
        "reference": reference,
        "since": since,
        "top": top,
    }

    def compute() -> dict[str, Any]:
        library = function(ECONOMY, "specialisation_profile")
        data: dict[str, Any] = to_jsonable(library(con, code, **options))
        return data

    return cache.get(("economy", code, *options.values()), compute)


def poles(
    cache: KBCache,
    con: duckdb.DuckDBPyConnection,
    *,
    region: str | None = None,
    departement: str | None = None,
) -> list[dict[str, Any]]:
    """Return the poles of a région, a département or France (``detect_poles``), cached.

    Raises
    ------
    CapabilityMissing, UnknownTerritory, NoEstablishments, InvalidAnalysisRequest
    """

    def compute() -> list[dict[str, Any]]:
        detect = function(POLES, "detect_poles")
        found: list[dict[str, Any]] = to_jsonable(
            detect(con, region=region, departement=departement, top=POLE_TOP)
        )
        return found

    return cache.get(("poles", region, departement), compute)


def pole(cache: KBCache, con: duckdb.DuckDBPyConnection, pole_id: str) -> dict[str, Any]:
    """Return one pole (:func:`territoria.analysis.poles.find_pole` on the cached detections).

    Raises
    ------
    CapabilityMissing, UnknownPole, NoEstablishments
    """

    def detect(
        cur: duckdb.DuckDBPyConnection,
        *,
        region: str | None = None,
        departement: str | None = None,
    ) -> list[dict[str, Any]]:
        return poles(cache, cur, region=region, departement=departement)

    def compute() -> dict[str, Any]:
        found: dict[str, Any] = function(POLES, "find_pole")(con, pole_id, detect=detect)
        return found

    return cache.get(("pole", pole_id), compute)


def session(cache: KBCache, con: duckdb.DuckDBPyConnection, session_id: str) -> Session:
    """Return the session of a session cookie, ended or not (raises
    :class:`AuthenticationFailed` for an unknown one).

    Cached until the next write: signing out, a revocation or a password or role change is a
    write, so an ended session is never served from the cache.
    """
    key = ("session", hashlib.sha256(session_id.encode("utf-8")).hexdigest())
    return cache.get(key, lambda: session_for(con, session_id))


def token_user(cache: KBCache, con: duckdb.DuckDBPyConnection, token: str) -> User:
    """Return the account of an API token (raises :class:`AuthenticationFailed`)."""
    key = ("token", hashlib.sha256(token.encode("utf-8")).hexdigest())
    return cache.get(key, lambda: user_for_token(con, token))
