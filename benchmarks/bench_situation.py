"""Benchmark of the situation report: its data (map, timeline, checklist) and its rendering.

Two incident zones over the France knowledge base: Ille-et-Vilaine (its bounding box, about
330 communes) and Bretagne (about 1,200 communes). The impact is computed by
:func:`territoria.crisis.impact.impact` when that module and a stored incident are there;
otherwise it is assembled here once, outside the timings, from the knowledge base's rows (the
communes whose geometry meets the zone, with their population, mayor and town-hall contact;
marked ``assembled`` in the table), so that what this benchmark times is the report's own part:

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from territoria.influence import dossiers as d
from territoria.kb import connect
from territoria.reports.dossier import dossier_pdf
from territoria.reports.situation import situation_from_impact, situation_html, situation_pdf

ZONES = {
    "Ille-et-Vilaine": ("departement", "35"),
    "Bretagne": ("region", "53"),
}


@dataclass(frozen=True)
class _Incident:
    id: int
    title: str
    type: str
    severity: int
    status: str
    exercise: bool
    start: dt.datetime
    end: None
    geometry: str


@dataclass(frozen=True)
class _Impact:
    incident: _Incident
    territories: list[dict[str, Any]]
    population_affected: int
    population_method: str
    establishments: int
    jobs_estimated: float
    officials: list[dict[str, Any]]
    isolated_communes: list[tuple[str, str, int]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)


_COMMUNES = """
WITH z AS (SELECT ST_Envelope(geom) AS g FROM territory WHERE level = ? AND code = ?)
SELECT t.code, t.name, t.population FROM territory t, z
WHERE t.level = 'commune' AND t.xmax >= ST_XMin(z.g) AND t.xmin <= ST_XMax(z.g)
  AND t.ymax >= ST_YMin(z.g) AND t.ymin <= ST_YMax(z.g) AND ST_Intersects(t.geom, z.g)
ORDER BY t.code
"""
_MAYORS = """
SELECT p.id, p.first_name || ' ' || p.last_name, m.code, c.address, c.phone, c.email
FROM mandate m JOIN person p ON p.id = m.person_id
LEFT JOIN contact c ON c.level = 'commune' AND c.code = m.code AND c.kind = 'mairie'
WHERE m.function_code = 'MAI' AND m.end_date IS NULL AND list_contains(?, m.code)
QUALIFY row_number() OVER (PARTITION BY m.code ORDER BY c.email NULLS LAST) = 1
"""


def assembled_impact(con: duckdb.DuckDBPyConnection, level: str, code: str) -> _Impact:
    """An impact over the bounding box of a territory, from the knowledge base's rows."""
    (zone,) = con.execute(
        "SELECT ST_AsGeoJSON(ST_Envelope(geom)) FROM territory WHERE level = ? AND code = ?",
        [level, code],
    ).fetchone() or ("",)
    communes = con.execute(_COMMUNES, [level, code]).fetchall()
    names = {c: n for c, n, _ in communes}
    mayors = con.execute(_MAYORS, [[c for c, _, _ in communes]]).fetchall()
    officials = [
        {"person_id": pid, "name": name, "function": "Maire", "territory": names[c],
         "contact": {"address": a, "phone": ph, "email": e}}
        for pid, name, c, a, ph, e in mayors
    ]  # fmt: skip
    territories = [
        {"level": "commune", "code": c, "name": n, "population_affected": p or 0, "share": 1.0}
        for c, n, p in communes
    ]
    population = sum(t["population_affected"] for t in territories)
    incident = _Incident(1, f"Crue — {code}", "flood", 4, "Exercise", True,
                         dt.datetime(2026, 12, 1, 6), None, zone)  # fmt: skip
    isolated = [(c, n, p or 0) for c, n, p in communes[::40]]
    return _Impact(incident, territories, population, "communes × part de surface", 0, 0.0,
                   officials, isolated)  # fmt: skip


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
            impact = assembled_impact(con, level, code)
            n = len(impact.territories)
            w, c, sit = _median(lambda i=impact: situation_from_impact(con, i), args.repeat)
            rows.append((f"{label}: situation data ({n} communes, assembled)", w, c, ""))
            w, c, html = _median(lambda s=sit: situation_html(s), args.repeat)
            rows.append((f"{label}: HTML", w, c, f"{len(html) / 1e6:.1f} MB"))
            w, c, pdf = _median(lambda s=sit: situation_pdf(s), args.repeat)
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
