"""Web application speed against a real server on the full knowledge base.

Starts ``territoria serve`` on a copy of the knowledge base, waits until its map geometries
and profile lookups are precomputed (a first visit of a profile costs under 10 ms), then
measures with 20 concurrent clients holding an API token:

- the territory page (``/territoires/commune/CODE``) and the profile API, p95 target 150 ms:
  first visit of each territory ("cold": a commune never asked before) and visits again
  ("warm": the application's cache);
- the commune-level GeoJSON of a département's view (``/api/v1/map/commune?parent=DEP``),
  p95 target 300 ms: first view of each département (a colouring never asked before), and
  views seen before.

Two load generators, because the load generator shares the machine's cores with the server:

- ``httpx``: an async httpx client in this process, a fixed list of requests; it costs about
  as much CPU per request as a warm request costs the server, so on a 2-core machine it slows
  the server it measures;
- ``wrk`` (when installed, ``apt-get install wrk``): a C load generator, 2 threads, the same
  20 connections for a fixed duration, each request on a URL never asked before in cold
  scenarios (the lists are longer than what the duration allows; a run that wraps around is
  flagged).

Each row shows the CPU time the server and the load generator spent per request and the
machine's load average when it started: other jobs on the machine slow everything down, so
compare rows of one run, not runs.

Baselines in the same run:

- the same cold scenarios against a server computing profiles from queries (as before
  profile lookups were held in memory), started on another copy of the knowledge base;
- one client at a time (no queueing);
- for maps, the unsimplified geometry serialised by DuckDB at each request (no cache), and a
  server compressing responses (GZipMiddleware, the client asks for gzip), to see whether
  compression pays on the loopback;
- a server running the synchronous routes on 4 threads instead of anyio's 40, to see what
  fewer threads competing for Python's global lock give;
- in headless Chromium, the time from navigation until the commune-level map of a région is
  drawn and interactive (target 3 s; first visit and median of visits), with the France map
  of départements.

Usage::

    python benchmarks/bench_web.py --db territoria.duckdb [--requests 400] [--clients 20]
        [--duration 8] [--no-baseline] [--browser-runs 3]

``--serve`` is internal: it starts a variant of the server (``--queries``, ``--gzip``,
``--thread-limit N``), otherwise built as ``territoria serve`` builds it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx

from territoria.accounts import add_user, issue_token
from territoria.kb import connect

SECRET = "benchmark-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "benchmark-password"
CHROMIUM = Path("/usr/bin/chromium")
WRK = shutil.which("wrk")
TICK = os.sysconf("SC_CLK_TCK")

# wrk script: each thread takes its share of a URL list, one request per URL in order; prints
# the latency percentiles (ms) and counts for the parent process.
WRK_SCRIPT = """
local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
function init(args)
  urls = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % tonumber(args[2]) == id - 1 then table.insert(urls, line) end
    i = i + 1
  end
  index = 0
  wrk.headers["Authorization"] = "Bearer " .. args[3]
  if args[4] == "gzip" then wrk.headers["Accept-Encoding"] = "gzip" end
end
function request()
  index = index + 1
  if index > #urls then index = 1 end
  return wrk.format("GET", urls[index])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %.3f %.3f %.3f %.3f\\n", summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency.max / 1000, summary.duration / 1e6))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Row:
    """One measured scenario."""

    name: str
    tool: str
    clients: int
    requests: int
    p50: float
    p95: float
    worst: float
    seconds: float
    errors: int
    server_cpu: float  # seconds
    client_cpu: float  # seconds
    load: float
    target: str = ""
    note: str = ""

    def line(self) -> str:
        rps = self.requests / self.seconds if self.seconds else 0.0
        per = 1000 / max(self.requests, 1)
        return (
            f"| {self.name:<52} | {self.tool:<5} | {self.clients:>3} | {self.requests:>5} | "
            f"{self.p50:>7.1f} | {self.p95:>7.1f} | {self.worst:>7.1f} | {rps:>6.1f} | "
            f"{self.server_cpu * per:>6.2f} | {self.client_cpu * per:>6.2f} | "
            f"{self.load:>4.1f} | {self.errors:>3} | {self.target:<6} |{self.note}"
        )


