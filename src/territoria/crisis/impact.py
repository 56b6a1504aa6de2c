"""What an incident touches: territories and population, establishments and jobs, services,
the officials to call and, on a road network, the communes isolated (kept apart from those
inside the zone), detours and services out of reach.

Population: the KB holds IRIS codes but no IRIS outlines, so the population inside the zone is
each commune's population times the share of its area inside the zone
(``population_method = 'commune_area_share'``; it assumes the population spread evenly over
the commune). Jobs: the mid-points of INSEE's *tranche d'effectifs* bands
(:data:`territoria.sources.sirene.HEADCOUNT_BANDS`), with the sums of the bands' bounds as
low and high (the open band 10 000+ counts 10 000 in both). A commune is *inside the zone*
when its town hall point (the territory's point) lies in it; services inside are the town halls
of those communes and their lycées.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb
import numpy as np
import shapely

from territoria.crisis import _impact_sql as q
from territoria.crisis._model import (
    AffectedTerritory,
    Establishment,
    Impact,
    Incident,
    Official,
    Service,
    Shock,
    SourceRef,
)
from territoria.crisis.incidents import closed_edges, get_incident
from territoria.errors import InvalidIncident
from territoria.kb.bodies import bodies_for_communes
from territoria.sources.sirene import HEADCOUNT_BANDS

__all__ = ["POPULATION_METHOD", "band_arrays", "impact", "shock", "source_refs"]

POPULATION_METHOD = "commune_area_share"
_LEVELS = ("commune", "epci", "departement", "region")
_TOP = 10


def band_arrays() -> dict[str, list[Any]]:
    """SIRENE's head-count bands as the parallel lists the SQL joins on."""
    bands = list(HEADCOUNT_BANDS)
    return {
        "bands": bands,
        "lows": [float(HEADCOUNT_BANDS[b][0]) for b in bands],
        "highs": [float(HEADCOUNT_BANDS[b][1] or HEADCOUNT_BANDS[b][0]) for b in bands],
        "mids": [float(HEADCOUNT_BANDS[b][2]) for b in bands],
    }


def source_refs(
    con: duckdb.DuckDBPyConnection, figure: str, ids: Iterable[int], *, date: str | None = None
) -> list[SourceRef]:
    """The sources ``ids`` as references for ``figure`` (date: the figures' reference date)."""
    wanted = sorted({int(i) for i in ids if i is not None})
    if not wanted:
        return []
    rows = con.execute(
        "SELECT name, dataset, coalesce(reference_date, strftime(retrieved_at, '%Y-%m-%d')), "
        "synthetic FROM source WHERE id IN (SELECT unnest(?::INTEGER[])) ORDER BY id",
        [wanted],
    ).fetchall()
    return [SourceRef(figure, str(n), str(d), date or s, bool(y)) for n, d, s, y in rows]


def _prepared(zone: str) -> shapely.Geometry:
    geom = shapely.from_wkt(zone)
    shapely.prepare(geom)
    return geom


def _communes(con: duckdb.DuckDBPyConnection, zone: str) -> list[tuple[Any, ...]]:
    """(code, name, population, year, source id, share of area inside, town hall inside) of
    the communes the zone touches: bbox prefilter in DuckDB, then prepared GEOS predicates on
    the whole array (a commune the zone covers is not intersected)."""
    rows = con.execute(q.COMMUNES, {"zone": zone}).fetchall()
    if not rows:
        return []
    area = _prepared(zone)
    geoms = shapely.from_wkb([bytes(r[5]) for r in rows])
    touched = shapely.intersects(area, geoms)
    share = np.zeros(len(rows))
    if shapely.get_dimensions(area) == 2:
        covered = touched & shapely.covers(area, geoms)
        share[covered] = 1.0
        partial = np.flatnonzero(touched & ~covered)
        if len(partial):
            inter = shapely.area(shapely.intersection(geoms[partial], area))
            share[partial] = np.clip(inter / np.maximum(shapely.area(geoms[partial]), 1e-15), 0, 1)
    x = np.array([np.nan if r[6] is None else r[6] for r in rows], dtype=float)
    y = np.array([np.nan if r[7] is None else r[7] for r in rows], dtype=float)
    hall = shapely.intersects_xy(area, x, y)
    return [
        (str(r[0]), str(r[1]), int(r[2]), r[3], r[4], round(float(share[i]), 6), bool(hall[i]))
        for i, r in enumerate(rows)
        if touched[i]
    ]


