"""Internals of :mod:`territoria.influence.planner`: the territories a coalition is drawn
from (the project's area, or the territories with the closest indicator profile) and their
executives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np

from territoria.errors import InvalidPlanRequest

_EXECUTIVES_SQL = """
SELECT t.level, t.code, tt.name, m.person_id
FROM terr t JOIN territory tt ON tt.level = t.level AND tt.code = t.code
-- the body holding the territory's own competences (the CeA for the Bas-Rhin, the
-- Métropole de Lyon for its EPCI, the Conseil de Paris for Paris): see territoria.kb.bodies
JOIN body_territory b ON b.competence = t.level AND b.level = t.level AND b.code = t.code
JOIN mandate m ON m.organisation_id = b.organisation_id
     AND m.function_code = CASE WHEN b.organisation_id LIKE 'cm-%' THEN 'MAI' ELSE 'PRE' END
     AND m.end_date IS NULL
"""


def _area_territories(
    con: duckdb.DuckDBPyConnection, *, level: str, code: str
) -> list[tuple[Any, ...]]:
    """Communes and EPCI of the project's area, with their executive."""
    if level == "commune":
        area = con.execute(
            "SELECT parent_level, parent_code FROM membership WHERE level = 'commune' "
            "AND code = ? AND parent_level = 'epci'",
            [code],
        ).fetchone()
        area_level, area_code = (area[0], area[1]) if area else (level, code)
    else:
        area_level, area_code = level, code
    return con.execute(
        """
        WITH terr AS (
            SELECT 'commune' AS level, code FROM membership
            WHERE level = 'commune' AND parent_level = ? AND parent_code = ?
            UNION SELECT DISTINCT 'epci', e.parent_code FROM membership c JOIN membership e
              ON e.level = 'commune' AND e.code = c.code AND e.parent_level = 'epci'
            WHERE c.level = 'commune' AND c.parent_level = ? AND c.parent_code = ?
            UNION SELECT ?, ?
        )
        """
        + _EXECUTIVES_SQL
        + " WHERE NOT (t.level = ? AND t.code = ?)",
        [area_level, area_code, area_level, area_code, area_level, area_code, level, code],
    ).fetchall()


def _similar_territories(
    con: duckdb.DuckDBPyConnection,
    *,
    level: str,
    code: str,
    indicators: Sequence[str],
    count: int = 50,
) -> list[tuple[Any, ...]]:
    """The ``count`` territories of ``level`` closest to ``code`` on the indicators' latest
    values (each indicator z-scored across the level), with their executive."""
    frame = con.execute(
        """
        SELECT code, indicator, arg_max(value, period) AS value FROM indicator_value
        WHERE level = ? AND indicator IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY code, indicator
        """,
        [level, list(indicators)],
    ).fetchall()
    if not frame:
        msg = (
            f"no values of {list(indicators)!r} at level {level!r}: import them with "
            "'territoria import indicators' or choose other indicators"
        )
        raise InvalidPlanRequest(msg)
    codes = sorted({str(r[0]) for r in frame})
    col = {ind: j for j, ind in enumerate(indicators)}
    row_of = {c: i for i, c in enumerate(codes)}
    values = np.full((len(codes), len(indicators)), np.nan)
    for c, ind, v in frame:
        values[row_of[str(c)], col[str(ind)]] = float(v)
    if code not in row_of:
        msg = f"{level} {code!r} has no value for {list(indicators)!r}: cannot compare profiles"
        raise InvalidPlanRequest(msg)
    std = np.nanstd(values, axis=0)
    z = (values - np.nanmean(values, axis=0)) / np.where(std > 0, std, 1.0)
    diff = np.nan_to_num(z - z[row_of[code]], nan=10.0)
    distance = np.sqrt((diff**2).sum(axis=1))
    nearest = [codes[i] for i in np.argsort(distance)[: count + 1]]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE terr AS SELECT ? AS level, unnest(?) AS code",
        [level, nearest],
    )
    try:
        return con.execute(_EXECUTIVES_SQL + " WHERE t.code <> ?", [code]).fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS terr")
