"""Background jobs with progress (influence plans): submitted by a request, polled by others.

Jobs run in a small thread pool; each reports its progress through a callback and ends with a
JSON-able result or an error. The latest jobs are kept in memory (a restart forgets them: a
plan is cheap to recompute and its inputs are in the knowledge base).
"""

from __future__ import annotations

import math
import threading
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from territoria.errors import TerritoriaError, UnknownJob

__all__ = ["Job", "JobManager", "to_jsonable"]

Progress = Callable[..., None]


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
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return to_jsonable(value.tolist())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return to_jsonable({k: getattr(value, k) for k in value.__dataclass_fields__})
    return str(value)


@dataclass
class Job:
    """One background computation and what is known of it."""

    id: str
    kind: str
    owner: str
    params: dict[str, Any]
    status: str = "queued"  # queued, running, done, failed
    progress: float | None = None
    step: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    result: Any = None
    error: dict[str, Any] | None = None

    def to_dict(self, *, with_result: bool = True) -> dict[str, Any]:
        """Return the job's status (and result) as JSON-able data."""
        data = {
            "id": self.id,
            "kind": self.kind,
            "owner": self.owner,
            "params": to_jsonable(self.params),
            "status": self.status,
            "progress": self.progress,
            "step": self.step,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "finished_at": (
                self.finished_at.isoformat(timespec="seconds") if self.finished_at else None
            ),
            "error": self.error,
        }
        if with_result:
            data["result"] = self.result
        return data


class JobManager:
    """Run jobs in the background and keep the latest ``keep`` of them.

    Parameters
    ----------
    workers
        Jobs computed at the same time.
    keep
        Jobs remembered; the oldest finished ones are forgotten first.
    """

    def __init__(self, *, workers: int = 1, keep: int = 200) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="territoria-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep

    def submit(
        self,
        kind: str,
        owner: str,
        params: dict[str, Any],
        work: Callable[[Progress], Any],
    ) -> Job:
        """Queue ``work(progress)`` and return its job at once."""
        job = Job(id=uuid.uuid4().hex, kind=kind, owner=owner, params=params)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self._pool.submit(self._run, job, work)
        return job

    def _forget_old(self) -> None:
        while len(self._jobs) > self._keep:
            oldest = next(
                (k for k, j in self._jobs.items() if j.status in {"done", "failed"}), None
            )
            if oldest is None:
                return
            del self._jobs[oldest]

    @staticmethod
    def _progress(job: Job) -> Progress:
        def report(*args: Any, **kwargs: Any) -> None:
            # Accept the shapes library callbacks use: (step), (fraction), (step, fraction),
            # (done, total) or keywords.
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

    def _run(self, job: Job, work: Callable[[Progress], Any]) -> None:
        job.status = "running"
        job.progress = 0.0
        try:
            result = work(self._progress(job))
        except TerritoriaError as exc:
            job.error = {
                "code": error_code(exc),
                "message": str(exc),
                "status": exc.http_status,
            }
            job.status = "failed"
        except Exception as exc:  # a bug must not kill the worker; keep the trace server-side
            job.error = {
                "code": "internal_error",
                "message": "the plan failed because of an internal error; see the server log",
                "status": 500,
            }
            job.status = "failed"
            traceback.print_exception(exc)
        else:
            job.result = to_jsonable(result)
            job.progress = 1.0
            job.status = "done"
        job.finished_at = datetime.now(UTC)

    def get(self, job_id: str) -> Job:
        """Return a job.

        Raises
        ------
        UnknownJob
        """
        job = self._jobs.get(job_id)
        if job is None:
            msg = f"no plan {job_id!r}: it may be older than the server's last restart"
            raise UnknownJob(msg)
        return job

    def list(self, kind: str | None = None) -> list[Job]:
        """Return the jobs, newest first."""
        with self._lock:
            jobs = list(self._jobs.values())
        return [j for j in reversed(jobs) if kind is None or j.kind == kind]

    def shutdown(self) -> None:
        """Stop accepting jobs, drop queued ones and wait for the running one."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        for job in self.list():
            if job.status == "queued":
                job.status = "failed"
                job.error = {"code": "cancelled", "message": "the server stopped", "status": 503}


def error_code(exc: BaseException) -> str:
    """Return the snake-case code of an exception (``UnknownTerritory``: ``unknown_territory``)."""
    name = type(exc).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