HEADER = (
    f"| {'scenario':<52} | {'tool':<5} | {'cl.':>3} | {'reqs':>5} | {'p50 ms':>7} | "
    f"{'p95 ms':>7} | {'max ms':>7} | {'req/s':>6} | {'srvCPU':>6} | {'genCPU':>6} | "
    f"{'load':>4} | {'err':>3} | {'target':<6} |"
)
LEGEND = (
    "srvCPU / genCPU: CPU ms per request of the server and of the load generator; "
    "load: the machine's 1-minute load average when the scenario started (2 cores)."
)


class Server:
    """A server process on a copy of the knowledge base, stopped on exit."""

    def __init__(self, kb: Path, folder: Path, *, variant: str | None = None) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.variant = variant
        env = dict(os.environ, TERRITORIA_SECRET_KEY=SECRET)
        if variant is None:  # the real thing
            command = [sys.executable, "-m", "territoria", "serve", "--db", str(kb)]
            command += ["--port", str(self.port), "--log-level", "warning"]
        else:
            command = [sys.executable, __file__, "--serve", "--db", str(kb)]
            command += ["--port", str(self.port), f"--{variant}"]  # --queries, --gzip ...
        self.log_path = folder / f"server-{variant or 'serve'}.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=self._log)

    def wait_ready(self, token: str) -> float:
        """Wait until the map geometries are precomputed (the profile lookups are faster)."""
        headers = {"Authorization": f"Bearer {token}"}
        t0 = time.perf_counter()
        while True:
            try:
                status = httpx.get(self.base + "/api/v1/status", headers=headers, timeout=5)
                if status.status_code == 200 and "commune/full" in status.json()["geometry_ready"]:
                    return time.perf_counter() - t0
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise SystemExit(self.log_path.read_text())
            time.sleep(0.5)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


@contextmanager
def running(kb: Path, folder: Path, token: str, *, variant: str | None = None) -> Iterator[Server]:
    server = Server(kb, folder, variant=variant)
    try:
        ready = server.wait_ready(token)
        print(f"server {variant or 'territoria serve'} up, warm in {ready:.1f} s", flush=True)
        yield server
    finally:
        server.stop()


