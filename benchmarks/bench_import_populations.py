"""Benchmark: importing the population series of the default decoupage-administratif editions.

The import of the six default editions (0.8.0, 1.1.1, 2.3.1, 4.0.0, 4.1.0, 6.0.0: about
37,000 communes each) into a copy of a full-France knowledge base is measured against its
floor, in the same process: opening the same tarballs and parsing their ``communes.json`` and
``epci.json`` with :mod:`json` (what any importer of these files must do), nothing else.

Time is the best of ``--runs`` runs. Peak RSS is measured for each step in a fresh child
process (spawned, with the same modules imported), as its peak resident size (``VmHWM``) minus
its resident size before the step: what the step adds to the process.

Usage::

    python benchmarks/bench_import_populations.py [--kb /tmp/kb/france.duckdb] [--cache DIR]

``--kb`` is a knowledge base built by ``territoria import france`` (copied, never written);
the editions are read from ``--cache`` (default: ``TERRITORIA_CACHE_DIR`` or
``~/.cache/territoria``) and downloaded from the npm registry when missing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from territoria.kb import connect
from territoria.sources._npm import download_tarball
from territoria.sources.populations import DEFAULT_VERSIONS, import_populations


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc (``VmRSS``, ``VmHWM``: peak RSS), in MB."""
    # VmHWM belongs to the address space, new at exec; ru_maxrss would be the parent's
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1e3
    raise RuntimeError(f"no {field} in /proc/self/status")


def floor(paths: list[Path]) -> None:
    """Parse the data files the import reads, and nothing else."""
    for path in paths:
        with tarfile.open(path) as archive:
            for member in ("package/data/communes.json", "package/data/epci.json"):
                handle = archive.extractfile(member)
                assert handle is not None
                json.loads(handle.read())


def run(paths: list[Path], db: Path) -> int:
    """Import every edition into the knowledge base ``db``; return the values written."""
    con = connect(db)
    try:
        return import_populations(con, origins=paths).rows
    finally:
        con.close()


def _child(step: str, paths: list[Path], db: Path, queue: multiprocessing.Queue[float]) -> None:
    start = _status_mb("VmRSS")
    if step == "floor":
        floor(paths)
    else:
        run(paths, db)
    queue.put(_status_mb("VmHWM") - start)


def _peak(step: str, paths: list[Path], db: Path) -> float:
    """Peak RSS (MB) that ``step`` adds, measured in a spawned child."""
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[float] = ctx.Queue()
    process = ctx.Process(target=_child, args=(step, paths, db, queue))
    process.start()
    value = queue.get()
    process.join()
    return value


def _best(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kb", type=Path, default=Path(os.environ.get("TERRITORIA_DB", "/tmp/kb/france.duckdb"))
    )
    default_cache = os.environ.get("TERRITORIA_CACHE_DIR", str(Path.home() / ".cache/territoria"))
    parser.add_argument("--cache", type=Path, default=Path(default_cache))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not args.kb.exists():
        raise SystemExit(f"no knowledge base at {str(args.kb)!r}: run 'territoria import france'")
    paths = [download_tarball(v, args.cache) for v in DEFAULT_VERSIONS]

    with tempfile.TemporaryDirectory(prefix="bench-populations-") as tmp:
        db = Path(tmp) / "kb.duckdb"
        shutil.copyfile(args.kb, db)
        rows = run(paths, db)  # warm-up: the first run also fills the caches
        t_floor = _best(args.runs, lambda: floor(paths))
        t_run = _best(args.runs, lambda: run(paths, db))
        m_floor, m_run = _peak("floor", paths, db), _peak("run", paths, db)

    print(f"{len(paths)} editions ({', '.join(DEFAULT_VERSIONS)}) → {rows:,} population values")
    print(f"{'step':<52} {'time (s)':>9} {'× floor':>8} {'peak RSS (MB)':>14}")
    print(
        f"{'floor: parse communes.json + epci.json (json)':<52} {t_floor:>9.2f} {1:>8.1f} "
        f"{m_floor:>14.1f}"
    )
    print(
        f"{'import populations (read, stage, compare, swap)':<52} {t_run:>9.2f} "
        f"{t_run / t_floor:>8.1f} {m_run:>14.1f}"
    )


if __name__ == "__main__":
    main()
