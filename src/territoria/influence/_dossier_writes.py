"""Writing dossiers: the checks and the one insert and soft-deletion path of their items."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import duckdb

from territoria.errors import InvalidDossier, PermissionDenied, UnknownActor, UnknownDossier
from territoria.influence._dossier_model import (
    CAMPS,
    EVENT_KINDS,
    EVENT_STATUSES,
    ITEM_KINDS,
    STEP_STATUSES,
)
from territoria.influence._dossier_reads import dossier_row
from territoria.influence.stance import POSITION_LABELS
from territoria.kb._transaction import transaction
from territoria.kb.audit import current_actor, record

__all__ = [
    "check_actor",
    "choice",
    "clean_text",
    "insert_item",
    "insert_rows",
    "item_row",
    "item_table",
    "journal_values",
    "live_row",
    "may_change",
    "parse_date",
    "set_deleted",
    "utc_now",
]

_MAX_TEXT = 5000


_PARTNER_KINDS = {"territory": "collectivité", "pole": "pôle"}


def journal_values(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """An item's values as the journal shows them: statuses, kinds, positions by their
    French names (each name stands for one key)."""
    names: dict[str, Mapping[str, str]] = {"position": POSITION_LABELS, "camp": CAMPS}
    if kind == "event":
        names |= {"kind": EVENT_KINDS, "status": EVENT_STATUSES}
    elif kind == "step":
        names |= {"status": STEP_STATUSES}
    elif kind == "partner":
        names |= {"kind": _PARTNER_KINDS}
    return {k: names[k].get(v, v) if k in names and v else v for k, v in values.items()}


def utc_now() -> dt.datetime:
    return dt.datetime.now(tz=dt.UTC).replace(tzinfo=None)


def clean_text(value: str, name: str, *, required: bool = False, limit: int = _MAX_TEXT) -> str:
    text = (value or "").strip()
    if required and not text:
        msg = f"a dossier's {name} cannot be empty: give one"
        raise InvalidDossier(msg)
    if len(text) > limit:
        msg = f"the {name} is {len(text)} characters long: keep it under {limit}"
        raise InvalidDossier(msg)
    return text


def choice(value: str, allowed: Mapping[str, str], name: str) -> str:
    if value not in allowed:
        msg = f"unknown {name} {value!r}: use one of {', '.join(allowed)}"
        raise InvalidDossier(msg)
    return value


def parse_date(value: dt.date | str | None, name: str) -> dt.date | None:
    """A date, or ISO ``YYYY-MM-DD`` text made one."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        msg = f"{name} {value!r} is not a date: write it YYYY-MM-DD"
        raise InvalidDossier(msg) from None


def live_row(con: duckdb.DuckDBPyConnection, dossier_id: int) -> tuple[Any, ...]:
    """The dossier's row; a deleted dossier cannot be changed."""
    row = dossier_row(con, dossier_id)
    if row[13] is not None:
        msg = (
            f"dossier {dossier_id} is deleted (by {row[14]!r}): restore it first with "
            f"'territoria dossiers restore {dossier_id}'"
        )
        raise UnknownDossier(msg)
    return row


def may_change(row: tuple[Any, ...], *, user: str, admin: bool, author: str | None = None) -> None:
    allowed = {row[9], row[10]} | ({author} if author else set())
    if admin or user in allowed:
        return
    whose = f"item of {author!r} in " if author else ""
    msg = (
        f"{user!r} may not change this {whose}dossier {row[0]} (created by {row[10]!r}, owned by "
        f"{row[9]!r}): ask them or an administrator"
    )
    raise PermissionDenied(msg)


def insert_item(
    con: duckdb.DuckDBPyConnection,
    dossier_id: int,
    kind: str,
    values: dict[str, Any],
    author: str | None,
) -> int:
    """Insert one item (checked by the caller) with its audit row; return its id."""
    with transaction(con):
        return insert_rows(con, dossier_id, kind, values, author)


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    dossier_id: int,
    kind: str,
    values: dict[str, Any],
    author: str | None,
) -> int:
    """:func:`_insert` inside the caller's transaction."""
    who = author if author is not None else current_actor()
    now = utc_now()
    columns = ["dossier_id", *values, "created_by", "created_at"]
    live_row(con, dossier_id)
    row = con.execute(
        f"INSERT INTO {ITEM_KINDS[kind]} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' * len(columns))}) RETURNING id",
        [dossier_id, *values.values(), who, now],
    ).fetchone()
    assert row is not None
    con.execute("UPDATE dossier SET updated_at = ? WHERE id = ?", [now, dossier_id])
    item_id = int(row[0])
    detail = {"dossier": dossier_id, "id": item_id, **journal_values(kind, values)}
    record(con, f"dossier.{kind}.add", target=str(dossier_id), detail=detail)
    return item_id


def check_actor(con: duckdb.DuckDBPyConnection, actor: str) -> str:
    row = con.execute(
        "SELECT 1 FROM person WHERE id = ? UNION ALL SELECT 1 FROM organisation WHERE id = ? "
        "UNION ALL SELECT 1 FROM actor WHERE id = ?",
        [actor, actor, actor],
    ).fetchone()
    if row is None:
        msg = (
            f"unknown actor {actor!r}: use a person id ('p-…', see 'territoria people search'), "
            "a council ('cr-53') or an imported actor's id"
        )
        raise UnknownActor(msg)
    return actor


def item_table(kind: str) -> str:
    if kind not in ITEM_KINDS:
        msg = f"unknown kind of dossier item {kind!r}: use one of {', '.join(ITEM_KINDS)}"
        raise InvalidDossier(msg)
    return ITEM_KINDS[kind]


def item_row(
    con: duckdb.DuckDBPyConnection, dossier_id: int, kind: str, item_id: int, *, deleted: bool
) -> tuple[Any, ...]:
    row = con.execute(
        f"SELECT id, created_by, deleted_at, deleted_by FROM {item_table(kind)} "
        "WHERE id = ? AND dossier_id = ?",
        [item_id, dossier_id],
    ).fetchone()
    if row is None:
        msg = f"dossier {dossier_id} has no {kind} with id {item_id!r}: see 'dossiers show'"
        raise UnknownDossier(msg)
    if (row[2] is not None) != deleted:
        state = "already deleted" if row[2] is not None else "not deleted"
        msg = f"{kind} {item_id} of dossier {dossier_id} is {state}"
        raise UnknownDossier(msg)
    return tuple(row)


def set_deleted(
    con: duckdb.DuckDBPyConnection,
    dossier_id: int,
    kind: str,
    item_id: int,
    *,
    user: str,
    admin: bool,
    deleted: bool,
) -> None:
    table = item_table(kind)
    with transaction(con):
        row = live_row(con, dossier_id)
        item = item_row(con, dossier_id, kind, item_id, deleted=not deleted)
        may_change(row, user=user, admin=admin, author=item[1])
        if deleted:
            sql, params = (
                f"UPDATE {table} SET deleted_at = ?, deleted_by = ? WHERE id = ?",
                [
                    utc_now(),
                    user,
                    item_id,
                ],
            )
        else:
            sql = f"UPDATE {table} SET deleted_at = NULL, deleted_by = NULL WHERE id = ?"
            params = [item_id]
        con.execute(sql, params)
        con.execute("UPDATE dossier SET updated_at = ? WHERE id = ?", [utc_now(), dossier_id])
        event = f"dossier.{kind}.{'delete' if deleted else 'restore'}"
        record(con, event, target=str(dossier_id), detail={"dossier": dossier_id, "id": item_id})
