"""Drivable ways of an ``.osm.pbf`` file to graph edges, in DuckDB SQL (``ST_ReadOSM``).

Rules (documented in the README):

- **Highway classes kept**: :data:`DRIVABLE` (motorway to residential, their ``_link`` ramps,
  ``living_street``, ``service``, ``road``). ``service`` ways tagged ``service=parking_aisle``,
  ``driveway``, ``drive-through`` or ``emergency_access`` are left out, as OSMnx does.
- **Excluded**: ``area=yes``; ``motor_vehicle``/``motorcar`` ``=no``; ``access=no|private``
  unless ``motor_vehicle``/``motorcar`` allow it again; ``highway=construction`` (not a class
  kept) and ways still tagged ``construction=*``.
- **One way**: ``oneway=yes|true|1``, ``junction=roundabout|circular`` and ``highway=motorway``
  (implied) are one way in the drawing direction; ``oneway=-1|reverse`` one way against it (the
  node list is reversed); ``oneway=no`` overrides the implied cases.
- **Edges**: a way is split at every node shared with another drivable way (or repeated in
  itself) and at its ends; nodes missing from the extract (clipped ways) are dropped.
- **Length**: great-circle (haversine, mean Earth radius 6,371,008.8 m) summed over the node
  pairs — within 0.5 % of the WGS84 ellipsoid.
- **Speed**: ``maxspeed`` parsed (a number in km/h, ``N mph``, ``FR:urban`` 50, ``FR:rural``
  80, ``FR:motorway`` 130, ``FR:zone30`` 30, ``walk`` 6, the first of ``a;b``), otherwise
  :data:`DEFAULT_SPEEDS` per class (French legal limits); time = length / speed.
- **Bridge / tunnel**: ``bridge`` / ``tunnel`` present and not ``no``.
"""

from __future__ import annotations

from typing import Final

import duckdb

__all__ = ["DEFAULT_SPEEDS", "DRIVABLE", "stage_edges"]

#: km/h by highway class when ``maxspeed`` is absent or unreadable (French legal limits).
DEFAULT_SPEEDS: Final[dict[str, float]] = {
    "motorway": 130.0,
    "motorway_link": 70.0,
    "trunk": 110.0,
    "trunk_link": 70.0,
    "primary": 80.0,
    "primary_link": 60.0,
    "secondary": 80.0,
    "secondary_link": 50.0,
    "tertiary": 70.0,
    "tertiary_link": 50.0,
    "unclassified": 50.0,
    "road": 50.0,
    "residential": 50.0,
    "living_street": 20.0,
    "service": 20.0,
}
DRIVABLE: Final = tuple(DEFAULT_SPEEDS)
_SERVICE_OUT: Final = ("parking_aisle", "driveway", "drive-through", "emergency_access")
_ALLOW: Final = ("yes", "designated", "destination", "permissive")
_NAMED: Final[dict[str, float]] = {
    "fr:urban": 50.0,
    "fr:rural": 80.0,
    "fr:motorway": 130.0,
    "fr:zone30": 30.0,
    "fr:walk": 6.0,
    "walk": 6.0,
}
EARTH_RADIUS_M: Final = 6_371_008.8


def _list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _speed_sql() -> str:
    """SQL of the speed (km/h) parsed from ``maxspeed`` (``ms``), NULL when unreadable."""
    named = " ".join(f"WHEN '{k}' THEN {v}" for k, v in _NAMED.items())
    first = "trim(split_part(lower(ms), ';', 1))"
    number = f"TRY_CAST(regexp_extract({first}, '^([0-9]+(\\.[0-9]+)?)', 1) AS DOUBLE)"
    return (
        f"CASE WHEN ms IS NULL THEN NULL "
        f"WHEN {first} LIKE '%mph' THEN {number} * 1.609344 "
        f"ELSE coalesce(CASE {first} {named} END, {number}) END"
    )


