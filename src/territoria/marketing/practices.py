"""The good-practices catalogue: import, add, edit, soft-delete and French full-text search.

A catalogue file (CSV or JSON, see :mod:`territoria.marketing._catalogue`) has the columns of
:data:`COLUMNS`: ``title`` (required), ``code`` (the official code of the territory that runs
the practice, required) and ``level`` (needed only when several levels hold the code: ``53``),
``themes`` (theme ids or French labels of ``data/marketing/themes.json``, separated by ``;``),
``description``, ``results``, ``contact``, ``address``, ``date`` (``YYYY-MM-DD``, ``YYYY-MM``
or ``YYYY``) and ``source`` (who reports the practice). An import is atomic: any malformed entry
(missing title, unknown territory code, bad date, unknown theme) is reported with its line and
nothing is written; re-importing a file of the same source name replaces its practices.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, Field

from territoria.errors import InvalidMarketingEntry, UnknownPractice
from territoria.kb._transaction import transaction
from territoria.kb.audit import current_actor, record
from territoria.marketing import _search
from territoria.marketing._catalogue import (
    Row,
    check_territories,
    parse_date,
    raise_problems,
    read_catalogue,
)
from territoria.marketing._data import theme_id, themes
from territoria.marketing._entries import (
    SOURCE_COLUMNS,
    EntrySource,
    entry_date,
    entry_source,
    entry_territory,
    hand_source,
)
from territoria.sources._framework import SourceRecord, Staging, utc_now
from territoria.watch.query import tokens

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "COLUMNS",
    "DEMO_CATALOGUE",
    "MAX_LIMIT",
    "Practice",
    "PracticeHit",
    "PracticeIn",
    "PracticeSearch",
    "add_practice",
    "delete_practice",
    "get_practice",
    "import_practices",
    "search_practices",
    "update_practice",
]

COLUMNS: Final = (
    "title",
    "code",
    "level",
    "themes",
    "description",
    "results",
    "contact",
    "address",
    "date",
    "source",
)
#: Theme separator in a catalogue's ``themes`` column.
THEME_SEPARATOR: Final = ";"
MAX_LIMIT: Final = 500
SNIPPET_CHARS: Final = 240
#: The demo catalogue shipped with the package (entries labelled demo, synthetic source).
DEMO_CATALOGUE: Final = "practices_demo/pratiques_demo.csv"


class PracticeIn(BaseModel):
    """A practice as given by hand (CLI, form or API)."""

    title: str = Field(min_length=1, max_length=300)
    code: str = Field(min_length=1, max_length=20)
    level: str | None = Field(default=None, max_length=40)
    themes: list[str] = Field(default_factory=list, max_length=20)
    description: str = Field(default="", max_length=20_000)
    results: str = Field(default="", max_length=20_000)
    contact: str = Field(default="", max_length=500)
    address: str = Field(default="", max_length=500)
    date: str = Field(default="", max_length=10, description="YYYY-MM-DD, YYYY-MM or YYYY.")
    reference: str = Field(default="", max_length=500, description="Who reports it.")


class Practice(BaseModel):
    """A good practice of the catalogue with its territory and source."""

    id: int
    title: str
    level: str
    code: str
    territory: str = Field(description="The territory's name.")
    themes: list[str]
    theme_labels: list[str]
    description: str
    results: str
    contact: str
    address: str
    date: str | None
    reference: str
    source: EntrySource


class PracticeHit(BaseModel):
    """A practice found by a search, with its score and highlighted title and snippet."""

    practice: Practice
    score: float | None = None
    title_segments: list[dict[str, Any]]
    snippet_segments: list[dict[str, Any]]


class PracticeSearch(BaseModel):
    """The practices a search found (one page of them) and how many there are."""

    query: str
    stems: list[str]
    theme: str | None
    level: str | None
    total: int
    hits: list[PracticeHit]


def _themes(value: str | list[str]) -> tuple[list[str], list[str]]:
    parts = value if isinstance(value, list) else value.split(THEME_SEPARATOR)
    known: list[str] = []
    unknown: list[str] = []
    for part in (p.strip() for p in parts):
        if part:
            key = theme_id(part)
            (known if key else unknown).append(key or part)
    return list(dict.fromkeys(known)), unknown


def _theme_problem(unknown: list[str]) -> str:
    return (
        f"unknown theme(s) {', '.join(repr(u) for u in unknown)}: use the ids or labels of "
        f"'territoria practices themes' ({', '.join(themes())})"
    )


def _check_rows(con: duckdb.DuckDBPyConnection, rows: list[Row]) -> tuple[list[str], list[Any]]:
    places = check_territories(con, [(r.get("code"), r.get("level")) for r in rows])
    problems, good = [], []
    for row, place in zip(rows, places, strict=True):
        mine = [row.fields["_error"]] if "_error" in row.fields else []
        if not row.get("title"):
            mine.append("has no title")
        if isinstance(place, str):
            mine.append(place)
        try:
            when = parse_date(row.get("date"))
        except ValueError:
            when = None
            mine.append(f"bad date {row.get('date')!r}: write YYYY-MM-DD, YYYY-MM or YYYY")
        ids, unknown = _themes(row.get("themes"))
        if unknown:
            mine.append(_theme_problem(unknown))
        problems += [f"{row.where}: {p}" for p in mine]
        if not mine and not isinstance(place, str):
            good.append((row, place, when, ids))
    return problems, good


_TYPES: Final = (
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR[]",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "DATE",
    "VARCHAR",
    "INTEGER",
)
_INTO: Final = (
    "INSERT INTO practice (title, level, code, themes, description, results, contact, "
    "address, date, reference, line, source_id, created_at, created_by) "
)
_INSERT: Final = (
    _INTO + "SELECT " + ", ".join(f"unnest(?::{t}[])" for t in _TYPES) + ", ?, ?, ? RETURNING id"
)


def _insert(
    con: duckdb.DuckDBPyConnection, good: list[Any], source_id: int, now: datetime
) -> list[int]:
    """Insert the checked entries in one statement; return their ids."""
    columns: list[list[Any]] = [[] for _ in _TYPES]
    for row, (level, code), when, ids in good:
        values = [
            row.get("title"),
            level,
            code,
            ids,
            row.get("description"),
            row.get("results"),
            row.get("contact"),
            row.get("address"),
            when,
            row.get("source"),
            row.line,
        ]
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    rows = con.execute(_INSERT, [*columns, source_id, now, current_actor()]).fetchall()
    return [int(r[0]) for r in rows]


def import_practices(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    source_name: str | None = None,
    publisher: str = "non précisé",
    licence: str = "non précisée",
    synthetic: bool = False,
    address: str | None = None,
) -> int:
    """Import a practices catalogue atomically; return the number of practices imported
    (``address``: where the file comes from, default its path).

    Raises
    ------
    InvalidCatalogue
        Malformed entries (each named by its line); nothing was written.
    SourceError
        The file is missing, not UTF-8, not valid JSON, or lacks the header's columns.
    """
    path = Path(path)
    rows = read_catalogue(path, COLUMNS)
    problems, good = _check_rows(con, rows)
    raise_problems(path, problems)
    name = source_name or f"practices:{path.name}"
    with Staging(con, prefix="mkp_") as staging:
        rec = SourceRecord(
            name=name,
            dataset=path.name,
            publisher=publisher,
            licence=licence,
            retrieved_at=staging.now,
            address=address or str(path),
            synthetic=synthetic,
            note="exemples de démonstration" if synthetic else None,
        )
        sid = staging.source(rec)
        with staging.swap(names=[name]) as swap:
            old = [
                r[0]
                for r in con.execute(
                    "SELECT id FROM practice WHERE source_id IN (SELECT unnest(?::INTEGER[]))",
                    [swap.previous],
                ).fetchall()
            ]
            _search.unindex(con, old)
            con.execute("DELETE FROM practice WHERE id IN (SELECT unnest(?::BIGINT[]))", [old])
            ids = _insert(con, good, sid, staging.now)
            _search.index_practices(con, ids)
            record(con, "practices.import", target=name, detail={"practices": len(ids)})
    return len(ids)


_SELECT: Final = (
    "WITH p AS MATERIALIZED (SELECT * FROM practice WHERE deleted_at IS NULL "
    "AND id IN (SELECT unnest(?::BIGINT[]))), "
    "t AS MATERIALIZED (SELECT level, code, name FROM territory "
    "WHERE code IN (SELECT code FROM p)) "
    "SELECT p.id, p.title, p.level, p.code, p.themes, p.description, p.results, p.contact, "
    "p.address, p.date, p.reference, coalesce(t.name, p.code), "
    + ", ".join(f"s.{c}" for c in SOURCE_COLUMNS)
    + " FROM p "
    "JOIN source s ON s.id = p.source_id "
    "LEFT JOIN t ON t.level = p.level AND t.code = p.code"
)


def _practices(con: duckdb.DuckDBPyConnection, ids: list[int]) -> dict[int, Practice]:
    """The live practices of ``ids`` with their territory's name and source, in one query."""
    labels = themes()
    out = {}
    for r in con.execute(_SELECT, [ids]).fetchall():
        out[int(r[0])] = Practice(
            id=r[0],
            title=r[1],
            level=r[2],
            code=r[3],
            territory=r[11],
            themes=list(r[4]),
            theme_labels=[labels.get(t, {}).get("fr", t) for t in r[4]],
            description=r[5],
            results=r[6],
            contact=r[7],
            address=r[8],
            date=r[9].isoformat() if r[9] else None,
            reference=r[10],
            source=entry_source(r[12:]),
        )
    return out


