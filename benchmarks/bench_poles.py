"""Benchmark: pole detection for one région and for all of France.

Usage::

    python benchmarks/bench_poles.py --db KB.duckdb [--region 53] [--planted planted.json]

``KB.duckdb`` holds SIRENE establishments (for instance the knowledge base that
``bench_sirene_import.py`` leaves in its work folder, with the ``planted.json`` of its synthetic
files). The baseline, in the same process, is the single aggregation every detection starts
from: establishments and employment by commune and NAF sous-classe. With ``--planted``, the
table also gives the precision and recall of the detection against the planted concentrations.

Budget (issue 5): one région in at most 30 s, France in at most 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from territoria.analysis.poles import detect_poles
from territoria.analysis.relatedness import sector_groups
from territoria.kb import connect


def score(poles: list[dict[str, Any]], planted: list[dict[str, Any]]) -> str:
    def hit(p: dict[str, Any], q: dict[str, Any]) -> bool:
        return bool(set(p["communes"]) & set(q["communes"])) and bool(
            set(p["sectors"]) & set(q["groups"])
        )

    if not planted:
        return ""
    true = sum(any(hit(p, q) for q in planted) for p in poles)
    found = sum(any(hit(p, q) for p in poles) for q in planted)
    return (
        f"precision {true / max(len(poles), 1):.2f} ({true}/{len(poles)}), "
        f"recall {found / len(planted):.2f} ({found}/{len(planted)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument(
        "--region",
        default=None,
        help="default: the région of the first planted concentration, or 53",
    )
    parser.add_argument("--planted", type=Path, default=None)
    parser.add_argument("--method", default="hotspot", choices=["hotspot", "hdbscan"])
    args = parser.parse_args()
    planted: list[dict[str, Any]] = (
        json.loads(args.planted.read_text(encoding="utf-8")) if args.planted else []
    )
    con = connect(args.db, read_only=True)
    if args.region is None:
        found = None
        if planted:
            found = con.execute(
                "SELECT parent_code FROM membership WHERE level = 'commune' AND code = ? "
                "AND parent_level = 'region'",
                [planted[0]["centre"]["commune"]],
            ).fetchone()
        args.region = found[0] if found else "53"
    count = con.execute("SELECT count(*), count_if(active) FROM establishment").fetchone()
    assert count is not None
    rows = []
    start = time.perf_counter()
    con.execute(
        "SELECT commune, naf, count(*), sum(employment) FROM establishment "
        "WHERE active AND commune IS NOT NULL AND naf IS NOT NULL GROUP BY ALL"
    ).fetchnumpy()
    rows.append(
        ("baseline: establishments by commune × sous-classe", time.perf_counter() - start, "")
    )
    start = time.perf_counter()
    groups = sector_groups(con)
    rows.append(
        (f"sector groups (relatedness + Louvain): {len(groups)}", time.perf_counter() - start, "")
    )
    in_region = [
        q for q in planted
        if con.execute(
            "SELECT count(*) FROM membership WHERE level = 'commune' AND code = ? "
            "AND parent_level = 'region' AND parent_code = ?",
            [q["centre"]["commune"], args.region],
        ).fetchone() == (1,)
    ]  # fmt: skip
    for label, options, truth in (
        (f"poles of région {args.region}, groups given", {"region": args.region, "groups": groups},
         in_region),
        (f"poles of région {args.region}, groups computed", {"region": args.region}, in_region),
        ("poles of France, groups computed", {}, planted),
    ):  # fmt: skip
        start = time.perf_counter()
        poles = detect_poles(con, method=args.method, **options)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        rows.append((f"{label}: {len(poles)} poles", elapsed, score(poles, truth)))
    con.close()
    table = Table(
        title=f"Pole detection ({args.method}) on {count[0]:,} establishments "
        f"({count[1]:,} active), 2 cores"
    )
    table.add_column("measure")
    table.add_column("seconds", justify="right")
    table.add_column("against planted.json")
    for name, seconds, note in rows:
        table.add_row(name, f"{seconds:.2f}", note)
    table.add_row("budget: one région / France", "30 / 300", "")
    Console().print(table)


if __name__ == "__main__":
    main()
