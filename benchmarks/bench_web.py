"""Web application speed against a real server on the full knowledge base.

Starts ``territoria serve`` on a copy of the knowledge base, then measures with 20 concurrent
clients (async httpx, API token):

- the territory page (``/territoires/commune/CODE``) and the profile API, p95 target 150 ms,
  first visit of each territory ("cold") and visits again ("warm", the profile cache);
- the commune-level GeoJSON of a département's view (``/api/v1/map/commune?parent=DEP``),
  p95 target 300 ms;

with baselines in the same run: one client at a time (no queueing), and for the map the
unsimplified geometry serialised by DuckDB at each request (no cache). Then, in headless
Chromium, the time from navigation until the commune-level map of a région is drawn and
interactive (target 3 s), with the France map of départements as baseline.

Usage::

    python benchmarks/bench_web.py --db territoria.duckdb [--requests 400] [--clients 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb
import httpx

from territoria.accounts import add_user, issue_token
from territoria.kb import connect

SECRET = "benchmark-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "benchmark-password"
CHROMIUM = Path("/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def _load(
    base: str,
    token: str,
    urls: Sequence[str],
    clients: int,
) -> tuple[list[float], int, float]:
    """GET every url with ``clients`` concurrent clients; return latencies (ms), errors, s."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {token}"}

    async def worker() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
            while True:
                try:
                    url = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                response = await client.get(url)
                await response.aread()
                latencies.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200:
                    errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies, errors, time.perf_counter() - start


def _row(
    name: str, clients: int, lat: list[float], errors: int, seconds: float, target: str
) -> str:
    p50, p95 = statistics.median(lat), _percentile(lat, 0.95)
    rps = len(lat) / seconds if seconds else 0.0
    return (
        f"| {name:<50} | {clients:>7} | {len(lat):>8} | {p50:>8.1f} | {p95:>8.1f} | "
        f"{max(lat):>8.1f} | {rps:>7.1f} | {errors:>6} | {target:<8} |"
    )


def _uncached_map(path: Path, departements: Sequence[str]) -> list[float]:
    """Baseline: the département's communes serialised by DuckDB at each request."""
    con = connect(path, read_only=True)
    latencies = []
    try:
        for dep in departements:
            t0 = time.perf_counter()
            rows = con.execute(
                "SELECT t.code, t.name, t.population, ST_AsGeoJSON(t.geom) FROM territory t "
                "JOIN membership m ON m.level = t.level AND m.code = t.code "
                "WHERE t.level = 'commune' AND m.parent_level = 'departement' "
                "AND m.parent_code = ? AND t.geom IS NOT NULL",
                [dep],
            ).fetchall()
            parts = [
                f'{{"type":"Feature","id":"{r[0]}","properties":{{"name":"{r[1]}",'
                f'"value":{r[2]}}},"geometry":{r[3]}}}'
                for r in rows
            ]
            body = '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"
            assert body
            latencies.append((time.perf_counter() - t0) * 1000)
    finally:
        con.close()
    return latencies


