"""Greedy maximum coverage over RR sets, compiled with numba.

Given a collection of RR sets (``members[offsets[i]:offsets[i + 1]]`` is set ``i``), the
greedy picks the candidate covering the most uncovered sets, k times (or, with costs, the most
sets per unit of cost within a budget). It also computes the bounds OPIM-C needs.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

_PARALLEL_WORK = 200_000


@njit(cache=True)  # type: ignore[misc]
def _invert(
    offsets: NDArray[np.int64], members: NDArray[np.int32], n: int
) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """Return the node -> RR-set incidence lists (CSR) of a collection."""
    ptr = np.zeros(n + 1, dtype=np.int64)
    for j in range(members.shape[0]):
        ptr[members[j] + 1] += 1
    for v in range(n):
        ptr[v + 1] += ptr[v]
    fill = ptr[:-1].copy()
    sets = np.empty(members.shape[0], dtype=np.int32)
    for i in range(offsets.shape[0] - 1):
        for j in range(offsets[i], offsets[i + 1]):
            v = members[j]
            sets[fill[v]] = i
            fill[v] += 1
    return ptr, sets


@njit(cache=True)  # type: ignore[misc]
def _top_k_sum(deg: NDArray[np.int64], cand_nodes: NDArray[np.int64], k: int) -> float:
    vals = deg[cand_nodes]
    if k >= vals.shape[0]:
        return float(vals.sum())
    part = np.partition(vals, vals.shape[0] - k)
    return float(part[vals.shape[0] - k :].sum())


@njit(cache=True)  # type: ignore[misc]
def _knapsack_bound(
    deg: NDArray[np.int64], cand_nodes: NDArray[np.int64], costs: NDArray[np.float64], budget: float
) -> float:
    """Fractional-knapsack bound on the marginal coverage any affordable set can add."""
    m = 0
    ratio = np.empty(cand_nodes.shape[0], dtype=np.float64)
    nodes = np.empty(cand_nodes.shape[0], dtype=np.int64)
    for i in range(cand_nodes.shape[0]):
        v = cand_nodes[i]
        if deg[v] > 0 and costs[v] <= budget:
            ratio[m] = -deg[v] / costs[v]
            nodes[m] = v
            m += 1
    order = np.argsort(ratio[:m])
    left = budget
    total = 0.0
    for i in range(m):
        v = nodes[order[i]]
        if costs[v] <= left:
            total += deg[v]
            left -= costs[v]
        else:
            total += deg[v] * left / costs[v]
            break
    return total


@njit(cache=True)  # type: ignore[misc]
def _greedy(
    offsets: NDArray[np.int64],
    members: NDArray[np.int32],
    n: int,
    cand_nodes: NDArray[np.int64],
    costs: NDArray[np.float64],
    budget: float,
    k: int,
    unit: bool,
) -> tuple[NDArray[np.int64], NDArray[np.int64], int, float]:
    """Counter-based greedy maximum coverage (see :func:`greedy_cover`)."""
    ptr, sets = _invert(offsets, members, n)
    deg = ptr[1:] - ptr[:-1]
    covered = np.zeros(offsets.shape[0] - 1, dtype=np.bool_)
    max_steps = k if unit else cand_nodes.shape[0]
    seeds = np.empty(max_steps, dtype=np.int64)
    gains = np.empty(max_steps, dtype=np.int64)
    coverage = 0
    left = budget
    bound = np.inf
    # best single affordable candidate, for the budgeted guarantee
    single = -1
    if not unit:
        for i in range(cand_nodes.shape[0]):
            v = cand_nodes[i]
            if costs[v] <= budget and (single < 0 or deg[v] > deg[single]):
                single = v
    step = 0
    while True:
        best = -1
        if step < max_steps:
            best_score = 0.0
            for i in range(cand_nodes.shape[0]):
                v = cand_nodes[i]
                if deg[v] <= 0:
                    continue
                if unit:
                    score = float(deg[v])
                else:
                    if costs[v] > left:
                        continue
                    score = deg[v] / costs[v]
                if score > best_score:
                    best_score = score
                    best = v
        # every greedy state gives a valid bound: take it often early, then at powers of two
        if best < 0 or step < 64 or (step & (step - 1)) == 0:
            if unit:
                extra = _top_k_sum(deg, cand_nodes, k)
            else:
                extra = _knapsack_bound(deg, cand_nodes, costs, budget)
            bound = min(bound, coverage + extra)
        if best < 0:
            break
        gain = 0
        for j in range(ptr[best], ptr[best + 1]):
            s = sets[j]
            if not covered[s]:
                covered[s] = True
                gain += 1
                for q in range(offsets[s], offsets[s + 1]):
                    deg[members[q]] -= 1
        seeds[step] = best
        gains[step] = gain
        coverage += gain
        left -= costs[best]
        step += 1
    if not unit and single >= 0 and (ptr[single + 1] - ptr[single]) > coverage:
        seeds[0] = single
        gains[0] = ptr[single + 1] - ptr[single]
        return seeds[:1].copy(), gains[:1].copy(), int(gains[0]), bound
    return seeds[:step].copy(), gains[:step].copy(), coverage, bound


def greedy_cover(
    offsets: NDArray[np.int64],
    members: NDArray[np.int32],
    n: int,
    cand_nodes: NDArray[np.int64],
    *,
    k: int = 0,
    costs: NDArray[np.float64] | None = None,
    budget: float = 0.0,
) -> tuple[NDArray[np.int64], NDArray[np.int64], int, float]:
    """Greedy maximum coverage of RR sets, by cardinality or under a budget.

    With ``costs is None``, pick up to ``k`` candidates, each covering the most uncovered
    sets: a ``1 - 1/e`` approximation of the maximum coverage by ``k`` candidates
    (Nemhauser, Wolsey, Fisher 1978). With ``costs``, the cost-effective greedy repeatedly
    picks the affordable candidate with the most newly covered sets per unit of cost until
    none fits the remaining budget, and the result is compared with the best single
    affordable candidate; the better of the two covers at least ``1/2 (1 - 1/e)`` of the
    maximum coverage within the budget (Khuller, Moss, Naor 1999; Leskovec et al. 2007).
    Only ``cand_nodes`` may be chosen; the greedy stops early when no candidate adds anything.

    Returns
    -------
    seeds, gains, coverage, bound
        Chosen nodes in order, the sets each newly covered, the number of covered sets, and
        an upper bound on the coverage of *any* feasible set: the minimum over greedy states
        ``S_i`` of ``cov(S_i)`` plus the best sum of marginal coverages a feasible set could
        add (top-``k`` sum, or fractional knapsack), valid by submodularity (Tang et al. 2018).
    """
    unit = costs is None
    cost_arr = np.ones(n, dtype=np.float64) if costs is None else costs
    result: tuple[NDArray[np.int64], NDArray[np.int64], int, float] = _greedy(
        offsets, members, n, cand_nodes, cost_arr, float(budget), int(k), unit
    )
    return result


@njit(cache=True)  # type: ignore[misc]
def _first_cover_range(
    offsets: NDArray[np.int64],
    members: NDArray[np.int32],
    rank: NDArray[np.int64],
    out: NDArray[np.int64],
    lo: int,
    hi: int,
) -> None:
    """For sets ``lo .. hi - 1``, store the smallest rank among their members."""
    for i in range(lo, hi):
        best = rank.shape[0]
        for j in range(offsets[i], offsets[i + 1]):
            r = rank[members[j]]
            if r < best:
                best = r
        out[i] = best


@njit(cache=True, parallel=True)  # type: ignore[misc]
def _first_cover_parallel(
    offsets: NDArray[np.int64],
    members: NDArray[np.int32],
    rank: NDArray[np.int64],
    out: NDArray[np.int64],
    n_chunks: int,
) -> None:
    m = offsets.shape[0] - 1
    per = (m + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        _first_cover_range(offsets, members, rank, out, c * per, min(m, (c + 1) * per))


def coverage_by_rank(
    offsets: NDArray[np.int64], members: NDArray[np.int32], seeds: NDArray[np.int64], n: int
) -> NDArray[np.int64]:
    """Return how many RR sets each seed covers first, taking seeds in order."""
    # non-seeds rank after every seed, so a set without seeds gets rank len(seeds)
    rank = np.full(n, len(seeds), dtype=np.int64)
    rank[seeds[::-1]] = np.arange(len(seeds) - 1, -1, -1)
    m = offsets.shape[0] - 1
    first = np.empty(m, dtype=np.int64)
    if members.shape[0] > _PARALLEL_WORK:
        _first_cover_parallel(offsets, members, rank, first, 4 * numba.get_num_threads())
    else:
        _first_cover_range(offsets, members, rank, first, 0, m)
    first = first[first < len(seeds)]
    counts: NDArray[np.int64] = np.bincount(first, minlength=len(seeds)).astype(np.int64)
    return counts


@njit(cache=True)  # type: ignore[misc]
def reaching(
    rindptr: NDArray[np.int64],
    rindices: NDArray[np.int32],
    rprob: NDArray[np.float64],
    start: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """Return the nodes with a path of positive-probability edges to a ``start`` node."""
    n = rindptr.shape[0] - 1
    seen = start.copy()
    queue = np.empty(n, dtype=np.int64)
    tail = 0
    for v in range(n):
        if seen[v]:
            queue[tail] = v
            tail += 1
    head = 0
    while head < tail:
        v = queue[head]
        head += 1
        for e in range(rindptr[v], rindptr[v + 1]):
            u = rindices[e]
            if rprob[e] > 0.0 and not seen[u]:
                seen[u] = True
                queue[tail] = u
                tail += 1
    return seen
