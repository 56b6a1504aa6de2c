"""Poles: spatial concentrations of related sectors, with the actors around them.

A *pole* is a group of neighbouring communes where the establishments of a group of related
sectors (:func:`~territoria.analysis.relatedness.sector_groups`) are markedly and significantly
over-represented. Detection (``method="hotspot"``, the default) works on the commune adjacency
graph:

1. for each commune and each group, the group's establishments ``n`` are compared with what the
   commune's establishments would hold at the national share of the group (``mu``); a commune is
   *hot* when the location quotient (on the chosen measure) is at least ``min_lq`` and the excess
   is significant (one-sided Poisson test, ``p <= alpha``), either on its own or together with
   its neighbours (a local Getis-Ord-like window), and its own LQ is at least 1;
2. hot communes joined by adjacency form candidate poles; a candidate is kept when, taken as a
   whole, it has at least ``min_establishments`` establishments of the group, an LQ of at least
   ``min_lq`` and a significant excess.

``method="hdbscan"`` instead clusters the coordinates of the group's establishments with HDBSCAN
(scikit-learn; each establishment counted once, since HDBSCAN takes no weights) and submits each
cluster's communes to the same test as in step 2.

Each pole is then labelled with the thresholds of cluster mapping (US Cluster Mapping, Delgado
et al.), computed over the EPCIs of the knowledge base that have the group's activity:
**strong** when its LQ is at or above the 75th percentile of those territories and at least 1 and
both its employment and its establishment count are above their 25th percentile;
**significant** when its LQ is at or above the median (and at least 1) with the same size
conditions; **minor** otherwise. Its growth over ``growth_years`` is compared with the growth of
its sectors nationally: a pole growing faster is **emerging**. The knowledge actors (research,
NAF 72; higher education, NAF 85.4) and public actors (public administration, NAF 84) within
``reach_km`` of its footprint are listed, with its largest firms and its footprint (convex hull of
its establishments, as GeoJSON).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.stats import poisson

from territoria.analysis.relatedness import sector_groups
from territoria.analysis.specialisation import economy_sources, snapshot_date, stock_sql
from territoria.errors import InvalidAnalysisRequest, NoEstablishments, UnknownTerritory
from territoria.sources.sirene import naf_codes, naf_label

__all__ = ["KNOWLEDGE", "PUBLIC", "detect_poles"]

#: Knowledge actors: scientific research and development, higher and post-secondary education.
KNOWLEDGE = ("72", "85.4")
#: Public actors: public administration (collectivities, State services).
PUBLIC = ("84",)
METHODS = ("hotspot", "hdbscan")
_LABEL_RANK = {"strong": 0, "significant": 1, "minor": 2}


@dataclass
class _Scope:
    key: str
    codes: np.ndarray  # commune codes (object)
    names: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    adjacency: sp.csr_matrix  # with the diagonal


def _scope(con: duckdb.DuckDBPyConnection, region: str | None, departement: str | None) -> _Scope:
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
    _temp_table(
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
    return _Scope(
        key=parent[1] if parent else "FR",
        codes=codes,
        names=np.asarray(table["name"], dtype=object),
        lon=np.asarray(table["lon"], dtype=np.float64),
        lat=np.asarray(table["lat"], dtype=np.float64),
        adjacency=adj,
    )


def _temp_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, pa.Array]) -> None:
    con.register("p_arrow", pa.table(columns))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM p_arrow")
    finally:
        con.unregister("p_arrow")


def _subclasses(con: duckdb.DuckDBPyConnection) -> np.ndarray:
    """NAF sous-classes in code order; also as the temporary table ``p_sub (sector, idx)``."""
    codes = np.asarray(
        sorted(c for c, v in naf_codes().items() if v.level == "subclass"), dtype=object
    )
    _temp_table(
        con,
        "p_sub",
        {"sector": pa.array(codes.tolist(), pa.string()), "idx": pa.array(np.arange(len(codes)))},
    )
    return codes


def _membership(subclasses: np.ndarray, groups: list[dict[str, Any]]) -> sp.csr_matrix:
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
class _Counts:
    """Establishments and employment of each group in each scope commune, and nationally."""

    n: np.ndarray  # communes × groups, establishments
    e: np.ndarray  # communes × groups, employment
    n_total: np.ndarray  # communes, all establishments
    e_total: np.ndarray
    n_nation: np.ndarray  # groups
    e_nation: np.ndarray
    n_all: float
    e_all: float


def _counts(
    con: duckdb.DuckDBPyConnection,
    scope: _Scope,
    groups: list[dict[str, Any]],
    *,
    date: dt.date | None,
) -> _Counts:
    stock = stock_sql(con, sector_level="subclass", date=date)
    subclasses = _subclasses(con)
    cells = con.execute(
        f"SELECT c.idx AS ci, b.idx AS si, count(*) AS n, sum(s.employment) AS e "
        f"FROM ({stock}) s JOIN p_scope c ON c.commune = s.commune "
        "JOIN p_sub b ON b.sector = s.sector GROUP BY ALL"
    ).fetchnumpy()
    nation = con.execute(
        f"SELECT b.idx AS si, count(*) AS n, sum(s.employment) AS e FROM ({stock}) s "
        "JOIN p_sub b ON b.sector = s.sector GROUP BY ALL"
    ).fetchnumpy()
    member = _membership(subclasses, groups)
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
    return _Counts(
        n=np.asarray((n_cs @ member).todense()),
        e=np.asarray((e_cs @ member).todense()),
        n_total=np.asarray(n_cs.sum(axis=1)).ravel(),
        e_total=np.asarray(e_cs.sum(axis=1)).ravel(),
        n_nation=np.asarray(member.T @ n_s).ravel(),
        e_nation=np.asarray(member.T @ e_s).ravel(),
        n_all=float(n_s.sum()),
        e_all=float(e_s.sum()),
    )


def _lq(value: np.ndarray, total: np.ndarray, share: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        lq = np.where((total > 0) & (np.asarray(share) > 0), value / total / share, 0.0)
    return np.asarray(lq)


def _test(
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
    lq = _lq(value, value_total, v_share)
    ok = (n >= min_count) & (lq >= min_lq) & (p <= alpha)
    return ok, lq, p


def _thresholds(
    con: duckdb.DuckDBPyConnection, groups: list[dict[str, Any]], *, measure: str
) -> list[dict[str, float]]:
    """Cluster-mapping thresholds of each group over the EPCIs with the group's activity."""
    stock = stock_sql(con, sector_level="subclass")
    subclasses = _subclasses(con)
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
    member = _membership(subclasses, groups)
    n = np.asarray((n_es @ member).todense())
    e = np.asarray((e_es @ member).todense())
    value = e if measure == "employment" else n
    totals = np.asarray((e_es if measure == "employment" else n_es).sum(axis=1)).ravel()
    share = value.sum(axis=0) / max(float(totals.sum()), 1e-12)
    lq = _lq(value, totals[:, None], share[None, :])
    found = []
    for g in range(len(groups)):
        present = n[:, g] > 0
        if not present.any():
            found.append(
                {
                    "lq_p75": np.inf,
                    "lq_p50": np.inf,
                    "employment_p25": 0.0,
                    "establishments_p25": 0.0,
                    "territories": 0,
                }
            )
            continue
        found.append(
            {
                "lq_p75": float(np.percentile(lq[present, g], 75)),
                "lq_p50": float(np.percentile(lq[present, g], 50)),
                "employment_p25": float(np.percentile(e[present, g], 25)),
                "establishments_p25": float(np.percentile(n[present, g], 25)),
                "territories": int(present.sum()),
            }
        )
    return found


