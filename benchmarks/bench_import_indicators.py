"""Benchmark: importing a long-format indicator file of about a million values.

The file holds SYNTHETIC values (random numbers, indicator codes ``SYNTH_*``, source flagged
``synthetic``) for every real commune of a full-France knowledge base, written the INSEE way
(``;`` separator, decimal commas). The import is timed against its floor, measured in the same
process: DuckDB's ``read_csv`` of the same file into a temporary table (all columns as text, as
the importer reads it), which is the least any importer reading this file must spend.

The same values are also written in INSEE's wide layout (``CODGEO;P24_SYNTH0;P23_SYNTH0;...``)
and imported with ``wide=True``, against the floor of reading that file.

Usage::

    python benchmarks/bench_import_indicators.py [--kb /tmp/kb/france.duckdb] [--indicators 6]
        [--periods 5]

``--kb`` is a knowledge base built by ``territoria import france`` (opened read-only; its
territories are copied into a throw-away knowledge base).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from territoria.errors import ValidationError
from territoria.kb import connect
from territoria.sources.indicators import import_indicators

PROVENANCE: dict[str, Any] = {
    "publisher": "Territoria benchmark (synthetic values)",
    "licence": "CC0-1.0",
    "synthetic": True,
}


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
    parser.add_argument("--indicators", type=int, default=6)
    parser.add_argument("--periods", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not args.kb.exists():
        raise SystemExit(f"no knowledge base at {str(args.kb)!r}: run 'territoria import france'")

    with tempfile.TemporaryDirectory(prefix="bench-indicators-") as tmp:
        folder = Path(tmp)
        con = connect(folder / "kb.duckdb")
        con.execute(f"ATTACH '{args.kb.as_posix()}' AS fr (READ_ONLY)")
        con.execute(
            "INSERT INTO territory (level, code, name, name_norm, population, source_id) "
            "SELECT level, code, name, name_norm, population, source_id FROM fr.territory"
        )
        con.execute("DETACH fr")
        communes = con.execute("SELECT count(*) FROM territory WHERE level = 'commune'").fetchone()
        n_communes = int(communes[0]) if communes else 0

        data = folder / "synthetic_long.csv"
        t0 = time.perf_counter()
        con.execute(
            f"""
            COPY (
                SELECT t.code AS territory_code, 'SYNTH_' || i AS indicator,
                       (2024 - p)::VARCHAR AS period,
                       replace(printf('%.2f', random() * 1000), '.', ',') AS value,
                       'synthetic unit' AS unit
                FROM territory t, range({args.indicators}) r(i), range({args.periods}) q(p)
                WHERE t.level = 'commune'
                ORDER BY t.code, i, p
            ) TO '{data.as_posix()}' (HEADER, DELIMITER ';', QUOTE '"')
            """
        )
        generate = time.perf_counter() - t0
        n_rows = n_communes * args.indicators * args.periods
        size_mb = data.stat().st_size / 1e6

        # The same values in INSEE's wide layout: CODGEO;P24_SYNTH0;P23_SYNTH0;...
        wide = folder / "synthetic_wide.csv"
        cells = ", ".join(
            f"replace(printf('%.2f', random() * 1000), '.', ',') AS P{24 - p:02d}_SYNTH{i}"
            for i in range(args.indicators)
            for p in range(args.periods)
        )
        con.execute(
            f"COPY (SELECT code AS CODGEO, {cells} FROM territory WHERE level = 'commune' "
            f"ORDER BY code) TO '{wide.as_posix()}' (HEADER, DELIMITER ';')"
        )

        def floor_wide() -> None:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE floor AS SELECT * FROM read_csv(?, header = true, "
                "all_varchar = true, delim = ';')",
                [str(wide)],
            )

        def run_wide() -> None:
            report = import_indicators(
                con, wide, wide=True, source_name="bench-synthetic-wide", **PROVENANCE
            )
            assert report.rows == n_rows, report.rows

        def floor() -> None:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE floor AS SELECT * FROM read_csv(?, header = true, "
                "all_varchar = true, delim = ';')",
                [str(data)],
            )

        def floor_typed() -> None:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE floor AS SELECT * FROM read_csv(?, header = true, "
                "delim = ';', decimal_separator = ',')",
                [str(data)],
            )

        def run() -> None:
            report = import_indicators(con, data, source_name="bench-synthetic", **PROVENANCE)
            assert report.rows == n_rows, report.rows

        bad = folder / "synthetic_long_bad.csv"
        with data.open("rb") as src, bad.open("wb") as dst:
            dst.write(src.read())
            dst.write(b"99999;SYNTH_0;2024;12,5;x\n35238;SYNTH_0;2024;n/a;x\n")

        def reject() -> None:
            try:
                import_indicators(con, bad, source_name="bench-synthetic-bad", **PROVENANCE)
            except ValidationError as exc:
                assert exc.count >= 3, exc.count
            else:
                raise AssertionError("the bad file was imported")

        t_floor = _best(args.runs, floor)
        t_typed = _best(args.runs, floor_typed)
        con.execute("DROP TABLE IF EXISTS temp.floor")
        t0 = time.perf_counter()
        run()
        t_first = time.perf_counter() - t0
        t_again = _best(args.runs, run)
        t_reject = _best(args.runs, reject)
        t_wide_floor = _best(args.runs, floor_wide)
        con.execute("DROP TABLE IF EXISTS temp.floor")
        t_wide = _best(args.runs, run_wide)
        stored = con.execute("SELECT count(*) FROM indicator_value").fetchone()
        con.close()

    print(
        f"file: {n_rows:,} rows ({n_communes:,} communes x {args.indicators} indicators x "
        f"{args.periods} periods), {size_mb:.1f} MB, SYNTHETIC values; generated in "
        f"{generate:.2f} s; DuckDB {duckdb.__version__}, {os.cpu_count()} CPU"
    )
    print(f"indicator_value rows after the runs: {stored[0] if stored else 0:,}")
    rows = [
        ("floor: read_csv all_varchar -> temp table", t_floor, t_floor),
        ("floor: read_csv typed (decimal ',')", t_typed, t_floor),
        ("import_indicators, first import", t_first, t_floor),
        ("import_indicators, re-import (replace)", t_again, t_floor),
        ("import_indicators, rejected (3 problems)", t_reject, t_floor),
        ("floor: read_csv all_varchar, wide file", t_wide_floor, t_wide_floor),
        ("import_indicators --wide, 30 columns", t_wide, t_wide_floor),
    ]
    width = max(len(name) for name, _, _ in rows)
    print(f"{'step':<{width}}  {'seconds':>8}  {'values/s':>12}  {'x floor':>8}")
    for name, seconds, base in rows:
        rate, ratio = n_rows / seconds, seconds / base
        print(f"{name:<{width}}  {seconds:>8.3f}  {rate:>12,.0f}  {ratio:>8.1f}")


if __name__ == "__main__":
    main()
