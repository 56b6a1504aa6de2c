"""What a territory is specialised in: location quotients, specialisation indices, shift-share.

Everything is computed from the SIRENE establishments of the knowledge base, on **estimated
salaried employment** (midpoints of head-count bands, see :mod:`territoria.sources.sirene`) or on
**establishment counts**, at a NAF rev. 2 level (section, division, group, class, sous-classe).

- Location quotient of sector *j* in territory *i*: ``LQ = (e_ij / e_i) / (E_j / E)``, where the
  reference (``E``) is the nation (every establishment of the knowledge base: if only one région
  was imported, that région) or the territory's parent at a given level.
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
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from territoria.analysis.profile import resolve_territory
from territoria.errors import InvalidAnalysisRequest, NoEstablishments, UnknownLevel
from territoria.sources.sirene import naf_label

__all__ = [
    "LEVELS",
    "MEASURES",
    "SECTOR_LEVELS",
    "SectorMatrix",
    "classify_sectors",
    "economy_sources",
    "gini_specialisation",
    "herfindahl",
    "krugman",
    "location_quotients",
    "sector_concentration",
    "sector_matrix",
    "shift_share",
    "snapshot_date",
    "specialisation_profile",
    "stock_sql",
]

#: NAF levels and the ``establishment`` column (or expression) holding the code.
SECTOR_LEVELS = {
    "section": "section",
    "division": "division",
    "group": "naf_group",
    "class": "left(naf, 5)",
    "subclass": "naf",
}
_HISTORY_SECTOR = {
    "section": "n.section",
    "division": "n.division",
    "group": "n.naf_group",
    "class": "n.naf_class",
    "subclass": "n.code",
}
#: Territorial levels establishments can be aggregated to (through their commune).
LEVELS = ("commune", "epci", "departement", "region", "canton", "circonscription", "nation")
MEASURES = ("employment", "establishments")
NATION = "FR"
#: Fewest EPCIs with establishments for the traded/local classification to use EPCIs.
MIN_EPCI = 30


def _check(sector_level: str, measure: str, *levels: str) -> None:
    if sector_level not in SECTOR_LEVELS:
        msg = f"unknown NAF level {sector_level!r}: choose one of {', '.join(SECTOR_LEVELS)}"
        raise InvalidAnalysisRequest(msg)
    if measure not in MEASURES:
        msg = f"unknown measure {measure!r}: choose 'employment' or 'establishments'"
        raise InvalidAnalysisRequest(msg)
    for level in levels:
        if level not in LEVELS:
            msg = f"level {level!r} cannot hold establishments: choose one of {', '.join(LEVELS)}"
            raise UnknownLevel(msg)


def _has_history(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM establishment_history LIMIT 1)"
    ).fetchone()
    return bool(row and row[0])


def _require_establishments(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute("SELECT count(*) FROM (SELECT 1 FROM establishment LIMIT 1)").fetchone()
    if not row or not row[0]:
        msg = (
            "the knowledge base has no establishments: run 'territoria import sirene' "
            "(or 'territoria synth sirene' then import its files for a demo)"
        )
        raise NoEstablishments(msg)


def stock_sql(
    con: duckdb.DuckDBPyConnection, *, sector_level: str = "division", date: dt.date | None = None
) -> str:
    """SQL selecting the establishments open at ``date`` (now when None) with a sector.

    Columns: ``siret``, ``commune``, ``sector`` (code at ``sector_level``), ``employment``,
    ``lon``, ``lat``.
    """
    if sector_level not in SECTOR_LEVELS:
        msg = f"unknown NAF level {sector_level!r}: choose one of {', '.join(SECTOR_LEVELS)}"
        raise InvalidAnalysisRequest(msg)
    column = SECTOR_LEVELS[sector_level]
    if date is None:
        return (
            f"SELECT siret, commune, {column} AS sector, employment, lon, lat "
            f"FROM establishment WHERE active AND commune IS NOT NULL AND {column} IS NOT NULL"
        )
    day = f"DATE '{date.isoformat()}'"
    if _has_history(con):
        return (
            f"SELECT e.siret, e.commune, {_HISTORY_SECTOR[sector_level]} AS sector, "
            "e.employment, e.lon, e.lat "
            "FROM establishment_history h JOIN establishment e USING (siret) "
            "JOIN naf n ON n.code = h.naf AND n.level = 'subclass' "
            f"WHERE h.active AND coalesce(h.start_date, e.created, DATE '1900-01-01') <= {day} "
            f"AND (h.end_date IS NULL OR h.end_date >= {day}) AND e.commune IS NOT NULL"
        )
    return (
        f"SELECT siret, commune, {column} AS sector, employment, lon, lat FROM establishment "
        f"WHERE commune IS NOT NULL AND {column} IS NOT NULL "
        f"AND (created IS NULL OR created <= {day}) "
        f"AND (active OR (closed IS NOT NULL AND closed > {day}))"
    )


def _code_sql(level: str, alias: str) -> tuple[str, str]:
    """(join clause, code expression) placing ``s.commune`` in its territory of ``level``."""
    if level == "nation":
        return "", f"'{NATION}'"
    if level == "commune":
        return "", "s.commune"
    join = (
        f"JOIN membership {alias} ON {alias}.level = 'commune' AND {alias}.code = s.commune "
        f"AND {alias}.parent_level = '{level}'"
    )
    return join, f"{alias}.parent_code"


def snapshot_date(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """Date the SIRENE snapshot describes (its last processing date), if known."""
    row = con.execute(
        "SELECT max(reference_date) FROM source WHERE name = 'sirene' AND dataset = "
        "'StockEtablissement'"
    ).fetchone()
    if not row or not row[0]:
        return None
    try:
        return dt.date.fromisoformat(str(row[0])[:10])
    except ValueError:
        return None


def economy_sources(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Provenance of the economic figures: SIRENE and NAF sources, and a synthetic flag."""
    rows = con.execute(
        "SELECT id, name, dataset, publisher, licence, version, reference_date, synthetic, "
        "imported_at FROM source WHERE name IN ('sirene', 'naf-rev2') ORDER BY id"
    ).fetchall()
    sources = [
        {
            "id": r[0],
            "name": r[1],
            "dataset": r[2],
            "publisher": r[3],
            "licence": r[4],
            "version": r[5],
            "reference_date": r[6],
            "synthetic": bool(r[7]),
            "imported_at": str(r[8]),
        }
        for r in rows
    ]
    synthetic = any(s["synthetic"] for s in sources)
    return {
        "synthetic": synthetic,
        "notice": "SYNTHETIC DATA — not real establishments" if synthetic else None,
        "sources": sources,
    }


