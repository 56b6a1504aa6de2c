"""The import framework shared by every importer (sources/_framework.py).

Source rows, the staged atomic swap, the step timer and progress protocol, and the translation
of DuckDB and file-system errors into messages that say what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from territoria.errors import (
    DatabaseError,
    DatabaseLocked,
    ReadOnlyDatabase,
    SourceError,
)
from territoria.kb import connect
from territoria.kb.audit import list_audit
from territoria.sources._framework import (
    SourceRecord,
    Staging,
    StepTimer,
    record_source,
    translate_error,
)
from territoria.sources.indicators import import_indicators

DATA = Path(__file__).parent / "data"
LONG = DATA / "indicators" / "indicators_long_rennes.csv"


@pytest.fixture
def kb() -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty, migrated knowledge base with one table of rows pointing to sources."""
    con = connect(":memory:")
    con.execute("CREATE TABLE thing (name VARCHAR, source_id INTEGER NOT NULL)")
    yield con
    con.close()


def _temp_tables(con: duckdb.DuckDBPyConnection, prefix: str) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?) "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary "
        "AND starts_with(view_name, ?)",
        [prefix, prefix],
    ).fetchall()
    return sorted(r[0] for r in rows)


def _import(con: duckdb.DuckDBPyConnection, names: list[str], *, fail: bool = False) -> int:
    """A tiny importer written on the framework, as the real ones are."""
    with Staging(con, "t_") as staging:
        sid = staging.source(
            SourceRecord("things", "things.csv", "us", "CC0", datetime(2026, 1, 2, 3, 4, 5))
        )
        con.execute(
            "CREATE TEMP TABLE t_thing AS SELECT unnest(?) AS name, ? AS source_id",
            [
                names,
                sid,
            ],
        )
        with staging.swap(names=["things"], tables=["thing"]) as swap:
            swap.copy("thing", order_by="name")
            if fail:
                raise RuntimeError("disk on fire")
    return sid


def test_record_source_writes_every_field(kb: duckdb.DuckDBPyConnection) -> None:
    retrieved = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    rec = SourceRecord(
        name="insee-rp",
        dataset="base-cc-2021.csv",
        publisher="INSEE",
        licence="Licence Ouverte 2.0",
        retrieved_at=retrieved,
        version="2021",
        reference_date="2021-01-01",
        address="https://www.insee.fr/fr/statistiques/8202264",
        synthetic=True,
        note="population tables",
    )
    imported = datetime(2026, 3, 2, 8, 0)
    sid = record_source(kb, rec, imported_at=imported)
    row = kb.execute(
        "SELECT name, dataset, publisher, licence, retrieved_at, version, reference_date, "
        "address, synthetic, note, imported_at FROM source WHERE id = ?",
        [sid],
    ).fetchone()
    assert row == (
        "insee-rp",
        "base-cc-2021.csv",
        "INSEE",
        "Licence Ouverte 2.0",
        datetime(2026, 3, 1, 12, 30),  # stored as naive UTC
        "2021",
        "2021-01-01",
        "https://www.insee.fr/fr/statistiques/8202264",
        True,
        "population tables",
        imported,
    )
    assert record_source(kb, rec) == sid + 1


def test_a_source_without_a_publisher_is_refused() -> None:
    with pytest.raises(SourceError, match="a source needs a publisher"):
        SourceRecord("x", "x.csv", " ", "CC0", datetime(2026, 1, 1))


def test_swap_replaces_the_previous_import(kb: duckdb.DuckDBPyConnection) -> None:
    first = _import(kb, ["a", "b", "c"])
    second = _import(kb, ["d", "e"])
    assert kb.execute("SELECT name, source_id FROM thing ORDER BY name").fetchall() == [
        ("d", second),
        ("e", second),
    ]
    assert kb.execute("SELECT id FROM source WHERE name = 'things'").fetchall() == [(second,)]
    assert first != second
    assert _temp_tables(kb, "t_") == []


