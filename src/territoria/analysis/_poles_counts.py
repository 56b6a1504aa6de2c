"""Internals of :mod:`territoria.analysis.poles`: the scope of a detection, counts of each
sector group by commune and nationally, over-representation tests and cluster-mapping
thresholds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from scipy.stats import poisson

from territoria._formats import number
from territoria.analysis._specialisation_sql import stock_sql
from territoria.errors import InvalidAnalysisRequest, UnknownTerritory
from territoria.kb.naf import naf_codes


@dataclass
class Scope:
    key: str
    codes: np.ndarray  # commune codes (object)
    names: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    adjacency: sp.csr_matrix  # with the diagonal


def build_scope(
    con: duckdb.DuckDBPyConnection, region: str | None, departement: str | None
) -> Scope:
    if region is not None and departement is not None:
        msg = "give --region or --departement, not both"
        raise InvalidAnalysisRequest(msg)
    parent = ("region", region) if region else ("departement", departement) if departement else None
    where, params = "", []
    if parent is not None:
        where = (
            "AND t.code IN (SELECT code FROM membership WHERE level = 'commune' "
            "AND parent_level = ? AND parent_code = ?)"
        )
        params = list(parent)
    table = con.execute(
        f"SELECT t.code, t.name, ST_X(t.point) AS lon, ST_Y(t.point) AS lat FROM territory t "
        f"WHERE t.level = 'commune' AND t.point IS NOT NULL {where} ORDER BY t.code",
        params,
    ).fetchnumpy()
    codes = np.asarray(table["code"], dtype=object)
    if not len(codes):
        level, code = parent if parent else ("nation", "FR")
        msg = f"no commune in {level} {code!r}: run 'territoria search' to find the code"
        raise UnknownTerritory(msg)
    temp_table(
        con,
        "p_scope",
        {"commune": pa.array(codes.tolist(), pa.string()), "idx": pa.array(np.arange(len(codes)))},
    )
    pairs = con.execute(
        "SELECT a.idx, b.idx FROM adjacency j JOIN p_scope a ON a.commune = j.code "
        "JOIN p_scope b ON b.commune = j.neighbour WHERE j.level = 'commune'"
    ).fetchnumpy()
    rows, cols = (np.asarray(v, dtype=np.int64) for v in pairs.values())
    n = len(codes)
    adj = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    adj = ((adj + adj.T + sp.identity(n, format="csr")) > 0).astype(np.float64).tocsr()
    return Scope(
        key=parent[1] if parent else "FR",
        codes=codes,
        names=np.asarray(table["name"], dtype=object),
        lon=np.asarray(table["lon"], dtype=np.float64),
        lat=np.asarray(table["lat"], dtype=np.float64),
        adjacency=adj,
    )


def temp_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, pa.Array]) -> None:
    con.register("p_arrow", pa.table(columns))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM p_arrow")
    finally:
        con.unregister("p_arrow")


def subclass_codes(con: duckdb.DuckDBPyConnection) -> np.ndarray:
    """NAF sous-classes in code order; also as the temporary table ``p_sub (sector, idx)``."""
    codes = np.asarray(
        sorted(c for c, v in naf_codes().items() if v.level == "subclass"), dtype=object
    )
    temp_table(
        con,
        "p_sub",
        {"sector": pa.array(codes.tolist(), pa.string()), "idx": pa.array(np.arange(len(codes)))},
    )
    return codes


def group_membership(subclasses: np.ndarray, groups: list[dict[str, Any]]) -> sp.csr_matrix:
    """Subclasses × groups 0/1 matrix: a subclass belongs to a group when one of the group's
    codes is its section or a prefix of its code."""
    codes = naf_codes()
    section = np.asarray([codes[s].section if s in codes else "" for s in subclasses])
    subs = np.asarray(subclasses, dtype=str)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for g, group in enumerate(groups):  # a few dozen groups of a few codes
        mask = np.zeros(len(subs), dtype=bool)
        for code in group["sectors"]:
            mask |= section == code if len(code) == 1 else np.char.startswith(subs, code)
        idx = np.flatnonzero(mask)
        rows.append(idx)
        cols.append(np.full(len(idx), g))
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=int)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=int)
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(subs), len(groups)))


@dataclass
class Counts:
    """Establishments and employment of each group in each scope commune, and nationally."""

    n: np.ndarray  # communes × groups, establishments
    e: np.ndarray  # communes × groups, employment
    n_total: np.ndarray  # communes, all establishments
    e_total: np.ndarray
    n_nation: np.ndarray  # groups
    e_nation: np.ndarray
    n_all: float
    e_all: float


def group_counts(
    con: duckdb.DuckDBPyConnection,
    scope: Scope,
    groups: list[dict[str, Any]],
    *,
    date: dt.date | None,
) -> Counts:
    stock = stock_sql(con, sector_level="subclass", date=date)
    subclasses = subclass_codes(con)
    cells = con.execute(
        f"SELECT c.idx AS ci, b.idx AS si, count(*) AS n, sum(s.employment) AS e "
        f"FROM ({stock}) s JOIN p_scope c ON c.commune = s.commune "
        "JOIN p_sub b ON b.sector = s.sector GROUP BY ALL"
    ).fetchnumpy()
    nation = con.execute(
        f"SELECT b.idx AS si, count(*) AS n, sum(s.employment) AS e FROM ({stock}) s "
        "JOIN p_sub b ON b.sector = s.sector GROUP BY ALL"
    ).fetchnumpy()
    member = group_membership(subclasses, groups)
    nc, ns = len(scope.codes), len(subclasses)
    ci = np.asarray(cells["ci"], dtype=np.int64)
    si = np.asarray(cells["si"], dtype=np.int64)
    n_cs = sp.csr_matrix((np.asarray(cells["n"], np.float64), (ci, si)), shape=(nc, ns))
    e_cs = sp.csr_matrix((np.asarray(cells["e"], np.float64), (ci, si)), shape=(nc, ns))
    ni = np.asarray(nation["si"], dtype=np.int64)
    n_s = np.zeros(ns)
    e_s = np.zeros(ns)
    n_s[ni] = np.asarray(nation["n"], np.float64)
    e_s[ni] = np.asarray(nation["e"], np.float64)
    return Counts(
        n=np.asarray((n_cs @ member).todense()),
        e=np.asarray((e_cs @ member).todense()),
        n_total=np.asarray(n_cs.sum(axis=1)).ravel(),
        e_total=np.asarray(e_cs.sum(axis=1)).ravel(),
        n_nation=np.asarray(member.T @ n_s).ravel(),
        e_nation=np.asarray(member.T @ e_s).ravel(),
        n_all=float(n_s.sum()),
        e_all=float(e_s.sum()),
    )


def quotient(value: np.ndarray, total: np.ndarray, share: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        lq = np.where((total > 0) & (np.asarray(share) > 0), value / total / share, 0.0)
    return np.asarray(lq)


def over_represented(
    n: np.ndarray,
    n_total: np.ndarray,
    value: np.ndarray,
    value_total: np.ndarray,
    *,
    n_share: np.ndarray | float,
    v_share: np.ndarray | float,
    min_lq: float,
    alpha: float,
    min_count: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(passes, lq, p-value) of the over-representation test, elementwise."""
    mu = n_total * n_share
    p = np.asarray(poisson.sf(n - 1, np.maximum(mu, 1e-12)))
    lq = quotient(value, value_total, v_share)
    ok = (n >= min_count) & (lq >= min_lq) & (p <= alpha)
    return ok, lq, p


