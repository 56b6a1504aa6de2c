"""Recovery from a kill between a checkpoint's new file header and the log's truncation."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from territoria.kb import connect, generation, transaction
from territoria.kb._recovery import recover


def _crashed_after_checkpoint(path: Path) -> None:
    """Leave ``path`` as a kill during a checkpoint does: the file holds the last commit, and
    the log that carried it is still there."""
    con = connect(path)
    con.execute("CREATE TABLE t (id INTEGER, v VARCHAR)")
    with transaction(con):
        con.execute("INSERT INTO t SELECT range, 'old' FROM range(1000)")
    con.execute("CHECKPOINT")
    con.execute("SET checkpoint_threshold = '1TB'")  # no automatic checkpoint below
    with transaction(con):
        con.execute("DELETE FROM t")
        con.execute("INSERT INTO t SELECT range, 'new' FROM range(500)")
    wal = path.with_name(path.name + ".wal")
    shutil.copyfile(wal, path.parent / "log.copy")  # the log as it was before the checkpoint
    con.execute("CHECKPOINT")
    con.close()
    assert not wal.exists()
    shutil.copyfile(path.parent / "log.copy", wal)


def test_recovery_sets_a_checkpointed_log_aside(tmp_path: Path) -> None:
    path = tmp_path / "kb.duckdb"
    _crashed_after_checkpoint(path)
    report = recover(path)
    assert report is not None and not report.kept_log
    assert report.discarded is not None and report.discarded.exists()
    assert report.file_generation == report.log_generation or report.log_generation is None
    con = connect(path)
    assert con.execute("SELECT v, count(*) FROM t GROUP BY v").fetchall() == [("new", 500)]
    con.close()


def test_recovery_keeps_a_log_with_newer_commits(tmp_path: Path) -> None:
    path = tmp_path / "kb.duckdb"
    con = connect(path)
    con.execute("CREATE TABLE t (id INTEGER)")
    con.execute("CHECKPOINT")
    before = generation(con)
    con.execute("SET checkpoint_threshold = '1TB'")
    with transaction(con):
        con.execute("INSERT INTO t SELECT range FROM range(300)")
    # a kill now: the commit is in the log only
    wal = path.with_name(path.name + ".wal")
    shutil.copyfile(wal, tmp_path / "log.copy")
    shutil.copyfile(path, tmp_path / "file.copy")
    con.close()
    shutil.copyfile(tmp_path / "file.copy", path)
    shutil.copyfile(tmp_path / "log.copy", wal)
    report = recover(path)
    assert report is not None and report.kept_log
    assert report.log_generation == before + 1
    con = connect(path)
    assert con.execute("SELECT count(*) FROM t").fetchone() == (300,)
    assert generation(con) == before + 1
    con.close()


def test_recovery_leaves_a_served_knowledge_base_alone(tmp_path: Path) -> None:
    path = tmp_path / "kb.duckdb"
    con = connect(path)
    con.execute("SET checkpoint_threshold = '1TB'")
    with transaction(con):
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    assert path.with_name(path.name + ".wal").exists()
    # this process holds it open: checking it would drop DuckDB's lock
    assert recover(path) is None
    assert con.execute("SELECT x FROM t").fetchone() == (1,)
    con.close()


@pytest.mark.parametrize("content", [b"", b"not a database"])
def test_recovery_ignores_what_is_not_a_territoria_log(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "other.duckdb"
    duckdb.connect(str(path)).close()
    path.with_name(path.name + ".wal").write_bytes(content)
    assert recover(path) is None
