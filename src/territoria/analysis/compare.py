"""Comparison: a territory and up to ten others of its level, side by side.

For each indicator (:data:`~territoria.analysis.indicator_matrix.DEFAULT_PEER_INDICATORS`
held at the level, or the user's set), each territory's value, its **percentile rank** at the
level (the share of the level's territories with a lower value, ties counted half: 0 the
lowest, 100 the highest), and two references:

- **national**: the *median* of every territory of the level in the knowledge base (not the
  national aggregate: a median commune, not France as a whole);
- **regional**: the median of the territories of the level in the territory's région.

When the knowledge base holds one région only (a regional demo), the "national" median *is*
that région's: the result says so in :attr:`Comparison.notes`.

**Series**: every indicator held for several periods at the level (population by year) is
returned year by year for each territory.

**Flags** (what a practitioner checks before quoting a figure):

- ``missing``: no value for this territory;
- ``small_population``: the territory has fewer than :data:`SMALL_POPULATION` inhabitants
  (on the territory, and on each of its percentages): its shares move by whole points for a
  few people (INSEE itself warns on small communes);
- ``small_count``: a count (unit not a percentage, size figures aside) below
  :data:`SMALL_COUNT`: a difference of a few units is noise.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import numpy.typing as npt
from pydantic import Field

from territoria._csv_safe import writer as csv_writer
from territoria._xlsx import Sheet, write_workbook
from territoria.analysis.indicator_matrix import IndicatorMatrix, indicator_matrix
from territoria.analysis.peers import (
    _Model,
    _resolve_indicators,
    regions_of,
    target_of,
)
from territoria.errors import ExportError, InvalidComparison, UnknownTerritory

__all__ = [
    "MAX_OTHERS",
    "SMALL_COUNT",
    "SMALL_POPULATION",
    "Comparison",
    "compare",
    "comparison_csv",
    "comparison_xlsx",
    "write_comparison",
]

#: Most territories compared with the first one.
MAX_OTHERS: Final = 10
#: Below this population, a territory's figures are flagged ``small_population``.
SMALL_POPULATION: Final = 2000
#: Below this count, a count figure is flagged ``small_count``.
SMALL_COUNT: Final = 20
_SIZE: Final = frozenset({"population", "density", "area_km2"})


class ComparedValue(_Model):
    """One territory's value of one indicator."""

    value: float | None = None
    percentile: float | None = Field(default=None, description="0 lowest to 100 highest.")
    flags: list[str] = Field(default_factory=list)


class ComparedTerritory(_Model):
    """One territory of the comparison."""

    code: str
    name: str
    region: str | None = None
    population: float | None = None
    values: dict[str, ComparedValue]
    flags: list[str] = Field(default_factory=list)


class Reference(_Model):
    """The references of one indicator."""

    indicator: str
    label: str
    unit: str | None = None
    period: str | None = None
    source: str
    synthetic: bool = False
    national_median: float | None = None
    regional_median: dict[str, float | None] = Field(
        default_factory=dict, description="By région code (the régions of the territories)."
    )
    territories: int = Field(description="Territories of the level with a value.")


class SeriesPoint(_Model):
    """One value of a series held for several periods."""

    indicator: str
    code: str
    period: str
    value: float


class Comparison(_Model):
    """A territory and others of its level, side by side."""

    level: str
    code: str
    indicators: list[str]
    territories: list[ComparedTerritory]
    references: list[Reference]
    series: list[SeriesPoint]
    regions: dict[str, str] = Field(default_factory=dict, description="Région names by code.")
    notes: list[str] = Field(default_factory=list)


def _percentiles(column: npt.NDArray[np.float64], rows: Sequence[int]) -> list[float | None]:
    """Percentile rank (ties half) of the chosen rows among the non-missing values."""
    held = np.sort(column[~np.isnan(column)])
    values = column[list(rows)]
    below = np.searchsorted(held, values, side="left")
    equal = np.searchsorted(held, values, side="right") - below
    ranks = 100.0 * (below + 0.5 * equal) / max(held.size, 1)
    return [None if np.isnan(v) else float(r) for v, r in zip(values, ranks, strict=True)]


