"""Benchmark: SIRENE import of a national-size establishments file, time and peak memory.

Usage::

    python benchmarks/bench_sirene_import.py --kb FRANCE.duckdb [--rows 10000000] [--workdir DIR]

The establishments file (with its geolocation and legal-units files) is generated once by
``territoria synth sirene`` for all of France, in the exact SIRENE format, and kept in
``--workdir``. Each measure runs in its own process so that its peak resident memory (RSS) is
its own:

- baseline: DuckDB reading the columns the import needs from the same CSV files (as text, as
  the import does) into temporary tables, under the same memory limit: the floor of any import;
- the import (``import_sirene``: establishments, legal units and geolocation, checks,
  reprojection, one transaction) into a copy of the full-France knowledge base.

Budget (issue 5): 10 million rows in at most 5 minutes and 4 GB peak.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from territoria.kb import connect

ETAB = "StockEtablissement_utf8.csv"
GEO = "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv"
UL = "StockUniteLegale_utf8.csv"

BASELINE = """
import json, resource, sys, time, duckdb
con = duckdb.connect()
con.execute("SET memory_limit = ?", [sys.argv[4]])
con.execute("SET preserve_insertion_order = false")
start = time.perf_counter()
rows = 0
columns = {
    1: "siret, siren, codeCommuneEtablissement, activitePrincipaleEtablissement, "
       "nomenclatureActivitePrincipaleEtablissement, trancheEffectifsEtablissement, "
       "etatAdministratifEtablissement, dateCreationEtablissement, dateDebut",
    2: "siret, x, y, epsg",
    3: "siren, denominationUniteLegale, categorieJuridiqueUniteLegale",
}
for i, delim in ((1, ','), (2, ';'), (3, ',')):
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE t{i} AS SELECT {columns[i]} FROM read_csv(?, "
        "header = true, all_varchar = true, delim = ?, quote = '\\"', escape = '\\"')",
        [sys.argv[i], delim],
    )
    rows += con.execute(f"SELECT count(*) FROM t{i}").fetchone()[0]
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "rows": rows,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

IMPORT = """
import json, resource, sys, time
from pathlib import Path
from territoria.kb import connect
from territoria.sources.sirene import import_sirene
folder, db = Path(sys.argv[1]), sys.argv[2]
con = connect(db)
start = time.perf_counter()
report = import_sirene(con, establishments=folder / "StockEtablissement_utf8.csv",
    legal_units=folder / "StockUniteLegale_utf8.csv",
    geolocation=folder / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv",
    memory_limit=sys.argv[3])
elapsed = time.perf_counter() - start
con.close()
print(json.dumps({"seconds": elapsed, "report": report.to_dict(),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, *args: str) -> dict[str, object]:
    """Run ``code`` in a fresh Python process; return the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=Path(os.environ.get("TERRITORIA_FULL_DB", "")))
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/territoria-bench-sirene"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-limit", default="1500MB", help="DuckDB memory limit")
    args = parser.parse_args()
    if not args.kb.is_file():
        parser.error("--kb must be a full-France knowledge base ('territoria import france')")
    folder = args.workdir / f"synth-{args.rows}"
    generated = ""
    db = args.workdir / "kb.duckdb"
    args.workdir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.kb, db)
    connect(db).close()  # migrate the copy to the current schema
    if not (folder / ETAB).exists():
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "territoria", "synth", "sirene", "--db", str(db), "-o",
             str(folder), "--rows", str(args.rows), "--seed", str(args.seed), "--no-history",
             "--quiet"],
            check=True,
        )  # fmt: skip
        generated = f"{time.perf_counter() - start:.1f} s"
    baseline = run(
        BASELINE, str(folder / ETAB), str(folder / GEO), str(folder / UL), args.memory_limit
    )
    result = run(IMPORT, str(folder), str(db), args.memory_limit)
    report = result["report"]
    assert isinstance(report, dict)
    sizes = sum((folder / name).stat().st_size for name in (ETAB, GEO, UL)) / 1e9
    table = Table(
        title=f"SIRENE import, {args.rows:,} establishments (synthetic, all of France), "
        f"DuckDB memory limit {args.memory_limit}, 2 cores"
    )
    table.add_column("measure")
    table.add_column("seconds", justify="right")
    table.add_column("peak RSS MB", justify="right")
    table.add_row(
        f"baseline: DuckDB reads the needed columns of the 3 CSV files into temporary "
        f"tables ({baseline['rows']:,} rows, {sizes:.1f} GB)",
        f"{baseline['seconds']:.1f}",
        f"{baseline['rss_mb']:,.0f}",
    )
    table.add_row(
        "territoria import sirene", f"{result['seconds']:.1f}", f"{result['rss_mb']:,.0f}"
    )
    for step, seconds in report["timings"].items():
        table.add_row(f"  step: {step}", f"{seconds:.1f}", "")
    table.add_row(
        "ratio import / baseline",
        f"{float(result['seconds']) / float(baseline['seconds']):.1f}×",
        "",
    )
    table.add_row("budget", "300", "4,096")
    Console().print(table)
    Console().print(
        f"imported {report['establishments']:,} establishments ({report['active']:,} active, "
        f"{report['geolocated']:,} geolocated), {report['legal_units']:,} legal units"
        + (f"; files generated in {generated}" if generated else "; files reused from workdir")
        + f"; knowledge base left at {db}",
        style="dim",
    )


if __name__ == "__main__":
    main()
