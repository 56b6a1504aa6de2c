"""Benchmark of an incident's impact over a région-sized polygon (Bretagne).

The zone is the région's outline simplified to 0.01° (about 1 km), so it covers every
commune of Bretagne and touches its neighbours'. On a copy of a knowledge base with
France's territories, its officials and (when imported) SIRENE establishments, measured,
each ``--repeat`` times after one warm-up call (wall p50, max):

- :func:`territoria.crisis.impact.impact`: communes with their area share (DuckDB spatial,
  bounding-box prefilter), EPCI/département/région, establishments and jobs, services,
  officials with contacts (no network);
- baseline: a naive per-commune loop in Python with shapely (every commune of France:
  intersects, then intersection area / area; then each establishment point-in-polygon), the
  same population and establishment figures, without officials or services.

Run: ``python benchmarks/bench_impact.py [PATH] [--repeat N]`` (default PATH
``/tmp/p12/G/france.duckdb``; it is copied, never written). Timings depend on the machine's
load: compare the rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import shapely

from territoria.crisis.impact import impact
from territoria.crisis.incidents import IncidentInput, add_incident
from territoria.kb import connect


def _times(fn: Callable[[], object], repeat: int) -> tuple[list[float], object]:
    result = fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


def _baseline(con: object, zone_wkt: str) -> tuple[int, int]:
    """Population (area share) and establishments inside, one commune and point at a time."""
    zone = shapely.from_wkt(zone_wkt)
    rows = con.execute(  # type: ignore[attr-defined]
        "SELECT ST_AsWKB(geom), coalesce(population, 0) FROM territory "
        "WHERE level = 'commune' AND geom IS NOT NULL"
    ).fetchall()
    population = 0.0
    for wkb, pop in rows:
        commune = shapely.from_wkb(bytes(wkb))
        if zone.intersects(commune):
            population += pop * zone.intersection(commune).area / commune.area
    points = con.execute(  # type: ignore[attr-defined]
        "SELECT lon, lat FROM establishment WHERE active AND lon IS NOT NULL"
    ).fetchall()
    inside = sum(1 for x, y in points if zone.intersects(shapely.Point(x, y)))
    return round(population), inside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="/tmp/p12/G/france.duckdb")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "kb.duckdb"
        shutil.copyfile(args.path, copy)
        con = connect(copy)
        row = con.execute(
            "SELECT ST_AsText(ST_SimplifyPreserveTopology(geom, 0.01)) FROM territory "
            "WHERE level = 'region' AND code = '53'"
        ).fetchone()
        assert row is not None
        req = IncidentInput(type="storm", severity=4, geometry=str(row[0]), start="2026-12-02")
        inc = add_incident(con, req)
        fast, found = _times(lambda: impact(con, inc.id), args.repeat)
        slow, (population, establishments) = _times(
            lambda: _baseline(con, str(row[0])), max(1, args.repeat // 5)
        )
        con.close()
    assert hasattr(found, "population_affected")
    print(f"{'method':<44} {'p50 s':>8} {'max s':>8} {'population':>12} {'establ.':>9}")
    print(f"{'impact() (bbox prefilter, prepared GEOS)':<44} {statistics.median(fast):>8.3f} "
          f"{max(fast):>8.3f} {found.population_affected:>12,} {found.establishments:>9,}")  # type: ignore[attr-defined]  # fmt: skip
    print(f"{'baseline: shapely loop per commune/point':<44} {statistics.median(slow):>8.3f} "
          f"{max(slow):>8.3f} {population:>12,} {establishments:>9,}")  # fmt: skip
    print(f"communes touched: {sum(t.level == 'commune' for t in found.territories)}, "  # type: ignore[attr-defined]
          f"officials: {len(found.officials)}")  # type: ignore[attr-defined]  # fmt: skip


if __name__ == "__main__":
    main()
