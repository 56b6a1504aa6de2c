"""Benchmark of territory search and profiles on the knowledge base of all of France.

Search: a mix of 24 queries (exact names, accents and abbreviations, codes, prefixes typed so
far, typos), each answered by

- ``search()``: the in-memory index of the connection (built once; its build time is shown);
- baseline ``LIKE``: a full scan ``name_norm LIKE '%query%' OR code = query`` ranked by
  population, the first thing one writes in SQL;
- baseline ``jaro_winkler``: a full scan ranking every name by DuckDB's
  ``jaro_winkler_similarity``, the naive typo-tolerant search.

``top-1`` is the share of queries whose expected territory comes first.

Profile: 16 territories (communes large, split and small, an arrondissement, EPCI,
départements, régions), each profiled by

- ``profile()`` with ``ProfileLookups`` attached (what the web server does): the rows held in
  memory, loaded once (load time and memory shown); the profiles must equal those from
  queries;
- ``profile()`` from queries (the command line): targeted queries (one organisation id per
  mandate filter, names fetched by code), plus what the baseline lacks: every circonscription
  and canton of a split commune (polygon intersections), communes count, indicators and
  provenance;
- baseline: identity, parents, neighbours, officials and town hall from plain joins (one
  ``IN`` list over the mandates, joins to ``territory`` for names), as one would write it
  first.

Every measurement is repeated (``--repeat``) after one warm-up call; medians and 95th
percentiles are over all calls; ``median CPU`` is the process's CPU time (all threads),
steadier than wall-clock time on a busy machine. The methods alternate item by item and the
machine's load is printed: on a shared machine, compare the methods of one run, not runs.

Run: ``python benchmarks/bench_profile_search.py [PATH] [--repeat N]`` (default PATH
``/tmp/kb/france.duckdb``; a file with an older schema is migrated in a temporary copy).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from territoria.analysis import profile
from territoria.analysis.profile import ProfileLookups
from territoria.errors import DatabaseError
from territoria.kb import connect
from territoria.kb.search import normalise, search

# (query, expected level, expected code)
QUERIES = [
    ("Rennes", "commune", "35238"),
    ("Paris", "commune", "75056"),
    ("marseille", "commune", "13055"),
    ("saint etienne", "commune", "42218"),
    ("St-Étienne", "commune", "42218"),
    ("SAINT-ÉTIENNE", "commune", "42218"),
    ("Aix-en-Provence", "commune", "13001"),
    ("st malo", "commune", "35288"),
    ("42218", "commune", "42218"),
    ("2a004", "commune", "2A004"),
    ("243500139", "epci", "243500139"),
    ("35", "departement", "35"),
    ("renn", "commune", "35238"),
    ("bordea", "commune", "33063"),
    ("toulou", "commune", "31555"),
    ("montpel", "commune", "34172"),
    ("ille et vil", "departement", "35"),
    ("renes", "commune", "35238"),
    ("marseile", "commune", "13055"),
    ("montpelier", "commune", "34172"),
    ("strasbourgh", "commune", "67482"),
    ("bordaux", "commune", "33063"),
    ("cesson sevinge", "commune", "35051"),
    ("grenobel", "commune", "38185"),
]

# (code, level)
TERRITORIES = [
    ("35238", None),  # Rennes, split between four circonscriptions
    ("75056", None),  # Paris
    ("13055", None),  # Marseille
    ("42218", None),  # Saint-Étienne
    ("01001", None),  # L'Abergement-Clémenciat, 800 inhabitants
    ("29019", None),  # Brest
    ("69383", None),  # Lyon 3e arrondissement
    ("243500139", None),  # Rennes Métropole
    ("200054781", None),  # Métropole du Grand Paris
    ("200069193", None),  # a communauté de communes of the Ain
    ("35", None),
    ("75", None),
    ("2A", None),
    ("53", "region"),
    ("11", "region"),
    ("84", "region"),
]


def like_search(con: duckdb.DuckDBPyConnection, text: str) -> list[tuple[Any, ...]]:
    """Baseline: full scan with LIKE, ranked by population."""
    return con.execute(
        "SELECT level, code, name FROM territory "
        "WHERE name_norm LIKE '%' || ? || '%' OR code = upper(?) "
        "ORDER BY code = upper(?) DESC, population DESC NULLS LAST LIMIT 20",
        [normalise(text), text.strip(), text.strip()],
    ).fetchall()


def jaro_search(con: duckdb.DuckDBPyConnection, text: str) -> list[tuple[Any, ...]]:
    """Baseline: full scan scoring every name with DuckDB's Jaro-Winkler similarity."""
    return con.execute(
        "SELECT level, code, name FROM territory "
        "ORDER BY code = upper(?) DESC, jaro_winkler_similarity(name_norm, ?) DESC, "
        "population DESC NULLS LAST LIMIT 20",
        [text.strip(), normalise(text)],
    ).fetchall()