def _resolve_others(
    con: duckdb.DuckDBPyConnection, level: str, code: str, others: Sequence[str]
) -> list[str]:
    wanted = [o.strip() for o in others if o.strip()]
    if len(wanted) > MAX_OTHERS:
        msg = f"{len(wanted)} territories to compare with: at most {MAX_OTHERS}"
        raise InvalidComparison(msg)
    found: list[str] = [code]
    for other in wanted:
        try:
            _, resolved, _ = target_of(con, other, level)
        except UnknownTerritory:
            msg = (
                f"unknown territory code {other!r} at level {level!r} (every territory "
                "compared is of the first one's level): run 'territoria search' to find it"
            )
            raise UnknownTerritory(msg) from None
        if resolved not in found:
            found.append(resolved)
    return found


def _series(
    con: duckdb.DuckDBPyConnection, level: str, indicators: list[str], codes: list[str]
) -> list[SeriesPoint]:
    rows = con.execute(
        """
        WITH several AS (
            SELECT indicator FROM indicator_value
            WHERE level = ? AND list_contains(?::VARCHAR[], indicator)
            GROUP BY indicator HAVING count(DISTINCT period) > 1
        )
        SELECT indicator, code, period, value FROM indicator_value
        WHERE level = ? AND indicator IN (SELECT indicator FROM several)
          AND list_contains(?::VARCHAR[], code)
        ORDER BY indicator, code, period
        """,
        [level, [*indicators, "population"], level, codes],
    ).fetchall()
    return [SeriesPoint(indicator=r[0], code=r[1], period=r[2], value=r[3]) for r in rows]


def _value_flags(value: float | None, indicator: str, unit: str | None, small: bool) -> list[str]:
    if value is None:
        return ["missing"]
    flags = ["small_population"] if small and unit == "%" else []
    if indicator not in _SIZE and unit != "%" and value < SMALL_COUNT:
        flags.append("small_count")
    return flags


def _territories(
    matrix: IndicatorMatrix,
    rows: list[int],
    regions: npt.NDArray[np.str_],
    population: npt.NDArray[np.float64],
) -> list[ComparedTerritory]:
    ranks = {c: _percentiles(matrix.column(c), rows) for c in matrix.indicators}
    out = []
    for i, row in enumerate(rows):
        pop = None if np.isnan(population[row]) else float(population[row])
        small = pop is not None and pop < SMALL_POPULATION
        values = {}
        for c in matrix.indicators:
            raw = matrix.column(c)[row]
            value = None if np.isnan(raw) else float(raw)
            values[c] = ComparedValue(
                value=value,
                percentile=ranks[c][i],
                flags=_value_flags(value, c, matrix.units.get(c), small),
            )
        out.append(
            ComparedTerritory(
                code=str(matrix.codes[row]),
                name=str(matrix.names[row]),
                region=str(regions[row]) or None,
                population=pop,
                values=values,
                flags=["small_population"] if small else [],
            )
        )
    return out


def _references(
    matrix: IndicatorMatrix, regions: npt.NDArray[np.str_], wanted: set[str]
) -> list[Reference]:
    out = []
    for c in matrix.indicators:
        column = matrix.column(c)
        held = ~np.isnan(column)
        regional = {}
        for region in sorted(wanted):
            mask = held & (regions == region)
            regional[region] = float(np.median(column[mask])) if mask.any() else None
        out.append(
            Reference(
                indicator=c,
                label=matrix.labels[c],
                unit=matrix.units.get(c),
                period=matrix.periods.get(c),
                source=matrix.sources[c],
                synthetic=matrix.synthetic.get(c, False),
                national_median=float(np.median(column[held])) if held.any() else None,
                regional_median=regional,
                territories=int(held.sum()),
            )
        )
    return out


