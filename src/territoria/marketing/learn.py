"""Learn from peers: where a territory lags the territories most like it, which of them do
better, and the practices they run on the related themes.

1. The peers are :func:`territoria.analysis.peers.find_peers`'s (k nearest territories of the
   same level on standardised indicators).
2. Each indicator of ``data/marketing/indicators.json`` is compared between the territory and
   its peers; its *polarity* says which way is better (``+1``: higher is better, such as the
   growth of the population; ``-1``: lower is better, such as the vacancy rate). The values
   come from :func:`territoria.analysis.indicator_matrix.indicator_matrix` (each indicator's
   latest well-covered period, with its source); ``population_growth`` is derived from the
   population series over the first and last years the territory holds.
3. The territory *lags* on an indicator when its value is worse than the median of its
   peers'; the *better-placed peers* are those whose value is better than the territory's.
4. The practices are those of the catalogue carried by the better-placed peers on the themes
   the indicator maps to (``themes`` in the same file); ``elsewhere`` lists practices on those
   themes from other territories, as further reading.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
from pydantic import BaseModel, Field, computed_field

from territoria.errors import TerritoriaError
from territoria.kb.territories import find_territory
from territoria.marketing._data import IndicatorRule, indicator_rules
from territoria.marketing.practices import Practice, search_practices

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "GROWTH",
    "IndicatorComparison",
    "Lesson",
    "PeerRef",
    "PeerValue",
    "compare_with_peers",
    "learn_from_peers",
    "peers_of",
]

GROWTH: Final = "population_growth"
#: Practices listed per lagging indicator at most (peers', then elsewhere).
PRACTICES_SHOWN: Final = 5


class PeerRef(BaseModel):
    """A peer of the territory."""

    code: str
    name: str
    distance: float


class PeerValue(BaseModel):
    """A peer's value on an indicator."""

    code: str
    name: str
    value: float


class IndicatorComparison(BaseModel):
    """The territory against its peers on one indicator."""

    indicator: str
    label: str
    unit: str
    polarity: int = Field(description="+1: higher is better; -1: lower is better.")
    why: str
    period: str | None
    source: str
    value: float | None
    peers_median: float | None
    rank: int | None = Field(description="1 = best among the territory and its peers.")
    among: int
    lagging: bool
    better_peers: list[PeerValue]
    themes: list[str]
    practices: list[Practice] = Field(default_factory=list)
    elsewhere: list[Practice] = Field(default_factory=list)


class Lesson(BaseModel):
    """What a territory can learn from its peers."""

    level: str
    code: str
    name: str
    peers: list[PeerRef]
    compared: list[IndicatorComparison]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def lagging(self) -> list[str]:
        """The indicators where the territory is worse than its peers' median."""
        return [c.indicator for c in self.compared if c.lagging]


def peers_of(con: duckdb.DuckDBPyConnection, code: str, level: str, k: int) -> list[PeerRef]:
    """The ``k`` peers of a territory (:func:`territoria.analysis.peers.find_peers`, its
    default indicators)."""
    from territoria.analysis.peers import find_peers

    found = find_peers(con, code, level=level, k=k)
    return [PeerRef(code=p.code, name=p.name, distance=float(p.distance)) for p in found.peers]


def _growth(
    con: duckdb.DuckDBPyConnection, level: str, code: str, codes: list[str]
) -> tuple[dict[str, float], str | None, str]:
    """Mean annual population growth (%) of ``codes`` over the territory's first-last years."""
    row = con.execute(
        "SELECT min(period), max(period) FROM indicator_value WHERE indicator = 'population' "
        "AND level = ? AND code = ?",
        [level, code],
    ).fetchone()
    if not row or row[0] is None or row[0] == row[1]:
        return {}, None, ""
    first, last = str(row[0]), str(row[1])
    rows = con.execute(
        "SELECT code, 100 * (pow(max(value) FILTER (period = ?) / max(value) FILTER (period = ?),"
        " 1.0 / (?::INTEGER - ?::INTEGER)) - 1), any_value(s.name || ' (' || s.dataset || ')') "
        "FROM indicator_value v JOIN source s ON s.id = v.source_id "
        "WHERE indicator = 'population' AND level = ? AND code IN (SELECT unnest(?::VARCHAR[])) "
        "AND period IN (?, ?) GROUP BY code",
        [last, first, last, first, level, codes, first, last],
    ).fetchall()
    values = {r[0]: float(r[1]) for r in rows if r[1] is not None}
    source = next((r[2] for r in rows if r[2]), "")
    return values, f"{first}-{last}", source


