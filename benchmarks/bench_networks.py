"""Benchmark of road networks: PBF import, criticality of ~200,000 edges, baseline networkx.

A copy of a knowledge base (France, with town halls) gets synthetic road networks of
Ille-et-Vilaine (:func:`territoria.synth.roads.synth_roads`: Delaunay links between the 332
town halls, plus a k x k street grid around each):

- **import**: ``--import-streets`` (default 56: a file of about 50 MB) written, then imported
  with :func:`territoria.sources.osm.import_osm` (wall time, peak RSS of the process);
- **criticality**: ``--streets`` (default 18: about 200,000 edges) imported, then
  :func:`territoria.networks.criticality.compute_criticality` (every link: bridges, isolated
  communes, detours, usage, exact delta of the top 20), its steps timed;
- **baseline**: networkx on the same graph, ``nx.bridges`` and, for a sample of links, the
  detour (``nx.shortest_path_length`` with the link removed) — extrapolated to every link.

Run: ``python benchmarks/bench_networks.py [PATH]`` (default ``/tmp/kb/france.duckdb``; it is
copied, never written).
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import shutil
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

from territoria.kb import connect
from territoria.networks.criticality import compute_criticality
from territoria.sources.osm import import_osm
from territoria.synth.roads import synth_roads


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Clock:
    """Wall and CPU time (all threads) of a block: CPU is steadier on a loaded machine."""

    def __enter__(self) -> _Clock:
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c

    def __str__(self) -> str:
        return f"{self.wall:.1f} s (cpu {self.cpu:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="/tmp/kb/france.duckdb")
    parser.add_argument("--streets", type=int, default=18)
    parser.add_argument("--import-streets", type=int, default=56)
    parser.add_argument("--sample", type=int, default=300)
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "kb.duckdb"
        shutil.copyfile(args.path, db)
        con = connect(db)
        big = Path(tmp) / "big.osm.pbf"
        with _Clock() as clock:
            synth_roads(con, "35", big, streets=args.import_streets)
        rows.append(("synth roads (write PBF)", str(clock), f"{big.stat().st_size / 1e6:.1f} MB"))
        with _Clock() as clock:
            rep = import_osm(con, big, name="big")
        rss = f"{rep.edges:,} edges, {rep.nodes:,} nodes, peak RSS {_rss_mb():,.0f} MB"
        rows.append(("import osm", str(clock), rss))
        pbf = Path(tmp) / "crit.osm.pbf"
        synth_roads(con, "35", pbf, streets=args.streets)
        rep = import_osm(con, pbf, name="crit")
        with _Clock() as clock:
            timings = compute_criticality(con, "crit")
        steps = ", ".join(f"{k} {v:.1f}" for k, v in timings.items() if k != "articulation_points")
        rows.append(("criticality (all links)", str(clock), f"{rep.edges:,} edges; {steps}"))
        e = con.execute("SELECT u, v, time_s FROM network_edge WHERE network_id = "
                        "(SELECT id FROM network WHERE name = 'crit')").fetchnumpy()  # fmt: skip
        g = nx.MultiGraph()
        g.add_weighted_edges_from(zip(e["u"].tolist(), e["v"].tolist(), e["time_s"].tolist(),
                                      strict=True))  # fmt: skip
        t0 = time.perf_counter()
        nb = sum(1 for _ in nx.bridges(nx.Graph(g)))
        rows.append(("baseline nx.bridges", f"{time.perf_counter() - t0:.1f} s", f"{nb} bridges"))
        rng = np.random.default_rng(1)
        pick = rng.choice(len(e["u"]), size=args.sample, replace=False)
        t0 = time.perf_counter()
        for i in pick.tolist():
            a, b, w = int(e["u"][i]), int(e["v"][i]), float(e["time_s"][i])
            g.remove_edge(a, b)
            with contextlib.suppress(nx.NetworkXNoPath):
                nx.shortest_path_length(g, a, b, weight="weight")
            g.add_edge(a, b, weight=w)
        per = (time.perf_counter() - t0) / args.sample
        whole = f"all {len(e['u']):,} links: {per * len(e['u']) / 60:.1f} min (detours only)"
        rows.append(("baseline nx detours (sample)", f"{per * 1000:.1f} ms/link", whole))
        con.close()
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")


if __name__ == "__main__":
    main()
