"""Territories of the knowledge base: one territory, the territories of a level, listings,
indicators that can colour a map, headline figures.

Every reader of territories goes through these functions: the web application, the Python
API (:mod:`territoria._api`) and the exports. Results are pydantic models, so that the REST
API declares them as its response models and the command line prints their ``to_dict()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import duckdb
from duckdb import ColumnExpression, ConstantExpression
from pydantic import BaseModel, ConfigDict, Field

from territoria.analysis._profile_reads import reads_for
from territoria.errors import UnknownIndicator, UnknownPeriod, UnknownTerritory
from territoria.kb.search import resolve_level

__all__ = [
    "BUILTIN_INDICATORS",
    "LEVEL_COLUMNS",
    "IndicatorInfo",
    "IndicatorMeta",
    "IndicatorSource",
    "IndicatorValues",
    "Label",
    "LevelCount",
    "LevelCoverage",
    "Overview",
    "SourceRef",
    "TerritoryCard",
    "TerritoryPage",
    "TerritoryRef",
    "TerritoryRow",
    "check_level",
    "codes_within",
    "find_territory",
    "geometry_wkb",
    "indicator_values",
    "list_indicators",
    "list_territories",
    "neighbours",
    "overview",
    "resolve_parent",
    "territories_of_level",
]

#: Figures of the territory table offered as indicators: column, French label, English label, unit.
BUILTIN_INDICATORS: Final = {
    "population": ("Population", "Population", "hab."),
    "density": ("Densité de population", "Population density", "hab./km²"),
    "area_km2": ("Superficie", "Area", "km²"),
}
#: Columns :func:`territories_of_level` may select (``geometry``: the polygon as WKB).
LEVEL_COLUMNS: Final = (
    "code", "name", "kind", "population", "population_year", "area_km2", "density",
    "xmin", "ymin", "xmax", "ymax", "geometry",
)  # fmt: skip
#: Levels that make up breadcrumbs, from the top.
_HIERARCHY: Final = ("region", "departement", "epci", "commune")
#: Levels a parent code is looked up in, in this order (``35`` is Ille-et-Vilaine).
_PARENT_LEVELS: Final = ("departement", "region", "epci", "canton", "circonscription", "commune")

_TERRITORY_SQL: Final = """
SELECT t.level, t.code, t.name, t.kind, t.population, t.population_year, t.area_km2,
       t.density, t.xmin, t.ymin, t.xmax, t.ymax, t.geom IS NOT NULL AS has_geometry,
       s.name, s.dataset, s.publisher, s.licence, s.version, s.reference_date,
       s.retrieved_at, s.address, s.synthetic, l.label_fr, l.label_en
FROM territory t
JOIN level l ON l.level = t.level
LEFT JOIN source s ON s.id = t.source_id
WHERE t.code = ? {level_clause}
ORDER BY l.rank
LIMIT 1
"""


class _Result(BaseModel):
    """A typed result: JSON through :meth:`to_dict`, nothing unknown accepted."""

    model_config = ConfigDict(extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-able data."""
        return self.model_dump(mode="json")


class Label(_Result):
    """A label in French and English."""

    fr: str
    en: str | None = None


class SourceRef(_Result):
    """Where a territory's figures come from."""

    name: str
    dataset: str | None = None
    publisher: str | None = None
    licence: str | None = None
    version: str | None = None
    reference_date: str | None = None
    retrieved_at: str | None = Field(default=None, description="ISO date and time.")
    address: str | None = None
    synthetic: bool = False


class TerritoryRef(_Result):
    """A territory named by its level and code."""

    level: str
    code: str
    name: str


class TerritoryCard(_Result):
    """One territory: identity, key figures, source, parents and children counts."""

    level: str
    code: str
    name: str
    kind: str | None = None
    level_label: Label
    population: int | None = None
    population_year: int | None = None
    area_km2: float | None = None
    density: float | None = Field(default=None, description="Inhabitants per km².")
    bbox: list[float] | None = Field(
        default=None, description="xmin, ymin, xmax, ymax in degrees (WGS84)."
    )
    has_geometry: bool = False
    source: SourceRef | None = None
    parents: list[TerritoryRef] = Field(
        default_factory=list, description="Région, département, EPCI: from the top."
    )
    children: dict[str, int] = Field(
        default_factory=dict, description="Number of territories of each level inside it."
    )


