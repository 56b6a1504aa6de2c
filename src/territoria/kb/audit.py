"""The audit log: who wrote what, and when.

The actor is set once per request or command with :func:`acting_as` (``web:alice``,
``cli:root``) and read by :func:`record`, which library write functions call inside their
transaction, so that the audit row is committed with the write or not at all.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

__all__ = ["AuditEntry", "acting_as", "current_actor", "list_audit", "record"]

_ACTOR: contextvars.ContextVar[str] = contextvars.ContextVar("territoria_actor", default="system")


@contextlib.contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Attribute the writes made inside the block to ``actor``."""
    token = _ACTOR.set(actor)
    try:
        yield
    finally:
        _ACTOR.reset(token)


def current_actor() -> str:
    """Return who the current writes are attributed to (``system`` by default)."""
    return _ACTOR.get()


def record(
    con: duckdb.DuckDBPyConnection,
    event: str,
    *,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an audit row (call it inside the write's transaction)."""
    con.execute(
        "INSERT INTO audit_log (actor, event, target, detail) VALUES (?, ?, ?, ?)",
        [
            current_actor(),
            event,
            target,
            json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
        ],
    )


@dataclass(frozen=True)
class AuditEntry:
    """One audited write."""

    id: int
    at: datetime
    actor: str
    event: str
    target: str | None
    detail: dict[str, Any] | None


def list_audit(
    con: duckdb.DuckDBPyConnection,
    *,
    actor: str | None = None,
    event: str | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Return the latest audited writes, newest first (``event`` matches a prefix)."""
    rows = con.execute(
        "SELECT id, \"at\", actor, event, target, detail FROM audit_log "
        "WHERE (? IS NULL OR actor = ?) AND (? IS NULL OR starts_with(event, ?)) "
        "ORDER BY id DESC LIMIT ?",
        [actor, actor, event, event, max(1, min(int(limit), 10_000))],
    ).fetchall()
    return [
        AuditEntry(
            id=int(r[0]),
            at=r[1],
            actor=r[2],
            event=r[3],
            target=r[4],
            detail=json.loads(r[5]) if r[5] else None,
        )
        for r in rows
    ]
