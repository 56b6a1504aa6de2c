"""Benchmark of peers among all communes of France.

On a France knowledge base (``make demo``'s: communes, IRIS census shares, populations by
year), for a few target communes (Paris, Lyon, Rennes, Fort-de-France, a village), measured
after one warm-up call, ``--repeat`` times (wall p50, p95, and CPU time):

- **read**: :func:`territoria.analysis.peers.peer_inputs` — the one SQL read of the default
  indicators for all ~35,000 communes and their régions (the web app caches it per level);
- **rank, Euclidean**: :func:`territoria.analysis.peers.rank_peers` on those inputs — z-scores,
  distances, the k nearest, contributions, and 200 bootstrap resamples of the indicators;
- **rank, Mahalanobis**: the same with the Ledoit-Wolf shrunk covariance and ZCA whitening;
- **rank, no bootstrap**: Euclidean without the stability score;
- **baseline**: the textbook pandas/SciPy way on the same z-scores — a DataFrame of the
  complete rows, ``scipy.spatial.distance.cdist`` from the target to every commune, a sort,
  and the same 200 bootstrap resamples each recomputed with ``cdist`` on the resampled columns
  (``DataFrame.iloc``) and a full sort.

Run: ``python benchmarks/bench_peers.py [PATH] [--repeat N]`` (default PATH
``territoria.duckdb``; opened read-only). Compare rows of one run: figures depend on the load.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from territoria.analysis.peers import PeerInputs, PeerOptions, peer_inputs, prepare, rank_peers
from territoria.kb import connect

TARGETS = ("75056", "69123", "35238", "97209", "35005")


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    """Wall p50, p95 and CPU mean (ms) of ``repeat`` calls after one warm-up."""
    run()
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        run()
        wall.append(1000 * (time.perf_counter() - w))
        cpu.append(1000 * (time.process_time() - c))
    wall.sort()
    p95 = wall[min(len(wall) - 1, int(0.95 * len(wall)))]
    return statistics.median(wall), p95, statistics.mean(cpu)


def baseline(inputs: PeerInputs, code: str, k: int, bootstrap: int) -> list[str]:
    """pandas + SciPy cdist, resamples recomputed one by one."""
    z = pd.DataFrame(
        prepare(inputs.matrix), index=inputs.matrix.codes, columns=inputs.matrix.indicators
    )[inputs.indicators].dropna()
    target = z.loc[[code]].to_numpy()
    d = pd.Series(cdist(z.to_numpy(), target).ravel(), index=z.index).drop(code)
    peers = d.sort_values(kind="stable").index[:k]
    rng = np.random.default_rng(0)
    kept = pd.Series(0, index=peers)
    for _ in range(bootstrap):
        cols = rng.integers(0, z.shape[1], size=z.shape[1])
        sub = z.iloc[:, cols]
        db = pd.Series(cdist(sub.to_numpy(), sub.loc[[code]].to_numpy()).ravel(), index=z.index)
        top = db.drop(code).sort_values(kind="stable").index[:k]
        kept += peers.isin(top)
    return list(peers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="territoria.duckdb", type=Path)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    con = connect(args.path, read_only=True)
    inputs = peer_inputs(con, "commune")
    n = inputs.matrix.codes.size
    print(f"{n:,} communes, indicators: {', '.join(inputs.indicators)}")
    rows: list[tuple[str, str, tuple[float, float, float]]] = []
    rows.append(("read (SQL, all communes)", "—", timed(lambda: peer_inputs(con, "commune"), 3)))
    for code in TARGETS:
        for label, options in (
            ("rank, Euclidean, bootstrap 200", PeerOptions()),
            ("rank, Mahalanobis, bootstrap 200", PeerOptions(method="mahalanobis")),
            ("rank, Euclidean, no bootstrap", PeerOptions(bootstrap=0)),
        ):
            rows.append(
                (
                    label,
                    code,
                    timed(
                        lambda o=options, c=code: rank_peers(
                            inputs.matrix, c, inputs.regions, inputs.indicators, o
                        ),
                        args.repeat,
                    ),
                )
            )
        rows.append(
            (
                "baseline pandas+cdist, bootstrap 200",
                code,
                timed(lambda c=code: baseline(inputs, c, 10, 200), max(2, args.repeat // 3)),
            )
        )
        ours = [
            p.code
            for p in rank_peers(
                inputs.matrix, code, inputs.regions, inputs.indicators, PeerOptions(bootstrap=0)
            ).peers
        ]
        assert ours == baseline(inputs, code, 10, 0), code  # same peers as the baseline
    print(f"{'what':<40} {'target':<7} {'p50 ms':>9} {'p95 ms':>9} {'cpu ms':>9}")
    for label, code, (p50, p95, cpu) in rows:
        print(f"{label:<40} {code:<7} {p50:>9.1f} {p95:>9.1f} {cpu:>9.1f}")
    con.close()


if __name__ == "__main__":
    main()
