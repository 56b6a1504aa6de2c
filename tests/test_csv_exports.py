"""Every CSV export neutralises cells a spreadsheet would run as formulas (CSV injection):
the helper, the territory CSV and the level export of the web application."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from territoria._csv_safe import TRIGGERS, neutralise, writer
from territoria.kb import connect
from test_api_helpers import login, make_app, make_kb

FORMULA = '=HYPERLINK("http://x")'
CODE = "99998"


@given(st.text())
def test_neutralised_text_never_starts_a_formula(text: str) -> None:
    cell = neutralise(text)
    assert not cell.startswith(TRIGGERS)
    assert cell == (("'" + text) if text.startswith(TRIGGERS) else text)


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.none()))
def test_numbers_stay_numbers(value: float | None) -> None:
    assert neutralise(value) is value


def test_writer_round_trip() -> None:
    out = io.StringIO()
    writer(out).writerow([FORMULA, -12.5, "+33 2 99", "@x", "Saint-Malo", None])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == [
        "'" + FORMULA,
        "-12.5",
        "'+33 2 99",
        "'@x",
        "Saint-Malo",
        "",
    ]


@pytest.fixture(scope="module")
def client(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The web application on a knowledge base with a commune named as a formula and a
    negative indicator value."""
    path = make_kb(mini_db_path, tmp_path_factory.mktemp("csv"))
    con = connect(path)
    try:
        con.execute(
            "INSERT INTO territory (level, code, name, name_norm, population, population_year, "
            "area_km2, density, source_id) SELECT 'commune', ?, ?, 'hyperlink', 40, 2021, 2.0, "
            "20.0, min(id) FROM source",
            [CODE, FORMULA],
        )
        con.execute(
            "INSERT INTO membership (level, code, parent_level, parent_code, method, source_id) "
            "SELECT 'commune', ?, 'departement', '35', 'source', min(id) FROM source",
            [CODE],
        )
        con.execute(
            "INSERT INTO indicator_definition VALUES ('SOLDE_TEST', 'Solde', 'pers.', NULL)"
        )
        con.execute(
            "INSERT INTO indicator_value SELECT 'commune', ?, 'SOLDE_TEST', '2021', -3.5, "
            "'pers.', min(id) FROM source",
            [CODE],
        )
    finally:
        con.close()
    app = make_app(path)
    with TestClient(app) as c:
        login(c, "viewer")
        yield c
    app.state.territoria.db.close()


def test_territory_csv_is_neutralised(client: TestClient) -> None:
    response = client.get(f"/api/v1/territories/{CODE}/export", params={"level": "commune"})
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["name"] for r in rows} == {"'" + FORMULA}
    figures = {r["figure"]: r["value"] for r in rows}
    assert figures["population"] == "40"


def test_level_export_csv_is_neutralised(client: TestClient) -> None:
    response = client.get(
        "/api/v1/export/commune", params={"format": "csv", "indicators": "SOLDE_TEST"}
    )
    assert response.status_code == 200, response.text
    rows = {r["code"]: r for r in csv.DictReader(io.StringIO(response.text))}
    crafted = rows[CODE]
    assert crafted["name"] == "'" + FORMULA
    assert crafted["population"] == "40"
    value = next(v for k, v in crafted.items() if k.startswith("SOLDE_TEST"))
    assert float(value) == -3.5 and not value.startswith("'")
    # ordinary names are left as they are
    assert rows["35238"]["name"] == "Rennes"
