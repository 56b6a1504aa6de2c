"""What the web application's GeoJSON and CSV routes send, built from the library's results.

No SQL here: the knowledge base is read through :mod:`territoria.kb.territories`; this module
turns its results and the simplified geometries of :mod:`territoria.api._geo` into the text of
FeatureCollections and CSV files.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import duckdb

from territoria import _csv_safe
from territoria.api._cache import KBCache
from territoria.api._classify import class_of, classify
from territoria.api._geo import GeometryCache
from territoria.errors import InvalidQuery
from territoria.kb import territories as kt

__all__ = ["map_collection", "parse_bbox", "territory_collection", "territory_csv"]

T = TypeVar("T")


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
        cached(("within", level, *parent), lambda: kt.codes_within(con, level, *parent))
        if parent
        else None
    )
    positions = geo.positions(codes=codes, bbox=bbox)
    values: dict[str, float] = {}
    meta: dict[str, Any] | None = None
    classification: dict[str, Any] | None = None
    if indicator:
        found = cached(
            ("values", level, indicator, period),
            lambda: kt.indicator_values(con, level, indicator, period=period),
        )
        values, meta = found.values, found.meta.to_dict()
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


def territory_collection(
    con: duckdb.DuckDBPyConnection,
    cache: GeometryCache,
    territory: kt.TerritoryCard,
    *,
    with_neighbours: bool = True,
    resolution: str = "full",
) -> str:
    """Return a GeoJSON FeatureCollection of a territory (``role: self``) and its neighbours."""
    level, code = territory.level, territory.code
    geo = cache.get(level, resolution)
    wanted = [code] + (kt.neighbours(con, level, code) if with_neighbours else [])
    parts = []
    for c in wanted:
        i = geo.index.get(c)
        if i is None:
            continue
        role = "self" if c == code else "neighbour"
        props: dict[str, Any] = {"code": c, "name": geo.names[i], "level": level, "role": role}
        if role == "self":
            props.update(
                population=territory.population,
                area_km2=territory.area_km2,
                density=territory.density,
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
