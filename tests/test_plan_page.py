"""The planner page in French: a plan's progress in words, the finished plan without jargon
(no "RIS", no "ε", no English guarantee), fragile choices labelled."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from territoria.kb.jobs import Job, save_job
from test_api_helpers import login, make_app, make_kb
from test_french_pages import raw_tokens, visible_text


@pytest.fixture(scope="module")
def site(
    mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """The web app with one finished plan (its result returned alongside)."""
    app = make_app(make_kb(mini_db_path, tmp_path_factory.mktemp("plan_page")))
    with TestClient(app) as client:
        csrf = login(client, "admin")
        started = client.post(
            "/api/v1/influence/plans",
            json={"code": "35238", "theme": "roads", "k": 3, "seed": 2},
            headers={"X-CSRF-Token": csrf},
        )
        assert started.status_code == 202, started.text
        job = _wait(client, started.json()["id"])
        assert job["status"] == "done", job["error"]
        yield client, job
    app.state.territoria.db.close()


def _wait(client: TestClient, job_id: str) -> dict[str, Any]:
    import time

    for _ in range(1200):
        job = client.get(f"/api/v1/influence/plans/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError("the plan did not finish in 2 minutes")


def _section(page: str, element_id: str) -> str:
    """The HTML of the element with this id (the plan's part of the planner page)."""
    start = page.index(f'id="{element_id}"')
    tag = page.rindex("<", 0, start)
    name = page[tag + 1 : start].split()[0]
    return page[tag : page.index(f"</{name}>", start)]


def _record(client: TestClient, **fields: Any) -> str:
    job = Job(id=uuid.uuid4().hex, kind="plan", owner="admin", params={"code": "35238"}, **fields)
    with client.app.state.territoria.db.writer() as cur:  # type: ignore[attr-defined]
        save_job(cur, job)
    return job.id


def test_finished_plan_in_plain_french(site: tuple[TestClient, dict[str, Any]]) -> None:
    client, job = site
    page = client.get(f"/influence?plan={job['id']}&lang=fr")
    assert page.status_code == 200
    text = visible_text(_section(page.text, "plan-result"))
    assert raw_tokens(_section(page.text, "plan-result")) == []
    assert "RIS" not in text and "ε" not in text
    assert "With probability" not in text and "seeds" not in text  # the English guarantee
    assert "garantie : au moins" in text and "parmi les" in text
    assert "marge d'approximation" in text
    first = job["result"]["seeds"][0]
    assert first["action"] in text
    # the fragment the page's script inserts is the same view
    fragment = visible_text(client.get(f"/influence/plans/{job['id']}?lang=fr").text)
    assert "garantie : au moins" in fragment and first["action"] in fragment


def test_fragile_choice_is_labelled(site: tuple[TestClient, dict[str, Any]]) -> None:
    client, job = site
    result = copy.deepcopy(job["result"])
    result["seeds"][0]["robustness"] = 0.0
    result["seeds"][1]["robustness"] = 0.9
    job_id = _record(client, status="done", progress=1.0, step="done", result=result)
    text = visible_text(client.get(f"/influence?plan={job_id}&lang=fr").text)
    assert text.count("choix fragile") == 1
    assert "choix fragile : retenu dans 0 % des re-calculs" in text
    english = visible_text(client.get(f"/influence?plan={job_id}&lang=en").text)
    assert "fragile choice: kept in 0 % of the re-plans" in english
    assert "garantie" not in english


def test_old_plan_without_french_guarantee(site: tuple[TestClient, dict[str, Any]]) -> None:
    client, job = site
    result = copy.deepcopy(job["result"])
    for key in ("guarantee_fr", "answers", "estimate_ci95", "candidates_count"):
        result.pop(key, None)
    job_id = _record(client, status="done", progress=1.0, step="done", result=result)
    text = visible_text(client.get(f"/influence?plan={job_id}&lang=fr").text)
    ratio = round(100 * result["approx_ratio"])
    assert re.search(rf"garantie : au moins {ratio} % du meilleur plan possible", text)
    assert "With probability" not in text


def test_running_plan_shows_its_step(site: tuple[TestClient, dict[str, Any]]) -> None:
    client, _ = site
    job_id = _record(client, status="running", progress=0.7, step="robustness")
    page = client.get(f"/influence?plan={job_id}&lang=fr")
    progress = _section(page.text, "plan-progress-text")
    assert "En cours · re-calculs de robustesse · 70 %" in visible_text(progress)
    assert raw_tokens(progress) == []
    # the script gets the steps in words too
    assert "re-calculs de robustesse" in page.text.split('data-steps="', 1)[1].split('"', 1)[0]
