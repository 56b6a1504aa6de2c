"""Forward simulation of influence cascades, and exact spreads on tiny graphs.

The *spread* of a seed set is the expected weighted number of targets it activates. Monte
Carlo (:func:`simulate`) estimates it from independent cascades, compiled with numba and run
in parallel; :func:`exact_spread` computes it exactly by enumerating every live-edge world,
which is only possible on graphs with a handful of uncertain edges (it is the oracle the
tests hold the optimiser to).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from territoria.errors import InvalidPlanRequest, TooManyWorlds, UnknownNode
from territoria.influence._rrsets import IC, LT, seed_state, stream_seed, uniform
from territoria.influence.graph import InfluenceGraph

__all__ = [
    "SpreadEstimate",
    "activation_probabilities",
    "exact_spread",
    "exact_spreads",
    "simulate",
]

Model = Literal["ic", "lt"]
MAX_WORLDS = 1 << 22
PILOT_CASCADES = 64
# below this many edge visits one thread is faster than waking the others
PARALLEL_WORK = 500_000


@dataclass(frozen=True)
class SpreadEstimate:
    """A Monte-Carlo estimate of a spread.

    Attributes
    ----------
    mean
        Mean weighted number of targets activated per cascade.
    ci95
        Normal-approximation 95 % confidence interval of the mean.
    std
        Standard deviation of one cascade's value.
    samples
        Number of cascades.
    """

    mean: float
    ci95: tuple[float, float]
    std: float
    samples: int
    #: with ``track``: the share of cascades activating each tracked node, in ``track``'s order
    activation: tuple[float, ...] = ()


@njit(cache=True)  # type: ignore[misc]
def _cascade_range(
    indptr: NDArray[np.int64],
    indices: NDArray[np.int32],
    prob: NDArray[np.float64],
    seeds: NDArray[np.int64],
    weight: NDArray[np.float64],
    model: int,
    base: np.uint64,
    lo: int,
    hi: int,
    values: NDArray[np.float64],
    slot: NDArray[np.int64],
    counts: NDArray[np.int64],
) -> int:
    """Run cascades ``lo .. hi - 1`` from ``seeds``, storing each one's weighted activated
    count in ``values``; return the number of edges examined (the work done).

    When ``slot`` is not empty, also add 1 to ``counts[slot[v]]`` for every tracked node
    ``v`` (``slot[v] >= 0``) a cascade activates."""
    n = indptr.shape[0] - 1
    active = np.zeros(n, dtype=np.int32)
    touched = np.zeros(n, dtype=np.int32)
    acc = np.zeros(n, dtype=np.float64)
    threshold = np.zeros(n, dtype=np.float64)
    queue = np.empty(n, dtype=np.int32)
    state = np.zeros(1, dtype=np.uint64)
    work = 0
    for i in range(lo, hi):
        mark = i - lo + 1
        seed_state(state, base, i)
        tail = 0
        total = 0.0
        for s in seeds:
            if active[s] != mark:
                active[s] = mark
                queue[tail] = s
                tail += 1
                total += weight[s]
        head = 0
        while head < tail:
            u = queue[head]
            head += 1
            work += indptr[u + 1] - indptr[u]
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                if active[v] == mark:
                    continue
                if model == IC:
                    p = prob[e]
                    fire = p >= 1.0 or (p > 0.0 and uniform(state) < p)
                else:
                    if touched[v] != mark:
                        # threshold drawn on first touch: same law as drawing all upfront
                        touched[v] = mark
                        acc[v] = 0.0
                        threshold[v] = 1.0 - uniform(state)
                    acc[v] += prob[e]
                    fire = acc[v] >= threshold[v]
                if fire:
                    active[v] = mark
                    queue[tail] = v
                    tail += 1
                    total += weight[v]
        values[i] = total
        if slot.shape[0] > 0:
            for j in range(tail):
                k = slot[queue[j]]
                if k >= 0:
                    counts[k] += 1
    return work


@njit(cache=True, parallel=True)  # type: ignore[misc]
def _cascades_parallel(
    indptr: NDArray[np.int64],
    indices: NDArray[np.int32],
    prob: NDArray[np.float64],
    seeds: NDArray[np.int64],
    weight: NDArray[np.float64],
    model: int,
    base: np.uint64,
    lo: int,
    hi: int,
    values: NDArray[np.float64],
    n_chunks: int,
    slot: NDArray[np.int64],
    counts: NDArray[np.int64],
) -> None:
    """Run cascades ``lo .. hi - 1`` in ``n_chunks`` parallel chunks (chunk ``c`` counts
    activations in ``counts[c]``, see :func:`_cascade_range`)."""
    per = (hi - lo + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        start = lo + c * per
        stop = min(hi, start + per)
        if start < stop:
            _cascade_range(
                indptr, indices, prob, seeds, weight, model, base, start, stop, values,
                slot, counts[c],
            )  # fmt: skip


def _run_cascades(
    graph: InfluenceGraph,
    seeds: NDArray[np.int64],
    weight: NDArray[np.float64],
    model: int,
    base: int,
    count: int,
    track: NDArray[np.int64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Run ``count`` cascades; every cascade's value depends only on ``(base, index)``.

    Returns each cascade's value and, for every node position of ``track``, the number of
    cascades that activated it.
    """
    values = np.empty(count, dtype=np.float64)
    slot = np.empty(0, dtype=np.int64)
    if track is not None and track.size:
        slot = np.full(graph.n_nodes, -1, dtype=np.int64)
        slot[track] = np.arange(track.size, dtype=np.int64)
    chunks = 4 * numba.get_num_threads()
    counts = np.zeros((chunks + 1, max(1, track.size if track is not None else 0)), np.int64)
    args = (graph.indptr, graph.indices, graph.prob, seeds, weight, model, np.uint64(base))
    # a pilot run in this thread tells whether waking other threads is worth it
    pilot = min(count, PILOT_CASCADES)
    work = _cascade_range(*args, 0, pilot, values, slot, counts[chunks])
    expected = (work + pilot * (seeds.size + 1)) * (count - pilot) / max(pilot, 1)
    if expected > PARALLEL_WORK:
        _cascades_parallel(*args, pilot, count, values, chunks, slot, counts)
    elif count > pilot:
        _cascade_range(*args, pilot, count, values, slot, counts[chunks])
    total = counts.sum(axis=0)
    if track is None or not track.size:
        return values, total[:0]
    # a node listed twice in ``track`` was counted in its last slot
    return values, total[slot[track]]