def get_practice(con: duckdb.DuckDBPyConnection, practice_id: int) -> Practice:
    """One live practice, or :class:`UnknownPractice`."""
    found = _practices(con, [practice_id])
    if practice_id not in found:
        msg = f"no practice has id {practice_id}: list them with 'territoria practices list'"
        raise UnknownPractice(msg)
    return found[practice_id]


def _checked(con: duckdb.DuckDBPyConnection, entry: PracticeIn) -> list[Any]:
    if not entry.title.strip():
        raise InvalidMarketingEntry("a practice needs a title")
    level, code = entry_territory(con, entry.code, entry.level)
    ids, unknown = _themes(entry.themes)
    if unknown:
        raise InvalidMarketingEntry(_theme_problem(unknown))
    return [
        entry.title.strip(),
        level,
        code,
        ids,
        entry.description,
        entry.results,
        entry.contact,
        entry.address,
        entry_date(entry.date),
        entry.reference,
    ]


def add_practice(con: duckdb.DuckDBPyConnection, entry: PracticeIn) -> Practice:
    """Add a practice by hand (its own source row names who added it); return it."""
    values = _checked(con, entry)
    with transaction(con):
        sid = hand_source(con, "practice", entry.reference)
        row = con.execute(
            _INTO + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?) RETURNING id",
            [*values, sid, utc_now(), current_actor()],
        ).fetchone()
        assert row is not None
        _search.index_practices(con, [int(row[0])])
        record(con, "practices.add", target=str(row[0]), detail={"title": values[0]})
    return get_practice(con, int(row[0]))