#: Specialisation star of the European Cluster Observatory: a location quotient of at least 2.
ECO_MIN_LQ = 2.0
#: Size and focus stars: in the top decile (90th percentile) of the comparable territories.
ECO_PERCENTILE = 90.0


def cluster_thresholds(
    con: duckdb.DuckDBPyConnection, groups: list[dict[str, Any]], *, measure: str
) -> list[dict[str, float]]:
    """Star thresholds of each group over the EPCIs with the group's activity (the comparable
    territories): top decile of *size* (the EPCI's share of the group's national value) and of
    *focus* (the group's share of the EPCI's own total), and the fixed LQ of specialisation."""
    stock = stock_sql(con, sector_level="subclass")
    subclasses = subclass_codes(con)
    cells = con.execute(
        f"""
        SELECT m.parent_code AS epci, b.idx AS si, count(*) AS n, sum(s.employment) AS e
        FROM ({stock}) s JOIN membership m ON m.level = 'commune' AND m.code = s.commune
             AND m.parent_level = 'epci'
        JOIN p_sub b ON b.sector = s.sector
        GROUP BY ALL
        """
    ).fetchnumpy()
    epcis, ei = np.unique(np.asarray(cells["epci"], dtype=object), return_inverse=True)
    si = np.asarray(cells["si"], dtype=np.int64)
    shape = (len(epcis), len(subclasses))
    n_es = sp.csr_matrix((np.asarray(cells["n"], np.float64), (ei, si)), shape=shape)
    e_es = sp.csr_matrix((np.asarray(cells["e"], np.float64), (ei, si)), shape=shape)
    member = group_membership(subclasses, groups)
    n = np.asarray((n_es @ member).todense())
    value = np.asarray(((e_es if measure == "employment" else n_es) @ member).todense())
    totals = np.asarray((e_es if measure == "employment" else n_es).sum(axis=1)).ravel()
    size = value / np.maximum(value.sum(axis=0), 1e-12)[None, :]
    focus = value / np.maximum(totals, 1e-12)[:, None]
    found = []
    for g in range(len(groups)):
        present = n[:, g] > 0
        if not present.any():
            found.append({"size_p90": np.inf, "focus_p90": np.inf, "territories": 0})
        else:
            found.append(
                {
                    "size_p90": float(np.percentile(size[present, g], ECO_PERCENTILE)),
                    "focus_p90": float(np.percentile(focus[present, g], ECO_PERCENTILE)),
                    "territories": int(present.sum()),
                }
            )
        found[-1]["specialisation_lq"] = ECO_MIN_LQ
    return found


