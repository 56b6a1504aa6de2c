"""Composite indices of territories with uncertainty and sensitivity.

The pipeline follows the JRC/OECD *Handbook on Constructing Composite Indicators* (2008) in
COINr's order: indicator selection with polarity, outlier treatment (COINr's skew/kurtosis rule,
``_outliers``), imputation (``_impute``), normalisation (``_normalise``), weighting
(``_weights``), aggregation (``_aggregate``), ranks; then a Monte-Carlo over the weights and the
normalisation, aggregation and imputation choices, with Sobol' indices (``_uncertainty``).
Definitions and builds are saved with their provenance (``definitions``, migration 0019).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
from numpy.typing import NDArray

from territoria.analysis.composite import definitions
from territoria.analysis.composite._model import (
    IndexResult,
    IndexScore,
    IndexSummary,
    IndicatorUse,
    TerritoryRank,
)
from territoria.analysis.composite._parse import parse_indicators, parse_pillars, parse_weights
from territoria.analysis.composite._pipeline import Computed, Method, compute
from territoria.analysis.composite._uncertainty import Sensitivity
from territoria.analysis.indicator_matrix import IndicatorMatrix, indicator_matrix
from territoria.errors import CompositeInputError, UnknownIndex

__all__ = [
    "IndexResult",
    "IndexScore",
    "IndexSummary",
    "IndicatorUse",
    "Method",
    "PendingBuild",
    "Sensitivity",
    "TerritoryRank",
    "build_index",
    "compute",
    "compute_index",
    "delete_index",
    "list_indices",
    "parse_indicators",
    "parse_pillars",
    "parse_weights",
    "save_index",
    "show_index",
    "territory_ranks",
]


def _provenance(
    matrix: IndicatorMatrix, method: Method, computed: Computed
) -> list[dict[str, Any]]:
    treat = [
        t.method if t.method != "winsorised" else f"winsorised ({t.points})"
        for t in computed.treatments
    ] or ["none"] * len(method.indicators)
    return [
        {
            "code": code,
            "label": matrix.labels.get(code, code),
            "unit": matrix.units.get(code),
            "polarity": sign,
            "weight": float(w),
            "period": matrix.periods.get(code),
            "source": matrix.sources.get(code, ""),
            "synthetic": bool(matrix.synthetic.get(code, False)),
            "treatment": t,
        }
        for code, sign, w, t in zip(
            method.indicators, method.polarity, computed.weights, treat, strict=True
        )
    ]


@dataclass(frozen=True)
class PendingBuild:
    """An index computed and not yet saved (computed from a reader, saved by the writer)."""

    name: str
    period: str | None
    method: Method
    matrix: IndicatorMatrix
    computed: Computed


def compute_index(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    level: str | None = None,
    method: Method | None = None,
    period: str | None = None,
) -> PendingBuild:
    """Compute the index ``name`` (read only); without ``method``, its saved definition's.

    Raises
    ------
    CompositeInputError, UnknownIndex, UnknownLevel, UnknownIndicator, IndicatorCoverageTooLow,
    ConstantIndicator
    """
    clean = definitions.check_name(name)
    if method is None or level is None:
        row = definitions.live_definition(con, clean)
        level, period, method = row[2], row[3], method or definitions.method_from_json(row[4])
    method.check()
    matrix = indicator_matrix(
        con, level, method.indicators, period=period, min_coverage=method.min_coverage
    )
    groups = None if method.impute_by is None else _groups(con, matrix, method.impute_by)
    return PendingBuild(
        clean, period, method, matrix, compute(matrix.values, method, groups=groups)
    )


def _groups(
    con: duckdb.DuckDBPyConnection, matrix: IndicatorMatrix, parent: str
) -> NDArray[np.str_]:
    """Each territory's parent at level ``parent`` (imputation by group); '' when it has none.

    A territory with several parents (an EPCI across départements) takes the first by code.
    """
    rows = dict(
        con.execute(
            "SELECT code, min(parent_code) FROM membership WHERE level = ? AND parent_level = ? "
            "GROUP BY code",
            [matrix.level, parent],
        ).fetchall()
    )
    if not rows:
        msg = (
            f"no {matrix.level} belongs to a {parent!r}: impute by a level above it "
            "(departement, region)"
        )
        raise CompositeInputError(msg)
    return np.array([rows.get(str(c), "") for c in matrix.codes], dtype=np.str_)


def save_index(con: duckdb.DuckDBPyConnection, pending: PendingBuild) -> IndexResult:
    """Save a computed index (definition and build, audited) and return it as shown."""
    definitions.save_build(
        con,
        pending.name,
        period=pending.period,
        method=pending.method,
        matrix=pending.matrix,
        computed=pending.computed,
        provenance=_provenance(pending.matrix, pending.method, pending.computed),
    )
    return show_index(con, pending.name)


def build_index(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    level: str | None = None,
    method: Method | None = None,
    period: str | None = None,
) -> IndexResult:
    """Compute and save the index ``name`` (see :func:`compute_index`)."""
    return save_index(con, compute_index(con, name, level=level, method=method, period=period))


def _scores(
    con: duckdb.DuckDBPyConnection, build_id: int, limit: int | None
) -> tuple[IndexScore, ...]:
    rows = con.execute(
        "SELECT code, name, score, rank, median_rank, rank_low, rank_high FROM composite_score "
        "WHERE build_id = ? ORDER BY rank, code LIMIT ?",
        [build_id, limit if limit is not None else 2**62],
    ).fetchall()
    return tuple(
        IndexScore(
            r[0],
            r[1],
            None if r[2] is None or np.isnan(r[2]) else float(r[2]),
            int(r[3]),
            None if r[4] is None or np.isnan(r[4]) else float(r[4]),
            None if r[5] is None else (int(r[5]), int(r[6])),
        )
        for r in rows
    )


def show_index(
    con: duckdb.DuckDBPyConnection, name: str, *, limit: int | None = None
) -> IndexResult:
    """The latest build of the saved index ``name`` (its ``limit`` best ranks, or all)."""
    row = definitions.live_definition(con, name)
    build = con.execute(
        "SELECT id, built_at, built_by, provenance, sensitivity, runs, design, seed, ranked, "
        "dropped "
        "FROM composite_build WHERE index_id = ? ORDER BY id DESC LIMIT 1",
        [row[0]],
    ).fetchone()
    if build is None:
        raise UnknownIndex(f"index {name!r} was never built: run 'territoria index build {name}'")
    method = json.loads(row[4])
    return IndexResult(
        name=row[1],
        level=row[2],
        period=row[3],
        method=method,
        built_at=build[1],
        built_by=build[2],
        indicators=tuple(IndicatorUse(**p) for p in json.loads(build[3])),
        scores=_scores(con, int(build[0]), limit),
        sensitivity=tuple(Sensitivity(**s) for s in json.loads(build[4] or "[]")),
        runs=int(build[5]),
        design=build[6],
        seed=int(build[7]),
        ranked=int(build[8]),
        dropped=int(build[9]),
    )


def territory_ranks(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[TerritoryRank]:
    """The territory's rank in every saved index of its level (latest builds), by index name."""
    rows = con.execute(
        "WITH last AS (SELECT index_id, max(id) AS id FROM composite_build GROUP BY index_id) "
        "SELECT i.name, s.score, s.rank, b.ranked, s.median_rank, s.rank_low, s.rank_high, "
        "b.built_at FROM composite_index i JOIN last ON last.index_id = i.id "
        "JOIN composite_build b ON b.id = last.id "
        "JOIN composite_score s ON s.build_id = b.id AND s.code = ? "
        "WHERE i.deleted_at IS NULL AND i.level = ? ORDER BY i.name",
        [code, level],
    ).fetchall()
    return [
        TerritoryRank(
            r[0],
            None if r[1] is None or np.isnan(r[1]) else float(r[1]),
            int(r[2]),
            int(r[3]),
            None if r[4] is None or np.isnan(r[4]) else float(r[4]),
            None if r[5] is None else (int(r[5]), int(r[6])),
            r[7],
        )
        for r in rows
    ]


def list_indices(con: duckdb.DuckDBPyConnection) -> list[IndexSummary]:
    """The saved (live) indices."""
    return definitions.list_definitions(con)


def delete_index(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Soft-delete the saved index ``name``."""
    definitions.delete_definition(con, name)
