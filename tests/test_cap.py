"""CAP 1.2: exports validate against the official OASIS schema, a round trip keeps the fields,
files failing the schema are refused naming line and element, with nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape

from territoria.crisis.cap import export_cap, import_cap, schema, validate_cap
from territoria.crisis.incidents import IncidentInput, add_incident
from territoria.errors import InvalidCapFile
from territoria.kb import connect
from test_api_helpers import login, make_app, make_kb

ZONE = "POLYGON((-1.70 48.09, -1.65 48.09, -1.65 48.13, -1.70 48.13, -1.70 48.09))"
#: A CAP 1.2 alert as another system sends it (no territoria parameters), a circle zone.
FOREIGN = b"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>FR-35-2026-0042</identifier>
  <sender>cod35@ille-et-vilaine.gouv.fr</sender>
  <sent>2026-12-02T09:30:00+01:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>fr-FR</language>
    <category>Fire</category>
    <event>Incendie</event>
    <urgency>Immediate</urgency>
    <severity>Extreme</severity>
    <certainty>Observed</certainty>
    <headline>Incendie d'entrepot a Rennes</headline>
    <area>
      <areaDesc>Rennes sud</areaDesc>
      <circle>48.09,-1.68 2.0</circle>
    </area>
  </info>
</alert>
"""


def count(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM incident").fetchone()
    assert row is not None
    return int(row[0])


def test_schema_is_the_official_cap_1_2() -> None:
    assert schema().target_namespace == "urn:oasis:names:tc:emergency:cap:1.2"
    assert "alert" in schema().elements


def test_round_trip_validates_and_keeps_fields(mini_db: duckdb.DuckDBPyConnection) -> None:
    inc = add_incident(mini_db, IncidentInput(
        type="flood", severity=4, geometry=ZONE, start="2026-12-02T08:00:00",
        end="2026-12-04T18:00:00", title="Crue de la Vilaine", exercise=True,
        description="Débordement en aval du barrage"))  # fmt: skip
    data = export_cap(mini_db, inc.id)
    root = validate_cap(data)  # the export passes the OASIS schema
    assert root.findtext("{urn:oasis:names:tc:emergency:cap:1.2}status") == "Exercise"
    assert b"<category>Met</category>" in data and b"<severity>Severe</severity>" in data
    back = import_cap(mini_db, data, where="round-trip.xml")
    same = ("title", "type", "severity", "status", "exercise", "start", "end", "description")
    assert {k: getattr(back, k) for k in same} == {k: getattr(inc, k) for k in same}
    assert shape(back.geometry).equals_exact(shape(inc.geometry), 1e-6)
    assert back.cap_identifier == f"territoria-incident-{inc.id}"
    event = mini_db.execute("SELECT event FROM audit_log WHERE target = ?", [str(back.id)])
    assert event.fetchall() == [("incident.import",)]


def test_foreign_alert_mapped_from_cap_fields(mini_db: duckdb.DuckDBPyConnection) -> None:
    inc = import_cap(mini_db, FOREIGN, where="cod35.xml")
    assert (inc.type, inc.severity, inc.status, inc.exercise) == ("fire", 5, "Actual", False)
    assert inc.start.isoformat() == "2026-12-02T08:30:00"  # <sent>, in UTC
    assert inc.source.startswith("cod35@ille-et-vilaine.gouv.fr")
    area = shape(inc.geometry)
    assert area.contains(shape({"type": "Point", "coordinates": [-1.68, 48.09]}))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ((b"<status>Actual</status>", b"<status>Real</status>"),
         r"line 6, element /alert/status: value must be one of"),
        ((b"<msgType>Alert</msgType>", b""), r"line 2, element /alert: .*scope.*msgType' expected"),
        ((b"<urgency>Immediate</urgency>", b"<urgency>Now</urgency>"),
         r"line 13, element /alert/info/urgency"),
        ((b"urn:oasis:names:tc:emergency:cap:1.2", b"urn:oasis:names:tc:emergency:cap:1.1"),
         "not a CAP 1.2 <alert>"),
        ((b"</alert>", b""), r"not well-formed XML \(line \d+\)"),
        ((b"<circle>48.09,-1.68 2.0</circle>", b""), "no <polygon> or <circle>"),
        ((b"48.09,-1.68 2.0", b"20.0,-30.0 2.0"), "outside France"),
    ],
)  # fmt: skip
def test_bad_cap_refused_nothing_written(
    mini_db: duckdb.DuckDBPyConnection, edit: tuple[bytes, bytes], message: str
) -> None:
    with pytest.raises(InvalidCapFile, match=message):
        import_cap(mini_db, FOREIGN.replace(*edit), where="bad.xml")
    assert count(mini_db) == 0


def test_cli_import_export(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from territoria.cli import app

    row = mini_db.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                          "current_database()").fetchone()  # fmt: skip
    assert row is not None
    mini_db.execute("CHECKPOINT")
    mini_db.close()
    db = str(row[0])
    source = tmp_path / "alerte.xml"
    source.write_bytes(FOREIGN)
    run = CliRunner().invoke
    made = run(app, ["incidents", "import", str(source), "--db", db])
    assert made.exit_code == 0 and "Incendie d'entrepot a Rennes" in made.stdout
    out = tmp_path / "out.xml"
    assert run(app, ["incidents", "export", "1", "-o", str(out), "--db", db]).exit_code == 0
    validate_cap(out.read_bytes())
    bad = tmp_path / "bad.xml"
    bad.write_bytes(FOREIGN.replace(b"Actual", b"Real"))
    refused = run(app, ["incidents", "import", str(bad), "--db", db])
    assert refused.exit_code == 2 and "line 6" in refused.output
    con = connect(db, read_only=True)
    assert count(con) == 1
    con.close()


@pytest.fixture(scope="module")
def client(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = make_kb(mini_db_path, tmp_path_factory.mktemp("cap"))
    connect(path).close()
    made: Any = make_app(path)
    with TestClient(made) as c:
        c.headers["X-CSRF-Token"] = login(c, "admin")
        yield c
    made.state.territoria.db.close()


def test_rest_cap_import_export(client: TestClient) -> None:
    xml = {"Content-Type": "application/xml"}
    made = client.post("/api/v1/incidents/cap", content=FOREIGN, headers=xml)
    assert made.status_code == 201, made.text
    inc = made.json()
    assert inc["type"] == "fire" and inc["severity"] == 5
    out = client.get(f"/api/v1/incidents/{inc['id']}/cap")
    assert out.status_code == 200 and out.headers["content-type"].startswith("application/xml")
    validate_cap(out.content)
    bad = client.post("/api/v1/incidents/cap", content=FOREIGN.replace(b"Actual", b"Real"),
                      headers=xml)  # fmt: skip
    assert bad.status_code == 422 and "line 6" in bad.text
    assert len(client.get("/api/v1/incidents").json()) == 1
    assert client.get("/api/v1/incidents/999/cap").status_code == 404
