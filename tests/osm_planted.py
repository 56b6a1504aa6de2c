"""Small ``.osm.pbf`` files with planted bridges and isolated communes, written from code.

The tiny network over five communes of the mini knowledge base (their point-on-surface)::

    Rennes A ---- M ---- B Betton          A-M-B: primary, maxspeed=90 (split at M)
          \\      |      /                  M-C: residential (default 50)
           \\     |     /                   B-C: secondary, maxspeed=FR:rural (80)
            `---- C ---'  Cesson-Sévigné    C-A: tertiary, oneway=yes (default 70)
    A ==bridge== D Bécherel                A-D: tertiary, bridge=yes, maxspeed=50 mph
    plus a footway C-D, a driveway A-B, a highway=construction B-D (none drivable)

The only graph bridge is A-D; removing it isolates exactly Bécherel (35022).
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb

from territoria.synth._pbf import write_pbf

COMMUNES = {"A": "35238", "B": "35024", "C": "35051", "D": "35022", "M": "35238"}
NODE_ID = {"A": 101, "B": 102, "C": 103, "D": 104, "M": 105}
WAYS = [
    (11, "AMB", {"highway": "primary", "maxspeed": "90", "name": "Route de Betton"}),
    (12, "MC", {"highway": "residential"}),
    (13, "BC", {"highway": "secondary", "maxspeed": "FR:rural"}),
    (14, "CA", {"highway": "tertiary", "oneway": "yes"}),
    (15, "AD", {"highway": "tertiary", "bridge": "yes", "maxspeed": "50 mph"}),
    (16, "CD", {"highway": "footway"}),
    (17, "AB", {"highway": "service", "service": "driveway"}),
    (18, "BD", {"highway": "construction", "construction": "secondary"}),
]


def positions(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[float, float]]:
    """Node letter -> (lon, lat): the communes' point-on-surface; M a little east of A."""
    rows = dict(
        (code, (x, y))
        for code, x, y in con.execute(
            "SELECT code, ST_X(point), ST_Y(point) FROM territory WHERE level = 'commune'"
        ).fetchall()
    )
    pos = {k: rows[c] for k, c in COMMUNES.items() if k != "M"}
    pos["M"] = (pos["A"][0] + 0.004, pos["A"][1] + 0.004)
    return pos


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (m) between two (lon, lat), the hand computation of tests."""
    r = 6_371_008.8
    la1, la2 = math.radians(a[1]), math.radians(b[1])
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin(math.radians(b[0] - a[0]) / 2) ** 2
    )
    return 2 * r * math.asin(math.sqrt(h))


def write_tiny(con: duckdb.DuckDBPyConnection, path: Path, *, drivable: bool = True) -> Path:
    """Write the tiny network (``drivable=False``: only its footway and construction ways)."""
    pos = positions(con)
    letters = sorted(NODE_ID)
    ways = [
        (wid, [NODE_ID[c] for c in seq], tags)
        for wid, seq, tags in WAYS
        if drivable or tags["highway"] in ("footway", "construction")
    ]
    return write_pbf(
        path,
        [NODE_ID[k] for k in letters],
        [pos[k][0] for k in letters],
        [pos[k][1] for k in letters],
        ways,
        replication_timestamp="2026-11-30T21:00:00Z",
    )