def _model_code(graph: InfluenceGraph, model: str) -> int:
    if not graph.has_probabilities:
        msg = (
            "the graph has edges without a probability: call graph.weighted_cascade() or "
            "give the edge list a probability column"
        )
        raise InvalidPlanRequest(msg)
    if model == "ic":
        return IC
    if model == "lt":
        graph.check_linear_threshold()
        return LT
    msg = f"unknown diffusion model {model!r}: use 'ic' (independent cascade) or 'lt'"
    raise InvalidPlanRequest(msg)


def target_weights(
    graph: InfluenceGraph, targets: Mapping[int, float] | None
) -> NDArray[np.float64]:
    """Return the per-node target weight vector (all ones when ``targets`` is ``None``).

    Raises
    ------
    UnknownNode
        If a target is not a node position.
    InvalidPlanRequest
        If a weight is negative or not finite, or every weight is zero.
    """
    n = graph.n_nodes
    if targets is None:
        return np.ones(n, dtype=np.float64)
    weight = np.zeros(n, dtype=np.float64)
    for node, w in targets.items():
        if not 0 <= int(node) < n:
            msg = f"target {node!r} is not a node position (0..{n - 1}): use graph.index(id)"
            raise UnknownNode(msg)
        if not (math.isfinite(w) and w >= 0.0):
            msg = f"target {graph.ids[int(node)]!r} has weight {w!r}: use a finite weight >= 0"
            raise InvalidPlanRequest(msg)
        weight[int(node)] = float(w)
    if not weight.any():
        msg = "every target has weight 0: give at least one target a positive weight"
        raise InvalidPlanRequest(msg)
    return weight


def _seed_array(graph: InfluenceGraph, seeds: Sequence[int]) -> NDArray[np.int64]:
    arr = np.asarray(list(seeds), dtype=np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= graph.n_nodes):
        msg = f"seed positions {seeds!r} must lie in 0..{graph.n_nodes - 1}"
        raise UnknownNode(msg)
    return arr


