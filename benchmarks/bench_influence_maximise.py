"""Benchmark of the influence-maximisation optimiser (OPIM-C over RR sets).

(a) Scale: a synthetic directed power-law graph (100,000 nodes, 1,000,000 edges), weighted
    cascade probabilities, k = 50, epsilon = 0.1, delta = 0.01: optimiser time, RR sets and
    peak memory (resident set size from ``resource.getrusage``, which sees numba's arrays).
(b) Baseline in the same process: on a graph of the same family with 5,000 nodes and 20,000
    edges, weighted cascade, k = 50, the classical CELF greedy (Leskovec et al. 2007) with
    Monte-Carlo estimates of 1,000 cascades each, against OPIM-C (default, and starting from
    10,000 RR sets per collection). Every seed set is then scored by the same 20,000-cascade
    simulation (same random streams for all, so the comparison has little noise).

Graphs come from a seeded directed Chung-Lu generator (:func:`power_law_digraph`): node
``i`` has expected out- and in-degree proportional to ``(i + 1) ** (-1 / (exponent - 1))``
(randomly permuted and independent for out and in), giving power-law degree tails of
exponent 2.5; self-loops and duplicate edges are dropped and redrawn.

Run: ``python benchmarks/bench_influence_maximise.py [--quick]`` (about 3 minutes on 2 cores,
mostly CELF and the Monte-Carlo checks; ``--quick``: 10,000 nodes / 100,000 edges for (a),
1,000 nodes / 4,000 edges and k = 10 for (b), about 10 seconds).
"""

from __future__ import annotations

import argparse
import heapq
import os
import platform
import resource
import sys
import time

# OpenMP's default spin-then-sleep wait costs milliseconds per parallel region on a busy
# 2-core machine; both methods below run many parallel regions, so wait passively
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba
import numpy as np
from numpy.typing import NDArray

from territoria.influence import (
    InfluenceGraph,
    SpreadEstimate,
    from_edges,
    maximise,
    simulate,
)
from territoria.influence.optimiser import _ensure_compiled

EVAL_CASCADES = 20_000
CELF_CASCADES = 1_000
MIN_RR_SETS = 10_000


