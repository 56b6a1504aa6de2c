"""Static SVG drawings of a portrait: the map of a territory and its neighbours, and charts.

No tiles and no script: the PDF printer (WeasyPrint) draws inline SVG. The map projects the
knowledge base's WGS84 geometry with pyproj, to Lambert-93 (EPSG:2154) in metropolitan France
and Corsica, else to the local UTM zone (Antilles, Guyane, La Réunion, Mayotte …), so that
shapes and distances are true to the ground.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray

from territoria import _formats

__all__ = ["MapShape", "bar_chart_svg", "crs_for", "line_chart_svg", "map_svg"]

#: Metropolitan France and Corsica (lon/lat box) use Lambert-93.
_METROPOLE = (-5.8, 41.0, 10.0, 51.6)
_LAMBERT93 = "EPSG:2154"
_WIDTH, _HEIGHT = 480.0, 360.0
_LOCALE = "fr_FR"


@dataclass(frozen=True)
class MapShape:
    """One territory drawn on the map: the portrait's own or a neighbour."""

    code: str
    name: str
    wkb: bytes
    own: bool


def crs_for(lon: float, lat: float) -> str:
    """Lambert-93 in metropolitan France, else the WGS84 UTM zone of the point."""
    xmin, ymin, xmax, ymax = _METROPOLE
    if xmin <= lon <= xmax and ymin <= lat <= ymax:
        return _LAMBERT93
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def _project(geoms: NDArray[np.object_], crs: str) -> NDArray[np.object_]:
    transformer = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)

    def forward(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    projected: NDArray[np.object_] = shapely.transform(geoms, forward)
    return projected


def _path(geom: shapely.Geometry) -> str:
    """SVG path data of a (multi)polygon already in screen coordinates."""
    parts = []
    for polygon in getattr(geom, "geoms", [geom]):
        if polygon.geom_type != "Polygon" or polygon.is_empty:
            continue
        for ring in (polygon.exterior, *polygon.interiors):
            xy = np.asarray(ring.coords)
            parts.append("M" + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy) + "Z")
    return "".join(parts)


def map_svg(shapes: Sequence[MapShape], crs: str) -> str:
    """The territory (filled) among its neighbours (outlined, named), framed on the first.

    Parameters
    ----------
    shapes
        The portrait's territory (``own``) first, then its neighbours.
    crs
        The projection (:func:`crs_for`).
    """
    if not shapes:
        return ""
    geoms = _project(shapely.from_wkb([s.wkb for s in shapes]), crs)
    own = np.asarray([s.own for s in shapes])
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms[own])
    pad = 0.12 * max(xmax - xmin, ymax - ymin, 1.0)
    xmin, ymin, xmax, ymax = xmin - pad, ymin - pad, xmax + pad, ymax + pad
    scale = min(_WIDTH / (xmax - xmin), _HEIGHT / (ymax - ymin))
    width, height = (xmax - xmin) * scale, (ymax - ymin) * scale
    clipped = shapely.clip_by_rect(geoms, xmin, ymin, xmax, ymax)
    # y grows downwards on screen
    screen = shapely.transform(
        clipped, lambda xy: np.column_stack([(xy[:, 0] - xmin) * scale, (ymax - xy[:, 1]) * scale])
    )
    labels = shapely.point_on_surface(screen)
    body = []
    for shape, geom, label in zip(shapes, screen, labels, strict=True):
        if geom.is_empty:
            continue
        kind = "own" if shape.own else "neighbour"
        body.append(f'<path class="{kind}" fill-rule="evenodd" d="{_path(geom)}"/>')
        if not shape.own and not label.is_empty:
            body.append(
                f'<text x="{label.x:.1f}" y="{label.y:.1f}" text-anchor="middle">'
                f"{escape(shape.name)}</text>"
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="map" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.1f} {height:.1f}" role="img">'
        "<style>.own{fill:#3b6ea8;stroke:#123c69;stroke-width:1.2}"
        ".neighbour{fill:#eef1f4;stroke:#8a99a8;stroke-width:0.6}"
        "text{font:7px 'DejaVu Sans',sans-serif;fill:#555}</style>" + "".join(body) + "</svg>"
    )


def _nice_ticks(low: float, high: float) -> NDArray[np.float64]:
    """Three to six round values inside [low, high] (1, 2 or 5 times a power of ten apart)."""
    raw = (high - low) / 4.0
    power = 10.0 ** np.floor(np.log10(raw))
    step = power * min((m for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw), default=10.0)
    ticks: NDArray[np.float64] = np.arange(np.ceil(low / step) * step, high, step)
    return ticks


def line_chart_svg(years: Sequence[int], values: Sequence[float], *, unit: str = "") -> str:
    """A line of values by year, its axes labelled in French (thin-space thousands)."""
    if not years:
        return ""
    width, height, left, bottom, top, right = 460.0, 170.0, 62.0, 22.0, 10.0, 14.0
    x = np.asarray(years, dtype=float)
    y = np.asarray(values, dtype=float)
    low, high = float(y.min()), float(y.max())
    span = max(high - low, abs(high) * 0.02, 1.0)
    low, high = low - 0.15 * span, high + 0.15 * span
    xspan = max(float(x.max() - x.min()), 1.0)
    px = left + (x - x.min()) / xspan * (width - left - right)
    py = top + (high - y) / (high - low) * (height - top - bottom)
    ticks = _nice_ticks(low, high)
    grid = "".join(
        f'<line x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}" class="grid"/>'
        f'<text x="{left - 4}" y="{yy + 3:.1f}" text-anchor="end">'
        f"{_formats.number(t, _LOCALE, 0)}</text>"
        for t, yy in zip(
            ticks, top + (high - ticks) / (high - low) * (height - top - bottom), strict=True
        )
    )
    marks = "".join(
        f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.6"/>'
        f'<text x="{a:.1f}" y="{height - 6}" text-anchor="middle">{year}</text>'
        for a, b, year in zip(px, py, years, strict=True)
    )
    line = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
    caption = f'<text x="{left}" y="{top - 2}" class="unit">{escape(unit)}</text>' if unit else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img">'
        "<style>text{font:7.5px 'DejaVu Sans',sans-serif;fill:#444}.grid{stroke:#ddd}"
        "polyline{fill:none;stroke:#3b6ea8;stroke-width:1.6}circle{fill:#123c69}</style>"
        f'{grid}{caption}<polyline points="{line}"/>{marks}</svg>'
    )


def bar_chart_svg(labels: Sequence[str], shares: Sequence[float]) -> str:
    """Horizontal bars of shares (0 to 1), each labelled with its French percentage."""
    if not labels:
        return ""
    row, left, width = 18.0, 190.0, 460.0
    height = row * len(labels) + 6
    bar = width - left - 50
    items = "".join(
        f'<text x="{left - 6}" y="{i * row + 13:.1f}" text-anchor="end">{escape(label)}</text>'
        f'<rect x="{left}" y="{i * row + 3:.1f}" width="{max(share, 0.0) * bar:.1f}" height="12"/>'
        f'<text x="{left + max(share, 0.0) * bar + 4:.1f}" y="{i * row + 13:.1f}">'
        f"{_formats.number(100 * share, _LOCALE, 1)} %</text>"
        for i, (label, share) in enumerate(zip(labels, shares, strict=True))
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img">'
        "<style>text{font:8px 'DejaVu Sans',sans-serif;fill:#333}rect{fill:#3b6ea8}</style>"
        f"{items}</svg>"
    )
