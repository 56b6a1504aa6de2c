"""Runtime benchmark: CLI start, CLI writes while serving, profiles under failed sign-ins,
readiness, on the knowledge base of all of France.

Four tables, each with a baseline measured in the same run:

1. **CLI start** -- wall time of a new process (median of ``--runs``): ``territoria --help``
   (target 0.3 s) and ``territoria profile 35238`` (target 0.5 s), against ``python -c pass``
   and ``python -c "import duckdb"``. The processes get a private ``XDG_RUNTIME_DIR``, so that
   the sockets of servers other people run on the machine do not count; one row adds the
   socket of another served knowledge base (the CLI then parses its command line twice).
2. **CLI writes while serving** -- ``users add`` (a fresh name each run) and ``import
   indicators`` of an 8-line CSV, median of ``--runs``, with the server stopped (baseline:
   the command opens the file itself) and while ``territoria serve`` runs on the same file
   (the command runs in the server); target: at most 1 s more.
3. **Web, warm** -- ``wrk`` (2 threads, ``--clients`` connections, ``--duration`` s) on the
   profile API of 50 communes already asked, alone and while one failed sign-in per second
   (the sign-in form, then a wrong password, a different user name each time so that every
   attempt costs a full password check) hits the same server; target p95 50 ms. Baseline:
   ``/healthz`` (no data, no authentication), the HTTP floor of the server. Without wrk the
   async httpx generator of bench_web.py is used (it shares the cores with the server).
4. **Readiness** -- seconds from starting ``territoria serve`` (default settings: map
   geometries warmed) until ``/healthz`` answers and until ``/readyz`` is 200 (target 10 s),
   median of ``--ready-runs``; then, in this process, what the warm-up is made of: importing
   the web application, opening the file (migrations, extensions), loading the profile
   lookups, warming the map geometries.

Usage::

    python benchmarks/bench_runtime.py [--db territoria.duckdb] [--runs 7] [--clients 20]
        [--duration 8] [--ready-runs 2]

``--db`` is a knowledge base of France (``territoria import france``; built there when the
file does not exist); it is copied, never written. The machine's load average is printed
with every table: on a shared machine compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from bench_web import HEADER, SECRET, WRK, Row, Server, httpx_row, wrk_row

ROOT = Path(__file__).resolve().parent.parent
INDICATORS = ROOT / "tests" / "data" / "indicators" / "indicators_long_rennes.csv"
PASSWORD = "benchmark-password-0123"
CLI = [sys.executable, "-m", "territoria"]


def _load() -> float:
    return os.getloadavg()[0]


def _env() -> dict[str, str]:
    return dict(os.environ, TERRITORIA_SECRET_KEY=SECRET)


def _timed(command: Sequence[str], *, stdin: str | None = None) -> float:
    """Run ``command``; return its wall time in seconds (it must succeed)."""
    start = time.perf_counter()
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, env=_env(), check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def _median(runs: int, make: Callable[[int], tuple[Sequence[str], str | None]]) -> list[float]:
    """Wall times of ``runs`` runs of the command ``make(i)`` returns (command, stdin)."""
    times = []
    for i in range(runs):
        command, stdin = make(i)
        times.append(_timed(command, stdin=stdin))
    return times


def _row(name: str, times: Sequence[float], target: str = "", note: str = "") -> str:
    return (
        f"| {name:<58} | {len(times):>4} | {statistics.median(times):>8.3f} | "
        f"{min(times):>7.3f} | {max(times):>7.3f} | {target:<7} | {_load():>4.1f} | {note}"
    )


TIMES_HEADER = (
    f"| {'scenario':<58} | {'runs':>4} | {'median s':>8} | {'min s':>7} | {'max s':>7} | "
    f"{'target':<7} | {'load':>4} |"
)


def _fake_server(path: Path) -> socket.socket:
    """Listen on the socket another served knowledge base would have (never answers)."""
    from territoria.kb._service import socket_path

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path(path)))
    listener.listen(1)
    return listener


def cli_start(kb: Path, runs: int) -> list[str]:
    """Table 1: new processes, no server on ``kb``."""
    rows = [
        _row(
            "baseline: python -c pass",
            _median(runs, lambda i: ([sys.executable, "-c", "pass"], None)),
        ),
        _row(
            'baseline: python -c "import duckdb"',
            _median(runs, lambda i: ([sys.executable, "-c", "import duckdb"], None)),
        ),
        _row("territoria --help", _median(runs, lambda i: ([*CLI, "--help"], None)), "0.3 s"),
        _row(
            "territoria profile 35238 --db KB",
            _median(runs, lambda i: ([*CLI, "profile", "35238", "--db", str(kb)], None)),
            "0.5 s",
        ),
    ]
    other = kb.with_name("other.duckdb")
    listener = _fake_server(other)
    try:
        rows.append(
            _row(
                "territoria profile 35238, another KB served",
                _median(runs, lambda i: ([*CLI, "profile", "35238", "--db", str(kb)], None)),
                "0.5 s",
                "a socket exists: the command line is parsed twice",
            )
        )
    finally:
        listener.close()
        from territoria.kb._service import socket_path

        socket_path(other).unlink(missing_ok=True)
    return rows


def _writes(kb: Path, runs: int, tag: str) -> dict[str, list[float]]:
    def add(i: int) -> tuple[list[str], str]:
        command = [*CLI, "users", "add", f"u-{tag}-{i}", "--password-stdin", "--db", str(kb)]
        return command, PASSWORD + "\n"

    def indicators(i: int) -> tuple[list[str], None]:
        command = [*CLI, "import", "indicators", str(INDICATORS), "--source-name", f"b-{tag}-{i}"]
        command += ["--publisher", "bench", "--licence", "CC0", "--quiet", "--db", str(kb)]
        return command, None

    return {
        "users add": _median(runs, add),
        "import indicators (8 lines)": _median(runs, indicators),
    }


def _start(kb: Path, folder: Path) -> tuple[Server, float, float]:
    """Start ``territoria serve`` on ``kb``; return it and the seconds until /healthz and
    /readyz answered 200 (bounded: 180 s)."""
    start = time.perf_counter()
    server = Server(kb, folder)
    health = None
    with httpx.Client(base_url=server.base, timeout=10) as client:
        while time.perf_counter() - start < 180:
            if server.process.poll() is not None:
                raise SystemExit(server.log_path.read_text())
            try:
                if health is None and client.get("/healthz").status_code == 200:
                    health = time.perf_counter() - start
                if health is not None and client.get("/readyz").status_code == 200:
                    return server, health, time.perf_counter() - start
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    server.stop()
    raise SystemExit(f"/readyz not 200 after 180 s: {server.log_path.read_text()}")


class FailedSignIns(threading.Thread):
    """One failed sign-in per second (form, then a wrong password), bounded in count."""

    def __init__(self, base: str, count: int) -> None:
        super().__init__(name="failed-sign-ins", daemon=True)
        self.base, self.count = base, count
        self.codes: list[int] = []
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        import re

        deadline = time.monotonic() + self.count + 5
        with httpx.Client(base_url=self.base, timeout=30) as client:
            for i in range(self.count):
                if self.stop.is_set() or time.monotonic() > deadline:
                    return
                tick = time.monotonic()
                page = client.get("/login")
                found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                form = {
                    "username": f"guess-{i}",
                    "password": f"wrong-password-{i}",
                    "csrf_token": found[1] if found else "",
                }
                t0 = time.perf_counter()
                self.codes.append(client.post("/login", data=form).status_code)
                self.latencies.append((time.perf_counter() - t0) * 1000)
                self.stop.wait(max(0.0, 1.0 - (time.monotonic() - tick)))


def web_rows(
    server: Server,
    token: str,
    folder: Path,
    communes: Sequence[str],
    *,
    clients: int,
    duration: float,
) -> list[Row]:
    """Table 3 on a running server."""
    import random

    codes = random.Random(1).sample(list(communes), 50)
    urls = [f"/api/v1/territories/{c}/profile?level=commune" for c in codes]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
        # the CLI imports before made the server reload its profile lookups in the background:
        # wait until a first visit is served from them again (under 10 ms; bounded: 120 s)
        deadline, fast = time.monotonic() + 120, 0
        for code in (c for c in communes if c not in codes):
            t0 = time.perf_counter()
            client.get(f"/api/v1/territories/{code}/profile?level=commune").raise_for_status()
            fast = fast + 1 if (time.perf_counter() - t0) * 1000 < 10 else 0
            if fast == 3 or time.monotonic() > deadline:  # one fast query may be luck
                break
            time.sleep(0.5)
        for url in urls:  # warm: each profile asked once
            client.get(url).raise_for_status()
    found: list[Row | None] = []

    def measure(name: str, urls: Sequence[str], target: str = "") -> Row | None:
        if WRK is not None:
            return wrk_row(
                server,
                token,
                folder,
                name,
                urls,
                clients=clients,
                duration=duration,
                target=target,
                cold=False,
            )
        many = [urls[i % len(urls)] for i in range(round(duration * 50))]
        return httpx_row(server, token, name, many, clients, target)

    print(f"\nmeasuring the web ({'wrk' if WRK else 'httpx'}) ...", flush=True)
    print(HEADER, flush=True)
    found.append(measure("profile API, warm", urls, "50 ms"))
    attack = FailedSignIns(server.base, count=round(duration) + 2)
    attack.start()
    time.sleep(0.5)
    row = measure("profile API, warm, 1 failed sign-in/s", urls, "50 ms")
    attack.stop.set()
    attack.join(timeout=40)
    if row is not None and attack.latencies:
        counts = {code: attack.codes.count(code) for code in sorted(set(attack.codes))}
        row.note = (
            f" sign-ins: {len(attack.codes)} ({', '.join(f'{k}: {v}' for k, v in counts.items())}),"
            f" p50 {statistics.median(attack.latencies):.0f} ms"
        )
    found.append(row)
    found.append(measure("baseline: /healthz", ["/healthz"]))  # last: nothing else running
    return [r for r in found if r is not None]


def warmup_parts(kb: Path) -> list[str]:
    """What the warm-up is made of, measured one by one in this process."""
    rows = []
    rows.append(
        _row(
            "import the web application (new process)",
            [_timed([sys.executable, "-c", "import territoria.api, territoria.cli"])],
        )
    )
    from territoria.analysis._profile_reads import ProfileLookups
    from territoria.api import Database
    from territoria.api._geo import GeometryCache

    t0 = time.perf_counter()
    database = Database.open(kb, profile_lookups=False)
    rows.append(_row("open the file (migrations, extensions)", [time.perf_counter() - t0]))
    try:
        with database.reader() as cur:
            t0 = time.perf_counter()
            ProfileLookups.load(cur)
            rows.append(_row("load the profile lookups", [time.perf_counter() - t0]))
        t0 = time.perf_counter()
        GeometryCache(database.reader).warm()
        rows.append(_row("warm the map geometries", [time.perf_counter() - t0]))
    finally:
        database.close()
    return rows


def _print(title: str, header: str, rows: Sequence[str]) -> None:
    print(f"\n{title} (load average {_load():.1f}, {os.cpu_count()} CPUs)")
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    for row in rows:
        print(row)


def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="territoria-bench-runtime-"))
    runtime = folder / "run"
    runtime.mkdir(mode=0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)  # this run's sockets only
    try:
        kb = folder / "kb.duckdb"
        shutil.copyfile(args.db, kb)
        from territoria.accounts import add_user, issue_token
        from territoria.kb import connect

        con = connect(kb)  # migrates the copy once, so that no run below pays for it
        add_user(con, "bench", role="analyst", password=PASSWORD)
        token = issue_token(con, "bench")
        communes = [
            r[0]
            for r in con.execute(
                "SELECT code FROM territory WHERE level = 'commune' ORDER BY code"
            ).fetchall()
        ]
        con.close()
        pristine = folder / "pristine.duckdb"
        shutil.copyfile(kb, pristine)

        _print("CLI start, new processes, no server", TIMES_HEADER, cli_start(kb, args.runs))

        stopped = _writes(kb, args.runs, "stopped")
        server, _, _ = _start(kb, folder)
        try:
            serving = _writes(kb, args.runs, "serving")
            rows = []
            for name, times in stopped.items():
                rows.append(_row(f"baseline: {name}, server stopped", times))
                overhead = statistics.median(serving[name]) - statistics.median(times)
                rows.append(
                    _row(
                        f"{name}, while serving",
                        serving[name],
                        "+1 s",
                        f"overhead {overhead:+.3f} s",
                    )
                )
            _print("CLI writes, new processes", TIMES_HEADER, rows)
            web = web_rows(
                server, token, folder, communes, clients=args.clients, duration=args.duration
            )
        finally:
            server.stop()
        _print("Web, warm profile API", HEADER, [r.line() for r in web])

        health, ready = [], []
        for i in range(args.ready_runs):
            copy = folder / f"ready-{i}.duckdb"
            shutil.copyfile(pristine, copy)
            server, h, r = _start(copy, folder)
            server.stop()
            health.append(h)
            ready.append(r)
        rows = [
            _row("baseline: serve start until /healthz answers", health),
            _row("serve start until /readyz is 200", ready, "10 s"),
        ]
        rows += warmup_parts(pristine)
        _print("Readiness on the France knowledge base", TIMES_HEADER, rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    default_db = Path(os.environ.get("TERRITORIA_DB", "territoria.duckdb"))
    parser.add_argument("--db", type=Path, default=default_db, help="France knowledge base")
    parser.add_argument("--runs", type=int, default=7, help="runs per CLI scenario")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk scenario")
    parser.add_argument("--ready-runs", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.db.exists():
        print(f"building {args.db} (territoria import france) ...", flush=True)
        subprocess.run([*CLI, "import", "france", "--db", str(args.db)], check=True)
    print(
        f"{os.cpu_count()} CPUs, load average {_load():.1f}; python {sys.version.split()[0]}; "
        f"wrk: {WRK or 'not installed (httpx fallback)'}",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean-up runs on SIGTERM too
    run(args)


if __name__ == "__main__":
    main()
