"""Benchmark: a regional influence plan in-process, from a cold CLI, and in a warm server.

Usage: python benchmarks/bench_plan.py [KB.duckdb] [--runs 3]  (a copy is made; default
$TERRITORIA_FULL_DB or /tmp/kb/france.duckdb)

The plan: theme economic-development, région Bretagne (53), k = 10, seed fixed, with its
robustness re-plans and coalition, as ``territoria influence plan`` runs it. Rows:

- in-process, warm (kernels compiled, the graph in memory):
  * baseline: the previous code path run in this process: the graph read from the knowledge
    base's tables at each plan (no graph file, no graph in memory) and the previous
    robustness check (:func:`robustness_v1` below, copied from the planner before the change:
    10 full OPIM-C re-plans with their doubling rounds and a Monte-Carlo check each);
  * now: the graph of a :class:`GraphMemo` and the robustness re-plans of ``_robustness``;
- cold CLI (a new ``territoria influence plan`` process each run): the graph file of the
  fingerprint present (now) and absent (baseline: the graph from the knowledge base's tables);
- warm server (``territoria serve`` on 127.0.0.1, API token): wall time from ``POST
  /api/v1/influence/plans`` to the finished job seen by polling every 20 ms, for the first
  plan (it loads the graph) and the next ones (graph in memory), and the same CLI command
  forwarded to the server.

Each row shows the median wall time of ``--runs`` runs, the median CPU time they cost (this
process and its children; for server rows, the server's too), and the machine's 1-minute load
average when they started: other jobs on a shared machine stretch wall times, CPU times much
less, so compare rows of one run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from territoria.accounts import add_user, issue_token
from territoria.influence.graph import InfluenceGraph
from territoria.influence.network import GraphMemo, load_graph
from territoria.influence.optimiser import maximise
from territoria.influence.planner import SEED_KINDS, plan_project
from territoria.kb import connect

SECRET = "benchmark-secret-key-0123456789-abcdefghijklmnop"
PLAN = {"code": "53", "level": "region", "theme": "economic-development", "k": 10}
CLI = [
    sys.executable,
    "-m",
    "territoria",
    "influence",
    "plan",
    "--territory",
    "53",
    "--level",
    "region",
    "--theme",
    "economic-development",
    "--k",
    "10",
    "--json",
]


def robustness_v1(
    graph: InfluenceGraph,
    chosen: Sequence[int],
    *,
    targets: Mapping[int, float],
    candidates: NDArray[np.bool_],
    k: int,
    sigma: float,
    replans: int,
    epsilon: float,
    seed: int,
) -> dict[str, float]:
    """The robustness check before this change (planner.py at a0133fb), for the baseline."""
    rng = np.random.default_rng(seed)
    kept = dict.fromkeys(chosen, 0)
    for r in range(replans):
        noisy = np.clip(graph.prob * rng.lognormal(0.0, sigma, graph.n_edges), 0.0, 1.0)
        plan = maximise(
            graph.with_probabilities(noisy),
            targets=targets,
            k=k,
            candidates=candidates,
            epsilon=max(epsilon, 0.2),
            delta=0.05,
            seed=seed + 1 + r,
            mc_samples=2,
        )
        picked = {s.index for s in plan.seeds}
        for c in chosen:
            kept[c] += c in picked
    return {graph.ids[c]: kept[c] / replans for c in chosen}


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def _cpu(pid: int | None) -> float:
    """CPU seconds used so far by this process and its finished children, or by ``pid``."""
    if pid is not None:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def median_time(
    fn: Callable[[int], Any], runs: int, *, pid: int | None = None
) -> tuple[float, str, str]:
    """Median wall time of ``runs`` calls, the load when they started, and the median CPU
    time they cost (this process and its children, or the server ``pid`` with ours)."""
    started_load = load()
    times, cpu = [], []
    for i in range(runs):
        c0 = _cpu(None) + (_cpu(pid) if pid else 0.0)
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
        cpu.append(_cpu(None) + (_cpu(pid) if pid else 0.0) - c0)
    return statistics.median(times), started_load, f"{statistics.median(cpu):.2f} s"


def in_process(kb: Path, folder: Path, runs: int, table: Table) -> None:
    con = connect(kb)
    try:
        memo = GraphMemo()
        bundle = memo.load(con)
        plan_project(con, **PLAN, seed=0, bundle=bundle)  # compile kernels, warm the KB pages

        def baseline(i: int) -> None:
            empty = Path(tempfile.mkdtemp(dir=folder))  # no graph file: the tables, as before
            old = load_graph(con, cache_dir=empty)
            plan = plan_project(con, **PLAN, seed=1 + i, bundle=old, with_robustness=False)
            graph = old.graph
            index = graph.positions
            tmap = {index[t["id"]]: t["weight"] for t in plan["targets"]}
            mask = np.array([k in SEED_KINDS for k in old.kinds], dtype=bool)
            mask[list(tmap)] = False
            robustness_v1(
                graph,
                [index[s["id"]] for s in plan["seeds"]],
                targets=tmap,
                candidates=mask,
                k=10,
                sigma=0.3,
                replans=10,
                epsilon=0.1,
                seed=1 + i,
            )

        timings: list[dict[str, float]] = []

        def now(i: int) -> None:
            plan = plan_project(con, **PLAN, seed=1 + i, bundle=memo.load(con))
            timings.append(plan["timings"])

        seconds, at, cpu = median_time(baseline, runs)
        table.add_row("in-process warm plan: baseline (previous path)", f"{seconds:.2f} s", cpu, at)
        seconds, at, cpu = median_time(now, runs)
        table.add_row("in-process warm plan: now", f"{seconds:.2f} s", cpu, at)
        for step in ("optimise_and_check", "explain", "robustness", "coalition"):
            value = statistics.median(t.get(step, 0.0) for t in timings)
            table.add_row(f"  of which {step}", f"{value:.2f} s", "", "")
        t0 = time.perf_counter()
        load_graph(con, cache_dir=Path(tempfile.mkdtemp(dir=folder)))
        table.add_row("  graph from the KB tables (baseline)", f"{time.perf_counter() - t0:.2f} s")
        # (the load column of these two rows is the one of the row above)
        load_graph(con, cache_dir=folder / "cache")  # writes the graph file
        t1 = time.perf_counter()
        load_graph(con, cache_dir=folder / "cache")
        table.add_row("  graph from its file (now)", f"{time.perf_counter() - t1:.2f} s", "", "")
    finally:
        con.close()


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")


def cold_cli(kb: Path, folder: Path, runs: int, table: Table) -> None:
    env = dict(os.environ, TERRITORIA_CACHE_DIR=str(folder / "cache"))
    command = [*CLI, "--db", str(kb), "--seed", "1"]
    _run(command, env)  # writes the graph file

    def now(_i: int) -> None:
        _run(command, env)

    def baseline(_i: int) -> None:
        _run(command, dict(env, TERRITORIA_CACHE_DIR=tempfile.mkdtemp(dir=folder)))

    seconds, at, cpu = median_time(baseline, runs)
    table.add_row("cold CLI: baseline (graph from the KB tables)", f"{seconds:.2f} s", cpu, at)
    seconds, at, cpu = median_time(now, runs)
    table.add_row("cold CLI: now (graph file)", f"{seconds:.2f} s", cpu, at)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server(kb: Path, folder: Path, runs: int, table: Table) -> None:
    con = connect(kb)
    add_user(con, "bench", role="analyst", password="benchmark-password")
    token = issue_token(con, "bench")
    con.close()
    port = _free_port()
    env = dict(os.environ, TERRITORIA_SECRET_KEY=SECRET, TERRITORIA_CACHE_DIR=str(folder / "cache"))
    # no map geometries precomputed in the background: they would compete with the plans
    env["TERRITORIA_WARM_CACHE"] = "false"
    log = (folder / "server.log").open("w")
    serve = ["serve", "--db", str(kb), "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(
        [sys.executable, "-m", "territoria", *serve],
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise SystemExit((folder / "server.log").read_text())
            time.sleep(0.5)
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:

            def one(i: int) -> None:
                started = client.post("/api/v1/influence/plans", json={**PLAN, "seed": 1 + i})
                started.raise_for_status()
                job_id = started.json()["id"]
                for _ in range(6000):  # 2 minutes at most
                    job = client.get(f"/api/v1/influence/plans/{job_id}").json()
                    if job["status"] in ("done", "failed"):
                        if job["status"] == "failed":
                            raise SystemExit(f"plan failed: {job['error']}")
                        return
                    time.sleep(0.02)
                raise SystemExit("plan not finished after 2 minutes")

            seconds, at, cpu = median_time(one, 1, pid=process.pid)
            table.add_row("warm server: first plan (loads the graph)", f"{seconds:.2f} s", cpu, at)
            seconds, at, cpu = median_time(lambda i: one(10 + i), runs, pid=process.pid)
            table.add_row("warm server: next plans (graph in memory)", f"{seconds:.2f} s", cpu, at)
        command = [*CLI, "--db", str(kb), "--seed", "2"]
        seconds, at, cpu = median_time(
            lambda _i: _run(command, env),
            runs,
            pid=process.pid,
        )
        table.add_row("CLI forwarded to the warm server", f"{seconds:.2f} s", cpu, at)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "db",
        nargs="?",
        default=os.environ.get("TERRITORIA_FULL_DB", "/tmp/kb/france.duckdb"),
        type=Path,
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    table = Table(title="Regional plan (economic-development, Bretagne, k = 10), 2 cores")
    table.add_column("measure")
    table.add_column("median wall", justify="right")
    table.add_column("median CPU", justify="right")
    table.add_column("load", justify="right")
    folder = Path(tempfile.mkdtemp(prefix="territoria-bench-plan-"))
    try:
        kb = folder / "kb.duckdb"
        shutil.copyfile(args.db, kb)
        in_process(kb, folder, args.runs, table)
        cold_cli(kb, folder, args.runs, table)
        server(kb, folder, args.runs, table)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    Console().print(table)


if __name__ == "__main__":
    main()
