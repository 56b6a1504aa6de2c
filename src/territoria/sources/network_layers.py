"""Other networks (rail, power, telecom) and service points from GeoJSON / GeoPackage layers.

``territoria import network FILE --kind rail|power|telecom [--name N]``: a layer of
**LineString** features in WGS84 (lon, lat), read with DuckDB spatial's ``ST_Read`` (GDAL), one
feature per edge between junctions (split the lines at their junctions first, as a topological
GeoPackage layer is); line ends closer than 1e-6° are the same node. Optional properties:
``name`` (or ``nom``), ``class`` (kept as the edge's class), ``bridge``/``tunnel`` (yes/true/1),
``oneway``; travel cost: the line's length at :data:`SPEEDS` (km/h) for rail, the length in
metres (1 m = 1 s of cost) for power and telecom, where only connectivity matters.

``territoria networks services import FILE --kind K``: a layer of **Point** features with a
``name`` (or ``nom``) property, the points accessibility is measured to.

Both are atomic imports with a ``source`` row (file name, size, SHA-256); features outside every
commune of the knowledge base are kept with commune NULL and counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import duckdb

from territoria.errors import SourceError
from territoria.kb.audit import record
from territoria.sources._framework import (
    SourceRecord,
    Staging,
    require_communes,
    translate_error,
)
from territoria.sources.osm import file_digest, source_name

__all__ = ["KINDS", "LayerReport", "import_network", "import_services"]

KINDS: Final = ("rail", "power", "telecom")
SPEEDS: Final = {"rail": 100.0, "power": 3.6, "telecom": 3.6}
_HINT: Final = "give a GeoJSON or GeoPackage file in WGS84 (EPSG:4326)"
_TRUE: Final = "('yes', 'true', '1')"


@dataclass
class LayerReport:
    """What a layer import loaded."""

    name: str
    kind: str
    source_id: int = 0
    network_id: int = 0
    features: int = 0
    outside: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data."""
        return asdict(self)


def _read(con: duckdb.DuckDBPyConnection, path: Path, geometry: str) -> list[str]:
    if not path.is_file():
        raise SourceError(f"{str(path)!r} does not exist or is not a file: check the path")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE l_raw AS SELECT * FROM ST_Read(?)", [str(path)])
    except duckdb.Error as exc:
        raise translate_error(exc, source=path, hint=_HINT) from exc
    cols = [str(r[0]) for r in con.execute("DESCRIBE l_raw").fetchall()]
    bad = con.execute(
        f"SELECT count(*) FROM l_raw WHERE ST_GeometryType(geom)::VARCHAR <> '{geometry}'"
    ).fetchone()
    if bad and bad[0]:
        msg = f"{path.name!r}: {bad[0]} features are not {geometry}s; {_HINT}"
        raise SourceError(msg)
    return cols


def _prop(cols: list[str], *names: str) -> str:
    for n in names:
        if n in cols:
            return f'"{n}"::VARCHAR'
    return "NULL::VARCHAR"


def _record(path: Path, name: str, dataset: str) -> SourceRecord:
    return SourceRecord(
        name=name, dataset=path.name, publisher="couche importée par l'utilisateur",
        licence="selon le fournisseur", version=file_digest(path),
        retrieved_at=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
        note=f"{path.stat().st_size} bytes; sha256 in version; {dataset}",
    )  # fmt: skip


_COMMUNE: Final = (
    "(SELECT min(t.code) FROM territory t WHERE t.level = 'commune' AND {x} BETWEEN t.xmin "
    "AND t.xmax AND {y} BETWEEN t.ymin AND t.ymax AND ST_Intersects(t.geom, ST_Point({x}, {y})))"
)


def import_services(con: duckdb.DuckDBPyConnection, path: Path, *, kind: str) -> LayerReport:
    """Import the service points of ``path`` as kind ``kind`` (replacing that kind's points)."""
    kind = kind.strip().lower()
    if not kind or kind in ("mairie_epci", "lycee"):
        raise SourceError(f"--kind {kind!r} is taken or empty: name your kind, e.g. 'hopital'")
    path = Path(path)
    require_communes(con)
    report = LayerReport(name=f"services:{kind}", kind=kind)
    with Staging(con, prefix="l_") as staging:
        cols = _read(con, path, "POINT")
        rec = _record(path, report.name, "service points")
        sid = staging.source(rec)
        commune = _COMMUNE.format(x="ST_X(r.geom)", y="ST_Y(r.geom)")
        con.execute(
            f"CREATE TEMP TABLE l_network_service AS SELECT ?::VARCHAR AS kind, "
            f"coalesce({_prop(cols, 'name', 'nom')}, ?::VARCHAR) AS name, {commune} AS "
            f"commune_code, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat, ?::INTEGER AS source_id "
            f"FROM l_raw r",
            [kind, kind, sid],
        )
        got = con.execute(
            "SELECT count(*), count(*) - count(commune_code) FROM l_network_service"
        ).fetchone()
        assert got is not None
        report.source_id, report.features, report.outside = sid, int(got[0]), int(got[1])
        with staging.swap(names=[rec.name], tables=["network_service"]) as swap:
            swap.copy("network_service")
            record(con, "import.services", target=kind, detail=report.to_dict())
    return report


