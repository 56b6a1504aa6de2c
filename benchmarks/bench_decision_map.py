"""Benchmark of the decision map v2 on 40 (sub-theme, territory) cases of the test table.

The cases are the first 40 of ``tests/data/decision_cases.toml`` (collèges in Lyon, Paris,
Corse and overseas, roads, water, TER, State grants, EU funds on a région …). Each case is
timed ``--repeat`` times after one warm-up call of the whole set; the table shows the median
and the 95th percentile of the calls, against a baseline run in the same process: a plain SQL
lookup of the executives of the bodies holding the sub-theme's first competence
(``bodies_for`` then the president or mayor of each), which is what any decision map must at
least read; and the old per-theme map (``decision.py`` and ``competences.toml`` of commit
a0133fb, read from git when the repository is there) on each case's parent theme. On a shared
machine, compare the rows of one run, not runs.

Run: ``python benchmarks/bench_decision_map.py [PATH] [--repeat N]`` (default PATH
``/tmp/kb/france.duckdb``; opened read-only).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import tomllib
import tomllib as _toml
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from territoria.influence.decision import decision_map, get_theme, resolve_territory
from territoria.kb import connect
from territoria.kb.bodies import bodies_for

CASES = Path(__file__).parent.parent / "tests" / "data" / "decision_cases.toml"
_EXECUTIVES = """
SELECT m.person_id FROM mandate m
WHERE m.organisation_id IN (SELECT unnest(?::VARCHAR[])) AND m.end_date IS NULL
  AND m.function_code IN ('MAI', 'PRE')
"""


def _baseline(con: duckdb.DuckDBPyConnection, case: dict[str, Any]) -> list[Any]:
    """The executives of the bodies holding the sub-theme's first local competence."""
    level, code, _ = resolve_territory(con, case["code"], case.get("level"))
    rules = [r for r in get_theme(case["subtheme"]).rules if r.body != "meps"]
    key = rules[0].body if rules else "commune"
    bodies = bodies_for(con, key, level, code)
    return con.execute(_EXECUTIVES, [bodies]).fetchall()


OLD = "a0133fb"


def _old_map() -> Callable[..., Any] | None:
    """The decision map before v2, with its own competences.toml, or None without git."""
    root = Path(__file__).parent.parent

    def show(path: str) -> str:
        return subprocess.run(
            ["git", "show", f"{OLD}:{path}"], cwd=root, capture_output=True, check=True, text=True
        ).stdout

    try:
        source = show("src/territoria/influence/decision.py")
        data = _toml.loads(show("src/territoria/influence/competences.toml"))
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("old_decision")
    sys.modules["old_decision"] = module  # dataclasses look their module up
    exec(compile(source, "old_decision.py", "exec"), module.__dict__)
    module.__dict__["_data"] = lambda: data
    return module.__dict__["decision_map"]  # type: ignore[no-any-return]


def _times(
    call: Callable[[dict[str, Any]], Any], cases: list[dict[str, Any]], repeat: int
) -> list[float]:
    for case in cases:  # warm-up
        call(case)
    out = []
    for _ in range(repeat):
        for case in cases:
            start = time.perf_counter()
            call(case)
            out.append(time.perf_counter() - start)
    return out


def _old_rows(
    con: duckdb.DuckDBPyConnection, cases: list[dict[str, Any]], repeat: int
) -> dict[str, list[float]]:
    old = _old_map()
    if old is None:
        return {}

    def call(case: dict[str, Any]) -> Any:
        try:
            return old(con, theme=get_theme(case["subtheme"]).parent, code=case["code"],
                       level=case.get("level"))  # fmt: skip
        except LookupError:  # no theme of the old map fits, or "no decision-maker found"
            return None

    known = {"roads", "regional-trains", "secondary-schools", "higher-education", "eu-funds",
             "water", "housing", "social-action", "economic-development"}  # fmt: skip
    mine = [c for c in cases if get_theme(c["subtheme"]).parent in known]
    return {f"old per-theme map ({OLD}), {len(mine)} cases": _times(call, mine, repeat)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="/tmp/kb/france.duckdb")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = [c for c in tomllib.loads(CASES.read_text("utf-8"))["case"] if "as_of" not in c][:40]
    con = connect(args.path, read_only=True)
    try:
        rows = {
            "baseline: SQL lookup of the executives": _times(
                lambda c: _baseline(con, c), cases, args.repeat
            ),
            **_old_rows(con, cases, args.repeat),
            "decision_map v2": _times(
                lambda c: decision_map(
                    con, theme=c["subtheme"], code=c["code"], level=c.get("level")
                ),
                cases,
                args.repeat,
            ),
        }
    finally:
        con.close()
    load = os.getloadavg()[0]
    print(f"{len(cases)} cases × {args.repeat} repeats, load average {load:.1f}")
    print(f"{'':42} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for name, times in rows.items():
        ms = np.array(times) * 1000
        print(
            f"{name:42} {statistics.median(ms):10.1f} {np.percentile(ms, 95):8.1f} {ms.max():8.1f}"
        )


if __name__ == "__main__":
    main()