def location_quotients(
    con: duckdb.DuckDBPyConnection,
    *,
    level: str = "commune",
    sector_level: str = "division",
    measure: str = "employment",
    reference: str = "nation",
    date: dt.date | None = None,
    code: str | None = None,
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

    Returns
    -------
    duckdb.DuckDBPyRelation
        Columns ``code``, ``sector``, ``value``, ``total`` (territory, all sectors),
        ``reference``, ``reference_value``, ``reference_total``, ``share``, ``lq``; call
        ``.arrow()`` or ``.fetchall()`` on it. Sectors absent from a territory have no row
        (their LQ is 0).
    """
    _check(sector_level, measure, level, reference)
    _require_establishments(con)
    value = "s.employment" if measure == "employment" else "1.0"
    join_t, code_t = _code_sql(level, "mt")
    join_p, code_p = _code_sql(reference, "mp")
    where = "" if code is None else "WHERE c.code = $code"
    sql = f"""
        WITH cp AS MATERIALIZED (
            SELECT {code_t} AS code, {code_p} AS parent, s.sector, sum({value}) AS value,
                   count(*) AS n
            FROM ({stock_sql(con, sector_level=sector_level, date=date)}) s {join_t} {join_p}
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


@dataclass
class SectorMatrix:
    """Territories × sectors values (dense), for the indices and relatedness computations."""

    codes: np.ndarray  # territory codes (object)
    sectors: np.ndarray  # sector codes (object)
    values: np.ndarray  # float64, shape (territories, sectors)
    counts: np.ndarray  # establishment counts, same shape

    def totals(self) -> np.ndarray:
        """Total value of each territory."""
        return np.asarray(self.values.sum(axis=1))


def sector_matrix(
    con: duckdb.DuckDBPyConnection,
    *,
    level: str = "commune",
    sector_level: str = "division",
    measure: str = "employment",
    date: dt.date | None = None,
    communes: list[str] | None = None,
) -> SectorMatrix:
    """Aggregate establishments into a dense territories × sectors matrix.

    ``communes`` restricts the establishments to these communes (a scope such as a région).
    """
    _check(sector_level, measure, level)
    _require_establishments(con)
    value = "s.employment" if measure == "employment" else "1.0"
    join_t, code_t = _code_sql(level, "mt")
    scope = ""
    if communes is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE t_scope (commune VARCHAR)")
        con.executemany("INSERT INTO t_scope VALUES (?)", [[c] for c in communes])
        scope = "WHERE s.commune IN (SELECT commune FROM t_scope)"
    table = con.execute(
        f"""
        SELECT {code_t} AS code, s.sector, sum({value}) AS value, count(*) AS n
        FROM ({stock_sql(con, sector_level=sector_level, date=date)}) s {join_t} {scope}
        GROUP BY ALL
        """
    ).fetchnumpy()
    codes, t_idx = np.unique(np.asarray(table["code"], dtype=object), return_inverse=True)
    sectors, s_idx = np.unique(np.asarray(table["sector"], dtype=object), return_inverse=True)
    values = np.zeros((len(codes), len(sectors)))
    counts = np.zeros((len(codes), len(sectors)))
    values[t_idx, s_idx] = np.asarray(table["value"], dtype=np.float64)
    counts[t_idx, s_idx] = np.asarray(table["n"], dtype=np.float64)
    return SectorMatrix(codes, sectors, values, counts)


# --------------------------------------------------------------------------- indices


def krugman(shares: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Krugman dissimilarity index of each row of ``shares`` against ``reference`` (0 to 2)."""
    return np.asarray(np.abs(np.atleast_2d(shares) - reference).sum(axis=1))


def herfindahl(shares: np.ndarray) -> np.ndarray:
    """Herfindahl index of each row of sector shares (1/n for an even spread, 1 for one sector)."""
    return np.asarray((np.atleast_2d(shares) ** 2).sum(axis=1))


def gini_specialisation(shares: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Specialisation Gini of each row of ``shares`` against the ``reference`` shares.

    Sectors are sorted by location quotient; the Lorenz curve plots the cumulated territory
    shares against the cumulated reference shares. 0: same structure as the reference; close
    to 1: all activity in sectors that are rare in the reference.
    """
    s = np.atleast_2d(np.asarray(shares, dtype=np.float64))
    r = np.broadcast_to(np.asarray(reference, dtype=np.float64), s.shape)
    lq = np.divide(s, r, out=np.zeros_like(s), where=r > 0)
    order = np.argsort(lq, axis=1, kind="stable")
    s_sorted = np.take_along_axis(s, order, axis=1)
    r_sorted = np.take_along_axis(r, order, axis=1)
    y = np.cumsum(s_sorted, axis=1)
    y_prev = np.concatenate([np.zeros((len(s), 1)), y[:, :-1]], axis=1)
    area = (r_sorted * (y + y_prev)).sum(axis=1)  # twice the area under the Lorenz curve
    return np.asarray(1.0 - area)


def _locational_gini(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Locational Gini of each column of ``values`` against the territories' ``weights``."""
    totals = values.sum(axis=0)
    shares = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    base = weights / weights.sum()
    gini = gini_specialisation(shares.T, base)
    return np.where(totals > 0, gini, np.nan)


def sector_concentration(
    con: duckdb.DuckDBPyConnection,
    *,
    level: str = "epci",
    sector_level: str = "division",
    traded_threshold: float = 0.2,
    min_establishments: int = 20,
    draws: int = 5,
    seed: int = 0,
    matrix: SectorMatrix | None = None,
) -> dict[str, dict[str, Any]]:
    """How concentrated each sector's establishments are across territories; traded or local.

    Parameters
    ----------
    con
        Knowledge base with SIRENE establishments.
    level
        Territories over which concentration is measured (EPCI by default).
    sector_level
        NAF level of the sectors.
    traded_threshold
        Normalised excess of the locational Gini over its value under a random spread,
        ``(G - G_random) / (1 - G_random)``, from which a sector is traded.
    min_establishments
        Sectors with fewer establishments are classified local (too few to tell).
    draws
        Random spreads averaged for the reference Gini.
    seed
        Seed of the random spreads (the same seed gives the same classification).
    matrix
        A ready matrix of establishment counts (skips the query).

    Returns
    -------
    dict
        By sector code: ``gini`` (locational Gini of establishment counts), ``gini_random``
        (mean over random spreads), ``excess`` (normalised), ``traded`` (bool),
        ``establishments``.
    """
    m = matrix or sector_matrix(
        con, level=level, sector_level=sector_level, measure="establishments"
    )
    counts = m.counts
    weights = counts.sum(axis=1)
    observed = _locational_gini(counts, weights)
    rng = np.random.default_rng(seed)
    p = weights / weights.sum()
    totals = counts.sum(axis=0).astype(np.int64)
    random_gini = np.zeros(len(totals))
    for _ in range(draws):  # a few random spreads of every sector at once
        simulated = np.zeros_like(counts)
        for j, n in enumerate(totals):
            simulated[:, j] = rng.multinomial(int(n), p)
        random_gini += _locational_gini(simulated, weights) / draws
    result: dict[str, dict[str, Any]] = {}
    for j, sector in enumerate(m.sectors):
        # Share of the inequality left by chance that the sector actually uses: comparable
        # between sparse and dense data (where chance alone already gives a high Gini).
        room = max(1.0 - float(random_gini[j]), 1e-9)
        excess = float(observed[j] - random_gini[j]) / room
        result[str(sector)] = {
            "gini": round(float(observed[j]), 4),
            "gini_random": round(float(random_gini[j]), 4),
            "excess": round(excess, 4),
            "traded": bool(excess >= traded_threshold and totals[j] >= min_establishments),
            "establishments": int(totals[j]),
        }
    return result


def classify_sectors(
    con: duckdb.DuckDBPyConnection,
    *,
    sector_level: str = "division",
    communes: list[str] | None = None,
    fallback: SectorMatrix | None = None,
) -> dict[str, dict[str, Any]]:
    """Traded/local classification of sectors, over EPCIs when there are enough of them.

    EPCIs give a faster and less noisy measure than communes; with fewer than ``MIN_EPCI``
    EPCIs holding establishments (a small knowledge base), communes are used instead (or the
    ``fallback`` matrix of establishment counts, when given).
    """
    epci = sector_matrix(
        con, level="epci", sector_level=sector_level, measure="establishments", communes=communes
    )
    if len(epci.codes) >= MIN_EPCI:
        return sector_concentration(con, matrix=epci)
    if fallback is not None:
        return sector_concentration(
            con,
            matrix=SectorMatrix(fallback.codes, fallback.sectors, fallback.counts, fallback.counts),
        )
    communal = sector_matrix(
        con, level="commune", sector_level=sector_level, measure="establishments", communes=communes
    )
    return sector_concentration(con, matrix=communal)


# --------------------------------------------------------------------------- shift-share


def _cells(
    con: duckdb.DuckDBPyConnection,
    *,
    level: str,
    code: str,
    sector_level: str,
    measure: str,
    date: dt.date | None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Territory values and national values by sector at ``date``."""
    value = "s.employment" if measure == "employment" else "1.0"
    join_t, code_t = _code_sql(level, "mt")
    rows = con.execute(
        f"""
        SELECT s.sector, sum({value}) FILTER ({code_t} = $code) AS local, sum({value}) AS nation
        FROM ({stock_sql(con, sector_level=sector_level, date=date)}) s
        {join_t.replace("JOIN", "LEFT JOIN", 1)}
        GROUP BY s.sector
        """,
        {"code": code},
    ).fetchall()
    local = {str(r[0]): float(r[1] or 0.0) for r in rows}
    nation = {str(r[0]): float(r[2] or 0.0) for r in rows}
    return local, nation


def shift_share(
    con: duckdb.DuckDBPyConnection,
    code: str,
    *,
    level: str | None = None,
    start: dt.date,
    end: dt.date | None = None,
    sector_level: str = "division",
    measure: str = "employment",
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
    _check(sector_level, measure, territory["level"])
    _require_establishments(con)
    local0, nation0 = _cells(
        con,
        level=territory["level"],
        code=territory["code"],
        sector_level=sector_level,
        measure=measure,
        date=start,
    )
    local1, nation1 = _cells(
        con,
        level=territory["level"],
        code=territory["code"],
        sector_level=sector_level,
        measure=measure,
        date=end,
    )
    sectors = sorted(set(local0) | set(local1) | set(nation0) | set(nation1))
    return _decompose(
        sectors,
        np.asarray([local0.get(s, 0.0) for s in sectors]),
        np.asarray([local1.get(s, 0.0) for s in sectors]),
        np.asarray([nation0.get(s, 0.0) for s in sectors]),
        np.asarray([nation1.get(s, 0.0) for s in sectors]),
        territory=territory,
        start=start,
        end=end,
        measure=measure,
    )


def _decompose(
    sectors: list[str],
    e0: np.ndarray,
    e1: np.ndarray,
    n0: np.ndarray,
    n1: np.ndarray,
    *,
    territory: dict[str, Any],
    start: dt.date,
    end: dt.date | None,
    measure: str,
) -> dict[str, Any]:
    total0 = float(n0.sum())
    growth = float(n1.sum() / total0 - 1.0) if total0 > 0 else 0.0
    sector_growth = np.divide(n1 - n0, n0, out=np.zeros_like(n0), where=n0 > 0)
    change = e1 - e0
    national = e0 * growth
    mix = e0 * (sector_growth - growth)
    # The regional shift is what the two other components leave of the change, so that the
    # three add up to it exactly, also where a sector is new (e0 = 0).
    regional = change - national - mix
    rows: list[dict[str, Any]] = [
        {
            "sector": s,
            "label": naf_label(s),
            "start": float(e0[i]),
            "end": float(e1[i]),
            "change": float(change[i]),
            "national": float(national[i]),
            "industry_mix": float(mix[i]),
            "regional": float(regional[i]),
            "sector_growth": float(sector_growth[i]) if n0[i] > 0 else None,
        }
        for i, s in enumerate(sectors)
        if e0[i] or e1[i]
    ]
    rows.sort(key=lambda r: -abs(r["regional"]))
    totals = {
        "start": float(e0.sum()),
        "end": float(e1.sum()),
        "change": float(change.sum()),
        "national": float(national.sum()),
        "industry_mix": float(mix.sum()),
        "regional": float(regional.sum()),
    }
    return {
        "territory": {k: territory[k] for k in ("level", "code", "name")},
        "measure": measure,
        "start": start.isoformat(),
        "end": end.isoformat() if end else "snapshot",
        "national_growth": growth,
        "totals": totals,
        "sectors": rows,
    }


# --------------------------------------------------------------------------- profile


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
) -> dict[str, Any]:
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

    Returns
    -------
    dict
        JSON-able: ``territory``, ``totals``, ``indices`` (Krugman, Gini, Herfindahl),
        ``specialised`` and ``largest`` sectors with LQ, ``traded_share``, ``shift_share``,
        ``synthetic``, ``sources``.
    """
    territory = resolve_territory(con, code, level=level)
    _check(sector_level, measure, territory["level"], reference)
    _require_establishments(con)
    rows = location_quotients(
        con,
        level=territory["level"],
        sector_level=sector_level,
        measure=measure,
        reference=reference,
        code=territory["code"],
    ).fetchall()
    provenance = economy_sources(con)
    base = {
        "territory": {k: territory[k] for k in ("level", "code", "name", "population")},
        "measure": measure,
        "sector_level": sector_level,
        "reference": reference,
        **provenance,
    }
    if not rows:
        return {**base, "totals": {"value": 0.0, "establishments": 0}, "sectors": []}
    ref_rows = con.execute(
        f"""
        SELECT sector, sum(v) FROM (
            SELECT s.sector, {"s.employment" if measure == "employment" else "1.0"} AS v
            FROM ({stock_sql(con, sector_level=sector_level)}) s
            {_code_sql(reference, "mp")[0]}
            WHERE {_code_sql(reference, "mp")[1]} = $parent
        ) GROUP BY sector
        """,
        {"parent": rows[0][4]},
    ).fetchall()
    ref = {str(r[0]): float(r[1]) for r in ref_rows}
    sectors = sorted(ref)
    index = {s: i for i, s in enumerate(sectors)}
    local = np.zeros(len(sectors))
    for r in rows:
        local[index[str(r[1])]] = float(r[2])
    reference_values = np.asarray([ref[s] for s in sectors])
    shares = local / local.sum() if local.sum() > 0 else local
    ref_shares = reference_values / reference_values.sum()
    concentration = classify_sectors(con, sector_level=sector_level)
    traded = np.asarray([concentration.get(s, {}).get("traded", False) for s in sectors])
    entries: list[dict[str, Any]] = [
        {
            "sector": str(r[1]),
            "label": naf_label(str(r[1])),
            "value": float(r[2]),
            "share": float(r[7]) if r[7] is not None else None,
            "lq": float(r[8]) if r[8] is not None else None,
            "traded": bool(concentration.get(str(r[1]), {}).get("traded", False)),
        }
        for r in rows
    ]
    counts = con.execute(
        f"""
        SELECT count(*) FROM ({stock_sql(con, sector_level=sector_level)}) s
        {_code_sql(territory["level"], "mt")[0]}
        WHERE {_code_sql(territory["level"], "mt")[1]} = $code
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
        )
        shift["sectors"] = shift["sectors"][:top]
    return {
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
        # Sectors below 0.1 % of the territory are left out of the ranking: a handful of jobs
        # give meaningless quotients.
        "specialised": sorted(
            (e for e in entries if e["value"] > 0 and (e["share"] or 0.0) >= 0.001),
            key=lambda e: -(e["lq"] or 0.0),
        )[:top],
        "largest": sorted(entries, key=lambda e: -e["value"])[:top],
        "shift_share": shift,
    }
