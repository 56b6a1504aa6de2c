"""What the routes read, through the knowledge-base cache: territories, profiles, users.

Each function returns shared, cached data: callers must not modify it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import duckdb

from territoria.accounts import User, get_user, user_for_token
from territoria.api import _queries as q
from territoria.api._cache import KBCache
from territoria.api._capabilities import function
from territoria.api._jobs import to_jsonable

__all__ = ["profile", "territory", "token_user", "user"]


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


def user(cache: KBCache, con: duckdb.DuckDBPyConnection, name: str) -> User:
    """Return the account ``name`` (raises :class:`UnknownUser`)."""
    return cache.get(("user", name), lambda: get_user(con, name))


def token_user(cache: KBCache, con: duckdb.DuckDBPyConnection, token: str) -> User:
    """Return the account of an API token (raises :class:`AuthenticationFailed`)."""
    key = ("token", hashlib.sha256(token.encode("utf-8")).hexdigest())
    return cache.get(key, lambda: user_for_token(con, token))
