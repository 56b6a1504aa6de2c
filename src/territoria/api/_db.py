"""One writer, many readers: the application's single DuckDB connection.

DuckDB lets one process write a database file. The application opens it once, read-write, and
hands each request its own cursor (a lightweight connection to the same database, safe to use
from the request's thread). Writes go through :meth:`Database.writer`, which serialises them
with a lock so that two requests never race on the same rows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from territoria.kb import connect

__all__ = ["Database"]


class Database:
    """The knowledge base as the web application uses it.

    Parameters
    ----------
    con
        An open, writable connection; the application owns it from now on.
    path
        Where it comes from, for messages.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | None = None) -> None:
        self._con = con
        self.path = path
        self._write_lock = threading.Lock()
        #: Number of write blocks run so far (caches compare it to know when to refresh).
        self.generation = 0
        # Library functions that cache per connection (the search index) get one long-lived
        # cursor, used by one thread at a time.
        self._shared = con.cursor()
        self._shared_lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, *, threads: int = 0, memory_limit: str = "") -> Database:
        """Open (and migrate) the knowledge base file at ``path`` for the application."""
        return cls(connect(path, threads=threads, memory_limit=memory_limit), path)

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield a fresh cursor for reading, closed afterwards."""
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield a cursor for writing while holding the write lock.

        Library functions manage their own transactions (each is atomic); the lock makes
        the application's writes happen one at a time. Every use bumps :attr:`generation`,
        so caches of derived data know to refresh.
        """
        with self._write_lock:
            cur = self._con.cursor()
            try:
                yield cur
            finally:
                self.generation += 1
                cur.close()

    @contextmanager
    def shared(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield the long-lived cursor whose per-connection caches persist across requests."""
        with self._shared_lock:
            yield self._shared

    def close(self) -> None:
        """Close every cursor and the connection."""
        self._shared.close()
        self._con.close()