class TerritoryRow(_Result):
    """A territory in a listing."""

    level: str
    code: str
    name: str
    population: int | None = None
    area_km2: float | None = None
    density: float | None = None


class TerritoryPage(_Result):
    """One page of a listing of territories, with the number of all of them."""

    total: int
    items: list[TerritoryRow]


class IndicatorSource(_Result):
    """Where an indicator's values come from: their ``source`` row."""

    name: str
    publisher: str | None = None
    version: str | None = None
    dataset: str | None = None
    licence: str | None = None
    reference_date: str | None = None
    synthetic: bool = False


class LevelCoverage(_Result):
    """How many territories of a level have a value of an indicator (at its latest period)."""

    level: str
    label: Label
    period: str | None = None
    territories: int = Field(description="Territories of the level with a value.")
    total: int = Field(description="Territories of the level in the knowledge base.")


class IndicatorInfo(_Result):
    """An indicator of the catalogue: what it measures, where it comes from, where it has
    values; any of them can colour a map."""

    code: str
    label: Label
    unit: str | None = None
    builtin: bool = Field(description="A figure of the territory table (population ...).")
    levels: list[str]
    periods: list[str]
    period: str | None = Field(default=None, description="The latest period.")
    source: IndicatorSource | None = Field(
        default=None, description="The source of the values of the latest period."
    )
    coverage: list[LevelCoverage] = Field(default_factory=list)


class IndicatorMeta(_Result):
    """What a map coloured by an indicator shows, and where its values come from."""

    code: str
    label: Label
    unit: str | None = None
    period: str | None = None
    source: IndicatorSource | None = None


class IndicatorValues(_Result):
    """The values of one indicator for the territories of a level, by code."""

    meta: IndicatorMeta
    values: dict[str, float]


class LevelCount(_Result):
    """The number of territories of one level."""

    level: str
    label: Label
    count: int


class Overview(_Result):
    """Headline figures of the knowledge base."""

    levels: list[LevelCount]
    population: int | None = Field(default=None, description="Population of all communes.")
    population_year: int | None = None


def check_level(con: duckdb.DuckDBPyConnection, level: str) -> str:
    """Return the level key for ``level`` (French or English labels accepted).

    Raises
    ------
    UnknownLevel
        With the list of levels.
    """
    return resolve_level(con, level)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def territories_of_level(
    con: duckdb.DuckDBPyConnection,
    level: str,
    *,
    columns: Sequence[str] = ("code", "name", "population", "area_km2", "density"),
    only_with_geometry: bool = False,
) -> duckdb.DuckDBPyRelation:
    """Return the territories of one level as a DuckDB relation, sorted by code.

    The relation is lazy: callers fetch it (``fetchall``, ``to_arrow_table``, ``df``) or
    join it with their own relations.

    Parameters
    ----------
    con
        Open knowledge base.
    level
        Level key (see :func:`check_level` for labels).
    columns
        Columns among :data:`LEVEL_COLUMNS`, in this order; ``geometry`` is the polygon as
        WKB (WGS84), ``NULL`` for territories without one.
    only_with_geometry
        Leave out the territories without a polygon.

    Raises
    ------
    ValueError
        For a column that is not in :data:`LEVEL_COLUMNS`.
    """
    unknown = [c for c in columns if c not in LEVEL_COLUMNS]
    if unknown:
        msg = f"unknown territory columns {unknown!r}: use some of {', '.join(LEVEL_COLUMNS)}"
        raise ValueError(msg)
    relation = con.table("territory").filter(ColumnExpression("level") == ConstantExpression(level))
    if only_with_geometry:
        relation = relation.filter(ColumnExpression("geom").isnotnull())
    selected = ", ".join("ST_AsWKB(geom) AS geometry" if c == "geometry" else c for c in columns)
    return relation.project(selected).order("code")


def geometry_wkb(con: duckdb.DuckDBPyConnection, level: str, code: str) -> bytes | None:
    """Return the polygon of one territory as WKB (WGS84), or ``None`` when it has none."""
    row = con.execute(
        "SELECT ST_AsWKB(geom) FROM territory WHERE level = ? AND code = ?", [level, code]
    ).fetchone()
    return None if row is None or row[0] is None else bytes(row[0])


