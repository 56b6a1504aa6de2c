"""Persisted background jobs: influence plans today, watch fetches and reports tomorrow.

A job is validated by its submitter, written to the ``job`` table (queued), run by one of a
few worker threads, and its status, timing and result (or error) are written back; progress
is kept in memory only (it changes many times a second). Jobs survive a restart: finished
ones keep their result, and the ones a stop interrupted are queued again when the runner
starts (a job's work is rebuilt from its kind and its persisted parameters). A job can be
cancelled while queued or running (running work stops at its next progress report), and each
user may have a bounded number of unfinished jobs.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from territoria.errors import (
    JobCancelled,
    PermissionDenied,
    TerritoriaError,
    TooManyJobs,
    UnknownJob,
)
from territoria.kb._database import Database
from territoria.kb._transaction import transaction

if TYPE_CHECKING:
    import duckdb

__all__ = ["FINISHED", "Job", "JobRunner", "Progress", "error_code", "save_job", "to_jsonable"]

log = logging.getLogger("territoria.kb")

#: Statuses after which a job no longer changes.
FINISHED = frozenset({"done", "failed", "cancelled"})


class Progress(Protocol):
    """What work reports: ``(step)``, ``(fraction)``, ``(step, fraction)`` or ``(done, total)``."""

    def __call__(self, *args: Any, **kwargs: Any) -> None: ...


#: The work of a kind of job: (parameters, progress) -> JSON-able result.
Work = Callable[[dict[str, Any], Progress], Any]


def to_jsonable(value: Any) -> Any:
    """Return ``value`` made JSON-able (NumPy scalars and arrays, tuples, sets, dataclasses)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump())
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return to_jsonable(value.tolist())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return to_jsonable({k: getattr(value, k) for k in value.__dataclass_fields__})
    return str(value)


