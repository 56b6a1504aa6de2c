"""Oversized integers in query strings and paths are refused with 422 and the error shape
(a 30-digit ``offset`` used to reach DuckDB and end in a 500)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import annotated_types
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import territoria.api.routes as routes_package
from test_api_helpers import login, make_app, make_kb

HUGE = "1" * 30


@pytest.fixture(scope="module")
def app(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    application = make_app(make_kb(mini_db_path, tmp_path_factory.mktemp("limits")))
    yield application
    application.state.territoria.db.close()


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        login(c, "admin")
        yield c


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/api/v1/territories?level=commune&offset={HUGE}", "offset"),
        (f"/api/v1/territories?level=commune&limit={HUGE}", "limit"),
        (f"/api/v1/actions?year={HUGE}", "year"),
        (f"/api/v1/actions/report?year={HUGE}", "year"),
        (f"/api/v1/audit?before={HUGE}", "before"),
        (f"/api/v1/audit?limit={HUGE}", "limit"),
    ],
)
def test_huge_integers_are_422_with_the_error_shape(
    client: TestClient, url: str, field: str
) -> None:
    response = client.get(url)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["details"]["field"] == field
    assert field in error["message"]


def test_a_large_but_valid_offset_is_an_empty_page(client: TestClient) -> None:
    page = client.get("/api/v1/territories", params={"level": "commune", "offset": 999_999})
    assert page.status_code == 200 and page.json()["items"] == []


def _is_int(annotation: Any) -> bool:
    return annotation is int or int in get_args(annotation)


def _params(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.query_params
    yield from dependant.path_params
    for sub in dependant.dependencies:
        yield from _params(sub)


def _routes() -> Iterator[APIRoute]:
    """Every route of every router module of the web application (pages included)."""
    for info in pkgutil.iter_modules(routes_package.__path__):
        module = importlib.import_module(f"{routes_package.__name__}.{info.name}")
        router = getattr(module, "router", None)
        for route in getattr(router, "routes", ()):
            if isinstance(route, APIRoute):
                yield route


def test_every_integer_parameter_has_an_upper_bound() -> None:
    """A query or path integer without ``le=`` lets any size through to the database."""
    unbounded = []
    checked = 0
    for route in _routes():
        for param in _params(route.dependant):
            if not _is_int(param.field_info.annotation):
                continue
            checked += 1
            metadata = param.field_info.metadata
            if not any(isinstance(m, annotated_types.Le | annotated_types.Lt) for m in metadata):
                unbounded.append(f"{route.path} {param.name}")
    assert unbounded == []
    assert checked >= 10  # offset, limit, year, action_id, zoom, classes, top, before ...
