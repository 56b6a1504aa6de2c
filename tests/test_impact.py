"""Impact of an incident: Rennes's population, mayor and town-hall contact; establishments and
jobs from SIRENE bands (hand-computed); isolated and inside-the-zone communes kept apart on a
planted network; an empty network and an unknown incident refused; an economic shock."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from osm_planted import positions, write_tiny
from territoria.crisis.impact import impact, shock
from territoria.crisis.incidents import IncidentInput, add_incident
from territoria.errors import InvalidIncident, UnknownIncident
from territoria.sources.osm import import_osm


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


def around(x: float, y: float, r: float) -> str:
    return box(x - r, y - r, x + r, y + r)


def incident(con: duckdb.DuckDBPyConnection, zone: str, **kw: object) -> int:
    req = IncidentInput(type="flood", severity=4, geometry=zone, start="2026-12-02T08:00",
                        exercise=True, **kw)  # type: ignore[arg-type]  # fmt: skip
    return add_incident(con, req).id


def rennes_box(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT xmin, ymin, xmax, ymax FROM territory WHERE level = 'commune' "
                      "AND code = '35238'").fetchone()  # fmt: skip
    assert row is not None
    return box(row[0] - 0.001, row[1] - 0.001, row[2] + 0.001, row[3] + 0.001)


def test_rennes_population_mayor_and_town_hall(mini_db: duckdb.DuckDBPyConnection) -> None:
    found = impact(mini_db, incident(mini_db, rennes_box(mini_db)))
    row = mini_db.execute("SELECT population FROM territory WHERE level = 'commune' "
                          "AND code = '35238'").fetchone()  # fmt: skip
    assert row is not None
    rennes = next(t for t in found.territories if t.code == "35238")
    assert rennes.share == 1.0 and rennes.population_affected == row[0]
    assert found.population_affected >= row[0]
    assert {t.level for t in found.territories} == {"commune", "epci", "departement", "region"}
    epci = next(t for t in found.territories if t.level == "epci")
    assert epci.code == "243500139" and epci.population_affected >= row[0]
    mayor = next(o for o in found.officials if o.code == "35238" and o.function == "maire")
    assert mayor.name == "Nathalie APPÉRÉ" and mayor.territory == "Rennes"
    assert mayor.contact is not None and mayor.contact["email"] == "ville.rennes@ville-rennes.fr"
    assert mayor.contact["phone"] and "Rennes" in mayor.contact["address"]
    president = next(o for o in found.officials if o.level == "epci")
    assert president.function == "présidente"  # feminised from the source's sex
    # a président or a deputy is never given the town hall of a commune where they also sit
    assert all(
        o.contact is None or o.contact["of"] == "siège"
        for o in found.officials
        if o.level != "commune"
    )
    assert any(o.level == "circonscription" and o.function.startswith("député")
               for o in found.officials)  # fmt: skip
    assert ("mairie", "Mairie de Rennes", "35238") in [
        (s.kind, s.name, s.commune_code) for s in found.services
    ]
    figures = {s.figure for s in found.sources}
    assert {"incident", "population", "officials"} <= figures
    assert found.population_method == "commune_area_share" and found.incident.exercise


def test_establishments_and_jobs_from_bands(mini_db: duckdb.DuckDBPyConnection) -> None:
    sid = mini_db.execute("SELECT min(id) FROM source").fetchone()[0]  # type: ignore[index]
    rows = [("1", "12", -1.68, 48.11), ("2", "53", -1.67, 48.10), ("3", "NN", -1.68, 48.10),
            ("4", "41", -2.50, 48.50)]  # the last one outside the zone  # fmt: skip
    mini_db.executemany(
        "INSERT INTO establishment (siret, siren, commune, naf, headcount_band, active, name, "
        "lon, lat, source_id, employment) VALUES (?, ?, '35238', '10.71C', ?, true, ?, ?, ?, ?, 0)",
        [[s * 14, s * 9, band, f"Etab {s}", x, y, sid] for s, band, x, y in rows],
    )
    found = impact(mini_db, incident(mini_db, box(-1.70, 48.09, -1.65, 48.13)))
    assert found.establishments == 3
    assert found.jobs_estimated == 34.5 + 10000.0  # band mid-points; NN counts 0
    assert (found.jobs_low, found.jobs_high) == (20 + 10000, 49 + 10000)
    assert [e.siret for e in found.establishments_top] == ["2" * 14, "1" * 14]
    hit = shock(mini_db, "2" * 14)
    assert hit.jobs_estimated == 10000.0 and hit.commune == "35238"
    commune = next(e for e in hit.exposed if e["level"] == "commune")
    assert commune["jobs_in_territory"] == 34.5 + 10000 + 749.5
    assert commune["exposure"] == pytest.approx(10000 / (34.5 + 10000 + 749.5), abs=1e-4)
    with pytest.raises(UnknownIncident, match="no establishment"):
        shock(mini_db, "0" * 14)


def test_isolated_and_flooded_kept_apart(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """The bridge A-D (Rennes - Bécherel) cut away from Bécherel isolates it; a flood over
    Bécherel's town hall that cuts the same bridge puts it inside the zone, not isolated."""
    import_osm(mini_db, write_tiny(mini_db, tmp_path / "tiny.osm.pbf"))
    pos = positions(mini_db)
    (ax, ay), (dx, dy) = pos["A"], pos["D"]
    bridge = incident(mini_db, around((ax + dx) / 2, (ay + dy) / 2, 0.005), network_id=1)
    cut = impact(mini_db, bridge)
    assert [c["code"] for c in cut.isolated_communes] == ["35022"]
    assert cut.inside_zone_communes == ()
    assert ("mairie", "Mairie de Bécherel", "35022") in [
        (s.kind, s.name, s.commune_code) for s in cut.services_out_of_reach
    ]
    assert any(s.figure == "network" for s in cut.sources)
    flood = incident(mini_db, around(dx, dy, 0.005), network_id=1)
    inside = impact(mini_db, flood)
    assert inside.isolated_communes == ()
    assert [c["code"] for c in inside.inside_zone_communes] == ["35022"]
    assert impact(mini_db, flood, network_id=None).network_id == 1  # the incident's own


def test_empty_network_and_unknown_incident(mini_db: duckdb.DuckDBPyConnection) -> None:
    mini_db.execute("INSERT INTO network VALUES (5, 'vide', 'road', 1, 0, 0, 0, 1)")
    found = incident(mini_db, box(-1.70, 48.09, -1.65, 48.13))
    with pytest.raises(InvalidIncident, match="network 'vide' has no edges"):
        impact(mini_db, found, network_id=5)
    with pytest.raises(UnknownIncident, match="no incident 999"):
        impact(mini_db, 999)
