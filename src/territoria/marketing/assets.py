"""The assets registry of territorial marketing: know-how, products, labels, flagship firms,
infrastructures, universities, research centres, lycées and events, each with its territory,
source and date.

Assets are imported from a catalogue (CSV or JSON, columns :data:`COLUMNS`, checked line by
line and written atomically as for the practices) or added by hand, edited and soft-deleted.
The lycées the knowledge base holds (``territoria import lycees``) are listed as assets of
kind ``lycee`` automatically: read-only, with the lycées' source.

:func:`list_assets` gives a territory's assets: those registered for the territory itself and
for every territory inside it (the communes of an EPCI, département or région; the
arrondissements of Paris, Lyon and Marseille), then its lycées.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, Field

from territoria.errors import InvalidMarketingEntry, UnknownAsset
from territoria.kb._transaction import transaction
from territoria.kb.audit import current_actor, record
from territoria.kb.search import normalise
from territoria.kb.territories import find_territory
from territoria.marketing._catalogue import (
    Row,
    check_territories,
    parse_date,
    raise_problems,
    read_catalogue,
)
from territoria.marketing._entries import (
    EntrySource,
    entry_date,
    entry_territory,
    hand_source,
    sources_of,
    territory_names,
)
from territoria.sources._framework import SourceRecord, Staging, utc_now

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "COLUMNS",
    "KINDS",
    "Asset",
    "AssetIn",
    "add_asset",
    "delete_asset",
    "get_asset",
    "import_assets",
    "list_assets",
    "list_registry",
    "update_asset",
]

#: Asset kinds and their French names (``lycee``: from the lycées import only).
KINDS: Final = {
    "savoir_faire": "Savoir-faire",
    "produit": "Produit",
    "label": "Label (AOP, IGP, Label Rouge…)",
    "entreprise_phare": "Entreprise phare",
    "infrastructure": "Infrastructure",
    "universite": "Université",
    "centre_recherche": "Centre de recherche",
    "lycee": "Lycée",
    "evenement": "Événement",
}
#: Labels a ``label`` asset may name (others are accepted as written).
LABELS: Final = ("AOP", "AOC", "IGP", "Label Rouge", "STG", "Agriculture biologique")
COLUMNS: Final = (
    "name",
    "kind",
    "code",
    "level",
    "label",
    "description",
    "address",
    "date",
    "source",
)
_TYPES: Final = ("VARCHAR",) * 8 + ("DATE", "VARCHAR", "INTEGER")


class AssetIn(BaseModel):
    """An asset as given by hand."""

    name: str = Field(min_length=1, max_length=300)
    kind: str = Field(max_length=40)
    code: str = Field(min_length=1, max_length=20)
    level: str | None = Field(default=None, max_length=40)
    label: str = Field(default="", max_length=100)
    description: str = Field(default="", max_length=10_000)
    address: str = Field(default="", max_length=500)
    date: str = Field(default="", max_length=10, description="YYYY-MM-DD, YYYY-MM or YYYY.")
    reference: str = Field(default="", max_length=500, description="Who reports it.")


class Asset(BaseModel):
    """An asset of a territory, registered (``id``) or derived from the data (a lycée)."""

    id: int | None = Field(description="Registry id; null for a lycée of the knowledge base.")
    ref: str = Field(description="'asset-<id>' or 'uai-<UAI>'.")
    kind: str
    kind_label: str
    name: str
    level: str
    code: str
    territory: str
    label: str = ""
    description: str = ""
    address: str = ""
    date: str | None = None
    reference: str = ""
    editable: bool
    source: EntrySource


def _kind(value: str) -> str | None:
    key = normalise(value).replace(" ", "_")  # 'Événement', 'Savoir-faire' are accepted
    key = {"centre_de_recherche": "centre_recherche", "savoir": "savoir_faire"}.get(key, key)
    return key if key in KINDS and key != "lycee" else None


def _kind_problem(value: str) -> str:
    kinds = ", ".join(k for k in KINDS if k != "lycee")
    return f"unknown asset kind {value!r}: use one of {kinds} (lycées come from the lycées import)"


def _row_problems(row: Row, place: tuple[str, str] | str) -> tuple[list[str], Any]:
    mine = [row.fields["_error"]] if "_error" in row.fields else []
    if not row.get("name"):
        mine.append("has no name")
    kind = _kind(row.get("kind"))
    if kind is None:
        mine.append(_kind_problem(row.get("kind")))
    if isinstance(place, str):
        mine.append(place)
    when = None
    try:
        when = parse_date(row.get("date"))
    except ValueError:
        mine.append(f"bad date {row.get('date')!r}: write YYYY-MM-DD, YYYY-MM or YYYY")
    return mine, (kind, when)


def _insert(con: duckdb.DuckDBPyConnection, values: list[list[Any]], sid: int) -> list[int]:
    columns = [list(c) for c in zip(*values, strict=True)] if values else [[] for _ in _TYPES]
    sql = (
        "INSERT INTO asset (kind, name, level, code, label, description, address, reference, "
        "date, created_by, line, source_id, created_at) SELECT "
        + ", ".join(f"unnest(?::{t}[])" for t in _TYPES)
        + ", ?, ? RETURNING id"
    )
    rows = con.execute(sql, [*columns, sid, utc_now()]).fetchall()
    return [int(r[0]) for r in rows]


def import_assets(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    source_name: str | None = None,
    publisher: str = "non précisé",
    licence: str = "non précisée",
    synthetic: bool = False,
) -> int:
    """Import an assets catalogue atomically (a re-import of the same source name replaces
    it); return the number of assets imported.

    Raises
    ------
    InvalidCatalogue
        Malformed entries (each named by its line); nothing was written.
    """
    path = Path(path)
    rows = read_catalogue(path, COLUMNS)
    places = check_territories(con, [(r.get("code"), r.get("level")) for r in rows])
    problems, values = [], []
    for row, place in zip(rows, places, strict=True):
        mine, (kind, when) = _row_problems(row, place)
        problems += [f"{row.where}: {p}" for p in mine]
        if not mine and not isinstance(place, str):
            values.append(
                [
                    kind,
                    row.get("name"),
                    place[0],
                    place[1],
                    row.get("label"),
                    row.get("description"),
                    row.get("address"),
                    row.get("source"),
                    when,
                    current_actor(),
                    row.line,
                ]
            )
    raise_problems(path, problems)
    name = source_name or f"assets:{path.name}"
    with Staging(con, prefix="mka_") as staging:
        sid = staging.source(
            SourceRecord(
                name=name,
                dataset=path.name,
                publisher=publisher,
                licence=licence,
                retrieved_at=staging.now,
                address=str(path),
                synthetic=synthetic,
            )
        )
        with staging.swap(names=[name], tables=["asset"]):
            ids = _insert(con, values, sid)
            record(con, "assets.import", target=name, detail={"assets": len(ids)})
    return len(ids)


_REGISTRY_SQL: Final = (
    "SELECT id, kind, name, level, code, label, description, address, date, reference, "
    "source_id FROM asset WHERE deleted_at IS NULL"
)


def _assets(con: duckdb.DuckDBPyConnection, rows: list[Any]) -> list[Asset]:
    names = territory_names(con, [(r[3], r[4]) for r in rows])
    sources = sources_of(con, [r[10] for r in rows])
    return [
        Asset(
            id=r[0],
            ref=f"asset-{r[0]}",
            kind=r[1],
            kind_label=KINDS.get(r[1], r[1]),
            name=r[2],
            level=r[3],
            code=r[4],
            territory=names.get((r[3], r[4]), r[4]),
            label=r[5],
            description=r[6],
            address=r[7],
            date=r[8].isoformat() if r[8] else None,
            reference=r[9],
            editable=True,
            source=sources[r[10]],
        )
        for r in rows
    ]


def _lycees(con: duckdb.DuckDBPyConnection, communes: list[str]) -> list[Asset]:
    rows = con.execute(
        "SELECT l.uai, l.name, l.commune_code, l.source_id, t.name FROM lycee l "
        "JOIN territory t ON t.level = 'commune' AND t.code = l.commune_code "
        "WHERE l.commune_code IN (SELECT unnest(?::VARCHAR[])) "
        "AND l.match <> 'not_a_school' ORDER BY l.name, l.uai",
        [communes],
    ).fetchall()
    sources = sources_of(con, [r[3] for r in rows])
    return [
        Asset(
            id=None,
            ref=f"uai-{r[0]}",
            kind="lycee",
            kind_label=KINDS["lycee"],
            name=r[1],
            level="commune",
            code=r[2],
            territory=r[4],
            reference=f"UAI {r[0]}",
            editable=False,
            source=sources[r[3]],
        )
        for r in rows
    ]


def _communes(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[str]:
    if level == "commune":
        return [code]
    if level == "arrondissement_municipal":  # lycées are placed in the commune (Paris ...)
        return []
    rows = con.execute(
        "SELECT code FROM membership WHERE level = 'commune' AND parent_level = ? "
        "AND parent_code = ?",
        [level, code],
    ).fetchall()
    return [r[0] for r in rows]


def list_assets(
    con: duckdb.DuckDBPyConnection,
    code: str,
    level: str | None = None,
    *,
    kind: str | None = None,
    lycees: bool = True,
) -> list[Asset]:
    """The assets of a territory and of the territories inside it, registered ones first
    (by kind, then name), then its lycées (kind ``lycee``, read-only).

    Raises
    ------
    UnknownTerritory
    """
    place = find_territory(con, code, level=level)
    rows = con.execute(
        _REGISTRY_SQL + " AND ((level = ? AND code = ?) OR EXISTS (SELECT 1 FROM membership m "
        "WHERE m.level = asset.level AND m.code = asset.code AND m.parent_level = ? "
        "AND m.parent_code = ?)) AND (?::VARCHAR IS NULL OR kind = ?) ORDER BY kind, name, id",
        [place.level, place.code, place.level, place.code, kind, kind],
    ).fetchall()
    out = _assets(con, rows)
    if lycees and kind in (None, "lycee"):
        out += _lycees(con, _communes(con, place.level, place.code))
    return out


def list_registry(
    con: duckdb.DuckDBPyConnection, *, kind: str | None = None, limit: int = 200
) -> list[Asset]:
    """The live registered assets of every territory (newest first), optionally of one kind."""
    rows = con.execute(
        _REGISTRY_SQL + " AND (?::VARCHAR IS NULL OR kind = ?) ORDER BY id DESC LIMIT ?",
        [kind, kind, limit],
    ).fetchall()
    return _assets(con, rows)


def get_asset(con: duckdb.DuckDBPyConnection, asset_id: int) -> Asset:
    """One live registered asset, or :class:`UnknownAsset`."""
    rows = con.execute(_REGISTRY_SQL + " AND id = ?", [asset_id]).fetchall()
    if not rows:
        msg = f"no asset of the registry has id {asset_id}: list them with 'territoria assets list'"
        raise UnknownAsset(msg)
    return _assets(con, rows)[0]


def _checked(con: duckdb.DuckDBPyConnection, entry: AssetIn) -> list[Any]:
    kind = _kind(entry.kind)
    if kind is None:
        raise InvalidMarketingEntry(_kind_problem(entry.kind))
    if not entry.name.strip():
        raise InvalidMarketingEntry("an asset needs a name")
    level, code = entry_territory(con, entry.code, entry.level)
    return [
        kind,
        entry.name.strip(),
        level,
        code,
        entry.label,
        entry.description,
        entry.address,
        entry.reference,
        entry_date(entry.date),
    ]


def add_asset(con: duckdb.DuckDBPyConnection, entry: AssetIn) -> Asset:
    """Add an asset by hand (its own source row names who added it); return it."""
    values = _checked(con, entry)
    with transaction(con):
        sid = hand_source(con, "asset", entry.reference)
        (new_id,) = _insert(con, [[*values, current_actor(), None]], sid)
        record(con, "assets.add", target=str(new_id), detail={"name": values[1]})
    return get_asset(con, new_id)


def update_asset(con: duckdb.DuckDBPyConnection, asset_id: int, entry: AssetIn) -> Asset:
    """Replace a registered asset's fields (its source stays); return it."""
    get_asset(con, asset_id)
    values = _checked(con, entry)
    with transaction(con):
        con.execute(
            "UPDATE asset SET kind = ?, name = ?, level = ?, code = ?, label = ?, "
            "description = ?, address = ?, reference = ?, date = ?, "
            "updated_at = current_timestamp WHERE id = ?",
            [*values, asset_id],
        )
        record(con, "assets.update", target=str(asset_id))
    return get_asset(con, asset_id)


def delete_asset(con: duckdb.DuckDBPyConnection, asset_id: int) -> Asset:
    """Soft-delete a registered asset (lycées cannot be deleted here); return it."""
    gone = get_asset(con, asset_id)
    with transaction(con):
        con.execute(
            "UPDATE asset SET deleted_at = current_timestamp, deleted_by = ? WHERE id = ?",
            [current_actor(), asset_id],
        )
        record(con, "assets.delete", target=str(asset_id))
    return gone
