"""Benchmark: location quotients of every commune × NAF division, against a plain aggregation.

Usage::

    python benchmarks/bench_sirene_lq.py --db KB.duckdb [--repeat 3]

``KB.duckdb`` holds SIRENE establishments (for instance the knowledge base that
``bench_sirene_import.py`` leaves in its work folder). The baseline is the bare aggregation of
employment by commune and division in the same process: the floor of any LQ computation.

Budget (issue 5): LQ for all communes × NAF divisions in at most 5 s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from territoria.analysis.specialisation import location_quotients
from territoria.kb import connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    con = connect(args.db, read_only=True)
    count = con.execute("SELECT count(*), count_if(active) FROM establishment").fetchone()
    assert count is not None
    measures: dict[str, list[float]] = {}
    cells = 0
    cases = {
        "baseline: SUM(employment) GROUP BY commune, division": lambda: con.execute(
            "SELECT commune, division, sum(employment) FROM establishment "
            "WHERE active AND commune IS NOT NULL AND division IS NOT NULL GROUP BY ALL"
        ).to_arrow_table(),
        "LQ communes × divisions vs nation (employment)": lambda: location_quotients(
            con, level="commune", sector_level="division"
        ).to_arrow_table(),
        "LQ communes × divisions vs département": lambda: location_quotients(
            con, level="commune", sector_level="division", reference="departement"
        ).to_arrow_table(),
        "LQ communes × NAF groups vs nation": lambda: location_quotients(
            con, level="commune", sector_level="group"
        ).to_arrow_table(),
        "LQ EPCI × divisions (establishment counts)": lambda: location_quotients(
            con, level="epci", sector_level="division", measure="establishments"
        ).to_arrow_table(),
    }
    for _ in range(args.repeat):
        for name, run in cases.items():
            start = time.perf_counter()
            table = run()
            measures.setdefault(name, []).append(time.perf_counter() - start)
            if name.startswith("LQ communes × divisions vs nation"):
                cells = table.num_rows
    con.close()
    table = Table(
        title=f"Location quotients on {count[0]:,} establishments ({count[1]:,} active), 2 cores"
    )
    table.add_column("measure")
    table.add_column("median s", justify="right")
    table.add_column("min s", justify="right")
    base = statistics.median(next(iter(measures.values())))
    for name, values in measures.items():
        table.add_row(name, f"{statistics.median(values):.2f}", f"{min(values):.2f}")
    lq = statistics.median(measures["LQ communes × divisions vs nation (employment)"])
    table.add_row("ratio LQ / baseline", f"{lq / base:.1f}×", "")
    table.add_row("budget", "5.00", "")
    Console().print(table)
    Console().print(f"{cells:,} (commune, division) cells with activity", style="dim")


if __name__ == "__main__":
    main()
