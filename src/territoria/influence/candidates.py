"""Who a plan may engage: the actors of one's own network, or the officials of a territory.

``territoria influence plan --candidates network|officials`` restricts the optimiser's seeds
to these actors (``pole:ID`` is :func:`territoria.influence.poles.pole_candidates`).
"""

from __future__ import annotations

import duckdb

from territoria.errors import InvalidPlanRequest
from territoria.influence.decision import resolve_territory

__all__ = ["network_candidates", "official_candidates"]

_OFFICIALS_SQL = """
WITH area AS (
    SELECT code FROM membership WHERE level = 'commune' AND parent_level = ?
      AND parent_code = ? UNION SELECT ? WHERE ? = 'commune')
SELECT DISTINCT m.person_id FROM mandate m JOIN organisation o
  ON o.id = m.organisation_id
WHERE m.end_date IS NULL AND m.function_code IS NOT NULL AND (
    (o.kind = 'conseil_municipal' AND o.code IN (SELECT code FROM area))
    OR (o.kind = 'conseil_communautaire' AND o.code IN (
        SELECT parent_code FROM membership WHERE level = 'commune'
        AND parent_level = 'epci' AND code IN (SELECT code FROM area))))
"""


def network_candidates(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Return the actors one's own network reaches (relations from ``self``).

    Raises
    ------
    InvalidPlanRequest
        When the network is empty (no logged action, no imported relation from ``self``).
    """
    rows = con.execute(
        "SELECT DISTINCT target_actor FROM relation WHERE source_actor = 'self'"
    ).fetchall()
    if not rows:
        msg = "your network is empty: log actions ('territoria actions add') or import relations"
        raise InvalidPlanRequest(msg)
    return [str(r[0]) for r in rows]


def official_candidates(
    con: duckdb.DuckDBPyConnection, code: str, level: str | None = None
) -> list[str]:
    """Return the serving officials with a function (mayors, deputies, presidents ...) of the
    municipal and community councils of a territory's communes.

    Raises
    ------
    UnknownTerritory
        When no territory has this code (at this level).
    """
    t_level, t_code, _ = resolve_territory(con, code, level)
    rows = con.execute(_OFFICIALS_SQL, [t_level, t_code, t_code, t_level]).fetchall()
    return [str(r[0]) for r in rows]
