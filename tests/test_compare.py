"""Comparison: values equal the knowledge base's, percentile ranks, references, series,
flags, exports, bad input; on France, Paris with Lyon, Marseille and overseas communes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from openpyxl import load_workbook

from territoria.analysis.compare import compare, comparison_csv, write_comparison
from territoria.errors import ExportError, InvalidComparison, UnknownTerritory
from test_peers import build_kb

FEATURES = ["population", "part_65p", "taux_vacance", "lycees_test"]


@pytest.fixture(scope="module")
def kb(
    mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = build_kb(mini_db_path, tmp_path_factory.mktemp("compare"))
    # a count indicator held for part of the communes (small counts are flagged)
    con.execute(
        "INSERT INTO indicator_value SELECT 'commune', code, 'lycees_test', '2026', "
        "CASE WHEN code = '35238' THEN 31 ELSE 1 END, 'lycées', "
        "(SELECT id FROM source WHERE name = 'insee-rp-2021-test') FROM territory "
        "WHERE level = 'commune' AND code IN ('35238', '35047', '35051')"
    )
    yield con
    con.close()


def kb_value(con: duckdb.DuckDBPyConnection, code: str, indicator: str, period: str) -> float:
    row = con.execute(
        "SELECT value FROM indicator_value WHERE level = 'commune' AND code = ? "
        "AND indicator = ? AND period = ?",
        [code, indicator, period],
    ).fetchone()
    assert row
    return float(row[0])


def test_values_equal_the_kb(kb: duckdb.DuckDBPyConnection) -> None:
    result = compare(kb, "35238", ["35047", "35005"], indicators=FEATURES)
    assert [t.code for t in result.territories] == ["35238", "35047", "35005"]
    rennes, bruz, arbrissel = result.territories
    assert rennes.values["part_65p"].value == kb_value(kb, "35238", "part_65p", "2021")
    assert bruz.values["population"].value == kb_value(kb, "35047", "population", "2023")
    assert rennes.values["population"].percentile == pytest.approx(100 * 58.5 / 59)
    assert arbrissel.flags == ["small_population"]
    assert "small_population" in arbrissel.values["part_65p"].flags
    assert arbrissel.values["lycees_test"].flags == ["missing"]
    assert bruz.values["lycees_test"].flags == ["small_count"]
    assert rennes.values["lycees_test"].flags == []


def test_references_and_single_region_note(kb: duckdb.DuckDBPyConnection) -> None:
    result = compare(kb, "35238", ["35047"], indicators=FEATURES)
    shares = np.array(
        [
            r[0]
            for r in kb.execute(
                "SELECT value FROM indicator_value "
                "WHERE indicator = 'part_65p' AND level = 'commune'"
            ).fetchall()
        ]
    )
    ref = next(r for r in result.references if r.indicator == "part_65p")
    assert ref.national_median == pytest.approx(float(np.median(shares)))
    assert ref.regional_median == {"53": pytest.approx(float(np.median(shares)))}
    assert ref.period == "2021" and "INSEE" in ref.source
    assert result.regions == {"53": "Bretagne"}
    assert result.notes and "one région only (Bretagne)" in result.notes[0]


def test_population_series(kb: duckdb.DuckDBPyConnection) -> None:
    result = compare(kb, "35238", ["35047"], indicators=["population"])
    rennes = [(p.period, p.value) for p in result.series if p.code == "35238"]
    assert [p for p, _ in rennes] == ["2016", "2019", "2020", "2021", "2022", "2023"]
    assert rennes[-1][1] == kb_value(kb, "35238", "population", "2023")


def test_exports(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    result = compare(kb, "35238", ["35047"], indicators=FEATURES)
    rows = list(csv.reader(io.StringIO(comparison_csv(result)), delimiter=";"))
    assert rows[0][:3] == ["code", "nom", "indicateur"]
    line = next(r for r in rows if r[0] == "35047" and r[2] == "part_65p")
    assert float(line[5]) == kb_value(kb, "35047", "part_65p", "2021")
    write_comparison(result, tmp_path / "c.xlsx")
    book = load_workbook(tmp_path / "c.xlsx")
    assert book.sheetnames == ["comparaison", "séries"]
    sheet = list(book["comparaison"].iter_rows(values_only=True))
    assert len(sheet) == 1 + 2 * len(FEATURES)
    with pytest.raises(ExportError, match=r"\.csv or \.xlsx"):
        write_comparison(result, tmp_path / "c.pdf")


def test_bad_input(kb: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(UnknownTerritory, match="'12345'"):
        compare(kb, "35238", ["12345"])
    with pytest.raises(InvalidComparison, match="at most 10"):
        compare(kb, "35238", [str(35001 + i) for i in range(11)])
    with pytest.raises(UnknownTerritory, match="level 'commune'"):
        compare(kb, "35238", ["243500139"])  # an EPCI is not of the commune's level


@pytest.mark.slow
def test_france_paris_lyon_marseille_overseas(full_db: duckdb.DuckDBPyConnection) -> None:
    result = compare(
        full_db,
        "75056",
        ["69123", "13055", "97209", "97302", "97611"],
        indicators=["population", "density"],
    )
    assert [t.name for t in result.territories] == [
        "Paris",
        "Lyon",
        "Marseille",
        "Fort-de-France",
        "Cayenne",
        "Mamoudzou",
    ]
    regions = [t.region for t in result.territories]
    assert regions == ["11", "84", "93", "02", "03", "06"]
    assert result.notes == []  # every région is held: the national median is France's
    assert result.territories[0].values["population"].percentile > 99.9
    arrondissement = compare(full_db, "75101", ["69381", "13201"])
    assert arrondissement.level == "arrondissement_municipal"


def test_cli_compare(kb: duckdb.DuckDBPyConnection, tmp_path: Path, mini_db_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from territoria.cli import app
    from test_peers import build_kb as build

    build(mini_db_path, tmp_path).close()
    db = ["--db", str(tmp_path / "kb.duckdb")]
    out = CliRunner().invoke(app, ["compare", "35238", "--with", "35047,35005", "--json", *db])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [t["code"] for t in data["territories"]] == ["35238", "35047", "35005"]
    value = data["territories"][1]["values"]["part_65p"]["value"]
    assert value == kb_value(kb, "35047", "part_65p", "2021")
    target = tmp_path / "cmp.xlsx"
    written = CliRunner().invoke(
        app, ["compare", "35238", "--with", "35047", "-o", str(target), *db]
    )
    assert written.exit_code == 0 and load_workbook(target).sheetnames[0] == "comparaison"
    table = CliRunner().invoke(app, ["compare", "35238", "--with", "35047", *db])
    assert "Rennes (35238)" in table.stdout and "une région" not in table.stdout
    bad = CliRunner().invoke(app, ["compare", "35238", "--with", "12345", *db])
    assert bad.exit_code == 2 and "'12345'" in bad.output


@pytest.fixture(scope="module")
def client(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from test_peers import web_client

    yield from web_client(mini_db_path, tmp_path_factory.mktemp("compare_web"))


def test_api_compare(client: Any, kb: duckdb.DuckDBPyConnection) -> None:
    url = "/api/v1/territories/35238/compare"
    response = client.get(url, params={"with": "35047,35005"})
    assert response.status_code == 200, response.text
    data = response.json()
    bruz = data["territories"][1]
    assert bruz["values"]["part_65p"]["value"] == kb_value(kb, "35047", "part_65p", "2021")
    assert data["territories"][2]["flags"] == ["small_population"]
    as_csv = client.get(url, params={"with": "35047", "format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "35047;Bruz;part_65p" in as_csv.text
    as_xlsx = client.get(url, params={"with": "35047", "format": "xlsx"})
    assert load_workbook(io.BytesIO(as_xlsx.content)).sheetnames == ["comparaison", "séries"]
    bad = client.get(url, params={"with": "12345"})
    assert bad.status_code == 404 and "12345" in bad.text
    many = client.get(url, params={"with": ",".join(str(35001 + i) for i in range(11))})
    assert many.status_code == 422


def test_compare_page(client: Any, kb: duckdb.DuckDBPyConnection) -> None:
    page = client.get(
        "/comparer", params={"code": "35238", "level": "commune", "with": "35047,35005"}
    )
    assert page.status_code == 200, page.text
    assert 'id="compare-table"' in page.text and "Bruz" in page.text
    assert "Médiane nationale" in page.text and "centile" in page.text
    assert "petite population" in page.text  # Arbrissel, 306 inhabitants
    assert "qu&#39;une région" in page.text or "qu'une région" in page.text
    assert 'id="compare-data"' in page.text and 'id="export-xlsx"' in page.text
    share = kb_value(kb, "35047", "part_65p", "2021")
    assert f"{share:.1f}".replace(".", ",") in page.text  # French decimals
    empty = client.get("/comparer")
    assert empty.status_code == 200 and 'id="compare-form"' in empty.text
    wrong = client.get("/comparer", params={"code": "35238", "with": "12345"})
    assert wrong.status_code == 404 and 'id="compare-error"' in wrong.text
    english = client.get("/comparer", params={"code": "35238", "with": "35047", "lang": "en"})
    assert "National median" in english.text


def test_french_pages_show_no_raw_token(client: Any) -> None:
    from test_french_pages import raw_tokens

    french = {"code": "35238", "with": "35047,35005", "lang": "fr"}  # the cookie may say en
    page = client.get("/comparer", params=french).text
    assert raw_tokens(page) == []
    territory = client.get("/territoires/commune/35238", params={"lang": "fr"}).text
    start = territory.index('<section class="card" id="peers">')
    section = territory[start : territory.index("</section>", start)]
    assert raw_tokens(section) == []