def naive_profile(con: duckdb.DuckDBPyConnection, code: str, level: str | None) -> dict[str, Any]:
    """Baseline: the profile's content from plain joins and one IN list over the mandates."""
    row = con.execute(
        "SELECT t.* EXCLUDE (geom, point) FROM territory t JOIN level l USING (level) "
        "WHERE t.code = ? AND (? IS NULL OR t.level = ?) ORDER BY l.rank LIMIT 1",
        [code, level, level],
    ).fetchone()
    assert row is not None
    lvl = row[0]
    parents = con.execute(
        "SELECT m.parent_level, m.parent_code, p.name FROM membership m "
        "JOIN territory p ON p.level = m.parent_level AND p.code = m.parent_code "
        "WHERE m.level = ? AND m.code = ?",
        [lvl, code],
    ).fetchall()
    neighbours = con.execute(
        "SELECT a.neighbour, t.name FROM adjacency a "
        "JOIN territory t ON t.level = a.level AND t.code = a.neighbour "
        "WHERE a.level = ? AND a.code = ?",
        [lvl, code],
    ).fetchall()
    by_level: dict[str, list[str]] = {}
    for parent_level, parent_code, _ in parents:
        by_level.setdefault(parent_level, []).append(parent_code)
    orgs = [f"cm-{code}", f"cc-{code}", f"cd-{code}", f"cr-{code}"]
    orgs += [f"cc-{c}" for c in by_level.get("epci", [])]
    orgs += [f"cd-{c}" for c in by_level.get("departement", [])]
    orgs += [f"cr-{c}" for c in by_level.get("region", [])]
    deps = by_level.get("departement", []) + ([code] if lvl == "departement" else [])
    officials = con.execute(
        "SELECT p.first_name, p.last_name, m.role, o.name, m.function FROM mandate m "
        "JOIN person p ON p.id = m.person_id LEFT JOIN organisation o ON o.id = m.organisation_id "
        "WHERE (list_contains(?, m.organisation_id) "
        "       AND m.function_code IN ('MAI', 'ADJ', 'PRE', 'VPE')) "
        "OR (m.organisation_id = 'an' AND list_contains(?, m.code)) "
        "OR (m.organisation_id = 'senat' AND list_contains(?, m.code))",
        [orgs, by_level.get("circonscription", []), deps],
    ).fetchall()
    contact = con.execute(
        "SELECT address, email, phone, website FROM contact WHERE level = ? AND code = ?",
        [lvl, code],
    ).fetchall()
    return {"row": row, "parents": parents, "neighbours": neighbours, "officials": officials,
            "contact": contact}  # fmt: skip


