"""An incident's zone: parsed from GeoJSON or WKT, checked valid and inside France.

A point needs a radius (metres): it becomes a disc, buffered in a local azimuthal equidistant
projection so the radius is true on the ground. A line stays a line (the roads it cuts are
closed; it covers no population unless given a radius, then it is buffered too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyproj
import shapely
from shapely import wkt as shapely_wkt
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity

from territoria.errors import InvalidIncident

__all__ = ["Zone", "buffer_m", "parse_zone", "read_geometry_argument"]

_KINDS = {"Polygon": "polygon", "MultiPolygon": "polygon", "LineString": "line",
          "MultiLineString": "line", "Point": "point"}  # fmt: skip
#: largest radius of a point incident (km): beyond it, draw the zone
MAX_RADIUS_M = 200_000.0


@dataclass(frozen=True)
class Zone:
    """A checked zone: its WKT and GeoJSON (WGS84), its kind and its bounding box."""

    wkt: str
    geojson: dict[str, Any]
    kind: str
    radius_m: float | None
    bbox: tuple[float, float, float, float]


def read_geometry_argument(value: str) -> str | dict[str, Any]:
    """The ``--geometry`` option: a GeoJSON file's content, or the WKT text given."""
    text = value.strip()
    if text.lower().endswith((".geojson", ".json")):
        path = Path(text)
        if not path.is_file():
            msg = f"no geometry file {text!r}: give a GeoJSON file or WKT text"
            raise InvalidIncident(msg)
        return path.read_text(encoding="utf-8")
    return text


def _geojson_geometry(data: Any) -> Any:
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features") or []
        if len(features) != 1:
            msg = f"a FeatureCollection with {len(features)} features: give exactly one zone"
            raise InvalidIncident(msg)
        data = features[0]
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    return data


def _shape(value: str | dict[str, Any]) -> shapely.Geometry:
    try:
        if isinstance(value, dict):
            return shape(_geojson_geometry(value))
        text = value.strip()
        if text.startswith("{"):
            return shape(_geojson_geometry(json.loads(text)))
        return shapely_wkt.loads(text)
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.ShapelyError) as exc:
        shown = value if isinstance(value, str) else json.dumps(value)
        msg = f"unreadable geometry {shown[:80]!r}: give GeoJSON or WKT in WGS84 lon/lat ({exc})"
        raise InvalidIncident(msg) from exc


def buffer_m(geom: shapely.Geometry, radius_m: float) -> shapely.Geometry:
    """``geom`` buffered by ``radius_m`` metres on the ground (local azimuthal projection)."""
    c = geom.centroid
    local = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={c.y} +lon_0={c.x} +datum=WGS84 +units=m")
    there = pyproj.Transformer.from_crs("EPSG:4326", local, always_xy=True).transform
    back = pyproj.Transformer.from_crs(local, "EPSG:4326", always_xy=True).transform
    local_geom = shapely.transform(geom, there, interleaved=False)
    return shapely.transform(local_geom.buffer(radius_m, quad_segs=16), back, interleaved=False)


def _check_shape(geom: shapely.Geometry, kind: str | None, radius_m: float | None) -> None:
    if kind is None:
        msg = f"unsupported geometry type {geom.geom_type!r}: give a polygon, a line or a point"
        raise InvalidIncident(msg)
    if geom.is_empty:
        raise InvalidIncident("empty geometry: give a polygon, a line or a point with a radius")
    if not geom.is_valid:
        msg = f"invalid geometry: {explain_validity(geom)}; fix the zone (no self-intersection)"
        raise InvalidIncident(msg)
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        msg = (f"coordinates out of WGS84 range (bounds {geom.bounds!r}): give lon/lat degrees, "
               "not Lambert-93 metres")  # fmt: skip
        raise InvalidIncident(msg)
    if kind == "point" and not radius_m:
        raise InvalidIncident("a point incident needs a radius: give --radius in metres")
    if radius_m is not None and not 0 < radius_m <= MAX_RADIUS_M:
        msg = f"radius {radius_m!r} m out of range: give 1 to {MAX_RADIUS_M:.0f} metres"
        raise InvalidIncident(msg)


def _inside_france(con: duckdb.DuckDBPyConnection, zone_wkt: str) -> bool:
    row = con.execute(
        """
        WITH z AS (SELECT ST_GeomFromText(?) AS g)
        SELECT count(*) FROM territory t, z
        WHERE t.level = 'region' AND t.xmax >= ST_XMin(z.g) AND t.xmin <= ST_XMax(z.g)
          AND t.ymax >= ST_YMin(z.g) AND t.ymin <= ST_YMax(z.g) AND ST_Intersects(t.geom, z.g)
        """,
        [zone_wkt],
    ).fetchone()
    return bool(row and row[0])


def parse_zone(
    con: duckdb.DuckDBPyConnection, value: str | dict[str, Any], *, radius_m: float | None = None
) -> Zone:
    """Parse, check and (for a point, or with a radius) buffer an incident's geometry.

    Raises
    ------
    InvalidIncident
        Unreadable, empty, invalid (self-intersecting), out of lon/lat range, a point without a
        radius, or touching no région of France (mainland, Corse and the overseas régions).
    """
    geom = _shape(value)
    kind = _KINDS.get(geom.geom_type)
    _check_shape(geom, kind, radius_m)
    assert kind is not None
    if radius_m:
        geom = buffer_m(geom, float(radius_m))
    text = geom.wkt
    if not _inside_france(con, text):
        x0, y0, x1, y1 = geom.bounds
        msg = (f"the zone (lon {x0:.3f}..{x1:.3f}, lat {y0:.3f}..{y1:.3f}) is outside France: "
               "give lon/lat in WGS84 over a French territory (overseas included)")  # fmt: skip
        raise InvalidIncident(msg)
    return Zone(text, dict(mapping(geom)), kind, radius_m, tuple(geom.bounds))
