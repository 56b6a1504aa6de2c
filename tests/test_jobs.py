"""Persisted jobs: progress, errors, cancellation, caps, validation at submission, restarts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from territoria.errors import InvalidPlanRequest, PermissionDenied, TooManyJobs, UnknownJob
from territoria.kb import Database
from territoria.kb.jobs import Job, JobRunner, to_jsonable
from test_api_helpers import login, make_app, make_kb


@pytest.fixture(scope="module")
def kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kb(mini_db_path, tmp_path_factory.mktemp("jobs"))


@pytest.fixture
def database(kb: Path) -> Iterator[Database]:
    db = Database.open(kb, profile_lookups=False)
    yield db
    db.close()


def _until(job_id: str, runner: JobRunner, statuses: set[str], timeout: float = 20) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = runner.get(job_id)
        if job.status in statuses:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} still {runner.get(job_id).status}")


def test_runner_reports_progress_persists_results_and_errors(database: Database) -> None:
    gate = threading.Event()
    seen: list[float | None] = []
    holder: dict[str, Job] = {}

    def work(params: dict[str, Any], progress: Any) -> dict[str, Any]:
        if params.get("fail"):
            raise InvalidPlanRequest("k must be positive")
        gate.wait(10)
        progress("graph", 0.25)
        seen.append(holder["job"].progress)
        progress(3, 4)
        seen.append(holder["job"].progress)
        return {"value": 1.5, "nan": float("nan")}

    runner = JobRunner(database, {"plan": work}, workers=1, per_user=5)
    runner.start()
    holder["job"] = job = runner.submit("plan", "me", {"k": 3})
    failing = runner.submit("plan", "me", {"fail": True})
    gate.set()
    _until(failing.id, runner, {"failed"})
    runner.shutdown()
    assert seen == [0.25, 0.75]
    # what a later process reads back from the knowledge base
    again = JobRunner(database, {"plan": work})
    done = again.get(job.id)
    assert done.status == "done" and done.result == {"value": 1.5, "nan": None}
    assert done.params == {"k": 3} and done.owner == "me" and done.finished_at is not None
    failed = again.get(failing.id)
    assert failed.error == {
        "code": "invalid_plan_request",
        "message": "k must be positive",
        "status": 422,
    }
    listed = [j.id for j in again.list("plan", owner="me")]
    assert listed[:2] == [failing.id, job.id]
    with pytest.raises(UnknownJob):
        again.get("0" * 32)


def test_runner_cancels_caps_and_requeues_interrupted_jobs(database: Database) -> None:
    started = threading.Event()
    release = threading.Event()

    def work(params: dict[str, Any], progress: Any) -> int:
        started.set()
        while not release.wait(0.01):
            progress("working", 0.5)  # a cancelled job stops at its next report
        return int(params["n"])

    runner = JobRunner(database, {"plan": work}, workers=1, per_user=2)
    runner.start()
    running = runner.submit("plan", "alice", {"n": 1})
    assert started.wait(10)
    queued = runner.submit("plan", "alice", {"n": 2})
    with pytest.raises(TooManyJobs):
        runner.submit("plan", "alice", {"n": 3})
    with pytest.raises(PermissionDenied):
        runner.cancel(queued.id, by="bob")
    assert runner.cancel(queued.id, by="alice").status == "cancelled"
    runner.cancel(running.id, by="admin", admin=True)
    assert _until(running.id, runner, {"cancelled"}).error["code"] == "cancelled"  # type: ignore[index]
    # a job left running by a stop is queued again, and done, by the next runner
    started.clear()
    interrupted = runner.submit("plan", "alice", {"n": 7})
    assert started.wait(10)
    runner.shutdown()
    assert runner.get(interrupted.id).status == "queued"
    release.set()
    nxt = JobRunner(database, {"plan": work}, workers=1)
    assert nxt.start() == 1
    assert _until(interrupted.id, nxt, {"done"}).result == 7
    nxt.shutdown()


@pytest.fixture
def analyst(kb: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = make_app(kb)
    with TestClient(app) as c:
        csrf = login(c, "analyst")
        yield c, {"X-CSRF-Token": csrf}
    app.state.territoria.db.close()


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"code": "35238", "theme": "no-such-theme", "k": 3}, "theme", "unknown theme"),
        ({"code": "99998", "theme": "roads", "k": 3}, "code", "unknown territory"),
        ({"code": "35238", "theme": "roads", "k": 0}, "k", "greater than or equal to 1"),
    ],
)
def test_invalid_plans_are_refused_at_submission(
    analyst: tuple[TestClient, dict[str, str]], body: dict[str, Any], field: str, words: str
) -> None:
    client, headers = analyst
    before = len(client.get("/api/v1/influence/plans").json())
    response = client.post("/api/v1/influence/plans", json=body, headers=headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"]["field"] == field and words in error["message"]
    assert len(client.get("/api/v1/influence/plans").json()) == before  # nothing queued


def test_plan_survives_a_restart_and_can_be_cancelled(kb: Path) -> None:
    body = {"code": "35238", "level": "commune", "theme": "economic-development", "k": 3, "seed": 7}
    app = make_app(kb)
    with TestClient(app) as client:
        headers = {"X-CSRF-Token": login(client, "analyst")}
        job = client.post("/api/v1/influence/plans", json=body, headers=headers).json()
    app.state.territoria.db.close()  # the server stops, whatever the plan's state
    app = make_app(kb)
    with TestClient(app) as client:
        headers = {"X-CSRF-Token": login(client, "analyst")}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            again = client.get(f"/api/v1/influence/plans/{job['id']}").json()
            if again["status"] in {"done", "failed"}:
                break
            time.sleep(0.1)
        assert again["status"] == "done", again
        assert again["id"] == job["id"] and 1 <= len(again["result"]["seeds"]) <= 3
        # cancelling a finished plan changes nothing; another user may not cancel it
        cancelled = client.delete(f"/api/v1/influence/plans/{job['id']}", headers=headers)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "done"
        client.post("/logout", headers=headers)
        headers = {"X-CSRF-Token": login(client, "viewer")}
        refused = client.delete(f"/api/v1/influence/plans/{job['id']}", headers=headers)
        assert refused.status_code == 403
    app.state.territoria.db.close()


def test_readiness_and_liveness(kb: Path) -> None:
    app = make_app(kb, warm_cache=False)
    database = app.state.territoria.db
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        deadline = time.monotonic() + 60
        codes = []
        while time.monotonic() < deadline:
            codes.append(client.get("/readyz").status_code)
            if codes[-1] == 200:
                break
            time.sleep(0.05)
        assert codes[-1] == 200 and set(codes) <= {200, 503}
        assert database.profile_lookups_ready
    database.close()


def test_to_jsonable_handles_numpy() -> None:
    import numpy as np

    data = to_jsonable({"a": np.float64(1.5), "b": np.arange(3), "c": (np.int32(2),)})
    assert data == {"a": 1.5, "b": [0, 1, 2], "c": [2]}


def test_a_stop_that_closes_the_knowledge_base_under_a_running_job(kb: Path) -> None:
    gate = threading.Event()
    started = threading.Event()

    def work(params: dict[str, Any], progress: Any) -> int:
        started.set()
        gate.wait(10)
        progress("still working", 0.5)  # the stop is seen here
        return 1

    db = Database.open(kb, profile_lookups=False)
    runner = JobRunner(db, {"plan": work}, workers=1)
    runner.start()
    job = runner.submit("plan", "alice", {"n": 1})
    assert started.wait(10)
    crashes: list[BaseException | None] = []
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: crashes.append(args.exc_value)
    try:
        stopper = threading.Thread(target=runner.shutdown)
        stopper.start()
        db.close()  # the server closes the file while the job still runs
        gate.set()
        stopper.join(20)
        for thread in runner._threads:
            thread.join(10)
    finally:
        threading.excepthook = previous_hook
    assert not stopper.is_alive()
    assert crashes == []  # the worker ended cleanly, it did not die of a closed connection
    again = Database.open(kb, profile_lookups=False)
    try:
        nxt = JobRunner(again, {"plan": work}, workers=1)
        assert nxt.get(job.id).status == "running"  # recorded as running: queued again
        assert nxt.start() >= 1
        assert _until(job.id, nxt, {"done"}).result == 1
        nxt.shutdown()
    finally:
        again.close()
