"""Which sectors go together: co-location relatedness, a sector graph, groups of related sectors.

Co-location relatedness follows the cluster-definition work of Delgado, Porter and Stern
(*Defining clusters of related industries*, 2016): two sectors are related when their employment
tends to be over-represented in the same territories. Here the relatedness of sectors *j* and *k*
is the correlation, across territories, of their location quotients, each territory weighted by
its size ``e_i`` (the inverse of the sampling variance of an LQ under a proportional spread, so
that one establishment in a village does not dominate the correlation). With these weights the
weighted mean of every sector's LQ is exactly 1, and

    r_jk = sum_i e_i (LQ_ij - 1)(LQ_ik - 1) / sqrt(sum_i e_i (LQ_ij - 1)² · sum_i e_i (LQ_ik - 1)²)

Groups of related sectors are communities of the relatedness graph (edges where the correlation
is at least ``min_correlation``, weighted by it), found by Louvain modularity optimisation
(NetworkX, seeded). Only traded sectors (:func:`~territoria.analysis.specialisation.
sector_concentration`) enter by default: local services are everywhere and would group by
population alone. Public administration (NAF 84), households (97, 98) and extraterritorial
bodies (99) never enter.

Users can bring their own grouping instead (a CSV of ``group_id,sector[,label]``; sectors as NAF
codes at any level), and their own input-output links (``sector_from,sector_to,weight``) to build
the graph.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import networkx as nx
import numpy as np

from territoria.analysis.specialisation import SectorMatrix, classify_sectors, sector_matrix
from territoria.errors import InvalidAnalysisRequest, SourceError, ValidationError
from territoria.kb.naf import naf_codes, naf_label
from territoria.sources._framework import SourceRecord, record_source, swap

__all__ = [
    "EXCLUDED_DIVISIONS",
    "Relatedness",
    "colocation_relatedness",
    "import_sector_groups",
    "import_sector_links",
    "load_sector_groups",
    "relatedness_graph",
    "sector_groups",
    "sector_schemes",
]

#: Divisions kept out of sector groups: public administration, households, extraterritorial.
EXCLUDED_DIVISIONS = frozenset({"84", "97", "98", "99"})
GROUPS_SOURCE = "sector-groups"
LINKS_SOURCE = "sector-links"


@dataclass
class Relatedness:
    """Relatedness between sectors: a symmetric matrix and how it was computed."""

    sectors: list[str]
    matrix: np.ndarray
    employment: dict[str, float] = field(default_factory=dict)
    establishments: dict[str, int] = field(default_factory=dict)
    method: dict[str, Any] = field(default_factory=dict)

    def pairs(
        self, *, min_correlation: float = 0.0, top: int | None = None
    ) -> list[dict[str, Any]]:
        """The related pairs of sectors, strongest first."""
        i, j = np.triu_indices(len(self.sectors), k=1)
        values = self.matrix[i, j]
        keep = np.flatnonzero(values >= min_correlation)
        keep = keep[np.argsort(-values[keep], kind="stable")]
        if top is not None:
            keep = keep[:top]
        return [
            {
                "sector": self.sectors[int(i[k])],
                "related": self.sectors[int(j[k])],
                "relatedness": round(float(values[k]), 4),
            }
            for k in keep
        ]

    def to_dict(self, *, min_correlation: float = 0.2, top: int = 100) -> dict[str, Any]:
        """JSON-able summary: sectors with labels, strongest pairs, method."""
        return {
            "method": self.method,
            "sectors": [{"sector": s, "label": naf_label(s)} for s in self.sectors],
            "pairs": self.pairs(min_correlation=min_correlation, top=top),
        }


def _eligible(sectors: np.ndarray) -> np.ndarray:
    return np.asarray([str(s)[:2] not in EXCLUDED_DIVISIONS for s in sectors], dtype=bool)


def colocation_relatedness(
    con: duckdb.DuckDBPyConnection,
    *,
    level: str = "commune",
    sector_level: str = "group",
    measure: str = "employment",
    communes: list[str] | None = None,
    traded_only: bool = True,
    min_establishments: int = 20,
    date: dt.date | None = None,
    matrix: SectorMatrix | None = None,
) -> Relatedness:
    """Co-location relatedness of sectors across territories.

    Parameters
    ----------
    con
        Knowledge base with SIRENE establishments.
    level
        Territories across which co-location is measured.
    sector_level
        NAF level of the sectors (``group``: 3-digit, by default).
    measure
        ``"employment"`` or ``"establishments"``.
    communes
        Restrict to the establishments of these communes.
    traded_only
        Keep only the sectors classified as traded.
    min_establishments
        Sectors with fewer establishments are left out (too few to correlate).
    date
        Establishments open at that date (default: the snapshot).
    matrix
        A ready territories × sectors matrix (skips the query).

    Returns
    -------
    Relatedness
        Correlation matrix of the kept sectors.
    """
    m = matrix or sector_matrix(
        con, level=level, sector_level=sector_level, measure=measure, date=date, communes=communes
    )
    values, counts = m.values, m.counts
    keep = _eligible(m.sectors) & (counts.sum(axis=0) >= min_establishments)
    if traded_only:
        concentration = classify_sectors(
            con, sector_level=sector_level, communes=communes, fallback=m
        )
        traded = [concentration.get(str(s), {}).get("traded", False) for s in m.sectors]
        keep &= np.asarray(traded, dtype=bool)  # dtype: an empty list would be float64
    totals = values.sum(axis=1)
    rows = totals > 0
    values, totals = values[rows], totals[rows]
    share = values.sum(axis=0) / totals.sum()
    sectors = np.flatnonzero(keep & (share > 0))
    if len(sectors) < 2:
        msg = (
            f"only {len(sectors)} sector(s) have enough establishments to measure relatedness "
            f"(at least {min_establishments}{', traded' if traded_only else ''}): import more "
            "establishments, lower min_establishments or use traded_only=False"
        )
        raise InvalidAnalysisRequest(msg)
    lq = values[:, sectors] / (totals[:, None] * share[sectors])
    # Size-weighted deviations from the weighted mean LQ, which is 1 by construction.
    x = (lq - 1.0) * np.sqrt(totals)[:, None]
    norm = np.sqrt((x**2).sum(axis=0))
    x = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    corr = np.clip(x.T @ x, -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)
    codes = [str(c) for c in m.sectors[sectors]]
    return Relatedness(
        sectors=codes,
        matrix=corr,
        employment={
            c: float(v) for c, v in zip(codes, m.values[:, sectors].sum(axis=0), strict=True)
        },
        establishments={
            c: int(v) for c, v in zip(codes, m.counts[:, sectors].sum(axis=0), strict=True)
        },
        method={
            "kind": "co-location (size-weighted correlation of location quotients)",
            "level": level,
            "sector_level": sector_level,
            "measure": measure,
            "territories": int(rows.sum()),
            "traded_only": traded_only,
            "min_establishments": min_establishments,
        },
    )


def relatedness_graph(
    relatedness: Relatedness, *, min_correlation: float = 0.2, max_neighbours: int = 10
) -> nx.Graph:
    """Graph of sectors linked when their relatedness is at least ``min_correlation``.

    Each sector keeps at most its ``max_neighbours`` strongest links (an edge stays when either
    end keeps it); edge attribute ``weight`` is the relatedness.
    """
    graph = nx.Graph()
    for s in relatedness.sectors:
        graph.add_node(s, label=naf_label(s), employment=relatedness.employment.get(s, 0.0))
    corr = relatedness.matrix.copy()
    np.fill_diagonal(corr, -np.inf)
    n = len(relatedness.sectors)
    order = np.argsort(-corr, axis=1)[:, :max_neighbours]
    rows = np.repeat(np.arange(n), order.shape[1])
    cols = order.ravel()
    strong = corr[rows, cols] >= min_correlation
    for a, b in zip(rows[strong], cols[strong], strict=True):
        graph.add_edge(
            relatedness.sectors[int(a)],
            relatedness.sectors[int(b)],
            weight=float(relatedness.matrix[a, b]),
        )
    return graph


def _group_label(sectors: list[str], weights: dict[str, float]) -> str:
    lead = max(sectors, key=lambda s: (weights.get(s, 0.0), s))
    label = naf_label(lead) or lead
    return label if len(sectors) == 1 else f"{label} (+{len(sectors) - 1} activités liées)"


def sector_groups(
    con: duckdb.DuckDBPyConnection,
    *,
    relatedness: Relatedness | None = None,
    scheme: str | None = None,
    links: str | None = None,
    min_correlation: float = 0.2,
    resolution: float = 1.0,
    seed: int = 0,
    **options: Any,
) -> list[dict[str, Any]]:
    """Groups of related sectors: Louvain communities, or a user scheme stored in the base.

    Parameters
    ----------
    con
        Knowledge base.
    relatedness
        A relatedness already computed (otherwise :func:`colocation_relatedness` with
        ``options``).
    scheme
        Name of a user grouping imported with :func:`import_sector_groups`: returned as is.
    links
        Name of imported input-output links: the graph is built from them instead of
        co-location.
    min_correlation
        Weakest relatedness that links two sectors in the graph.
    resolution
        Louvain resolution (above 1: smaller groups).
    seed
        Louvain seed (the same seed gives the same groups).
    **options
        Passed to :func:`colocation_relatedness` (``level``, ``sector_level``, ``communes`` ...).

    Returns
    -------
    list of dict
        ``id``, ``label``, ``sectors`` (NAF codes), ``labels``, ``employment``,
        ``establishments``, ``cohesion`` (mean relatedness inside the group), ``method``.
    """
    if scheme is not None:
        return load_sector_groups(con, scheme)
    if links is not None:
        graph = _links_graph(con, links)
        weights: dict[str, float] = {}
        method = f"louvain on input-output links {links!r}"
        matrix: np.ndarray | None = None
        index: dict[str, int] = {}
    else:
        rel = relatedness or colocation_relatedness(con, **options)
        graph = relatedness_graph(rel, min_correlation=min_correlation)
        weights = rel.employment
        method = "louvain on co-location relatedness"
        matrix, index = rel.matrix, {s: i for i, s in enumerate(rel.sectors)}
    communities = nx.community.louvain_communities(
        graph, weight="weight", resolution=resolution, seed=seed
    )
    found = sorted(
        (sorted(str(s) for s in c) for c in communities),
        key=lambda c: (-len(c), c[0]),
    )
    groups = []
    for k, members in enumerate(found, start=1):
        cohesion = None
        if matrix is not None and len(members) > 1:
            idx = [index[s] for s in members]
            block = matrix[np.ix_(idx, idx)]
            cohesion = float((block.sum() - len(idx)) / (len(idx) * (len(idx) - 1)))
        groups.append(
            {
                "id": f"g{k:02d}",
                "label": _group_label(members, weights),
                "sectors": members,
                "labels": {s: naf_label(s) for s in members},
                "employment": float(sum(weights.get(s, 0.0) for s in members)),
                "cohesion": cohesion,
                "method": method,
            }
        )
    return groups


# --------------------------------------------------------------------------- user schemes


def _read_csv(path: Path, required: tuple[str, ...], what: str) -> list[dict[str, str]]:
    if not path.exists():
        msg = f"{what} {str(path)!r} does not exist: check the path"
        raise SourceError(msg)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {what} {str(path)!r} ({exc}): save it as UTF-8 CSV"
        raise SourceError(msg) from exc
    sample = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    fields = [f.strip() for f in (reader.fieldnames or [])]
    missing = [c for c in required if c not in fields]
    if missing:
        msg = (
            f"{what} {str(path)!r} lacks the column(s) {missing!r}: expected "
            f"{', '.join(required)} in the header"
        )
        raise SourceError(msg)
    rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    if not rows:
        msg = f"{what} {str(path)!r} has no rows"
        raise SourceError(msg)
    return rows


def _valid_code(code: str) -> bool:
    return code in naf_codes()


def _write_scheme(
    con: duckdb.DuckDBPyConnection,
    *,
    table: str,
    source_name: str,
    scheme: str,
    path: Path,
    rows: list[tuple[Any, ...]],
) -> None:
    now = datetime.now(tz=UTC).replace(tzinfo=None)
    provenance = SourceRecord(
        name=source_name,
        dataset=scheme,
        publisher="user",
        licence="user-supplied",
        retrieved_at=now,
        address=str(path.resolve()),
        note=f"imported from {path.name}",
    )
    with swap(con, names=[source_name], dataset=scheme, tables=[table]):
        sid = record_source(con, provenance, imported_at=now)
        placeholders = ", ".join("?" for _ in rows[0])
        con.executemany(
            f"INSERT INTO {table} VALUES ({placeholders}, {sid})",
            [list(r) for r in rows],
        )


def import_sector_groups(
    con: duckdb.DuckDBPyConnection, path: Path, *, scheme: str
) -> dict[str, Any]:
    """Import a user definition of sector groups (replacing a scheme of the same name).

    The CSV has columns ``group_id`` and ``sector`` (a NAF rev. 2 code at any level: ``C``,
    ``62``, ``62.0``, ``62.01``, ``62.01Z``), and optionally ``label``. Unknown NAF codes stop
    the import with the list of bad lines; nothing is written.
    """
    rows = _read_csv(path, ("group_id", "sector"), "sector-group file")
    bad = [
        f"line {n}: unknown NAF rev. 2 code {r['sector']!r}"
        for n, r in enumerate(rows, start=2)
        if not _valid_code(r["sector"]) or not r["group_id"]
    ]
    if bad:
        msg = (
            f"sector-group file {str(path)!r} has {len(bad)} bad line(s): use NAF rev. 2 codes "
            "as INSEE writes them ('62', '62.0', '62.01Z') and a group_id on every line"
        )
        raise ValidationError(msg, problems=bad)
    values = [(scheme, r["group_id"], r.get("label") or None, r["sector"]) for r in rows]
    _write_scheme(
        con,
        table="sector_group",
        source_name=GROUPS_SOURCE,
        scheme=scheme,
        path=path,
        rows=values,
    )
    return {"scheme": scheme, "groups": len({v[1] for v in values}), "sectors": len(values)}


def import_sector_links(
    con: duckdb.DuckDBPyConnection, path: Path, *, scheme: str
) -> dict[str, Any]:
    """Import user input-output links between sectors: ``sector_from,sector_to,weight``."""
    rows = _read_csv(path, ("sector_from", "sector_to", "weight"), "sector-link file")
    bad, values = [], []
    for n, r in enumerate(rows, start=2):
        try:
            weight = float(r["weight"])
        except ValueError:
            bad.append(f"line {n}: weight {r['weight']!r} is not a number")
            continue
        for key in ("sector_from", "sector_to"):
            if not _valid_code(r[key]):
                bad.append(f"line {n}: unknown NAF rev. 2 code {r[key]!r}")
        if weight < 0:
            bad.append(f"line {n}: negative weight {weight}")
        values.append((scheme, r["sector_from"], r["sector_to"], weight))
    if bad:
        msg = f"sector-link file {str(path)!r} has {len(bad)} bad line(s); nothing was imported"
        raise ValidationError(msg, problems=bad)
    _write_scheme(
        con,
        table="sector_link",
        source_name=LINKS_SOURCE,
        scheme=scheme,
        path=path,
        rows=values,
    )
    return {"scheme": scheme, "links": len(values)}


def sector_schemes(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """User sector groupings stored in the knowledge base."""
    rows = con.execute(
        "SELECT scheme, count(DISTINCT group_id), count(*) FROM sector_group GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return [{"scheme": r[0], "groups": int(r[1]), "sectors": int(r[2])} for r in rows]


def load_sector_groups(con: duckdb.DuckDBPyConnection, scheme: str) -> list[dict[str, Any]]:
    """Sector groups of a user scheme, shaped like :func:`sector_groups`' result."""
    rows = con.execute(
        "SELECT group_id, any_value(label), list(sector ORDER BY sector) FROM sector_group "
        "WHERE scheme = ? GROUP BY group_id ORDER BY group_id",
        [scheme],
    ).fetchall()
    if not rows:
        known = ", ".join(s["scheme"] for s in sector_schemes(con)) or "none yet"
        msg = (
            f"no sector-group scheme {scheme!r} in the knowledge base (known: {known}): "
            "import one with 'territoria economy groups --import FILE --scheme NAME'"
        )
        raise InvalidAnalysisRequest(msg)
    return [
        {
            "id": str(r[0]),
            "label": r[1] or _group_label(list(r[2]), {}),
            "sectors": list(r[2]),
            "labels": {s: naf_label(s) for s in r[2]},
            "employment": None,
            "cohesion": None,
            "method": f"user scheme {scheme!r}",
        }
        for r in rows
    ]


def _links_graph(con: duckdb.DuckDBPyConnection, scheme: str) -> nx.Graph:
    rows = con.execute(
        "SELECT sector_from, sector_to, sum(weight) FROM sector_link WHERE scheme = ? GROUP BY ALL",
        [scheme],
    ).fetchall()
    if not rows:
        msg = (
            f"no sector-link scheme {scheme!r} in the knowledge base: import one with "
            "'territoria economy groups --import-links FILE --scheme NAME'"
        )
        raise InvalidAnalysisRequest(msg)
    graph = nx.Graph()
    for a, b, w in rows:
        if a == b:
            graph.add_node(a)
            continue
        previous = graph.get_edge_data(a, b, {}).get("weight", 0.0)
        graph.add_edge(a, b, weight=previous + float(w))
    return graph