def import_network(
    con: duckdb.DuckDBPyConnection, path: Path, *, kind: str, name: str | None = None
) -> LayerReport:
    """Import the line layer ``path`` as a network of ``kind`` (rail, power or telecom)."""
    if kind not in KINDS:
        raise SourceError(f"--kind {kind!r}: choose one of {', '.join(KINDS)}")
    path = Path(path)
    require_communes(con)
    report = LayerReport(name=name or path.name.split(".")[0], kind=kind)
    with Staging(con, prefix="l_") as staging:
        cols = _read(con, path, "LINESTRING")
        rec = _record(path, source_name(report.name), f"{kind} layer")
        sid = staging.source(rec)
        _stage_layer(con, cols, kind, sid, report)
        with staging.swap(names=[rec.name], tables=["network", "network_node", "network_edge"]):
            con.execute("DELETE FROM network_criticality WHERE network_id = ?", [report.network_id])
            con.execute(
                "INSERT INTO network SELECT ?, ?, ?, ?, (SELECT count(*) FROM l_network_node), "
                "(SELECT count(*) FROM l_network_edge), (SELECT count(*) - count(commune_code) "
                "FROM l_network_node), ?",
                [report.network_id, report.name, kind, sid, sid],
            )
            con.execute("INSERT INTO network_node SELECT * FROM l_network_node ORDER BY node")
            con.execute("INSERT INTO network_edge SELECT * FROM l_network_edge ORDER BY edge")
            record(con, "import.network", target=report.name, detail=report.to_dict())
    return report


def _stage_layer(
    con: duckdb.DuckDBPyConnection, cols: list[str], kind: str, sid: int, report: LayerReport
) -> None:
    row = con.execute(
        "SELECT coalesce((SELECT id FROM network WHERE name = ?), "
        "(SELECT coalesce(max(id), 0) + 1 FROM network))",
        [report.name],
    ).fetchone()
    assert row is not None
    report.network_id, report.source_id = int(row[0]), sid
    con.execute(
        """
        CREATE TEMP TABLE l_end AS
        SELECT *, row_number() OVER () - 1 AS f,
               round(ST_X(ST_StartPoint(geom)), 6) AS x1, round(ST_Y(ST_StartPoint(geom)), 6) AS y1,
               round(ST_X(ST_EndPoint(geom)), 6) AS x2, round(ST_Y(ST_EndPoint(geom)), 6) AS y2
        FROM l_raw;
        CREATE TEMP TABLE l_pt AS
        SELECT (row_number() OVER (ORDER BY x, y) - 1)::BIGINT AS node, x, y FROM (
            SELECT x1 AS x, y1 AS y FROM l_end UNION SELECT x2, y2 FROM l_end)
        """
    )
    commune = _COMMUNE.format(x="p.x", y="p.y")
    con.execute(
        f"CREATE TEMP TABLE l_network_node AS SELECT {report.network_id}::INTEGER, node, "
        f"NULL::BIGINT, p.x, p.y, {commune}, {sid}::INTEGER FROM l_pt p"
    )
    speed = SPEEDS[kind]
    flag = "coalesce(lower({c}) IN " + _TRUE + ", false)"
    con.execute(
        f"""
        CREATE TEMP TABLE l_network_edge AS
        SELECT {report.network_id}::INTEGER, e.f::BIGINT, a.node, b.node, NULL::BIGINT,
               {_prop(cols, "class")}, {_prop(cols, "name", "nom")}, NULL::VARCHAR,
               {flag.format(c=_prop(cols, "oneway"))},
               ST_Length_Spheroid(ST_FlipCoordinates(e.geom)) AS len, {speed}, 'default',
               ST_Length_Spheroid(ST_FlipCoordinates(e.geom)) / ({speed} / 3.6),
               {flag.format(c=_prop(cols, "bridge"))}, {flag.format(c=_prop(cols, "tunnel"))},
               e.geom::GEOMETRY, ST_XMin(e.geom), ST_YMin(e.geom), ST_XMax(e.geom),
               ST_YMax(e.geom), {sid}::INTEGER
        FROM l_end e
        JOIN l_pt a ON a.x = e.x1 AND a.y = e.y1 JOIN l_pt b ON b.x = e.x2 AND b.y = e.y2
        """
    )
    got = con.execute("SELECT count(*) FROM l_network_edge").fetchone()
    report.features = int(got[0]) if got else 0
    if not report.features:
        raise SourceError(f"the layer holds no line: {_HINT}")