def simulate(
    graph: InfluenceGraph,
    seeds: Sequence[int],
    *,
    targets: Mapping[int, float] | None = None,
    model: Model = "ic",
    samples: int = 10_000,
    seed: int = 0,
    track: Sequence[int] | None = None,
) -> SpreadEstimate:
    """Estimate the spread of ``seeds`` by forward Monte-Carlo simulation.

    Every cascade has its own random stream derived from ``(seed, cascade index)``, so the
    estimate is reproducible whatever the number of threads.

    Parameters
    ----------
    graph
        The influence graph (probabilities must be set).
    seeds
        Node positions activated at the start.
    targets
        Weight of each target node position; ``None`` counts every node with weight 1.
    model
        ``"ic"`` (independent cascade) or ``"lt"`` (linear threshold, thresholds uniform).
    samples
        Number of cascades.
    seed
        Random seed.
    track
        Node positions whose activation probability to estimate on the same cascades (what
        :func:`activation_probabilities` returns, without running the cascades twice).

    Returns
    -------
    SpreadEstimate
        Mean, 95 % confidence interval, standard deviation (and the tracked activations).
    """
    if samples < 2:
        msg = f"samples={samples!r}: a Monte-Carlo estimate needs at least 2 cascades"
        raise InvalidPlanRequest(msg)
    code = _model_code(graph, model)
    weight = target_weights(graph, targets)
    seed_arr = _seed_array(graph, seeds)
    tracked = _seed_array(graph, track) if track else None
    values, counts = _run_cascades(
        graph, seed_arr, weight, code, stream_seed(seed, 1000), samples, tracked
    )
    mean = float(values.mean())
    std = float(values.std(ddof=1))
    half = 1.96 * std / math.sqrt(samples)
    activation = tuple((counts / samples).tolist()) if tracked is not None else ()
    return SpreadEstimate(
        mean=mean, ci95=(mean - half, mean + half), std=std, samples=samples, activation=activation
    )


def activation_probabilities(
    graph: InfluenceGraph,
    seeds: Sequence[int],
    nodes: Sequence[int],
    *,
    model: Model = "ic",
    samples: int = 10_000,
    seed: int = 0,
) -> NDArray[np.float64]:
    """Estimate, for each of ``nodes``, the probability that a cascade from ``seeds`` activates
    it (the share of ``samples`` forward cascades in which it is active).

    The cascades are those of :func:`simulate` with the same ``seed``, so the weighted sum of
    these probabilities is exactly its estimate. A seed's own probability is 1.
    """
    if samples < 1:
        msg = f"samples={samples!r}: activation probabilities need at least 1 cascade"
        raise InvalidPlanRequest(msg)
    code = _model_code(graph, model)
    seed_arr = _seed_array(graph, seeds)
    track = _seed_array(graph, nodes)
    weight = np.zeros(graph.n_nodes, dtype=np.float64)
    _, counts = _run_cascades(
        graph, seed_arr, weight, code, stream_seed(seed, 1000), samples, track
    )
    return np.asarray(counts / samples, dtype=np.float64)


