"""Monte-Carlo uncertainty and Sobol' sensitivity of a composite index's ranks.

The uncertain inputs (COINr ``get_sensitivity``, Handbook §7): the weights (each weight times
U(1 − noise, 1 + noise), re-summed to one; one of ``WEIGHT_SETS`` noisy sets), the normalisation
(min-max, z-score, rank), the aggregation (arithmetic, geometric) and, when values are missing,
the imputation (none — the weights of missing indicators spread over the others —, mean,
median). The design is Saltelli's (SALib ``sobol.sample`` without second
order): ``N (D + 2)`` runs for ``D`` inputs, ``N`` the smallest power of two with at least the
runs asked for. Each run ranks every territory; the model output for Sobol' is the mean absolute
shift of the ranks from the nominal ranks. A territory's rank interval is the 5th–95th
percentile of its ranks over the runs ('lower' and 'higher' percentiles, so both are ranks a run
gave), its median rank the median over the runs.

Runs sharing a (imputation, normalisation, aggregation) choice are scored together by one matrix
product per batch; ranks come from one ``argsort`` over the territory axis of a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample

from territoria.analysis.composite._aggregate import AGGREGATIONS, pillar_runs
from territoria.analysis.composite._impute import IMPUTATIONS, impute
from territoria.analysis.composite._normalise import NORMALISATIONS, normalise, to_positive
from territoria.analysis.composite._weights import noisy_weights

__all__ = [
    "Sensitivity",
    "Uncertainty",
    "prepare",
    "rank_scores",
    "run_uncertainty",
    "score_runs",
]

WEIGHT_SETS = 100
BATCH = 256  # runs scored at once: 35,000 communes × 256 runs × 8 bytes ≈ 72 MB


@dataclass(frozen=True)
class Sensitivity:
    """Sobol' indices of one uncertain input on the mean absolute rank shift."""

    input: str
    first_order: float
    total: float
    first_order_conf: float
    total_conf: float


@dataclass(frozen=True)
class Uncertainty:
    """Median rank and 5th–95th percentile rank interval of each territory, and Sobol' indices."""

    median_rank: NDArray[np.float64]
    rank_low: NDArray[np.int64]
    rank_high: NDArray[np.int64]
    sensitivity: tuple[Sensitivity, ...]
    runs: int
    base_samples: int
    design: str


def rank_scores(scores: NDArray[np.float64]) -> NDArray[np.int32]:
    """Ranks (1 = highest score) along each row (one run per row); missing scores rank last.

    Ties are broken by position: the runs are samples, an order among equal scores is enough.
    Scores are sorted as float32 (half the memory traffic of the sort; 7 significant digits
    separate any two scores a run can tell apart on a 0–100 or z scale).
    """
    keyed = np.where(np.isnan(scores), np.inf, -scores).astype(np.float32)
    order = np.argsort(keyed, axis=1)
    ranks = np.empty(scores.shape, dtype=np.int32)
    steps = np.broadcast_to(np.arange(1, scores.shape[1] + 1, dtype=np.int32), scores.shape)
    np.put_along_axis(ranks, order, steps, axis=1)
    return ranks


@dataclass(frozen=True)
class _Prepared:
    filled: NDArray[np.float64]
    present: NDArray[np.float64]
    geometric: bool
    pillars: tuple[NDArray[np.intp], ...] | None = None


def prepare(
    oriented: NDArray[np.float64],
    imp: str,
    norm: str,
    agg: str,
    groups: NDArray[np.str_] | None,
    pillars: tuple[NDArray[np.intp], ...] | None = None,
) -> _Prepared:
    """Impute, normalise and (for the geometric mean) take logs once for every run of a choice."""
    z = normalise(impute(oriented, imp, groups=groups), norm)
    present = ~np.isnan(z)
    if agg == "geometric":
        z = np.log(to_positive(z))
    filled = np.where(present, z, 0.0)
    return _Prepared(filled, present.astype(np.float64), agg == "geometric", pillars)