def _territories(
    con: duckdb.DuckDBPyConnection, communes: Sequence[tuple[Any, ...]]
) -> list[AffectedTerritory]:
    """The communes touched and their EPCI, département and région, population inside."""
    out = [
        AffectedTerritory("commune", c, n, round(p * s), round(s, 4), int(p))
        for c, n, p, _, _, s, _ in communes
    ]
    affected = {t.code: t.population_affected for t in out}
    parents: dict[tuple[str, str], list[Any]] = {}
    for code, level, pcode, name, population in con.execute(
        q.PARENTS, {"codes": list(affected)}
    ).fetchall():
        entry = parents.setdefault((level, pcode), [name, population, 0])
        entry[2] += affected[code]
    for (level, code), (name, population, inside) in sorted(
        parents.items(), key=lambda kv: (_LEVELS.index(kv[0][0]), kv[0][1])
    ):
        share = inside / population if population else 0.0
        out.append(AffectedTerritory(level, code, name, int(inside), round(share, 4),
                                     None if population is None else int(population)))  # fmt: skip
    return out


def _establishments(
    con: duckdb.DuckDBPyConnection, zone: str
) -> tuple[int, tuple[float, float, float], list[Establishment], list[SourceRef]]:
    """Count, jobs (mid, low, high), the largest and the sources of the establishments inside:
    bbox prefilter in DuckDB, one prepared point-in-zone test over the array."""
    got = con.execute(q.ESTABLISHMENTS, {"zone": zone, **band_arrays()}).fetchnumpy()
    if not len(got["lon"]):
        return 0, (0.0, 0.0, 0.0), [], []
    inside = shapely.intersects_xy(_prepared(zone), got["lon"], got["lat"])
    mid, low, high = (np.asarray(got[k], dtype=float)[inside] for k in ("mid", "low", "high"))
    rows = np.asarray(got["row"])[inside]
    order = [i for i in np.argsort(-mid, kind="stable")[:_TOP] if mid[i] > 0]
    found = {int(r[0]): r for r in con.execute(q.TOP, {"rows": rows[order].tolist()}).fetchall()}
    top = [
        Establishment(str(d[1]), d[2], d[3], d[4], d[5], float(mid[i]))
        for i in order
        if (d := found.get(int(rows[i]))) is not None
    ]
    sources = np.unique(np.asarray(got["source_id"])[inside]).tolist()
    refs = source_refs(con, "establishments", sources)
    return int(inside.sum()), (float(mid.sum()), float(low.sum()), float(high.sum())), top, refs


def _services(con: duckdb.DuckDBPyConnection, inside: list[str]) -> list[Service]:
    rows = con.execute(q.SERVICES, {"codes": inside, "inside": inside}).fetchall()
    return [Service(str(k), str(n), str(c)) for k, n, c in rows]


def _bodies(
    con: duckdb.DuckDBPyConnection, territories: Sequence[AffectedTerritory]
) -> dict[str, tuple[str, str, str]]:
    """organisation id -> (level, code, territory name) of the bodies of the affected places."""
    communes = [t.code for t in territories if t.level == "commune" and t.share > 0]
    names = {(t.level, t.code): t.name for t in territories}
    found = bodies_for_communes(con, _LEVELS, communes)
    levels = dict(con.execute(
        "SELECT m.code || '|' || m.parent_level, m.parent_code FROM membership m "
        "WHERE m.level = 'commune' AND m.code IN (SELECT unnest(?::VARCHAR[]))", [communes],
    ).fetchall())  # fmt: skip
    out: dict[str, tuple[str, str, str]] = {}
    for (commune, competence), orgs in sorted(found.items()):
        code = commune if competence == "commune" else levels.get(f"{commune}|{competence}", "")
        for org in orgs:
            out.setdefault(org, (competence, code, names.get((competence, code), code)))
    return out


def _contact(
    address: Any, email: Any, phone: Any, website: Any, where: Any
) -> dict[str, Any] | None:
    if not any((address, email, phone, website)):
        return None
    return {"address": address, "email": email, "phone": phone, "website": website, "of": where}


def _officials(
    con: duckdb.DuckDBPyConnection, territories: Sequence[AffectedTerritory]
) -> tuple[list[Official], list[SourceRef], tuple[str, ...]]:
    bodies = _bodies(con, territories)
    communes = [t.code for t in territories if t.level == "commune" and t.share > 0]
    circos = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT parent_code FROM membership WHERE level = 'commune' AND "
            "parent_level = 'circonscription' AND code IN (SELECT unnest(?::VARCHAR[]))",
            [communes],
        ).fetchall()
    ]
    orgs = list(bodies)
    params = {"orgs": orgs, "levels": [bodies[o][0] for o in orgs],
              "codes": [bodies[o][1] for o in orgs], "names": [bodies[o][2] for o in orgs],
              "circos": circos}  # fmt: skip
    execs = con.execute(q.EXECUTIVES, params).to_arrow_table()
    rows = _officials_rows(con, execs)
    seen: set[tuple[str, str | None]] = set()
    out, ids = [], set()
    for pid, name, function, territory, level, code, org, body, sid, *contact in rows:
        ids.add(sid)
        if (pid, org) in seen:
            continue
        seen.add((pid, org))
        out.append(Official(str(pid), str(name), str(function), str(territory),
                            _contact(*contact), str(level), str(code), org, str(body)))  # fmt: skip
    notes = _missing_executives(con, bodies, out)
    return out, source_refs(con, "officials", ids), notes


