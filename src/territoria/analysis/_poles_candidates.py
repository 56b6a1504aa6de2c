"""Internals of :mod:`territoria.analysis.poles`: candidate poles (hot spots on the commune
adjacency graph, or HDBSCAN clusters) and their evaluation as a whole."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
from scipy.sparse.csgraph import connected_components
from scipy.stats import poisson

from territoria.analysis._poles_counts import (
    Counts,
    Scope,
    group_membership,
    over_represented,
    quotient,
    subclass_codes,
)
from territoria.analysis._specialisation_sql import stock_sql


def candidates_hotspot(
    scope: Scope,
    counts: Counts,
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
    own_ok, own_lq, _ = over_represented(
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
    near_ok, _, _ = over_represented(
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


def candidates_hdbscan(
    con: duckdb.DuckDBPyConnection,
    scope: Scope,
    groups: list[dict[str, Any]],
    counts: Counts,
    *,
    measure: str,
    min_establishments: int,
    seed: int,
) -> list[tuple[int, np.ndarray]]:
    from sklearn.cluster import HDBSCAN

    subclasses = subclass_codes(con)
    member = group_membership(subclasses, groups).tocsc()
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
    own_lq = quotient(value, v_total[:, None], v_share[None, :])
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


def local_xy(lon: np.ndarray, lat: np.ndarray, lat0: float) -> np.ndarray:
    return np.column_stack([lon * 111.32 * np.cos(np.radians(lat0)), lat * 110.57])


@dataclass
class Pole:
    group: int
    communes: np.ndarray
    n: float
    e: float
    lq: float
    p: float


def evaluate_candidates(
    counts: Counts,
    candidates: list[tuple[int, np.ndarray]],
    *,
    measure: str,
    min_lq: float,
    alpha: float,
    min_establishments: int,
) -> list[Pole]:
    found: list[Pole] = []
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
        found.append(Pole(g, communes, n, e, float(lq), p))
    return found
