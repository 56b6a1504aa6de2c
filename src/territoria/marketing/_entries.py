"""What practices and assets share: their source, the territory of an entry given by hand, names.

An entry added by hand (CLI, web form, API) gets its own ``source`` row: name
``saisie:<actor>``, the actor as publisher, the user's reference (who reports the fact) as
address, so that every entry, imported or not, says where it comes from and when.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as ModelError

from territoria.errors import InvalidMarketingEntry
from territoria.kb.audit import current_actor
from territoria.marketing._catalogue import check_territories, parse_date
from territoria.sources._framework import SourceRecord, record_source, utc_now

if TYPE_CHECKING:
    import duckdb

Model = TypeVar("Model", bound=BaseModel)

__all__ = [
    "SOURCE_COLUMNS",
    "EntrySource",
    "build",
    "entry_date",
    "entry_source",
    "entry_territory",
    "hand_source",
    "sources_of",
    "territory_names",
]


class EntrySource(BaseModel):
    """Where a practice or an asset comes from."""

    id: int
    name: str
    dataset: str
    publisher: str
    licence: str
    retrieved_at: str
    address: str | None = None
    synthetic: bool = False
    note: str | None = None


def build(model: type[Model], **fields: Any) -> Model:
    """``model(**fields)``, its validation errors as :class:`InvalidMarketingEntry`."""
    try:
        return model(**fields)
    except ModelError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidMarketingEntry(f"invalid entry: {problems}") from None


def hand_source(con: duckdb.DuckDBPyConnection, kind: str, reference: str) -> int:
    """Record the source row of an entry added by hand (inside the write's transaction)."""
    actor = current_actor()
    rec = SourceRecord(
        name=f"saisie:{actor}",
        dataset=kind,
        publisher=actor,
        licence="saisie par un utilisateur",
        retrieved_at=utc_now(),
        address=reference or None,
    )
    return record_source(con, rec)


def entry_territory(
    con: duckdb.DuckDBPyConnection, code: str, level: str | None
) -> tuple[str, str]:
    """(level, code) of an entry given by hand, or :class:`InvalidMarketingEntry`."""
    (place,) = check_territories(con, [(code.strip(), (level or "").strip())])
    if isinstance(place, str):
        raise InvalidMarketingEntry(f"the territory {place}")
    return place


def entry_date(value: str) -> date | None:
    """The date of an entry given by hand, or :class:`InvalidMarketingEntry`."""
    try:
        return parse_date(value.strip())
    except ValueError:
        msg = f"bad date {value!r}: write YYYY-MM-DD, YYYY-MM or YYYY"
        raise InvalidMarketingEntry(msg) from None


#: The ``source`` columns an :class:`EntrySource` is read from, in order.
SOURCE_COLUMNS = (
    "id", "name", "dataset", "publisher", "licence", "retrieved_at", "address", "synthetic",
    "note",
)  # fmt: skip


def entry_source(row: Sequence[Any]) -> EntrySource:
    """An :class:`EntrySource` from the values of :data:`SOURCE_COLUMNS`."""
    data: dict[str, Any] = dict(zip(SOURCE_COLUMNS, row, strict=True))
    data["retrieved_at"] = data["retrieved_at"].date().isoformat()
    return EntrySource(**data)


def sources_of(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> dict[int, EntrySource]:
    """The source rows of ``ids``, by id."""
    rows = con.execute(
        f"SELECT {', '.join(SOURCE_COLUMNS)} FROM source WHERE id IN (SELECT unnest(?::INTEGER[]))",
        [sorted(set(ids))],
    ).fetchall()
    return {int(row[0]): entry_source(row) for row in rows}


def territory_names(
    con: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Names of (level, code) territories, in one query."""
    if not pairs:
        return {}
    rows = con.execute(
        "SELECT t.level, t.code, t.name FROM territory t JOIN (SELECT unnest(?::VARCHAR[]) AS "
        "level, unnest(?::VARCHAR[]) AS code) q USING (level, code)",
        [[p[0] for p in pairs], [p[1] for p in pairs]],
    ).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}
