"""REST API and pages of the economic fabric: economy profiles, poles, pole pages, pole plans."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from naf2025_fixture import import_fixture_naf2025
from territoria.analysis.poles import detect_poles
from territoria.analysis.specialisation import specialisation_profile
from territoria.kb import connect
from test_api_helpers import add_synthetic_sirene, login, make_app, make_kb

REQUIRED = {
    "id",
    "sectors",
    "communes",
    "establishments",
    "employment",
    "label",
    "growth",
    "knowledge_actors",
    "public_actors",
    "hull",
}


@pytest.fixture(scope="module")
def kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web test knowledge base with a synthetic SIRENE région on the mini communes."""
    folder = tmp_path_factory.mktemp("economy")
    path = make_kb(mini_db_path, folder)
    con = connect(path)
    try:  # so that the synthetic files carry NAF 2025 codes (a fixture, not INSEE's content)
        import_fixture_naf2025(con, folder / "naf2025")
    finally:
        con.close()
    return add_synthetic_sirene(path, folder)


@pytest.fixture(scope="module")
def library(kb: Path) -> dict[str, Any]:
    """What the library computes on the same knowledge base (before the app opens it)."""
    con = connect(kb, read_only=True)
    try:
        return {
            "economy": json.loads(
                json.dumps(specialisation_profile(con, "35238", level="commune").to_dict())
            ),
            "poles": json.loads(json.dumps(detect_poles(con, region="53", top=20), default=str)),
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def client(kb: Path, library: dict[str, Any]) -> Iterator[TestClient]:
    app = make_app(kb)
    with TestClient(app) as c:
        login(c, "analyst")
        yield c
    app.state.territoria.db.close()


@pytest.fixture(scope="module")
def pole_id(library: dict[str, Any]) -> str:
    assert library["poles"], "the synthetic région has planted poles"
    return str(library["poles"][0]["id"])


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return dict(body["error"])


def test_economy_profile_is_the_cli_profile(client: TestClient, library: dict[str, Any]) -> None:
    api = client.get("/api/v1/economy/35238", params={"level": "commune"}).json()
    assert api == library["economy"]
    assert api["territory"]["name"] == "Rennes" and api["synthetic"] is True
    assert api["specialised"] and all(e["lq"] > 0 for e in api["specialised"])
    lqs = [e["lq"] for e in api["specialised"]]
    assert lqs == sorted(lqs, reverse=True)
    assert 0 <= api["indices"]["krugman"] <= 2 and 0 < api["indices"]["herfindahl"] <= 1
    totals = api["shift_share"]["totals"]
    parts = totals["national"] + totals["industry_mix"] + totals["regional"]
    assert parts == pytest.approx(totals["change"], abs=1e-6)


def test_economy_options(client: TestClient) -> None:
    sections = client.get(
        "/api/v1/economy/53",
        params={"level": "region", "sector_level": "section", "top": 21},
    ).json()
    assert {e["sector"] for e in sections["largest"]} <= set("ABCDEFGHIJKLMNOPQRSTU")
    assert sum(e["value"] for e in sections["largest"]) == pytest.approx(
        sections["totals"]["value"]
    )
    counts = client.get(
        "/api/v1/economy/243500139",
        params={
            "level": "epci",
            "measure": "establishments",
            "reference": "departement",
            "since": "2019-06-30",
        },
    ).json()
    assert counts["measure"] == "establishments" and counts["reference"] == "departement"
    assert counts["totals"]["reference_code"] == "35"
    assert counts["shift_share"]["start"] == "2019-06-30"
    assert counts["reference_scope"]["name"] == "Ille-et-Vilaine" and not counts["warnings"]


def test_economy_in_naf_2025_names_its_reference(client: TestClient) -> None:
    params = {"level": "commune", "sector_level": "class"}
    naf25 = client.get("/api/v1/economy/35238", params={**params, "naf": "2025"}).json()
    rev2 = client.get("/api/v1/economy/35238", params={**params, "naf": "rev2"}).json()
    assert naf25["nomenclature"] == "2025" and rev2["nomenclature"] == "rev2"
    assert {e["sector"] for e in naf25["largest"]} != {e["sector"] for e in rev2["largest"]}
    assert naf25["totals"]["establishments"] <= rev2["totals"]["establishments"]
    # one synthetic région imported: the "nation" is Bretagne, and the profile says so
    assert naf25["reference_scope"] == rev2["reference_scope"]
    assert rev2["reference_scope"]["name"] == "Bretagne (53)"
    assert "one région only" in rev2["warnings"][0]
    assert "head-count band" in rev2["shift_share"]["caveat"]
    assert "naf" in str(_error(client.get("/api/v1/economy/35238?naf=2008"), 422))


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/economy/35238?sector_level=planet", "sector_level"),
        ("/api/v1/economy/35238?measure=turnover", "measure"),
        ("/api/v1/economy/35238?reference=galaxy", "reference"),
        ("/api/v1/economy/35238?since=yesterday", "since"),
        ("/api/v1/economy/35238?top=0", "top"),
        ("/api/v1/economy/35238?level=galaxy", "level"),
        ("/api/v1/poles?region=5", "region"),
        ("/api/v1/poles?region=53&departement=35", "departement"),
        ("/api/v1/poles?format=kml", "format"),
        ("/api/v1/poles/nothing", "pole_id"),
        ("/api/v1/poles/nothing/hull", "pole_id"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(client: TestClient, url: str, field: str) -> None:
    error = _error(client.get(url), 422)
    assert error["details"]["field"] == field
    assert field in error["message"]


def test_unknown_codes_and_poles_are_404(client: TestClient) -> None:
    assert _error(client.get("/api/v1/economy/12345"), 404)["code"] == "unknown_territory"
    assert _error(client.get("/api/v1/poles?region=11"), 404)["code"] == "unknown_territory"
    for url in ("/api/v1/poles/g99-35238", "/api/v1/poles/g01-99998/hull"):
        error = _error(client.get(url), 404)
        assert error["code"] == "unknown_pole" and "g" in error["message"]
    page = client.get("/poles/g99-35238")
    assert page.status_code == 404 and "g99-35238" in page.text


def test_poles_are_the_cli_poles(client: TestClient, library: dict[str, Any]) -> None:
    api = client.get("/api/v1/poles", params={"region": "53"}).json()
    assert api == library["poles"]
    assert all(set(p) >= REQUIRED for p in api)
    again = client.get("/api/v1/poles", params={"region": "53"})
    assert again.json() == api  # served from the cache
    in_35 = client.get("/api/v1/poles", params={"departement": "35"}).json()
    assert {p["id"] for p in in_35} == {p["id"] for p in api}  # the mini base is one département


def test_poles_geojson_layer(client: TestClient, library: dict[str, Any]) -> None:
    response = client.get("/api/v1/poles", params={"region": "53", "format": "geojson"})
    assert response.headers["content-type"].startswith("application/geo+json")
    data = response.json()
    assert data["type"] == "FeatureCollection" and data["synthetic"] is True
    assert {f["id"] for f in data["features"]} == {p["id"] for p in library["poles"]}
    for feature in data["features"]:
        props = feature["properties"]
        assert feature["geometry"]["type"] == "Polygon"
        assert props["category"] in {"3-star", "2-star", "1-star", "emerging", "0-star"}
        assert props["label"] == f"{props['stars']}-star"
        assert props["synthetic"] is True and props["establishments"] >= 10


def test_one_pole_and_its_hull(client: TestClient, library: dict[str, Any], pole_id: str) -> None:
    pole = client.get(f"/api/v1/poles/{pole_id}").json()
    assert pole == library["poles"][0]
    assert pole["commune_names"][pole["centre"]["commune"]] == pole["centre"]["name"]
    hull = client.get(f"/api/v1/poles/{pole_id}/hull")
    assert hull.headers["content-type"].startswith("application/geo+json")
    feature = hull.json()
    assert feature["type"] == "Feature" and feature["id"] == pole_id
    assert feature["geometry"] == pole["hull"]
    assert feature["properties"]["label"] == pole["label"]


def test_pole_page(client: TestClient, library: dict[str, Any], pole_id: str) -> None:
    pole = library["poles"][0]
    page = client.get(f"/poles/{pole_id}")
    assert page.status_code == 200
    text = page.text
    assert 'id="pole-name"' in text and pole["centre"]["name"] in text
    assert "Données synthétiques" in text and "données synthétiques" in text
    assert html.unescape(text).count(pole["sector_breakdown"][0]["label"]) >= 1  # NAF labels
    assert pole["firms"][0]["siret"] in text
    assert f"candidates=pole:{pole_id}" in text and "theme=competitiveness-poles" in text
    stars = {0: "Aucune étoile", 1: "1 étoile", 2: "2 étoiles", 3: "3 étoiles"}[pole["stars"]]
    assert stars in html.unescape(text)
    for reason in pole["star_reasons"]:  # each criterion with its verdict
        verdict = "★ obtenue" if reason["met"] else "☆ non obtenue"
        assert f'data-criterion="{reason["criterion"]}"' in text
        assert verdict in html.unescape(text)
    english = client.get(f"/poles/{pole_id}", params={"lang": "en"}).text
    assert "Synthetic data" in english and "Largest firms" in english
    client.get("/", params={"lang": "fr"})


def test_map_and_territory_pages_offer_the_economy(client: TestClient) -> None:
    carte = client.get("/carte", params={"poles": "1"}).text
    assert 'id="map-poles"' in carte and "checked" in carte.split('id="map-poles"')[1][:20]
    assert '"poles": true' in carte
    page = client.get("/territoires/commune/35238").text
    assert 'id="economy"' in page and "Tissu économique" in page


def test_pages_without_establishments(mini_db_path: Path, tmp_path: Path) -> None:
    app = make_app(make_kb(mini_db_path, tmp_path))
    with TestClient(app) as c:
        login(c, "viewer")
        assert 'id="map-poles"' not in c.get("/carte").text
        assert 'id="economy"' not in c.get("/territoires/commune/35238").text
        error = _error(c.get("/api/v1/economy/35238"), 404)
        assert error["code"] == "no_establishments" and "import sirene" in error["message"]
        assert _error(c.get("/api/v1/poles"), 404)["code"] == "no_establishments"
    app.state.territoria.db.close()


def _wait(client: TestClient, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/influence/plans/{job_id}").json()
        if job["status"] in {"done", "failed"}:
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"plan {job_id} not finished after {timeout} s")


def test_plan_with_the_actors_of_a_pole(client: TestClient, pole_id: str) -> None:
    page = client.get(
        "/influence",
        params={
            "code": "35238",
            "level": "commune",
            "theme": "competitiveness-poles",
            "candidates": f"pole:{pole_id}",
        },
    ).text
    assert f'value="pole:{pole_id}" checked' in page
    assert 'value="competitiveness-poles" title=' in page and "selected" in page
    home = client.get("/")
    csrf = home.text.split('name="csrf-token" content="')[1].split('"')[0]
    headers = {"X-CSRF-Token": csrf}
    body = {
        "code": "35238",
        "level": "commune",
        "theme": "economic-development",
        "k": 2,
        "seed": 3,
        "candidates": f"pole:{pole_id}",
    }
    started = client.post("/api/v1/influence/plans", json=body, headers=headers)
    assert started.status_code == 202, started.text
    done = _wait(client, started.json()["id"])
    assert done["status"] == "done", done["error"]
    plan = done["result"]
    assert 1 <= len(plan["seeds"]) <= 2
    assert all(s["id"].startswith("siren-") for s in plan["seeds"])
    signers = plan["co_signers"]
    assert signers and not {s["id"] for s in signers} & {s["id"] for s in plan["seeds"]}
    gains = [s["added_influence"] for s in signers]
    assert gains == sorted(gains, reverse=True)
    unknown = client.post(
        "/api/v1/influence/plans", json={**body, "candidates": "pole:g99-35238"}, headers=headers
    )
    assert _error(unknown, 404)["code"] == "unknown_pole"
    bad = client.post(
        "/api/v1/influence/plans", json={**body, "candidates": "everyone"}, headers=headers
    )
    assert _error(bad, 422)["details"]["field"] == "candidates"
