"""Read cached criticality rows back as a :class:`CriticalityResult`."""

from __future__ import annotations

import duckdb

from territoria.networks.criticality import CommuneRedundancy, CriticalityResult, CriticalLink
from territoria.networks.graph import RoadGraph

__all__ = ["read_result"]

_LINKS = """
    WITH l AS (
        SELECT c.link, min(c.edge) AS edge, count(*) AS edges, mode(e.name) AS name,
               mode(e.highway) AS highway, bool_or(e.bridge) AS osm_bridge,
               any_value(c.is_bridge) AS is_bridge, any_value(c.usage) AS usage,
               any_value(c.detour_s) AS detour_s, any_value(c.delta_s) AS delta_s,
               bool_and(c.exact) AS exact, any_value(c.isolated_codes) AS codes,
               any_value(c.isolated_population) AS population,
               max(c.computed_at) AS computed_at
        FROM network_criticality c
        JOIN network_edge e ON e.network_id = c.network_id AND e.edge = c.edge
        WHERE c.network_id = $id
          AND ($communes::VARCHAR[] IS NULL OR c.link IN (
              SELECT c2.link FROM network_criticality c2
              JOIN network_edge e2 ON e2.network_id = c2.network_id AND e2.edge = c2.edge
              JOIN network_node n ON n.network_id = e2.network_id AND n.node IN (e2.u, e2.v)
              WHERE c2.network_id = $id AND list_contains($communes, n.commune_code)))
        GROUP BY c.link
    )
    SELECT * FROM l
    ORDER BY population DESC, coalesce(delta_s, 0) DESC, usage DESC, edge
    LIMIT $top
"""

_REDUNDANCY = """
    WITH cut AS (
        SELECT code, count(DISTINCT link) AS links
        FROM (SELECT link, unnest(isolated_codes) AS code FROM network_criticality
              WHERE network_id = $id AND isolated_codes IS NOT NULL)
        GROUP BY code
    )
    SELECT t.code, t.name, coalesce(t.population, 0), coalesce(cut.links, 0)
    FROM territory t LEFT JOIN cut USING (code)
    WHERE t.level = 'commune' AND t.code IN (SELECT unnest($codes::VARCHAR[]))
    ORDER BY coalesce(cut.links, 0) DESC, t.population DESC NULLS LAST, t.code
"""


def read_result(
    con: duckdb.DuckDBPyConnection,
    rg: RoadGraph,
    *,
    top: int,
    communes: list[str] | None,
    cached: bool,
    timings: dict[str, float],
) -> CriticalityResult:
    """The cached criticality of ``rg``'s network, ``top`` links, for ``communes`` or all."""
    names = dict(zip(rg.codes.tolist(), zip(rg.names.tolist(), rg.population.tolist(),
                                            strict=True), strict=True))  # fmt: skip
    rows = con.execute(
        _LINKS, {"id": rg.info.id, "communes": communes, "top": max(int(top), 0)}
    ).fetchall()
    links = [_link(r, names) for r in rows]
    codes = communes if communes is not None else rg.codes.tolist()
    red = con.execute(_REDUNDANCY, {"id": rg.info.id, "codes": codes}).fetchall()
    counts = con.execute(
        "SELECT count(*), count(DISTINCT link), count(DISTINCT link) FILTER (WHERE is_bridge), "
        "max(computed_at) FROM network_criticality WHERE network_id = ?",
        [rg.info.id],
    ).fetchone()
    assert counts is not None
    points = len(rg.graph.as_undirected(mode="collapse").articulation_points())
    return CriticalityResult(
        network=rg.info, computed_at=counts[3], cached=cached, edges=int(counts[0]),
        links=int(counts[1]), bridges=int(counts[2]), articulation_points=points, top=links,
        redundancy=[CommuneRedundancy(str(c), str(n), int(p), int(k)) for c, n, p, k in red],
        timings=timings,
    )  # fmt: skip


def _link(row: tuple[object, ...], names: dict[str, tuple[str, int]]) -> CriticalLink:
    (_, edge, edges, name, highway, osm_bridge, is_bridge, usage, detour, delta, exact,
     codes, population, _) = row  # fmt: skip
    isolated = [(c, *names.get(c, (c, 0))) for c in (codes or [])]  # type: ignore[attr-defined]
    return CriticalLink(
        edge=int(str(edge)), edges=int(str(edges)),
        name=None if name is None else str(name), highway=None if highway is None else str(highway),
        osm_bridge=bool(osm_bridge), is_bridge=bool(is_bridge), usage=float(str(usage)),
        detour_s=None if detour is None else round(float(str(detour)), 1),
        delta_s=None if delta is None else round(float(str(delta)), 3), exact=bool(exact),
        isolated=[(str(c), str(n), int(p)) for c, n, p in isolated],
        isolated_population=int(str(population)),
    )  # fmt: skip
