"""Benchmark: building the influence graph with and without the attention budgets.

Usage: python benchmarks/bench_influence_calibration.py [KB.duckdb] [--runs 5]  (opened
read-only; default $TERRITORIA_FULL_DB or /tmp/kb/france.duckdb)

Rows, all run in this process, interleaved run by run so that a shared machine's load hits
each row alike:

- baseline: the previous build (:func:`build_graph_v0` below, copied from ``network.py``
  before the change: the raw edges stay in a DuckDB temporary table, no budget);
- budgets off: the current build with every attention budget removed (``[attention]`` empty):
  the raw edges make the round trip through Arrow and NumPy, and nothing is scaled;
- budgets on: the current build with the default ``[attention]`` budgets.

Each row shows the median and the fastest of ``--runs`` runs in wall time and in CPU time of
this process (DuckDB's threads included; less sensitive than wall time to other jobs on a
shared machine), and the edges' probability sum (what the budgets take away); the header shows
the machine's 1-minute load average.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import time
from collections.abc import Callable

import duckdb
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from territoria.influence import network
from territoria.influence.config import InfluenceConfig, load_config
from territoria.kb import connect


def build_graph_v0(con: duckdb.DuckDBPyConnection, config: InfluenceConfig) -> pa.Table:
    """The edge table as the build computed it before attention budgets (baseline)."""
    network._probabilities(con, config)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ig_nodes AS SELECT (row_number() OVER (ORDER BY id)) - 1 "
        f"AS idx, id, any_value(name) AS name, any_value(kind) AS kind FROM "
        f"({network._NODES_SQL}) GROUP BY id"
    )
    other = config.probability("other")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE ig_raw AS
        SELECT s.idx AS source, t.idx AS target, e.type,
               coalesce(pr.p, {other}) * coalesce(r.strength, 1.0) AS p
        FROM ({network._EDGES_SQL}) e
        JOIN ig_nodes s ON s.id = e.src
        JOIN ig_nodes t ON t.id = e.dst
        LEFT JOIN ig_prob pr ON pr.type = e.type
        LEFT JOIN (SELECT source_actor, target_actor, type, max(strength) AS strength
                   FROM relation GROUP BY ALL) r
          ON r.source_actor = e.src AND r.target_actor = e.dst AND r.type = e.type
        WHERE s.idx <> t.idx
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE ig_edges AS
        WITH pair AS (
            SELECT source, target, arg_max(type, p) AS type,
                   1 - exp(sum(ln(greatest(1 - least(p, 1.0), 1e-12)))) AS p
            FROM ig_raw WHERE p > 0 GROUP BY source, target
        ), insum AS (SELECT target, sum(p) AS s FROM pair GROUP BY target)
        SELECT pair.source, pair.target,
               pair.p * least(1.0, {config.max_in_sum} / insum.s) AS probability, pair.type
        FROM pair JOIN insum USING (target)
        ORDER BY pair.source, pair.target
        """
    )
    con.execute("SELECT idx, id, name, kind FROM ig_nodes ORDER BY idx").to_arrow_table()
    edges = con.execute("SELECT source, target, probability, type FROM ig_edges").to_arrow_table()
    for name in ("ig_prob", "ig_nodes", "ig_raw", "ig_edges"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    return edges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "db", nargs="?", default=os.environ.get("TERRITORIA_FULL_DB", "/tmp/kb/france.duckdb")
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    con = connect(args.db, read_only=True)
    config = load_config()
    off = dataclasses.replace(config, attention={}, attention_default=math.inf)
    rows: dict[str, Callable[[], pa.Table]] = {
        "baseline (previous build, no budget)": lambda: build_graph_v0(con, config),
        "budgets off (current build)": lambda: network.build_graph(con, config=off)[1],
        "budgets on (current build)": lambda: network.build_graph(con, config=config)[1],
    }
    times: dict[str, list[float]] = {name: [] for name in rows}
    cpu: dict[str, list[float]] = {name: [] for name in rows}
    sums: dict[str, float] = {}
    edges: dict[str, int] = {}
    load = os.getloadavg()[0]
    rows["budgets on (current build)"]()  # warm DuckDB's caches once
    for _ in range(args.runs):
        for name, run in rows.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            table = run()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
            sums[name] = float(table.column("probability").to_numpy().sum())
            edges[name] = table.num_rows
    con.close()
    base = statistics.median(times["baseline (previous build, no budget)"])
    base_cpu = statistics.median(cpu["baseline (previous build, no budget)"])
    out = Table(title=f"Influence graph build, {args.runs} runs, load average {load:.1f}")
    columns = ("build", "median s", "fastest s", "vs baseline", "CPU median s", "CPU vs baseline")
    for column in (*columns, "edges", "sum of p"):
        out.add_column(column, justify="left" if column == "build" else "right")
    for name, values in times.items():
        median = statistics.median(values)
        out.add_row(
            name,
            f"{median:.2f}",
            f"{min(values):.2f}",
            f"{100 * (median / base - 1):+.0f} %",
            f"{statistics.median(cpu[name]):.2f}",
            f"{100 * (statistics.median(cpu[name]) / base_cpu - 1):+.0f} %",
            f"{edges[name]:,}",
            f"{sums[name]:,.0f}",
        )
    Console().print(out)


if __name__ == "__main__":
    main()
