"""The scheduler of 'serve': due jobs submitted, not twice while one is unfinished, and the
due watch fetches run as persisted 'watch-fetch' jobs."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from territoria.kb._database import Database
from territoria.kb.jobs import JobRunner, Progress
from territoria.kb.schedule import OWNER, Periodic, Scheduler, periodic_jobs, register_periodic
from territoria.settings import Settings
from territoria.watch.fetch import due_fetches, fetch_work
from territoria.watch.sources import add_source

NOW = datetime(2026, 12, 2, 8, 0)


@pytest.fixture
def db(mini_db_path: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, path)
    database = Database.open(path, profile_lookups=False)
    yield database
    database.close()


def _wait(runner: JobRunner, job_id: str, timeout: float = 60) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = runner.get(job_id)
        if job.status in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def test_due_jobs_are_submitted_once_while_unfinished(db: Database) -> None:
    ran: list[dict[str, Any]] = []

    def work(params: dict[str, Any], progress: Progress) -> dict[str, int]:
        ran.append(params)
        return {"region": params["region"]}

    def due(con: duckdb.DuckDBPyConnection, now: datetime) -> list[dict[str, Any]]:
        return [{"region": 53}, {"region": 52}] if now.hour >= 8 else []

    runner = JobRunner(db, {"digest": work}, per_user=5)
    scheduler = Scheduler(db, runner, periodic=[Periodic("digest", "digest", due)])
    assert scheduler.tick(NOW - timedelta(hours=1)) == []
    first = scheduler.tick(NOW)
    assert [(j.kind, j.owner, j.params) for j in first] == [
        ("digest", OWNER, {"region": 53}),
        ("digest", OWNER, {"region": 52}),
    ]
    assert scheduler.tick(NOW) == []  # still queued: not submitted again
    runner.start()
    try:
        for job in first:
            assert _wait(runner, job.id).result == job.params
        again = scheduler.tick(NOW)  # finished: due again, submitted again
        assert len(again) == 2
        for job in again:
            _wait(runner, job.id)
    finally:
        runner.shutdown()
    assert len(ran) == 4


def test_register_periodic_replaces_by_name() -> None:
    def never(con: duckdb.DuckDBPyConnection, now: datetime) -> list[dict[str, Any]]:
        return []

    register_periodic("test-never", "nothing", never)
    register_periodic("test-never", "nothing-else", never)
    found = [p for p in periodic_jobs() if p.name == "test-never"]
    assert [p.kind for p in found] == ["nothing-else"]


def test_the_thread_submits_due_watch_fetches(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "cr.txt").write_text("Compte rendu du conseil communautaire : budget voté.")
    with db.writer() as con:
        source = add_source(con, str(folder), kind="folder", interval=60)
    settings = Settings(watch_allow_private=True, watch_host_delay=0.0)
    runner = JobRunner(db, {"watch-fetch": fetch_work(db, settings)})
    scheduler = Scheduler(
        db, runner, every=0.05, periodic=[Periodic("watch-fetch", "watch-fetch", due_fetches)]
    )
    runner.start()
    scheduler.start()
    try:
        end = time.monotonic() + 60
        jobs: list[Any] = []
        while time.monotonic() < end and not jobs:
            jobs = [j for j in runner.list("watch-fetch") if j.status == "done"]
            time.sleep(0.05)
    finally:
        scheduler.stop()
        runner.shutdown()
    assert jobs, "no watch-fetch job ran"
    done = runner.get(jobs[-1].id)
    assert done.owner == OWNER
    assert done.result["sources"][0]["source_id"] == source.id
    assert done.result["new"] == 1
    with db.reader() as cur:
        # fetched once: the source is no longer due, so no other job found anything new
        assert cur.execute("SELECT count(*) FROM watch_item").fetchone() == (1,)
        assert due_fetches(cur, datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=1)) == []


def test_serve_runs_the_scheduler_with_the_job_runner(mini_db_path: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from test_api_helpers import make_app

    path = tmp_path / "served.duckdb"
    shutil.copyfile(mini_db_path, path)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "cr.txt").write_text("Délibération du conseil municipal de Rennes sur le budget.")
    application = make_app(path, watch_schedule_seconds=0.1)
    state = application.state.territoria
    with state.db.writer() as con:
        add_source(con, str(folder), kind="folder")
    try:
        with TestClient(application):
            end = time.monotonic() + 60
            done: list[Any] = []
            while time.monotonic() < end and not done:
                done = [j for j in state.jobs.list("watch-fetch") if j.status == "done"]
                time.sleep(0.1)
        assert done, "the scheduler submitted no watch-fetch job"
        assert done[0].owner == OWNER
        with state.db.reader() as cur:
            assert cur.execute("SELECT count(*) FROM watch_item").fetchone() == (1,)
    finally:
        state.db.close()