def _label(lq: float, employment: float, establishments: float, t: dict[str, float]) -> str:
    sized = employment > t["employment_p25"] and establishments > t["establishments_p25"]
    if sized and lq >= max(1.0, t["lq_p75"]):
        return "strong"
    if sized and lq >= max(1.0, t["lq_p50"]):
        return "significant"
    return "minor"


def _candidates_hotspot(
    scope: _Scope,
    counts: _Counts,
    *,
    measure: str,
    min_lq: float,
    alpha: float,
    min_establishments: int,
) -> list[tuple[int, np.ndarray]]:
    """(group, commune indices) of the connected sets of hot communes."""
    value = counts.e if measure == "employment" else counts.n
    v_total = counts.e_total if measure == "employment" else counts.n_total
    v_nation = counts.e_nation if measure == "employment" else counts.n_nation
    v_all = counts.e_all if measure == "employment" else counts.n_all
    n_share = counts.n_nation / max(counts.n_all, 1.0)
    v_share = v_nation / max(v_all, 1e-12)
    adj = scope.adjacency
    own_ok, own_lq, _ = _test(
        counts.n,
        counts.n_total[:, None],
        value,
        v_total[:, None],
        n_share=n_share[None, :],
        v_share=v_share[None, :],
        min_lq=min_lq,
        alpha=alpha,
        min_count=3,
    )
    near_ok, _, _ = _test(
        adj @ counts.n,
        (adj @ counts.n_total)[:, None],
        adj @ value,
        (adj @ v_total)[:, None],
        n_share=n_share[None, :],
        v_share=v_share[None, :],
        min_lq=min_lq,
        alpha=alpha,
        min_count=min_establishments,
    )
    hot = (own_ok | near_ok) & (counts.n > 0) & (own_lq >= 1.0)
    found = []
    for g in np.flatnonzero(hot.any(axis=0)):  # groups with at least one hot commune
        idx = np.flatnonzero(hot[:, g])
        sub = adj[idx][:, idx]
        k, labels = connected_components(sub, directed=False)
        for c in range(k):
            found.append((int(g), idx[labels == c]))
    return found