def update_practice(
    con: duckdb.DuckDBPyConnection, practice_id: int, entry: PracticeIn
) -> Practice:
    """Replace a live practice's fields (its source stays); return it."""
    get_practice(con, practice_id)
    values = _checked(con, entry)
    with transaction(con):
        con.execute(
            "UPDATE practice SET title = ?, level = ?, code = ?, themes = ?, description = ?, "
            "results = ?, contact = ?, address = ?, date = ?, reference = ?, "
            "updated_at = current_timestamp WHERE id = ?",
            [*values, practice_id],
        )
        _search.index_practices(con, [practice_id])
        record(con, "practices.update", target=str(practice_id))
    return get_practice(con, practice_id)


def delete_practice(con: duckdb.DuckDBPyConnection, practice_id: int) -> Practice:
    """Soft-delete a practice (kept, out of lists and searches); return what was deleted."""
    gone = get_practice(con, practice_id)
    with transaction(con):
        con.execute(
            "UPDATE practice SET deleted_at = current_timestamp, deleted_by = ? WHERE id = ?",
            [current_actor(), practice_id],
        )
        _search.unindex(con, [practice_id])
        record(con, "practices.delete", target=str(practice_id))
    return gone


def _snippet(text: str, stems: list[str]) -> str:
    if len(text) <= SNIPPET_CHARS:
        return text
    first = next((s for s, _, st in tokens(text) if st in set(stems)), 0)
    start = max(0, first - SNIPPET_CHARS // 3)
    cut = text[start : start + SNIPPET_CHARS]
    return ("…" if start else "") + cut + ("…" if start + SNIPPET_CHARS < len(text) else "")


def search_practices(
    con: duckdb.DuckDBPyConnection,
    query: str = "",
    *,
    theme: str | None = None,
    level: str | None = None,
    codes: list[str] | None = None,
    any_theme: list[str] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> PracticeSearch:
    """Search the live practices (every stem of ``query`` must occur; empty: all, latest
    first), filtered by theme (id or label), territory level and territory codes;
    ``any_theme`` (theme ids) keeps the practices with one of them at least.
    """
    key = theme_id(theme) if theme else None
    if theme and key is None:
        raise InvalidMarketingEntry(_theme_problem([theme]))
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidMarketingEntry(f"limit {limit} must be between 1 and {MAX_LIMIT}")
    stems = _search.query_stems(query)
    ranked, total = _search.ranked_ids(
        con,
        stems,
        themes=[key] if key else any_theme,
        level=level or None,
        codes=codes,
        limit=limit,
        offset=offset,
    )
    found = _practices(con, [i for i, _ in ranked])
    hits = [
        PracticeHit(
            practice=found[i],
            score=score,
            title_segments=_search.highlight(found[i].title, stems),
            snippet_segments=_search.highlight(_snippet(found[i].description, stems), stems),
        )
        for i, score in ranked
        if i in found
    ]
    return PracticeSearch(query=query, stems=stems, theme=key, level=level, total=total, hits=hits)
