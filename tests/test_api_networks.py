"""Networks through the web application: REST routes and the territory-page section."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from osm_planted import write_tiny
from territoria.kb import connect
from territoria.networks.criticality import criticality
from territoria.sources.osm import import_osm
from test_api_helpers import login, make_app, make_kb
from test_french_pages import raw_tokens, visible_text


@pytest.fixture(scope="module")
def client(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("networks")
    path = make_kb(mini_db_path, folder)
    con = connect(path)
    try:
        import_osm(con, write_tiny(con, folder / "tiny.osm.pbf"))
        criticality(con, 1)
    finally:
        con.close()
    app: Any = make_app(path)
    with TestClient(app) as c:
        login(c, "viewer")
        yield c
    app.state.territoria.db.close()


def test_rest_routes(client: TestClient) -> None:
    listed = client.get("/api/v1/networks").json()
    assert listed[0]["name"] == "tiny" and listed[0]["edges"] == 6
    crit = client.get("/api/v1/networks/1/criticality?top=3").json()
    bridge = crit["top"][0]
    assert bridge["is_bridge"] and bridge["isolated"] == [["35022", "Bécherel", 669]]
    iso = client.get(f"/api/v1/networks/1/isolation?close={bridge['edge']}&flooded=").json()
    assert iso["isolated"] == [["35022", "Bécherel", 669]]
    flooded = client.get(f"/api/v1/networks/1/isolation?close={bridge['edge']}&flooded=35022")
    assert flooded.json()["inside_zone"] == [["35022", "Bécherel", 669]]
    acc = client.get("/api/v1/networks/1/access?kind=mairie_epci").json()
    assert {c["code"] for c in acc["communes"]} == {"35238", "35024", "35051", "35022"}
    geo = client.get("/api/v1/networks/1/edges?bbox=-2,48,-1.5,48.4").json()
    assert geo["features"][0]["properties"]["is_bridge"] and len(geo["features"]) == 6


def test_bad_requests(client: TestClient) -> None:
    assert client.get("/api/v1/networks/9/criticality").status_code == 404
    bad = client.get("/api/v1/networks/1/isolation?close=999")
    assert bad.status_code == 422 and "no edge 999" in bad.text
    assert client.get("/api/v1/networks/1/access?kind=hopital").status_code == 422


def test_territory_page_section(client: TestClient) -> None:
    page = client.get("/territoires/commune/35022")
    assert page.status_code == 200
    assert "Réseau routier : liens critiques" in page.text
    text = visible_text(page.text)
    assert "Bécherel (669 hab.)" in text
    assert not raw_tokens(page.text)