def _candidates_hdbscan(
    con: duckdb.DuckDBPyConnection,
    scope: _Scope,
    groups: list[dict[str, Any]],
    counts: _Counts,
    *,
    measure: str,
    min_establishments: int,
    seed: int,
) -> list[tuple[int, np.ndarray]]:
    from sklearn.cluster import HDBSCAN

    subclasses = _subclasses(con)
    member = _membership(subclasses, groups).tocsc()
    points = con.execute(
        f"SELECT c.idx AS ci, b.idx AS si, s.lon, s.lat "
        f"FROM ({stock_sql(con, sector_level='subclass')}) s "
        "JOIN p_scope c ON c.commune = s.commune JOIN p_sub b ON b.sector = s.sector "
        "WHERE s.lon IS NOT NULL"
    ).fetchnumpy()
    sector = np.asarray(points["si"], dtype=np.int64)
    commune = np.asarray(points["ci"], dtype=np.int64)
    lon = np.asarray(points["lon"], np.float64)
    lat = np.asarray(points["lat"], np.float64)
    lat0 = float(np.mean(scope.lat))
    x = lon * 111.32 * np.cos(np.radians(lat0))
    y = lat * 110.57
    rng = np.random.default_rng(seed)
    value = counts.e if measure == "employment" else counts.n
    v_total = counts.e_total if measure == "employment" else counts.n_total
    v_nation = counts.e_nation if measure == "employment" else counts.n_nation
    v_all = counts.e_all if measure == "employment" else counts.n_all
    v_share = v_nation / max(v_all, 1e-12)
    own_lq = _lq(value, v_total[:, None], v_share[None, :])
    found: list[tuple[int, np.ndarray]] = []
    for g, _ in enumerate(groups):  # one clustering per group
        idx = np.flatnonzero(np.isin(sector, member[:, g].indices))
        if len(idx) < min_establishments:
            continue
        if len(idx) > 50_000:
            idx = np.sort(rng.choice(idx, 50_000, replace=False))
        model = HDBSCAN(
            min_cluster_size=min_establishments, min_samples=min_establishments, copy=True
        )
        labels = model.fit_predict(np.column_stack([x[idx], y[idx]]))
        # HDBSCAN splits a concentration spread over several communes into dense blobs:
        # neighbouring communes holding clusters form one candidate.
        dense = np.unique(commune[idx[labels >= 0]])
        # A cluster also covers dense places where the group is merely as common as elsewhere
        # (a city): only the communes where it is over-represented stay in the candidate.
        dense = dense[own_lq[dense, g] >= 1.0]
        if not len(dense):
            continue
        k, parts = connected_components(scope.adjacency[dense][:, dense], directed=False)
        found.extend((g, dense[parts == c]) for c in range(k))
    return found