async def _httpx_load(
    base: str, token: str, urls: Sequence[str], clients: int, *, gzip: bool
) -> tuple[list[float], int, float]:
    """GET every url with ``clients`` concurrent clients; return latencies (ms), errors, s."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    latencies: list[float] = []
    errors = 0
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept-Encoding": "gzip" if gzip else "identity",
    }

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


def httpx_row(
    server: Server,
    token: str,
    name: str,
    urls: Sequence[str],
    clients: int,
    target: str = "",
    *,
    gzip: bool = False,
) -> Row:
    load = os.getloadavg()[0]
    server_cpu, client_cpu = _cpu_seconds(server.process.pid), time.process_time()
    lat, errors, seconds = asyncio.run(_httpx_load(server.base, token, urls, clients, gzip=gzip))
    row = Row(
        name,
        "httpx",
        clients,
        len(lat),
        statistics.median(lat),
        _percentile(lat, 0.95),
        max(lat),
        seconds,
        errors,
        _cpu_seconds(server.process.pid) - server_cpu,
        time.process_time() - client_cpu,
        load,
        target,
    )
    print(row.line(), flush=True)
    return row


def wrk_row(
    server: Server,
    token: str,
    folder: Path,
    name: str,
    urls: Sequence[str],
    *,
    clients: int,
    duration: float,
    target: str = "",
    gzip: bool = False,
    cold: bool = True,
) -> Row | None:
    """Run wrk (2 threads, ``clients`` connections) for ``duration`` seconds over ``urls``.

    ``cold``: every URL is new to the server; flag the row if wrk had to reuse some.
    """
    if WRK is None:
        return None
    script, listing = folder / "bench.lua", folder / "urls.txt"
    script.write_text(WRK_SCRIPT)
    listing.write_text("\n".join(urls) + "\n")
    load = os.getloadavg()[0]
    server_cpu = _cpu_seconds(server.process.pid)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [WRK, "-t2", f"-c{clients}", f"-d{round(duration)}s", "--timeout", "30s", "-s"]
    command += [str(script), server.base, "--", str(listing), "2", token]
    command += ["gzip" if gzip else "identity"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = _cpu_seconds(server.process.pid) - server_cpu
    found = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    if found is None:
        raise SystemExit(f"unexpected wrk output:\n{out}")
    requests, errors = int(found[1]), int(found[2])
    p50, p95, worst, seconds = (float(found[i]) for i in range(3, 7))
    row = Row(
        name,
        "wrk",
        clients,
        requests,
        p50,
        p95,
        worst,
        seconds,
        errors,
        server_cpu,
        (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        load,
        target,
        " URL list wrapped: later requests were warm" if cold and requests > len(urls) else "",
    )
    print(row.line(), flush=True)
    return row


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


BROWSER_PAGES = {
    "région communes (Bretagne, 1,200)": "/carte?level=commune&parent=53&parent_level=region",
    "région communes (Auvergne-Rhône-Alpes, 4,000)": (
        "/carte?level=commune&parent=84&parent_level=region"
    ),
    "baseline: France départements (101)": "/carte?level=departement",
}


def _browser_times(base: str, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {name: [] for name in BROWSER_PAGES}
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
            for name, url in BROWSER_PAGES.items():
                page.goto("about:blank")
                page.goto(base + url)
                page.wait_for_selector("#map[data-ready='1']", timeout=60_000)
                # navigation start to "drawn and interactive" (set after the canvas is painted)
                times[name].append(float(page.evaluate("window.territoriaMapReady")))
        browser.close()
    return times


@dataclass
class Workload:
    """The URLs of every scenario, drawn once so that every server gets the same.

    Cold sets are disjoint: a commune is first visited once per server and scenario.
    """

    token: str
    folder: Path
    communes: list[str]
    departements: list[str]
    requests: int
    clients: int
    duration: float

    def __post_init__(self) -> None:
        self.rng = random.Random(1)
        n = self.requests
        shuffled = self.rng.sample(self.communes, len(self.communes))
        self.probe, shuffled = shuffled[:20], shuffled[20:]
        self.cold_pages, self.cold_profiles = shuffled[:n], shuffled[n : 2 * n]
        self.single_pages = shuffled[2 * n : 2 * n + 100]
        self.single_profiles = shuffled[2 * n + 100 : 2 * n + 200]
        rest = shuffled[2 * n + 200 :]
        self.wrk_pages, self.wrk_profiles = rest[: len(rest) // 2], rest[len(rest) // 2 :]
        self.warm_codes = self.rng.sample(self.communes, 50)
        self.warm = [self.warm_codes[i % len(self.warm_codes)] for i in range(n)]
        deps = self.departements
        self.seen_maps = self.maps([self.rng.choice(deps) for _ in range(n)], "population")
        self.first_views = self.maps(self.rng.sample(deps, len(deps)), "density")
        self.wrk_first_views = self.more_first_views(5000)

    def pages(self, codes: Sequence[str]) -> list[str]:
        return [f"/territoires/commune/{c}" for c in codes]

    def profiles(self, codes: Sequence[str]) -> list[str]:
        return [f"/api/v1/territories/{c}/profile?level=commune" for c in codes]

    def maps(self, deps: Sequence[str], indicator: str, method: str = "quantiles") -> list[str]:
        return [
            f"/api/v1/map/commune?parent={d}&parent_level=departement&indicator={indicator}"
            f"&method={method}&zoom=9"
            for d in deps
        ]

    def more_first_views(self, count: int) -> list[str]:
        """Views never asked before: every département under other colourings."""
        urls = []
        for indicator in ("population", "density", "area_km2"):
            for method in ("quantiles", "equal"):
                for classes in (2, 3, 4, 6, 7, 8, 9):
                    deps = self.rng.sample(self.departements, len(self.departements))
                    urls += [u + f"&classes={classes}" for u in self.maps(deps, indicator, method)]
        return urls[:count]

    def httpx(
        self, server: Server, name: str, urls: Sequence[str], *, clients: int = 0, **options: Any
    ) -> Row:
        return httpx_row(server, self.token, name, urls, clients or self.clients, **options)

    def wrk(self, server: Server, name: str, urls: Sequence[str], **options: Any) -> Row | None:
        return wrk_row(
            server,
            self.token,
            self.folder,
            name,
            urls,
            clients=self.clients,
            duration=self.duration,
            **options,
        )


def wait_for_profile_lookups(server: Server, load: Workload) -> None:
    """Wait until first visits of profiles are served from the lookups (under 10 ms)."""
    headers = {"Authorization": f"Bearer {load.token}"}
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=server.base, headers=headers, timeout=30) as client:
        for code in load.probe:
            t0 = time.perf_counter()
            client.get(load.profiles([code])[0]).raise_for_status()
            if (time.perf_counter() - t0) * 1000 < 10 or time.monotonic() > deadline:
                return
            time.sleep(1)


def current_rows(server: Server, load: Workload) -> list[Row]:
    """Every scenario against ``territoria serve``."""
    wait_for_profile_lookups(server, load)
    asyncio.run(_httpx_load(server.base, load.token, load.pages(load.warm_codes), 4, gzip=False))
    asyncio.run(_httpx_load(server.base, load.token, load.seen_maps[:50], 4, gzip=False))
    print(HEADER, flush=True)
    found: list[Row | None] = [
        load.httpx(server, "territory page, cold", load.pages(load.cold_pages), target="150 ms"),
        load.httpx(server, "territory page, warm", load.pages(load.warm), target="150 ms"),
        load.httpx(server, "profile API, cold", load.profiles(load.cold_profiles), target="150 ms"),
        load.httpx(server, "profile API, warm", load.profiles(load.warm), target="150 ms"),
        load.httpx(server, "département GeoJSON, first view", load.first_views, target="300 ms"),
        load.httpx(server, "département GeoJSON, seen before", load.seen_maps, target="300 ms"),
        load.httpx(
            server, "baseline: page cold, 1 client", load.pages(load.single_pages), clients=1
        ),
        load.httpx(
            server,
            "baseline: profile cold, 1 client",
            load.profiles(load.single_profiles),
            clients=1,
        ),
        load.httpx(
            server,
            "baseline: GeoJSON first view, 1 client",
            load.maps(load.departements, "area_km2"),
            clients=1,
        ),
    ]
    for name, urls, cold, target in (
        ("territory page, cold", load.pages(load.wrk_pages), True, "150 ms"),
        ("territory page, warm", load.pages(load.warm), False, "150 ms"),
        ("profile API, cold", load.profiles(load.wrk_profiles), True, "150 ms"),
        ("profile API, warm", load.profiles(load.warm), False, "150 ms"),
        ("département GeoJSON, first view", load.wrk_first_views, True, "300 ms"),
        ("département GeoJSON, seen before", load.seen_maps, False, "300 ms"),
    ):
        found.append(load.wrk(server, name, urls, cold=cold, target=target))
    return [row for row in found if row is not None]


def variant_rows(kb: Path, load: Workload) -> list[Row]:
    """Baselines and alternatives, each on its own server."""
    found: list[Row | None] = []
    with running(kb, load.folder, load.token, variant="queries") as server:
        print(HEADER, flush=True)
        prefix = "baseline: profiles from queries, "
        pages, profiles = load.pages(load.cold_pages), load.profiles(load.cold_profiles)
        found.append(load.httpx(server, prefix + "page cold", pages))
        found.append(load.httpx(server, prefix + "profile cold", profiles))
        found.append(load.wrk(server, prefix + "page cold", load.pages(load.wrk_pages)))
        found.append(load.wrk(server, prefix + "profile cold", load.profiles(load.wrk_profiles)))
    with running(kb, load.folder, load.token, variant="thread-limit=4") as server:
        wait_for_profile_lookups(server, load)
        print(HEADER, flush=True)
        prefix = "4 route threads (not 40), "
        found.append(load.wrk(server, prefix + "page cold", load.pages(load.wrk_pages)))
        found.append(load.wrk(server, prefix + "profile cold", load.profiles(load.wrk_profiles)))
        found.append(load.wrk(server, prefix + "GeoJSON first view", load.wrk_first_views))
    with running(kb, load.folder, load.token, variant="gzip") as server:
        print(HEADER, flush=True)
        prefix = "gzip responses: GeoJSON, "
        found.append(load.httpx(server, prefix + "first view", load.first_views, gzip=True))
        found.append(load.httpx(server, prefix + "seen before", load.seen_maps, gzip=True))
        found.append(load.wrk(server, prefix + "first view", load.wrk_first_views, gzip=True))
        found.append(
            load.wrk(server, prefix + "seen before", load.seen_maps, gzip=True, cold=False)
        )
    return [row for row in found if row is not None]


def uncached_row(kb: Path, departements: Sequence[str]) -> Row:
    lat = _uncached_map(kb, departements)
    name = "baseline: DuckDB ST_AsGeoJSON per request, in process"
    return Row(
        name,
        "-",
        1,
        len(lat),
        statistics.median(lat),
        _percentile(lat, 0.95),
        max(lat),
        sum(lat) / 1000,
        0,
        0.0,
        0.0,
        os.getloadavg()[0],
    )


def print_tables(rows: Sequence[Row], browser: dict[str, list[float]] | None) -> None:
    print()
    print(HEADER)
    print("|" + "|".join("-" * len(cell) for cell in HEADER.split("|")[1:-1]) + "|")
    for row in rows:
        print(row.line())
    print(LEGEND)
    if browser is None:
        print("(headless Chromium not installed: browser timing skipped)")
        return
    print()
    print(
        f"| {'headless Chromium: map drawn and interactive':<52} | runs | first s | median s "
        "| max s | target |"
    )
    for name, values in browser.items():
        target = "" if name.startswith("baseline") else "3 s"
        print(
            f"| {name:<52} | {len(values):>4} | {values[0] / 1000:>7.2f} | "
            f"{statistics.median(values) / 1000:>8.2f} | {max(values) / 1000:>5.2f} | "
            f"{target:<6} |"
        )


def run(args: argparse.Namespace) -> None:
    """Copy the knowledge base, measure every server, print the tables."""
    folder = Path(tempfile.mkdtemp(prefix="territoria-bench-"))
    try:
        kb = folder / "kb.duckdb"
        shutil.copyfile(args.db, kb)
        con = connect(kb)
        add_user(con, "bench", role="analyst", password=PASSWORD)
        token = issue_token(con, "bench")
        communes = [
            r[0]
            for r in con.execute(
                "SELECT code FROM territory WHERE level = 'commune' AND geom IS NOT NULL "
                "ORDER BY code"
            ).fetchall()
        ]
        departements = [
            r[0]
            for r in con.execute(
                "SELECT code FROM territory WHERE level = 'departement' ORDER BY code"
            ).fetchall()
        ]
        con.close()
        other_kb = folder / "other.duckdb"
        shutil.copyfile(kb, other_kb)  # already migrated; each server holds its own copy
        print(
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
            f"python {sys.version.split()[0]}, duckdb {duckdb.__version__}; "
            f"wrk: {WRK or 'not installed'}",
            flush=True,
        )
        load = Workload(
            token, folder, communes, departements, args.requests, args.clients, args.duration
        )
        browser = None
        with running(kb, folder, token) as server:
            rows = current_rows(server, load)
            if CHROMIUM.exists():
                browser = _browser_times(server.base, args.browser_runs)
        if args.baseline:
            rows += variant_rows(other_kb, load)
        rows.append(uncached_row(other_kb, departements[:50]))
        print_tables(rows, browser)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _ThreadLimit:
    """ASGI wrapper: at most ``limit`` threads run the synchronous routes (anyio's default
    is 40), so that fewer threads compete for Python's global lock."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit, self.done = app, limit, False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not self.done:
            import anyio.to_thread

            anyio.to_thread.current_default_thread_limiter().total_tokens = self.limit
            self.done = True
        await self.app(scope, receive, send)