def _ways_sql(path_param: str) -> str:
    defaults = " ".join(f"WHEN '{k}' THEN {v}" for k, v in DEFAULT_SPEEDS.items())
    return f"""
    CREATE OR REPLACE TEMP TABLE o_way AS
    WITH w AS (
        SELECT id AS way_id, tags['highway'] AS highway, tags['name'] AS name,
               tags['ref'] AS ref, lower(tags['oneway']) AS ow, tags['junction'] AS junction,
               tags['maxspeed'] AS ms, tags['bridge'] AS bridge, tags['tunnel'] AS tunnel,
               refs
        FROM ST_ReadOSM({path_param})
        WHERE kind = 'way' AND tags['highway'] IN ({_list(DRIVABLE)})
          AND coalesce(tags['area'], 'no') <> 'yes'
          AND tags['construction'] IS NULL
          AND NOT (tags['highway'] = 'service'
                   AND coalesce(tags['service'], '') IN ({_list(_SERVICE_OUT)}))
          AND coalesce(tags['motor_vehicle'], tags['motorcar'], '') <> 'no'
          AND NOT (coalesce(tags['access'], '') IN ('no', 'private')
                   AND coalesce(tags['motor_vehicle'], tags['motorcar'], '')
                       NOT IN ({_list(_ALLOW)}))
          AND len(refs) >= 2
    )
    SELECT way_id, highway, name, ref,
           CASE WHEN ow IN ('-1', 'reverse') THEN list_reverse(refs) ELSE refs END AS refs,
           coalesce(ow IN ('yes', 'true', '1', '-1', 'reverse')
                    OR (coalesce(ow, '') <> 'no'
                        AND (junction IN ('roundabout', 'circular') OR highway = 'motorway')),
                    false) AS oneway,
           coalesce({_speed_sql()}, CASE highway {defaults} END) AS speed_kmh,
           CASE WHEN {_speed_sql()} IS NULL THEN 'default' ELSE 'maxspeed' END AS speed_from,
           coalesce(bridge, 'no') <> 'no' AS bridge,
           coalesce(tunnel, 'no') <> 'no' AS tunnel
    FROM w
    """


def _edges_sql() -> list[str]:
    r = EARTH_RADIUS_M
    text = f"""
    CREATE OR REPLACE TEMP TABLE o_ref AS
    SELECT way_id, unnest(range(1, len(refs) + 1)) AS pos, unnest(refs) AS osm_id FROM o_way;
    CREATE OR REPLACE TEMP TABLE o_pt AS
    SELECT n.id AS osm_id, n.lon, n.lat FROM ST_ReadOSM($path) n
    WHERE n.kind = 'node' AND n.id IN (SELECT osm_id FROM o_ref);
    CREATE OR REPLACE TEMP TABLE o_seq AS
    WITH k AS (
        SELECT r.way_id, row_number() OVER (PARTITION BY r.way_id ORDER BY r.pos) AS pos,
               r.osm_id, p.lon, p.lat
        FROM o_ref r JOIN o_pt p USING (osm_id)
    ), c AS (SELECT osm_id, count(*) AS uses FROM k GROUP BY osm_id),
    s AS (
        SELECT k.*, (c.uses > 1 OR k.pos = 1
                     OR k.pos = max(k.pos) OVER (PARTITION BY k.way_id)) AS split,
               lead(k.osm_id) OVER w AS osm2, lead(k.lon) OVER w AS lon2,
               lead(k.lat) OVER w AS lat2
        FROM k JOIN c USING (osm_id)
        WINDOW w AS (PARTITION BY k.way_id ORDER BY k.pos)
    )
    SELECT *, sum(split::INTEGER) OVER (PARTITION BY way_id ORDER BY pos) AS seg,
           2 * {r} * asin(sqrt(
               pow(sin(radians(lat2 - lat) / 2), 2)
               + cos(radians(lat)) * cos(radians(lat2)) * pow(sin(radians(lon2 - lon) / 2), 2)
           )) AS d_m
    FROM s WHERE osm2 IS NOT NULL;
    CREATE OR REPLACE TEMP TABLE o_edge AS
    SELECT q.way_id, q.seg, arg_min(q.osm_id, q.pos) AS u_osm, arg_max(q.osm2, q.pos) AS v_osm,
           sum(q.d_m) AS length_m,
           ST_MakeLine(list(ST_Point(q.lon, q.lat) ORDER BY q.pos)
                       || [arg_max(ST_Point(q.lon2, q.lat2), q.pos)]) AS geom
    FROM o_seq q GROUP BY q.way_id, q.seg;
    """
    return [t for t in text.split(";") if t.strip()]


def stage_edges(con: duckdb.DuckDBPyConnection, path: str) -> dict[str, int]:
    """Read ``path`` into the temporary tables ``o_way``, ``o_pt``, ``o_edge``; return counts.

    ``o_edge`` holds one row per edge (way, segment) with its OSM end nodes, length and
    geometry; ``o_way`` the attributes of each kept way; ``o_pt`` the coordinates of their
    nodes.
    """
    con.execute(_ways_sql("$path"), {"path": path})
    for statement in _edges_sql():
        if "$path" in statement:
            con.execute(statement, {"path": path})
        else:
            con.execute(statement)
    counts = con.execute(
        "SELECT (SELECT count(*) FROM o_way), (SELECT count(*) FROM o_ref), "
        "(SELECT count(*) FROM o_pt), (SELECT count(*) FROM o_edge), "
        "(SELECT count(*) FROM o_ref WHERE osm_id NOT IN (SELECT osm_id FROM o_pt))"
    ).fetchone()
    assert counts is not None
    keys = ("ways", "way_nodes", "nodes_read", "edges", "nodes_missing")
    return dict(zip(keys, (int(c) for c in counts), strict=True))
