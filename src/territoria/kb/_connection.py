"""Open the DuckDB knowledge base with its extensions and an up-to-date schema."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import duckdb

from territoria.errors import (
    ConfigurationError,
    DatabaseError,
    DatabaseLocked,
    ReadOnlyDatabase,
    SchemaTooNew,
)
from territoria.kb._extensions import load_extensions
from territoria.kb._recovery import recover
from territoria.kb._transaction import transaction


def _migrations() -> list[tuple[int, str, str]]:
    """Return the numbered migrations shipped with the package, in order."""
    folder = resources.files("territoria.kb") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


SCHEMA_VERSION = max(number for number, _, _ in _migrations())


def _translate(exc: duckdb.Error, path: Path) -> DatabaseError:
    # DuckDB appends a C++ stack trace to internal errors ("std::unique_lock" …): read only
    # the message itself.
    text = str(exc).split("\n\nStack Trace", 1)[0].strip()
    if "replaying wal" in text.lower():
        msg = (
            f"cannot open the knowledge base {str(path)!r}: DuckDB fails to replay its "
            f"write-ahead log ({text.splitlines()[0]}); move {str(path) + '.wal'!r} aside to "
            "open the state of its last checkpoint, and report the problem"
        )
        return DatabaseError(msg)
    lower = text.lower()
    if "corrupt database file" in lower:
        msg = (
            f"the knowledge base {str(path)!r} is corrupt ({text.splitlines()[0]}): restore it "
            "from a copy, or rebuild it with 'territoria import france' and the other imports"
        )
        return DatabaseError(msg)
    # "Could not set lock on file … Conflicting lock is held" (not "block", "unique_lock")
    if "could not set lock" in lower or "conflicting lock" in lower:
        msg = (
            f"the knowledge base {str(path)!r} is in use by another process: "
            "close it (or stop 'territoria serve') and try again"
        )
        return DatabaseLocked(msg)
    if "read-only" in text.lower() or "permission denied" in text.lower():
        msg = (
            f"cannot write the knowledge base {str(path)!r}: the file or its folder is "
            "read-only; choose another path with --db or TERRITORIA_DB"
        )
        return ReadOnlyDatabase(msg)
    msg = f"cannot open the knowledge base {str(path)!r}: {text}"
    return DatabaseError(msg)


def connect(
    path: str | os.PathLike[str] = ":memory:",
    *,
    read_only: bool = False,
    threads: int = 0,
    memory_limit: str = "",
) -> duckdb.DuckDBPyConnection:
    """Open (and migrate, unless read-only) the knowledge base at ``path``.

    Parameters
    ----------
    path
        DuckDB file, or ``":memory:"`` for a throw-away knowledge base.
    read_only
        Open without taking the write lock; the schema must already be current.
    threads
        Number of DuckDB threads (0 keeps DuckDB's default: all cores).
    memory_limit
        DuckDB memory limit such as ``"4GB"`` (empty keeps DuckDB's default).
    """
    target = Path(path)
    in_memory = str(path) == ":memory:"
    if not in_memory:
        if read_only and not target.exists():
            msg = (
                f"no knowledge base at {str(target)!r}: build it with "
                "'territoria import france' or pass --db PATH"
            )
            raise DatabaseError(msg)
        if not read_only and not target.parent.exists():
            msg = f"folder {str(target.parent)!r} does not exist: create it or choose another --db"
            raise DatabaseError(msg)
        if not read_only and target.exists() and not os.access(target, os.W_OK):
            raise _translate(duckdb.Error("read-only"), target)
        # a kill during a checkpoint can leave a log DuckDB would replay twice
        recover(target)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise _translate(exc, target) from exc
    # DuckDB's own progress bar would garble the CLI's rich output and server logs.
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        try:
            con.execute("SET memory_limit = ?", [memory_limit])
        except duckdb.Error as exc:
            con.close()
            msg = (
                f"memory limit {memory_limit!r} is not a size DuckDB understands: give it as "
                "'4GB' or '1500MB' (TERRITORIA_MEMORY_LIMIT)"
            )
            raise ConfigurationError(msg) from exc
    try:
        load_extensions(con)
        if read_only:
            check_schema(con, target)
        else:
            migrate(con)
    except BaseException:
        con.close()
        raise
    return con


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """Return the schema version recorded in the knowledge base (0 when empty)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def check_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Raise unless the schema of a read-only knowledge base is the current one."""
    version = schema_version(con)
    applied = (
        {int(r[0]) for r in con.execute("SELECT version FROM schema_version").fetchall()}
        if version
        else set()
    )
    if version >= SCHEMA_VERSION and not applied >= {n for n, _, _ in _migrations()}:
        version = min({n for n, _, _ in _migrations()} - applied) - 1
    if version > SCHEMA_VERSION:
        msg = (
            f"the knowledge base {str(path)!r} has schema version {version}, newer than this "
            f"Territoria ({SCHEMA_VERSION}): upgrade Territoria"
        )
        raise SchemaTooNew(msg)
    if version < SCHEMA_VERSION:
        msg = (
            f"the knowledge base {str(path)!r} has schema version {version}, older than "
            f"{SCHEMA_VERSION}: open it once for writing (any import) to migrate it"
        )
        raise DatabaseError(msg)


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the pending numbered migrations, each in its own transaction; return the version."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the knowledge base has schema version {current}, newer than this Territoria "
            f"({SCHEMA_VERSION}): upgrade Territoria"
        )
    applied = {int(r[0]) for r in con.execute("SELECT version FROM schema_version").fetchall()}
    # Apply every migration not recorded yet (not only those above the highest number), so a
    # knowledge base that skipped one still gets it.
    for number, name, sql in _migrations():
        if number in applied:
            continue
        with transaction(con):
            con.execute(sql)
            con.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [number, name])
        # Keep schema changes out of the log: DuckDB 1.5.5 fails to replay some of them
        # (an ALTER TABLE on a table with a nextval() default) after a crash.
        con.execute("CHECKPOINT")
    return schema_version(con)
