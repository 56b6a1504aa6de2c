"""The composite pipeline on plain arrays: checks, treatment, imputation, normalisation,
weighting, aggregation, ranks, then the Monte-Carlo (JRC/OECD Handbook 2008, COINr's order)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from territoria.analysis.composite._aggregate import AGGREGATIONS, scores
from territoria.analysis.composite._impute import IMPUTATIONS, impute
from territoria.analysis.composite._normalise import NORMALISATIONS, normalise
from territoria.analysis.composite._outliers import Treatment, treat_matrix
from territoria.analysis.composite._uncertainty import (
    Uncertainty,
    prepare,
    run_uncertainty,
    score_runs,
)
from territoria.analysis.composite._weights import (
    WEIGHTINGS,
    equal_weights,
    pca_weights,
    user_weights,
)
from territoria.errors import CompositeInputError

__all__ = ["Computed", "Method", "compute"]


@dataclass(frozen=True)
class Method:
    """How to build the index: every choice the Handbook asks to state."""

    indicators: tuple[str, ...]
    polarity: tuple[int, ...]
    weighting: str = "equal"
    weights: dict[str, float] | None = None
    rescale_weights: bool = False
    normalisation: str = "minmax"
    aggregation: str = "arithmetic"
    imputation: str = "none"
    impute_by: str | None = None
    pillars: dict[str, list[str]] | None = None
    treat_outliers: bool = True
    runs: int = 1000
    noise: float = 0.25
    seed: int = 1
    min_coverage: float = 0.5
    min_share: float = 0.5

    def check(self) -> None:
        """Refuse unknown choices with the accepted values."""
        for value, allowed, what in (
            (self.weighting, WEIGHTINGS, "weighting"),
            (self.normalisation, NORMALISATIONS, "normalisation"),
            (self.aggregation, AGGREGATIONS, "aggregation"),
            (self.imputation, IMPUTATIONS, "imputation"),
        ):
            if value not in allowed:
                raise CompositeInputError(
                    f"unknown {what} {value!r}: use one of {', '.join(allowed)}"
                )
        if not self.indicators:
            raise CompositeInputError(
                "an index needs at least one indicator (--indicators A:+,B:-)"
            )
        if len(set(self.indicators)) != len(self.indicators):
            raise CompositeInputError(f"an indicator is given twice: {list(self.indicators)!r}")
        if not 0.0 <= self.noise < 1.0:
            raise CompositeInputError(f"weight noise must be in [0, 1): {self.noise!r}")
        self._check_pillars()
        if not 0.0 < self.min_share <= 1.0:
            raise CompositeInputError(f"min_share must be in (0, 1]: {self.min_share!r}")
        if self.runs < 0:
            raise CompositeInputError(f"runs must be ≥ 0: {self.runs!r}")

    def _check_pillars(self) -> None:
        if self.pillars is None:
            return
        listed = [code for codes in self.pillars.values() for code in codes]
        if sorted(listed) != sorted(self.indicators) or not all(self.pillars.values()):
            msg = (
                f"pillars must hold each indicator once: {self.pillars!r} for"
                f" {list(self.indicators)!r} (write --pillars 'Jeunesse=A,B;Logement=C')"
            )
            raise CompositeInputError(msg)

    def pillar_index(self) -> tuple[NDArray[np.intp], ...] | None:
        """Column positions of each pillar's indicators (None: one level)."""
        if self.pillars is None:
            return None
        where = {code: j for j, code in enumerate(self.indicators)}
        return tuple(
            np.array([where[c] for c in codes], dtype=np.intp) for codes in self.pillars.values()
        )


@dataclass(frozen=True)
class Computed:
    """Scores (NaN: no indicator), ranks, weights used, treatments and the uncertainty."""

    kept: NDArray[np.bool_]
    score: NDArray[np.float64]
    rank: NDArray[np.int64]
    weights: NDArray[np.float64]
    treatments: tuple[Treatment, ...]
    uncertainty: Uncertainty | None = field(default=None)


def _check_columns(
    values: NDArray[np.float64], indicators: tuple[str, ...], min_coverage: float
) -> None:
    n = values.shape[0]
    for j, code in enumerate(indicators):
        col = values[:, j]
        have = int(np.sum(~np.isnan(col)))
        if have < max(2, min_coverage * n):
            msg = (
                f"indicator {code!r} has values for {have} of {n} territories (below"
                f" {min_coverage:.0%}): choose another indicator or level, or lower --min-coverage"
            )
            raise CompositeInputError(msg)
        if np.nanmin(col) == np.nanmax(col):
            msg = (
                f"indicator {code!r} is constant ({np.nanmin(col)!r}) across the {have}"
                " territories that have it: it cannot rank them, remove it"
            )
            raise CompositeInputError(msg)


def _weights(method: Method, normalised: NDArray[np.float64]) -> NDArray[np.float64]:
    if method.weights is not None:
        return user_weights(list(method.indicators), method.weights, rescale=method.rescale_weights)
    if method.weighting == "pca":
        return pca_weights(normalised)
    if method.weighting == "user":
        raise CompositeInputError("weighting 'user' needs weights (--weights A:0.5,B:0.5)")
    return equal_weights(len(method.indicators))


def nominal_ranks(score: NDArray[np.float64]) -> NDArray[np.int64]:
    """Ranks 1 = best; ties share the best rank ('min'); missing scores rank last."""
    keyed = np.where(np.isnan(score), -np.inf, score)
    return np.asarray(rankdata(-keyed, method="min"), dtype=np.int64)


def compute(
    values: NDArray[np.float64], method: Method, *, groups: NDArray[np.str_] | None = None
) -> Computed:
    """Build the index on ``values`` (territories × indicators, raw, NaN missing).

    Territories with fewer than ``min_share`` of the indicators are dropped (``kept`` False,
    as COINr's ``Screen`` by data availability); the others are ranked. ``groups`` (one label
    per territory) makes the mean and median imputations group means and medians.
    """
    method.check()
    _check_columns(values, method.indicators, method.min_coverage)
    share = (~np.isnan(values)).mean(axis=1)
    kept: NDArray[np.bool_] = np.asarray(share >= method.min_share - 1e-12, dtype=np.bool_)
    raw = values[kept]
    treated, done = treat_matrix(raw) if method.treat_outliers else (raw, [])
    oriented = treated * np.asarray(method.polarity, dtype=np.float64)[np.newaxis, :]
    mine = None if groups is None else groups[kept]
    imputed = impute(oriented, method.imputation, groups=mine)
    z = normalise(imputed, method.normalisation)
    w = _weights(method, z)
    pillars = method.pillar_index()
    if pillars is None:
        score = scores(z, w, method.aggregation)[:, 0]
    else:
        prep = prepare(
            oriented, method.imputation, method.normalisation, method.aggregation, mine, pillars
        )
        score = score_runs(prep, w[np.newaxis, :])[0]
    rank = nominal_ranks(score)
    unc = None
    if method.runs > 0:
        unc = run_uncertainty(
            oriented,
            w,
            rank,
            runs=method.runs,
            noise=method.noise,
            seed=method.seed,
            groups=mine,
            pillars=pillars,
        )
    return Computed(kept, score, rank, w, tuple(done), unc)