def power_law_digraph(
    n: int, m: int, *, exponent: float = 2.5, seed: int = 0
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return ``m`` distinct directed edges of a Chung-Lu power-law graph on ``n`` nodes."""
    rng = np.random.default_rng(seed)
    w = (np.arange(n) + 1.0) ** (-1.0 / (exponent - 1.0))
    p_out = rng.permutation(w)
    p_out /= p_out.sum()
    p_in = rng.permutation(w)
    p_in /= p_in.sum()
    keys = np.empty(0, dtype=np.int64)
    while keys.size < m:
        src = rng.choice(n, size=m, p=p_out)
        dst = rng.choice(n, size=m, p=p_in)
        keep = src != dst
        keys = np.unique(np.concatenate([keys, src[keep] * n + dst[keep]]))
    keys = rng.permutation(keys)[:m]
    return keys // n, keys % n


def weighted_cascade_graph(n: int, m: int, seed: int) -> InfluenceGraph:
    src, dst = power_law_digraph(n, m, seed=seed)
    return from_edges(src, dst, None, ids=[str(i) for i in range(n)]).weighted_cascade()


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS counter of this process (Linux >= 4.0), if possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    """Peak resident set size since the last reset, in MiB (includes numba's arrays)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def current_rss_mb() -> float:
    """Resident set size now, in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def celf(graph: InfluenceGraph, k: int, cascades: int, seed: int) -> tuple[list[int], int]:
    """CELF lazy greedy with Monte-Carlo estimates of ``cascades`` cascades each.

    Returns the seeds and the number of Monte-Carlo estimates made.
    """
    calls = 0

    def spread(nodes: list[int]) -> float:
        nonlocal calls
        calls += 1
        return simulate(graph, nodes, samples=cascades, seed=seed + calls).mean

    heap = [(-spread([v]), v, 0) for v in range(graph.n_nodes)]
    heapq.heapify(heap)
    chosen: list[int] = []
    total = 0.0
    while len(chosen) < k and heap:
        neg_gain, v, fresh_at = heapq.heappop(heap)
        if fresh_at == len(chosen):
            chosen.append(v)
            total += -neg_gain
        else:
            heapq.heappush(heap, (-(spread([*chosen, v]) - total), v, len(chosen)))
    return chosen, calls


def part_a(n: int, m: int, k: int) -> list[tuple[str, ...]]:
    started = time.perf_counter()
    wc = weighted_cascade_graph(n, m, seed=1)
    built = time.perf_counter() - started
    # the required weighted-cascade case, and a harder uniform-IC case on the same edges
    # (small spreads need many more RR sets)
    cases = [("weighted cascade", wc), ("uniform IC p = 0.01", wc.with_probabilities(0.01))]
    rows: list[tuple[str, ...]] = [
        ("graph", *[f"{n:,} nodes, {m:,} edges" for _ in cases]),
        ("probabilities", *[name for name, _ in cases]),
    ]
    results = []
    for _, graph in cases:
        rss_before = current_rss_mb()
        reset_peak_rss()
        plan = maximise(graph, k=k, epsilon=0.1, delta=0.01, seed=1)
        results.append((plan, rss_before, peak_rss_mb()))
    rows += [
        ("k / epsilon / delta", *[f"{k} / {p.epsilon} / {p.delta}" for p, _, _ in results]),
        ("optimiser time", *[f"{p.seconds:.2f} s" for p, _, _ in results]),
        ("RR sets (3 collections)", *[f"{p.rr_sets:,}" for p, _, _ in results]),
        ("estimate (RR)", *[f"{p.estimate:,.1f}" for p, _, _ in results]),
        (
            "MC check, 10,000 cascades",
            *[
                f"{p.mc_estimate:,.1f} ± {(p.mc_ci95[1] - p.mc_ci95[0]) / 2:,.1f}"
                for p, _, _ in results
            ],
        ),
        ("MC check time", *[f"{p.mc_seconds:.1f} s" for p, _, _ in results]),
        ("certified ratio", *[f"{p.approx_ratio:.3f} (target 0.532)" for p, _, _ in results]),
        ("upper bound on OPT", *[f"{p.upper_bound:,.0f}" for p, _, _ in results]),
        ("RSS before run", *[f"{before:,.0f} MiB" for _, before, _ in results]),
        ("peak RSS during run", *[f"{peak:,.0f} MiB" for _, _, peak in results]),
    ]
    print(f"graph generated and built in {built:.1f} s")
    return rows


def part_b(n: int, m: int, k: int) -> list[tuple[str, ...]]:
    graph = weighted_cascade_graph(n, m, seed=2)
    # OPIM-C as it stops by default (as soon as the guarantee is certified), and with a
    # larger starting sample, which makes the greedy choice less noisy
    plans = [
        maximise(graph, k=k, epsilon=0.1, delta=0.01, seed=2),
        maximise(graph, k=k, epsilon=0.1, delta=0.01, seed=2, min_rr_sets=MIN_RR_SETS),
    ]
    started = time.perf_counter()
    baseline, calls = celf(graph, k, CELF_CASCADES, seed=10_000)
    celf_seconds = time.perf_counter() - started
    # same random streams for every seed set: differences are not simulation noise
    scores = [
        simulate(graph, [s.index for s in p.seeds], samples=EVAL_CASCADES, seed=99) for p in plans
    ]
    score_celf = simulate(graph, baseline, samples=EVAL_CASCADES, seed=99)

    def fmt(est: SpreadEstimate) -> str:
        return f"{est.mean:,.1f} ± {(est.ci95[1] - est.ci95[0]) / 2:,.1f}"

    return [
        ("graph", f"{graph.n_nodes:,} nodes, {graph.n_edges:,} edges (WC), k = {k}", "", ""),
        (
            "method",
            "OPIM-C, eps 0.1",
            f"OPIM-C, eps 0.1, >= {MIN_RR_SETS:,} sets",
            f"CELF + MC, {CELF_CASCADES:,} casc./estimate",
        ),
        ("time", *[f"{p.seconds:.3f} s" for p in plans], f"{celf_seconds:.1f} s"),
        ("work", *[f"{p.rr_sets:,} RR sets" for p in plans], f"{calls:,} MC estimates"),
        ("certified ratio", *[f"{p.approx_ratio:.3f}" for p in plans], "none"),
        (f"spread ({EVAL_CASCADES:,} casc.)", *[fmt(x) for x in scores], fmt(score_celf)),
        ("spread / CELF spread", *[f"{x.mean / score_celf.mean:.4f}" for x in scores], "1"),
        ("speed-up over CELF", *[f"{celf_seconds / p.seconds:,.0f}x" for p in plans], "1x"),
        (
            "seeds shared with CELF",
            *[f"{len({s.index for s in p.seeds} & set(baseline))} / {k}" for p in plans],
            "",
        ),
    ]


def table(rows: list[tuple[str, ...]], title: str) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rule = "+".join("-" * (w + 2) for w in widths)
    lines = [title, rule]
    lines += [
        " " + " | ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows
    ]
    lines.append(rule)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller graphs (about a minute)")
    args = parser.parse_args()
    size_a = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    size_b, k_b = ((1_000, 4_000), 10) if args.quick else ((5_000, 20_000), 50)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"{numba.get_num_threads()} threads ({os.cpu_count()} CPUs)"
    )
    compile_started = time.perf_counter()
    _ensure_compiled()
    print(f"JIT compile / cache load: {time.perf_counter() - compile_started:.1f} s (excluded)")
    print(f"threading layer: {numba.threading_layer()}\n")  # type: ignore[attr-defined]
    print(table(part_a(*size_a, k=50), "(a) scale"))
    print()
    print(table(part_b(*size_b, k=k_b), "(b) against CELF greedy with Monte-Carlo"))


if __name__ == "__main__":
    main()
