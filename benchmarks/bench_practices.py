"""Benchmark of the good-practices search over 10,000 practices, against an ILIKE baseline.

A copy of a knowledge base gets ``--practices`` generated practices (default 10,000), written
as a catalogue file and imported by :func:`territoria.marketing.practices.import_practices`
(import time reported: checks, one insert, the index). Each practice is built from French
templates (an action, an object, a public, a territory's commune) in inflected forms
(*mobilité / mobilités*, *école / écoles*, *logement vacant / logements vacants*), with themes
and a date. The generator is seeded.

Measured for each query (wall p50, p95 over ``--repeat`` runs after one warm-up, and the
number of practices found):

- :func:`territoria.marketing.practices.search_practices`: stems, accents ignored, BM25, the
  first page of 20 with the total, highlighted title and snippet;
- baseline: ``ILIKE '%word%'`` on title and description for every word, newest first, with
  the total (no accents folding, no stems: it misses *mobilites* for *mobilité*).

Run: ``python benchmarks/bench_practices.py [PATH] [--practices N] [--repeat N]`` (default
PATH ``/tmp/kb/france.duckdb``; it is copied, never written).
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from territoria.kb import connect
from territoria.marketing.practices import import_practices, search_practices

ACTIONS = ("Création", "Rénovation", "Ouverture", "Expérimentation", "Mise en réseau")
OBJECTS = (
    ("d'une navette", "mobilite", "mobilité des habitants", "mobilités douces"),
    ("des cours d'école", "education", "école élémentaire", "écoles du quartier"),
    ("de logements vacants", "habitat", "logement vacant", "logements vacants"),
    ("d'une maison de santé", "sante", "médecin généraliste", "médecins et infirmiers"),
    ("d'un tiers-lieu", "numerique", "télétravailleur", "télétravailleurs"),
    ("de commerces en centre-bourg", "commerce", "commerce de proximité", "commerces"),
    ("d'une chaufferie bois", "energie", "énergie renouvelable", "énergies locales"),
)
PUBLICS = ("les jeunes", "les familles", "les seniors", "les entreprises", "les agriculteurs")
QUERIES = (
    "mobilites",
    "mobilité",
    "écoles",
    "ecole",
    "logements vacants",
    "medecins",
    "teletravailleurs",
    "commerce proximite",
    "energies",
    "jeunes familles",
)


def _catalogue(con: duckdb.DuckDBPyConnection, path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    communes = [
        r[0]
        for r in con.execute(
            "SELECT code FROM territory WHERE level = 'commune' ORDER BY code"
        ).fetchall()
    ]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["title", "code", "level", "themes", "description", "date", "source"])
        for i in range(n):
            obj, theme, one, many = rng.choice(OBJECTS)
            title = f"{rng.choice(ACTIONS)} {obj} pour {rng.choice(PUBLICS)} (n° {i})"
            text = (
                f"Le projet vise {rng.choice((one, many))} et {rng.choice(PUBLICS)} ; "
                f"il associe {rng.choice(PUBLICS)} autour de {rng.choice((one, many))}."
            )
            writer.writerow(
                [
                    title,
                    rng.choice(communes),
                    "commune",
                    theme,
                    text,
                    f"{rng.randint(2010, 2025)}",
                    "benchmark",
                ]
            )


_BASELINE = (
    "SELECT id, count(*) OVER () FROM practice WHERE deleted_at IS NULL AND {cond} "
    "ORDER BY date DESC NULLS LAST, id DESC LIMIT 20"
)


def _baseline(con: duckdb.DuckDBPyConnection, query: str) -> int:
    words = query.split()
    cond = " AND ".join("(title ILIKE ? OR description ILIKE ?)" for _ in words)
    rows = con.execute(
        _BASELINE.format(cond=cond), [p for w in words for p in (f"%{w}%", f"%{w}%")]
    ).fetchall()
    return int(rows[0][1]) if rows else 0


def _times(run: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    result = run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def _p(times: list[float], q: float) -> float:
    return statistics.quantiles(times, n=100)[int(q) - 1] if len(times) > 1 else times[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="/tmp/kb/france.duckdb")
    parser.add_argument("--practices", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "kb.duckdb"
        shutil.copyfile(args.path, db)
        con = connect(db)
        catalogue = Path(tmp) / "practices.csv"
        _catalogue(con, catalogue, args.practices, seed=1)
        started = time.perf_counter()
        count = import_practices(con, catalogue, synthetic=True)
        print(
            f"import of {count:,} practices (checks, insert, index): "
            f"{time.perf_counter() - started:.2f} s\n"
        )
        print(
            f"{'query':<22} {'search p50':>10} {'p95':>7} {'found':>6} | "
            f"{'ILIKE p50':>9} {'p95':>7} {'found':>6}   (ms)"
        )
        every: list[float] = []
        base: list[float] = []
        for query in QUERIES:
            ours, found = _times(lambda q=query: search_practices(con, q), args.repeat)
            theirs, total = _times(lambda q=query: _baseline(con, q), args.repeat)
            every += ours
            base += theirs
            print(
                f"{query:<22} {_p(ours, 50):>10.1f} {_p(ours, 95):>7.1f} {found.total:>6} | "
                f"{_p(theirs, 50):>9.1f} {_p(theirs, 95):>7.1f} {total:>6}"
            )
        print(
            f"{'all queries':<22} {_p(every, 50):>10.1f} {_p(every, 95):>7.1f} {'':>6} | "
            f"{_p(base, 50):>9.1f} {_p(base, 95):>7.1f}"
        )
        con.close()


if __name__ == "__main__":
    main()