def find_territory(
    con: duckdb.DuckDBPyConnection, code: str, *, level: str | None = None
) -> TerritoryCard:
    """Return the identity, key figures, source, parents and children counts of one territory.

    Without ``level``, a code shared by several levels resolves to the first in the level
    table's order (commune, département, région, EPCI ...).

    Raises
    ------
    UnknownTerritory, UnknownLevel
    """
    key = check_level(con, level) if level else None
    sql = _TERRITORY_SQL.format(level_clause="AND t.level = ?" if key else "")
    row = con.execute(sql, [code, key] if key else [code]).fetchone()
    if row is None:
        where = f" at level {key!r}" if key else ""
        msg = f"unknown territory code {code!r}{where}: search it with GET /api/v1/territories?q="
        raise UnknownTerritory(msg)
    source = None
    if row[13] is not None:
        retrieved = row[19]
        source = SourceRef(
            name=row[13],
            dataset=row[14],
            publisher=row[15],
            licence=row[16],
            version=row[17],
            reference_date=None if row[18] is None else str(row[18]),
            retrieved_at=retrieved.isoformat(timespec="seconds") if retrieved else None,
            address=row[20],
            synthetic=bool(row[21]),
        )
    bbox = [row[8], row[9], row[10], row[11]]
    level_key, found_code = str(row[0]), str(row[1])
    return TerritoryCard(
        level=level_key,
        code=found_code,
        name=row[2],
        kind=row[3],
        level_label=Label(fr=row[22], en=row[23]),
        population=row[4],
        population_year=row[5],
        area_km2=_number(row[6]),
        density=_number(row[7]),
        bbox=[float(v) for v in bbox] if all(v is not None for v in bbox) else None,
        has_geometry=bool(row[12]),
        source=source,
        parents=breadcrumbs(con, level_key, found_code),
        children=children_count(con, level_key, found_code),
    )


