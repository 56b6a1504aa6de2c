"""Outlier treatment with COINr's default rule (``Treat``, COINr 1.1).

An indicator passes when ``|skew| < 2`` or ``kurtosis < 3.5`` (the e1071 type-2 estimators COINr
uses). A failing indicator is winsorised one extreme at a time (the side the skew points to)
until it passes or ``winmax`` points were replaced; if it still fails, the
*original* values are log-transformed instead, ``log(x - min + 0.01 (max - min))`` (COINr's
``log_CT``; ``combine_treat = FALSE``). COINr counts only the points replaced in the last step
against ``winmax`` (``nwin`` is overwritten each pass); ``coinr_count=True`` does the same so
that its published results are reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Treatment", "kurtosis", "skewness", "treat_column", "treat_matrix"]

SKEW_THRESHOLD = 2.0
KURT_THRESHOLD = 3.5


@dataclass(frozen=True)
class Treatment:
    """What was done to one indicator: 'none', 'winsorised' (with the count) or 'log'."""

    method: str
    points: int
    skew: float
    kurtosis: float


def _centred(x: NDArray[np.float64], least: int) -> tuple[NDArray[np.float64], float] | None:
    """Deviations from the mean of the present values and their sum of squares (None: too few)."""
    v = x[~np.isnan(x)]
    if v.size < least:
        return None
    d = v - v.mean()
    s2 = float(np.sum(d**2))
    return (d, s2) if s2 > 0.0 else None


def skewness(x: NDArray[np.float64]) -> float:
    """Sample skewness (e1071 type 2, as COINr ``skew``), NaN ignored; NaN below 3 values."""
    got = _centred(x, 3)
    if got is None:
        return float("nan")
    d, s2 = got
    n = d.size
    g = np.sqrt(n) * float(np.sum(d**3)) / s2**1.5
    return float(g * np.sqrt(n * (n - 1)) / (n - 2))


def kurtosis(x: NDArray[np.float64]) -> float:
    """Sample excess kurtosis (e1071 type 2, as COINr ``kurt``); NaN below 4 values."""
    got = _centred(x, 4)
    if got is None:
        return float("nan")
    d, s2 = got
    n = d.size
    r = n * float(np.sum(d**4)) / s2**2
    return float(((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3)))


def _passes(x: NDArray[np.float64]) -> bool:
    sk, kt = skewness(x), kurtosis(x)
    if np.isnan(sk) or np.isnan(kt):
        return True  # too few distinct values to judge: COINr leaves such columns untreated
    return bool(abs(sk) < SKEW_THRESHOLD or kt < KURT_THRESHOLD)


def _winsorise(
    x: NDArray[np.float64], winmax: int, coinr_count: bool
) -> tuple[NDArray[np.float64], int]:
    x = x.copy()
    last_hi = last_lo = 0
    total = 0
    while not _passes(x) and (last_hi + last_lo if coinr_count else total) < winmax:
        if skewness(x) >= 0:
            hit = x == np.nanmax(x)
            x[hit] = np.nanmax(np.where(hit, np.nan, x))
            last_hi = int(hit.sum())
        else:
            hit = x == np.nanmin(x)
            x[hit] = np.nanmin(np.where(hit, np.nan, x))
            last_lo = int(hit.sum())
        total += int(hit.sum())
    return x, total


def treat_column(
    x: NDArray[np.float64], *, winmax: int = 5, coinr_count: bool = False
) -> tuple[NDArray[np.float64], Treatment]:
    """Treat one indicator column with COINr's default rule; return the values and what was done.

    ``coinr_count`` counts against ``winmax`` only the points of the last step, as COINr 1.1
    does; the default counts every replaced point (at most ``winmax``, the Handbook's intent).
    """
    sk, kt = skewness(x), kurtosis(x)
    if _passes(x):
        return x, Treatment("none", 0, sk, kt)
    win, points = _winsorise(x, winmax, coinr_count)
    if _passes(win):
        return win, Treatment("winsorised", points, sk, kt)
    lo, hi = np.nanmin(x), np.nanmax(x)
    return np.log(x - lo + 0.01 * (hi - lo)), Treatment("log", 0, sk, kt)


def treat_matrix(
    values: NDArray[np.float64], *, winmax: int = 5, coinr_count: bool = False
) -> tuple[NDArray[np.float64], list[Treatment]]:
    """Treat every column of ``values`` (territories × indicators)."""
    out = np.empty_like(values)
    done: list[Treatment] = []
    for j in range(values.shape[1]):  # one pass per indicator, each vectorised over territories
        out[:, j], t = treat_column(values[:, j], winmax=winmax, coinr_count=coinr_count)
        done.append(t)
    return out, done
