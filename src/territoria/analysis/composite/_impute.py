"""Imputation of missing indicator values: none, the level's mean or median, or by group."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import NDArray

__all__ = ["IMPUTATIONS", "impute"]

IMPUTATIONS = ("none", "mean", "median")


def _fill(values: NDArray[np.float64], stat: str) -> NDArray[np.float64]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column stays missing
        centre = np.nanmean(values, axis=0) if stat == "mean" else np.nanmedian(values, axis=0)
    return np.where(np.isnan(values), centre[np.newaxis, :], values)


def impute(
    values: NDArray[np.float64],
    method: str = "none",
    *,
    groups: NDArray[np.str_] | None = None,
) -> NDArray[np.float64]:
    """Fill missing values (NaN) of a territories × indicators matrix.

    ``method`` is 'none' (kept missing: aggregation then uses the available indicators and
    re-scales their weights, as COINr's ``a_amean``), 'mean' or 'median' of the level, computed
    inside each group when ``groups`` (one label per territory) is given (COINr's ``i_mean_grp``).
    """
    if method not in IMPUTATIONS:
        raise ValueError(f"unknown imputation {method!r}: use one of {', '.join(IMPUTATIONS)}")
    if method == "none" or not np.isnan(values).any():
        return values
    if groups is None:
        return _fill(values, method)
    out = values.copy()
    for label in np.unique(groups):  # a handful of groups, each vectorised
        rows = groups == label
        out[rows] = _fill(values[rows], method)
    return out
