"""Simplified geometries per level and zoom, computed once and kept in memory as GeoJSON text.

A map request then only filters (by parent territory or bounding box) and concatenates
precomputed strings, so a département's communes come back in a few milliseconds instead of
re-simplifying and re-serialising geometries on every request.

Three resolutions:

``low``
    France-wide views (zoom ≤ 6): coverage simplification at 0.02° (about 2 km), 3 decimals.
``mid``
    Régional and départemental views (zoom 7–9): coverage simplification at 0.004° (about a
    pixel at zoom 9), 4 decimals.
``full``
    Closer views (zoom ≥ 10): the source geometry, 5 decimals (about 1 m).

Coverage simplification (GEOS) keeps shared borders shared, so a choropleth shows neither gaps
nor overlaps between neighbours.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import duckdb
import numpy as np
import shapely
from numpy.typing import NDArray

from territoria.kb.territories import territories_of_level

__all__ = [
    "OVERSEAS_INSETS",
    "RESOLUTIONS",
    "GeometryCache",
    "LevelGeometry",
    "resolution_for_zoom",
]

RESOLUTIONS: Final = ("low", "mid", "full")
_TOLERANCE: Final = {"low": 0.02, "mid": 0.004, "full": 0.0}
_DECIMALS: Final = {"low": 3, "mid": 4, "full": 5}
#: Overseas départements drawn as insets beside the metropolitan map (off-screen otherwise),
#: in INSEE's order: Guadeloupe, Martinique, Guyane, La Réunion, Mayotte.
OVERSEAS_INSETS: Final = ("971", "972", "973", "974", "976")
#: Levels whose maps are precomputed at start-up, in this order.
WARM_LEVELS: Final = ("region", "departement", "epci", "commune")


def resolution_for_zoom(zoom: int | None) -> str:
    """Return the resolution to serve at a web-map zoom level (``None``: ``mid``)."""
    if zoom is None:
        return "mid"
    if zoom <= 6:
        return "low"
    if zoom <= 9:
        return "mid"
    return "full"


@dataclass
class LevelGeometry:
    """Simplified GeoJSON geometries of one level at one resolution."""

    level: str
    resolution: str
    codes: list[str]
    names: list[str]
    geojson: list[str]
    bounds: NDArray[np.float64]  # (n, 4): xmin, ymin, xmax, ymax
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {code: i for i, code in enumerate(self.codes)}

    def positions(
        self,
        *,
        codes: Iterable[str] | None = None,
        bbox: Sequence[float] | None = None,
    ) -> list[int]:
        """Return the positions of the territories among ``codes`` that meet ``bbox``."""
        if codes is None:
            selected = np.arange(len(self.codes))
        else:
            selected = np.array(
                sorted(self.index[c] for c in codes if c in self.index), dtype=np.int64
            )
        if bbox is not None and len(selected):
            xmin, ymin, xmax, ymax = bbox
            b = self.bounds[selected]
            keep = (b[:, 0] <= xmax) & (b[:, 2] >= xmin) & (b[:, 1] <= ymax) & (b[:, 3] >= ymin)
            selected = selected[keep]
        return [int(i) for i in selected]

    def extent(self, positions: Sequence[int]) -> list[float] | None:
        """Return the bounding box ``[xmin, ymin, xmax, ymax]`` of these territories."""
        if not positions:
            return None
        b = self.bounds[np.asarray(positions, dtype=np.int64)]
        return [
            float(np.nanmin(b[:, 0])),
            float(np.nanmin(b[:, 1])),
            float(np.nanmax(b[:, 2])),
            float(np.nanmax(b[:, 3])),
        ]


def _simplify(geoms: NDArray[Any], resolution: str) -> NDArray[Any]:
    tolerance = _TOLERANCE[resolution]
    if tolerance:
        try:
            simplified = shapely.coverage_simplify(geoms, tolerance)
        except shapely.errors.GEOSException:
            simplified = None
        # Overlays that are not a clean coverage fall back on per-polygon simplification.
        if simplified is None or bool(shapely.is_empty(simplified).any()):
            simplified = shapely.simplify(geoms, tolerance, preserve_topology=True)
        geoms = simplified
    decimals = _DECIMALS[resolution]
    rounded: NDArray[Any] = shapely.transform(geoms, lambda xy: np.round(xy, decimals))
    return rounded


def build_level(con: duckdb.DuckDBPyConnection, level: str, resolution: str) -> LevelGeometry:
    """Read the geometries of ``level`` and simplify them for ``resolution``."""
    rows = territories_of_level(
        con,
        level,
        columns=("code", "name", "geometry", "xmin", "ymin", "xmax", "ymax"),
        only_with_geometry=True,
    ).fetchall()
    codes = [r[0] for r in rows]
    names = [r[1] for r in rows]
    if rows:
        geoms = shapely.from_wkb([bytes(r[2]) for r in rows])
        text = [str(s) for s in shapely.to_geojson(_simplify(geoms, resolution))]
        bounds = np.array([r[3:7] for r in rows], dtype=np.float64)
    else:
        text = []
        bounds = np.zeros((0, 4), dtype=np.float64)
    return LevelGeometry(level, resolution, codes, names, text, bounds)


class GeometryCache:
    """Per (level, resolution) simplified geometries, built on first use, thread-safe.

    Parameters
    ----------
    cursor
        A callable returning a context manager that yields a cursor (``Database.reader``).
    """

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._items: dict[tuple[str, str], LevelGeometry] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, level: str, resolution: str) -> LevelGeometry:
        """Return the geometries of ``level`` at ``resolution``, computing them once."""
        key = (level, resolution)
        found = self._items.get(key)
        if found is not None:
            return found
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            found = self._items.get(key)
            if found is None:
                with self._cursor() as cur:
                    found = build_level(cur, level, resolution)
                self._items[key] = found
        return found

    def warm(self, levels: Sequence[str] = WARM_LEVELS) -> None:
        """Compute the usual levels at every resolution (run in a background thread)."""
        for resolution in ("low", "mid", "full"):
            for level in levels:
                self.get(level, resolution)

    def ready(self) -> list[str]:
        """Return the ``level/resolution`` pairs computed so far."""
        return sorted(f"{level}/{resolution}" for level, resolution in self._items)
