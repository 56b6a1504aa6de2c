"""Road networks: REST routes and the territory-page section "Réseau routier : liens critiques".

- ``GET /api/v1/networks``: the networks and their sources;
- ``GET /api/v1/networks/{id}/criticality``: critical links (cached results; computed once by
  ``territoria networks criticality``), optionally of some communes;
- ``GET /api/v1/networks/{id}/isolation?close=…&flooded=…``: communes isolated, detours;
- ``GET /api/v1/networks/{id}/access?kind=…``: travel time to the nearest service;
- ``GET /api/v1/networks/{id}/edges``: GeoJSON of the edges in a bbox with their criticality.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi import Path as PathParam

from territoria.api._deps import Cursor, field, require
from territoria.api._sections import territory_section
from territoria.errors import InvalidNetworkRequest, TerritoriaError
from territoria.networks import IsolationResult, NetworkInfo, isolation, list_networks
from territoria.networks.access import AccessResult, access
from territoria.networks.criticality import CriticalityResult, criticality
from territoria.networks.graph import network_info

__all__ = ["api", "routers"]

api = APIRouter(prefix="/api/v1/networks", tags=["networks"],
                dependencies=[Depends(require("read"))])  # fmt: skip
routers = (api,)

NetworkId = Annotated[int, PathParam(ge=1, le=2**31, description="The network's id.")]
Codes = Annotated[str, Query(max_length=4000, pattern=r"^[0-9A-Za-z,]*$")]
MAX_FEATURES = 20_000
SECTION_LINKS = 8


def _ints(text: str, name: str) -> list[int]:
    with field(name):
        try:
            return [int(x) for x in text.split(",") if x]
        except ValueError as exc:
            msg = f"{name} {text!r}: give edge ids separated by commas, e.g. 12,13"
            raise InvalidNetworkRequest(msg) from exc


@api.get("", summary="Networks and their sources", response_model=list[NetworkInfo])
def networks(cur: Cursor) -> list[NetworkInfo]:
    """Every network of the knowledge base (roads from OSM, layers), with its source."""
    return list_networks(cur)


@api.get("/{network_id}/criticality", summary="Critical links",
         response_model=CriticalityResult)  # fmt: skip
def network_criticality(
    cur: Cursor,
    network_id: NetworkId,
    top: Annotated[int, Query(ge=1, le=1000)] = 20,
    communes: Codes = "",
) -> CriticalityResult:
    """Bridges and the communes they isolate, then the links whose loss slows trips most."""
    codes = [c for c in communes.split(",") if c] or None
    return criticality(cur, network_id, top=top, communes=codes, compute=False)


@api.get("/{network_id}/isolation", summary="Isolation by closed edges",
         response_model=IsolationResult)  # fmt: skip
def network_isolation(
    cur: Cursor, network_id: NetworkId, close: Codes = "", flooded: Codes = ""
) -> IsolationResult:
    """Communes isolated when the edges ``close`` are cut, kept apart from ``flooded`` ones."""
    edges = _ints(close, "close")
    with field("close"):
        return isolation(
            cur, network_id, edges, flooded_communes=[c for c in flooded.split(",") if c]
        )


@api.get("/{network_id}/access", summary="Travel time to a service", response_model=AccessResult)
def network_access(
    cur: Cursor,
    network_id: NetworkId,
    kind: Annotated[str, Query(min_length=1, max_length=60, pattern=r"^[a-z0-9_-]+$")],
) -> AccessResult:
    """Each commune's travel time to its nearest service of ``kind``."""
    with field("kind"):
        return access(cur, network_id, kind)


@api.get(
    "/{network_id}/edges",
    summary="Edges with their criticality (GeoJSON)",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def network_edges(
    cur: Cursor,
    network_id: NetworkId,
    bbox: Annotated[
        str,
        Query(
            pattern=r"^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,-?[0-9.]+$",
            description="xmin,ymin,xmax,ymax (WGS84)",
        ),
    ],
) -> Response:
    """The edges crossing ``bbox`` as GeoJSON, with bridge flags, detour and delta."""
    info = network_info(cur, network_id)
    x0, y0, x1, y1 = (float(v) for v in bbox.split(","))
    body = json.dumps(edges_geojson(cur, info, (x0, y0, x1, y1)), ensure_ascii=False)
    return Response(body, media_type="application/geo+json")


def edges_geojson(cur: Any, info: NetworkInfo, box: tuple[float, float, float, float],
                  communes: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """GeoJSON of the edges of ``info`` in ``box`` (or touching ``communes``), critical first."""
    row = cur.execute(
        """
        SELECT json_group_array(json_object('type', 'Feature',
            'geometry', ST_AsGeoJSON(e.geom)::JSON,
            'properties', json_object('edge', e.edge, 'name', e.name, 'highway', e.highway,
                'bridge', e.bridge, 'is_bridge', c.is_bridge, 'isolated', c.isolated_communes,
                'delta_s', c.delta_s, 'detour_s', c.detour_s)))
        FROM (SELECT * FROM network_edge e WHERE e.network_id = $id
              AND e.xmax >= $x0 AND e.xmin <= $x1 AND e.ymax >= $y0 AND e.ymin <= $y1
              AND ($c::VARCHAR[] IS NULL OR EXISTS (SELECT 1 FROM network_node n
                   WHERE n.network_id = e.network_id AND n.node IN (e.u, e.v)
                     AND list_contains($c, n.commune_code)))) e
        LEFT JOIN network_criticality c ON c.network_id = e.network_id AND c.edge = e.edge
        """,
        {"id": info.id, "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3], "c": communes},
    ).fetchone()
    import json

    features = json.loads(row[0]) if row and row[0] else []
    features.sort(key=lambda f: (not f["properties"]["is_bridge"],
                                 -(f["properties"]["delta_s"] or 0)))  # fmt: skip
    return {"type": "FeatureCollection", "features": features[:MAX_FEATURES],
            "network": info.name, "synthetic": info.synthetic, "source": info.source}  # fmt: skip


# ------------------------------------------------------------------ territory-page section


def _communes_of(cur: Any, territory: Any) -> list[str]:
    if territory.level == "commune":
        return [territory.code]
    rows = cur.execute(
        "SELECT code FROM membership WHERE level = 'commune' AND parent_level = ? "
        "AND parent_code = ?",
        [territory.level, territory.code],
    ).fetchall()
    return [str(r[0]) for r in rows]


def _section_value(cur: Any, territory: Any) -> dict[str, Any] | None:
    codes = _communes_of(cur, territory)
    for info in list_networks(cur):
        if info.kind != "road":
            continue
        try:
            result = criticality(cur, info.id, top=SECTION_LINKS, communes=codes, compute=False)
        except TerritoriaError:
            continue
        if not result.top:
            continue
        box = cur.execute(
            "SELECT xmin, ymin, xmax, ymax FROM territory WHERE level = ? AND code = ?",
            [territory.level, territory.code],
        ).fetchone()
        return {
            "network": info, "links": result.top,
            "redundancy": [r for r in result.redundancy if r.cutting_links][:SECTION_LINKS],
            "geojson": edges_geojson(cur, info, tuple(box), codes) if box else None,
            "computed_at": result.computed_at,
        }  # fmt: skip
    return None


@territory_section("reseau", order=60, template="_territory_network.html")
def _network_section(cur: Any, cache: Any, territory: Any, lang: str) -> Any:
    return cache.get(
        ("network-criticality", territory.level, territory.code),
        lambda: _section_value(cur, territory),
    )
