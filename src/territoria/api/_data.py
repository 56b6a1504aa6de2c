"""What the routes read, through the knowledge-base cache: territories, profiles, users.

Each function returns shared, cached data: callers must not modify it. Library results are
cached in their JSON form (``to_dict()``), which the cache keeps serialised (see
:mod:`territoria.api._cache`); the routes answer it through the library's model as their
``response_model``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import duckdb

from territoria.accounts import Session, User, session_for, user_for_token
from territoria.analysis._economy_model import Pole
from territoria.analysis.poles import detect_poles, find_pole
from territoria.analysis.profile import profile as library_profile
from territoria.analysis.specialisation import has_establishments as library_has_establishments
from territoria.analysis.specialisation import specialisation_profile
from territoria.api._cache import KBCache
from territoria.kb import territories as kt

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

#: Firms and actors listed per pole in the web application (and engaged by its plans).
POLE_TOP = 20


def territory(
    cache: KBCache, con: duckdb.DuckDBPyConnection, code: str, *, level: str | None = None
) -> kt.TerritoryCard:
    """Return a territory's identity and figures, its parents and its children counts.

    Raises
    ------
    UnknownTerritory, UnknownLevel
    """
    return cache.get(("territory", level, code), lambda: kt.find_territory(con, code, level=level))


def indicators(
    cache: KBCache, con: duckdb.DuckDBPyConnection, *, level: str | None = None
) -> list[kt.IndicatorInfo]:
    """Return the indicator catalogue (:func:`territoria.kb.territories.list_indicators`):
    one scan of the indicator values, kept until the next write."""
    return cache.get(("indicators", level), lambda: kt.list_indicators(con, level=level))


def profile(
    cache: KBCache, con: duckdb.DuckDBPyConnection, code: str, *, level: str | None = None
) -> dict[str, Any]:
    """Return :func:`territoria.analysis.profile.profile` as JSON data.

    Raises
    ------
    UnknownTerritory, UnknownLevel
    """
    return cache.get(
        ("profile", level, code), lambda: library_profile(con, code, level=level).to_dict()
    )


def has_establishments(cache: KBCache, con: duckdb.DuckDBPyConnection) -> bool:
    """Whether SIRENE establishments were imported."""
    return cache.get(("has_establishments",), lambda: library_has_establishments(con))


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
    naf: str | None = None,
) -> dict[str, Any]:
    """Return :func:`territoria.analysis.specialisation.specialisation_profile` as JSON data.

    Raises
    ------
    UnknownTerritory, UnknownLevel, NoEstablishments, InvalidAnalysisRequest
    """

    def compute() -> dict[str, Any]:
        return specialisation_profile(
            con,
            code,
            level=level,
            sector_level=sector_level,
            measure=measure,
            reference=reference,
            since=since,
            top=top,
            naf=naf,
        ).to_dict()

    key = ("economy", code, level, sector_level, measure, reference, since, top, naf)
    return cache.get(key, compute)


def poles(
    cache: KBCache,
    con: duckdb.DuckDBPyConnection,
    *,
    region: str | None = None,
    departement: str | None = None,
) -> list[dict[str, Any]]:
    """Return the poles of a région, a département or France (``detect_poles``) as JSON data.

    Raises
    ------
    UnknownTerritory, NoEstablishments, InvalidAnalysisRequest
    """

    def compute() -> list[dict[str, Any]]:
        found = detect_poles(con, region=region, departement=departement, top=POLE_TOP)
        # detect_poles still returns dictionaries: the model checks and types them here
        return [Pole.model_validate(p).to_dict() for p in found]

    return cache.get(("poles", region, departement), compute)


def pole(cache: KBCache, con: duckdb.DuckDBPyConnection, pole_id: str) -> dict[str, Any]:
    """Return one pole (:func:`territoria.analysis.poles.find_pole` on the cached detections).

    Raises
    ------
    UnknownPole, NoEstablishments
    """

    def detect(
        cur: duckdb.DuckDBPyConnection,
        *,
        region: str | None = None,
        departement: str | None = None,
    ) -> list[dict[str, Any]]:
        return poles(cache, cur, region=region, departement=departement)

    return cache.get(("pole", pole_id), lambda: find_pole(con, pole_id, detect=detect))


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
