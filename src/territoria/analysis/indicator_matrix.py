"""One matrix of indicators for the territories of a level: the input of peers, comparisons
and composite indices.

:func:`indicator_matrix` reads every value it needs in one SQL query (the imported
``indicator_value`` rows of the chosen periods, plus the built-in figures of the territory
table) and scatters them into a ``territories × indicators`` float array with NumPy, NaN
where a territory has no value. Each indicator says which period it uses and where its
values come from.

Periods
    Unless ``period`` is given, each indicator uses its *latest well-covered period* at the
    level: the latest period holding at least half as many values as its best-covered period
    (the population series has a 2017 column for 17 communes only; it is not "the latest").

Built-in figures
    ``population`` is the imported population series when the level has one (its latest
    period), else the territory table's population (``population_year``). ``density`` is
    that population divided by the territory table's ``area_km2`` (computed from the
    geometries), so density and population describe the same year. ``area_km2`` is the
    territory table's.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import duckdb
import numpy as np
import numpy.typing as npt

from territoria.errors import (
    ConstantIndicator,
    IndicatorCoverageTooLow,
    UnknownIndicator,
    UnknownPeriod,
)
from territoria.kb.territories import BUILTIN_INDICATORS, check_level

__all__ = [
    "DEFAULT_PEER_INDICATORS",
    "IndicatorMatrix",
    "indicator_catalogue_codes",
    "indicator_matrix",
]

#: The default indicators of peers: the structure of a territory a practitioner compares
#: first (CIPFA's nearest-neighbour model uses the same families: size, density, age,
#: housing). Those the level does not hold are left out.
DEFAULT_PEER_INDICATORS: Final[tuple[str, ...]] = (
    "population",  # size: services, budgets and problems scale with it
    "density",  # urban or rural: the same population spread over 5 or 500 km²
    "part_0019",  # young population: schools, families, growth
    "part_65p",  # older population: care, mobility, housing needs
    "part_appart",  # urban housing form (flats vs houses)
    "part_rsecocc",  # tourist and second-home territories behave apart
    "taux_vacance",  # housing vacancy: a sign of decline or of a tight market
)

#: Share of a level's territories an indicator must cover (a lower coverage cannot compare).
MIN_COVERAGE: Final = 0.5

_BUILTIN_CODES: Final = frozenset(BUILTIN_INDICATORS)


@dataclass(frozen=True)
class IndicatorMatrix:
    """Values of indicators (columns) for the territories of one level (rows)."""

    level: str
    codes: npt.NDArray[np.str_]
    names: npt.NDArray[np.str_]
    indicators: list[str]
    values: npt.NDArray[np.float64]
    periods: dict[str, str | None]
    sources: dict[str, str]
    labels: dict[str, str]
    units: dict[str, str | None] = field(default_factory=dict)
    synthetic: dict[str, bool] = field(default_factory=dict)

    def column(self, indicator: str) -> npt.NDArray[np.float64]:
        """The values of one indicator, in the order of :attr:`codes`."""
        return self.values[:, self.indicators.index(indicator)]

    def row(self, code: str) -> int:
        """Index of the territory ``code`` in :attr:`codes`.

        Raises
        ------
        LookupError
            When the territory is not in the matrix.
        """
        found = np.flatnonzero(self.codes == code)
        if found.size == 0:
            msg = f"territory {code!r} is not in the {self.level} matrix"
            raise LookupError(msg)
        return int(found[0])


def indicator_catalogue_codes(con: duckdb.DuckDBPyConnection, level: str) -> list[str]:
    """Codes of the indicators the level holds: built-in figures first, then imported ones."""
    key = check_level(con, level)
    imported = [
        str(r[0])
        for r in con.execute(
            "SELECT DISTINCT indicator FROM indicator_value WHERE level = ? ORDER BY 1", [key]
        ).fetchall()
    ]
    row = con.execute(
        "SELECT count(population), count(area_km2) FROM territory WHERE level = ?", [key]
    ).fetchone()
    has_pop = bool(row and row[0]) or "population" in imported
    has_area = bool(row and row[1])
    builtins = [
        code
        for code, held in (
            ("population", has_pop),
            ("density", has_pop and has_area),
            ("area_km2", has_area),
        )
        if held
    ]
    return builtins + [c for c in imported if c not in _BUILTIN_CODES]


def _check_codes(available: Sequence[str], indicators: Sequence[str], level: str) -> None:
    for code in indicators:
        if code not in available:
            close = difflib.get_close_matches(code, available, n=4, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            msg = (
                f"unknown indicator {code!r} at level {level!r}: {hint}"
                "run 'territoria indicators list --level " + level + "' for the catalogue"
            )
            raise UnknownIndicator(msg)


_PERIODS_SQL = """
WITH counts AS (
    SELECT indicator, period, count(*) AS n FROM indicator_value
    WHERE level = ? AND list_contains(?::VARCHAR[], indicator) GROUP BY ALL
)
SELECT indicator, max(period) FILTER (WHERE n * 2 >= best) FROM (
    SELECT *, max(n) OVER (PARTITION BY indicator) AS best FROM counts
) GROUP BY indicator
"""


def _periods(
    con: duckdb.DuckDBPyConnection, level: str, indicators: Sequence[str], period: str | None
) -> dict[str, str | None]:
    """The period of each imported indicator (and of the population series)."""
    wanted = [c for c in indicators if c not in _BUILTIN_CODES]
    if any(c in ("population", "density") for c in indicators):
        wanted.append("population")
    if period is not None:
        found = {
            str(r[0])
            for r in con.execute(
                "SELECT DISTINCT indicator FROM indicator_value WHERE level = ? AND period = ? "
                "AND list_contains(?::VARCHAR[], indicator)",
                [level, period, wanted],
            ).fetchall()
        }
        missing = [c for c in wanted if c not in found and c != "population"]
        if missing:
            msg = f"no values of {', '.join(missing)} for period {period!r} at level {level!r}"
            raise UnknownPeriod(msg)
        return {c: period for c in wanted if c in found}
    rows = con.execute(_PERIODS_SQL, [level, wanted]).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


_VALUES_SQL = """
WITH wanted AS (
    SELECT unnest(?::VARCHAR[]) AS indicator, unnest(?::VARCHAR[]) AS period,
           unnest(?::INT[]) AS col
),
universe AS (
    SELECT u.idx, u.code, t.population, t.area_km2
    FROM (SELECT unnest(?::VARCHAR[]) AS code, generate_subscripts(?::VARCHAR[], 1) - 1 AS idx) u
    LEFT JOIN (SELECT code, population, area_km2 FROM territory WHERE level = ?) t USING (code)
),
imported AS (
    SELECT u.idx, w.col, v.value FROM indicator_value v
    JOIN wanted w ON v.indicator = w.indicator AND v.period = w.period
    JOIN universe u ON u.code = v.code
    WHERE v.level = ?
)
SELECT idx, col, value FROM imported WHERE col >= 0
UNION ALL
SELECT u.idx, -2, coalesce(i.value, CASE WHEN ? THEN NULL ELSE u.population END)
FROM universe u LEFT JOIN imported i ON i.idx = u.idx AND i.col = -1
UNION ALL SELECT idx, -3, area_km2 FROM universe
"""


def _universe(
    con: duckdb.DuckDBPyConnection, level: str, codes: Sequence[str] | None
) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.str_]]:
    if level == "iris":
        sql = "SELECT code, code AS name FROM iris"
    else:
        sql = "SELECT code, name FROM territory WHERE level = ?"
    rows = con.execute(
        f"SELECT code, name FROM ({sql}) WHERE ?::VARCHAR[] IS NULL "  # sql from a fixed pair
        "OR list_contains(?::VARCHAR[], code) ORDER BY code",
        ([] if level == "iris" else [level]) + [list(codes) if codes is not None else None] * 2,
    ).fetchall()
    if not rows:
        return np.zeros(0, dtype=np.str_), np.zeros(0, dtype=np.str_)
    found = np.array(rows, dtype=np.str_)
    return found[:, 0], found[:, 1]


def _scatter(
    con: duckdb.DuckDBPyConnection,
    level: str,
    indicators: list[str],
    periods: dict[str, str | None],
    codes: npt.NDArray[np.str_],
) -> npt.NDArray[np.float64]:
    """Run the one values query and place its rows (territory index, column, value) in the
    matrix."""
    imported = [c for c in indicators if c not in _BUILTIN_CODES and c in periods]
    series = "population" in periods
    names = [*imported, *(["population"] if series else [])]
    cols = [indicators.index(c) for c in imported] + ([-1] if series else [])
    code_list = codes.tolist()
    data = con.execute(
        _VALUES_SQL,
        [names, [periods[c] for c in names], cols, code_list, code_list, level, level, series],
    ).fetchnumpy()
    values = np.full((codes.size, len(indicators)), np.nan)
    pos = np.asarray(data["idx"], dtype=np.intp)
    col = np.asarray(data["col"], dtype=np.int64)
    val = np.ma.filled(np.ma.asarray(data["value"], dtype=np.float64), np.nan)
    for j, code in enumerate(indicators):
        if code in _BUILTIN_CODES:
            values[:, j] = _builtin_column(code, pos, col, val, codes.size)
    plain = col >= 0
    values[pos[plain], col[plain]] = val[plain]
    return values


def _builtin_column(
    code: str,
    pos: npt.NDArray[np.intp],
    col: npt.NDArray[np.int64],
    val: npt.NDArray[np.float64],
    n: int,
) -> npt.NDArray[np.float64]:
    population, area = np.full(n, np.nan), np.full(n, np.nan)
    population[pos[col == -2]] = val[col == -2]
    area[pos[col == -3]] = val[col == -3]
    if code == "population":
        return population
    if code == "area_km2":
        return area
    with np.errstate(divide="ignore", invalid="ignore"):
        density: npt.NDArray[np.float64] = population / area
    density[~np.isfinite(density)] = np.nan
    return density


def _provenance(
    con: duckdb.DuckDBPyConnection,
    level: str,
    indicators: list[str],
    periods: dict[str, str | None],
) -> tuple[dict[str, str], dict[str, bool]]:
    """For each indicator, its source in words ("name version, publisher, date") and whether
    it is synthetic."""
    pairs = [(c, "population" if c in ("population", "density") else c) for c in indicators]
    rows = con.execute(
        """
        SELECT w.indicator, any_value(s.name), any_value(s.version), any_value(s.publisher),
               any_value(s.reference_date), bool_or(s.synthetic)
        FROM (SELECT unnest(?::VARCHAR[]) AS indicator, unnest(?::VARCHAR[]) AS series,
                     unnest(?::VARCHAR[]) AS period) w
        JOIN (SELECT indicator, period, mode(source_id) AS sid FROM indicator_value
              WHERE level = ? GROUP BY ALL) m ON m.indicator = w.series AND m.period = w.period
        JOIN source s ON s.id = m.sid GROUP BY w.indicator
        """,
        [[p[0] for p in pairs], [p[1] for p in pairs], [periods.get(p[1]) for p in pairs], level],
    ).fetchall()
    found = {str(r[0]): r for r in rows}
    table = con.execute(
        "SELECT s.name, s.version, s.publisher, s.reference_date, s.synthetic FROM source s "
        "WHERE s.id = (SELECT mode(source_id) FROM territory WHERE level = ?)",
        [level],
    ).fetchone()
    texts: dict[str, str] = {}
    synthetic: dict[str, bool] = {}
    for code in indicators:
        row = found.get(code)
        parts = row[1:] if row is not None else table
        if parts is None:
            texts[code] = "source inconnue"
            synthetic[code] = False
            continue
        name, version, publisher, date, synth = parts
        words = f"{name} {version}".strip() if version else str(name)
        texts[code] = f"{words}, {publisher}" + (f", {date}" if date else "")
        synthetic[code] = bool(synth)
        if code == "density":
            texts[code] += " ; superficie calculée des géométries (territoire)"
    return texts, synthetic


def _labels(
    con: duckdb.DuckDBPyConnection, indicators: list[str]
) -> tuple[dict[str, str], dict[str, str | None]]:
    rows = con.execute(
        "SELECT indicator, label, unit FROM indicator_definition "
        "WHERE list_contains(?::VARCHAR[], indicator)",
        [indicators],
    ).fetchall()
    defined = {str(r[0]): (r[1], r[2]) for r in rows}
    labels: dict[str, str] = {}
    units: dict[str, str | None] = {}
    for code in indicators:
        if code in BUILTIN_INDICATORS:
            labels[code], _, units[code] = BUILTIN_INDICATORS[code]
        else:
            label, unit = defined.get(code, (None, None))
            labels[code], units[code] = str(label or code), unit
    return labels, units


def _check_values(
    values: npt.NDArray[np.float64],
    indicators: list[str],
    level: str,
    *,
    min_coverage: float,
    allow_constant: bool,
) -> None:
    n = values.shape[0]
    if n == 0:
        return
    held = np.sum(~np.isnan(values), axis=0)
    for j, code in enumerate(indicators):
        share = held[j] / n
        if share < min_coverage:
            msg = (
                f"indicator {code!r} has values for {held[j]} of the {n} territories of level "
                f"{level!r} ({share:.0%}, at least {min_coverage:.0%} needed): choose another "
                "indicator or import its values"
            )
            raise IndicatorCoverageTooLow(msg)
    if allow_constant:
        return
    with np.errstate(invalid="ignore"):
        spread = np.nanmax(values, axis=0) - np.nanmin(values, axis=0)
    for j, code in enumerate(indicators):
        if held[j] and not spread[j] > 0:
            msg = (
                f"indicator {code!r} is constant across level {level!r} "
                f"(every value is {np.nanmax(values[:, j]):g}): it cannot tell territories "
                "apart, leave it out"
            )
            raise ConstantIndicator(msg)


def indicator_matrix(
    con: duckdb.DuckDBPyConnection,
    level: str,
    indicators: Sequence[str],
    *,
    period: str | None = None,
    codes: Sequence[str] | None = None,
    min_coverage: float = MIN_COVERAGE,
    allow_constant: bool = False,
) -> IndicatorMatrix:
    """Read the values of ``indicators`` for the territories of ``level``.

    Parameters
    ----------
    con
        Open knowledge base.
    level
        Level key or label (``commune``, ``EPCI`` ...).
    indicators
        Indicator codes (built-in ``population``, ``density``, ``area_km2`` or imported).
    period
        One period for every imported indicator; by default each uses its latest
        well-covered period at the level (see the module docstring).
    codes
        Only these territories (rows in code order); coverage is then checked among them.
    min_coverage
        Least share of the territories with a value, for each indicator.
    allow_constant
        Accept an indicator with one value everywhere (a comparison may show it).

    Raises
    ------
    UnknownLevel, UnknownIndicator, UnknownPeriod, IndicatorCoverageTooLow, ConstantIndicator
    """
    key = check_level(con, level)
    wanted = list(dict.fromkeys(indicators))
    _check_codes(indicator_catalogue_codes(con, key), wanted, key)
    periods = _periods(con, key, wanted, period)
    territory_codes, names = _universe(con, key, codes)
    values = _scatter(con, key, wanted, periods, territory_codes)
    _check_values(values, wanted, key, min_coverage=min_coverage, allow_constant=allow_constant)
    used = {c: periods.get("population" if c in ("population", "density") else c) for c in wanted}
    if "population" in wanted and used["population"] is None:
        used["population"] = _table_year(con, key)
    if "density" in wanted and used["density"] is None:
        used["density"] = _table_year(con, key)
    sources, synthetic = _provenance(con, key, wanted, periods)
    labels, units = _labels(con, wanted)
    return IndicatorMatrix(
        level=key,
        codes=territory_codes,
        names=names,
        indicators=wanted,
        values=values,
        periods=used,
        sources=sources,
        labels=labels,
        units=units,
        synthetic=synthetic,
    )


def _table_year(con: duckdb.DuckDBPyConnection, level: str) -> str | None:
    row = con.execute(
        "SELECT max(population_year) FROM territory WHERE level = ?", [level]
    ).fetchone()
    return None if not row or row[0] is None else str(row[0])