def test_failing_swap_keeps_previous_rows_and_drops_staging(
    kb: duckdb.DuckDBPyConnection,
) -> None:
    sid = _import(kb, ["a", "b", "c"])
    with pytest.raises(RuntimeError, match="disk on fire"):
        _import(kb, ["x"], fail=True)
    assert kb.execute("SELECT name, source_id FROM thing ORDER BY name").fetchall() == [
        ("a", sid),
        ("b", sid),
        ("c", sid),
    ]
    assert kb.execute("SELECT id FROM source").fetchall() == [(sid,)]
    assert _temp_tables(kb, "t_") == []


def test_failing_staging_drops_its_tables(kb: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.Error), Staging(kb, "t_"):
        kb.execute("CREATE TEMP TABLE t_one AS SELECT 1 AS x")
        kb.execute("CREATE TEMP VIEW t_view AS SELECT * FROM t_one")
        kb.execute("SELECT * FROM no_such_table")
    assert _temp_tables(kb, "t_") == []


def test_a_killed_process_does_not_hand_out_a_source_id_twice(tmp_path: Path) -> None:
    """Ids drawn for staged sources survive a kill: the next import gets a fresh one."""
    db = tmp_path / "kb.duckdb"
    connect(db).close()
    script = textwrap.dedent(
        """
        import os, sys
        from datetime import datetime
        from territoria.kb import connect
        from territoria.sources._framework import SourceRecord, Staging
        con = connect(sys.argv[1])
        con.execute("CREATE TABLE IF NOT EXISTS thing (name VARCHAR, source_id INTEGER)")
        with Staging(con, "t_") as staging:
            sid = staging.source(SourceRecord("things", "t", "us", "CC0", datetime(2026, 1, 1)))
            with staging.swap(names=["things"], tables=["thing"]):
                con.execute("INSERT INTO thing VALUES ('a', ?)", [sid])
        print(sid, flush=True)
        os._exit(0)  # like a kill: no checkpoint, the log alone holds the import
        """
    )
    ids = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", script, str(db)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        ids.append(int(done.stdout.strip()))
    assert ids[1] > ids[0]
    con = connect(db)
    try:
        assert con.execute("SELECT name, source_id FROM thing").fetchall() == [("a", ids[1])]
    finally:
        con.close()


# --------------------------------------------------------------------------- steps, progress


@dataclass
class _Report:
    timings: dict[str, float] = field(default_factory=dict)


def test_step_timer_reports_steps_and_counts() -> None:
    heard: list[tuple[object, ...]] = []
    report = _Report()
    step = StepTimer(report, lambda *args: heard.append(args))
    step("read")
    step("read", 10, 100)
    step("read", 100, 100)
    step("write")
    step("")
    # a step starts with (step) alone: callbacks of one argument keep working
    assert heard == [("read",), ("read", 10, 100), ("read", 100, 100), ("write",)]
    assert set(report.timings) == {"read", "write"}
    assert all(t >= 0 for t in report.timings.values())


def test_cli_spinner_accepts_counts() -> None:
    from territoria.cli._common import step_progress

    with step_progress(quiet=True) as progress:
        progress("read")
        progress("read", 5, 10)
        progress("read", 5, None)


# --------------------------------------------------------------------------- errors


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable, even for root (who ignores permission bits)."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("running as root without chattr: cannot make a folder read-only for root")
    done = subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"running as root and chattr +i failed: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def test_permission_error_becomes_read_only_database(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    con = connect(folder / "kb.duckdb")
    try:
        con.execute("CHECKPOINT")
        with immutable(folder):
            with pytest.raises(duckdb.Error) as caught:
                con.execute("CREATE TABLE x AS SELECT 1 AS y")  # needs the write-ahead log
            error = translate_error(caught.value)
    finally:
        con.close()
    assert isinstance(error, ReadOnlyDatabase)
    assert "kb.duckdb.wal" in str(error)
    assert "read-only: choose another path with --db or TERRITORIA_DB" in str(error)
    assert error.exit_code == 3


