"""What a territory profile reads: targeted queries, or the same rows preloaded in memory.

:class:`Queries` answers each read with one query filtering on a code or an organisation id.
Without secondary indexes, DuckDB still scans a whole row group (122,880 rows) for each, so a
profile costs some 20 ms, most of it in the mandates and the person names joined to them:
right for the command line, which profiles one territory.

:class:`ProfileLookups` holds the same rows in memory, keyed by territory and organisation
(for all of France: about 210 MB of Python objects, loaded in 4 to 6 seconds, half of it
polygon intersections computed by DuckDB), so that a server answering many profiles reads
them in microseconds. The cantons and circonscriptions of split communes (polygon
intersections, some 5 ms each) are computed once for all at loading; indicators are still
queried, as they may be numerous.

Both implement the same reads with the same semantics; tests compare their profiles.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

import duckdb

from territoria.kb.bodies import SPECIFICITY, bodies_for, most_specific

__all__ = ["ProfileLookups", "Queries", "fingerprint", "reads_for"]

K = TypeVar("K")
V = TypeVar("V")

#: Functions shown for the executive of each kind of body.
MAYOR_FUNCTIONS: Final = ("MAI", "ADJ")
PRESIDENT_FUNCTIONS: Final = ("PRE",)
EXECUTIVE_FUNCTIONS: Final = ("PRE", "VPE")
_SHOWN_FUNCTIONS: Final = sorted({*MAYOR_FUNCTIONS, *PRESIDENT_FUNCTIONS, *EXECUTIVE_FUNCTIONS})

#: Columns of a territory row, as :func:`territoria.analysis.profile.resolve_territory` returns.
TERRITORY_COLUMNS: Final = (
    "level", "level_label", "code", "name", "kind", "population", "population_year",
    "area_km2", "density", "lon", "lat", "xmin", "ymin", "xmax", "ymax", "source_id",
    "geom_source",
)  # fmt: skip
_TERRITORY_SELECT: Final = """
SELECT t.level, l.label_fr AS level_label, t.code, t.name, t.kind, t.population,
       t.population_year, t.area_km2, t.density, ST_X(t.point) AS lon, ST_Y(t.point) AS lat,
       t.xmin, t.ymin, t.xmax, t.ymax, t.source_id, t.geom_source
"""
_TERRITORY_SQL: Final = (
    _TERRITORY_SELECT
    + "FROM territory t JOIN level l ON l.level = t.level WHERE t.code = ? {level} ORDER BY l.rank"
)

#: Columns of a mandate row shown among the officials (``body``: the organisation's name).
OFFICIAL_COLUMNS: Final = (
    "id", "person_id", "first_name", "last_name", "role", "organisation_id", "body",
    "function_code", "function", "function_rank", "since", "end_date", "level", "code",
    "group_name", "party", "source_id", "date_flag", "since_source",
)  # fmt: skip
_ORG, _FUNCTION, _LEVEL, _CODE = (
    OFFICIAL_COLUMNS.index(c) for c in ("organisation_id", "function_code", "level", "code")
)
# The mandates a profile shows, from one filter per organisation (``Officials.query``) so that
# DuckDB's zone maps skip the row groups of other organisations; person names joined once, and
# the names of the few bodies from a filtered organisation table (a join with all 36,000 would
# cost more than the mandates).
_OFFICIALS_SQL: Final = """
WITH picked AS ({filters}),
bodies AS (SELECT id, name FROM organisation WHERE list_contains(?, id))
SELECT DISTINCT ON (m.id)  -- a canton's councillor may also be its council's president
       m.id, m.person_id, p.first_name, p.last_name, coalesce(m.role_label, m.role) AS role,
       m.organisation_id, coalesce(b.name, m.organisation_id) AS body, m.function_code,
       coalesce(m.function_label, m.function) AS function, m.function_rank,
       coalesce(m.function_start_date, m.start_date) AS since, m.end_date,
       m.level, m.code, m.group_name, m.party, m.source_id, m.date_flag,
       CASE WHEN m.function_start_date IS NOT NULL THEN m.function_start_date_source
            ELSE m.start_date_source END AS since_source
