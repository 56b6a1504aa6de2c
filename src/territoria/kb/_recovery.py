"""Recovery from a kill during a commit or a checkpoint (DuckDB 1.5.5 can tear the last write).

DuckDB folds its write-ahead log (``<db>.wal``) into the database file at a checkpoint, then
truncates the log; a large commit triggers one at once. We swept kill -9 across imports with
DuckDB 1.5.5 alone and found, about once in sixty kills landing near the commit, a knowledge
base holding the rows of the previous import *and* of the new one (4,000,000 rows for
2,000,000, half of them pointing at a deleted ``source`` row), and, after a later kill, a log
that no longer replays ("Conflict on tuple deletion"): the file no longer opens. DuckDB 2.0
does not show it in the same sweep, but no spatial extension is published for 2.0 yet.

The defence: every write transaction of the library increments ``kb_state.generation``
(:func:`territoria.kb.transaction`). Before a process opens a knowledge base whose log
survived a crash, :func:`recover` reads the generation of the file alone (log set aside) and of
the file with its log (both read-only, nothing written). If the log brings a newer generation,
it holds commits the file lacks: it is kept and replayed as usual. If it brings none, the file
alone already holds every committed transaction, and the log is set aside (renamed
``.wal.discarded-<time>``) instead of being replayed onto it; if it cannot be replayed at all,
the file alone -- the state of the last complete checkpoint -- is the state. A kill can also
tear a metadata block DuckDB was rewriting in place during the checkpoint: its checksum is
repaired first, the file alone then opens at its last complete checkpoint
(:mod:`territoria.kb._torn`). Either way the
knowledge base is a complete committed state, never a mix. This holds because every write
goes through :func:`territoria.kb.transaction` (an auto-committed statement outside it could
be set aside with such a log). tests/kill_sweep.py measures both: with and without recovery.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from territoria.kb._torn import repair_torn_metadata

__all__ = ["RecoveryReport", "recover"]

log = logging.getLogger("territoria.kb")


@dataclass(frozen=True)
class RecoveryReport:
    """What recovery found and did."""

    file_generation: int | None
    log_generation: int | None
    kept_log: bool
    discarded: Path | None
    #: metadata blocks torn by the crash whose checksum was repaired (see kb/_torn.py)
    torn_blocks: int = 0


def _generation(path: Path) -> int | None:
    """Return the generation, read-only with whatever log is beside the file (None: unreadable)."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute("SELECT generation FROM kb_state").fetchone()
        return int(row[0]) if row else None
    except duckdb.Error:
        return None
    finally:
        con.close()


@contextlib.contextmanager
def _exclusive(path: Path):  # type: ignore[no-untyped-def]
    """Hold the file's POSIX lock (DuckDB's own) for the block, or yield False if taken."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        # closing releases every POSIX lock this process holds on the file: DuckDB opens it
        # only after this
        os.close(fd)


def _open_here(path: Path) -> bool:
    """Whether this process has ``path`` open (Linux: its descriptors in /proc/self/fd).

    Checking such a file would *release DuckDB's lock on it*: closing any descriptor of a file
    drops every POSIX lock the process holds on it.
    """
    target = str(path.resolve())
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                return True
        except OSError:
            continue
    return False


def recover(path: Path) -> RecoveryReport | None:
    """Set aside a write-ahead log that a crash left already checkpointed (see module doc).

    Does nothing (returns None) when there is no log, or when a process -- another one, or
    this one -- has the knowledge base open: the log is then current.
    """
    wal = path.with_name(path.name + ".wal")
    if not wal.exists() or not path.exists() or _open_here(path):
        return None
    with _exclusive(path) as mine:
        if not mine or not wal.exists():
            return None
        aside = wal.with_name(wal.name + f".checking-{os.getpid()}")
        os.replace(wal, aside)
        try:
            torn = len(repair_torn_metadata(path))
            file_generation = _generation(path)
        finally:
            os.replace(aside, wal)
        if file_generation is None:
            # not a Territoria knowledge base of schema >= 5 (or unreadable): leave it to DuckDB
            return None
        log_generation = _generation(path)
        if log_generation is not None and log_generation > file_generation:
            return RecoveryReport(file_generation, log_generation, True, None, torn)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        discarded = wal.with_name(f"{wal.name}.discarded-{stamp}-{os.getpid()}")
        os.replace(wal, discarded)
        log.warning(
            "knowledge base %s: its write-ahead log was already checkpointed before a crash "
            "(generation %s in the file, %s with the log); set aside as %s",
            path,
            file_generation,
            log_generation,
            discarded,
        )
        return RecoveryReport(file_generation, log_generation, False, discarded, torn)