def error_code(exc: BaseException) -> str:
    """Return the snake-case code of an exception (``UnknownTerritory``: ``unknown_territory``)."""
    name = type(exc).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Job:
    """One background computation and what is known of it."""

    id: str
    kind: str
    owner: str
    params: dict[str, Any]
    status: str = "queued"  # queued, running, done, failed, cancelled
    progress: float | None = None
    step: str = ""
    created_at: datetime = field(default_factory=_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: Any = None
    error: dict[str, Any] | None = None

    def to_dict(self, *, with_result: bool = True) -> dict[str, Any]:
        """Return the job's status (and result) as JSON-able data (times in UTC)."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat(timespec="seconds") + "Z" if value else None

        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "owner": self.owner,
            "params": to_jsonable(self.params),
            "status": self.status,
            "progress": self.progress,
            "step": self.step,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "error": self.error,
        }
        if with_result:
            data["result"] = self.result
        return data


_COLUMNS = (
    "id, kind, owner, params, status, progress, step, created_at, started_at, finished_at, "
    "result, error"
)


def _from_row(row: tuple[Any, ...]) -> Job:
    return Job(
        id=row[0],
        kind=row[1],
        owner=row[2],
        params=json.loads(row[3]),
        status=row[4],
        progress=row[5],
        step=row[6] or "",
        created_at=row[7],
        started_at=row[8],
        finished_at=row[9],
        result=json.loads(row[10]) if row[10] else None,
        error=json.loads(row[11]) if row[11] else None,
    )


class JobRunner:
    """Run persisted jobs in a few worker threads.

    Parameters
    ----------
    db
        The knowledge base the jobs table lives in (and the work reads).
    work
        The work of each kind of job, e.g. ``{"plan": run_plan}``.
    workers
        Jobs computed at the same time.
    per_user
        Unfinished (queued or running) jobs a user may have at once.
    """

    def __init__(
        self,
        db: Database,
        work: dict[str, Work],
        *,
        workers: int = 1,
        per_user: int = 3,
    ) -> None:
        self._db = db
        self._work = dict(work)
        self._per_user = per_user
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._live: dict[str, Job] = {}  # unfinished jobs: their progress is in memory
        self._cancel: set[str] = set()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._loop, name=f"territoria-job-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        self._started = False
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> int:
        """Queue again the jobs a stop interrupted, start the workers; return how many."""
        with self._db.reader() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM job WHERE status IN ('queued', 'running') "
                "ORDER BY created_at"
            ).fetchall()
        jobs = [_from_row(r) for r in rows]
        for job in jobs:
            job.status, job.started_at, job.progress, job.step = "queued", None, None, ""
            self._save(job)
            with self._lock:
                self._live[job.id] = job
            self._queue.put(job.id)
        if not self._started:
            self._started = True
            for thread in self._threads:
                thread.start()
        return len(jobs)

    def shutdown(self) -> None:
        """Stop the workers after their current job; queued jobs stay queued for next start."""
        for _ in self._threads:
            self._queue.put(None)
        with self._lock:
            self._cancel.update(j.id for j in self._live.values() if j.status == "running")
            self._stopping = True
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=30)

    def register(self, kind: str, work: Work) -> None:
        """Add (or replace) the work of a kind of job; call it before :meth:`start`."""
        self._work[kind] = work

    @property
    def started(self) -> bool:
        """Whether the workers run."""
        return self._started

    # ------------------------------------------------------------------ submitting

    def submit(self, kind: str, owner: str, params: dict[str, Any]) -> Job:
        """Persist a (validated) job as queued and return it at once.

        Raises
        ------
        TooManyJobs
            The owner already has ``per_user`` unfinished jobs.
        """
        if kind not in self._work:
            msg = f"unknown kind of job {kind!r}: expected one of {sorted(self._work)}"
            raise ValueError(msg)
        with self._lock:
            mine = sum(1 for j in self._live.values() if j.owner == owner)
            if mine >= self._per_user:
                msg = (
                    f"{owner!r} already has {mine} unfinished job(s), the most allowed: wait "
                    "for one to finish or cancel it (DELETE /api/v1/influence/plans/ID)"
                )
                raise TooManyJobs(msg)
            job = Job(id=uuid.uuid4().hex, kind=kind, owner=owner, params=to_jsonable(params))
            self._live[job.id] = job
        try:
            self._save(job)
        except BaseException:
            with self._lock:
                self._live.pop(job.id, None)
            raise
        self._queue.put(job.id)
        return job

    def cancel(self, job_id: str, *, by: str, admin: bool = False) -> Job:
        """Cancel a queued or running job (its owner or an admin); return it.

        Raises
        ------
        UnknownJob, PermissionDenied
        """
        job = self.get(job_id)
        if job.owner != by and not admin:
            msg = (
                f"job {job_id!r} belongs to {job.owner!r}: only its owner or an admin may cancel it"
            )
            raise PermissionDenied(msg)
        if job.status in FINISHED:
            return job
        with self._lock:
            self._cancel.add(job_id)
            queued = job.status == "queued"
        if queued:  # a running job stops at its next progress report
            self._finish(job, "cancelled", error=_cancelled(by))
        return job

    # ------------------------------------------------------------------ reading

    def get(self, job_id: str) -> Job:
        """Return a job (unfinished ones with their live progress).

        Raises
        ------
        UnknownJob
        """
        with self._lock:
            live = self._live.get(job_id)
        if live is not None:
            return live
        with self._db.reader() as cur:
            row = cur.execute(f"SELECT {_COLUMNS} FROM job WHERE id = ?", [job_id]).fetchone()
        if row is None:
            msg = f"no job {job_id!r}: see GET /api/v1/influence/plans for the recent ones"
            raise UnknownJob(msg)
        return _from_row(row)

    def list(
        self, kind: str | None = None, *, owner: str | None = None, limit: int = 50
    ) -> list[Job]:
        """Return the latest jobs, newest first (results left out: see :meth:`get`)."""
        with self._db.reader() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS.replace('result', 'NULL')} FROM job "
                "WHERE (? IS NULL OR kind = ?) AND (? IS NULL OR owner = ?) "
                "ORDER BY created_at DESC LIMIT ?",
                [kind, kind, owner, owner, max(1, min(limit, 1000))],
            ).fetchall()
        jobs = [_from_row(r) for r in rows]
        with self._lock:
            return [self._live.get(j.id, j) for j in jobs]

    # ------------------------------------------------------------------ running

    def _loop(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            with self._lock:
                job = self._live.get(job_id)
                if job is None or job.status != "queued" or job_id in self._cancel:
                    continue
                job.status, job.started_at, job.progress = "running", _now(), 0.0
            try:
                self._save(job)
                self._run(job)
            except Exception as exc:  # the knowledge base went away under the worker
                if self._stopping:  # a stop closed it: the job is run again at the next start
                    log.info("job %s left for the next start: %s", job.id, exc)
                    return
                log.exception("job %s: its state could not be recorded", job.id)

    def _run(self, job: Job) -> None:
        try:
            result = self._work[job.kind](job.params, self._progress(job))
        except JobCancelled as exc:
            if self._stopping:  # interrupted by a stop: queued again at the next start
                job.status, job.started_at, job.progress = "queued", None, None
                self._save(job)
            else:
                self._finish(job, "cancelled", error=_cancelled(str(exc)))
        except TerritoriaError as exc:
            error = {"code": error_code(exc), "message": str(exc), "status": exc.http_status}
            self._finish(job, "failed", error=error)
        except Exception as exc:  # a bug must not kill the worker; keep the trace server-side
            traceback.print_exception(exc)
            error = {
                "code": "internal_error",
                "message": "the job failed because of an internal error; see the server log",
                "status": 500,
            }
            self._finish(job, "failed", error=error)
        else:
            job.progress = 1.0
            self._finish(job, "done", result=to_jsonable(result))

    def _progress(self, job: Job) -> Progress:
        def report(*args: Any, **kwargs: Any) -> None:
            if job.id in self._cancel:
                raise JobCancelled(f"cancelled while {job.step or 'starting'}")
            step = kwargs.get("step")
            fraction = kwargs.get("fraction")
            numbers = [a for a in args if isinstance(a, int | float) and not isinstance(a, bool)]
            texts = [a for a in args if isinstance(a, str)]
            if texts:
                step = texts[0]
            if len(numbers) >= 2 and numbers[1]:
                fraction = numbers[0] / numbers[1]
            elif numbers:
                fraction = numbers[0]
            if step is not None:
                job.step = str(step)
            if fraction is not None:
                job.progress = max(0.0, min(1.0, float(fraction)))

        return report

    def _finish(
        self,
        job: Job,
        status: str,
        *,
        result: Any = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        job.status, job.result, job.error, job.finished_at = status, result, error, _now()
        try:
            self._save(job)
        finally:
            with self._lock:
                self._live.pop(job.id, None)
                self._cancel.discard(job.id)

    def _save(self, job: Job) -> None:
        # No cache derives from the job table: do not make the server's caches refresh.
        with self._db.writer(actor=f"job:{job.owner}", invalidate=False) as cur, transaction(cur):
            save_job(cur, job)


def save_job(con: duckdb.DuckDBPyConnection, job: Job) -> None:
    """Write ``job`` (insert or replace) on ``con``, inside the caller's transaction.

    The runner saves its jobs with it; a command that computes a plan in its own process (a
    dossier's plan version from the CLI) records it as a finished job the same way.
    """
    values = [
        job.id,
        job.kind,
        job.owner,
        json.dumps(job.params, ensure_ascii=False),
        job.status,
        job.progress,
        job.step,
        job.created_at,
        job.started_at,
        job.finished_at,
        json.dumps(job.result, ensure_ascii=False) if job.result is not None else None,
        json.dumps(job.error, ensure_ascii=False) if job.error else None,
    ]
    con.execute(f"INSERT OR REPLACE INTO job ({_COLUMNS}) VALUES ({', '.join('?' * 12)})", values)


def _cancelled(by: str) -> dict[str, Any]:
    return {"code": "cancelled", "message": f"cancelled ({by})", "status": 409}