def star_rating(
    size: float, lq: float, focus: float, t: dict[str, float]
) -> tuple[int, list[dict[str, Any]]]:
    """European Cluster Observatory stars of a pole (0 to 3) with the reason for each star."""
    territories = int(t["territories"])
    criteria = (
        ("size", size, t["size_p90"], "taille", "part de l'emploi national du secteur"),
        (
            "specialisation",
            lq,
            t["specialisation_lq"],
            "spécialisation",
            "quotient de localisation",
        ),
        ("focus", focus, t["focus_p90"], "concentration", "part du secteur dans l'emploi local"),
    )
    reasons: list[dict[str, Any]] = []
    for key, value, threshold, name, what in criteria:
        met = bool(np.isfinite(threshold) and value >= threshold)
        if key == "specialisation":
            rule = "seuil de l'Observatoire européen des clusters"
        else:
            rule = f"premier décile des {territories} EPCI où le secteur est présent"
        verdict = "étoile obtenue" if met else "pas d'étoile"
        shown = _fr(value, key)
        limit = _fr(threshold, key) if np.isfinite(threshold) else "aucun"
        reasons.append(
            {
                "criterion": key,
                "met": met,
                "value": float(value),
                "threshold": float(threshold) if np.isfinite(threshold) else None,
                "reason": f"{name.capitalize()} : {verdict} — {what} {shown} ({rule} : {limit})",
            }
        )
    return sum(bool(r["met"]) for r in reasons), reasons


def _fr(value: float, criterion: str) -> str:
    """A share as a French percentage, a quotient with two decimals."""
    if criterion == "specialisation":
        return number(value, "fr", 2)
    return number(100 * value, "fr", 2) + " %"
