"""Criticality of every link of a road network, cached in the knowledge base per network version.

Method (RA2CE's "single link redundancy" and "origin-destination losses", on communes):

1. Degree-2 chains are contracted into links (:mod:`._simplify`); each commune's representative
   node (its town hall's nearest node, :mod:`.graph`) is kept.
2. **Bridges** (igraph ``bridges()``) and **articulation points** of the contracted, undirected
   graph. For each bridge, the communes it **isolates**: those on the side away from the most
   populous part, read off the tree of 2-edge-connected components.
3. For every other link, its **detour**: the shortest time between its two ends without it.
4. **Usage**: shortest-path trees from every commune; a link's usage is the share of the
   population-weighted commune pairs (``pop_s × pop_t``) routed over it.
5. **Delta** (``delta_s``): the population-weighted mean increase of a trip between two
   communes when the link is removed. ``usage × detour`` bounds it from above (every pair can
   take the detour); for the ``exact_top`` links of highest bound it is recomputed exactly
   (Dijkstra again from the communes whose tree uses the link: the others' times cannot change)
   within :data:`EXACT_BUDGET_S`, and ``exact`` says so.

Shortest paths run in compiled kernels (:mod:`._kernels`), bridges and components in igraph.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import igraph as ig
import numpy as np
import numpy.typing as npt
import pandas as pd

from territoria.errors import InvalidNetworkRequest
from territoria.kb._transaction import transaction
from territoria.networks import _kernels as kn
from territoria.networks._simplify import Links, contract
from territoria.networks.graph import NetworkInfo, RoadGraph, load_graph
from territoria.sources._framework import utc_now

__all__ = [
    "CommuneRedundancy",
    "CriticalLink",
    "CriticalityResult",
    "compute_criticality",
    "criticality",
]

#: detours longer than this (s) count as none: the link is all but a bridge
DETOUR_CAP_S = 4 * 3600.0
#: wall-clock seconds the exact recomputation of the top links may take
EXACT_BUDGET_S = 60.0


@dataclass(frozen=True)
class CriticalLink:
    """One link (a chain of edges between junctions) and what its loss costs."""

    edge: int
    edges: int
    name: str | None
    highway: str | None
    osm_bridge: bool
    is_bridge: bool
    usage: float
    detour_s: float | None
    delta_s: float | None
    exact: bool
    isolated: list[tuple[str, str, int]]
    isolated_population: int


@dataclass(frozen=True)
class CommuneRedundancy:
    """How many single link failures cut a commune off (0: every link has a way round)."""

    code: str
    name: str
    population: int
    cutting_links: int


@dataclass(frozen=True)
class CriticalityResult:
    """The critical links of a network (best first) and the communes' redundancy."""

    network: NetworkInfo
    computed_at: datetime
    cached: bool
    edges: int
    links: int
    bridges: int
    articulation_points: int
    top: list[CriticalLink]
    redundancy: list[CommuneRedundancy]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Computed:
    links: Links
    is_bridge: npt.NDArray[np.bool_]
    isolated: dict[int, npt.NDArray[np.int64]]
    detour: npt.NDArray[np.float64]
    usage: npt.NDArray[np.float64]
    delta: npt.NDArray[np.float64]
    exact: npt.NDArray[np.bool_]
    articulation_points: int


def _edges(con: duckdb.DuckDBPyConnection, network_id: int) -> dict[str, npt.NDArray[np.generic]]:
    return con.execute(
        "SELECT edge, u, v, time_s FROM network_edge WHERE network_id = ? ORDER BY edge",
        [network_id],
    ).fetchnumpy()


def _bridge_sides(
    n: int, links: Links, valid: npt.NDArray[np.int64], bridges: npt.NDArray[np.int64],
    rg: RoadGraph,
) -> dict[int, npt.NDArray[np.int64]]:  # fmt: skip
    """Per bridge link: the communes (indices in ``rg.codes``) it cuts from the larger part."""
    if not len(bridges):
        return {}
    rest = np.setdiff1d(valid, bridges)
    g = ig.Graph(n=n, edges=np.column_stack([links.la[rest], links.lb[rest]]).tolist())
    comp = np.asarray(g.connected_components().membership, dtype=np.int64)
    k = int(comp.max()) + 1
    weight = np.bincount(comp[rg.rep], weights=rg.population + 1.0, minlength=k).astype(float)
    pa, pb = comp[links.la[bridges]], comp[links.lb[bridges]]
    tree = ig.Graph(n=k, edges=np.column_stack([pa, pb]).tolist())
    pos, size, parent = _preorder(tree, weight)
    rep_pos = pos[comp[rg.rep]]
    order = np.argsort(rep_pos)
    sorted_pos = rep_pos[order]
    out: dict[int, npt.NDArray[np.int64]] = {}
    for b, x, y in zip(bridges.tolist(), pa.tolist(), pb.tolist(), strict=True):
        child = y if parent[y] == x else x
        lo = np.searchsorted(sorted_pos, pos[child], side="left")
        hi = np.searchsorted(sorted_pos, pos[child] + size[child], side="left")
        out[b] = np.sort(order[lo:hi])
    return out


