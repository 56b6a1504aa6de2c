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

Each pole is then rated with the **star rules of the European Cluster Observatory** (ECO;
Sölvell, Ketels and Lindqvist, *The European Cluster Observatory*, Europe INNOVA paper no. 12,
2009), one star per criterion, 0 to 3 stars, each with its reason in French (``star_reasons``):

- **size** (*taille*): the pole's share of the national value of its sectors (employment or
  establishments, per ``measure``) is in the top decile of the comparable territories;
- **specialisation** (*spécialisation*): its location quotient is at least 2 (ECO's threshold;
  every pole found with the default ``min_lq=2`` has this star by construction);
- **focus** (*concentration*): its sectors' share of the pole's own total is in the top decile
  of the comparable territories.

The comparable territories are the EPCIs of the knowledge base where the group's activity is
present (ECO compares NUTS-2 regions of Europe; a pole is smaller than a région, and EPCIs are
the French territories closest to it in size). The former labels (strong, significant, minor)
compared a quotient that is always at least 2 with EPCI percentiles, so every pole came out
"strong"; they are gone. Its growth over ``growth_years`` is compared with the growth of its
sectors nationally (shift-share: ``regional_shift`` is what it gained beyond growing at its
sectors' national rate): a pole growing faster is **emerging**. Past values count the
establishments open then with their current head-count band (SIRENE keeps no past head-counts).
The knowledge actors (research,
NAF 72; higher education, NAF 85.4) and public actors (public administration, NAF 84) within
``reach_km`` of its footprint are listed, with its largest firms and its footprint (convex hull of
its establishments, as GeoJSON).

A pole's id is ``<group id>-<commune code of its centre>``: :func:`find_pole` looks it up again
(in the région of its centre, then its département, then France) and :func:`poles_geojson` gives
the footprints to a web map. :mod:`territoria.influence.poles` turns a pole's firms and knowledge
actors into candidates and co-signers of an influence plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import duckdb

from territoria.analysis._poles_candidates import (
    candidates_hdbscan,
    candidates_hotspot,
    evaluate_candidates,
)
from territoria.analysis._poles_counts import build_scope, cluster_thresholds, group_counts
from territoria.analysis._poles_describe import (
    KNOWLEDGE,
    PUBLIC,
    attach_establishments,
    describe_pole,
    years_before,
)
from territoria.analysis._specialisation_sql import economy_sources, snapshot_date
from territoria.analysis.relatedness import sector_groups
from territoria.errors import InvalidAnalysisRequest, NoEstablishments, UnknownPole

__all__ = [
    "KNOWLEDGE",
    "LABELS",
    "PUBLIC",
    "detect_poles",
    "find_pole",
    "pole_feature",
    "pole_scopes",
    "poles_geojson",
]

METHODS = ("hotspot", "hdbscan")
#: Labels of a pole, most stars first (European Cluster Observatory star rating).
LABELS = ("3-star", "2-star", "1-star", "0-star")


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
        One JSON-able dict per pole, most stars first: ``id``, ``name``, ``label``
        (``"3-star"`` ...), ``stars``, ``star_reasons``, ``size_share``, ``focus_share``, ``group``,
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
        scope = build_scope(con, region, departement)
        counts = group_counts(con, scope, groups, date=None)
        if method == "hotspot":
            candidates = candidates_hotspot(
                scope,
                counts,
                measure=measure,
                min_lq=min_lq,
                alpha=alpha,
                min_establishments=min_establishments,
            )
        else:
            candidates = candidates_hdbscan(
                con,
                scope,
                groups,
                counts,
                measure=measure,
                min_establishments=min_establishments,
                seed=seed,
            )
        poles = evaluate_candidates(
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
        since = years_before(snap or dt.date.today(), growth_years)
        past = group_counts(con, scope, groups, date=since)
        thresholds = cluster_thresholds(con, groups, measure=measure)
        provenance = economy_sources(con)
        results = [
            describe_pole(
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
        attach_establishments(con, results, scope, groups, top=top, reach_km=reach_km)
    finally:
        for table in ("p_scope", "p_sub", "p_pole_commune", "p_pole_sector"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    results.sort(key=lambda p: (-p["stars"], -p["employment"], p["id"]))
    return results


Detector = Callable[..., list[dict[str, Any]]]


def pole_scopes(con: duckdb.DuckDBPyConnection, pole_id: str) -> list[dict[str, str]]:
    """Where a pole with this id was detected, most likely first.

    A pole's id is ``<group id>-<commune code of its centre>``. Poles are detected within a
    région (the map and the pole pages), a département or all of France; the same
    concentration cut by a different scope may have another centre, so its id is looked up
    in the région of its centre, then its département, then France.

    Raises
    ------
    UnknownPole
        When the id does not end with the code of a commune of the knowledge base.
    """
    group, _, commune = pole_id.rpartition("-")
    rows = (
        con.execute(
            "SELECT parent_level, parent_code FROM membership WHERE level = 'commune' "
            "AND code = ? AND parent_level IN ('region', 'departement')",
            [commune],
        ).fetchall()
        if group
        else []
    )
    if not rows:
        msg = (
            f"unknown pole {pole_id!r}: a pole id is <group>-<commune code>, as listed by "
            "'territoria poles detect' or GET /api/v1/poles"
        )
        raise UnknownPole(msg)
    parents = {str(level): str(code) for level, code in rows}
    scopes: list[dict[str, str]] = [
        {key: parents[key]} for key in ("region", "departement") if key in parents
    ]
    return [*scopes, {}]


def find_pole(
    con: duckdb.DuckDBPyConnection,
    pole_id: str,
    *,
    detect: Detector | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Return the detected pole with id ``pole_id``.

    Parameters
    ----------
    con
        Knowledge base with SIRENE establishments.
    pole_id
        A pole id as :func:`detect_poles` gives it (``g03-35028``).
    detect
        The detection to search (default :func:`detect_poles`); called with ``region=`` or
        ``departement=`` (or neither, for France) and ``options``. The web application passes
        a cached one.
    **options
        Detection options (``method``, ``scheme``, ``top`` ...).

    Raises
    ------
    UnknownPole
        When no scope of :func:`pole_scopes` holds a pole with this id.
    NoEstablishments
        When SIRENE was not imported.
    """
    run: Detector = detect or detect_poles
    for scope in pole_scopes(con, pole_id):
        for pole in run(con, **scope, **options):
            if pole["id"] == pole_id:
                return pole
    msg = (
        f"unknown pole {pole_id!r}: no pole with this id was detected in its région, "
        "département or in France; list them with 'territoria poles detect'"
    )
    raise UnknownPole(msg)


def _category(pole: dict[str, Any]) -> str:
    """The map category: the label, and ``emerging`` for a growing pole with one star or none."""
    if pole["stars"] <= 1 and pole.get("emerging"):
        return "emerging"
    return str(pole["label"])


def pole_feature(pole: dict[str, Any]) -> dict[str, Any]:
    """A pole as a GeoJSON Feature: its footprint (hull) with what a map needs to show it."""
    growth = pole.get("growth") or {}
    return {
        "type": "Feature",
        "id": pole["id"],
        "geometry": pole["hull"],
        "properties": {
            "id": pole["id"],
            "name": pole["name"],
            "label": pole["label"],
            "stars": pole["stars"],
            "emerging": bool(pole.get("emerging")),
            "category": _category(pole),
            "group": pole["group"]["label"],
            "sectors": pole["sectors"],
            "centre": pole["centre"]["name"],
            "communes": len(pole["communes"]),
            "establishments": pole["establishments"],
            "employment": pole["employment"],
            "lq": pole["lq"],
            "growth_rate": growth.get("rate"),
            "synthetic": bool(pole.get("synthetic")),
        },
    }


def poles_geojson(poles: list[dict[str, Any]]) -> dict[str, Any]:
    """The footprints of poles as a GeoJSON FeatureCollection (most stars drawn last)."""
    ordered = sorted(poles, key=lambda p: p["stars"])
    return {
        "type": "FeatureCollection",
        "features": [pole_feature(p) for p in ordered],
        "synthetic": any(p.get("synthetic") for p in poles),
    }