def _browser_times(base: str, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    pages = {
        "region communes (Bretagne, 1,200)": "/carte?level=commune&parent=53&parent_level=region",
        "region communes (Auvergne-RA, 4,000)": (
            "/carte?level=commune&parent=84&parent_level=region"
        ),
        "baseline: France départements (101)": "/carte?level=departement",
    }
    times: dict[str, list[float]] = {name: [] for name in pages}
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/login")
        page.fill("#username", "bench")
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(base + "/")
        for _ in range(runs):
            for name, url in pages.items():
                page.goto("about:blank")
                page.goto(base + url)
                page.wait_for_selector("#map[data-ready='1']", timeout=60_000)
                # navigation start to "drawn and interactive" (set after the canvas is painted)
                ready = page.evaluate("window.territoriaMapReady")
                times[name].append(float(ready))
        browser.close()
    return times


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_db = Path(os.environ.get("TERRITORIA_DB", "territoria.duckdb"))
    parser.add_argument(
        "--db", type=Path, default=default_db, help="full knowledge base (copied first)"
    )
    parser.add_argument("--requests", type=int, default=400, help="requests per scenario")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--browser-runs", type=int, default=3)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="territoria-bench-"))
    kb = folder / "kb.duckdb"
    shutil.copyfile(args.db, kb)
    con = connect(kb)
    add_user(con, "bench", role="analyst", password=PASSWORD)
    token = issue_token(con, "bench")
    rng = random.Random(1)
    communes = [
        r[0]
        for r in con.execute(
            "SELECT code FROM territory WHERE level = 'commune' AND geom IS NOT NULL ORDER BY code"
        ).fetchall()
    ]
    departements = [
        r[0]
        for r in con.execute(
            "SELECT code FROM territory WHERE level = 'departement' ORDER BY code"
        ).fetchall()
    ]
    con.close()
    baseline_kb = folder / "baseline.duckdb"
    shutil.copyfile(kb, baseline_kb)  # already migrated; the server will hold the other copy
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, TERRITORIA_SECRET_KEY=SECRET)
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "territoria",
            "serve",
            "--port",
            str(port),
            "--db",
            str(kb),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        headers = {"Authorization": f"Bearer {token}"}
        t0 = time.perf_counter()
        while True:
            try:
                status = httpx.get(base + "/api/v1/status", headers=headers, timeout=5)
                if status.status_code == 200 and "commune/full" in status.json()["geometry_ready"]:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise SystemExit((folder / "server.log").read_text())
            time.sleep(0.5)
        print(f"server up, map geometries precomputed in {time.perf_counter() - t0:.1f} s")
        n = args.requests
        cold_codes = rng.sample(communes, n)
        warm_codes = rng.sample(communes, 50)

        def page_urls(codes: Sequence[str]) -> list[str]:
            return [f"/territoires/commune/{c}" for c in codes]

        def profile_urls(codes: Sequence[str]) -> list[str]:
            return [f"/api/v1/territories/{c}/profile?level=commune" for c in codes]

        deps = [rng.choice(departements) for _ in range(n)]

        def map_urls_of(codes: Sequence[str], indicator: str) -> list[str]:
            return [
                f"/api/v1/map/commune?parent={d}&parent_level=departement"
                f"&indicator={indicator}&zoom=9"
                for d in codes
            ]

        map_urls = map_urls_of(deps, "population")
        first_views = map_urls_of(rng.sample(departements, len(departements)), "density")
        warm = [warm_codes[i % len(warm_codes)] for i in range(n)]
        # the warm codes visited once so that their profiles are cached
        asyncio.run(_load(base, token, page_urls(warm_codes), 4))
        c = args.clients
        scenarios = [
            ("territory page, cold (new territory each time)", c, page_urls(cold_codes), "150 ms"),
            ("territory page, warm (visited before)", c, page_urls(warm), "150 ms"),
            ("profile API, cold", c, profile_urls(rng.sample(communes, n)), "150 ms"),
            ("profile API, warm", c, profile_urls(warm), "150 ms"),
            ("département communes GeoJSON, first view of each", c, first_views, "300 ms"),
            ("département communes GeoJSON, views seen before", c, map_urls, "300 ms"),
            (
                "baseline: territory page cold, 1 client",
                1,
                page_urls(rng.sample(communes, 100)),
                "",
            ),
            (
                "baseline: profile API cold, 1 client",
                1,
                profile_urls(rng.sample(communes, 100)),
                "",
            ),
            (
                "baseline: département GeoJSON first view, 1 client",
                1,
                map_urls_of(departements, "area_km2"),
                "",
            ),
        ]
        header = (
            f"| {'scenario':<50} | {'clients':>7} | {'requests':>8} | {'p50 ms':>8} | "
            f"{'p95 ms':>8} | {'max ms':>8} | {'req/s':>7} | {'errors':>6} | {'target':<8} |"
        )
        lines = [header, "|" + "|".join("-" * (len(c) - 0) for c in header.split("|")[1:-1]) + "|"]
        for name, clients, urls, target in scenarios:
            lat, errors, seconds = asyncio.run(_load(base, token, urls, clients))
            lines.append(_row(name, clients, lat, errors, seconds, target))
            print(lines[-1], flush=True)
        lat = _uncached_map(baseline_kb, deps[:50])
        lines.append(
            _row("baseline: DuckDB ST_AsGeoJSON per request", 1, lat, 0, sum(lat) / 1000, "")
        )
        if CHROMIUM.exists():
            times = _browser_times(base, args.browser_runs)
            lines.append("")
            lines.append(
                f"| {'headless Chromium: map drawn and interactive':<50} | runs | "
                f"median s | max s | target |"
            )
            for name, values in times.items():
                target = "" if name.startswith("baseline") else "3 s"
                lines.append(
                    f"| {name:<50} | {len(values):>4} | {statistics.median(values) / 1000:>8.2f} "
                    f"| {max(values) / 1000:>5.2f} | {target:<6} |"
                )
        else:
            lines.append("(headless Chromium not installed: browser timing skipped)")
        print()
        print("\n".join(lines))
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    duckdb.default_connection()  # load DuckDB before timing anything
    main()
