"""Peers: the territories of the same level most similar to one territory.

How peers are chosen (the text every result carries in :attr:`PeersResult.explanation`):

1. **Indicators.** :data:`~territoria.analysis.indicator_matrix.DEFAULT_PEER_INDICATORS`
   (those the level holds) or the user's set, each at its latest well-covered period.
2. **Scale.** Size-like figures (population, density, area and every count, i.e. any
   indicator whose unit is not a percentage) are taken as ``log(1 + x)``, so that Paris does
   not make every other commune look alike; then each indicator becomes a z-score over all
   territories of the level holding it (mean 0, standard deviation 1).
3. **Missing values.** An indicator the territory itself lacks is left out (and named in
   ``dropped``); a candidate lacking any remaining indicator is not ranked (counted in
   ``excluded``): no value is imputed, so no peer is chosen on a guess.
4. **Distance.** Euclidean on the z-scores, or Mahalanobis: the z-scores are whitened with a
   Ledoit–Wolf shrunk covariance (estimated on the territories with every value; shrinkage
   towards a scaled identity keeps it invertible when indicators are nearly collinear), with
   the symmetric (ZCA) inverse square root ``Σ^-1/2``, so that Euclidean distance on the
   whitened scores *is* the Mahalanobis distance.
5. **Contributions.** Each indicator's share of the squared distance: ``(z_i - z'_i)² / d²``
   on z-scores, and the same on the ZCA-whitened scores for Mahalanobis (ZCA keeps each
   whitened coordinate the one closest to its original indicator, Kessy, Lewin & Strimmer
   2018; shares are non-negative and sum to 1).
6. **Stability.** The indicator set is resampled with replacement ``bootstrap`` times (an
   indicator drawn twice counts twice); a peer's stability is the share of resamples in
   which it stays among the ``k`` nearest.
7. **Filters.** ``region="same"`` / ``"other"`` keeps candidates of the territory's région
   or of the others (by the ``membership`` table); ``population_band=(0.5, 2.0)`` keeps
   candidates whose population is between half and twice the territory's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from territoria.analysis.indicator_matrix import (
    DEFAULT_PEER_INDICATORS,
    IndicatorMatrix,
    indicator_catalogue_codes,
    indicator_matrix,
)
from territoria.analysis.profile import resolve_territory
from territoria.errors import InvalidComparison
from territoria.kb.territories import check_level

__all__ = [
    "Peer",
    "PeerIndicator",
    "PeerInputs",
    "PeerOptions",
    "PeersResult",
    "find_peers",
    "peer_inputs",
    "prepare",
    "rank_peers",
    "regions_of",
    "target_of",
    "zca_whitener",
]

Method = Literal["euclidean", "mahalanobis"]
RegionFilter = Literal["any", "same", "other"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-able data."""
        return self.model_dump(mode="json")


class PeerIndicator(_Model):
    """One indicator of a peers search, as used."""

    code: str
    label: str = Field(description="French label.")
    unit: str | None = None
    period: str | None = None
    source: str = Field(description="Source name, version, publisher and date.")
    synthetic: bool = False
    log_scaled: bool = Field(description="Compared as log(1 + value).")
    value: float | None = Field(default=None, description="The territory's own value.")


class Peer(_Model):
    """One comparable territory."""

    code: str
    name: str
    distance: float
    contributions: dict[str, float] = Field(
        description="Each indicator's share of the squared distance (they sum to 1)."
    )
    stability: float = Field(ge=0, le=1, description="Share of bootstrap resamples kept.")
    region: str | None = None
    values: dict[str, float | None] = Field(default_factory=dict)


class PeersResult(_Model):
    """The peers of a territory and how they were chosen."""

    level: str
    code: str
    name: str
    region: str | None = None
    method: Method
    k: int
    region_filter: RegionFilter
    population_band: tuple[float, float] | None = None
    indicators: list[PeerIndicator]
    dropped: list[str] = Field(description="Indicators the territory has no value of.")
    candidates: int = Field(description="Territories ranked.")
    excluded: int = Field(description="Territories not ranked for a missing value.")
    bootstrap: int
    seed: int
    peers: list[Peer]
    explanation: str


def target_of(con: duckdb.DuckDBPyConnection, code: str, level: str | None) -> tuple[str, str, str]:
    """Level, code and name of a territory (``code`` case-insensitive).

    Raises
    ------
    UnknownTerritory, UnknownLevel
    """
    row = resolve_territory(con, code, level=level)
    return str(row["level"]), str(row["code"]), str(row["name"])


