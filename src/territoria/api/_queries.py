"""Queries of the web application: every SQL statement the routes need lives here.

Routes call these functions with a cursor and turn their exceptions into HTTP errors.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import duckdb

from territoria import _csv_safe
from territoria.analysis._profile_reads import reads_for
from territoria.api._cache import KBCache
from territoria.api._classify import class_of, classify
from territoria.api._geo import GeometryCache
from territoria.errors import InvalidQuery, UnknownIndicator, UnknownPeriod, UnknownTerritory
from territoria.kb.search import resolve_level

__all__ = [
    "BUILTIN_INDICATORS",
    "MAP_LEVELS",
    "breadcrumbs",
    "check_level",
    "find_territory",
    "indicator_values",
    "list_indicators",
    "list_territories",
    "map_collection",
    "overview",
    "resolve_parent",
    "territory_collection",
    "territory_csv",
]

T = TypeVar("T")

#: Levels the map explorer offers, from the broadest.
MAP_LEVELS: Final = ("region", "departement", "epci", "commune", "canton", "circonscription")
#: Figures of the territory table offered as indicators: column, French label, English label, unit.
BUILTIN_INDICATORS: Final = {
    "population": ("Population", "Population", "hab."),
    "density": ("Densité de population", "Population density", "hab./km²"),
    "area_km2": ("Superficie", "Area", "km²"),
}
#: Levels that make up breadcrumbs, from the top.
_HIERARCHY: Final = ("region", "departement", "epci", "commune")
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


def find_territory(
    con: duckdb.DuckDBPyConnection, code: str, *, level: str | None = None
) -> dict[str, Any]:
    """Return the identity, key figures and their source of one territory.

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
        source = {
            "name": row[13],
            "dataset": row[14],
            "publisher": row[15],
            "licence": row[16],
            "version": row[17],
            "reference_date": row[18],
            "retrieved_at": retrieved.isoformat(timespec="seconds") if retrieved else None,
            "address": row[20],
            "synthetic": bool(row[21]),
        }
    bbox = [row[8], row[9], row[10], row[11]]
    return {
        "level": row[0],
        "code": row[1],
        "name": row[2],
        "kind": row[3],
        "level_label": {"fr": row[22], "en": row[23]},
        "population": row[4],
        "population_year": row[5],
        "area_km2": _number(row[6]),
        "density": _number(row[7]),
        "bbox": bbox if all(v is not None for v in bbox) else None,
        "has_geometry": bool(row[12]),
        "source": source,
    }


def breadcrumbs(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[dict[str, str]]:
    """Return the territories above this one, from the région down (région, département, EPCI)."""
    reads = reads_for(con)  # the server's profile lookups, or queries
    parents = reads.memberships(level, code)
    names = reads.names([p[1] for p in parents])
    found = {
        p[0]: {"level": p[0], "code": p[1], "name": names[(p[0], p[1])][0]}
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
) -> dict[str, Any]:
    """Return one page of territories of a level (or within a parent), by code.

    Returns
    -------
    dict
        ``total`` and ``items`` (level, code, name, population, area_km2, density).
    """
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
        {
            "level": r[0],
            "code": r[1],
            "name": r[2],
            "population": r[3],
            "area_km2": _number(r[4]),
            "density": _number(r[5]),
        }
        for r in rows
    ]
    return {"total": int(total_row[0]) if total_row else 0, "items": items}


def resolve_parent(
    con: duckdb.DuckDBPyConnection, parent: str, parent_level: str | None = None
) -> tuple[str, str, str]:
    """Return ``(level, code, name)`` of a parent territory given by code.

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
            return str(r[0]), str(r[1]), str(r[2])
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


def list_indicators(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Return the indicators that can colour a map: built-in figures, then imported ones.

    Each has ``code``, ``label`` (fr, en), ``unit``, ``levels`` and ``periods`` (imported
    indicators only: built-in figures are the population census in the knowledge base).
    """
    found: list[dict[str, Any]] = []
    rows = con.execute(
        "SELECT level, count(population), count(density), count(area_km2), "
        "max(population_year) FROM territory GROUP BY level"
    ).fetchall()
    levels_with = {
        "population": sorted(r[0] for r in rows if r[1]),
        "density": sorted(r[0] for r in rows if r[2]),
        "area_km2": sorted(r[0] for r in rows if r[3]),
    }
    year = max((r[4] for r in rows if r[4] is not None), default=None)
    for code, (label_fr, label_en, unit) in BUILTIN_INDICATORS.items():
        found.append(
            {
                "code": code,
                "label": {"fr": label_fr, "en": label_en},
                "unit": unit,
                "builtin": True,
                "levels": levels_with[code],
                "periods": [str(year)] if year and code != "area_km2" else [],
            }
        )
    rows = con.execute(
        "SELECT v.indicator, any_value(d.label), any_value(coalesce(d.unit, v.unit)), "
        "list(DISTINCT v.level ORDER BY v.level), list(DISTINCT v.period ORDER BY v.period) "
        "FROM indicator_value v LEFT JOIN indicator_definition d ON d.indicator = v.indicator "
        "GROUP BY v.indicator ORDER BY v.indicator"
    ).fetchall()
    for code, label, unit, levels, periods in rows:
        found.append(
            {
                "code": code,
                "label": {"fr": label or code, "en": label or code},
                "unit": unit,
                "builtin": False,
                "levels": list(levels),
                "periods": [str(p) for p in periods],
            }
        )
    return found


