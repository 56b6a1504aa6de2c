"""Incidents: records, checks (type, severity, dates, geometry valid and in France, networks),
soft delete and audit, closed roads cut on a planted network, the CLI and the REST routes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from osm_planted import positions, write_tiny
from territoria.cli import app
from territoria.crisis.incidents import (
    IncidentInput,
    add_incident,
    closed_roads_wkt,
    delete_incident,
    get_incident,
    list_incidents,
)
from territoria.errors import InvalidIncident, UnknownIncident, UnknownNetwork
from territoria.kb import connect
from territoria.sources.osm import import_osm
from test_api_helpers import login, make_app, make_kb

RENNES_BOX = "POLYGON((-1.70 48.09, -1.65 48.09, -1.65 48.13, -1.70 48.13, -1.70 48.09))"


def box(x: float, y: float, r: float) -> str:
    return f"POLYGON(({x - r} {y - r}, {x + r} {y - r}, {x + r} {y + r}, {x - r} {y + r}, " \
           f"{x - r} {y - r}))"  # fmt: skip


def req(**kw: Any) -> IncidentInput:
    base: dict[str, Any] = {"type": "flood", "severity": 3, "geometry": RENNES_BOX,
                            "start": "2026-12-02T08:00:00+01:00"}  # fmt: skip
    return IncidentInput(**(base | kw))


def count(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM incident").fetchone()
    assert row is not None
    return int(row[0])


def test_add_get_list_delete_with_audit(mini_db: duckdb.DuckDBPyConnection) -> None:
    inc = add_incident(mini_db, req(title="Crue de la Vilaine", exercise=True, end="2026-12-03"))
    assert (inc.status, inc.exercise, inc.severity) == ("Exercise", True, 3)
    assert inc.start.isoformat() == "2026-12-02T07:00:00"  # +01:00 stored as UTC
    assert inc.geometry["type"] == "Polygon" and inc.source.startswith("system")
    assert [i.id for i in list_incidents(mini_db)] == [inc.id]
    delete_incident(mini_db, inc.id)
    assert list_incidents(mini_db) == [] and list_incidents(mini_db, deleted=True)[0].deleted
    with pytest.raises(UnknownIncident, match="incidents list"):
        get_incident(mini_db, inc.id)
    events = mini_db.execute("SELECT event FROM audit_log WHERE target = ? ORDER BY id",
                             [str(inc.id)]).fetchall()  # fmt: skip
    assert events == [("incident.add",), ("incident.delete",)]


def test_point_needs_radius_and_becomes_a_disc(mini_db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidIncident, match="radius"):
        add_incident(mini_db, req(geometry="POINT(-1.68 48.11)"))
    inc = add_incident(mini_db, req(geometry="POINT(-1.68 48.11)", radius_m=1000, type="fire"))
    row = mini_db.execute(
        "SELECT ST_Area_Spheroid(ST_FlipCoordinates(geom)) FROM incident WHERE id = ?",
        [inc.id],
    ).fetchone()
    assert row is not None and row[0] == pytest.approx(3.1416e6, rel=0.01)  # pi r^2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "meteor"}, "unknown incident type 'meteor'"),
        ({"severity": 6}, "severity 6 out of range"),
        ({"status": "Real"}, "unknown status 'Real'"),
        ({"start": "demain"}, "bad start date 'demain'"),
        ({"end": "2026-12-01"}, "before the start"),
        ({"geometry": "POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))"}, "invalid geometry: Self-intersection"),
        ({"geometry": box(-30.0, 40.0, 0.1)}, "outside France"),
        ({"geometry": box(350000, 6780000, 1000)}, "not Lambert-93 metres"),
        ({"geometry": "POLYGON((nonsense"}, "unreadable geometry"),
        ({"closed_edges": (1,)}, "without a network"),
    ],
)
def test_bad_input_refused_nothing_written(
    mini_db: duckdb.DuckDBPyConnection, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidIncident, match=message):
        add_incident(mini_db, req(**change))
    assert count(mini_db) == 0


def test_closed_roads_cut_by_zone_and_listed(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    import_osm(mini_db, write_tiny(mini_db, tmp_path / "tiny.osm.pbf"))
    (ax, ay), (dx, dy) = positions(mini_db)["A"], positions(mini_db)["D"]
    zone = box((ax + dx) / 2, (ay + dy) / 2, 0.005)  # over the A-D bridge only
    inc = add_incident(mini_db, req(type="bridge_failure", geometry=zone, network_id=1))
    bridge = mini_db.execute("SELECT edge FROM network_edge WHERE bridge").fetchall()
    assert list(inc.closed_edges) == [bridge[0][0]]
    assert closed_roads_wkt(mini_db, inc.id)[0].startswith("LINESTRING")
    listed = add_incident(mini_db, req(geometry=zone, network_id=1, closed_edges=(0,)))
    assert sorted(listed.closed_edges) == sorted({0, bridge[0][0]})
    with pytest.raises(InvalidIncident, match="no edge 99"):
        add_incident(mini_db, req(geometry=zone, network_id=1, closed_edges=(99,)))
    with pytest.raises(UnknownNetwork):
        add_incident(mini_db, req(network_id=7))


def test_empty_network_refused(mini_db: duckdb.DuckDBPyConnection) -> None:
    mini_db.execute("INSERT INTO network VALUES (5, 'vide', 'road', 1, 0, 0, 0, 1)")
    with pytest.raises(InvalidIncident, match="network 'vide' has no edges"):
        add_incident(mini_db, req(network_id=5))
    assert count(mini_db) == 0


def _db_of(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                      "current_database()").fetchone()  # fmt: skip
    assert row is not None
    con.execute("CHECKPOINT")
    con.close()
    return str(row[0])


def test_cli_add_list_show_impact_delete(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    db = _db_of(mini_db)
    zone = tmp_path / "zone.geojson"
    zone.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": {
        "type": "Polygon", "coordinates": [[[-1.70, 48.09], [-1.65, 48.09], [-1.65, 48.13],
                                            [-1.70, 48.13], [-1.70, 48.09]]]}}))  # fmt: skip
    run = CliRunner().invoke
    made = run(app, ["incidents", "add", "--type", "flood", "--severity", "4", "--geometry",
                     str(zone), "--start", "2026-12-02T08:00", "--exercise", "--title",
                     "Crue de la Vilaine", "--json", "--db", db])  # fmt: skip
    assert made.exit_code == 0, made.output
    inc = json.loads(made.stdout)
    assert inc["status"] == "Exercise" and inc["title"] == "Crue de la Vilaine"
    listed = json.loads(run(app, ["incidents", "list", "--json", "--db", db]).stdout)
    assert [i["title"] for i in listed] == ["Crue de la Vilaine"]
    shown = run(app, ["incidents", "show", str(inc["id"]), "--db", db]).stdout
    assert "[EXERCICE]" in shown and "gravité 4/5" in shown
    body = json.loads(
        run(app, ["incidents", "impact", str(inc["id"]), "--json", "--db", db]).stdout
    )
    rennes = next(t for t in body["territories"] if t["code"] == "35238")
    assert rennes["level"] == "commune" and rennes["population_affected"] > 0
    mayor = next(o for o in body["officials"] if o["function"] == "maire" and o["code"] == "35238")
    assert mayor["name"] == "Nathalie APPÉRÉ" and mayor["contact"]["email"]
    for key in ("population_affected", "establishments", "jobs_estimated", "isolated_communes"):
        assert key in body
    bad = run(app, ["incidents", "add", "--type", "flood", "--severity", "9", "--geometry",
                    str(zone), "--start", "2026-12-02", "--db", db])  # fmt: skip
    assert bad.exit_code == 2 and "severity 9" in bad.output
    outside = run(app, ["incidents", "add", "--type", "flood", "--severity", "2", "--geometry",
                        box(-30, 40, 0.1), "--start", "2026-12-02", "--db", db])  # fmt: skip
    assert outside.exit_code == 2 and "outside France" in outside.output
    assert run(app, ["incidents", "delete", str(inc["id"]), "--db", db]).exit_code == 0
    gone = run(app, ["incidents", "show", str(inc["id"]), "--db", db])
    assert gone.exit_code == 2 and f"no incident {inc['id']}" in gone.output


@pytest.fixture(scope="module")
def client(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = make_kb(mini_db_path, tmp_path_factory.mktemp("incidents"))
    connect(path).close()
    made: Any = make_app(path)
    with TestClient(made) as c:
        c.headers["X-CSRF-Token"] = login(c, "admin")
        yield c
    made.state.territoria.db.close()


POLY = {"type": "Polygon", "coordinates": [[[-1.70, 48.09], [-1.65, 48.09], [-1.65, 48.13],
                                            [-1.70, 48.13], [-1.70, 48.09]]]}  # fmt: skip


def test_rest_create_read_impact_delete(client: TestClient) -> None:
    body = {"type": "flood", "severity": 4, "geometry": POLY, "start": "2026-12-02T08:00:00",
            "exercise": True, "title": "Crue de la Vilaine"}  # fmt: skip
    made = client.post("/api/v1/incidents", json=body)
    assert made.status_code == 201, made.text
    inc = made.json()
    assert inc["status"] == "Exercise" and inc["geometry"]["type"] == "Polygon"
    assert client.get(f"/api/v1/incidents/{inc['id']}").json()["title"] == "Crue de la Vilaine"
    assert inc["id"] in [i["id"] for i in client.get("/api/v1/incidents").json()]
    impact = client.get(f"/api/v1/incidents/{inc['id']}/impact").json()
    assert any(o["code"] == "35238" and o["function"] == "maire" for o in impact["officials"])
    assert impact["population_method"] == "commune_area_share"
    assert client.delete(f"/api/v1/incidents/{inc['id']}").status_code == 200
    assert client.get(f"/api/v1/incidents/{inc['id']}").status_code == 404
    audit = client.app.state.territoria.db  # type: ignore[attr-defined]
    with audit.reader() as cur:
        actor = cur.execute("SELECT actor FROM audit_log WHERE event = 'incident.add' AND "
                            "target = ?", [str(inc["id"])]).fetchone()  # fmt: skip
    assert actor == ("web:admin",)


def test_rest_bad_requests(client: TestClient) -> None:
    outside = {
        "type": "flood",
        "severity": 2,
        "start": "2026-12-02T08:00:00",
        "geometry": {"type": "Point", "coordinates": [-30, 40]},
        "radius_m": 500,
    }
    bad = client.post("/api/v1/incidents", json=outside)
    assert bad.status_code == 422 and "outside France" in bad.text
    assert client.post("/api/v1/incidents", json={**outside, "severity": 0}).status_code == 422
    assert client.get("/api/v1/incidents/999").status_code == 404
    assert client.get("/api/v1/incidents/999/impact").status_code == 404