def _officials_rows(con: duckdb.DuckDBPyConnection, execs: Any) -> list[tuple[Any, ...]]:
    con.register("_incident_execs", execs)
    try:
        sql = q.OFFICIALS.replace("FROM execs", "FROM _incident_execs")
        return con.execute(sql).fetchall()
    finally:
        con.unregister("_incident_execs")


def _missing_executives(
    con: duckdb.DuckDBPyConnection, bodies: Iterable[str], officials: Sequence[Official]
) -> tuple[str, ...]:
    """Notes naming the bodies of affected territories whose executive the KB does not hold."""
    found = {o.organisation_id for o in officials}
    missing = sorted(set(bodies) - found)
    rows = con.execute(
        "SELECT coalesce(name, id) FROM organisation WHERE id IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY 1",
        [missing],
    ).fetchall()
    return tuple(f"exécutif inconnu dans la base : {r[0]}" for r in rows)


def _network(
    con: duckdb.DuckDBPyConnection, incident: Incident, network_id: int | str, inside: list[str]
) -> tuple[dict[str, Any], list[SourceRef]]:
    from territoria.networks import isolation, network_info

    info = network_info(con, network_id)
    if info.edges == 0:
        msg = f"network {info.name!r} has no edges: import a road network first ('import osm')"
        raise InvalidIncident(msg)
    closed = closed_edges(con, incident.id, info.id)
    res = isolation(con, info.id, closed, flooded_communes=inside)

    def rows(values: Iterable[tuple[str, str, int]]) -> tuple[dict[str, Any], ...]:
        return tuple({"code": c, "name": n, "population": p} for c, n, p in values)

    part = {
        "network_id": info.id, "closed_edges": tuple(res.closed_edges),
        "isolated_communes": rows(res.isolated), "inside_zone_communes": rows(res.inside_zone),
        "detours": tuple({"code": c, "name": n, "before_s": b, "after_s": a}
                         for c, n, b, a in res.detours),
        "services_out_of_reach": tuple(Service(k, n, c) for k, n, c in res.unreachable_services),
    }  # fmt: skip
    ref = SourceRef("network", info.name, info.source, info.source_date, info.synthetic)
    return part, [ref]


def _zone_wkt(con: duckdb.DuckDBPyConnection, incident_id: int) -> str:
    row = con.execute("SELECT ST_AsText(geom) FROM incident WHERE id = ?", [incident_id])
    found = row.fetchone()
    assert found is not None
    return str(found[0])


def impact(
    con: duckdb.DuckDBPyConnection, incident_id: int, *, network_id: int | str | None = None
) -> Impact:
    """Compute the impact of incident ``incident_id`` (on ``network_id``, default the
    incident's own network, for isolation and detours).

    Raises
    ------
    UnknownIncident
        No such incident (or it was deleted).
    UnknownNetwork, InvalidIncident
        The network does not exist, or has no edges.
    """
    started = time.perf_counter()
    incident = get_incident(con, incident_id)
    zone = _zone_wkt(con, incident.id)
    communes = _communes(con, zone)
    territories = _territories(con, communes)
    count, (mid, low, high), top, est_refs = _establishments(con, zone)
    inside = [str(c[0]) for c in communes if c[6]]
    officials, off_refs, notes = _officials(con, territories)
    net = network_id if network_id is not None else incident.network_id
    part, net_refs = _network(con, incident, net, inside) if net is not None else ({}, [])
    year = max((c[3] for c in communes if c[3] is not None), default=None)
    pop_refs = source_refs(con, "population", (c[4] for c in communes),
                           date=None if year is None else str(year))  # fmt: skip
    inc_ref = SourceRef("incident", incident.source, "incident", incident.start.date().isoformat())
    population = sum(t.population_affected for t in territories if t.level == "commune")
    return Impact(
        incident=incident, territories=tuple(territories), population_affected=population,
        population_method=POPULATION_METHOD, establishments=count,
        establishments_top=tuple(top), jobs_estimated=round(mid, 1), jobs_low=low, jobs_high=high,
        services=tuple(_services(con, inside)), officials=tuple(officials),
        sources=tuple([inc_ref, *pop_refs, *est_refs, *off_refs, *net_refs]),
        notes=notes,
        computed_in_ms=round((time.perf_counter() - started) * 1000, 1), **part,
    )  # fmt: skip


def shock(con: duckdb.DuckDBPyConnection, siret: str) -> Shock:
    """The closure of an establishment: jobs, pole, territories most exposed (see
    :func:`territoria.crisis._shock.shock`)."""
    from territoria.crisis._shock import shock as compute

    return compute(con, siret)
