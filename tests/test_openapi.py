"""Every JSON route of the REST API declares its response model, and OpenAPI lists its schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from territoria.analysis.profile import Profile
from territoria.kb.territories import Overview, TerritoryCard
from test_api_helpers import login, make_app, make_kb

SUCCESS = ("200", "201", "202")


@pytest.fixture(scope="module")
def app(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    application = make_app(make_kb(mini_db_path, tmp_path_factory.mktemp("openapi")))
    yield application
    application.state.territoria.db.close()


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        login(c, "viewer")
        yield c


def _json_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """The routes under /api/v1 (with their full paths) that answer JSON: not files, CSV or
    GeoJSON streams (those declare another ``response_class``), nor 204 No Content."""
    found = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        if not isinstance(route, APIRoute) or not str(path).startswith("/api/v1/"):
            continue
        kind = route.response_class
        kind = getattr(kind, "value", kind)  # FastAPI's placeholder for the default class
        if route.status_code != 204 and isinstance(kind, type) and issubclass(kind, JSONResponse):
            found.append((str(path), route))
    assert len(found) >= 15, [p for p, _ in found]
    return found


def _schema_refs(schema: dict[str, Any]) -> list[str]:
    """The component names a response schema points to (itself, or the items of an array)."""
    if "$ref" in schema:
        return [schema["$ref"].rsplit("/", 1)[-1]]
    if schema.get("type") == "array":
        return _schema_refs(schema["items"])
    return [name for part in schema.get("anyOf", []) for name in _schema_refs(part)]


def test_every_json_route_declares_a_response_model_listed_in_openapi(
    app: FastAPI, client: TestClient
) -> None:
    spec = client.get("/openapi.json").json()
    components = spec["components"]["schemas"]
    missing = []
    for path, route in _json_routes(app):
        if route.response_model is None:
            missing.append(f"{sorted(route.methods or ())} {path}: no response_model")
            continue
        for method in route.methods or ():
            responses = spec["paths"][path][method.lower()]["responses"]
            success = next(responses[s] for s in SUCCESS if s in responses)
            schema = success["content"]["application/json"]["schema"]
            names = _schema_refs(schema)
            if not names or not all(n in components for n in names):
                missing.append(f"{method} {path}: schema {schema!r} not in components")
    assert not missing, "\n".join(missing)


def test_the_schemas_describe_the_fields(client: TestClient) -> None:
    components = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"population", "officials", "parents", "sources"} <= set(
        components["Profile"]["properties"]
    )
    assert {"level_label", "parents", "children", "source"} <= set(
        components["TerritoryCard"]["properties"]
    )
    assert "EconomicProfile" in components and "Pole" in components
    assert "bodies" in components["ThemeOut"]["properties"]


def test_profile_of_rennes_through_its_model(client: TestClient) -> None:
    body = client.get("/api/v1/territories/35238/profile").json()
    rennes = Profile.model_validate(body)
    assert (rennes.name, rennes.population, rennes.population_year) == ("Rennes", 216_815, 2017)
    assert rennes.parents[0].name == "Rennes Métropole"
    card = TerritoryCard.model_validate(client.get("/api/v1/territories/35238").json())
    assert card.population == 216_815 and card.level_label.fr == "commune"
    assert [p.name for p in card.parents] == ["Bretagne", "Ille-et-Vilaine", "Rennes Métropole"]


def test_overview_and_themes_through_their_models(client: TestClient) -> None:
    overview = Overview.model_validate(client.get("/api/v1/overview").json())
    counts = {lv.level: lv.count for lv in overview.levels}
    assert counts["epci"] == 2 and counts["departement"] == 1
    themes = {t["id"]: t for t in client.get("/api/v1/influence/themes").json()}
    roads = themes["roads"]
    # the same shape as 'territoria influence themes --json': bodies as objects
    assert roads["bodies"] and set(roads["bodies"][0]) == {"level", "weight"}
    assert roads["label_fr"] and roads["law"]
