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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the CLI sets its actor before it needs DuckDB
    import duckdb

__all__ = ["MAX_LIMIT", "AuditEntry", "acting_as", "current_actor", "list_audit", "record"]

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

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the time as ISO text)."""
        return {
            "id": self.id,
            "at": self.at.isoformat(timespec="seconds"),
            "actor": self.actor,
            "event": self.event,
            "target": self.target,
            "detail": self.detail,
        }


#: Most rows one call of :func:`list_audit` returns.
MAX_LIMIT = 10_000


def list_audit(
    con: duckdb.DuckDBPyConnection,
    *,
    actor: str | None = None,
    event: str | None = None,
    target: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Return the latest audited writes, newest first.

    Parameters
    ----------
    actor
        Only the writes of this actor (``web:alice``, ``cli:root``).
    event
        Only events starting with this prefix (``action.`` or ``action.delete``).
    target
        Only the writes that touched this target (an action id, a user name).
    before
        Only entries older than the entry with this id: pass the smallest id of a page to
        get the next one.
    limit
        At most this many entries (1 to 10,000).
    """
    rows = con.execute(
        'SELECT id, "at", actor, event, target, detail FROM audit_log '
        "WHERE (? IS NULL OR actor = ?) AND (? IS NULL OR starts_with(event, ?)) "
        "AND (? IS NULL OR target = ?) AND (? IS NULL OR id < ?) "
        "ORDER BY id DESC LIMIT ?",
        [
            actor,
            actor,
            event,
            event,
            target,
            target,
            before,
            before,
            max(1, min(int(limit), MAX_LIMIT)),
        ],
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
