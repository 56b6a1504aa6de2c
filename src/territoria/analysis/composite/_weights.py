"""Indicator weights: equal, user-given (checked to sum to one) or PCA-derived."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from territoria.errors import CompositeInputError

__all__ = ["WEIGHTINGS", "equal_weights", "noisy_weights", "pca_weights", "user_weights"]

WEIGHTINGS = ("equal", "user", "pca")
SUM_TOLERANCE = 1e-6


def equal_weights(k: int) -> NDArray[np.float64]:
    """Weights 1/k."""
    return np.full(k, 1.0 / k)


def user_weights(
    indicators: list[str], given: dict[str, float], *, rescale: bool = False
) -> NDArray[np.float64]:
    """Weights in indicator order from ``given``; they must be ≥ 0 and sum to 1.

    With ``rescale`` a set that does not sum to one is divided by its sum instead of refused.
    """
    unknown = sorted(set(given) - set(indicators))
    missing = [code for code in indicators if code not in given]
    if unknown or missing:
        msg = (
            f"weights must name each indicator once: unknown {unknown!r}, missing {missing!r}"
            " (give --weights A:0.5,B:0.5 with the codes of --indicators)"
        )
        raise CompositeInputError(msg)
    w = np.array([given[code] for code in indicators], dtype=np.float64)
    if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise CompositeInputError(
            f"weights must be finite, non-negative and not all zero: {given!r}"
        )
    total = float(w.sum())
    if abs(total - 1.0) > SUM_TOLERANCE and not rescale:
        msg = (
            f"weights sum to {total:.6g}, not 1: fix them or pass --rescale-weights to divide"
            " each by their sum"
        )
        raise CompositeInputError(msg)
    return w / total


def pca_weights(normalised: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weights from the first principal component (Handbook §6.1: squared loadings, summed to 1).

    Computed on the correlation matrix of the complete rows; the squared loadings of the first
    component are the share of its variance each indicator carries.
    """
    rows = ~np.isnan(normalised).any(axis=1)
    if rows.sum() < normalised.shape[1] + 1:
        raise CompositeInputError("too few territories with every indicator for PCA weights")
    corr = np.corrcoef(normalised[rows], rowvar=False)
    _, vectors = np.linalg.eigh(np.atleast_2d(corr))
    loading = vectors[:, -1] ** 2
    return np.asarray(loading / loading.sum(), dtype=np.float64)


def noisy_weights(
    weights: NDArray[np.float64], noise: float, count: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """``count`` weight sets, each weight times U(1 - noise, 1 + noise), re-summed to 1.

    COINr's ``get_noisy_weights`` draws the same uniform relative noise.
    """
    factors = rng.uniform(1.0 - noise, 1.0 + noise, size=(count, weights.size))
    noisy = weights[np.newaxis, :] * factors
    return np.asarray(noisy / noisy.sum(axis=1, keepdims=True), dtype=np.float64)
