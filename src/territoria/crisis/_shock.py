"""An economic shock: the closure of one establishment (SIRENE), its jobs, the pole it belongs
to (:func:`territoria.analysis.poles.detect_poles` over its département) and the territories
most exposed (its jobs over the estimated jobs of all establishments of the territory)."""

from __future__ import annotations

from typing import Any

import duckdb

from territoria.crisis._model import Shock
from territoria.errors import TerritoriaError, UnknownIncident

__all__ = ["shock"]

_ESTABLISHMENT = """
SELECT e.siret, e.name, e.commune, e.naf_group, e.division, e.headcount_band, e.source_id,
       (SELECT parent_code FROM membership m WHERE m.level = 'commune' AND m.code = e.commune
        AND m.parent_level = 'departement') AS departement
FROM establishment e WHERE e.siret = ?
"""

#: The jobs of the commune, EPCI and département of the establishment (band mid-points).
_EXPOSED = """
WITH bands AS (SELECT unnest($bands::VARCHAR[]) AS band, unnest($mids::DOUBLE[]) AS mid),
places AS (
  SELECT 'commune' AS level, $commune AS code
  UNION ALL SELECT parent_level, parent_code FROM membership
  WHERE level = 'commune' AND code = $commune AND parent_level IN ('epci', 'departement')),
members AS (
  SELECT p.level, p.code, m.code AS commune FROM places p JOIN membership m
    ON m.parent_level = p.level AND m.parent_code = p.code AND m.level = 'commune'
  UNION ALL SELECT level, code, code FROM places WHERE level = 'commune')
SELECT mb.level, mb.code, t.name, sum(b.mid) AS jobs
FROM members mb JOIN establishment e ON e.commune = mb.commune AND e.active
JOIN bands b ON b.band = e.headcount_band
JOIN territory t ON t.level = mb.level AND t.code = mb.code
GROUP BY ALL
"""


def _pole(con: duckdb.DuckDBPyConnection, row: tuple[Any, ...]) -> dict[str, Any] | None:
    from territoria.analysis.poles import detect_poles

    _, _, commune, group, division, _, _, departement = row
    if departement is None:
        return None
    try:
        poles = detect_poles(con, departement=str(departement))
    except TerritoriaError:
        # too few establishments to detect poles there: the shock has no pole
        return None
    for pole in poles:
        sectors = set(pole.get("sectors", ()))
        if commune in pole.get("communes", ()) and (group in sectors or division in sectors):
            return {"id": pole["id"], "name": pole["name"], "jobs": pole["employment"]}
    return None


def shock(con: duckdb.DuckDBPyConnection, siret: str) -> Shock:
    """The closure of establishment ``siret``: its jobs, its pole, the territories exposed.

    Raises
    ------
    UnknownIncident
        No establishment with this SIRET in the knowledge base.
    """
    from territoria.crisis.impact import band_arrays, source_refs
    from territoria.sources.sirene import HEADCOUNT_BANDS

    row = con.execute(_ESTABLISHMENT, [siret.strip()]).fetchone()
    if row is None:
        msg = f"no establishment {siret!r}: import SIRENE ('territoria import sirene') first"
        raise UnknownIncident(msg)
    low, high, mid = HEADCOUNT_BANDS.get(str(row[5]), (0, 0, 0.0))
    bands = band_arrays()
    params = {"bands": bands["bands"], "mids": bands["mids"], "commune": row[2]}
    exposed = [
        {"level": lv, "code": c, "name": n, "jobs_in_territory": round(j, 1),
         "exposure": round(mid / j, 4) if j else None}
        for lv, c, n, j in con.execute(_EXPOSED, params).fetchall()
    ]  # fmt: skip
    exposed.sort(key=lambda e: -(e["exposure"] or 0))
    return Shock(
        siret=str(row[0]), name=row[1], commune=row[2], jobs_estimated=float(mid),
        jobs_low=float(low), jobs_high=float(high if high is not None else low),
        pole=_pole(con, row), exposed=tuple(exposed),
        sources=tuple(source_refs(con, "establishments", [row[6]])),
    )  # fmt: skip
