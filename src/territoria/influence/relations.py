"""Import typed, dated, sourced relations between actors (``territoria relations import``).

The file is read strictly (an unterminated quote is refused with its line number), every row is
checked before anything is written, and the import replaces the previous import of the same
source in one transaction (see :mod:`territoria.sources._framework`) that also records the
audit row ``import.relations``. Actors the previous import created stay when the file still
uses them, or when logged actions reference them (the actions would otherwise point nowhere):
the report lists the latter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from territoria.errors import ValidationError
from territoria.kb.audit import record
from territoria.sources._csv import _dialect, _physical_lines, _read, check_file
from territoria.sources._framework import SourceRecord, Staging, record_source, utc_now

__all__ = ["RelationReport", "import_relations"]

REQUIRED = ("source_actor", "target_actor", "type", "strength")
OPTIONAL = ("date", "origin", "source_name", "source_kind", "target_name", "target_kind")
KNOWN_TYPES = (
    "member_of",
    "presides",
    "works_with",
    "supplies",
    "funds",
    "partner",
    "knows",
    "engaged",
    "other",
)
#: How many problems a validation error spells out (all are counted).
MAX_PROBLEMS = 20
DATASET = "relations"


@dataclass
class RelationReport:
    """What a relations import loaded, and which actors it kept for the actions log."""

    relations: int
    actors_created: int
    source_name: str
    source_id: int = 0
    replaced_relations: int = 0
    #: actors of the previous import that the file no longer defines, kept because logged
    #: actions reference them
    kept_actors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "relations": self.relations,
            "actors_created": self.actors_created,
            "source_name": self.source_name,
            "source_id": self.source_id,
            "replaced_relations": self.replaced_relations,
            "kept_actors": self.kept_actors,
        }


def import_relations(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    source_name: str,
    publisher: str = "user",
    licence: str = "private",
) -> RelationReport:
    """Import a CSV of relations: ``source_actor, target_actor, type, strength[, date, origin,
    source_name, source_kind, target_name, target_kind]``.

    Actors are person ids (``p-…``), council ids (``cm-35238``, ``cr-53`` …) or organisations
    of your own: an unknown id with a ``source_name``/``target_name`` (and optional kind:
    company, association, federation, university, research_centre, media) creates an actor.
    All rows are checked first (unknown actors, types, strengths outside [0, 1], bad dates,
    duplicates, quotes in ids); any problem rejects the whole file, and so does a file with no
    relation line or an unterminated quote. Re-importing the same ``source_name`` replaces its
    relations and actors, except the actors that logged actions reference: they are kept and
    listed in :attr:`RelationReport.kept_actors`.

    Raises
    ------
    SourceError
        The file is missing, a folder, empty or not a well-formed CSV file.
    ValidationError
        A column is missing, the file has no relation line, or rows are bad; nothing was
        imported. ``problems`` lists the first offending lines.
    """
    path = Path(path)
    record_ = SourceRecord(
        name=source_name,
        dataset=DATASET,
        publisher=publisher,
        licence=licence,
        retrieved_at=utc_now(),
        address=str(path),
    )
    check_file(path, "relations file")
    with Staging(con, "rel_") as staging:
        _stage(con, path)
        with staging.swap(names=[source_name], dataset=DATASET, tables=["relation"]) as swap:
            kept = _keep_referenced(con, swap.previous)
            if kept:
                note = (
                    f"kept {len(kept)} actor(s) referenced by logged actions and no longer in "
                    f"the file: {', '.join(kept)}"
                )
                record_ = dataclasses.replace(record_, note=note)
            sid = record_source(con, record_, imported_at=staging.now)
            report = RelationReport(0, 0, source_name, sid, swap.deleted["relation"], kept)
            _write(con, swap.previous, sid, report)
            record(
                con,
                "import.relations",
                target=source_name,
                detail={"file": path.name, **report.to_dict()},
            )
    return report


def _stage(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Read the file into ``rel_in`` (one row per relation, with its line) and check it."""
    dialect = _dialect(path, sep=None, encoding="utf-8")
    header = _read(con, path, dialect, table="rel_raw", what="a relations file", options=False)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        msg = (
            f"{str(path)!r} lacks the column(s) {missing!r}: the header must hold "
            f"{', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)})"
        )
        raise ValidationError(msg, [f"line 1 (header): missing column {c!r}" for c in missing])
    con.execute("CREATE OR REPLACE TEMP TABLE rel_in AS SELECT rowid + 2 AS line, * FROM rel_raw")
    records = con.execute("SELECT count(*) FROM rel_in").fetchone()
    n = int(records[0]) if records else 0
    if n == 0:
        msg = (
            f"{path.name!r} has a header but no relation line: nothing was imported; add one "
            "line per relation under the header"
        )
        raise ValidationError(msg, ["line 2: no relation"], 1)
    for opt in OPTIONAL:
        if opt not in header:
            con.execute(f"ALTER TABLE rel_in ADD COLUMN {opt} VARCHAR")
    for column in ("source_actor", "target_actor", "type", *OPTIONAL):
        # empty cells are missing values, surrounding spaces are typing accidents
        con.execute(f"UPDATE rel_in SET {column} = nullif(trim({column}), '')")
    problems = _problems(con)
    if problems:
        lines = _physical_lines(path, dialect, {line for line, _ in problems}, n)
        shown = [f"line {lines.get(line, line)}: {text}" for line, text in problems]
        msg = f"{len(shown)} problem(s) in {str(path)!r}: nothing was imported"
        raise ValidationError(msg, shown[:MAX_PROBLEMS], len(shown))