def timed(call: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds (all threads of the process) of ``repeat`` calls."""
    call()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Measure:
    """Times of one method over all items."""

    def __init__(self, operation: str, label: str) -> None:
        self.operation, self.label = operation, label
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.correct = 0
        self.items = 0

    def add(self, call: Callable[[], object], repeat: int) -> None:
        wall, cpu = timed(call, repeat)
        self.wall += wall
        self.cpu += cpu

    def row(self) -> str:
        top = f"{self.correct}/{self.items}" if self.operation == "search" else ""
        return (
            f"{self.operation:<9}  {self.label:<27}  {len(self.wall):>6}  "
            f"{statistics.median(self.wall):>10.2f}  {percentile(self.wall, 0.95):>8.2f}  "
            f"{statistics.median(self.cpu):>10.2f}  {top:>6}"
        )


def _rss_mb() -> float:
    """Resident memory of this process (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_kb(path: Path, scratch: Path) -> tuple[duckdb.DuckDBPyConnection, str]:
    """Open read-only; a file with an older schema is migrated in a copy under ``scratch``."""
    try:
        return connect(path, read_only=True), str(path)
    except DatabaseError as exc:
        if "older" not in str(exc):
            raise
    copy = scratch / path.name
    shutil.copyfile(path, copy)
    copy.chmod(0o644)
    connect(copy).close()
    return connect(copy, read_only=True), f"{path} (schema migrated in a temporary copy)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="/tmp/kb/france.duckdb", type=Path)
    parser.add_argument("--repeat", type=int, default=15, help="Timed calls per item.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="territoria-bench-") as scratch:
        run(args.path, Path(scratch), args.repeat)


def run(path: Path, scratch: Path, repeat: int) -> None:
    """Measure and print the table."""
    con, shown = open_kb(path, scratch)
    territories = con.execute("SELECT count(*) FROM territory").fetchone()
    print(f"knowledge base: {shown}, {territories[0] if territories else 0:,} territories")
    print(
        f"python {platform.python_version()}, duckdb {duckdb.__version__}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start, "
        f"{repeat} timed calls per item"
    )

    start = time.perf_counter()
    search(con, "rennes")
    build = (time.perf_counter() - start) * 1000

    # The methods alternate item by item, so that a change of the machine's load hits them alike.
    searches: list[tuple[Measure, Callable[[str], list[tuple[str, str]]]]] = [
        (
            Measure("search", "search() index"),
            lambda q: [(h.level, h.code) for h in search(con, q)],
        ),
        (
            Measure("search", "baseline LIKE scan"),
            lambda q: [(r[0], r[1]) for r in like_search(con, q)],
        ),
        (
            Measure("search", "baseline jaro_winkler scan"),
            lambda q: [(r[0], r[1]) for r in jaro_search(con, q)],
        ),
    ]
    for query, level, code in QUERIES:
        for measure, method in searches:
            found = method(query)
            measure.items += 1
            measure.correct += bool(found) and found[0] == (level, code)
            measure.add(partial(method, query), repeat)

    rss = _rss_mb()
    start = time.perf_counter()
    lookups = ProfileLookups.load(con)
    load = (time.perf_counter() - start) * 1000
    grown = _rss_mb() - rss
    fast = con.cursor()
    lookups.attach(fast)
    profiles: list[tuple[Measure, Callable[[str, str | None], object]]] = [
        (
            Measure("profile", "profile() lookups in memory"),
            lambda code, level: profile(fast, code, level=level),
        ),
        (
            Measure("profile", "profile() from queries"),
            lambda code, level: profile(con, code, level=level),
        ),
        (Measure("profile", "baseline plain joins"), partial(naive_profile, con)),
    ]
    for code, wanted in TERRITORIES:
        if profile(fast, code, level=wanted) != profile(con, code, level=wanted):
            raise SystemExit(f"profile of {code} from lookups differs from the queries'")
        for measure, make in profiles:
            measure.add(partial(make, code, wanted), repeat)

    print(f"\nsearch index build (first search on a connection): {build:.0f} ms")
    print(
        f"profile lookups load: {load:.0f} ms, resident memory +{grown:.0f} MB "
        "(Python objects and DuckDB's cached blocks)\n"
    )
    print(
        f"{'operation':<9}  {'method':<27}  {'calls':>6}  {'median ms':>10}  {'p95 ms':>8}  "
        f"{'median CPU':>10}  {'top-1':>6}"
    )
    print("  ".join("-" * w for w in (9, 27, 6, 10, 8, 10, 6)))
    for measure, _ in searches:
        print(measure.row())
    for measure, _ in profiles:
        print(measure.row())
    print(f"\nload average {os.getloadavg()[0]:.1f} at end")
    con.close()


if __name__ == "__main__":
    main()
