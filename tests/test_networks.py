"""Criticality, isolation and accessibility on planted networks, by hand and by brute force."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import igraph as ig
import numpy as np
import pytest
from typer.testing import CliRunner

from osm_planted import NODE_ID, haversine, positions, write_tiny
from territoria.cli import app
from territoria.errors import InvalidNetworkRequest, UnknownNetwork
from territoria.networks import edges_cut_by, isolation, list_networks
from territoria.networks.access import access
from territoria.networks.criticality import criticality
from territoria.sources.network_layers import import_services
from territoria.sources.osm import import_osm
from territoria.synth.roads import synth_roads


def _edge(con: duckdb.DuckDBPyConnection, a: str, b: str) -> int:
    row = con.execute(
        "SELECT e.edge FROM network_edge e JOIN network_node x ON x.node = e.u "
        "JOIN network_node y ON y.node = e.v WHERE x.osm_id = ? AND y.osm_id = ?",
        [NODE_ID[a], NODE_ID[b]],
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def tiny(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    import_osm(mini_db, write_tiny(mini_db, tmp_path / "tiny.osm.pbf"))
    return mini_db


def _time(con: duckdb.DuckDBPyConnection, a: str, b: str, kmh: float) -> float:
    pos = positions(con)
    return haversine(pos[a], pos[b]) / (kmh / 3.6)


def test_tiny_bridge_found_and_isolates_becherel(tiny: duckdb.DuckDBPyConnection) -> None:
    result = criticality(tiny, "tiny", top=10)
    bridges = [link for link in result.top if link.is_bridge]
    assert [b.edge for b in bridges] == [_edge(tiny, "A", "D")]
    assert bridges[0].isolated == [("35022", "Bécherel", 669)]
    assert result.redundancy[0].code == "35022" and result.redundancy[0].cutting_links == 1
    assert criticality(tiny, "tiny").cached


def test_exact_delta_equals_brute_force(tiny: duckdb.DuckDBPyConnection) -> None:
    """Removing each link and recomputing every commune pair (igraph) gives the same delta."""
    result = criticality(tiny, "tiny", top=10, exact_top=10)
    e = tiny.execute("SELECT edge, u, v, time_s FROM network_edge ORDER BY edge").fetchnumpy()
    reps = {
        c: int(n)
        for c, n in tiny.execute(
            "SELECT commune_code, node FROM network_node n WHERE osm_id IN (101, 102, 103, 104)"
        ).fetchall()
    }
    pops = dict(
        tiny.execute("SELECT code, population FROM territory WHERE level = 'commune'").fetchall()
    )
    codes = sorted(reps)
    w = np.array([[pops[s] * pops[t] * (s != t) for t in codes] for s in codes], dtype=float)

    def mean_times(skip: int | None) -> np.ndarray:
        keep = [i for i in range(len(e["edge"])) if i != skip]
        g = ig.Graph(n=5, edges=[(int(e["u"][i]), int(e["v"][i])) for i in keep])
        d = g.distances([reps[c] for c in codes], [reps[c] for c in codes],
                        weights=[float(e["time_s"][i]) for i in keep])  # fmt: skip
        return np.array(d)

    base = mean_times(None)
    for link in result.top:
        if link.is_bridge:
            continue
        after = mean_times(link.edge)
        expected = float((w * (after - base)).sum() / w.sum())
        assert link.exact and link.delta_s == pytest.approx(expected, abs=1e-3)


def test_isolation_and_flooded_kept_apart(tiny: duckdb.DuckDBPyConnection) -> None:
    bridge = _edge(tiny, "A", "D")
    cut = isolation(tiny, 1, [bridge])
    assert cut.isolated == [("35022", "Bécherel", 669)] and cut.inside_zone == []
    assert ("mairie", "Mairie de Bécherel", "35022") in cut.unreachable_services
    flooded = isolation(tiny, 1, [bridge], flooded_communes=["35022"])
    assert flooded.isolated == [] and flooded.inside_zone == [("35022", "Bécherel", 669)]


def test_detour_equals_hand_computation(tiny: duckdb.DuckDBPyConnection) -> None:
    """Closing C->A (one way) sends Cesson-Sévigné to Rennes (its EPCI centre) by M."""
    result = isolation(tiny, "tiny", [_edge(tiny, "C", "A")])
    (code, _, before, after), *_ = result.detours
    pos = positions(tiny)
    assert code == "35051"
    assert before == pytest.approx(_time(tiny, "C", "A", 70), abs=0.2)
    by_m = haversine(pos["C"], pos["M"]) / (50 / 3.6) + haversine(pos["M"], pos["A"]) / (90 / 3.6)
    assert after == pytest.approx(by_m, abs=0.2)


def test_edges_cut_by_polygon(tiny: duckdb.DuckDBPyConnection) -> None:
    x, y = positions(tiny)["D"]
    box = f"POLYGON(({x - .01} {y - .01}, {x + .01} {y - .01}, {x + .01} {y + .01}, " \
          f"{x - .01} {y + .01}, {x - .01} {y - .01}))"  # fmt: skip
    assert edges_cut_by(tiny, 1, box).tolist() == [_edge(tiny, "A", "D")]
    with pytest.raises(InvalidNetworkRequest, match="invalid geometry"):
        edges_cut_by(tiny, 1, "POLYGON((nonsense")


def test_access_to_imported_points(tiny: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    x, y = positions(tiny)["B"]
    layer = tmp_path / "hopitaux.geojson"
    layer.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nom": "Clinique de Betton"},
         "geometry": {"type": "Point", "coordinates": [x + 1e-4, y]}}]}))  # fmt: skip
    assert import_services(tiny, layer, kind="hopital").features == 1
    result = access(tiny, "tiny", "hopital")
    times = {c.code: c.time_s for c in result.communes}
    a_b = _time(tiny, "A", "M", 90) + _time(tiny, "M", "B", 90)
    assert times["35238"] == pytest.approx(a_b, abs=0.2)
    assert times["35022"] == pytest.approx(_time(tiny, "D", "A", 80.4672) + a_b, abs=0.2)
    assert times["35024"] == 0.0


def test_unknown_network_and_edge(tiny: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(UnknownNetwork, match="networks list"):
        isolation(tiny, "nowhere", [])
    with pytest.raises(InvalidNetworkRequest, match="no edge 99"):
        isolation(tiny, 1, [99])


def test_synthetic_planted_bridges_exactly(mini_db: duckdb.DuckDBPyConnection,
                                           tmp_path: Path) -> None:  # fmt: skip
    pbf = tmp_path / "s.osm.pbf"
    planted = synth_roads(mini_db, "35", pbf, seed=3, streets=2).planted
    import_osm(mini_db, pbf)
    assert list_networks(mini_db)[0].synthetic
    criticality(mini_db, 1, top=5)
    found = {
        int(w)
        for (w,) in mini_db.execute(
            "SELECT DISTINCT e.osm_way_id FROM network_criticality c "
            "JOIN network_edge e USING (network_id, edge) WHERE c.is_bridge"
        ).fetchall()
    }
    assert found == {way for _, _, way in planted}  # 100 %, and nothing else
    for code, name, way in planted:
        edges = mini_db.execute("SELECT edge FROM network_edge WHERE osm_way_id = ?", [way])
        cut = isolation(mini_db, 1, [int(r[0]) for r in edges.fetchall()])
        assert [(c, n) for c, n, _ in cut.isolated] == [(code, name)]


def test_cli_networks(tiny: duckdb.DuckDBPyConnection, mini_db_path: Path, tmp_path: Path) -> None:
    db = Path(tiny.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                           "current_database()").fetchone()[0])  # type: ignore[index]  # fmt: skip
    tiny.execute("CHECKPOINT")
    tiny.close()
    runner = CliRunner()
    listed = runner.invoke(app, ["networks", "list", "--json", "--db", str(db)])
    assert listed.exit_code == 0 and json.loads(listed.stdout)[0]["name"] == "tiny"
    crit = runner.invoke(app, ["networks", "criticality", "tiny", "--json", "--db", str(db)])
    assert crit.exit_code == 0, crit.output
    top = json.loads(crit.stdout)["top"][0]
    assert top["is_bridge"] and top["isolated"] == [["35022", "Bécherel", 669]]
    iso = runner.invoke(app, ["networks", "isolation", "1", "--close", str(top["edge"]),
                              "--json", "--db", str(db)])  # fmt: skip
    assert json.loads(iso.stdout)["isolated"] == [["35022", "Bécherel", 669]]
    acc = runner.invoke(app, ["networks", "access", "tiny", "--kind", "mairie_epci", "--db",
                              str(db)])  # fmt: skip
    assert acc.exit_code == 0 and "Bécherel" in acc.stdout
    bad = runner.invoke(app, ["networks", "isolation", "1", "--close", "x", "--db", str(db)])
    assert bad.exit_code == 2 and "give edge ids" in bad.output
