"""One writer, many readers: the process's single DuckDB connection to the knowledge base.

DuckDB lets one process write a database file. The process that serves the knowledge base
(``territoria serve``) opens it once, read-write, and hands each request -- a web request, a
job, or a CLI command forwarded by :mod:`territoria.kb._service` -- its own cursor (a
lightweight connection to the same database, safe to use from the request's thread). Writes
go through :meth:`Database.writer`, which serialises them with a lock so that two requests
never race on the same rows.

Territory profiles, the most frequent cold computation of the pages, read their rows from
:class:`~territoria.analysis.profile.ProfileLookups` loaded in the background once the
database is open: a first visit then costs about a millisecond of profile instead of some
twenty milliseconds of queries. Until they are loaded, and after a write that changed the
tables they copy, profiles are computed from queries.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from territoria.analysis._profile_reads import ProfileLookups, fingerprint
from territoria.kb import connect
from territoria.kb.audit import acting_as

__all__ = ["Database"]

log = logging.getLogger("territoria.kb")


class Database:
    """The knowledge base as the web application uses it.

    Parameters
    ----------
    con
        An open, writable connection; the application owns it from now on.
    path
        Where it comes from, for messages.
    profile_lookups
        Load the rows of territory profiles into memory in a background thread and compute
        profiles from them (for all of France: 4 to 6 seconds, and the server's resident
        memory grows by some 330 MB).
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        path: Path | None = None,
        *,
        profile_lookups: bool = True,
    ) -> None:
        self._con = con
        self.path = path
        self._write_lock = threading.Lock()
        #: Number of write blocks run so far (caches compare it to know when to refresh).
        self.generation = 0
        # Library functions that cache per connection (the search index) get one long-lived
        # cursor, used by one thread at a time.
        self._shared = con.cursor()
        self._shared_lock = threading.Lock()
        self._lookups: ProfileLookups | None = None
        self._lookups_lock = threading.Lock()
        self._loader: threading.Thread | None = None
        self._loader_cursor: duckdb.DuckDBPyConnection | None = None
        self._closed = False
        self._wants_lookups = profile_lookups
        if profile_lookups:
            self._start_loading()

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        threads: int = 0,
        memory_limit: str = "",
        profile_lookups: bool = True,
    ) -> Database:
        """Open (and migrate) the knowledge base file at ``path`` for the application."""
        con = connect(path, threads=threads, memory_limit=memory_limit)
        return cls(con, path, profile_lookups=profile_lookups)

    @property
    def profile_lookups_ready(self) -> bool:
        """Whether profiles are computed from the lookups in memory."""
        return self._lookups is not None

    @property
    def warm(self) -> bool:
        """Whether the start-up loading is over (the lookups are in memory, or not wanted)."""
        return self._lookups is not None or not self._wants_lookups

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield a fresh cursor for reading, closed afterwards."""
        cur = self._con.cursor()
        lookups = self._lookups
        if lookups is not None:
            lookups.attach(cur)
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def writer(
        self, *, actor: str = "system", invalidate: bool = True
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield a cursor for writing while holding the write lock.

        Library functions manage their own transactions (each is atomic); the lock makes
        the application's writes happen one at a time. Every use bumps :attr:`generation`,
        so caches of derived data know to refresh. Audit rows written inside the block
        (:func:`territoria.kb.audit.record`) name ``actor`` (``web:alice``, ``cli:root``).
        ``invalidate=False`` is for writes no cache derives from (job status, sessions).
        """
        with self._write_lock, acting_as(actor):
            cur = self._con.cursor()
            try:
                yield cur
            finally:
                try:
                    if invalidate:
                        self.generation += 1
                        self._check_lookups(cur)
                finally:
                    cur.close()

    @contextmanager
    def shared(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield the long-lived cursor whose per-connection caches persist across requests."""
        with self._shared_lock:
            yield self._shared

    def close(self) -> None:
        """Stop loading the profile lookups, close every cursor and the connection."""
        with self._lookups_lock:
            self._closed = True
            loader, cursor = self._loader, self._loader_cursor
        if loader is not None:
            if cursor is not None:
                cursor.interrupt()
            loader.join()
        self.checkpoint()
        self._shared.close()
        self._con.close()

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the file: the ``.duckdb`` file alone then holds every
        committed write (a graceful stop does this; a copy of the file is then complete)."""
        with self._write_lock:
            try:
                # not FORCE: it would wait on transactions of other connections of this
                # process to the same file (tests open several); those fail the checkpoint
                self._con.execute("CHECKPOINT")
            except duckdb.Error as exc:  # a read-only or broken file: nothing to fold
                log.warning("checkpoint of %s failed: %s", self.path, exc)

    # ------------------------------------------------------------------ profile lookups

    def _start_loading(self) -> None:
        """Load the profile lookups in the background, unless it is already under way."""
        with self._lookups_lock:
            if self._closed or self._loader is not None:
                return
            self._loader = threading.Thread(
                target=self._load, name="territoria-profile-lookups", daemon=True
            )
            self._loader.start()

    def _load(self) -> None:
        cur = self._con.cursor()
        try:
            while True:
                with self._lookups_lock:
                    if self._closed:
                        return
                    self._loader_cursor = cur
                # one transaction: a consistent snapshot even if a write commits meanwhile
                cur.execute("BEGIN TRANSACTION")
                try:
                    lookups = ProfileLookups.load(cur)
                finally:
                    cur.execute("ROLLBACK")
                with self._lookups_lock:
                    # Writes check the lookups under this lock once committed: a write that
                    # changed the tables after the snapshot is seen here, or sees them.
                    if self._closed or fingerprint(cur) != lookups.fingerprint:
                        continue
                    self._lookups = lookups
                    self._loader = self._loader_cursor = None
                    return
        except duckdb.Error as exc:  # interrupted by close(), or a broken knowledge base
            if not self._closed:
                log.warning("profiles are computed from queries: %s", exc)
        finally:
            with self._lookups_lock:
                if self._loader is threading.current_thread():
                    self._loader = self._loader_cursor = None
            cur.close()

    def _check_lookups(self, cur: duckdb.DuckDBPyConnection) -> None:
        """After a write: drop the lookups if it changed the tables they copy, reload them."""
        with self._lookups_lock:
            current = self._lookups
            if current is None or fingerprint(cur) == current.fingerprint:
                return
            self._lookups = None
        self._start_loading()
