"""Import typed, dated, sourced relations between actors (``territoria relations import``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from territoria.errors import SourceError, ValidationError
from territoria.kb._transaction import transaction

__all__ = ["RelationReport", "import_relations"]

REQUIRED = ("source_actor", "target_actor", "type", "strength")
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


@dataclass
class RelationReport:
    """What a relations import loaded."""

    relations: int
    actors_created: int
    source_name: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "relations": self.relations,
            "actors_created": self.actors_created,
            "source_name": self.source_name,
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
    duplicates); any problem rejects the whole file. Re-importing the same ``source_name``
    replaces its relations.
    """
    if not path.is_file():
        msg = f"relations file {str(path)!r} does not exist"
        raise SourceError(msg)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE rel_in AS SELECT row_number() OVER () + 1 AS line, * "
            "FROM read_csv(?, header = true, all_varchar = true)",
            [str(path)],
        )
    except duckdb.Error as exc:
        msg = f"cannot read {str(path)!r} as CSV: {str(exc).splitlines()[0]}"
        raise SourceError(msg) from exc
    columns = {r[0] for r in con.execute("DESCRIBE rel_in").fetchall()}
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        msg = (
            f"{str(path)!r} lacks the column(s) {missing!r}: the header must hold "
            f"{', '.join(REQUIRED)} (optional: date, origin, source_name, source_kind, "
            "target_name, target_kind)"
        )
        raise ValidationError(msg, [f"missing column {c!r}" for c in missing])
    for opt in ("date", "origin", "source_name", "source_kind", "target_name", "target_kind"):
        if opt not in columns:
            con.execute(f"ALTER TABLE rel_in ADD COLUMN {opt} VARCHAR")
    types = "', '".join(KNOWN_TYPES)
    listed = ", ".join(KNOWN_TYPES)
    con.execute("CREATE OR REPLACE TEMP MACRO q(s) AS chr(39) || coalesce(s, chr(32)) || chr(39)")
    problems = con.execute(
        f"""
        WITH known AS (
            SELECT id FROM person UNION ALL SELECT id FROM organisation
            UNION ALL SELECT id FROM actor
        )
        SELECT line, msg FROM (
            SELECT line, 'unknown source actor ' || q(source_actor)
                   || ' (give source_name to create it)' AS msg FROM rel_in
            WHERE source_actor NOT IN (SELECT id FROM known) AND source_name IS NULL
            UNION ALL
            SELECT line, 'unknown target actor ' || q(target_actor)
                   || ' (give target_name to create it)' FROM rel_in
            WHERE target_actor NOT IN (SELECT id FROM known) AND target_name IS NULL
            UNION ALL
            SELECT line, 'unknown relation type ' || q(type) || ': use one of {listed}'
            FROM rel_in WHERE type NOT IN ('{types}')
            UNION ALL
            SELECT line, 'strength ' || q(strength) || ' is not a number in [0, 1]'
            FROM rel_in WHERE TRY_CAST(strength AS DOUBLE) IS NULL
               OR TRY_CAST(strength AS DOUBLE) NOT BETWEEN 0 AND 1
            UNION ALL
            SELECT line, 'date ' || q(date) || ' is not YYYY-MM-DD' FROM rel_in
            WHERE date IS NOT NULL AND TRY_CAST(date AS DATE) IS NULL
            UNION ALL
            SELECT line, 'duplicate relation (same source, target, type)' FROM (
                SELECT line, count(*) OVER (PARTITION BY source_actor, target_actor, type) AS n
                FROM rel_in) WHERE n > 1
            UNION ALL
            SELECT line, 'a relation from an actor to itself' FROM rel_in
            WHERE source_actor = target_actor
        ) ORDER BY line
        """
    ).fetchall()
    if problems:
        lines = [f"line {line}: {msg}" for line, msg in problems]
        msg = f"{len(lines)} problem(s) in {str(path)!r}: nothing was imported"
        raise ValidationError(msg, lines[:20], len(lines))
    now = datetime.now(tz=UTC).replace(tzinfo=None)
    try:
        with transaction(con):
            old = "SELECT id FROM source WHERE name = ? AND dataset = 'relations'"
            con.execute(f"DELETE FROM relation WHERE source_id IN ({old})", [source_name])
            con.execute(f"DELETE FROM actor WHERE source_id IN ({old})", [source_name])
            con.execute(
                "DELETE FROM source WHERE name = ? AND dataset = 'relations'", [source_name]
            )
            row = con.execute(
                "INSERT INTO source (name, dataset, publisher, licence, retrieved_at, address, "
                "synthetic) VALUES (?, 'relations', ?, ?, ?, ?, false) RETURNING id",
                [source_name, publisher, licence, now, str(path)],
            ).fetchone()
            assert row is not None
            sid = int(row[0])
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
            n = con.execute(
                "INSERT INTO relation (source_actor, target_actor, type, strength, date, origin, "
                "source_id) SELECT source_actor, target_actor, type, strength::DOUBLE, "
                "TRY_CAST(date AS DATE), origin, ? FROM rel_in RETURNING id",
                [sid],
            ).fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS rel_in")
    return RelationReport(relations=len(n), actors_created=len(created), source_name=source_name)
