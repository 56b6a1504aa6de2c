"""Reverse-reachable (RR) set sampling, compiled with numba (coverage: ``_coverage``).

An RR set is drawn by picking a root target at random (with probability proportional to its
weight) and collecting every node that reaches it in a random live-edge world: under the
independent-cascade (IC) model each in-edge ``u -> v`` is live with probability ``p(u, v)``;
under the linear-threshold (LT) model each node keeps at most one in-edge, ``u -> v`` with
probability ``w(u, v)``. For any seed set ``S``, ``W * Pr[S meets an RR set]`` is its expected
weighted number of targets reached, ``W`` being the total target weight (Borgs et al. 2014).

Every RR set has its own random stream derived from ``(seed, set index)``, so a collection
is the same whatever the number of threads or chunks that drew it. Sets are stored flat:
set ``i`` is ``members[offsets[i]:offsets[i + 1]]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from territoria.influence._coverage import (
    _first_cover_parallel,
    coverage_by_rank,
    greedy_cover,
    reaching,
)

IC = 0
LT = 1

_MASK64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
# below this in-degree a coin per edge is cheaper than geometric skipping
_SKIP_MIN_DEGREE = 8
# below this many set members (or RR-set entries scanned) one thread is faster than waking more
_PARALLEL_WORK = 200_000


# --------------------------------------------------------------------------- random numbers
def stream_seed(seed: int, stream: int) -> int:
    """Return a 64-bit base seed for random stream ``stream`` of user seed ``seed``."""

    def mix(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    return mix((mix(seed & _MASK64) + 0x9E3779B97F4A7C15 * (stream + 1)) & _MASK64)


@njit(cache=True, inline="always")  # type: ignore[misc]
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")  # type: ignore[misc]
def seed_state(state: NDArray[np.uint64], base: np.uint64, index: int) -> None:
    """Seed the one-word SplitMix64 ``state`` for item ``index`` of stream ``base``."""
    state[0] = _mix(base ^ _mix(np.uint64(index) * _GOLDEN + _GOLDEN))


@njit(cache=True, inline="always")  # type: ignore[misc]
def uniform(state: NDArray[np.uint64]) -> float:
    """Return a uniform float in ``[0, 1)`` from the SplitMix64 ``state``."""
    state[0] += _GOLDEN
    return float(_mix(state[0]) >> _S11) * _TO_UNIT


# --------------------------------------------------------------------------- sampling
@njit(cache=True)  # type: ignore[misc]
def _one_set(
    rindptr: NDArray[np.int64],
    rindices: NDArray[np.int32],
    rprob: NDArray[np.float64],
    skip_log: NDArray[np.float64],
    root_nodes: NDArray[np.int32],
    root_cdf: NDArray[np.float64],
    model: int,
    state: NDArray[np.uint64],
    out: NDArray[np.int32],
    pos: int,
    end: int,
    stamp: NDArray[np.int32],
    mark: int,
) -> int:
    """Write one RR set at ``out[pos:]``; return its size, or -1 if it does not fit."""
    j = np.searchsorted(root_cdf, uniform(state), "right")
    if j >= root_nodes.shape[0]:
        j = root_nodes.shape[0] - 1
    root = root_nodes[j]
    if pos >= end:
        return -1
    out[pos] = root
    stamp[root] = mark
    tail = pos + 1
    if model == IC:
        head = pos
        while head < tail:
            v = out[head]
            head += 1
            a = rindptr[v]
            b = rindptr[v + 1]
            lg = skip_log[v]
            if lg < 0.0:
                # equal in-probabilities: jump straight to the next live edge (geometric gap)
                e = a
                while True:
                    gap = math.log(1.0 - uniform(state)) / lg
                    if gap >= b - e:
                        break
                    e += int(gap)
                    w = rindices[e]
                    if stamp[w] != mark:
                        if tail >= end:
                            return -1
                        stamp[w] = mark
                        out[tail] = w
                        tail += 1
                    e += 1
            else:
                for e in range(a, b):
                    w = rindices[e]
                    if stamp[w] != mark:
                        p = rprob[e]
                        if p >= 1.0 or (p > 0.0 and uniform(state) < p):
                            if tail >= end:
                                return -1
                            stamp[w] = mark
                            out[tail] = w
                            tail += 1
    else:
        v = root
        while True:
            a = rindptr[v]
            b = rindptr[v + 1]
            if a == b:
                break
            x = uniform(state)
            acc = 0.0
            chosen = -1
            for e in range(a, b):
                acc += rprob[e]
                if x < acc:
                    chosen = rindices[e]
                    break
            if chosen < 0 or stamp[chosen] == mark:
                break
            if tail >= end:
                return -1
            stamp[chosen] = mark
            out[tail] = chosen
            tail += 1
            v = chosen
    return tail - pos


@njit(cache=True)  # type: ignore[misc]
def _sample_chunk(
    c: int,
    rindptr: NDArray[np.int64],
    rindices: NDArray[np.int32],
    rprob: NDArray[np.float64],
    skip_log: NDArray[np.float64],
    root_nodes: NDArray[np.int32],
    root_cdf: NDArray[np.float64],
    model: int,
    base: np.uint64,
    starts: NDArray[np.int64],
    counts: NDArray[np.int64],
    cap: int,
    out: NDArray[np.int32],
    sizes: NDArray[np.int64],
    size_offsets: NDArray[np.int64],
    done: NDArray[np.int64],
) -> None:
    """Draw sets ``starts[c] .. starts[c] + counts[c] - 1`` into chunk ``c`` of ``out``.

    Chunk ``c`` writes its sets one after another in ``out[c * cap:(c + 1) * cap]`` and
    their sizes at ``sizes[size_offsets[c]:]``; it stops early when the next set does not
    fit and reports how many sets it finished in ``done[c]``.
    """
    n = rindptr.shape[0] - 1
    stamp = np.zeros(n, dtype=np.int32)
    state = np.zeros(1, dtype=np.uint64)
    pos = c * cap
    end = pos + cap
    finished = 0
    for j in range(counts[c]):
        seed_state(state, base, starts[c] + j)
        size = _one_set(
            rindptr,
            rindices,
            rprob,
            skip_log,
            root_nodes,
            root_cdf,
            model,
            state,
            out,
            pos,
            end,
            stamp,
            j + 1,
        )
        if size < 0:
            break
        sizes[size_offsets[c] + j] = size
        pos += size
        finished += 1
    done[c] = finished


@njit(cache=True, parallel=True)  # type: ignore[misc]
def _sample_chunks_parallel(
    rindptr: NDArray[np.int64],
    rindices: NDArray[np.int32],
    rprob: NDArray[np.float64],
    skip_log: NDArray[np.float64],
    root_nodes: NDArray[np.int32],
    root_cdf: NDArray[np.float64],
    model: int,
    base: np.uint64,
    starts: NDArray[np.int64],
    counts: NDArray[np.int64],
    cap: int,
    out: NDArray[np.int32],
    sizes: NDArray[np.int64],
    size_offsets: NDArray[np.int64],
    done: NDArray[np.int64],
) -> None:
    """Run :func:`_sample_chunk` for every chunk, in parallel."""
    for c in prange(starts.shape[0]):
        _sample_chunk(
            c,
            rindptr,
            rindices,
            rprob,
            skip_log,
            root_nodes,
            root_cdf,
            model,
            base,
            starts,
            counts,
            cap,
            out,
            sizes,
            size_offsets,
            done,
        )


@njit(cache=True)  # type: ignore[misc]
def _sample_chunks_serial(
    rindptr: NDArray[np.int64],
    rindices: NDArray[np.int32],
    rprob: NDArray[np.float64],
    skip_log: NDArray[np.float64],
    root_nodes: NDArray[np.int32],
    root_cdf: NDArray[np.float64],
    model: int,
    base: np.uint64,
    starts: NDArray[np.int64],
    counts: NDArray[np.int64],
    cap: int,
    out: NDArray[np.int32],
    sizes: NDArray[np.int64],
    size_offsets: NDArray[np.int64],
    done: NDArray[np.int64],
) -> None:
    """Run :func:`_sample_chunk` for every chunk in the calling thread (small draws)."""
    for c in range(starts.shape[0]):
        _sample_chunk(
            c,
            rindptr,
            rindices,
            rprob,
            skip_log,
            root_nodes,
            root_cdf,
            model,
            base,
            starts,
            counts,
            cap,
            out,
            sizes,
            size_offsets,
            done,
        )


@dataclass(frozen=True)
class Sampler:
    """What RR sampling needs from a graph and a target distribution, as flat arrays."""

    rindptr: NDArray[np.int64]
    rindices: NDArray[np.int32]
    rprob: NDArray[np.float64]
    skip_log: NDArray[np.float64]
    root_nodes: NDArray[np.int32]
    root_cdf: NDArray[np.float64]
    model: int

    @classmethod
    def build(
        cls,
        rindptr: NDArray[np.int64],
        rindices: NDArray[np.int32],
        rprob: NDArray[np.float64],
        root_nodes: NDArray[np.int32],
        root_weights: NDArray[np.float64],
        model: int,
    ) -> Sampler:
        """Prepare sampling arrays; ``root_weights`` need not be normalised."""
        n = rindptr.shape[0] - 1
        deg = np.diff(rindptr)
        skip_log = np.zeros(n, dtype=np.float64)
        if model == IC and rprob.size:
            heads = rindptr[:-1][deg > 0]
            hi = np.maximum.reduceat(rprob, heads)
            lo = np.minimum.reduceat(rprob, heads)
            nodes = np.flatnonzero(deg > 0)
            ok = (hi == lo) & (hi > 0.0) & (hi < 1.0) & (deg[nodes] >= _SKIP_MIN_DEGREE)
            skip_log[nodes[ok]] = np.log1p(-hi[ok])
        cdf = np.cumsum(root_weights, dtype=np.float64)
        cdf /= cdf[-1]
        return cls(
            rindptr=rindptr,
            rindices=rindices,
            rprob=rprob,
            skip_log=skip_log,
            root_nodes=root_nodes.astype(np.int32),
            root_cdf=cdf,
            model=model,
        )

    def sample(
        self, base: int, first: int, count: int, *, mean_size: float = 4.0
    ) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
        """Draw RR sets ``first .. first + count - 1`` of stream ``base``.

        ``mean_size`` is a guess of the mean set size, used to size the buffers.

        Returns
        -------
        sizes, members
            The size of every set and their members, concatenated in set order.
        """
        n = self.rindptr.shape[0] - 1
        sizes = np.zeros(count, dtype=np.int64)
        pieces: dict[int, NDArray[np.int32]] = {}
        n_chunks = max(1, min(4 * numba.get_num_threads(), count // 64))
        counts = np.full(n_chunks, count // n_chunks, dtype=np.int64)
        counts[: count % n_chunks] += 1
        starts = first + np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        mean = max(mean_size, 1.0)
        while counts.size:
            # room for the expected sizes plus one largest-possible set, so every chunk
            # finishes at least one set per pass
            cap = int(1.25 * mean * int(counts.max())) + n + 16
            out = np.empty(counts.size * cap, dtype=np.int32)
            done = np.zeros(counts.size, dtype=np.int64)
            # a parallel region costs a thread wake-up: not worth it for small draws
            kernel = (
                _sample_chunks_parallel if count * mean > _PARALLEL_WORK else _sample_chunks_serial
            )
            kernel(
                self.rindptr,
                self.rindices,
                self.rprob,
                self.skip_log,
                self.root_nodes,
                self.root_cdf,
                self.model,
                np.uint64(base),
                starts,
                counts,
                cap,
                out,
                sizes,
                starts - first,
                done,
            )
            for c in range(counts.size):
                lo = int(starts[c] - first)
                used = int(sizes[lo : lo + done[c]].sum())
                pieces[int(starts[c])] = out[c * cap : c * cap + used].copy()
            del out
            # unfinished chunks are redrawn from their first missing set with more room;
            # sets depend only on their index, so the result does not depend on chunking
            left = done < counts
            starts = (starts + done)[left]
            counts = (counts - done)[left]
            mean *= 2.0
        members = np.concatenate([pieces[key] for key in sorted(pieces)])
        return sizes, members


class RRCollection:
    """A growing collection of RR sets from one random stream."""

    def __init__(self, sampler: Sampler, base: int) -> None:
        self.sampler = sampler
        self.base = base
        self.offsets = np.zeros(1, dtype=np.int64)
        self.members = np.empty(0, dtype=np.int32)

    @property
    def size(self) -> int:
        """Number of RR sets held."""
        return int(self.offsets.shape[0] - 1)

    def grow_to(self, total: int) -> None:
        """Draw more sets until the collection holds ``total`` of them."""
        extra = total - self.size
        if extra <= 0:
            return
        mean = self.members.size / self.size if self.size else 4.0
        sizes, members = self.sampler.sample(self.base, self.size, extra, mean_size=mean)
        self.offsets = np.concatenate([self.offsets, self.offsets[-1] + np.cumsum(sizes)])
        self.members = np.concatenate([self.members, members])


def warm_up() -> None:
    """Compile (or load from cache) every kernel of this module on a three-node graph."""
    rindptr = np.array([0, 0, 1, 2], dtype=np.int64)
    rindices = np.array([0, 1], dtype=np.int32)
    rprob = np.array([0.5, 0.5], dtype=np.float64)
    roots = np.arange(3, dtype=np.int32)
    for model in (IC, LT):
        sampler = Sampler.build(rindptr, rindices, rprob, roots, np.ones(3), model)
        rr = RRCollection(sampler, stream_seed(0, 0))
        rr.grow_to(8)
        one = np.ones(1, dtype=np.int64)
        _sample_chunks_parallel(
            rindptr,
            rindices,
            rprob,
            sampler.skip_log,
            sampler.root_nodes,
            sampler.root_cdf,
            model,
            np.uint64(1),
            one,
            one,
            8,
            np.empty(8, dtype=np.int32),
            np.zeros(2, dtype=np.int64),
            one - 1,
            np.zeros(1, dtype=np.int64),
        )
    cands = np.arange(3, dtype=np.int64)
    greedy_cover(rr.offsets, rr.members, 3, cands, k=1)
    greedy_cover(rr.offsets, rr.members, 3, cands, costs=np.ones(3), budget=1.0)
    coverage_by_rank(rr.offsets, rr.members, np.array([0], dtype=np.int64), 3)
    rank = np.zeros(3, dtype=np.int64)
    _first_cover_parallel(rr.offsets, rr.members, rank, np.empty(rr.size, dtype=np.int64), 2)
    reaching(rindptr, rindices, rprob, np.array([False, False, True]))
