"""Benchmark of the people directory on the knowledge base of all of France (~510,000 persons).

Person search: 20 queries (whole names, last names, names being typed, typos, names in any
order), each answered by

- ``search_persons()``: the connection's in-memory index of name words (built once; its build
  time and the memory it took are shown);
- baseline ``ILIKE``: a full scan of the persons, ``name_norm ILIKE '%word%'`` for every word
  of the query, ranked by the number of current mandates, what one writes first in SQL (no
  typo tolerance);
- baseline ``jaro_winkler``: a full scan ranking every person by DuckDB's
  ``jaro_winkler_similarity`` of the normalised name, the naive typo-tolerant search.

``top-1`` is the share of queries whose expected person comes first.

Person page (``/personnes/ID``), 30 persons (a random sample and well-known officials), against
``territoria serve`` on a copy of the knowledge base, one client at a time with an API token:
first visit of each page ("cold"), then visits again ("warm": the application's cache), with
``/healthz`` (no work at all) and the ``/api/v1/persons/ID`` record as baselines, and the same
pages rendered in-process by FastAPI's TestClient (no network, no server process).

Medians and 95th percentiles are over all calls; ``median CPU`` is the process's CPU time,
steadier than wall-clock time on a busy machine; the machine's load is printed: on a shared
machine, compare the methods of one run, not runs.

Run: ``python benchmarks/bench_people.py [PATH] [--repeat N]`` (default PATH
``/tmp/kb/france.duckdb``, copied to a temporary folder first).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_web import Server
from territoria.accounts import add_user, issue_token
from territoria.kb import connect
from territoria.kb.people import search_persons
from territoria.kb.search import normalise

# (query, expected person: first name and last name, case-folded)
QUERIES = [
    ("appere", "nathalie appéré"),
    ("Nathalie Appéré", "nathalie appéré"),
    ("APPÉRÉ Nathalie", "nathalie appéré"),
    ("apere", "nathalie appéré"),
    ("gatel", "françoise gatel"),
    ("francoise gatl", "françoise gatel"),
    ("dadkha forough", "forough dadkhah"),
    ("gerard larcher", "gérard larcher"),
    ("pecres valerie", "valérie pécresse"),
    ("loig chesnais", "loïg chesnais-girard"),
    ("chesnais girard", "loïg chesnais-girard"),
    ("marine le pen", "marine le pen"),
    ("le pen marine", "marine le pen"),
    ("jean luc chenut", "jean-luc chenut"),
    ("chenu jean luc", "jean-luc chenut"),
    ("carole delga", "carole delga"),
    ("delgat", "carole delga"),
    ("renaud muselier", "renaud muselier"),
    ("muselie", "renaud muselier"),
    ("martine vassal", "martine vassal"),
]

_CURRENT = "(SELECT person_id, count(*) AS n FROM mandate WHERE end_date IS NULL GROUP BY ALL)"


def ilike_search(con: duckdb.DuckDBPyConnection, text: str) -> list[str]:
    words = normalise(text).split()
    where = " AND ".join("p.name_norm ILIKE '%' || ? || '%'" for _ in words) or "false"
    rows = con.execute(
        f"SELECT p.first_name || ' ' || p.last_name FROM person p "
        f"LEFT JOIN {_CURRENT} c ON c.person_id = p.id WHERE {where} "
        "ORDER BY c.n DESC NULLS LAST, p.id LIMIT 10",
        words,
    ).fetchall()
    return [r[0] for r in rows]


def jaro_search(con: duckdb.DuckDBPyConnection, text: str) -> list[str]:
    rows = con.execute(
        "SELECT first_name || ' ' || last_name FROM person "
        "ORDER BY jaro_winkler_similarity(name_norm, ?) DESC, id LIMIT 10",
        [normalise(text)],
    ).fetchall()
    return [r[0] for r in rows]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(call: Callable[[], Any]) -> tuple[float, float, Any]:
    start, start_cpu = time.perf_counter(), time.process_time()
    value = call()
    return (time.perf_counter() - start) * 1000, (time.process_time() - start_cpu) * 1000, value


def row(label: str, wall: list[float], cpu: list[float] | None, extra: str = "") -> None:
    cpu_text = f"{statistics.median(cpu):9.2f}" if cpu else " " * 9
    print(
        f"{label:<44} {statistics.median(wall):9.2f} {percentile(wall, 0.95):9.2f} "
        f"{cpu_text} {len(wall):6d}  {extra}"
    )


def header(title: str) -> None:
    print(
        f"\n{title}\n{'method':<44} {'median ms':>9} {'p95 ms':>9} {'median CPU':>9} {'calls':>6}"
    )


def bench_search(con: duckdb.DuckDBPyConnection, repeat: int) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    build, _, _ = timed(lambda: search_persons(con, "warm up", limit=1))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"index of names built in {build / 1000:.1f} s (peak memory +{after - before:.0f} MB)")
    methods: dict[str, Callable[[str], list[str]]] = {
        "search_persons (in-memory index)": lambda q: [
            h.name for h in search_persons(con, q, limit=10)
        ],
        "baseline: ILIKE scan, by current mandates": lambda q: ilike_search(con, q),
        "baseline: jaro_winkler scan": lambda q: jaro_search(con, q),
    }
    times: dict[str, tuple[list[float], list[float], int]] = {m: ([], [], 0) for m in methods}
    for query, expected in QUERIES:
        for name, method in methods.items():  # methods alternate query by query
            wall, cpu, correct = times[name]
            for i in range(repeat):
                w, c, names = timed(lambda m=method, q=query: m(q))  # type: ignore[misc]
                wall.append(w)
                cpu.append(c)
                if i == 0 and names and names[0].casefold() == expected:
                    correct += 1
            times[name] = (wall, cpu, correct)
    header(f"person search, {len(QUERIES)} queries x {repeat}")
    for name, (wall, cpu, correct) in times.items():
        row(name, wall, cpu, f"top-1 {correct}/{len(QUERIES)}")


def _persons(con: duckdb.DuckDBPyConnection) -> list[str]:
    known = [h.id for q, _ in QUERIES[::3] for h in search_persons(con, q, limit=1)]
    sample = con.execute(
        "SELECT id FROM person USING SAMPLE 20 ROWS (reservoir, 42) ORDER BY id"
    ).fetchall()
    return list(dict.fromkeys([*known, *(r[0] for r in sample)]))[:30]


def bench_page(kb: Path, folder: Path, persons: list[str], token: str, repeat: int) -> None:
    header(f"person page, {len(persons)} persons, one client (territoria serve on 127.0.0.1)")
    server = Server(kb, folder)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:
            t0 = time.perf_counter()
            while True:  # ready, and the warm-up has indexed the names
                try:
                    if client.get("/readyz").status_code == 200:
                        client.get("/api/v1/persons", params={"q": "appere"})
                        break
                except httpx.TransportError:
                    pass
                if server.process.poll() is not None:
                    raise SystemExit(server.log_path.read_text())
                time.sleep(0.2)
            print(f"server ready and names indexed in {time.perf_counter() - t0:.1f} s")

            def get(url: str) -> float:
                start = time.perf_counter()
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                return (time.perf_counter() - start) * 1000

            row("baseline: /healthz", [get("/healthz") for _ in range(len(persons) * repeat)], None)
            row(
                "/personnes/ID, first visit (cold)", [get(f"/personnes/{p}") for p in persons], None
            )
            warm = [get(f"/personnes/{p}") for _ in range(repeat) for p in persons]
            row("/personnes/ID, visited before (warm)", warm, None, "target p95 <= 50 ms")
            api = [get(f"/api/v1/persons/{p}") for _ in range(repeat) for p in persons]
            row("/api/v1/persons/ID (warm)", api, None)
            queries = [q for q, _ in QUERIES]
            search = [get("/api/v1/search?q=" + q) for _ in range(repeat) for q in queries]
            row("/api/v1/search?q= (top bar)", search, None)
    finally:
        server.stop()
    _testclient(kb, persons, token, repeat)


def _testclient(kb: Path, persons: list[str], token: str, repeat: int) -> None:
    from fastapi.testclient import TestClient

    from territoria.api import Database, WebSettings, create_app

    settings = WebSettings(db=kb, secret_key="x" * 40, warm_cache=False)
    app = create_app(settings, database=Database.open(kb))
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
            cold = []
            for p in persons:
                w, c, response = timed(lambda p=p: client.get(f"/personnes/{p}"))  # type: ignore[misc]
                assert response.status_code == 200
                cold.append(w)
            warm, cpu = [], []
            for _ in range(repeat):
                for p in persons:
                    w, c, _ = timed(lambda p=p: client.get(f"/personnes/{p}"))  # type: ignore[misc]
                    warm.append(w)
                    cpu.append(c)
            row("baseline: TestClient in-process, cold", cold, None)
            row("baseline: TestClient in-process, warm", warm, cpu)
    finally:
        app.state.territoria.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", default="/tmp/kb/france.duckdb", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        kb = folder / "france.duckdb"
        shutil.copyfile(args.path, kb)
        con = connect(kb)
        try:
            bench_search(con, args.repeat)
            persons = _persons(con)
            add_user(con, "bench", role="viewer", password="bench-people-password-2026")
            token = issue_token(con, "bench")
        finally:
            con.close()
        bench_page(kb, folder, persons, token, args.repeat)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
