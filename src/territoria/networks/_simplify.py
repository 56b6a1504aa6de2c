"""Contract chains of degree-2 nodes into links (vectorised with NumPy and igraph).

A node of (undirected) degree 2 that represents no commune only continues a road: removing any
edge of a chain removes the whole chain, so criticality is computed once per chain ("link") and
given to each of its edges. Travel time of a link = the sum of its edges' (one-way restrictions
are not kept in criticality: a closed road is closed both ways).
"""

from __future__ import annotations

from dataclasses import dataclass

import igraph as ig
import numpy as np
import numpy.typing as npt

__all__ = ["Links", "contract"]


@dataclass(frozen=True)
class Links:
    """Per edge its link; per link its end nodes and travel time (``-1`` ends: a closed ring)."""

    link_of_edge: npt.NDArray[np.int64]
    la: npt.NDArray[np.int64]
    lb: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float64]

    @property
    def count(self) -> int:
        """The number of links."""
        return len(self.la)


def contract(
    n: int,
    u: npt.NDArray[np.int64],
    v: npt.NDArray[np.int64],
    time_s: npt.NDArray[np.float64],
    keep: npt.NDArray[np.int64],
) -> Links:
    """Contract the degree-2 chains of the graph ``u``–``v`` (``keep``: nodes never contracted)."""
    m = len(u)
    ends = np.concatenate([u, v])
    eid = np.concatenate([np.arange(m), np.arange(m)])
    degree = np.bincount(ends, minlength=n)
    loops = np.zeros(n, dtype=bool)
    loops[u[u == v]] = True
    chain = (degree == 2) & ~loops
    chain[keep] = False
    order = np.argsort(ends, kind="stable")
    at = ends[order]
    inner = chain[at]
    pairs = eid[order][inner].reshape(-1, 2)  # the two edges of each chain node, side by side
    h = ig.Graph(n=m, edges=pairs.tolist(), directed=False)
    link = np.asarray(h.connected_components().membership, dtype=np.int64)
    count = int(link.max()) + 1 if m else 0
    outer = ~chain[ends]
    lk, nodes = link[eid[outer]], ends[outer]
    srt = np.lexsort((nodes, lk))
    lk, nodes = lk[srt], nodes[srt]
    la = np.full(count, -1, dtype=np.int64)
    lb = np.full(count, -1, dtype=np.int64)
    first = np.r_[True, lk[1:] != lk[:-1]] if len(lk) else np.zeros(0, dtype=bool)
    last = np.r_[lk[1:] != lk[:-1], True] if len(lk) else np.zeros(0, dtype=bool)
    la[lk[first]], lb[lk[last]] = nodes[first], nodes[last]
    weight = np.bincount(link, weights=time_s, minlength=count).astype(np.float64)
    return Links(link, la, lb, weight)