def test_lock_error_becomes_database_locked(tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb\ncon = duckdb.connect(sys.argv[1])\n"
            "print('ready', flush=True)\ntime.sleep(60)\n",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(duckdb.Error) as caught:
            duckdb.connect(str(db))
    finally:
        holder.kill()
        holder.wait()
    error = translate_error(caught.value)
    assert isinstance(error, DatabaseLocked)
    assert "in use by another process" in str(error)
    assert "stop 'territoria serve'" in str(error)


def test_corrupt_csv_becomes_source_error_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rel.csv"
    path.write_text('a,b\n1,2\n"3,4\n5,6\n', encoding="utf-8")
    with pytest.raises(duckdb.Error) as caught:
        duckdb.sql(
            "SELECT * FROM read_csv(?, header = true, auto_detect = false, "
            "columns = {'a': 'VARCHAR', 'b': 'VARCHAR'}, quote = '\"', strict_mode = true)",
            params=[str(path)],
        ).fetchall()
    error = translate_error(caught.value, source=path, hint="close the quote")
    assert isinstance(error, SourceError)
    assert str(error) == (
        "cannot read 'rel.csv': line 3: Value with unterminated quote found; close the quote"
    )
    assert error.exit_code == 2


def test_disk_full_and_missing_files() -> None:
    full = translate_error(OSError(errno.ENOSPC, "No space left on device", "/kb/kb.duckdb.wal"))
    assert isinstance(full, DatabaseError) and "the disk is full" in str(full)
    assert "nothing was written" in str(full)
    missing = translate_error(
        FileNotFoundError(errno.ENOENT, "No such file", "/data/x.csv"), source="/data/x.csv"
    )
    assert isinstance(missing, SourceError)
    assert str(missing) == "'x.csv' does not exist: check the path"
    other = translate_error(duckdb.BinderException("Binder Error: column z not found"))
    assert isinstance(other, DatabaseError)
    assert str(other) == "database error: Binder Error: column z not found"


# --------------------------------------------------------------------------- audit


def test_indicator_import_records_an_audit_row(mini_db: duckdb.DuckDBPyConnection) -> None:
    report = import_indicators(
        mini_db, LONG, source_name="counts", publisher="INSEE", licence="LO 2.0"
    )
    again = import_indicators(
        mini_db, LONG, source_name="counts", publisher="INSEE", licence="LO 2.0"
    )
    entries = list_audit(mini_db, event="import.indicators")
    assert [e.target for e in entries] == ["counts", "counts"]
    assert entries[0].detail is not None and entries[1].detail is not None
    assert entries[1].detail["rows"] == report.rows
    assert entries[0].detail["replaced_previous"] == again.replaced_previous == report.rows
    assert entries[0].detail["source_id"] == again.source_id


def test_france_import_records_an_audit_row(mini_db: duckdb.DuckDBPyConnection) -> None:
    entries = list_audit(mini_db, event="import.france")
    assert len(entries) == 1  # the import that built the fixture
    detail = entries[0].detail
    assert detail is not None
    communes = mini_db.execute("SELECT count(*) FROM territory WHERE level = 'commune'").fetchone()
    assert communes is not None and detail["territories"]["commune"] == communes[0]
    persons = mini_db.execute("SELECT count(*) FROM person").fetchone()
    assert persons is not None and detail["persons"] == persons[0]


def test_words_in_the_file_do_not_change_the_kind_of_error(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text('a,b\n"read-only lock, permission denied\n', encoding="utf-8")
    with pytest.raises(duckdb.Error) as caught:
        duckdb.sql(
            "SELECT * FROM read_csv(?, header = true, auto_detect = false, "
            "columns = {'a': 'VARCHAR', 'b': 'VARCHAR'}, quote = '\"', strict_mode = true)",
            params=[str(path)],
        ).fetchall()
    error = translate_error(caught.value, source=path)
    assert isinstance(error, SourceError)
    assert str(error).startswith("cannot read 'odd.csv': line 2: ")