def regions_of(
    con: duckdb.DuckDBPyConnection, level: str, codes: npt.NDArray[np.str_]
) -> npt.NDArray[np.str_]:
    """Région code of each territory (empty string where none), in the order of ``codes``:
    the ``membership`` row (the lowest code for an EPCI straddling régions); a municipal
    arrondissement takes its commune's."""
    if level == "region":
        return codes.copy()
    rows = con.execute(
        """
        SELECT code, min(parent_code) FROM membership
        WHERE level = ? AND parent_level = 'region' GROUP BY code
        UNION ALL
        SELECT a.code, min(r.parent_code) FROM membership a JOIN membership r
            ON r.level = 'commune' AND r.code = a.parent_code AND r.parent_level = 'region'
        WHERE ? = 'arrondissement_municipal' AND a.level = ? AND a.parent_level = 'commune'
        GROUP BY a.code
        """,
        [level, level, level],
    ).fetchall()
    out = np.full(codes.size, "", dtype=codes.dtype if codes.size else np.str_)
    if not rows or not codes.size:
        return out
    pairs = np.array(rows, dtype=np.str_)
    pos = np.clip(np.searchsorted(codes, pairs[:, 0]), 0, codes.size - 1)
    hit = codes[pos] == pairs[:, 0]
    out = out.astype(pairs.dtype if pairs.dtype.itemsize > out.dtype.itemsize else out.dtype)
    out[pos[hit]] = pairs[hit, 1]
    return out


def _log_scaled(matrix: IndicatorMatrix) -> npt.NDArray[np.bool_]:
    return np.array([matrix.units.get(c) != "%" for c in matrix.indicators], dtype=bool)


def prepare(matrix: IndicatorMatrix) -> npt.NDArray[np.float64]:
    """z-scores of the matrix at its level, size-like columns as ``log(1 + x)`` first."""
    values = matrix.values.copy()
    logged = _log_scaled(matrix)
    with np.errstate(invalid="ignore"):
        values[:, logged] = np.log1p(np.clip(values[:, logged], 0, None))
    mean = np.nanmean(values, axis=0)
    std = np.nanstd(values, axis=0)
    std[~(std > 0)] = 1.0
    z: npt.NDArray[np.float64] = (values - mean) / std
    return z


