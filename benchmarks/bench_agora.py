"""Benchmark of the annual HATVP register report (AGORA) on a log of 10,000 actions.

A copy of the knowledge base of all of France gets ``--actions`` logged actions (default
10,000) spread over April–December 2026, each meeting one or two actors drawn among the
mayors of communes of every size, deputies, senators, MEPs, the presidents of EPCI and
départements and the councils themselves (so that the loi 3DS scope is decided for every kind
of official). Measured, against the baseline of listing the same actions
(:func:`territoria.influence.actions.list_actions`, what any report must read first):

- ``activity_report``: scope of every (actor, day), grouping into activities;
- the JSON text (AGORA open-data structure) and the CSV text.

Each measurement is repeated (``--repeat``) after one warm-up call; medians are shown with the
machine's load: on a shared machine, compare the rows of one run, not runs.

Run: ``python benchmarks/bench_agora.py [PATH] [--actions N] [--repeat N]`` (default PATH
``/tmp/kb/france.duckdb``; it is copied, never written).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from territoria.influence.actions import list_actions
from territoria.influence.agora_report import activity_report, report_csv, report_json
from territoria.kb import connect

_ACTORS = """
SELECT person_id FROM mandate WHERE function_code IN ('MAI', 'PRE', 'VPE')
UNION ALL SELECT person_id FROM mandate WHERE role IN ('député', 'sénateur', 'député européen')
UNION ALL SELECT id FROM organisation
"""


def _median(call: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = call()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _fill(con: duckdb.DuckDBPyConnection, count: int) -> None:
    """Log ``count`` actions in two INSERTs (add_action's one transaction each is not what is
    measured here)."""
    rng = random.Random(10)
    pool = [str(r[0]) for r in con.execute(_ACTORS).fetchall()]
    kinds = ["meeting", "correspondence", "event", "information", "drafting"]
    actions, links = [], []
    for n in range(1, count + 1):
        day = date(2026, 4, 1) + timedelta(days=rng.randrange(270))
        actions.append(
            (
                n,
                day,
                rng.choice(kinds),
                f"Dossier {n % 150}",
                "Transports",
                "regulatory",
                float(rng.randrange(0, 2_000)),
                "bench",
                rng.choice([None, "Client A", "Client B"]),
            )
        )
        links += [(n, a) for a in rng.sample(pool, rng.choice([1, 1, 2]))]
    con.execute(
        "CREATE TEMP TABLE a (id BIGINT, date DATE, type VARCHAR, subject VARCHAR, "
        "areas VARCHAR, decision VARCHAR, cost DOUBLE, who VARCHAR, client VARCHAR)"
    )
    con.executemany("INSERT INTO a VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", actions)
    con.execute(
        "INSERT INTO action (id, date, type, subject, policy_areas, decision_type, cost_eur, "
        "outcome, created_by, client) SELECT id, date, type, subject, areas, decision, cost, "
        "'unknown', who, client FROM a"
    )
    con.executemany("INSERT INTO action_actor VALUES (?, ?)", links)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="/tmp/kb/france.duckdb")
    parser.add_argument("--actions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "kb.duckdb"
        shutil.copyfile(args.path, copy)
        con = connect(copy)
        _fill(con, args.actions)
        listed, actions = _median(lambda: list_actions(con, year=2026), args.repeat)
        built, report = _median(lambda: activity_report(con, year=2026), args.repeat)
        as_json, text = _median(lambda: report_json(report), args.repeat)
        as_csv, _ = _median(lambda: report_csv(report), args.repeat)
        con.close()
    print(f"load average {os.getloadavg()[0]:.1f}; {len(actions)} actions of 2026")
    print(f"{'step':<42}{'median s':>10}{'× baseline':>12}")
    for name, seconds in (
        ("baseline: list_actions (year 2026)", listed),
        ("activity_report (list + scope + group)", built),
        ("report_json (AGORA structure)", as_json),
        ("report_csv", as_csv),
        ("JSON report, all in (report + JSON)", built + as_json),
    ):
        print(f"{name:<42}{seconds:>10.3f}{seconds / listed:>12.1f}")
    declared = sum(p.nombre_actions for a in report.activities for p in a.actions)
    print(
        f"{len(report.activities)} activities, {declared} actions declared, "
        f"{report.excluded_actions} left out; JSON {len(text) / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