def indicator_values(
    con: duckdb.DuckDBPyConnection,
    level: str,
    indicator: str,
    *,
    period: str | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Return the values of an indicator for every territory of a level, and its description.

    The latest period is used unless ``period`` is given.

    Raises
    ------
    UnknownIndicator, UnknownPeriod
    """
    if indicator in BUILTIN_INDICATORS:
        label_fr, label_en, unit = BUILTIN_INDICATORS[indicator]
        rows = con.execute(
            f"SELECT code, {indicator} FROM territory WHERE level = ? AND {indicator} IS NOT NULL",
            [level],
        ).fetchall()
        meta = {
            "code": indicator,
            "label": {"fr": label_fr, "en": label_en},
            "unit": unit,
            "period": None,
        }
        return {r[0]: float(r[1]) for r in rows}, meta
    defined = con.execute(
        "SELECT any_value(d.label), any_value(coalesce(d.unit, v.unit)), max(v.period) "
        "FROM indicator_value v LEFT JOIN indicator_definition d ON d.indicator = v.indicator "
        "WHERE v.indicator = ? AND v.level = ?",
        [indicator, level],
    ).fetchone()
    if defined is None or defined[2] is None:
        known = con.execute(
            "SELECT count(*) FROM indicator_value WHERE indicator = ?", [indicator]
        ).fetchone()
        if known and known[0]:
            msg = f"indicator {indicator!r} has no value at level {level!r}: try another level"
            raise UnknownPeriod(msg)
        msg = f"unknown indicator {indicator!r}: GET /api/v1/indicators lists them"
        raise UnknownIndicator(msg)
    chosen = period or str(defined[2])
    rows = con.execute(
        "SELECT code, value FROM indicator_value WHERE indicator = ? AND level = ? AND period = ?",
        [indicator, level, chosen],
    ).fetchall()
    if not rows:
        msg = f"indicator {indicator!r} has no value for period {chosen!r} at level {level!r}"
        raise UnknownPeriod(msg)
    meta = {
        "code": indicator,
        "label": {"fr": defined[0] or indicator, "en": defined[0] or indicator},
        "unit": defined[1],
        "period": chosen,
    }
    return {r[0]: float(r[1]) for r in rows}, meta


def _feature(code: str, properties: dict[str, Any], geometry: str) -> str:
    return (
        '{"type":"Feature","id":'
        + json.dumps(code)
        + ',"properties":'
        + json.dumps(properties, ensure_ascii=False)
        + ',"geometry":'
        + geometry
        + "}"
    )


def map_collection(
    con: duckdb.DuckDBPyConnection,
    geometry: GeometryCache,
    level: str,
    *,
    resolution: str,
    indicator: str | None = None,
    period: str | None = None,
    bbox: Sequence[float] | None = None,
    parent: tuple[str, str] | None = None,
    method: str = "quantiles",
    classes: int = 5,
    cache: KBCache | None = None,
) -> str:
    """Return the GeoJSON FeatureCollection (as text) of a level's territories for a map.

    Parameters
    ----------
    con
        Knowledge base cursor.
    geometry
        Simplified geometries.
    level
        Level key (already checked).
    resolution
        ``low``, ``mid`` or ``full`` (see :mod:`territoria.api._geo`).
    indicator, period
        Colour by this indicator: each feature gets ``value`` and ``class`` properties and the
        collection a ``classification`` member (breaks, colours, counts) and ``indicator``.
    bbox
        Only territories meeting ``[xmin, ymin, xmax, ymax]`` (WGS84).
    parent
        Only territories inside this ``(level, code)``.
    method, classes
        Classification method (quantiles, jenks, equal) and number of classes.
    cache
        Keeps the indicator values and the parents' contents between requests.
    """
    geo = geometry.get(level, resolution)

    def cached(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        return cache.get(key, compute) if cache is not None else compute()

    codes = (
        cached(("within", level, *parent), lambda: codes_within(con, level, *parent))
        if parent
        else None
    )
    positions = geo.positions(codes=codes, bbox=bbox)
    values: dict[str, float] = {}
    meta: dict[str, Any] | None = None
    classification: dict[str, Any] | None = None
    if indicator:
        values, meta = cached(
            ("values", level, indicator, period),
            lambda: indicator_values(con, level, indicator, period=period),
        )
        classification = classify(
            [values.get(geo.codes[i]) for i in positions], method=method, k=classes
        )
    breaks = classification["breaks"] if classification else []
    parts = []
    for i in positions:
        code = geo.codes[i]
        props: dict[str, Any] = {"code": code, "name": geo.names[i], "level": level}
        if indicator:
            value = values.get(code)
            props["value"] = value
            props["class"] = class_of(value, breaks)
        parts.append(_feature(code, props, geo.geojson[i]))
    header = {
        "level": level,
        "resolution": resolution,
        "count": len(positions),
        "bbox": geo.extent(positions),
        "indicator": meta,
        "classification": classification,
    }
    head = json.dumps(header, ensure_ascii=False)[1:-1]
    return '{"type":"FeatureCollection",' + head + ',"features":[' + ",".join(parts) + "]}"


def neighbours(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[str]:
    """Return the codes of the territories sharing a border with this one."""
    rows = con.execute(
        "SELECT neighbour FROM adjacency WHERE level = ? AND code = ? ORDER BY neighbour",
        [level, code],
    ).fetchall()
    return [r[0] for r in rows]


def territory_collection(
    con: duckdb.DuckDBPyConnection,
    cache: GeometryCache,
    territory: dict[str, Any],
    *,
    with_neighbours: bool = True,
    resolution: str = "full",
) -> str:
    """Return a GeoJSON FeatureCollection of a territory (``role: self``) and its neighbours."""
    level, code = territory["level"], territory["code"]
    geo = cache.get(level, resolution)
    wanted = [code] + (neighbours(con, level, code) if with_neighbours else [])
    parts = []
    for c in wanted:
        i = geo.index.get(c)
        if i is None:
            continue
        role = "self" if c == code else "neighbour"
        props = {"code": c, "name": geo.names[i], "level": level, "role": role}
        if role == "self":
            props.update(
                population=territory.get("population"),
                area_km2=territory.get("area_km2"),
                density=territory.get("density"),
            )
        parts.append(_feature(c, props, geo.geojson[i]))
    positions = [geo.index[c] for c in wanted if c in geo.index]
    head = json.dumps({"bbox": geo.extent(positions)})[1:-1]
    return '{"type":"FeatureCollection",' + head + ',"features":[' + ",".join(parts) + "]}"


def territory_csv(territory: dict[str, Any], profile: dict[str, Any] | None = None) -> str:
    """Return one territory's key figures and indicators as CSV text (one row per figure)."""
    out = io.StringIO()
    writer = _csv_safe.writer(out)
    writer.writerow(["level", "code", "name", "figure", "period", "value", "unit", "source"])
    source = territory.get("source") or {}
    src = " ".join(str(source.get(k) or "") for k in ("name", "version", "dataset")).strip()
    base = [territory["level"], territory["code"], territory["name"]]
    year = territory.get("population_year")
    for figure, unit, period in (
        ("population", "hab.", year),
        ("area_km2", "km²", None),
        ("density", "hab./km²", year),
    ):
        writer.writerow([*base, figure, period or "", territory.get(figure), unit, src])
    for item in (profile or {}).get("indicators") or []:
        if isinstance(item, dict):
            writer.writerow(
                [
                    *base,
                    item.get("indicator") or item.get("code"),
                    item.get("period", ""),
                    item.get("value"),
                    item.get("unit") or "",
                    item.get("source") or "",
                ]
            )
    return out.getvalue()


def overview(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Return the headline figures of the knowledge base: territories per level, population."""
    rows = con.execute(
        "SELECT t.level, l.label_fr, l.label_en, count(*) FROM territory t "
        "JOIN level l ON l.level = t.level GROUP BY ALL ORDER BY min(l.rank)"
    ).fetchall()
    pop = con.execute(
        "SELECT sum(population), max(population_year) FROM territory WHERE level = 'commune'"
    ).fetchone()
    return {
        "levels": [
            {"level": r[0], "label": {"fr": r[1], "en": r[2]}, "count": int(r[3])} for r in rows
        ],
        "population": int(pop[0]) if pop and pop[0] is not None else None,
        "population_year": pop[1] if pop else None,
    }


def parse_bbox(text: str) -> list[float]:
    """Parse ``"xmin,ymin,xmax,ymax"`` (WGS84 degrees).

    Raises
    ------
    InvalidQuery
        When it is not four numbers with xmin ≤ xmax and ymin ≤ ymax.
    """
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if (
        len(parts) != 4
        or not all(math.isfinite(p) for p in parts)
        or parts[0] > parts[2]
        or parts[1] > parts[3]
    ):
        msg = f"bbox must be 'xmin,ymin,xmax,ymax' in degrees, not {text!r}"
        raise InvalidQuery(msg)
    return parts


def parquet_to_csv(con: duckdb.DuckDBPyConnection, parquet: Path, out: Path) -> Path:
    """Write a (Geo)Parquet export as CSV without its geometry column; return ``out``."""
    columns = [
        (str(r[0]), str(r[1]))
        for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(parquet)]).fetchall()
        if r[0] != "geometry" and not str(r[1]).startswith(("STRUCT", "BLOB", "GEOMETRY"))
    ]
    # text cells a spreadsheet would run as formulas are neutralised; numbers stay numbers
    select = ", ".join(_csv_safe.neutralised_column(name, sql_type) for name, sql_type in columns)
    target = str(out).replace("'", "''")
    con.execute(
        f"COPY (SELECT {select} FROM read_parquet(?)) TO '{target}' (HEADER, DELIMITER ',')",
        [str(parquet)],
    )
    return out