def _local_xy(lon: np.ndarray, lat: np.ndarray, lat0: float) -> np.ndarray:
    return np.column_stack([lon * 111.32 * np.cos(np.radians(lat0)), lat * 110.57])


def detect_poles(
    con: duckdb.DuckDBPyConnection,
    *,
    region: str | None = None,
    departement: str | None = None,
    groups: list[dict[str, Any]] | None = None,
    scheme: str | None = None,
    method: str = "hotspot",
    measure: str = "employment",
    sector_level: str = "group",
    min_lq: float = 2.0,
    alpha: float = 1e-4,
    min_establishments: int = 10,
    reach_km: float = 10.0,
    growth_years: int = 5,
    top: int = 10,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Detect the poles of a région, a département or all of France.

    Parameters
    ----------
    con
        Knowledge base with territories and SIRENE establishments.
    region, departement
        Where to look (all of France when both are omitted).
    groups
        Groups of related sectors (``id``, ``label``, ``sectors``); by default computed by
        :func:`~territoria.analysis.relatedness.sector_groups` over the whole knowledge base.
    scheme
        Name of a user grouping stored with ``import_sector_groups`` (instead of ``groups``).
    method
        ``"hotspot"`` (commune adjacency graph) or ``"hdbscan"`` (establishment coordinates).
    measure
        ``"employment"`` or ``"establishments"``: the quantity of the location quotients.
    sector_level
        NAF level of the computed groups (when ``groups`` and ``scheme`` are not given).
    min_lq
        Smallest location quotient of a pole and of its hot communes.
    alpha
        Significance level of the Poisson test of over-representation.
    min_establishments
        Smallest number of the group's establishments in a pole.
    reach_km
        Distance from the pole's footprint within which actors are listed.
    growth_years
        Span of the growth comparison, ending at the snapshot.
    top
        How many firms and actors to list per pole (counts cover them all).
    seed
        Seed of the group detection and of HDBSCAN subsampling.

    Returns
    -------
    list of dict
        One JSON-able dict per pole, strongest first: ``id``, ``name``, ``label``, ``group``,
        ``sectors``, ``communes``, ``establishments``, ``employment``, ``lq``, ``p_value``,
        ``thresholds``, ``growth``, ``emerging``, ``firms``, ``knowledge_actors``,
        ``public_actors``, ``hull`` (GeoJSON), ``synthetic``.
    """
    if method not in METHODS:
        msg = f"unknown pole detection method {method!r}: choose 'hotspot' or 'hdbscan'"
        raise InvalidAnalysisRequest(msg)
    if measure not in ("employment", "establishments"):
        msg = f"unknown measure {measure!r}: choose 'employment' or 'establishments'"
        raise InvalidAnalysisRequest(msg)
    row = con.execute("SELECT count(*) FROM (SELECT 1 FROM establishment LIMIT 1)").fetchone()
    if not row or not row[0]:
        msg = "the knowledge base has no establishments: run 'territoria import sirene' first"
        raise NoEstablishments(msg)
    if groups is None:
        groups = sector_groups(con, scheme=scheme, sector_level=sector_level, seed=seed)
    if not groups:
        return []
    try:
        scope = _scope(con, region, departement)
        counts = _counts(con, scope, groups, date=None)
        if method == "hotspot":
            candidates = _candidates_hotspot(
                scope,
                counts,
                measure=measure,
                min_lq=min_lq,
                alpha=alpha,
                min_establishments=min_establishments,
            )
        else:
            candidates = _candidates_hdbscan(
                con,
                scope,
                groups,
                counts,
                measure=measure,
                min_establishments=min_establishments,
                seed=seed,
            )
        poles = _evaluate(
            counts,
            candidates,
            measure=measure,
            min_lq=min_lq,
            alpha=alpha,
            min_establishments=min_establishments,
        )
        if not poles:
            return []
        snap = snapshot_date(con)
        since = _years_before(snap or dt.date.today(), growth_years)
        past = _counts(con, scope, groups, date=since)
        thresholds = _thresholds(con, groups, measure=measure)
        provenance = economy_sources(con)
        results = [
            _describe(
                pole,
                scope=scope,
                groups=groups,
                counts=counts,
                past=past,
                thresholds=thresholds,
                measure=measure,
                since=since,
                synthetic=bool(provenance["synthetic"]),
            )
            for pole in poles
        ]
        _attach_establishments(con, results, scope, groups, top=top, reach_km=reach_km)
    finally:
        for table in ("p_scope", "p_sub", "p_pole_commune", "p_pole_sector"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    results.sort(key=lambda p: (_LABEL_RANK[p["label"]], -p["employment"], p["id"]))
    return results


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass
class _Pole:
    group: int
    communes: np.ndarray
    n: float
    e: float
    lq: float
    p: float


def _evaluate(
    counts: _Counts,
    candidates: list[tuple[int, np.ndarray]],
    *,
    measure: str,
    min_lq: float,
    alpha: float,
    min_establishments: int,
) -> list[_Pole]:
    found: list[_Pole] = []
    taken: dict[int, set[int]] = {}
    for g, communes in candidates:
        n = float(counts.n[communes, g].sum())
        e = float(counts.e[communes, g].sum())
        n_tot = float(counts.n_total[communes].sum())
        if measure == "employment":
            value, total = e, float(counts.e_total[communes].sum())
            share = counts.e_nation[g] / max(counts.e_all, 1e-12)
        else:
            value, total = n, n_tot
            share = counts.n_nation[g] / max(counts.n_all, 1.0)
        mu = n_tot * counts.n_nation[g] / max(counts.n_all, 1.0)
        p = float(poisson.sf(n - 1, max(mu, 1e-12)))
        lq = value / total / share if total > 0 and share > 0 else 0.0
        if n < min_establishments or lq < min_lq or p > alpha:
            continue
        # HDBSCAN clusters of one group may share communes: keep the first one.
        seen = taken.setdefault(g, set())
        if seen & set(communes.tolist()):
            continue
        seen.update(communes.tolist())
        found.append(_Pole(g, communes, n, e, float(lq), p))
    return found


def _describe(
    pole: _Pole,
    *,
    scope: _Scope,
    groups: list[dict[str, Any]],
    counts: _Counts,
    past: _Counts,
    thresholds: list[dict[str, float]],
    measure: str,
    since: dt.date,
    synthetic: bool,
) -> dict[str, Any]:
    g, communes = pole.group, pole.communes
    group = groups[g]
    weight = counts.e[communes, g] if measure == "employment" else counts.n[communes, g]
    centre = communes[int(np.argmax(weight))]
    value_now = pole.e if measure == "employment" else pole.n
    past_values = past.e if measure == "employment" else past.n
    value_then = float(past_values[communes, g].sum())
    nation_now = counts.e_nation[g] if measure == "employment" else counts.n_nation[g]
    nation_then = past.e_nation[g] if measure == "employment" else past.n_nation[g]
    rate = value_now / value_then - 1.0 if value_then > 0 else None
    national_rate = nation_now / nation_then - 1.0 if nation_then > 0 else None
    emerging = bool(
        value_now > 0 and (rate is None or (national_rate is not None and rate > national_rate))
    )
    t = thresholds[g]
    label = _label(pole.lq, pole.e, pole.n, t)
    code = str(scope.codes[centre])
    return {
        "id": f"{group['id']}-{code}",
        "name": f"{group['label']} — {scope.names[centre]}",
        "label": label,
        "group": {"id": group["id"], "label": group["label"]},
        "sectors": list(group["sectors"]),
        "centre": {
            "commune": code,
            "name": str(scope.names[centre]),
            "lon": float(scope.lon[centre]),
            "lat": float(scope.lat[centre]),
        },
        "communes": sorted(str(c) for c in scope.codes[communes]),
        "establishments": int(pole.n),
        "employment": round(pole.e, 1),
        "measure": measure,
        "lq": round(pole.lq, 3),
        "p_value": pole.p,
        "thresholds": {k: (v if np.isfinite(v) else None) for k, v in t.items()},
        "growth": {
            "since": since.isoformat(),
            "start": value_then,
            "end": value_now,
            "rate": rate,
            "national_rate": national_rate,
            "emerging": emerging,
            "note": "establishments open at each date, with their current head-count band",
        },
        "emerging": emerging,
        "synthetic": synthetic,
        "_communes_idx": communes,
        "_group_idx": g,
    }


def _attach_establishments(
    con: duckdb.DuckDBPyConnection,
    poles: list[dict[str, Any]],
    scope: _Scope,
    groups: list[dict[str, Any]],
    *,
    top: int,
    reach_km: float,
) -> None:
    """Add firms, footprint (hull) and knowledge and public actors within reach to each pole."""
    subclasses = np.asarray(
        sorted(c for c, v in naf_codes().items() if v.level == "subclass"), dtype=object
    )
    member = _membership(subclasses, groups).tocsc()
    pole_communes = [
        (i, str(c)) for i, p in enumerate(poles) for c in scope.codes[p["_communes_idx"]]
    ]
    pole_sectors = []
    for i, p in enumerate(poles):
        codes = sorted(groups[p["_group_idx"]]["sectors"], key=len, reverse=True)
        for sub in subclasses[member[:, p["_group_idx"]].indices]:
            code = next(
                (c for c in codes if str(sub).startswith(c) or naf_codes()[str(sub)].section == c),
                str(sub),
            )
            pole_sectors.append((i, str(sub), code))
    con.execute("CREATE OR REPLACE TEMP TABLE p_pole_commune (pole INTEGER, commune VARCHAR)")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE p_pole_sector (pole INTEGER, sector VARCHAR, code VARCHAR)"
    )
    con.executemany("INSERT INTO p_pole_commune VALUES (?, ?)", [list(x) for x in pole_communes])
    con.executemany("INSERT INTO p_pole_sector VALUES (?, ?, ?)", [list(x) for x in pole_sectors])
    stock = stock_sql(con, sector_level="subclass")
    members = (
        f"SELECT pc.pole, s.siret, s.sector, s.commune, s.employment, s.lon, s.lat "
        f"FROM ({stock}) s JOIN p_pole_commune pc ON pc.commune = s.commune "
        f"JOIN p_pole_sector ps ON ps.pole = pc.pole AND ps.sector = s.sector"
    )
    firms = con.execute(
        f"""
        SELECT m.pole, m.siret, coalesce(e.name, u.name) AS name, m.sector, m.commune,
               m.employment, u.name AS legal_unit
        FROM ({members}) m JOIN establishment e USING (siret)
        LEFT JOIN legal_unit u ON u.siren = e.siren
        QUALIFY row_number() OVER (PARTITION BY m.pole ORDER BY m.employment DESC, m.siret) <= {top}
        """
    ).fetchall()
    by_pole: dict[int, list[dict[str, Any]]] = {}
    for r in firms:
        by_pole.setdefault(int(r[0]), []).append(
            {
                "siret": r[1],
                "name": r[2],
                "sector": r[3],
                "label": naf_label(str(r[3])),
                "commune": r[4],
                "employment": float(r[5]),
                "legal_unit": r[6],
            }
        )
    points = con.execute(
        f"SELECT pole, lon, lat FROM ({members}) m WHERE lon IS NOT NULL ORDER BY pole"
    ).fetchnumpy()
    pole_of = np.asarray(points["pole"], dtype=np.int64)
    lon = np.asarray(points["lon"], np.float64)
    lat = np.asarray(points["lat"], np.float64)
    breakdown = con.execute(
        f"""
        SELECT m.pole, ps.code, count(*), sum(m.employment)
        FROM ({members}) m JOIN p_pole_sector ps ON ps.pole = m.pole AND ps.sector = m.sector
        GROUP BY ALL ORDER BY 1, 4 DESC, 2
        """
    ).fetchall()
    for pole, code, n, e in breakdown:
        poles[int(pole)].setdefault("sector_breakdown", []).append(
            {
                "sector": code,
                "label": naf_label(str(code)),
                "establishments": int(n),
                "employment": float(e),
            }
        )
    actors = _actors(con)
    for i, pole in enumerate(poles):
        mine = pole_of == i
        hull_ll, hull_local, lat0 = _hull(
            lon[mine], lat[mine], scope.lon[pole["_communes_idx"]], scope.lat[pole["_communes_idx"]]
        )
        pole["hull"] = shapely.geometry.mapping(hull_ll)
        pole["hull"] = {
            "type": pole["hull"]["type"],
            "coordinates": _lists(pole["hull"]["coordinates"]),
        }
        pole["firm_count"] = int(pole["establishments"])
        pole["firms"] = by_pole.get(i, [])
        for key, kind in (("knowledge_actors", "knowledge"), ("public_actors", "public")):
            found = _within(actors[kind], hull_local, lat0, reach_km)
            pole[f"{key.removesuffix('s')}_count"] = len(found)
            pole[key] = found[:top]
        pole.setdefault("sector_breakdown", [])
        del pole["_communes_idx"], pole["_group_idx"]


def _lists(value: Any) -> Any:
    """GeoJSON coordinates as nested lists (shapely gives tuples)."""
    if isinstance(value, tuple | list):
        return [_lists(v) for v in value]
    return float(value)


def _hull(
    lon: np.ndarray, lat: np.ndarray, c_lon: np.ndarray, c_lat: np.ndarray
) -> tuple[Any, Any, float]:
    """Footprint of a pole in WGS84 and in local km, and the latitude of the local projection."""
    if len(lon) < 3:  # too few located establishments: the communes' points
        lon, lat = np.concatenate([lon, c_lon]), np.concatenate([lat, c_lat])
    lat0 = float(np.mean(lat))
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([lon, lat])))
    local = shapely.convex_hull(shapely.multipoints(_local_xy(lon, lat, lat0)))
    return hull, local, lat0


@dataclass
class _Actors:
    siret: np.ndarray
    name: np.ndarray
    sector: np.ndarray
    commune: np.ndarray
    employment: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    tree: shapely.STRtree


def _actors(con: duckdb.DuckDBPyConnection) -> dict[str, _Actors]:
    found = {}
    for kind, codes in (("knowledge", KNOWLEDGE), ("public", PUBLIC)):
        cond = " OR ".join(f"starts_with(e.naf, '{c}')" for c in codes)
        table = con.execute(
            f"""
            SELECT e.siret, coalesce(e.name, u.name, '') AS name, e.naf, e.commune, e.employment,
                   e.lon, e.lat
            FROM establishment e LEFT JOIN legal_unit u ON u.siren = e.siren
            WHERE e.active AND e.lon IS NOT NULL AND ({cond})
            ORDER BY e.employment DESC, e.siret
            """
        ).fetchnumpy()
        lon = np.asarray(table["lon"], np.float64)
        lat = np.asarray(table["lat"], np.float64)
        found[kind] = _Actors(
            siret=np.asarray(table["siret"], dtype=object),
            name=np.asarray(table["name"], dtype=object),
            sector=np.asarray(table["naf"], dtype=object),
            commune=np.asarray(table["commune"], dtype=object),
            employment=np.asarray(table["employment"], np.float64),
            lon=lon,
            lat=lat,
            tree=shapely.STRtree(shapely.points(lon, lat)),
        )
    return found


def _within(actors: _Actors, hull_local: Any, lat0: float, reach_km: float) -> list[dict[str, Any]]:
    """Actors within ``reach_km`` of the footprint, largest first."""
    minx, miny, maxx, maxy = shapely.bounds(hull_local)
    scale = 111.32 * np.cos(np.radians(lat0))
    box = shapely.box(
        (minx - reach_km) / scale,
        (miny - reach_km) / 110.57,
        (maxx + reach_km) / scale,
        (maxy + reach_km) / 110.57,
    )
    idx = np.sort(actors.tree.query(box))
    if not len(idx):
        return []
    pts = shapely.points(_local_xy(actors.lon[idx], actors.lat[idx], lat0))
    dist = np.asarray(shapely.distance(hull_local, pts))
    keep = idx[dist <= reach_km]
    d = dist[dist <= reach_km]
    return [
        {
            "siret": str(actors.siret[k]),
            "name": str(actors.name[k]) or None,
            "sector": str(actors.sector[k]),
            "label": naf_label(str(actors.sector[k])),
            "commune": str(actors.commune[k]),
            "employment": float(actors.employment[k]),
            "distance_km": round(float(dk), 2),
        }
        for k, dk in zip(keep, d, strict=True)
    ]