def breadcrumbs(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[TerritoryRef]:
    """Return the territories above this one, from the région down (région, département, EPCI)."""
    reads = reads_for(con)  # the server's profile lookups, or queries
    parents = reads.memberships(level, code)
    names = reads.names([p[1] for p in parents])
    found = {
        p[0]: TerritoryRef(level=p[0], code=p[1], name=names[(p[0], p[1])][0])
        for p in parents
        if (p[0], p[1]) in names
    }
    mine = _HIERARCHY.index(level) if level in _HIERARCHY else len(_HIERARCHY)
    return [found[lv] for lv in _HIERARCHY[:mine] if lv in found]


def children_count(con: duckdb.DuckDBPyConnection, level: str, code: str) -> dict[str, int]:
    """Return how many territories of each level belong to this one (e.g. its communes)."""
    return reads_for(con).child_counts(level, code)


def list_territories(
    con: duckdb.DuckDBPyConnection,
    *,
    level: str | None = None,
    parent: tuple[str, str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> TerritoryPage:
    """Return one page of territories of a level (or within a parent ``(level, code)``)."""
    clauses, params = [], []
    if level:
        clauses.append("t.level = ?")
        params.append(level)
    if parent:
        clauses.append(
            "EXISTS (SELECT 1 FROM membership m WHERE m.level = t.level AND m.code = t.code "
            "AND m.parent_level = ? AND m.parent_code = ?)"
        )
        params.extend(parent)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    total_row = con.execute(f"SELECT count(*) FROM territory t {where}", params).fetchone()
    rows = con.execute(
        f"SELECT t.level, t.code, t.name, t.population, t.area_km2, t.density "
        f"FROM territory t JOIN level l ON l.level = t.level {where} "
        f"ORDER BY l.rank, t.code LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    items = [
        TerritoryRow(
            level=r[0],
            code=r[1],
            name=r[2],
            population=r[3],
            area_km2=_number(r[4]),
            density=_number(r[5]),
        )
        for r in rows
    ]
    return TerritoryPage(total=int(total_row[0]) if total_row else 0, items=items)


def resolve_parent(
    con: duckdb.DuckDBPyConnection, parent: str, parent_level: str | None = None
) -> TerritoryRef:
    """Return the parent territory given by code.

    Without ``parent_level``, a code is looked up among départements, régions, EPCI, cantons,
    circonscriptions and communes, in that order (``35`` is Ille-et-Vilaine, not a région).

    Raises
    ------
    UnknownTerritory, UnknownLevel
    """
    levels = [check_level(con, parent_level)] if parent_level else list(_PARENT_LEVELS)
    rows = con.execute(
        "SELECT level, code, name FROM territory WHERE code = ? AND level IN "
        f"({', '.join('?' for _ in levels)})",
        [parent, *levels],
    ).fetchall()
    by_level = {r[0]: r for r in rows}
    for lv in levels:
        if lv in by_level:
            r = by_level[lv]
            return TerritoryRef(level=str(r[0]), code=str(r[1]), name=str(r[2]))
    msg = f"unknown parent territory {parent!r}: give a département, région or EPCI code"
    raise UnknownTerritory(msg)


def codes_within(
    con: duckdb.DuckDBPyConnection, level: str, parent_level: str, parent_code: str
) -> list[str]:
    """Return the codes of the territories of ``level`` inside a parent territory."""
    if level == parent_level:
        return [parent_code]
    rows = con.execute(
        "SELECT code FROM membership WHERE level = ? AND parent_level = ? AND parent_code = ?",
        [level, parent_level, parent_code],
    ).fetchall()
    return [r[0] for r in rows]


def neighbours(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[str]:
    """Return the codes of the territories sharing a border with this one."""
    rows = con.execute(
        "SELECT neighbour FROM adjacency WHERE level = ? AND code = ? ORDER BY neighbour",
        [level, code],
    ).fetchall()
    return [r[0] for r in rows]


def list_indicators(
    con: duckdb.DuckDBPyConnection, *, level: str | None = None
) -> list[IndicatorInfo]:
    """Return the indicator catalogue: built-in figures, then imported indicators by code.

    Each indicator carries its French and English labels, unit, periods (in order, the latest
    also in ``period``), the source of its latest values (name, publisher, version) and its
    coverage: for each level, how many territories have a value at the level's latest period
    out of how many the level has. Built-in figures come from the territory table (the
    population census in the knowledge base, the areas computed from the geometries); an
    imported series of the same code (``population`` by year) adds its periods to them.

    Parameters
    ----------
    con
        Open knowledge base.
    level
        Only the indicators with values at this level (its key, e.g. ``commune``).
    """
    from territoria.kb import _catalogue as cat

    totals, labels = cat.level_totals(con), cat.level_labels(con)
    stats, builtins = cat.imported(con), cat.builtin_stats(con)
    ids = {r.source_id for rows in (*stats.values(), *builtins.values()) for r in rows}
    sources = cat.sources(con, sorted(i for i in ids if i is not None))
    definitions = cat.definitions(con)

    def coverage(rows: list[cat.LevelStat]) -> list[LevelCoverage]:
        return [
            LevelCoverage(
                level=r.level,
                label=Label(
                    fr=labels.get(r.level, (r.level, r.level))[0],
                    en=labels.get(r.level, (r.level, r.level))[1],
                ),
                period=r.period,
                territories=r.count,
                total=max(totals.get(r.level, 0), r.count),
            )
            for r in sorted(cat.latest_per_level(rows), key=lambda r: cat.rank(labels, r.level))
        ]

    found: list[IndicatorInfo] = []
    for code, (label_fr, label_en, unit) in BUILTIN_INDICATORS.items():
        rows = cat.merge_builtin(builtins.get(code, []), stats.pop(code, []))
        latest: str | None = max((r.period for r in rows if r.period), default=None)
        found.append(
            IndicatorInfo(
                code=code,
                label=Label(fr=label_fr, en=label_en),
                unit=unit,
                builtin=True,
                levels=sorted({r.level for r in rows}),
                periods=sorted({r.period for r in rows if r.period}),
                period=latest,
                source=cat.main_source(rows, sources, latest),
                coverage=coverage(rows),
            )
        )
    for code, rows in sorted(stats.items()):
        fr, en, defined_unit = definitions.get(code, (None, None, None))
        latest = max((r.period for r in rows if r.period), default=None)
        found.append(
            IndicatorInfo(
                code=code,
                label=Label(fr=fr or code, en=en or fr or code),
                unit=defined_unit or next((r.unit for r in rows if r.unit), None),
                builtin=False,
                levels=sorted({r.level for r in rows}),
                periods=sorted({r.period for r in rows if r.period}),
                period=latest,
                source=cat.main_source(rows, sources, latest),
                coverage=coverage(rows),
            )
        )
    if level is not None:
        found = [i for i in found if level in i.levels]
    return found


def indicator_values(
    con: duckdb.DuckDBPyConnection,
    level: str,
    indicator: str,
    *,
    period: str | None = None,
) -> IndicatorValues:
    """Return the values of an indicator for every territory of a level, and its description
    (labels, unit, period, source).

    The latest period is used unless ``period`` is given. A built-in figure (``population``)
    is read from the territory table unless an imported series of the same code has the
    period asked for, or a later one than the territory table's.

    Raises
    ------
    UnknownIndicator, UnknownPeriod
    """
    from territoria.kb import _catalogue as cat

    builtin = BUILTIN_INDICATORS.get(indicator)
    found = con.execute(
        "SELECT max(period), bool_or(period = ?) FROM indicator_value "
        "WHERE indicator = ? AND level = ?",
        [period, indicator, level],
    ).fetchone()
    latest, has_period = (found[0], bool(found[1])) if found else (None, False)
    if builtin is not None:
        year = cat.builtin_year(con, indicator, level)
        wanted = period or (max(str(latest), year or "") if latest is not None else year)
        if latest is None or wanted == year:
            if period is not None and period != year:
                msg = (
                    f"indicator {indicator!r} has no value for period {period!r} at level {level!r}"
                )
                raise UnknownPeriod(msg)
            rows = territories_of_level(con, level, columns=("code", indicator)).fetchall()
            values = {r[0]: float(r[1]) for r in rows if r[1] is not None}
            if has_period or (period is None and latest == year):
                # a series that also gives the territory table's year completes it (Mayotte)
                values |= {
                    str(r[0]): float(r[1])
                    for r in con.execute(
                        "SELECT code, value FROM indicator_value "
                        "WHERE indicator = ? AND level = ? AND period = ?",
                        [indicator, level, year],
                    ).fetchall()
                }
            return IndicatorValues(
                meta=IndicatorMeta(
                    code=indicator,
                    label=Label(fr=builtin[0], en=builtin[1]),
                    unit=builtin[2],
                    period=year,
                    source=cat.territory_source(con, level),
                ),
                values=values,
            )
    if latest is None:
        known = con.execute(
            "SELECT count(*) FROM indicator_value WHERE indicator = ?", [indicator]
        ).fetchone()
        if known and known[0]:
            msg = f"indicator {indicator!r} has no value at level {level!r}: try another level"
            raise UnknownPeriod(msg)
        msg = f"unknown indicator {indicator!r}: GET /api/v1/indicators lists them"
        raise UnknownIndicator(msg)
    chosen = period or str(latest)
    rows = con.execute(
        "SELECT code, value, unit, source_id FROM indicator_value "
        "WHERE indicator = ? AND level = ? AND period = ?",
        [indicator, level, chosen],
    ).fetchall()
    if not rows:
        msg = f"indicator {indicator!r} has no value for period {chosen!r} at level {level!r}"
        raise UnknownPeriod(msg)
    label_fr, label_en, unit = cat.definitions(con, [indicator]).get(indicator, (None, None, None))
    if builtin is not None:
        label_fr, label_en, unit = (
            label_fr or builtin[0],
            label_en or builtin[1],
            unit or builtin[2],
        )
    source_ids = [int(r[3]) for r in rows]
    main = max(set(source_ids), key=source_ids.count)
    return IndicatorValues(
        meta=IndicatorMeta(
            code=indicator,
            label=Label(fr=label_fr or indicator, en=label_en or label_fr or indicator),
            unit=unit or next((r[2] for r in rows if r[2]), None),
            period=chosen,
            source=cat.sources(con, [main]).get(main),
        ),
        values={r[0]: float(r[1]) for r in rows},
    )


def overview(con: duckdb.DuckDBPyConnection) -> Overview:
    """Return the headline figures of the knowledge base: territories per level, population."""
    rows = con.execute(
        "SELECT t.level, l.label_fr, l.label_en, count(*) FROM territory t "
        "JOIN level l ON l.level = t.level GROUP BY ALL ORDER BY min(l.rank)"
    ).fetchall()
    pop = con.execute(
        "SELECT sum(population), max(population_year) FROM territory WHERE level = 'commune'"
    ).fetchone()
    return Overview(
        levels=[
            LevelCount(level=r[0], label=Label(fr=r[1], en=r[2]), count=int(r[3])) for r in rows
        ],
        population=int(pop[0]) if pop and pop[0] is not None else None,
        population_year=pop[1] if pop else None,
    )
