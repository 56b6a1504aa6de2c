"""Normalisation of indicators after their polarity is applied (higher is better everywhere).

* ``minmax``: ``100 (x - min) / (max - min)`` (COINr ``n_minmax`` on [0, 100]);
* ``zscore``: ``(x - mean) / sd`` with the sample standard deviation (COINr ``n_zscore``);
* ``rank``: percentile rank on [0, 100] (ties share their mean rank).

Missing values stay missing. Vectorised over a stack of matrices (…, territories, indicators).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

__all__ = ["NORMALISATIONS", "normalise", "to_positive"]

NORMALISATIONS = ("minmax", "zscore", "rank")


def normalise(values: NDArray[np.float64], method: str) -> NDArray[np.float64]:
    """Normalise each column of ``values`` (polarity already applied)."""
    if method == "minmax":
        lo = np.nanmin(values, axis=-2, keepdims=True)
        hi = np.nanmax(values, axis=-2, keepdims=True)
        return np.asarray(100.0 * (values - lo) / (hi - lo), dtype=np.float64)
    if method == "zscore":
        mean = np.nanmean(values, axis=-2, keepdims=True)
        sd = np.nanstd(values, axis=-2, ddof=1, keepdims=True)
        return np.asarray((values - mean) / sd, dtype=np.float64)
    if method == "rank":
        ranks = rankdata(values, axis=-2, nan_policy="omit")
        count = np.sum(~np.isnan(values), axis=-2, keepdims=True)
        return np.asarray(100.0 * (ranks - 1.0) / np.maximum(count - 1.0, 1.0), dtype=np.float64)
    raise ValueError(f"unknown normalisation {method!r}: use one of {', '.join(NORMALISATIONS)}")


def to_positive(normalised: NDArray[np.float64]) -> NDArray[np.float64]:
    """Re-scale each column min-max onto [1, 100] for the geometric mean.

    A geometric mean needs values > 0: min-max on [0, 100] gives zeros and z-scores are
    negative. As COINr's aggregation guide advises, the geometric mean is taken on [1, 100], so
    the worst territory of an indicator scores 1 on it (not 0, which would zero its index).
    """
    lo = np.nanmin(normalised, axis=-2, keepdims=True)
    hi = np.nanmax(normalised, axis=-2, keepdims=True)
    return np.asarray(1.0 + 99.0 * (normalised - lo) / (hi - lo), dtype=np.float64)
