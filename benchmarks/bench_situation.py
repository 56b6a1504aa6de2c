"""Benchmark of the situation report: its data (map, timeline, checklist) and its rendering.

Two incident zones over the France knowledge base: the bounding box of Ille-et-Vilaine (about
570 communes) and of Bretagne (about 1,500). The impact is computed by
:func:`territoria.crisis.impact.impact` on a flood stored over the zone (timed too: impact and
report data together are to stay under one second). Then the report's own part:

- ``situation data``: :func:`territoria.reports.situation.situation_from_impact` — the static
  SVG map (simplified commune outlines, zone, isolated communes), the timeline from the audit
  log and the delivery log, the checklist, the rows normalised;
- ``HTML``: :func:`~territoria.reports.situation.situation_html`;
- ``PDF``: :func:`~territoria.reports.situation.situation_pdf` (WeasyPrint);
- baseline, in the same process: the dossier report's PDF
  (:func:`territoria.reports.dossier.dossier_pdf`) of a dossier with 40 stakeholders and
  30 events, the report the product already prints.

Run: ``python benchmarks/bench_situation.py [PATH] [--repeat N]`` (default PATH
``/tmp/kb/france.duckdb``; it is copied, never written). Medians of ``--repeat`` runs after a
warm-up, wall clock and CPU; compare the rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from territoria.crisis.incidents import IncidentInput, add_incident
from territoria.influence import dossiers as d
from territoria.kb import connect
from territoria.reports.dossier import dossier_pdf
from territoria.reports.situation import situation_from_impact, situation_html, situation_pdf

ZONES = {
    "Ille-et-Vilaine": ("departement", "35"),
    "Bretagne": ("region", "53"),
}


def _impact(con: duckdb.DuckDBPyConnection, incident_id: int) -> Any:
    from territoria.crisis.impact import impact

    return impact(con, incident_id)


def _flood(con: duckdb.DuckDBPyConnection, level: str, code: str) -> int:
    """Store a flood over the territory's bounding box; return its id."""
    (zone,) = con.execute(
        "SELECT ST_AsGeoJSON(ST_Envelope(geom)) FROM territory WHERE level = ? AND code = ?",
        [level, code],
    ).fetchone() or ("",)
    req = IncidentInput(type="flood", severity=4, geometry=zone, exercise=True,
                        start="2026-12-01T06:00:00", title=f"Crue — {code}")  # fmt: skip
    return add_incident(con, req).id


def _median(call: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    result = call()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def _dossier(con: duckdb.DuckDBPyConnection) -> d.Dossier:
    dossier_id = d.create_dossier(con, title="Boulevard de la Liberté", theme="roads",
                                  code="35238", objective="Un plateau piéton")  # fmt: skip
    persons = [r[0] for r in con.execute(
        "SELECT DISTINCT person_id FROM mandate WHERE end_date IS NULL ORDER BY 1 LIMIT 40"
    ).fetchall()]  # fmt: skip
    for i, person in enumerate(persons):
        d.add_stance(con, dossier_id, actor=person, position="soutien", salience=0.5,
                     source="presse", when=dt.date(2026, 1, 1 + i % 28))  # fmt: skip
    for i in range(30):
        d.add_event(con, dossier_id, when=dt.date(2026, 1, 5) + dt.timedelta(days=3 * i),
                    label=f"Commission n° {i + 1}", kind="deliberation")  # fmt: skip
    return d.get_dossier(con, dossier_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="/tmp/kb/france.duckdb")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kb.duckdb"
        shutil.copyfile(args.path, path)
        con = connect(path)
        rows = []
        for label, (level, code) in ZONES.items():
            incident_id = _flood(con, level, code)
            w, c, impact = _median(partial(_impact, con, incident_id), args.repeat)
            rows.append((f"{label}: impact (crisis.impact)", w, c, ""))
            n = sum(1 for t in impact.territories if t.level == "commune")
            w, c, sit = _median(partial(situation_from_impact, con, impact), args.repeat)
            rows.append((f"{label}: situation data ({n} communes)", w, c, ""))
            w, c, html = _median(partial(situation_html, sit), args.repeat)
            rows.append((f"{label}: HTML", w, c, f"{len(html) / 1e6:.1f} MB"))
            w, c, pdf = _median(partial(situation_pdf, sit), args.repeat)
            rows.append((f"{label}: PDF", w, c, f"{len(pdf) / 1e6:.2f} MB"))
        dossier = _dossier(con)
        w, c, pdf = _median(lambda: dossier_pdf(dossier), args.repeat)
        rows.append(("baseline: dossier PDF (40 stakeholders, 30 events)", w, c,
                     f"{len(pdf) / 1e6:.2f} MB"))  # fmt: skip
        con.close()
    print(f"{'measure':<62} {'wall ms':>9} {'CPU ms':>9}  size")
    for name, wall, cpu, size in rows:
        print(f"{name:<62} {wall * 1000:>9.0f} {cpu * 1000:>9.0f}  {size}")


if __name__ == "__main__":
    main()