def _preorder(
    tree: ig.Graph, weight: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Global preorder position, subtree size and parent of each node of the forest ``tree``.

    Each tree is rooted at its heaviest node (the part holding the most population).
    """
    k = tree.vcount()
    pos = np.zeros(k, dtype=np.int64)
    size = np.ones(k, dtype=np.int64)
    parent = np.full(k, -1, dtype=np.int64)
    members = np.asarray(tree.connected_components().membership, dtype=np.int64)
    roots = np.full(members.max() + 1, -1, dtype=np.int64)
    best = np.lexsort((-weight, members))
    first = np.r_[True, members[best][1:] != members[best][:-1]]
    roots[members[best][first]] = best[first]
    offset = 0
    for root in roots.tolist():
        vids, parents = tree.dfs(root)
        vids_a = np.asarray(vids, dtype=np.int64)
        par = np.asarray(parents, dtype=np.int64)  # aligned with the visit order
        pos[vids_a] = offset + np.arange(len(vids_a))
        parent[vids_a] = np.where(vids_a == root, -1, par)
        for v in vids_a[::-1].tolist():  # children before parents
            if parent[v] >= 0:
                size[parent[v]] += size[v]
        offset += len(vids_a)
    return pos, size, parent


def _compute(con: duckdb.DuckDBPyConnection, rg: RoadGraph, exact_top: int,
             timings: dict[str, float]) -> _Computed:  # fmt: skip
    t0 = time.perf_counter()
    e = _edges(con, rg.info.id)
    n = rg.graph.vcount()
    u, v = e["u"].astype(np.int64), e["v"].astype(np.int64)
    links = contract(n, u, v, e["time_s"].astype(np.float64), rg.rep)
    valid = np.flatnonzero(links.la >= 0)
    s = ig.Graph(n=n, edges=np.column_stack([links.la[valid], links.lb[valid]]).tolist())
    bridges = valid[np.asarray(s.bridges(), dtype=np.int64)]
    is_bridge = np.zeros(links.count, dtype=bool)
    is_bridge[bridges] = True
    isolated = _bridge_sides(n, links, valid, bridges, rg)
    points = len(s.articulation_points())
    timings["contract_bridges"] = round(time.perf_counter() - t0, 3)
    g = kn.csr(n, links.la[valid], links.lb[valid], links.weight[valid])
    lid = valid[g[3]]
    indptr, nbr, wt = g[0], g[1], g[2]
    t0 = time.perf_counter()
    detour = np.full(links.count, np.inf)
    detour[valid] = kn.local_detours(indptr, nbr, wt, lid, links.la, links.lb, DETOUR_CAP_S)[valid]
    # a link on no shortest path has a shorter way round: its loss costs nothing
    detour = np.maximum(detour - links.weight, 0.0)
    detour[is_bridge] = np.inf
    timings["detours"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    pop = rg.population.astype(np.float64)
    dist, plink = kn.trees(indptr, nbr, wt, lid, rg.rep)
    used = kn.usage(dist, plink, links.la, links.lb, rg.rep, pop, links.count)
    reach = np.isfinite(dist[:, rg.rep])
    total = float((np.outer(pop, pop) * reach).sum() - (pop * pop * reach.diagonal()).sum())
    total = total or 1.0
    timings["usage"] = round(time.perf_counter() - t0, 3)
    delta = np.where(is_bridge, np.nan, used * np.where(np.isfinite(detour), detour, 0) / total)
    exact = _exact(indptr, nbr, wt, lid, rg, pop, dist, plink, delta, total, exact_top, timings)
    return _Computed(links, is_bridge, isolated, detour, used / total, delta, exact, points)


def _exact(indptr: npt.NDArray[np.int64], nbr: npt.NDArray[np.int64],
           wt: npt.NDArray[np.float64], lid: npt.NDArray[np.int64], rg: RoadGraph,
           pop: npt.NDArray[np.float64], dist: npt.NDArray[np.float64],
           plink: npt.NDArray[np.int64], delta: npt.NDArray[np.float64], total: float,
           top: int, timings: dict[str, float]) -> npt.NDArray[np.bool_]:  # fmt: skip
    """Recompute ``delta`` exactly (in place) for the ``top`` links of highest bound."""
    t0 = time.perf_counter()
    exact = np.zeros(len(delta), dtype=bool)
    exact[np.nan_to_num(delta, nan=1.0) == 0] = True  # on no tree: no pair can be slower
    order = np.argsort(-np.nan_to_num(delta, nan=-1.0))[:top]
    for link in order.tolist():
        # the budget bounds the run on a département: each exact link costs one Dijkstra per
        # commune whose tree uses it (about 30 s per link at 200,000 edges on a busy machine)
        if not delta[link] > 0 or time.perf_counter() - t0 > EXACT_BUDGET_S:
            break
        sources = np.flatnonzero((plink == link).any(axis=1)).astype(np.int64)
        got = kn.removal_delta(indptr, nbr, wt, lid, rg.rep, pop, dist, sources, link)
        delta[link], exact[link] = got / total, True
    timings["exact"] = round(time.perf_counter() - t0, 3)
    return exact


def _store(con: duckdb.DuckDBPyConnection, rg: RoadGraph, c: _Computed) -> datetime:
    now = utc_now()
    lk = c.links.link_of_edge
    codes = {b: [str(rg.codes[i]) for i in idx] for b, idx in c.isolated.items() if len(idx)}
    pops = {b: int(rg.population[idx].sum()) for b, idx in c.isolated.items()}
    detour = np.where(np.isfinite(c.detour), c.detour, np.nan)[lk]
    frame = pd.DataFrame({
        "network_id": rg.info.id, "version": rg.info.version, "edge": np.arange(len(lk)),
        "link": lk, "is_bridge": c.is_bridge[lk], "usage": c.usage[lk],
        "detour_s": detour, "delta_s": c.delta[lk], "exact": c.exact[lk],
        "isolated_communes": [len(codes.get(int(x), [])) for x in lk.tolist()],
        "isolated_population": [pops.get(int(x), 0) for x in lk.tolist()],
        "isolated_codes": [codes.get(int(x)) for x in lk.tolist()],
        "computed_at": now,
    })  # fmt: skip
    con.register("c_frame", frame)
    try:
        with transaction(con):
            con.execute("DELETE FROM network_criticality WHERE network_id = ?", [rg.info.id])
            con.execute("INSERT INTO network_criticality BY NAME SELECT * FROM c_frame")
    finally:
        con.unregister("c_frame")
    return now


def compute_criticality(
    con: duckdb.DuckDBPyConnection, network: int | str, *, exact_top: int = 20
) -> dict[str, float]:
    """Compute the criticality of every link of ``network`` and cache it; return timings."""
    rg = load_graph(con, network)
    timings: dict[str, float] = {}
    computed = _compute(con, rg, exact_top, timings)
    t0 = time.perf_counter()
    _store(con, rg, computed)
    timings["store"] = round(time.perf_counter() - t0, 3)
    timings["articulation_points"] = float(computed.articulation_points)
    return timings


def criticality(
    con: duckdb.DuckDBPyConnection,
    network: int | str,
    *,
    top: int = 20,
    communes: list[str] | None = None,
    recompute: bool = False,
    exact_top: int = 20,
    compute: bool = True,
) -> CriticalityResult:
    """The ``top`` critical links of ``network`` (of ``communes`` only, when given).

    Read from the cache when it matches the network's version; computed (and cached) otherwise,
    unless ``compute`` is false (readers of the web app): then :class:`InvalidNetworkRequest`.
    """
    from territoria.networks._criticality_read import read_result

    rg = load_graph(con, network)
    row = con.execute(
        "SELECT count(*) FROM network_criticality WHERE network_id = ? AND version = ?",
        [rg.info.id, rg.info.version],
    ).fetchone()
    timings: dict[str, float] = {}
    cached = bool(row and row[0]) and not recompute
    if not cached and not compute:
        msg = (
            f"the criticality of network {rg.info.name!r} is not computed yet: run "
            f"'territoria networks criticality {rg.info.id}' once (it is then cached)"
        )
        raise InvalidNetworkRequest(msg)
    if not cached:
        timings = compute_criticality(con, rg.info.id, exact_top=exact_top)
    return read_result(con, rg, top=top, communes=communes, cached=cached, timings=timings)