def compare(
    con: duckdb.DuckDBPyConnection,
    code: str,
    others: Sequence[str],
    *,
    level: str | None = None,
    indicators: Sequence[str] | None = None,
) -> Comparison:
    """Compare ``code`` with ``others`` (at most :data:`MAX_OTHERS`, of the same level).

    Raises
    ------
    UnknownTerritory, UnknownLevel, UnknownIndicator, InvalidComparison
    """
    key, found, _ = target_of(con, code, level)
    codes = _resolve_others(con, key, found, others)
    wanted = _resolve_indicators(con, key, indicators)
    extra = [] if "population" in wanted else ["population"]
    full = indicator_matrix(con, key, [*wanted, *extra], min_coverage=0.0, allow_constant=True)
    matrix = _columns(full, wanted)
    regions = regions_of(con, key, matrix.codes)
    rows = [matrix.row(c) for c in codes]
    chosen = {str(regions[r]) for r in rows if regions[r]}
    notes = _notes(con, regions)
    return Comparison(
        level=key,
        code=found,
        indicators=wanted,
        territories=_territories(matrix, rows, regions, full.column("population")),
        references=_references(matrix, regions, chosen),
        series=_series(con, key, wanted, codes),
        regions=_region_names(con, sorted(chosen)),
        notes=notes,
    )


def _columns(matrix: IndicatorMatrix, keep: list[str]) -> IndicatorMatrix:
    """The matrix restricted to the columns ``keep`` (in that order)."""
    from dataclasses import replace

    cols = [matrix.indicators.index(c) for c in keep]
    return replace(
        matrix,
        indicators=list(keep),
        values=matrix.values[:, cols],
        periods={c: matrix.periods[c] for c in keep},
        sources={c: matrix.sources[c] for c in keep},
        labels={c: matrix.labels[c] for c in keep},
        units={c: matrix.units.get(c) for c in keep},
        synthetic={c: matrix.synthetic.get(c, False) for c in keep},
    )


def _notes(con: duckdb.DuckDBPyConnection, regions: npt.NDArray[np.str_]) -> list[str]:
    held = {r for r in np.unique(regions).tolist() if r}
    if len(held) == 1:
        name = _region_names(con, sorted(held)).get(next(iter(held)), "")
        return [
            f"the knowledge base holds one région only ({name}): the national median is that "
            "région's median, not France's"
        ]
    return []


def _region_names(con: duckdb.DuckDBPyConnection, codes: list[str]) -> dict[str, str]:
    rows = con.execute(
        "SELECT code, name FROM territory WHERE level = 'region' "
        "AND list_contains(?::VARCHAR[], code)",
        [codes],
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


_HEADERS: Final = (
    "code",
    "nom",
    "indicateur",
    "libellé",
    "période",
    "valeur",
    "unité",
    "rang centile",
    "médiane nationale",
    "médiane régionale",
    "signalements",
    "source",
)


def _rows(result: Comparison) -> list[list[object]]:
    refs = {r.indicator: r for r in result.references}
    rows: list[list[object]] = []
    for t in result.territories:
        for c in result.indicators:
            v, ref = t.values[c], refs[c]
            rows.append(
                [
                    t.code,
                    t.name,
                    c,
                    ref.label,
                    ref.period,
                    v.value,
                    ref.unit,
                    None if v.percentile is None else round(v.percentile, 1),
                    ref.national_median,
                    ref.regional_median.get(t.region or ""),
                    " ".join(v.flags),
                    ref.source + (" (synthétique)" if ref.synthetic else ""),
                ]
            )
    return rows


def comparison_csv(result: Comparison) -> str:
    """The comparison as CSV (one line per territory and indicator; formula-safe)."""
    out = io.StringIO()
    w = csv_writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL)
    w.writerow(_HEADERS)
    w.writerows(_rows(result))
    return out.getvalue()


def comparison_xlsx(result: Comparison, target: Path | io.BytesIO) -> None:
    """The comparison as an XLSX workbook: the values sheet and the series sheet."""
    series = [[p.code, p.indicator, p.period, p.value] for p in result.series]
    write_workbook(
        target,
        [
            Sheet("comparaison", _HEADERS, _rows(result)),
            Sheet("séries", ("code", "indicateur", "période", "valeur"), series),
        ],
    )


def write_comparison(result: Comparison, path: Path) -> None:
    """Write the comparison to ``path`` as CSV or XLSX (by its suffix).

    Raises
    ------
    ExportError
        When the suffix is neither ``.csv`` nor ``.xlsx``.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        path.write_text(comparison_csv(result), encoding="utf-8")
    elif suffix == ".xlsx":
        comparison_xlsx(result, path)
    else:
        msg = f"cannot write {path.name!r}: give a file ending in .csv or .xlsx"
        raise ExportError(msg)