FROM picked m
JOIN person p ON p.id = m.person_id
LEFT JOIN bodies b ON b.id = m.organisation_id
"""

#: Columns of a town hall's contact row.
CONTACT_COLUMNS: Final = (
    "address", "email", "phone", "website", "opening_hours", "source_id",
)  # fmt: skip
_CONTACT_SQL: Final = """
SELECT address, email, phone, website, opening_hours, source_id
FROM contact WHERE level = ? AND code = ? AND kind = 'mairie'
"""

SOURCE_COLUMNS: Final = (
    "id", "name", "dataset", "publisher", "licence", "version", "retrieved_at",
    "reference_date", "address", "synthetic",
)  # fmt: skip
_SOURCE_SELECT: Final = f"SELECT {', '.join(SOURCE_COLUMNS)} FROM source"

#: Levels inside a commune: their officials and parents are the commune's.
SUB_COMMUNAL: Final = (
    "arrondissement_municipal",
    "commune_deleguee",
    "commune_associee",
    "secteur_municipal",
)
#: A commune whose largest canton or circonscription holds less than this share of its area is
#: split: its other cantons or circonscriptions are found by intersecting the polygons.
SPLIT_SHARE: Final = 0.99
OVERLAY_LEVELS: Final = ("canton", "circonscription")
# Cantons and circonscriptions meeting a territory's polygon, with the share of its area they
# cover; a pseudo-canton ("V": a city's cantons grouped) has no polygon of its own.
_OVERLAYS_SQL: Final = """
SELECT c.level, c.code, c.name,
       ST_Area(ST_Intersection(c.geom, t.geom)) / nullif(ST_Area(t.geom), 0) AS share,
       c.source_id
FROM territory t
JOIN territory c ON list_contains($levels, c.level) AND coalesce(c.kind, '') <> 'V'
     AND c.xmin <= t.xmax AND c.xmax >= t.xmin AND c.ymin <= t.ymax AND c.ymax >= t.ymin
     AND ST_Intersects(c.geom, t.geom)
WHERE t.level = $level AND t.code = $code
"""
# The territories whose profile intersects polygons: split communes and sub-communal units.
_SPLIT_SQL: Final = """
SELECT DISTINCT m.level, m.code FROM membership m
LEFT JOIN territory p ON p.level = m.parent_level AND p.code = m.parent_code
WHERE m.level = 'commune' AND list_contains($levels, m.parent_level)
  AND coalesce(m.share, 0) < $split AND coalesce(p.kind, '') <> 'V'
UNION
SELECT level, code FROM territory WHERE list_contains($sub_communal, level)
"""
_ALL_OVERLAYS_SQL: Final = f"""
WITH wanted AS ({_SPLIT_SQL})
SELECT t.level, t.code, c.level, c.code, c.name,
       ST_Area(ST_Intersection(c.geom, t.geom)) / nullif(ST_Area(t.geom), 0) AS share,
       c.source_id
FROM territory t
SEMI JOIN wanted w ON w.level = t.level AND w.code = t.code
JOIN territory c ON list_contains($levels, c.level) AND coalesce(c.kind, '') <> 'V'
     AND c.xmin <= t.xmax AND c.xmax >= t.xmin AND c.ymin <= t.ymax AND c.ymax >= t.ymin
     AND ST_Intersects(c.geom, t.geom)
"""

_FINGERPRINT_SQL: Final = """
SELECT (SELECT count(*) FROM territory), (SELECT count(*) FROM membership),
       (SELECT count(*) FROM adjacency), (SELECT count(*) FROM mandate),
       (SELECT count(*) FROM person), (SELECT count(*) FROM organisation),
       (SELECT count(*) FROM contact), (SELECT count(*) FROM level),
       (SELECT count(*) FROM source), (SELECT max(id) FROM source),
       (SELECT max(imported_at) FROM source)