def _matrix_values(
    con: duckdb.DuckDBPyConnection, level: str, codes: list[str], indicators: list[str]
) -> dict[str, tuple[dict[str, float], str | None, str]]:
    from territoria.analysis.indicator_matrix import indicator_matrix

    out: dict[str, tuple[dict[str, float], str | None, str]] = {}
    try:  # all at once; one by one only when an indicator is missing at this level
        groups = [
            indicator_matrix(
                con, level, indicators, codes=codes, min_coverage=0.0, allow_constant=True
            )
        ]
    except TerritoriaError:
        groups = []
        for indicator in indicators:
            try:
                groups.append(
                    indicator_matrix(
                        con, level, [indicator], codes=codes, min_coverage=0.0, allow_constant=True
                    )
                )
            except TerritoriaError:
                continue
    for m in groups:
        for j, indicator in enumerate(m.indicators):
            column = m.values[:, j]
            keep = ~np.isnan(column)
            values = dict(zip(m.codes[keep].tolist(), column[keep].tolist(), strict=True))
            out[indicator] = (values, m.periods.get(indicator), m.sources.get(indicator, ""))
    return out


def _compare(
    rule: IndicatorRule,
    data: tuple[dict[str, float], str | None, str],
    code: str,
    peers: list[PeerRef],
) -> IndicatorComparison:
    values, period, source = data
    own = values.get(code)
    theirs = [(p, values[p.code]) for p in peers if p.code in values]
    median = float(np.median([v for _, v in theirs])) if theirs else None
    sign = rule.polarity
    better = (
        []
        if own is None
        else [
            PeerValue(code=p.code, name=p.name, value=v) for p, v in theirs if sign * (v - own) > 0
        ]
    )
    better.sort(key=lambda b: -sign * b.value)
    lagging = own is not None and median is not None and sign * (own - median) < 0
    return IndicatorComparison(
        indicator=rule.indicator,
        label=rule.label,
        unit=rule.unit,
        polarity=sign,
        why=rule.why,
        period=period,
        source=source,
        value=own,
        peers_median=median,
        rank=None if own is None else len(better) + 1,
        among=len(theirs) + 1,
        lagging=lagging,
        better_peers=better,
        themes=list(rule.themes),
    )


def compare_with_peers(
    con: duckdb.DuckDBPyConnection,
    code: str,
    *,
    level: str | None = None,
    k: int = 10,
    peers: list[PeerRef] | None = None,
) -> Lesson:
    """The territory against its peers on every indicator of the polarity table (no
    practices): what :func:`learn_from_peers` and the strengths' ranks start from."""
    place = find_territory(con, code, level=level)
    found = peers if peers is not None else peers_of(con, place.code, place.level, k)
    codes = [place.code, *(p.code for p in found)]
    rules = indicator_rules()
    data = _matrix_values(con, place.level, codes, [r for r in rules if r != GROWTH])
    if GROWTH in rules:
        data[GROWTH] = _growth(con, place.level, place.code, codes)
    compared = [
        _compare(rules[key], data[key], place.code, found)
        for key in rules
        if key in data and data[key][0]
    ]
    return Lesson(
        level=place.level, code=place.code, name=place.name, peers=found, compared=compared
    )


def _practices_for(
    con: duckdb.DuckDBPyConnection, comparison: IndicatorComparison, own: tuple[str, str]
) -> None:
    codes = [p.code for p in comparison.better_peers]
    themes = comparison.themes
    if codes:
        found = search_practices(con, codes=codes, any_theme=themes, limit=PRACTICES_SHOWN)
        comparison.practices = [h.practice for h in found.hits]
    seen = {p.id for p in comparison.practices}
    others = search_practices(con, any_theme=themes, limit=2 * PRACTICES_SHOWN + 1)
    comparison.elsewhere = [
        h.practice
        for h in others.hits
        if h.practice.id not in seen and (h.practice.level, h.practice.code) != own
    ][:PRACTICES_SHOWN]


def learn_from_peers(
    con: duckdb.DuckDBPyConnection,
    code: str,
    *,
    level: str | None = None,
    k: int = 10,
    peers: list[PeerRef] | None = None,
) -> Lesson:
    """The indicators where a territory lags its ``k`` peers, the better-placed peers, and
    their practices on the related themes (``Lesson.lagging``; ``compared`` keeps them all).

    Raises
    ------
    UnknownTerritory
    """
    lesson = compare_with_peers(con, code, level=level, k=k, peers=peers)
    for comparison in lesson.compared:
        if comparison.lagging:
            _practices_for(con, comparison, (lesson.level, lesson.code))
    return lesson