@njit(cache=True)  # type: ignore[misc]
def _enumerate_worlds(
    indptr: NDArray[np.int64],
    indices: NDArray[np.int32],
    group_ptr: NDArray[np.int64],
    opt_edge: NDArray[np.int64],
    opt_prob: NDArray[np.float64],
    fixed_live: NDArray[np.bool_],
    seed_sets: NDArray[np.int64],
    weight: NDArray[np.float64],
    n_worlds: int,
) -> NDArray[np.float64]:
    """Sum, over live-edge worlds, probability times weighted reach of every seed set.

    A world picks one option in every group (option ``-1`` keeps no edge); edges in
    ``fixed_live`` are live in every world.
    """
    n = indptr.shape[0] - 1
    n_groups = group_ptr.shape[0] - 1
    spreads = np.zeros(seed_sets.shape[0], dtype=np.float64)
    live = np.zeros(indices.shape[0], dtype=np.bool_)
    seen = np.zeros(n, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    mark = 0
    for world in range(n_worlds):
        live[:] = fixed_live
        p = 1.0
        rest = world
        for g in range(n_groups):
            size = group_ptr[g + 1] - group_ptr[g]
            o = group_ptr[g] + rest % size
            rest //= size
            p *= opt_prob[o]
            if opt_edge[o] >= 0:
                live[opt_edge[o]] = True
        if p == 0.0:
            continue
        for s in range(seed_sets.shape[0]):
            mark += 1
            tail = 0
            reach = 0.0
            for v in seed_sets[s]:
                if v >= 0 and seen[v] != mark:
                    seen[v] = mark
                    queue[tail] = v
                    tail += 1
                    reach += weight[v]
            head = 0
            while head < tail:
                u = queue[head]
                head += 1
                for e in range(indptr[u], indptr[u + 1]):
                    v = indices[e]
                    if live[e] and seen[v] != mark:
                        seen[v] = mark
                        queue[tail] = v
                        tail += 1
                        reach += weight[v]
            spreads[s] += p * reach
    return spreads


def _world_groups(
    graph: InfluenceGraph, code: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.bool_], int]:
    """Describe the random choices of a live-edge world as groups of exclusive options."""
    m = graph.n_edges
    fixed = np.zeros(m, dtype=np.bool_)
    sizes: list[int] = []
    edges: list[int] = []
    probs: list[float] = []
    if code == IC:
        fixed[:] = graph.prob >= 1.0
        for e in np.flatnonzero((graph.prob > 0.0) & (graph.prob < 1.0)).tolist():
            p = float(graph.prob[e])
            sizes.append(2)
            edges += [e, -1]
            probs += [p, 1.0 - p]
    else:
        for v in range(graph.n_nodes):
            lo, hi = int(graph.rindptr[v]), int(graph.rindptr[v + 1])
            options = [(int(graph.redge[j]), float(graph.rprob[j])) for j in range(lo, hi)]
            options = [(e, p) for e, p in options if p > 0.0]
            none = 1.0 - sum(p for _, p in options)
            if none > 1e-12:
                options.append((-1, none))
            if len(options) == 1 and options[0][0] >= 0:
                fixed[options[0][0]] = True
            elif len(options) > 1:
                sizes.append(len(options))
                edges += [e for e, _ in options]
                probs += [p for _, p in options]
    n_worlds = 1
    for size in sizes:
        n_worlds *= size
        if n_worlds > MAX_WORLDS:
            msg = (
                f"the graph has more than {MAX_WORLDS} live-edge worlds: exact spreads are "
                "for tiny graphs only; use simulate() instead"
            )
            raise TooManyWorlds(msg)
    group_ptr = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(np.asarray(sizes, dtype=np.int64), out=group_ptr[1:])
    return (
        group_ptr,
        np.asarray(edges, dtype=np.int64),
        np.asarray(probs, dtype=np.float64),
        fixed,
        n_worlds,
    )


def exact_spreads(
    graph: InfluenceGraph,
    seed_sets: Sequence[Sequence[int]],
    *,
    targets: Mapping[int, float] | None = None,
    model: Model = "ic",
) -> NDArray[np.float64]:
    """Return the exact spread of every seed set by enumerating all live-edge worlds.

    Under IC a world keeps each uncertain edge or not; under LT each node keeps one of its
    in-edges or none. Edges of probability 0 or 1 add no worlds.

    Raises
    ------
    TooManyWorlds
        If there are more than ``2**22`` worlds (about 22 uncertain IC edges).
    """
    code = _model_code(graph, model)
    weight = target_weights(graph, targets)
    width = max((len(s) for s in seed_sets), default=0)
    padded = np.full((len(seed_sets), max(width, 1)), -1, dtype=np.int64)
    for i, s in enumerate(seed_sets):
        padded[i, : len(s)] = _seed_array(graph, s)
    group_ptr, opt_edge, opt_prob, fixed, n_worlds = _world_groups(graph, code)
    result: NDArray[np.float64] = _enumerate_worlds(
        graph.indptr,
        graph.indices,
        group_ptr,
        opt_edge,
        opt_prob,
        fixed,
        padded,
        weight,
        n_worlds,
    )
    return result


def exact_spread(
    graph: InfluenceGraph,
    seeds: Sequence[int],
    *,
    targets: Mapping[int, float] | None = None,
    model: Model = "ic",
) -> float:
    """Return the exact spread of ``seeds`` (see :func:`exact_spreads`)."""
    return float(exact_spreads(graph, [seeds], targets=targets, model=model)[0])


def warm_up() -> None:
    """Compile (or load from cache) the simulation kernels on a three-node graph."""
    from territoria.influence.graph import from_edges

    g = from_edges(np.array([0, 1]), np.array([1, 2]), [0.5, 0.5])
    weight = np.ones(3)
    for model in ("ic", "lt"):
        simulate(g, [0], model=model, samples=32)  # type: ignore[arg-type]
        exact_spreads(g, [[0]], model=model)  # type: ignore[arg-type]
    for code in (IC, LT):
        values = np.empty(4)
        args = (g.indptr, g.indices, g.prob, np.zeros(1, dtype=np.int64), weight, code)
        counts = np.zeros((2, 1), dtype=np.int64)
        _cascades_parallel(*args, np.uint64(1), 0, 4, values, 2, np.empty(0, np.int64), counts)
    activation_probabilities(g, [0], [1, 2], samples=8)
