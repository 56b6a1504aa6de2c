"""Plan options through the REST API: candidates officials, the LT model, min_rr_sets, and
the graph kept in memory between plans."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from territoria.influence.candidates import official_candidates
from territoria.influence.network import GraphMemo
from test_api_helpers import login, make_app, make_kb


@pytest.fixture(scope="module")
def kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kb(mini_db_path, tmp_path_factory.mktemp("plan_options"))


@pytest.fixture
def analyst(kb: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = make_app(kb)
    with TestClient(app) as c:
        csrf = login(c, "analyst")
        yield c, {"X-CSRF-Token": csrf}
    app.state.territoria.db.close()


def _plan(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    started = client.post("/api/v1/influence/plans", json=body, headers=headers)
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/influence/plans/{started.json()['id']}").json()
        if job["status"] in {"done", "failed"}:
            return dict(job)
        time.sleep(0.1)
    raise AssertionError("plan not finished after 120 s")


def test_officials_lt_plan(kb: Path, analyst: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = analyst
    body = {
        "code": "35238",
        "theme": "roads",
        "k": 2,
        "seed": 3,
        "candidates": "officials",
        "model": "lt",
        "min_rr_sets": 20_000,
    }
    state = client.app.state.territoria  # type: ignore[attr-defined]
    state.graphs = GraphMemo()
    job = _plan(client, headers, body)
    assert job["status"] == "done", job["error"]
    plan = job["result"]
    assert plan["model"] == "lt"
    assert plan["selection_rr_sets"] >= 20_000
    with state.db.reader() as cur:
        officials = set(official_candidates(cur, "35238"))
    assert plan["seeds"] and {s["id"] for s in plan["seeds"]} <= officials
    # the plan left the graph in memory; the next one uses that same graph
    kept = state.graphs.current
    assert kept is not None and kept.fingerprint == plan["graph"]["fingerprint"]
    again = _plan(client, headers, {**body, "seed": 4})
    assert again["status"] == "done" and state.graphs.current is kept
    unknown = client.post(
        "/api/v1/influence/plans", json={**body, "candidates": "friends"}, headers=headers
    )
    assert unknown.status_code == 422