def score_runs(prep: _Prepared, w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Runs × territories scores (rows contiguous, for the row-wise argsort)."""
    if prep.pillars is not None:
        return pillar_runs(prep.filled, prep.present, w, prep.pillars, geometric=prep.geometric)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (w @ prep.filled.T) / (w @ prep.present.T)
    return np.exp(s) if prep.geometric else s


def _inputs(missing: bool) -> list[str]:
    names = ["weights", "normalisation", "aggregation"]
    return [*names, "imputation"] if missing else names


def _pick(u: NDArray[np.float64], count: int) -> NDArray[np.int64]:
    return np.minimum((u * count).astype(np.int64), count - 1)


def run_uncertainty(
    oriented: NDArray[np.float64],
    weights: NDArray[np.float64],
    nominal_ranks: NDArray[np.int64],
    *,
    runs: int = 1000,
    noise: float = 0.25,
    seed: int = 0,
    groups: NDArray[np.str_] | None = None,
    pillars: tuple[NDArray[np.intp], ...] | None = None,
) -> Uncertainty:
    """Run the Monte-Carlo over the choices and weights; see the module docstring."""
    missing = bool(np.isnan(oriented).any())
    names = _inputs(missing)
    d = len(names)
    n_base = 1 << max(int(np.ceil(np.log2(max(runs, 1) / (d + 2)))), 1)
    problem = {"num_vars": d, "names": names, "bounds": [[0.0, 1.0]] * d}
    x = sobol_sample.sample(problem, n_base, calc_second_order=False, seed=seed)
    rng = np.random.default_rng(seed)
    w_sets = noisy_weights(weights, noise, WEIGHT_SETS, rng)
    w_idx, n_idx, a_idx = _pick(x[:, 0], WEIGHT_SETS), _pick(x[:, 1], 3), _pick(x[:, 2], 2)
    i_idx = _pick(x[:, 3], 3) if missing else np.zeros(len(x), dtype=np.int64)
    ranks = np.empty((len(x), oriented.shape[0]), dtype=np.int32)
    shift = np.empty(len(x))
    nominal = nominal_ranks.astype(np.int32)[np.newaxis, :]
    for combo in np.unique(np.column_stack([i_idx, n_idx, a_idx]), axis=0):
        rows = np.flatnonzero((i_idx == combo[0]) & (n_idx == combo[1]) & (a_idx == combo[2]))
        imp = IMPUTATIONS[combo[0]]
        prep = prepare(
            oriented, imp, NORMALISATIONS[combo[1]], AGGREGATIONS[combo[2]], groups, pillars
        )
        for start in range(0, rows.size, BATCH):
            part = rows[start : start + BATCH]
            got = rank_scores(score_runs(prep, w_sets[w_idx[part]]))
            ranks[part] = got
            shift[part] = np.abs(got - nominal).mean(axis=1)
    low, median, high = _rank_summary(ranks)
    return Uncertainty(
        median_rank=median,
        rank_low=low,
        rank_high=high,
        sensitivity=_sobol(problem, shift, names, seed),
        runs=len(x),
        base_samples=n_base,
        design=f"Saltelli (SALib sobol.sample, N={n_base}, D={d}, N(D+2)={len(x)} runs)",
    )


def _rank_summary(
    ranks: NDArray[np.int32],
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
    """5th percentile ('lower'), median and 95th percentile ('higher') of each territory's ranks.

    The runs × territories ranks are transposed and sorted once; the statistics are then
    columns of the sorted array (what ``np.percentile(method='lower'/'higher')`` would pick).
    """
    count = ranks.shape[0]
    by_territory = np.ascontiguousarray(ranks.T)
    by_territory.sort(axis=1)
    low = by_territory[:, int(np.floor(0.05 * (count - 1)))].astype(np.int64)
    high = by_territory[:, int(np.ceil(0.95 * (count - 1)))].astype(np.int64)
    median = (
        by_territory[:, (count - 1) // 2] + by_territory[:, count // 2].astype(np.float64)
    ) / 2
    return low, median, high


def _sobol(
    problem: dict[str, object], shift: NDArray[np.float64], names: list[str], seed: int
) -> tuple[Sensitivity, ...]:
    if float(np.ptp(shift)) == 0.0:  # every run gave the nominal ranks: nothing to apportion
        return tuple(Sensitivity(n, 0.0, 0.0, 0.0, 0.0) for n in names)
    res = sobol_analyze.analyze(problem, shift, calc_second_order=False, seed=seed)
    return tuple(
        Sensitivity(
            n,
            float(res["S1"][i]),
            float(res["ST"][i]),
            float(res["S1_conf"][i]),
            float(res["ST_conf"][i]),
        )
        for i, n in enumerate(names)
    )
