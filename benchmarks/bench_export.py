"""Benchmark of the exports on the knowledge base of all of France.

Level exports: every commune (about 35,000) and every EPCI with every indicator at its latest
period (``indicators="all"``), in each format, against the baseline of the same level exported
as GeoParquet without any indicator (what ``territoria export`` wrote before indicators
existed). File sizes are shown.

Officials: the roster of a commune, an EPCI, a département and a région
(:func:`territoria.roster.roster`, every current member of the councils and the territory's
parliamentarians) and its XLSX bytes, against the baseline of the territory's profile
(:func:`territoria.analysis.profile.profile`, which shows only the executives).

Each measurement is repeated (``--repeat``) after one warm-up call; medians are shown with the
machine's load: on a shared machine, compare the rows of one run, not runs.

Run: ``python benchmarks/bench_export.py [PATH] [--repeat N]`` (default PATH
``/tmp/kb/france.duckdb``, opened read-only; import ``territoria import iris`` into it first to
export real indicators).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from territoria.analysis.profile import profile
from territoria.export import export_level
from territoria.kb import connect
from territoria.roster import roster, roster_bytes

ROSTERS = [
    ("35238", "commune", "Rennes"),
    ("75056", "commune", "Paris"),
    ("243500139", "epci", "Rennes Métropole"),
    ("67", "departement", "Bas-Rhin (CeA)"),
    ("53", "region", "Bretagne"),
]


def _median(call: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = call()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="/tmp/kb/france.duckdb")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    con = connect(args.path, read_only=True)
    print(f"knowledge base {args.path}; load average {os.getloadavg()[0]:.1f}")
    indicators = con.execute(
        "SELECT level, count(DISTINCT indicator) FROM indicator_value GROUP BY level"
    ).fetchall()
    print("indicators by level:", dict(indicators) or "none")
    print()
    print(f"{'level export':<44}{'median s':>10}{'size MB':>10}")
    with tempfile.TemporaryDirectory() as folder:
        for level in ("commune", "epci"):
            runs: list[tuple[str, str, Any]] = [("parquet", "baseline, no indicator", None)]
            runs += [(fmt, "every indicator", "all") for fmt in ("parquet", "csv", "xlsx", "gpkg")]
            for fmt, what, wanted in runs:
                out = Path(folder) / f"{level}-{fmt}-{wanted}.{fmt}"
                seconds, _ = _median(
                    lambda out=out, fmt=fmt, wanted=wanted, level=level: export_level(
                        con, level, fmt=fmt, out=out, indicators=wanted
                    ),
                    args.repeat,
                )
                size = out.stat().st_size / 1e6
                print(f"{level + ' ' + fmt + ' (' + what + ')':<44}{seconds:>10.2f}{size:>10.1f}")
    print()
    print(f"{'officials of':<26}{'rows':>6}{'roster ms':>11}{'+ xlsx ms':>11}{'profile ms':>12}")
    for code, level, label in ROSTERS:
        seconds, found = _median(lambda c=code, lv=level: roster(con, c, level=lv), args.repeat)
        xlsx, _ = _median(lambda f=found: roster_bytes(f, fmt="xlsx"), args.repeat)
        base, _ = _median(lambda c=code, lv=level: profile(con, c, level=lv), args.repeat)
        print(
            f"{label:<26}{len(found.officials):>6}{seconds * 1e3:>11.0f}{xlsx * 1e3:>11.0f}"
            f"{base * 1e3:>12.0f}"
        )
    con.close()


if __name__ == "__main__":
    main()
