"""Influence planner jobs and the actions log through the REST API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from test_api_helpers import login, make_app, make_kb


@pytest.fixture(scope="module")
def kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kb(mini_db_path, tmp_path_factory.mktemp("influence"))


@pytest.fixture
def analyst(kb: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = make_app(kb)
    with TestClient(app) as c:
        csrf = login(c, "analyst")
        yield c, {"X-CSRF-Token": csrf}
    app.state.territoria.db.close()


def _wait(client: TestClient, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/influence/plans/{job_id}").json()
        seen.append(job["status"])
        if job["status"] in {"done", "failed"}:
            job["seen"] = seen
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"plan {job_id} still {seen[-1]} after {timeout} s")


def test_plan_job_runs_and_returns_the_plan(analyst: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = analyst
    body = {"code": "35238", "level": "commune", "theme": "economic-development", "k": 3, "seed": 7}
    started = client.post("/api/v1/influence/plans", json=body, headers=headers)
    assert started.status_code == 202
    job = started.json()
    assert job["status"] in {"queued", "running", "done"} and job["owner"] == "analyst"
    done = _wait(client, job["id"])
    assert done["status"] == "done", done["error"]
    assert done["progress"] == 1.0
    plan = done["result"]
    assert 1 <= len(plan["seeds"]) <= 3
    assert all(s["id"].startswith("p-") and s["name"] for s in plan["seeds"])
    assert plan["actions"][0].startswith("Rencontrer ")
    low, high = plan["mc_ci95"]
    assert low <= plan["mc_estimate"] <= high
    assert 0 < plan["approx_ratio"] <= 1
    assert {t["name"] for t in plan["targets"]} >= {"Nathalie APPÉRÉ"}
    listed = client.get("/api/v1/influence/plans").json()
    assert listed[0]["id"] == job["id"] and listed[0]["result"] is None  # results: per plan


def test_plan_errors_are_reported(analyst: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = analyst
    missing = client.post(
        "/api/v1/influence/plans", json={"code": "35238", "k": 2}, headers=headers
    )
    assert missing.status_code == 422
    assert "theme or explicit targets" in missing.json()["error"]["message"]
    bad_k = client.post(
        "/api/v1/influence/plans",
        json={"code": "35238", "theme": "roads", "k": 0},
        headers=headers,
    )
    assert bad_k.status_code == 422 and bad_k.json()["error"]["details"]["field"] == "k"
    # refused at once, not queued to fail in the worker
    unknown = client.post(
        "/api/v1/influence/plans",
        json={"code": "35238", "theme": "space-travel", "k": 2},
        headers=headers,
    )
    assert unknown.status_code == 422
    assert "space-travel" in unknown.json()["error"]["message"]
    assert unknown.json()["error"]["details"]["field"] == "theme"
    gone = client.get("/api/v1/influence/plans/" + "f" * 32)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_job"


def test_themes(analyst: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = analyst
    themes = {t["id"] for t in client.get("/api/v1/influence/themes").json()}
    assert {
        "economic-development",
        "roads",
        "regional-trains",
        "higher-education",
        "competitiveness-poles",
    } <= themes


def test_actions_crud_and_register_report(analyst: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = analyst
    maire = "p-f32e7ff2540601"
    created = client.post(
        "/api/v1/actions",
        json={
            "date": "2026-03-30",
            "type": "meeting",
            "subject": "Train de nuit Rennes–Saint-Malo",
            "actors": [maire],
            "decision_type": "other",
            "hours": 2,
            "cost_eur": 150,
            "outcome": "positive",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    action_id = created.json()["id"]
    listed = client.get("/api/v1/actions", params={"year": 2026}).json()
    mine = next(a for a in listed if a["id"] == action_id)
    assert mine["actors"] == [maire] and mine["created_by"] == "analyst"
    report = client.get("/api/v1/actions/report", params={"year": 2026})
    assert report.status_code == 200
    assert "Train de nuit" in json.dumps(report.json(), ensure_ascii=False)
    csv_report = client.get("/api/v1/actions/report", params={"year": 2026, "format": "csv"})
    assert csv_report.headers["content-type"].startswith("text/csv")
    page = client.get("/actions")
    assert "Train de nuit Rennes–Saint-Malo" in page.text
    bad = client.post(
        "/api/v1/actions",
        json={"date": "2026-03-30", "type": "bribe", "subject": "x", "actors": [maire]},
        headers=headers,
    )
    assert bad.status_code == 422 and "bribe" in bad.json()["error"]["message"]
    deleted = client.delete(f"/api/v1/actions/{action_id}", headers=headers)
    assert deleted.status_code == 204
    assert all(a["id"] != action_id for a in client.get("/api/v1/actions").json())
    assert client.delete(f"/api/v1/actions/{action_id}", headers=headers).status_code == 404


def test_planner_page(analyst: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = analyst
    page = client.get("/influence", params={"code": "35238", "level": "commune"})
    assert page.status_code == 200
    assert (
        'id="plan-submit"' in page.text
        and "disabled" not in page.text.split('id="plan-submit"')[1][:20]
    )
    assert 'value="35238"' in page.text
    assert "economic-development" in page.text
