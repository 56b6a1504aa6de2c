"""Internals of :mod:`territoria.analysis.specialisation`: specialisation indices and the
traded/local classification of sectors."""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np

from territoria.analysis._specialisation_sql import MIN_EPCI, SectorMatrix, sector_matrix

# --------------------------------------------------------------------------- indices


def krugman(shares: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Krugman dissimilarity index of each row of ``shares`` against ``reference`` (0 to 2)."""
    return np.asarray(np.abs(np.atleast_2d(shares) - reference).sum(axis=1))


def herfindahl(shares: np.ndarray) -> np.ndarray:
    """Herfindahl index of each row of sector shares (1/n for an even spread, 1 for one sector)."""
    return np.asarray((np.atleast_2d(shares) ** 2).sum(axis=1))


def gini_specialisation(shares: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Specialisation Gini of each row of ``shares`` against the ``reference`` shares.

    Sectors are sorted by location quotient; the Lorenz curve plots the cumulated territory
    shares against the cumulated reference shares. 0: same structure as the reference; close
    to 1: all activity in sectors that are rare in the reference.
    """
    s = np.atleast_2d(np.asarray(shares, dtype=np.float64))
    r = np.broadcast_to(np.asarray(reference, dtype=np.float64), s.shape)
    lq = np.divide(s, r, out=np.zeros_like(s), where=r > 0)
    order = np.argsort(lq, axis=1, kind="stable")
    s_sorted = np.take_along_axis(s, order, axis=1)
    r_sorted = np.take_along_axis(r, order, axis=1)
    y = np.cumsum(s_sorted, axis=1)
    y_prev = np.concatenate([np.zeros((len(s), 1)), y[:, :-1]], axis=1)
    area = (r_sorted * (y + y_prev)).sum(axis=1)  # twice the area under the Lorenz curve
    return np.asarray(1.0 - area)


def locational_gini(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Locational Gini of each column of ``values`` against the territories' ``weights``."""
    totals = values.sum(axis=0)
    shares = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    base = weights / weights.sum()
    gini = gini_specialisation(shares.T, base)
    return np.where(totals > 0, gini, np.nan)


def sector_concentration(
    con: duckdb.DuckDBPyConnection,
    *,
    level: str = "epci",
    sector_level: str = "division",
    traded_threshold: float = 0.2,
    min_establishments: int = 20,
    draws: int = 5,
    seed: int = 0,
    matrix: SectorMatrix | None = None,
) -> dict[str, dict[str, Any]]:
    """How concentrated each sector's establishments are across territories; traded or local.

    Parameters
    ----------
    con
        Knowledge base with SIRENE establishments.
    level
        Territories over which concentration is measured (EPCI by default).
    sector_level
        NAF level of the sectors.
    traded_threshold
        Normalised excess of the locational Gini over its value under a random spread,
        ``(G - G_random) / (1 - G_random)``, from which a sector is traded.
    min_establishments
        Sectors with fewer establishments are classified local (too few to tell).
    draws
        Random spreads averaged for the reference Gini.
    seed
        Seed of the random spreads (the same seed gives the same classification).
    matrix
        A ready matrix of establishment counts (skips the query).

    Returns
    -------
    dict
        By sector code: ``gini`` (locational Gini of establishment counts), ``gini_random``
        (mean over random spreads), ``excess`` (normalised), ``traded`` (bool),
        ``establishments``.
    """
    m = matrix or sector_matrix(
        con, level=level, sector_level=sector_level, measure="establishments"
    )
    counts = m.counts
    weights = counts.sum(axis=1)
    observed = locational_gini(counts, weights)
    rng = np.random.default_rng(seed)
    p = weights / weights.sum()
    totals = counts.sum(axis=0).astype(np.int64)
    random_gini = np.zeros(len(totals))
    for _ in range(draws):  # a few random spreads of every sector at once
        simulated = np.zeros_like(counts)
        for j, n in enumerate(totals):
            simulated[:, j] = rng.multinomial(int(n), p)
        random_gini += locational_gini(simulated, weights) / draws
    result: dict[str, dict[str, Any]] = {}
    for j, sector in enumerate(m.sectors):
        # Share of the inequality left by chance that the sector actually uses: comparable
        # between sparse and dense data (where chance alone already gives a high Gini).
        room = max(1.0 - float(random_gini[j]), 1e-9)
        excess = float(observed[j] - random_gini[j]) / room
        result[str(sector)] = {
            "gini": round(float(observed[j]), 4),
            "gini_random": round(float(random_gini[j]), 4),
            "excess": round(excess, 4),
            "traded": bool(excess >= traded_threshold and totals[j] >= min_establishments),
            "establishments": int(totals[j]),
        }
    return result


def classify_sectors(
    con: duckdb.DuckDBPyConnection,
    *,
    sector_level: str = "division",
    communes: list[str] | None = None,
    fallback: SectorMatrix | None = None,
    naf: str = "rev2",
) -> dict[str, dict[str, Any]]:
    """Traded/local classification of sectors, over EPCIs when there are enough of them.

    EPCIs give a faster and less noisy measure than communes; with fewer than ``MIN_EPCI``
    EPCIs holding establishments (a small knowledge base), communes are used instead (or the
    ``fallback`` matrix of establishment counts, when given).
    """
    epci = sector_matrix(
        con, level="epci", communes=communes, sector_level=sector_level,
        measure="establishments", naf=naf,
    )  # fmt: skip
    if len(epci.codes) >= MIN_EPCI:
        return sector_concentration(con, matrix=epci)
    if fallback is not None:
        return sector_concentration(
            con,
            matrix=SectorMatrix(fallback.codes, fallback.sectors, fallback.counts, fallback.counts),
        )
    communal = sector_matrix(
        con, level="commune", communes=communes, sector_level=sector_level,
        measure="establishments", naf=naf,
    )  # fmt: skip
    return sector_concentration(con, matrix=communal)
