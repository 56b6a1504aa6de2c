"""Repair of a metadata block torn by a kill during a checkpoint (DuckDB 1.5.5).

DuckDB writes table data into free blocks only, but it rewrites its **metadata blocks in
place**: a metadata block holds 64 sub-blocks, and a checkpoint that needs metadata space
copies a block whose free sub-blocks it reuses, fills them, and writes the whole 256 KiB block
back at the same address (``MetadataManager::AllocateHandle`` / ``Flush``). The sub-blocks the
durable file header still uses are copied unchanged, so before and after the write they hold
the same bytes. But a SIGKILL stops a large ``pwrite`` between two pages (Linux checks for a
fatal signal after each page it copies), so the block on disk can end up with the new first
pages -- among them its stored checksum -- and the old rest. The bytes the durable header uses
are intact; the block's checksum no longer matches, and DuckDB refuses the whole file
("Corrupt database file: computed checksum … in block at location …"). tests/kill_sweep.py met
it about once in a few thousand kills; tests/test_recovery.py rebuilds it exactly.

The repair, run by :func:`territoria.kb._recovery.recover` only after a crash (a log left
beside the file) and with the file's lock held: open the file alone read-only; while DuckDB
names a block whose checksum fails *at open* (a metadata block: data blocks are not read then),
and the checksum this module computes for it is the one DuckDB computed, store that checksum
in the block's header; then check every metadata block the file lists
(``pragma_metadata_info``) the same way. Nothing but those 8-byte checksums is written, and
each change is recorded in ``<db>.torn-<time>-<pid>.json`` (address, stored and computed
checksums) so that it can be undone. A data block that fails its checksum is left alone: DuckDB
never rewrites those in place, so that is real damage and DuckDB's error says so.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numpy as np

__all__ = ["TornBlock", "repair_torn_metadata"]

log = logging.getLogger("territoria.kb")

#: The main header and the two database headers (4 KiB each) precede the first block.
_BLOCKS_START = 3 * 4096
#: DuckDB's default block size (the file's own size is read when it opens).
_DEFAULT_BLOCK_SIZE = 262_144
#: The multiplier of DuckDB's block checksum (src/common/checksum.cpp).
_MULTIPLIER = np.uint64(0xBF58476D1CE4E5B9)
_SEED = np.uint64(5381)
#: At most this many blocks are repaired (a kill tears one write; a few blocks at most).
_MAX_REPAIRS = 16
_CHECKSUM_ERROR = re.compile(
    r"computed checksum (\d+) does not match stored checksum (\d+) in block at location (\d+)"
)


@dataclass(frozen=True)
class TornBlock:
    """A metadata block whose stored checksum was replaced by the one of its content."""

    location: int
    stored: int
    computed: int


def block_checksum(payload: bytes) -> int:
    """DuckDB's checksum of a block's payload (the block without its 8-byte checksum)."""
    words = np.frombuffer(payload, dtype="<u8", count=len(payload) // 8)
    with np.errstate(over="ignore"):
        value = np.bitwise_xor.reduce(words * _MULTIPLIER) ^ _SEED
    if len(payload) % 8:  # pragma: no cover - DuckDB's block payloads are multiples of 8
        msg = "a block payload whose size is not a multiple of 8 bytes"
        raise ValueError(msg)
    return int(value)


def _read_block(fd: int, location: int, size: int) -> tuple[int, int] | None:
    """Return (stored, computed) checksums of the block at ``location``, None past the end."""
    data = os.pread(fd, size, location)
    if len(data) < size:
        return None
    stored = int.from_bytes(data[:8], "little")
    return stored, block_checksum(data[8:])


def _patch(fd: int, location: int, stored: int, computed: int) -> TornBlock:
    os.pwrite(fd, computed.to_bytes(8, "little"), location)
    return TornBlock(location, stored, computed)


def _open_errors(
    path: Path, fd: int, repaired: list[TornBlock]
) -> duckdb.DuckDBPyConnection | None:
    """Open read-only, repairing the blocks DuckDB names at open; None if it cannot open."""
    for _ in range(_MAX_REPAIRS + 1):
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            found = _CHECKSUM_ERROR.search(str(exc))
            if not found or len(repaired) >= _MAX_REPAIRS:
                return None
            computed, location = int(found.group(1)), int(found.group(3))
            if location < _BLOCKS_START or (location - _BLOCKS_START) % 4096:
                return None  # a header, or not a block address: not this failure
            checked = _read_block(fd, location, _DEFAULT_BLOCK_SIZE)
            if checked is None or checked[1] != computed:
                return None  # not DuckDB's checksum of the block as this module reads it
            repaired.append(_patch(fd, location, checked[0], computed))
    return None


def repair_torn_metadata(path: Path) -> list[TornBlock]:
    """Repair the torn metadata blocks of ``path`` (opened alone, its log set aside).

    The caller holds the file's lock and has set the log aside. Returns the blocks repaired
    (empty when none was torn); the file is unchanged if it does not open after repairs.
    """
    repaired: list[TornBlock] = []
    fd = os.open(path, os.O_RDWR)
    try:
        con = _open_errors(path, fd, repaired)
        if con is not None:
            try:
                size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()
                block_size = int(size[0]) if size else _DEFAULT_BLOCK_SIZE
                blocks = [
                    int(r[0])
                    for r in con.execute("SELECT block_id FROM pragma_metadata_info()").fetchall()
                ]
            except duckdb.Error:
                blocks, block_size = [], _DEFAULT_BLOCK_SIZE
            finally:
                con.close()
            for block in blocks:
                location = _BLOCKS_START + block * block_size
                checked = _read_block(fd, location, block_size)
                if checked is not None and checked[0] != checked[1]:
                    if len(repaired) >= _MAX_REPAIRS:
                        break
                    repaired.append(_patch(fd, location, *checked))
        elif repaired:
            # it still does not open: put the stored checksums back, leave it to DuckDB's error
            for done in reversed(repaired):
                os.pwrite(fd, done.stored.to_bytes(8, "little"), done.location)
            repaired = []
        if repaired:
            os.fsync(fd)
    finally:
        os.close(fd)
    if repaired:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        record = path.with_name(f"{path.name}.torn-{stamp}-{os.getpid()}.json")
        record.write_text(json.dumps([asdict(b) for b in repaired], indent=1), encoding="utf-8")
        log.warning(
            "knowledge base %s: %d metadata block(s) torn by a crash during a checkpoint, "
            "their checksums repaired (the previous checkpoint's data is intact); record: %s",
            path,
            len(repaired),
            record,
        )
    return repaired
