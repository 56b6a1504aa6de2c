"""Periodic jobs while ``territoria serve`` runs: a small thread that submits due jobs.

A part of the library that wants work done on a schedule registers it once with
:func:`register_periodic` (a name, the kind of job, and a ``due(con, now)`` function that says
which jobs are due: a list of their parameters). Every ``every`` seconds the
:class:`Scheduler` asks each registered ``due`` on a reader cursor and submits the jobs to the
:class:`~territoria.kb.jobs.JobRunner` as the ``scheduler`` user: they are persisted, survive
a restart and show in the jobs' lists like any other. A job is not submitted again while the
same kind with the same parameters is queued or running, so a slow fetch does not pile up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from territoria.errors import TerritoriaError
from territoria.kb.jobs import FINISHED, Job, JobRunner, to_jsonable

if TYPE_CHECKING:
    import duckdb

    from territoria.kb._database import Database

__all__ = ["OWNER", "Due", "Periodic", "Scheduler", "periodic_jobs", "register_periodic"]

log = logging.getLogger("territoria.kb")

#: Who the scheduled jobs belong to.
OWNER = "scheduler"

#: ``due(con, now)``: the parameters of each job due now (an empty list: none).
Due = Callable[["duckdb.DuckDBPyConnection", datetime], list[dict[str, Any]]]


@dataclass(frozen=True)
class Periodic:
    """A registered periodic job."""

    name: str
    kind: str
    due: Due


_REGISTRY: dict[str, Periodic] = {}
_REGISTRY_LOCK = threading.Lock()


def register_periodic(name: str, kind: str, due: Due) -> None:
    """Register (or replace) the periodic job ``name`` of job kind ``kind``.

    The kind must be registered with the server's job runner too; a kind it does not know is
    skipped with a warning.
    """
    with _REGISTRY_LOCK:
        _REGISTRY[name] = Periodic(name=name, kind=kind, due=due)


def periodic_jobs() -> list[Periodic]:
    """The registered periodic jobs, by name."""
    with _REGISTRY_LOCK:
        return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def _utc_now() -> datetime:
    return datetime.now(tz=UTC).replace(tzinfo=None)


class Scheduler:
    """Submit the due periodic jobs every ``every`` seconds, in a daemon thread.

    Parameters
    ----------
    db
        The knowledge base the ``due`` functions read.
    runner
        Where the jobs are submitted.
    every
        Seconds between two looks (the first one after ``every`` seconds too).
    periodic
        The periodic jobs (default: the registered ones, read at each look).
    """

    def __init__(
        self,
        db: Database,
        runner: JobRunner,
        *,
        every: float = 60.0,
        periodic: list[Periodic] | None = None,
    ) -> None:
        self._db = db
        self._runner = runner
        self.every = every
        self._periodic = periodic
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (again after :meth:`stop`)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name="territoria-scheduler", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after its current look."""
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.tick()
            except Exception:  # a broken due() must not stop the schedule of the others
                log.exception("the scheduler's look failed")

    def tick(self, now: datetime | None = None) -> list[Job]:
        """Look once: submit every due job not already queued or running; return them."""
        now = now or _utc_now()
        periodic = self._periodic if self._periodic is not None else periodic_jobs()
        unfinished = {
            (job.kind, _key(job.params))
            for job in self._runner.list(owner=OWNER, limit=200)
            if job.status not in FINISHED
        }
        submitted: list[Job] = []
        for entry in periodic:
            try:
                with self._db.reader() as cur:
                    due = entry.due(cur, now)
            except Exception:
                log.exception("periodic job %r: its due() failed", entry.name)
                continue
            for params in due:
                key = (entry.kind, _key(params))
                if key in unfinished:
                    continue
                try:
                    job = self._runner.submit(entry.kind, OWNER, params)
                except (TerritoriaError, ValueError) as exc:  # too many, or an unknown kind
                    log.warning("periodic job %r not submitted: %s", entry.name, exc)
                    continue
                unfinished.add(key)
                submitted.append(job)
        return submitted


def _key(params: dict[str, Any]) -> str:
    import json

    return json.dumps(to_jsonable(params), sort_keys=True)