"""

Membership = tuple[str, str, float | None, int]  # parent level, parent code, share, source id
Neighbour = tuple[str, int]  # code, source id
Overlay = tuple[str, str, str, float | None, int]  # level, code, name, share, source id


def fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """What an import or an edit of the tables a profile reads changes (counts, sources)."""
    row = con.execute(_FINGERPRINT_SQL).fetchone()
    return tuple(row) if row else ()


@dataclass
class Officials:
    """The mandates a profile shows: executives of bodies, councillors, parliamentarians.

    ``part`` orders them on the page: the canton's councillors, then the executives in the
    order they were added, then deputies, then senators.
    """

    executives: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    canton_body: str | None = None
    canton: str | None = None
    circonscriptions: list[str] = field(default_factory=list)
    deputy_departements: list[str] = field(default_factory=list)
    senator_departements: list[str] = field(default_factory=list)

    def executive(self, organisation: str, functions: tuple[str, ...]) -> None:
        self.executives.setdefault(organisation, (len(self.executives) + 1, functions))

    def empty(self) -> bool:
        return not (
            self.executives
            or self.canton
            or self.circonscriptions
            or self.deputy_departements
            or self.senator_departements
        )

    def query(self) -> tuple[str, list[Any]]:
        """SQL and parameters selecting the candidate mandates."""
        filters: list[tuple[str, list[Any]]] = [
            ("organisation_id = ? AND list_contains(?, function_code)", [org, list(functions)])
            for org, (_, functions) in self.executives.items()
        ]
        if self.canton_body:
            filters.append(
                (
                    "organisation_id = ? AND level = 'canton' AND code = ?",
                    [self.canton_body, self.canton],
                )
            )
        if self.circonscriptions or self.deputy_departements:
            # Circonscription codes start with their département's: "35-08".
            filters.append(
                (
                    "organisation_id = 'an' AND (list_contains(?, code) "
                    "OR list_contains(?, split_part(code, '-', 1)))",
                    [self.circonscriptions, self.deputy_departements],
                )
            )
        if self.senator_departements:
            filters.append(
                (
                    "organisation_id = 'senat' AND level = 'departement' "
                    "AND list_contains(?, code)",
                    [self.senator_departements],
                )
            )
        union = " UNION ALL ".join(f"SELECT * FROM mandate WHERE {where}" for where, _ in filters)
        params = [v for _, values in filters for v in values]
        return _OFFICIALS_SQL.format(filters=union), [*params, self.bodies()]

    def bodies(self) -> list[str]:
        """Organisations whose mandates may be shown."""
        return [*self.executives, "an", "senat"] + ([self.canton_body] if self.canton_body else [])

    def pick(self, mandates: _Mandates) -> list[tuple[Any, ...]]:
        """The rows :meth:`query` selects, from mandate rows held in memory."""
        picked: dict[Any, tuple[Any, ...]] = {}
        for org, (_, functions) in self.executives.items():
            for row in mandates.by_organisation.get(org, ()):
                if row[_FUNCTION] in functions:
                    picked.setdefault(row[0], row)
        if self.canton_body and self.canton is not None:
            for row in mandates.by_code.get((self.canton_body, self.canton), ()):
                if row[_LEVEL] == "canton":
                    picked.setdefault(row[0], row)
        for code in self.circonscriptions:
            for row in mandates.by_code.get(("an", code), ()):
                picked.setdefault(row[0], row)
        for departement in self.deputy_departements:
            # Circonscription codes start with their département's: "35-08".
            for row in mandates.deputies_by_departement.get(departement, ()):
                picked.setdefault(row[0], row)
        for departement in self.senator_departements:
            for row in mandates.by_code.get(("senat", departement), ()):
                if row[_LEVEL] == "departement":
                    picked.setdefault(row[0], row)
        return list(picked.values())

    def part(self, row: dict[str, Any]) -> int | None:
        """Rank of the group a mandate belongs to, or ``None`` when not shown."""
        organisation = row["organisation_id"]
        if organisation == "an":
            return len(self.executives) + 1
        if organisation == "senat":
            return len(self.executives) + 2
        if (
            organisation == self.canton_body
            and row["level"] == "canton"
            and row["code"] == self.canton
        ):
            return 0
        found = self.executives.get(organisation)
        if found is None or row["function_code"] not in found[1]:
            return None
        return found[0]


@dataclass
class _Mandates:
    """Mandate rows (``OFFICIAL_COLUMNS``) by organisation, and by organisation and code."""

    by_organisation: dict[str, Sequence[tuple[Any, ...]]] = field(default_factory=dict)
    by_code: dict[tuple[str, str], Sequence[tuple[Any, ...]]] = field(default_factory=dict)
    deputies_by_departement: dict[str, Sequence[tuple[Any, ...]]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: list[tuple[Any, ...]]) -> _Mandates:
        by_organisation: dict[str, list[tuple[Any, ...]]] = {}
        by_code: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        deputies: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            org, code = row[_ORG], row[_CODE]
            by_organisation.setdefault(org, []).append(row)
            if code is not None:
                by_code.setdefault((org, code), []).append(row)
                if org == "an":
                    deputies.setdefault(code.split("-", 1)[0], []).append(row)
        return cls(_frozen(by_organisation), _frozen(by_code), _frozen(deputies))


def _frozen(groups: dict[K, list[V]]) -> dict[K, Sequence[V]]:
    """Lists as tuples: smaller, and tuples of plain values leave the garbage collector's
    scans (a full collection over millions of lists would pause the server)."""
    return {key: tuple(values) for key, values in groups.items()}


class Reads(Protocol):
    """The reads of a profile, besides indicators and spatial overlays."""

    def territories(self, code: str, level: str | None) -> list[dict[str, Any]]:
        """Rows of the territories with this exact code (at this level), by level rank."""
        ...

    def has_territories(self) -> bool:
        """Whether the knowledge base holds any territory."""
        ...

    def memberships(self, level: str, code: str) -> list[Membership]:
        """Parents of a territory."""
        ...

    def neighbours(self, level: str, code: str) -> list[Neighbour]:
        """Neighbours of a territory, by code."""
        ...

    def names(self, codes: Sequence[str]) -> dict[tuple[str, str], tuple[Any, ...]]:
        """``(level, code) -> (name, kind, population)`` of every territory with these codes."""
        ...

    def children(self, parent_level: str, parent_code: str, level: str) -> list[str]:
        """Codes of the territories of ``level`` inside a territory."""
        ...

    def circonscriptions_of_communes(self, parent_level: str, parent_code: str) -> list[str]:
        """Circonscriptions of the communes inside a territory."""
        ...

    def child_counts(self, parent_level: str, parent_code: str) -> dict[str, int]:
        """Number of territories of each level inside a territory."""
        ...

    def officials(self, wanted: Officials) -> list[dict[str, Any]]:
        """Candidate mandates (``OFFICIAL_COLUMNS``), before :meth:`Officials.part`."""
        ...

    def bodies(self, competence: str, level: str, code: str) -> list[str]:
        """Bodies holding ``competence``'s competences there (see :mod:`territoria.kb.bodies`)."""
        ...

    def body_notes(self, bodies: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """``body -> (name, why it has no official)`` of these bodies."""
        ...

    def contact(self, level: str, code: str) -> dict[str, Any] | None:
        """The town hall's contact (``CONTACT_COLUMNS``)."""
        ...

    def sources(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Source rows (``SOURCE_COLUMNS``), by id."""
        ...

    def overlays(self, level: str, code: str, levels: Sequence[str]) -> list[Overlay]:
        """Territories of ``levels`` meeting this one's polygon, with the share they cover."""
        ...


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    """Rows of a query as dictionaries keyed by column name."""
    cursor = con.execute(sql, [] if params is None else params)
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class Queries:
    """Each read as one targeted query on the knowledge base."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def territories(self, code: str, level: str | None) -> list[dict[str, Any]]:
        sql = _TERRITORY_SQL.format(level="AND t.level = ?" if level else "")
        return _records(self.con, sql, [code, level] if level else [code])

    def has_territories(self) -> bool:
        row = self.con.execute("SELECT count(*) FROM territory").fetchone()
        return bool(row and row[0])

    def memberships(self, level: str, code: str) -> list[Membership]:
        return self.con.execute(
            "SELECT parent_level, parent_code, share, source_id FROM membership "
            "WHERE level = ? AND code = ?",
            [level, code],
        ).fetchall()

    def neighbours(self, level: str, code: str) -> list[Neighbour]:
        return self.con.execute(
            "SELECT neighbour, source_id FROM adjacency WHERE level = ? AND code = ? "
            "ORDER BY neighbour",
            [level, code],
        ).fetchall()

    def names(self, codes: Sequence[str]) -> dict[tuple[str, str], tuple[Any, ...]]:
        rows = self.con.execute(
            "SELECT level, code, name, kind, population FROM territory "
            "WHERE list_contains(?, code)",
            [list(codes)],
        ).fetchall()
        return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}

    def children(self, parent_level: str, parent_code: str, level: str) -> list[str]:
        rows = self.con.execute(
            "SELECT code FROM membership WHERE parent_level = ? AND parent_code = ? AND level = ?",
            [parent_level, parent_code, level],
        ).fetchall()
        return [r[0] for r in rows]

    def circonscriptions_of_communes(self, parent_level: str, parent_code: str) -> list[str]:
        rows = self.con.execute(
            "SELECT DISTINCT c.parent_code FROM membership c "
            "SEMI JOIN (SELECT code FROM membership WHERE level = 'commune' "
            "AND parent_level = ? AND parent_code = ?) e ON e.code = c.code "
            "WHERE c.level = 'commune' AND c.parent_level = 'circonscription'",
            [parent_level, parent_code],
        ).fetchall()
        return [r[0] for r in rows]

    def child_counts(self, parent_level: str, parent_code: str) -> dict[str, int]:
        rows = self.con.execute(
            "SELECT level, count(*) FROM membership WHERE parent_level = ? AND parent_code = ? "
            "GROUP BY level",
            [parent_level, parent_code],
        ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def officials(self, wanted: Officials) -> list[dict[str, Any]]:
        return _records(self.con, *wanted.query())

    def bodies(self, competence: str, level: str, code: str) -> list[str]:
        return bodies_for(self.con, competence, level, code)

    def body_notes(self, bodies: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        rows = self.con.execute(
            "SELECT id, name, officials_note FROM organisation WHERE list_contains(?, id)",
            [list(bodies)],
        ).fetchall()
        return {str(r[0]): (str(r[1]), r[2]) for r in rows}

    def contact(self, level: str, code: str) -> dict[str, Any] | None:
        row = self.con.execute(_CONTACT_SQL, [level, code]).fetchone()
        return None if row is None else dict(zip(CONTACT_COLUMNS, row, strict=True))

    def sources(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        return _records(
            self.con, f"{_SOURCE_SELECT} WHERE list_contains(?, id) ORDER BY id", [list(ids)]
        )

    def overlays(self, level: str, code: str, levels: Sequence[str]) -> list[Overlay]:
        return self.con.execute(
            _OVERLAYS_SQL, {"levels": list(levels), "level": level, "code": code}
        ).fetchall()


class ProfileLookups:
    """The rows profiles read, held in memory: for a server answering many profiles.

    Load them once with :meth:`load` (4 to 6 seconds and about 210 MB of Python objects for
    all of France), then :meth:`attach` them to each connection that computes profiles. They
    are a snapshot: after writing to the knowledge base, compare :attr:`fingerprint` with
    :func:`fingerprint` and load them again when it moved (the fingerprint counts rows and
    sources: an import or added and removed rows move it, an in-place ``UPDATE`` does not).
    """

    def __init__(self) -> None:
        self.fingerprint: tuple[Any, ...] = ()
        self.territories: dict[str, Sequence[tuple[Any, ...]]] = {}
        self.names: dict[str, Sequence[tuple[str, tuple[Any, ...]]]] = {}
        self.memberships: dict[tuple[str, str], Sequence[Membership]] = {}
        self.children: dict[tuple[str, str, str], Sequence[str]] = {}
        self.child_counts: dict[tuple[str, str], dict[str, int]] = {}
        self.neighbours: dict[tuple[str, str], Sequence[Neighbour]] = {}
        self.mandates = _Mandates()
        self.contacts: dict[tuple[str, str], tuple[Any, ...]] = {}
        self.sources: dict[int, tuple[Any, ...]] = {}
        self.overlays: dict[tuple[str, str], Sequence[Overlay]] = {}
        self.body_territory: dict[tuple[str, str], Sequence[tuple[str, str]]] = {}
        self.body_notes: dict[str, tuple[str, str | None]] = {}

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> ProfileLookups:
        """Read every row a profile may need; consistent when run inside one transaction."""
        self = cls()
        self.fingerprint = fingerprint(con)
        known: dict[Any, Any] = {}

        def shared(value: Any) -> Any:
            """One object for equal codes, names and dates (they repeat a lot)."""
            return known.setdefault(value, value)

        territories: dict[str, list[tuple[Any, ...]]] = {}
        names: dict[str, list[tuple[str, tuple[Any, ...]]]] = {}
        for row in con.execute(
            _TERRITORY_SELECT + ", l.level IS NOT NULL FROM territory t "
            "LEFT JOIN level l ON l.level = t.level ORDER BY t.code, l.rank"
        ).fetchall():
            level, code = shared(row[0]), shared(row[2])
            names.setdefault(code, []).append((level, (row[3], row[4], row[5])))
            if row[-1]:  # a level of the level table, as the profile's inner join
                territories.setdefault(code, []).append((level, *row[1:-1]))
        self.territories, self.names = _frozen(territories), _frozen(names)

        memberships: dict[tuple[str, str], list[Membership]] = {}
        children: dict[tuple[str, str, str], list[str]] = {}
        for level, code, parent_level, parent_code, share, source_id in con.execute(
            "SELECT level, code, parent_level, parent_code, share, source_id FROM membership"
        ).fetchall():
            level, code, parent_level, parent_code = map(
                shared, (level, code, parent_level, parent_code)
            )
            memberships.setdefault((level, code), []).append(
                (parent_level, parent_code, share, source_id)
            )
            children.setdefault((parent_level, parent_code, level), []).append(code)
        self.memberships, self.children = _frozen(memberships), _frozen(children)
        for (parent_level, parent_code, level), codes in self.children.items():
            self.child_counts.setdefault((parent_level, parent_code), {})[level] = len(codes)

        neighbours: dict[tuple[str, str], list[Neighbour]] = {}
        for level, code, neighbour, source_id in con.execute(
            "SELECT level, code, neighbour, source_id FROM adjacency "
            "ORDER BY level, code, neighbour"
        ).fetchall():
            neighbours.setdefault((shared(level), shared(code)), []).append(
                (shared(neighbour), source_id)
            )
        self.neighbours = _frozen(neighbours)

        body = OFFICIAL_COLUMNS.index("body")
        self.mandates = _Mandates.of(
            [
                tuple(
                    shared(v) if i not in (0, 1, body) and isinstance(v, str | dt.date) else v
                    for i, v in enumerate(row)
                )
                for row in con.execute(
                    "SELECT m.id, m.person_id, p.first_name, p.last_name, "
                    "coalesce(m.role_label, m.role), m.organisation_id, "
                    "coalesce(o.name, m.organisation_id), m.function_code, "
                    "coalesce(m.function_label, m.function), m.function_rank, "
                    "coalesce(m.function_start_date, m.start_date), m.end_date, m.level, "
                    "m.code, m.group_name, m.party, m.source_id, m.date_flag, "
                    "CASE WHEN m.function_start_date IS NOT NULL "
                    "THEN m.function_start_date_source ELSE m.start_date_source END "
                    "FROM mandate m JOIN person p ON p.id = m.person_id "
                    "LEFT JOIN organisation o ON o.id = m.organisation_id "
                    "WHERE list_contains(?, m.function_code) "
                    "OR m.organisation_id IN ('an', 'senat') OR m.level = 'canton' "
                    "ORDER BY m.id",
                    [_SHOWN_FUNCTIONS],
                ).fetchall()
            ]
        )
        for level, code, *contact in con.execute(
            "SELECT level, code, address, email, phone, website, opening_hours, source_id "
            "FROM contact WHERE kind = 'mairie'"
        ).fetchall():
            self.contacts.setdefault((shared(level), shared(code)), tuple(contact))
        for row in con.execute(_SOURCE_SELECT).fetchall():
            self.sources[int(row[0])] = tuple(row)
        body_territory: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for level, code, competence, body in con.execute(
            "SELECT level, code, competence, organisation_id FROM body_territory"
        ).fetchall():
            body_territory.setdefault((shared(level), shared(code)), []).append(
                (shared(competence), shared(body))
            )
        self.body_territory = _frozen(body_territory)
        self.body_notes = {
            str(r[0]): (str(r[1]), r[2])
            for r in con.execute(
                "SELECT id, name, officials_note FROM organisation "
                "WHERE officials_note IS NOT NULL OR status = 'statut_particulier'"
            ).fetchall()
        }

        # Polygon intersections, the costliest read, for every territory that may need them.
        split = {
            "levels": list(OVERLAY_LEVELS),
            "split": SPLIT_SHARE,
            "sub_communal": list(SUB_COMMUNAL),
        }
        overlays: dict[tuple[str, str], list[Overlay]] = {
            (shared(level), shared(code)): []
            for level, code in con.execute(_SPLIT_SQL, split).fetchall()
        }
        for level, code, *overlay in con.execute(_ALL_OVERLAYS_SQL, split).fetchall():
            row = tuple(shared(v) if isinstance(v, str) else v for v in overlay)
            overlays[(level, code)].append(row)  # type: ignore[arg-type]
        self.overlays = _frozen(overlays)
        return self

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Compute the profiles asked on ``con`` from these lookups (until ``con`` is gone)."""
        with _ATTACHED_LOCK:
            _ATTACHED[con] = self


class _LookupReads:
    """The reads of a profile from :class:`ProfileLookups`; queries for what they lack."""

    def __init__(self, lookups: ProfileLookups, con: duckdb.DuckDBPyConnection) -> None:
        self.lookups, self.con = lookups, con

    def territories(self, code: str, level: str | None) -> list[dict[str, Any]]:
        return [
            dict(zip(TERRITORY_COLUMNS, row, strict=True))
            for row in self.lookups.territories.get(code, ())
            if level is None or row[0] == level
        ]

    def has_territories(self) -> bool:
        return bool(self.lookups.names)

    def memberships(self, level: str, code: str) -> list[Membership]:
        return list(self.lookups.memberships.get((level, code), ()))

    def neighbours(self, level: str, code: str) -> list[Neighbour]:
        return list(self.lookups.neighbours.get((level, code), ()))

    def names(self, codes: Sequence[str]) -> dict[tuple[str, str], tuple[Any, ...]]:
        names = self.lookups.names
        return {(level, code): info for code in codes for level, info in names.get(code, ())}

    def children(self, parent_level: str, parent_code: str, level: str) -> list[str]:
        return list(self.lookups.children.get((parent_level, parent_code, level), ()))

    def circonscriptions_of_communes(self, parent_level: str, parent_code: str) -> list[str]:
        memberships = self.lookups.memberships
        found = {
            parent
            for commune in self.lookups.children.get((parent_level, parent_code, "commune"), ())
            for level, parent, _, _ in memberships.get(("commune", commune), ())
            if level == "circonscription"
        }
        return sorted(found)

    def child_counts(self, parent_level: str, parent_code: str) -> dict[str, int]:
        return dict(self.lookups.child_counts.get((parent_level, parent_code), {}))

    def officials(self, wanted: Officials) -> list[dict[str, Any]]:
        return [
            dict(zip(OFFICIAL_COLUMNS, row, strict=True))
            for row in wanted.pick(self.lookups.mandates)
        ]

    def bodies(self, competence: str, level: str, code: str) -> list[str]:
        places = [(level, code)] + [
            (parent_level, parent_code)
            for parent_level, parent_code, _, _ in self.lookups.memberships.get((level, code), ())
            if parent_level in SPECIFICITY
        ]
        rows = self.lookups.body_territory
        return most_specific(
            (place[0], body)
            for place in places
            for kind, body in rows.get(place, ())
            if kind == competence
        )

    def body_notes(self, bodies: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        notes = self.lookups.body_notes
        return {b: notes[b] for b in bodies if b in notes}

    def contact(self, level: str, code: str) -> dict[str, Any] | None:
        row = self.lookups.contacts.get((level, code))
        return None if row is None else dict(zip(CONTACT_COLUMNS, row, strict=True))

    def sources(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        sources = self.lookups.sources
        return [
            dict(zip(SOURCE_COLUMNS, sources[i], strict=True))
            for i in sorted(set(ids))
            if i in sources
        ]

    def overlays(self, level: str, code: str, levels: Sequence[str]) -> list[Overlay]:
        found = self.lookups.overlays.get((level, code))
        if found is None:  # not foreseen at loading: ask the knowledge base
            return Queries(self.con).overlays(level, code, levels)
        return [row for row in found if row[0] in levels]


_ATTACHED: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, ProfileLookups] = (
    weakref.WeakKeyDictionary()
)
_ATTACHED_LOCK = threading.Lock()


def reads_for(con: duckdb.DuckDBPyConnection) -> Reads:
    """The lookups attached to ``con``, or targeted queries on it."""
    lookups = _ATTACHED.get(con)
    return Queries(con) if lookups is None else _LookupReads(lookups, con)
