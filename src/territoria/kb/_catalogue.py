"""The reads behind the indicator catalogue (:func:`territoria.kb.territories.list_indicators`).

One scan of ``indicator_value`` grouped by indicator, level and period gives every figure the
catalogue shows (periods, levels, coverage, the source of each period); the territory table
gives the built-in figures' own; ``level``, ``territory`` and ``iris`` give the size of each
level.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from territoria.kb.territories import IndicatorSource

#: Columns of the territory table offered as indicators, and the year each describes.
_BUILTIN_YEAR = {"population": "population_year", "density": "population_year", "area_km2": None}


@dataclass(frozen=True)
class LevelStat:
    """Values of one indicator at one level for one period."""

    level: str
    period: str | None
    count: int
    source_id: int | None
    unit: str | None = None


def level_labels(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    """French and English labels of each level, in rank order."""
    rows = con.execute("SELECT level, label_fr, label_en FROM level ORDER BY rank").fetchall()
    return {str(r[0]): (str(r[1]), str(r[2])) for r in rows}


def rank(labels: dict[str, tuple[str, str]], level: str) -> int:
    """Position of ``level`` in the ranked levels (unknown levels last)."""
    order = list(labels)
    return order.index(level) if level in order else len(order)


def level_totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Number of territories of each level (IRIS, which have no territory row, included)."""
    totals = {
        str(r[0]): int(r[1])
        for r in con.execute("SELECT level, count(*) FROM territory GROUP BY level").fetchall()
    }
    has_iris = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'iris'"
    ).fetchone()
    if has_iris and has_iris[0]:
        row = con.execute("SELECT count(*) FROM iris").fetchone()
        if row and row[0]:
            totals["iris"] = int(row[0])
    return totals


def imported(con: duckdb.DuckDBPyConnection) -> dict[str, list[LevelStat]]:
    """Imported values by indicator: one :class:`LevelStat` per level and period, whose
    source is the one most of its values point to."""
    rows = con.execute(
        """
        SELECT indicator, level, period, count(*), mode(source_id), any_value(unit)
        FROM indicator_value GROUP BY indicator, level, period
        """
    ).fetchall()
    found: dict[str, list[LevelStat]] = defaultdict(list)
    for indicator, level, period, n, source_id, unit in rows:
        found[str(indicator)].append(LevelStat(level, str(period), int(n), source_id, unit))
    return dict(found)


def builtin_stats(con: duckdb.DuckDBPyConnection) -> dict[str, list[LevelStat]]:
    """The built-in figures of the territory table, as :class:`LevelStat` rows."""
    rows = con.execute(
        "SELECT level, count(population), count(density), count(area_km2), "
        "max(population_year), mode(source_id) FROM territory GROUP BY level"
    ).fetchall()
    found: dict[str, list[LevelStat]] = defaultdict(list)
    for level, population, density, area, year, source_id in rows:
        when = str(year) if year is not None else None
        for code, n in (("population", population), ("density", density), ("area_km2", area)):
            if n:
                period = when if _BUILTIN_YEAR[code] else None
                found[code].append(LevelStat(level, period, int(n), source_id))
    return dict(found)


def builtin_year(con: duckdb.DuckDBPyConnection, indicator: str, level: str) -> str | None:
    """The year the territory table's figure describes at ``level`` (none for the area)."""
    column = _BUILTIN_YEAR.get(indicator)
    if column is None:
        return None
    row = con.execute(
        f"SELECT max({column}) FROM territory WHERE level = ?",  # column from a fixed map
        [level],
    ).fetchone()
    return str(row[0]) if row and row[0] is not None else None


def merge_builtin(table: list[LevelStat], series: list[LevelStat]) -> list[LevelStat]:
    """The territory table's rows of a built-in figure, and an imported series of its code;
    a level and period both have counts once, as the one with more values (a series that
    gives the territory table's year for a few communes only completes it)."""
    best: dict[tuple[str, str | None], LevelStat] = {}
    for row in (*table, *series):
        kept = best.get((row.level, row.period))
        if kept is None or row.count > kept.count:
            best[row.level, row.period] = row
    return list(best.values())


def latest_per_level(rows: Sequence[LevelStat]) -> list[LevelStat]:
    """For each level, the row of its latest period (a row without period counts as latest
    only when the level has no other)."""
    best: dict[str, LevelStat] = {}
    for row in rows:
        kept = best.get(row.level)
        if kept is None or (row.period or "") > (kept.period or ""):
            best[row.level] = row
    return list(best.values())


def sources(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> dict[int, IndicatorSource]:
    """The source rows ``ids``, as :class:`IndicatorSource`."""
    if not ids:
        return {}
    rows = con.execute(
        "SELECT id, name, publisher, version, dataset, licence, reference_date, synthetic "
        "FROM source WHERE list_contains(?, id)",
        [list(ids)],
    ).fetchall()
    return {
        int(r[0]): IndicatorSource(
            name=r[1],
            publisher=r[2],
            version=r[3],
            dataset=r[4],
            licence=r[5],
            reference_date=r[6],
            synthetic=bool(r[7]),
        )
        for r in rows
    }


def main_source(
    rows: Sequence[LevelStat], found: dict[int, IndicatorSource], period: str | None
) -> IndicatorSource | None:
    """The source of the latest period's values, at the level that has the most of them."""
    latest = [r for r in rows if r.period == period and r.source_id is not None] or [
        r for r in rows if r.source_id is not None
    ]
    if not latest:
        return None
    best = max(latest, key=lambda r: r.count)
    return found.get(int(best.source_id)) if best.source_id is not None else None


def territory_source(con: duckdb.DuckDBPyConnection, level: str) -> IndicatorSource | None:
    """The source of the territory table's rows of ``level`` (the built-in figures')."""
    row = con.execute("SELECT mode(source_id) FROM territory WHERE level = ?", [level]).fetchone()
    if not row or row[0] is None:
        return None
    return sources(con, [int(row[0])]).get(int(row[0]))


def definitions(
    con: duckdb.DuckDBPyConnection, codes: Sequence[str] | None = None
) -> dict[str, tuple[str | None, str | None, str | None]]:
    """French label, English label and unit of the indicators (all, or ``codes``)."""
    rows = con.execute(
        """
        SELECT d.indicator, d.label, l.label, d.unit FROM indicator_definition d
        LEFT JOIN (SELECT indicator, any_value(label) AS label FROM indicator_label
                   WHERE lang = 'en' GROUP BY indicator) l USING (indicator)
        WHERE ?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], d.indicator)
        """,
        [list(codes) if codes is not None else None] * 2,
    ).fetchall()
    return {str(r[0]): (r[1], r[2], r[3]) for r in rows}