def serve_variant(args: argparse.Namespace) -> None:
    """Serve like ``territoria serve``, with profiles from queries or gzip responses."""
    import uvicorn
    from starlette.middleware.gzip import GZipMiddleware

    from territoria.api import Database, WebSettings, create_app

    settings = WebSettings(db=args.db)
    database = Database.open(
        args.db,
        threads=settings.threads,
        memory_limit=settings.memory_limit,
        profile_lookups=not args.queries,
    )
    app = create_app(settings, database=database)
    if args.gzip:
        app.add_middleware(GZipMiddleware, minimum_size=1000)
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    served: Any = app
    if args.thread_limit:
        served = _ThreadLimit(app, args.thread_limit)
    try:
        uvicorn.run(served, host="127.0.0.1", port=args.port, log_level="warning", workers=1)
    finally:
        database.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_db = Path(os.environ.get("TERRITORIA_DB", "territoria.duckdb"))
    parser.add_argument(
        "--db", type=Path, default=default_db, help="full knowledge base (copied first)"
    )
    parser.add_argument("--requests", type=int, default=400, help="requests per httpx scenario")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk scenario")
    parser.add_argument("--browser-runs", type=int, default=3)
    parser.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the servers without profile lookups and with gzip",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--queries", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--gzip", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--thread-limit", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--switch-interval", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve_variant(args)
    else:
        run(args)


if __name__ == "__main__":
    duckdb.default_connection()  # load DuckDB before timing anything
    main()
