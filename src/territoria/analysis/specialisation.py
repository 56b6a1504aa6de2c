"""What a territory is specialised in: location quotients, specialisation indices, shift-share.

Everything is computed from the SIRENE establishments of the knowledge base, on **estimated
salaried employment** (midpoints of head-count bands, see :mod:`territoria.sources.sirene`) or on
**establishment counts**, at a NAF level (section, division, group, class, sous-classe) of either
nomenclature: NAF rév. 2 (``naf="rev2"``, the APE until 31 December 2026, the default until then)
or NAF 2025 (``naf="2025"``, from ``activitePrincipaleNAF25Etablissement``); every result says
which one it uses. The history file holds NAF rév. 2 codes only: past NAF 2025 stocks come from
creation and closing dates.

- Location quotient of sector *j* in territory *i*: ``LQ = (e_ij / e_i) / (E_j / E)``, where the
  reference (``E``) is the nation (every establishment of the knowledge base: if only one région
  was imported, that région — the profile's ``reference_scope`` names it and warns) or the
  territory's parent at a given level.
- Krugman index ``K_i = sum_j |s_ij - r_j|`` (0: same structure as the reference, 2: disjoint),
  specialisation Gini (area between the Lorenz curve of the territory's sector shares sorted by
  LQ and the diagonal, times two; 0: same structure), Herfindahl ``H_i = sum_j s_ij²``.
- Shift-share of the change of ``e_ij`` between two dates: national share ``e_ij0 * G``,
  industry mix ``e_ij0 * (G_j - G)`` and regional shift ``Δe_ij - national - mix``, which add up to
  the change by construction (``G`` national growth rate, ``G_j`` the sector's).
- Traded and local sectors: a sector is *traded* when its establishments are more concentrated
  across territories than chance allows: its locational Gini exceeds the Gini of the same number
  of establishments spread at random in proportion to the territories' establishments by at
  least ``traded_threshold`` of the room chance leaves, ``(G - G_random) / (1 - G_random)``;
  otherwise it is *local* (it serves the local population and is
  found everywhere).

Figures at past dates count the establishments open at that date (from the history file when it
was imported, otherwise from creation and closing dates) with their **current** head-count band:
SIRENE keeps no past head-counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import numpy as np

from territoria.analysis._economy_model import EconomicProfile
from territoria.analysis._specialisation_indices import (
    classify_sectors,
    gini_specialisation,
    herfindahl,
    krugman,
    sector_concentration,
)
from territoria.analysis._specialisation_shift import cells, decompose
from territoria.analysis._specialisation_sql import (
    LEVELS,
    MEASURES,
    NOMENCLATURES,
    SECTOR_LEVELS,
    SectorMatrix,
    check,
    check_nomenclature,
    code_sql,
    default_nomenclature,
    economy_sources,
    has_establishments,
    reference_scope,
    require_establishments,
    sector_label,
    sector_matrix,
    snapshot_date,
    stock_sql,
)
from territoria.analysis.profile import resolve_territory
from territoria.kb.naf2025 import NAF25_NOT_IMPORTED, naf25_imported, naf25_labels

__all__ = [
    "LEVELS",
    "MEASURES",
    "NOMENCLATURES",
    "SECTOR_LEVELS",
    "SectorMatrix",
    "classify_sectors",
    "default_nomenclature",
    "economy_sources",
    "gini_specialisation",
    "has_establishments",
    "herfindahl",
    "krugman",
    "location_quotients",
    "reference_scope",
    "sector_concentration",
    "sector_matrix",
    "shift_share",
    "snapshot_date",
    "specialisation_profile",
    "stock_sql",
]


def location_quotients(
    con: duckdb.DuckDBPyConnection,
    *,
    level: str = "commune",
    sector_level: str = "division",
    measure: str = "employment",
    reference: str = "nation",
    date: dt.date | None = None,
    code: str | None = None,
    naf: str = "rev2",
) -> duckdb.DuckDBPyRelation:
    """Location quotients of every (territory, sector) with activity, in one SQL query.

    Parameters
    ----------
    con
        Knowledge base with SIRENE establishments.
    level
        Territorial level: commune, epci, departement, region, canton, circonscription.
    sector_level
        NAF level: section, division, group, class, subclass.
    measure
        ``"employment"`` (estimated) or ``"establishments"`` (counts).
    reference
        ``"nation"`` or a level (``"departement"``, ``"region"`` ...): each territory is compared
        with the territory of that level holding most of its establishments.
    date
        Establishments open at that date (default: the snapshot's active establishments).
    code
        Only this territory's rows.
    naf
        Nomenclature of the sectors: ``"rev2"`` (NAF rév. 2) or ``"2025"`` (NAF 2025).

    Returns
    -------
    duckdb.DuckDBPyRelation
        Columns ``code``, ``sector``, ``value``, ``total`` (territory, all sectors),
        ``reference``, ``reference_value``, ``reference_total``, ``share``, ``lq``; call
        ``.arrow()`` or ``.fetchall()`` on it. Sectors absent from a territory have no row
        (their LQ is 0).
    """
    check(sector_level, measure, level, reference)
    require_establishments(con)
    value = "s.employment" if measure == "employment" else "1.0"
    join_t, code_t = code_sql(level, "mt")
    join_p, code_p = code_sql(reference, "mp")
    where = "" if code is None else "WHERE c.code = $code"
    sql = f"""
        WITH cp AS MATERIALIZED (
            SELECT {code_t} AS code, {code_p} AS parent, s.sector, sum({value}) AS value,
                   count(*) AS n
            FROM ({stock_sql(con, sector_level=sector_level, date=date, naf=naf)}) s
            {join_t} {join_p}
            GROUP BY ALL
        ), cell AS (
            SELECT code, sector, sum(value) AS value FROM cp GROUP BY ALL
        ), tot AS (
            SELECT code, sum(value) AS total FROM cell GROUP BY ALL
        ), parent AS (
            SELECT code, arg_max(parent, n) AS parent
            FROM (SELECT code, parent, sum(n) AS n FROM cp GROUP BY ALL) GROUP BY code
        ), ref_cell AS (
            SELECT parent, sector, sum(value) AS value FROM cp GROUP BY ALL
        ), ref_tot AS (
            SELECT parent, sum(value) AS total FROM ref_cell GROUP BY ALL
        )
        SELECT c.code, c.sector, c.value, t.total, p.parent AS reference,
               rc.value AS reference_value, rt.total AS reference_total,
               CASE WHEN t.total > 0 THEN c.value / t.total END AS share,
               CASE WHEN t.total > 0 AND rc.value > 0
                    THEN (c.value / t.total) / (rc.value / rt.total) END AS lq
        FROM cell c JOIN tot t USING (code) JOIN parent p USING (code)
        JOIN ref_cell rc ON rc.parent = p.parent AND rc.sector = c.sector
        JOIN ref_tot rt ON rt.parent = p.parent
        {where}
    """
    params = {} if code is None else {"code": code}
    return con.sql(sql, params=params) if params else con.sql(sql)


def shift_share(
    con: duckdb.DuckDBPyConnection,
    code: str,
    *,
    level: str | None = None,
    start: dt.date,
    end: dt.date | None = None,
    sector_level: str = "division",
    measure: str = "employment",
    naf: str = "rev2",
) -> dict[str, Any]:
    """Shift-share decomposition of a territory's change between ``start`` and ``end``.

    Returns
    -------
    dict
        ``totals`` (``start``, ``end``, ``change``, ``national``, ``industry_mix``,
        ``regional``: the three components add up to ``change``), ``national_growth`` and
        ``sectors`` (the same by sector, sorted by regional shift).
    """
    territory = resolve_territory(con, code, level=level)
    check(sector_level, measure, territory["level"])
    require_establishments(con)
    local0, nation0 = cells(
        con,
        level=territory["level"],
        code=territory["code"],
        sector_level=sector_level,
        measure=measure,
        date=start,
        naf=naf,
    )
    local1, nation1 = cells(
        con,
        level=territory["level"],
        code=territory["code"],
        sector_level=sector_level,
        measure=measure,
        date=end,
        naf=naf,
    )
    sectors = sorted(set(local0) | set(local1) | set(nation0) | set(nation1))
    return decompose(
        sectors,
        np.asarray([local0.get(s, 0.0) for s in sectors]),
        np.asarray([local1.get(s, 0.0) for s in sectors]),
        np.asarray([nation0.get(s, 0.0) for s in sectors]),
        np.asarray([nation1.get(s, 0.0) for s in sectors]),
        territory=territory,
        start=start,
        end=end,
        measure=measure,
        naf=naf,
        naf25=naf25_labels(con) if naf == "2025" else None,
    )


# --------------------------------------------------------------------------- profile

#: How the profile names each nomenclature.
NOMENCLATURE_NAMES = {"rev2": "NAF rév. 2", "2025": "NAF 2025"}


def _profile_base(
    con: duckdb.DuckDBPyConnection,
    territory: dict[str, Any],
    rows: list[Any],
    measure: str,
    sector_level: str,
    reference: str,
    naf: str,
) -> dict[str, Any]:
    """What every profile says: territory, measure, nomenclature, reference actually used."""
    scope = reference_scope(con, reference, str(rows[0][4]) if rows else None)
    warnings = [scope["warning"]] if scope.get("warning") else []
    if naf == "2025" and not _has_naf25(con):
        warnings.append(
            "the SIRENE files imported carry no NAF 2025 code "
            "(activitePrincipaleNAF25Etablissement): import a file published since late 2025"
        )
    if naf == "2025" and not naf25_imported(con):
        warnings.append(NAF25_NOT_IMPORTED)
    return {
        "territory": {k: territory[k] for k in ("level", "code", "name", "population")},
        "measure": measure,
        "sector_level": sector_level,
        "nomenclature": naf,
        "nomenclature_name": NOMENCLATURE_NAMES[naf],
        "reference": reference,
        "reference_scope": scope,
        "warnings": warnings,
        **economy_sources(con),
    }


def _has_naf25(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM establishment WHERE naf25 IS NOT NULL LIMIT 1)"
    ).fetchone()
    return bool(row and row[0])


def specialisation_profile(
    con: duckdb.DuckDBPyConnection,
    code: str,
    *,
    level: str | None = None,
    sector_level: str = "division",
    measure: str = "employment",
    reference: str = "nation",
    since: dt.date | None = None,
    top: int = 10,
    naf: str | None = None,
) -> EconomicProfile:
    """Economic profile of a territory: sectors, specialisation indices, shift-share, sources.

    Parameters
    ----------
    con
        Knowledge base with SIRENE establishments.
    code
        Official code of the territory (commune, EPCI, département, région ...).
    level
        Its level, when the code is ambiguous.
    sector_level
        NAF level of the sectors.
    measure
        ``"employment"`` or ``"establishments"``.
    reference
        ``"nation"`` or a parent level to compare with.
    since
        Start of the shift-share (default: five years before the snapshot).
    top
        How many sectors to list in each ranking.
    naf
        ``"rev2"`` or ``"2025"``; default: NAF rév. 2 until 31 December 2026, NAF 2025 after.

    Returns
    -------
    EconomicProfile
        ``territory``, ``nomenclature``, ``reference_scope`` (what the reference really is,
        with a warning when the "nation" is one région), ``warnings``, ``totals``, ``indices``
        (Krugman, Gini, Herfindahl), ``specialised`` and ``largest`` sectors with LQ,
        ``traded_share``, ``shift_share`` (with its past-employment caveat), ``synthetic``,
        ``sources`` (``to_dict()`` gives its JSON).
    """
    naf = naf or default_nomenclature()
    check_nomenclature(naf)
    territory = resolve_territory(con, code, level=level)
    check(sector_level, measure, territory["level"], reference)
    require_establishments(con)
    rows = location_quotients(
        con,
        level=territory["level"],
        sector_level=sector_level,
        measure=measure,
        reference=reference,
        code=territory["code"],
        naf=naf,
    ).fetchall()
    base = _profile_base(con, territory, rows, measure, sector_level, reference, naf)
    if not rows:
        return EconomicProfile.model_validate(
            {**base, "totals": {"value": 0.0, "establishments": 0}, "sectors": []}
        )
    ref_rows = con.execute(
        f"""
        SELECT sector, sum(v) FROM (
            SELECT s.sector, {"s.employment" if measure == "employment" else "1.0"} AS v
            FROM ({stock_sql(con, sector_level=sector_level, naf=naf)}) s
            {code_sql(reference, "mp")[0]}
            WHERE {code_sql(reference, "mp")[1]} = $parent
        ) GROUP BY sector
        """,
        {"parent": rows[0][4]},
    ).fetchall()
    ref = {str(r[0]): float(r[1]) for r in ref_rows}
    labels = naf25_labels(con) if naf == "2025" else None
    sectors = sorted(ref)
    index = {s: i for i, s in enumerate(sectors)}
    local = np.zeros(len(sectors))
    for r in rows:
        local[index[str(r[1])]] = float(r[2])
    reference_values = np.asarray([ref[s] for s in sectors])
    shares = local / local.sum() if local.sum() > 0 else local
    ref_shares = reference_values / reference_values.sum()
    concentration = classify_sectors(con, sector_level=sector_level, naf=naf)
    traded = np.asarray([concentration.get(s, {}).get("traded", False) for s in sectors])
    entries: list[dict[str, Any]] = [
        {
            "sector": str(r[1]),
            "label": sector_label(str(r[1]), naf, labels),
            "value": float(r[2]),
            "share": float(r[7]) if r[7] is not None else None,
            "lq": float(r[8]) if r[8] is not None else None,
            "traded": bool(concentration.get(str(r[1]), {}).get("traded", False)),
        }
        for r in rows
    ]
    counts = con.execute(
        f"""
        SELECT count(*) FROM ({stock_sql(con, sector_level=sector_level, naf=naf)}) s
        {code_sql(territory["level"], "mt")[0]}
        WHERE {code_sql(territory["level"], "mt")[1]} = $code
        """,
        {"code": territory["code"]},
    ).fetchone()
    snap = snapshot_date(con)
    start = since or (snap.replace(year=snap.year - 5) if snap else None)
    shift = None
    if start is not None:
        shift = shift_share(
            con,
            territory["code"],
            level=territory["level"],
            start=start,
            sector_level=sector_level,
            measure=measure,
            naf=naf,
        )
        shift["sectors"] = shift["sectors"][:top]
    return EconomicProfile.model_validate(
        {
            **base,
            "snapshot": snap.isoformat() if snap else None,
            "totals": {
                "value": float(local.sum()),
                "establishments": int(counts[0]) if counts else 0,
                "reference_value": float(reference_values.sum()),
                "reference_code": rows[0][4],
            },
            "indices": {
                "krugman": float(krugman(shares, ref_shares)[0]),
                "gini": float(gini_specialisation(shares, ref_shares)[0]),
                "herfindahl": float(herfindahl(shares)[0]),
                "herfindahl_reference": float(herfindahl(ref_shares)[0]),
            },
            "traded_share": float(shares[traded].sum()),
            # Sectors below 0.1 % of the territory are left out of the ranking: a handful of
            # jobs give meaningless quotients.
            "specialised": sorted(
                (e for e in entries if e["value"] > 0 and (e["share"] or 0.0) >= 0.001),
                key=lambda e: -(e["lq"] or 0.0),
            )[:top],
            "largest": sorted(entries, key=lambda e: -e["value"])[:top],
            "shift_share": shift,
        }
    )
