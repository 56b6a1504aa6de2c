"""Benchmark of composite indices with Monte-Carlo uncertainty and Sobol' indices.

On a knowledge base of all of France (``make demo``'s, with the IRIS-based age and housing
indicators), for all EPCI and all communes, with four real indicators (share under 20 +,
share 65 or over −, vacancy rate −, density +):

- :func:`territoria.analysis.composite.compute` with ``--runs`` runs (default 1,000, rounded
  up to the Saltelli design's N (D + 2), here 1,536): treatment, normalisation, nominal ranks,
  the runs scored by matrix products per (imputation, normalisation, aggregation) choice and
  ranked by one argsort per batch, percentiles, SALib's Sobol' analysis;
- the read of the indicator matrix (one SQL query) is timed apart;
- baseline: the naive per-run loop a notebook would write, with pandas — for each run, redo
  the normalisation, weight with that run's weights, aggregate and ``Series.rank`` — on
  ``--subset`` runs (default 50), extrapolated to the same number of runs (time × runs /
  subset).

Run: ``python benchmarks/bench_composite.py [PATH] [--runs N] [--subset N]`` (default PATH
``/tmp/kb/france.duckdb``, opened read-only). Times depend on the machine's load: compare the
rows of one run.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from territoria.analysis.composite import Method, compute
from territoria.analysis.composite._normalise import to_positive
from territoria.analysis.composite._weights import noisy_weights
from territoria.analysis.indicator_matrix import indicator_matrix
from territoria.kb import connect

INDICATORS = ("part_0019", "part_65p", "taux_vacance", "density")
POLARITY = (1, -1, -1, 1)


def naive_runs(values: np.ndarray, runs: int, seed: int) -> float:
    """Seconds for ``runs`` runs of the per-run pandas loop (same choices as the library)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(values * np.asarray(POLARITY, dtype=float))
    weights = noisy_weights(np.full(len(INDICATORS), 0.25), 0.25, runs, rng)
    norms, aggs = rng.integers(0, 3, runs), rng.integers(0, 2, runs)
    start = time.perf_counter()
    for r in range(runs):
        if norms[r] == 0:
            z = (frame - frame.min()) / (frame.max() - frame.min()) * 100
        elif norms[r] == 1:
            z = (frame - frame.mean()) / frame.std()
        else:
            z = (frame.rank() - 1) / (frame.count() - 1) * 100
        w = pd.Series(weights[r])
        if aggs[r] == 0:
            score = (z * w).sum(axis=1) / z.notna().mul(w).sum(axis=1)
        else:
            logs = np.log(pd.DataFrame(to_positive(z.to_numpy())))
            score = np.exp((logs * w).sum(axis=1) / logs.notna().mul(w).sum(axis=1))
        score.rank(ascending=False, method="first")
    return time.perf_counter() - start


def _row(label: str, n: int, runs: int, seconds: float, note: str = "") -> str:
    return f"| {label:<44} | {n:>7,} | {runs:>6,} | {seconds:>9.2f} | {note}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="/tmp/kb/france.duckdb", type=Path)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--subset", type=int, default=50)
    args = parser.parse_args()
    con = connect(args.path, read_only=True)
    print(f"| {'what':<44} | {'terr.':>7} | {'runs':>6} | {'seconds':>9} | note")
    print(f"|{'-' * 46}|{'-' * 9}|{'-' * 8}|{'-' * 11}|------")
    for level in ("epci", "commune"):
        start = time.perf_counter()
        matrix = indicator_matrix(con, level, INDICATORS)
        read = time.perf_counter() - start
        n = matrix.values.shape[0]
        print(_row(f"{level}: read the indicator matrix (SQL)", n, 0, read))
        method = Method(indicators=INDICATORS, polarity=POLARITY, runs=args.runs, seed=1)
        start = time.perf_counter()
        result = compute(matrix.values, method)
        took = time.perf_counter() - start
        assert result.uncertainty is not None
        done = result.uncertainty.runs
        print(
            _row(
                f"{level}: compute + Monte-Carlo + Sobol'", n, done, took, result.uncertainty.design
            )
        )
        naive = naive_runs(matrix.values, args.subset, 1)
        print(
            _row(
                f"{level}: baseline pandas loop ({args.subset} runs)",
                n,
                args.subset,
                naive,
                f"→ {naive * done / args.subset:.1f} s for {done} runs, "
                f"×{naive * done / args.subset / took:.1f} slower",
            )
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of the process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