def zca_whitener(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``Σ^-1/2`` of the Ledoit–Wolf shrunk covariance of the complete rows of ``z``."""
    from sklearn.covariance import LedoitWolf

    complete = z[~np.isnan(z).any(axis=1)]
    cov = LedoitWolf().fit(complete).covariance_
    eigval, eigvec = np.linalg.eigh(cov)
    whitener: npt.NDArray[np.float64] = (eigvec / np.sqrt(eigval)) @ eigvec.T
    return whitener


def _candidates(
    matrix: IndicatorMatrix,
    target: int,
    regions: npt.NDArray[np.str_],
    options: PeerOptions,
) -> npt.NDArray[np.bool_]:
    keep = np.ones(matrix.codes.size, dtype=bool)
    keep[target] = False
    if options.region != "any":
        same = regions == regions[target]
        keep &= same if options.region == "same" else ~same
    if options.population_band is not None:
        low, high = options.population_band
        population = matrix.column("population")
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = population / population[target]
            keep &= (ratio >= low) & (ratio <= high)
    return keep


def _check_options(k: int, method: str, region: str, band: tuple[float, float] | None) -> None:
    if k < 1 or k > 100:
        msg = f"k={k!r}: ask for 1 to 100 peers"
        raise InvalidComparison(msg)
    if method not in ("euclidean", "mahalanobis"):
        msg = f"unknown method {method!r}: choose euclidean or mahalanobis"
        raise InvalidComparison(msg)
    if region not in ("any", "same", "other"):
        msg = f"unknown région filter {region!r}: choose any, same or other"
        raise InvalidComparison(msg)
    if band is not None and not (0 < band[0] <= band[1]):
        msg = f"population band {band!r}: give two ratios, 0 < low <= high (e.g. 0.5,2)"
        raise InvalidComparison(msg)


def _stability(
    sq: npt.NDArray[np.float64],
    peers: npt.NDArray[np.intp],
    k: int,
    bootstrap: int,
    seed: int,
) -> npt.NDArray[np.float64]:
    """Share of indicator resamples (with replacement) where each peer stays in the k
    nearest: one matrix product for all resamples, no loop over territories."""
    if bootstrap <= 0 or sq.shape[0] <= k:
        return np.ones(peers.size)
    rng = np.random.default_rng(seed)
    p = sq.shape[1]
    draws = rng.integers(0, p, size=(bootstrap, p))
    weights = np.zeros((bootstrap, p))
    np.add.at(weights, (np.repeat(np.arange(bootstrap), p), draws.ravel()), 1.0)
    dist = weights.astype(np.float32) @ sq.T.astype(np.float32)  # resamples × candidates
    # the k peers are k candidates within their own largest distance: no candidate farther
    # than it in every resample can be among the k nearest of any, so it is left out of the
    # selection (exact, and the selection then runs on a few hundred candidates, not all)
    bound = dist[:, peers].max(axis=1, keepdims=True)
    near = dist[:, (dist <= bound).any(axis=0)]
    kth = np.partition(near, k - 1, axis=1)[:, k - 1 : k]
    kept = np.sum(dist[:, peers] <= kth, axis=0)
    share: npt.NDArray[np.float64] = kept / bootstrap
    return share


def _explanation(result: dict[str, Any]) -> str:
    method = (
        "Mahalanobis distance (z-scores whitened with a Ledoit-Wolf shrunk covariance)"
        if result["method"] == "mahalanobis"
        else "Euclidean distance on z-scores"
    )
    parts = [
        f"The {result['k']} territories of level {result['level']} nearest to "
        f"{result['name']} by {method} over {len(result['indicators'])} indicators "
        f"({', '.join(result['indicators'])}); counts, population, density and area as "
        "log(1 + x); z-scores over every territory of the level.",
        f"{result['candidates']} territories ranked, {result['excluded']} left out for a "
        "missing value (nothing imputed).",
    ]
    if result["dropped"]:
        parts.append(f"Left out, the territory has no value: {', '.join(result['dropped'])}.")
    if result["region_filter"] != "any":
        which = "its own région" if result["region_filter"] == "same" else "other régions"
        parts.append(f"Only territories of {which}.")
    if result["population_band"]:
        low, high = result["population_band"]
        parts.append(f"Population between {low:g} and {high:g} times its own.")
    parts.append(
        "Contribution: each indicator's share of the squared distance. Stability: share of "
        f"{result['bootstrap']} resamples of the indicators (with replacement) keeping the peer."
    )
    return " ".join(parts)


def _resolve_indicators(
    con: duckdb.DuckDBPyConnection, level: str, indicators: Sequence[str] | None
) -> list[str]:
    if indicators:
        return list(dict.fromkeys(indicators))
    held = set(indicator_catalogue_codes(con, level))
    chosen = [c for c in DEFAULT_PEER_INDICATORS if c in held]
    if not chosen:
        msg = f"level {level!r} holds none of the default indicators: give --indicators"
        raise InvalidComparison(msg)
    return chosen


def _distances(z: npt.NDArray[np.float64], target: int, method: str) -> npt.NDArray[np.float64]:
    """Squared differences to the target, per indicator (whitened for Mahalanobis)."""
    if method == "mahalanobis":
        w = zca_whitener(z)
        z = z @ w.T
    diff = z - z[target]
    sq: npt.NDArray[np.float64] = diff * diff
    return sq


@dataclass(frozen=True)
class PeerOptions:
    """How peers are searched (see :func:`find_peers`)."""

    k: int = 10
    method: Method = "euclidean"
    region: RegionFilter = "any"
    population_band: tuple[float, float] | None = None
    bootstrap: int = 200
    seed: int = 0


def find_peers(
    con: duckdb.DuckDBPyConnection,
    code: str,
    *,
    level: str | None = None,
    k: int = 10,
    indicators: Sequence[str] | None = None,
    method: Method = "euclidean",
    region: RegionFilter = "any",
    population_band: tuple[float, float] | None = None,
    bootstrap: int = 200,
    seed: int = 0,
) -> PeersResult:
    """The ``k`` territories of the same level most similar to ``code`` (module docstring:
    how they are chosen).

    Raises
    ------
    UnknownTerritory, UnknownLevel, UnknownIndicator, IndicatorCoverageTooLow,
    ConstantIndicator, InvalidComparison
    """
    options = PeerOptions(k, method, region, population_band, bootstrap, seed)
    _check_options(k, method, region, population_band)
    key, found, _ = target_of(con, code, level)
    if region != "any" and key == "region":
        msg = "a région has no région to be the same as or other than: use --region any"
        raise InvalidComparison(msg)
    inputs = peer_inputs(con, key, indicators)
    if population_band and "population" not in inputs.matrix.indicators:
        msg = f"level {key!r} has no population: leave out the population band"
        raise InvalidComparison(msg)
    return rank_peers(inputs.matrix, found, inputs.regions, inputs.indicators, options)


@dataclass(frozen=True)
class PeerInputs:
    """What peers are ranked on at one level: the matrix (with the population, for the
    band filter), each territory's région and the indicators compared."""

    matrix: IndicatorMatrix
    regions: npt.NDArray[np.str_]
    indicators: list[str]


def peer_inputs(
    con: duckdb.DuckDBPyConnection, level: str, indicators: Sequence[str] | None = None
) -> PeerInputs:
    """Read the inputs of :func:`rank_peers` for a level (the costly part: the web app
    caches it per level and indicator set).

    Raises
    ------
    UnknownLevel, UnknownIndicator, IndicatorCoverageTooLow, ConstantIndicator
    """
    key = check_level(con, level)
    wanted = _resolve_indicators(con, key, indicators)
    held = "population" in indicator_catalogue_codes(con, key)
    extra = ["population"] if held and "population" not in wanted else []
    matrix = indicator_matrix(con, key, [*wanted, *extra])
    return PeerInputs(matrix, regions_of(con, key, matrix.codes), wanted)


def rank_peers(
    matrix: IndicatorMatrix,
    code: str,
    regions: npt.NDArray[np.str_],
    indicators: Sequence[str],
    options: PeerOptions,
) -> PeersResult:
    """The peers of ``code`` in a matrix already read (NumPy only: what the benchmark times).

    Raises
    ------
    InvalidComparison
        When the territory holds none of the indicators.
    """
    target = matrix.row(code)
    name = str(matrix.names[target])
    cols = [j for j, c in enumerate(matrix.indicators) if c in indicators]
    z_all = prepare(matrix)[:, cols]
    used = [matrix.indicators[j] for j in cols]
    held = ~np.isnan(z_all[target])
    if not held.any():
        msg = (
            f"{name} ({code}) has no value of {', '.join(used)}: choose indicators it holds "
            f"(run 'territoria indicators list --level {matrix.level}')"
        )
        raise InvalidComparison(msg)
    z = z_all[:, held]
    kept = [c for c, h in zip(used, held, strict=True) if h]
    complete = np.asarray(~np.isnan(z).any(axis=1), dtype=bool)
    rows = np.flatnonzero(_candidates(matrix, target, regions, options) & complete)
    sq = _distances(np.where(complete[:, None], z, 0.0), target, options.method)[rows]
    total = sq.sum(axis=1)
    n_peers = min(options.k, rows.size)
    nearest = np.argpartition(total, n_peers - 1)[:n_peers] if n_peers else np.zeros(0, np.intp)
    order = nearest[np.lexsort((matrix.codes[rows[nearest]], total[nearest]))]
    stability = _stability(sq, order, n_peers, options.bootstrap, options.seed)
    peers = [
        _peer(matrix, kept, rows[i], sq[i], float(s), regions)
        for i, s in zip(order.tolist(), stability.tolist(), strict=True)
    ]
    fields: dict[str, Any] = {
        "level": matrix.level,
        "code": code,
        "name": name,
        "region": regions[target] or None,
        "method": options.method,
        "k": options.k,
        "region_filter": options.region,
        "population_band": options.population_band,
        "indicators": kept,
        "dropped": [c for c in used if c not in kept],
        "candidates": int(rows.size),
        "excluded": int(np.sum(~complete) - (0 if complete[target] else 1)),
        "bootstrap": options.bootstrap,
        "seed": options.seed,
    }
    explanation = _explanation(fields)
    fields["indicators"] = [_indicator(matrix, c, target) for c in kept]
    return PeersResult(**fields, peers=peers, explanation=explanation)


def _number(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def _peer(
    matrix: IndicatorMatrix,
    kept: list[str],
    row: int,
    sq: npt.NDArray[np.float64],
    stability: float,
    regions: npt.NDArray[np.str_],
) -> Peer:
    total = float(sq.sum())
    shares = sq / total if total > 0 else np.full(sq.size, 1.0 / sq.size)
    return Peer(
        code=str(matrix.codes[row]),
        name=str(matrix.names[row]),
        distance=float(np.sqrt(total)),
        contributions={c: float(s) for c, s in zip(kept, shares.tolist(), strict=True)},
        stability=stability,
        region=str(regions[row]) or None,
        values={c: _number(matrix.column(c)[row]) for c in kept},
    )


def _indicator(matrix: IndicatorMatrix, code: str, target: int) -> PeerIndicator:
    return PeerIndicator(
        code=code,
        label=matrix.labels[code],
        unit=matrix.units.get(code),
        period=matrix.periods.get(code),
        source=matrix.sources[code],
        synthetic=matrix.synthetic.get(code, False),
        log_scaled=matrix.units.get(code) != "%",
        value=_number(matrix.column(code)[target]),
    )
