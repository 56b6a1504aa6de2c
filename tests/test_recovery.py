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


def _metadata_blocks(path: Path) -> list[int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [
            int(r[0]) for r in con.execute("SELECT block_id FROM pragma_metadata_info()").fetchall()
        ]
    finally:
        con.close()


def _torn_during_checkpoint(path: Path) -> int:
    """Leave ``path`` as a kill in the middle of a checkpoint's in-place rewrite of a metadata
    block leaves it: the new first page of the block (its checksum among them) over the old
    block, the previous checkpoint everywhere else, and the log of the commit being folded in.
    Return the number of rows of ``t`` the commit leaves."""
    con = connect(path)
    con.execute("CREATE TABLE t (id BIGINT, v VARCHAR)")
    with transaction(con):
        con.execute("INSERT INTO t SELECT range, md5(range::VARCHAR) FROM range(300000)")
    con.close()
    old = path.read_bytes()
    con = connect(path)
    con.execute("SET checkpoint_threshold = '1TB'")
    with transaction(con):
        con.execute("DELETE FROM t WHERE id % 3 = 0")
        con.execute("CREATE TABLE w AS SELECT range AS x FROM range(5000)")
    wal = path.with_name(path.name + ".wal")
    log_bytes = wal.read_bytes()
    con.execute("CHECKPOINT")
    con.close()
    new = path.read_bytes()
    rewritten = [
        b
        for b in _metadata_blocks_of(old, path.parent / "old.copy")
        if old[12288 + b * 262144 : 12288 + (b + 1) * 262144]
        != new[12288 + b * 262144 : 12288 + (b + 1) * 262144]
    ]
    assert rewritten, "DuckDB rewrote no metadata block in place: the scenario does not apply"
    start = 12288 + rewritten[0] * 262144
    torn = bytearray(old)
    torn[start : start + 4096] = new[start : start + 4096]  # the kill stopped after one page
    path.write_bytes(bytes(torn))
    wal.write_bytes(log_bytes)
    return 300000 - len(range(0, 300000, 3))  # the rows the commit keeps


def _metadata_blocks_of(content: bytes, scratch: Path) -> list[int]:
    scratch.write_bytes(content)
    try:
        return _metadata_blocks(scratch)
    finally:
        scratch.unlink()


def test_recovery_repairs_a_metadata_block_torn_during_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "kb.duckdb"
    rows = _torn_during_checkpoint(path)
    with pytest.raises(duckdb.IOException, match="Corrupt database file"):
        duckdb.connect(str(path), read_only=True).close()  # DuckDB alone refuses the file
    report = recover(path)
    assert report is not None and report.torn_blocks == 1
    assert report.kept_log  # the file alone is the previous checkpoint; the log brings the commit
    con = connect(path)
    assert con.execute("SELECT count(*) FROM t").fetchone() == (rows,)
    assert con.execute("SELECT count(*) FROM w").fetchone() == (5000,)
    con.close()
    records = list(tmp_path.glob("kb.duckdb.torn-*.json"))
    assert len(records) == 1 and '"location"' in records[0].read_text()


def test_recovery_leaves_a_damaged_data_block_to_duckdb(tmp_path: Path) -> None:
    from territoria.kb._torn import repair_torn_metadata

    path = tmp_path / "kb.duckdb"
    con = connect(path)
    con.execute("CREATE TABLE t AS SELECT range AS id, md5(range::VARCHAR) AS v FROM range(300000)")
    con.close()
    metadata = set(_metadata_blocks(path))
    con = duckdb.connect(str(path), read_only=True)
    used = {
        int(r[0])
        for r in con.execute("SELECT block_id FROM pragma_storage_info('t')").fetchall()
        if r[0] is not None and r[0] >= 0
    }
    con.close()
    data_block = min(used - metadata)
    content = bytearray(path.read_bytes())
    at = 12288 + data_block * 262144 + 5000
    content[at] ^= 0xFF  # bit rot in a data block: not what a kill does
    path.write_bytes(bytes(content))
    assert repair_torn_metadata(path) == []
    assert path.read_bytes() == bytes(content)
