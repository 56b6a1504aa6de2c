"""Benchmark of the territorial portrait: gathering it, its HTML, its PDF.

For the région Bretagne (53) and the commune of Rennes (35238), each measured ``--repeat``
times after one warm-up call (wall p50 and max, CPU p50 of all threads):

- :func:`territoria.reports.portrait.portrait`: the profile, map geometry, IRIS charts, lycées,
  strengths, assets and, with SIRENE establishments, the poles of the région;
- :func:`~territoria.reports.portrait.portrait_html` and
  :func:`~territoria.reports.portrait.portrait_pdf` (WeasyPrint) of that portrait;
- the whole portrait PDF (the target: at most 5 s);
- baseline, same process: the territory's profile alone
  (:func:`territoria.analysis.profile.profile`) and the PDF of a plain page of the same size
  without drawings (WeasyPrint's own cost).

Run: ``python benchmarks/bench_portrait.py [PATH] [--repeat N]`` (default PATH
``territoria.duckdb``; opened read-only). Medians depend on the machine's load: compare the rows
of one run, not runs.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

from territoria.analysis.profile import profile
from territoria.kb import connect
from territoria.reports import render_pdf
from territoria.reports.portrait import portrait, portrait_html, portrait_pdf

CASES = (("53", "region"), ("35238", "commune"))


def _time(run: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    """Wall p50 and max, and CPU p50 (all threads: steadier on a loaded machine)."""
    run()
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(times), max(times), statistics.median(cpu)


def _rows(
    con: Any, code: str, level: str, found: Any, plain: str
) -> tuple[tuple[str, Callable[[], Any]], ...]:
    return (
        ("baseline: profile()", lambda: profile(con, code, level=level)),
        ("baseline: PDF of the page without drawings", lambda: render_pdf(plain)),
        ("portrait()", lambda: portrait(con, code, level=level)),
        ("portrait_html()", lambda: portrait_html(found)),
        ("portrait_pdf() of a gathered portrait", lambda: portrait_pdf(found)),
        (
            "whole portrait PDF (target <= 5 s)",
            lambda: portrait_pdf(portrait(con, code, level=level)),
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="territoria.duckdb")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    con = connect(args.path, read_only=True)
    print(f"{'territory':<18}{'step':<44}{'p50 s':>8}{'max s':>8}{'CPU s':>8}")
    for code, level in CASES:
        found = portrait(con, code, level=level)
        html = portrait_html(found)
        plain = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
        rows = _rows(con, code, level, found, plain)
        for label, run in rows:
            p50, worst, cpu = _time(run, args.repeat)
            print(f"{found.name + ' ' + code:<18}{label:<44}{p50:>8.2f}{worst:>8.2f}{cpu:>8.2f}")
    con.close()


if __name__ == "__main__":
    main()
