"""Check a plan request against the knowledge base before it is queued."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from territoria.errors import InvalidPlanRequest, UnknownTerritory, UnknownTheme
from territoria.influence.decision import get_theme, resolve_territory

__all__ = ["check_plan_request"]


def check_plan_request(
    con: duckdb.DuckDBPyConnection,
    *,
    code: str | None,
    level: str | None = None,
    theme: str | None = None,
    targets: Iterable[str] = (),
) -> None:
    """Raise :class:`InvalidPlanRequest` (with the field at fault) for what would fail later.

    A plan is queued only once its theme and territory exist and it has something to reach,
    so that an invalid request is refused at once (HTTP 422) instead of failing in a worker.
    """
    targets = list(targets)
    if not theme and not targets:
        _fail("theme", "give a theme or explicit targets")
    if theme:
        try:
            get_theme(theme)
        except UnknownTheme as exc:
            _fail("theme", str(exc))
        if code is None:
            _fail("code", "a theme needs a territory code")
    if code is not None:
        try:
            resolve_territory(con, code, level)
        except UnknownTerritory as exc:
            _fail("code", str(exc))


def _fail(name: str, message: str) -> None:
    exc = InvalidPlanRequest(message)
    exc.field = name  # type: ignore[attr-defined]
    raise exc
