"""Benchmark: whole-France influence graph and a regional influence plan.

Usage: python benchmarks/bench_influence_plan.py [KB.duckdb]  (a copy is made; default
/tmp/kb/france.duckdb or $TERRITORIA_FULL_DB)

Measures, in one process: building the influence graph from the knowledge base (and its
peak memory), loading it from the cache, and the plan for a regional project (targets: the
conseil régional's executive and the région's deputies and senators: theme regional-trains on
Bretagne), k = 10, epsilon = 0.1, delta = 0.01. Baseline: the classical "highest weighted
out-degree" heuristic for the same k, both evaluated by the same 10,000-cascade Monte-Carlo.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from territoria.influence.decision import decision_map
from territoria.influence.network import load_graph
from territoria.influence.optimiser import maximise
from territoria.influence.planner import plan_project
from territoria.influence.simulate import simulate
from territoria.kb import connect


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    source = Path(
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("TERRITORIA_FULL_DB", "/tmp/kb/france.duckdb")
    )
    table = Table(title="Influence graph and regional plan (France, 2 cores)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "kb.duckdb"
        shutil.copyfile(source, db)
        con = connect(db)
        before = rss_mb()
        bundle = load_graph(con, rebuild=True)
        table.add_row("graph build from the knowledge base", f"{bundle.seconds:.1f} s")
        table.add_row("  nodes / edges", f"{bundle.graph.n_nodes:,} / {bundle.graph.n_edges:,}")
        table.add_row(
            "  peak RSS after build (process)", f"{rss_mb():,.0f} MB (+{rss_mb() - before:,.0f})"
        )
        cached = load_graph(con)
        table.add_row("graph load from the cache", f"{cached.seconds:.1f} s")
        graph = cached.graph
        targets = decision_map(con, theme="regional-trains", code="53", level="region")
        index = {pid: i for i, pid in enumerate(graph.ids)}
        tmap = {index[t.id]: t.weight for t in targets}
        kinds = np.array([k == "person" for k in cached.kinds])
        kinds[list(tmap)] = False
        maximise(graph, targets=tmap, k=2, candidates=kinds, seed=0)  # compile kernels
        start = time.perf_counter()
        plan = maximise(
            graph,
            targets=tmap,
            k=10,
            candidates=kinds,
            epsilon=0.1,
            delta=0.01,
            seed=1,
            mc_samples=10_000,
        )
        elapsed = time.perf_counter() - start
        table.add_row(
            f"regional plan k=10 ({len(tmap)} targets): optimiser", f"{plan.seconds:.2f} s"
        )
        table.add_row("  optimiser + 10,000-cascade Monte-Carlo check", f"{elapsed:.2f} s")
        table.add_row("  RR sets / certified ratio", f"{plan.rr_sets:,} / {plan.approx_ratio:.3f}")
        lo, hi = plan.mc_ci95
        table.add_row("  spread (MC, 95% CI)", f"{plan.mc_estimate:.3f} [{lo:.3f}, {hi:.3f}]")
        start = time.perf_counter()
        full = plan_project(
            con, code="53", level="region", theme="regional-trains", k=10, seed=1, bundle=cached
        )
        table.add_row(
            "  full plan (+ paths, 10 robustness re-plans, coalition)",
            f"{time.perf_counter() - start:.2f} s",
        )
        # Baseline: highest out-degree weighted by probability, same candidates.
        out_w = np.bincount(graph.sources(), weights=graph.prob, minlength=graph.n_nodes)
        out_w[~kinds] = -1
        base = np.argsort(-out_w)[:10]
        weights = np.zeros(graph.n_nodes)
        for i, w in tmap.items():
            weights[i] = w
        est = simulate(graph, base.tolist(), targets=tmap, samples=10_000, seed=2)
        table.add_row(
            "baseline: top-10 weighted out-degree, spread (MC)",
            f"{est.mean:.3f} [{est.ci95[0]:.3f}, {est.ci95[1]:.3f}]",
        )
        table.add_row(
            "plan spread / baseline spread", f"{plan.mc_estimate / max(est.mean, 1e-12):.1f}×"
        )
        table.add_row("peak RSS of the process", f"{rss_mb():,.0f} MB")
        del full
        con.close()
    Console().print(table)


if __name__ == "__main__":
    main()