def _problems(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str]]:
    types = "', '".join(KNOWN_TYPES)
    listed = ", ".join(KNOWN_TYPES)
    con.execute(
        "CREATE OR REPLACE TEMP MACRO rel_q(s) AS chr(39) || coalesce(s, chr(32)) || chr(39)"
    )
    rows = con.execute(
        f"""
        WITH known AS (
            SELECT id FROM person UNION ALL SELECT id FROM organisation
            UNION ALL SELECT id FROM actor
        )
        SELECT line, msg FROM (
            SELECT line, 'empty source_actor' AS msg FROM rel_in WHERE source_actor IS NULL
            UNION ALL
            SELECT line, 'empty target_actor' FROM rel_in WHERE target_actor IS NULL
            UNION ALL
            SELECT line, 'actor id ' || rel_q(a) || ' holds a quote (")'
                   || ': check the quoting of the line' FROM (
                SELECT line, source_actor AS a FROM rel_in
                UNION ALL SELECT line, target_actor FROM rel_in
            ) WHERE contains(a, '"')
            UNION ALL
            SELECT line, 'unknown source actor ' || rel_q(source_actor)
                   || ' (give source_name to create it)' FROM rel_in
            WHERE source_actor NOT IN (SELECT id FROM known) AND source_name IS NULL
            UNION ALL
            SELECT line, 'unknown target actor ' || rel_q(target_actor)
                   || ' (give target_name to create it)' FROM rel_in
            WHERE target_actor NOT IN (SELECT id FROM known) AND target_name IS NULL
            UNION ALL
            SELECT line, CASE WHEN type IS NULL THEN 'empty relation type'
                   ELSE 'unknown relation type ' || rel_q(type) END || ': use one of {listed}'
            FROM rel_in WHERE type IS NULL OR type NOT IN ('{types}')
            UNION ALL
            SELECT line, 'strength ' || rel_q(strength) || ' is not a number in [0, 1]'
            FROM rel_in WHERE TRY_CAST(strength AS DOUBLE) IS NULL
               OR TRY_CAST(strength AS DOUBLE) NOT BETWEEN 0 AND 1
            UNION ALL
            SELECT line, 'date ' || rel_q(date) || ' is not YYYY-MM-DD' FROM rel_in
            WHERE date IS NOT NULL AND TRY_CAST(date AS DATE) IS NULL
            UNION ALL
            SELECT line, 'duplicate relation (same source, target, type)' FROM (
                SELECT line, count(*) OVER (PARTITION BY source_actor, target_actor, type) AS n
                FROM rel_in) WHERE n > 1
            UNION ALL
            SELECT line, 'a relation from an actor to itself' FROM rel_in
            WHERE source_actor = target_actor
        ) ORDER BY line, msg
        """
    ).fetchall()
    return [(int(line), str(msg)) for line, msg in rows]


def _keep_referenced(con: duckdb.DuckDBPyConnection, previous: list[int]) -> list[str]:
    """Inside the swap: drop the previous import's actors, except those the file still uses
    without defining them and those logged actions reference; return the ids of the latter
    (kept only for the actions)."""
    if not previous:
        return []
    marks = ", ".join(str(int(i)) for i in previous)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE rel_used AS
        SELECT source_actor AS id, source_name IS NOT NULL AS defined FROM rel_in
        UNION ALL SELECT target_actor, target_name IS NOT NULL FROM rel_in
        """
    )
    # defined again by the file: deleted here, inserted anew with the file's name and kind
    con.execute(
        f"""
        DELETE FROM actor WHERE source_id IN ({marks}) AND (
            id IN (SELECT id FROM rel_used WHERE defined)
            OR (id NOT IN (SELECT id FROM rel_used)
                AND id NOT IN (SELECT actor_id FROM action_actor)))
        """
    )
    rows = con.execute(
        f"SELECT id FROM actor WHERE source_id IN ({marks}) "
        "AND id NOT IN (SELECT id FROM rel_used) ORDER BY id"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _write(
    con: duckdb.DuckDBPyConnection, previous: list[int], sid: int, report: RelationReport
) -> None:
    """Inside the swap: point the remaining actors to the new source, insert the file's rows."""
    if previous:
        marks = ", ".join(str(int(i)) for i in previous)
        con.execute(f"UPDATE actor SET source_id = ? WHERE source_id IN ({marks})", [sid])
    created = con.execute(
        """
        INSERT INTO actor (id, kind, name, source_id)
        SELECT id, any_value(kind), any_value(name), ? FROM (
            SELECT source_actor AS id, coalesce(source_kind, 'other') AS kind,
                   source_name AS name FROM rel_in WHERE source_name IS NOT NULL
            UNION ALL
            SELECT target_actor, coalesce(target_kind, 'other'), target_name FROM rel_in
            WHERE target_name IS NOT NULL
        ) WHERE id NOT IN (SELECT id FROM person UNION ALL SELECT id FROM organisation
                           UNION ALL SELECT id FROM actor)
        GROUP BY id
        RETURNING id
        """,
        [sid],
    ).fetchall()
    inserted = con.execute(
        "INSERT INTO relation (source_actor, target_actor, type, strength, date, origin, "
        "source_id) SELECT source_actor, target_actor, type, strength::DOUBLE, "
        "TRY_CAST(date AS DATE), origin, ? FROM rel_in ORDER BY line RETURNING id",
        [sid],
    ).fetchall()
    report.relations, report.actors_created = len(inserted), len(created)
