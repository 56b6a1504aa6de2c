"""Benchmark of the watch's entity linking against the knowledge base of all of France.

Measured in one process, the linker (:func:`territoria.watch.linking.linker_for`) against the
baseline of :func:`territoria.watch._linking_eval.baseline_mentions` (every exact name match,
its most populous territory; no capitalisation check, NER or context):

- precision and recall, overall and on the ambiguous mentions, on the labelled set
  (``tests/data/watch/linking/labelled.txt``, used while the rules were written) and on the
  held-out set (``heldout.txt``, written after and never used to change them);
- the linker's build time, and the process's memory (current and peak RSS) before and after
  it is built, then after linking;
- texts per second (CPU time of this process, and wall time) on articles of about 3,000
  characters: *typical* ones (three labelled briefs, about fifteen mentions, and neutral
  prose written for the purpose around them) and *dense* ones (labelled briefs only, about
  seventy mentions), the linker against the baseline.

On a shared machine the wall time follows the load (shown); compare CPU times, and the rows of
one run, not runs.

Run: ``python benchmarks/bench_watch_linking.py [PATH] [--articles N]`` (default PATH
``$TERRITORIA_FULL_DB`` or ``/tmp/kb/france.duckdb``; opened read-only).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from territoria.watch._gazetteer import build_gazetteer
from territoria.watch._linking_eval import (
    Evaluation,
    baseline_mentions,
    evaluate,
    linker_predictions,
    load_labelled,
)
from territoria.watch.linking import Linker

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "watch" / "linking"

#: Neutral prose (no place, body or person) that fills the typical articles around the briefs.
FILLER = (
    "Les élus ont longuement débattu du calendrier des travaux, de leur financement et de "
    "leurs conséquences pour les habitants. ",
    "Selon les services techniques, le chantier devrait durer plusieurs mois et mobiliser "
    "une vingtaine d'entreprises locales. ",
    "Les associations de riverains demandent davantage de concertation et une information "
    "régulière sur l'avancement du projet. ",
    "Le budget prévu a été revu à la hausse après l'appel d'offres, sans remettre en cause "
    "l'équilibre des comptes de la collectivité. ",
    "Une réunion publique est prévue le mois prochain ; les documents seront consultables "
    "en ligne et à l'accueil des services. ",
)


def _rss_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process, in MB."""
    with open("/proc/self/statm") as statm:
        current = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return current, peak


def _articles(count: int, *, typical: bool) -> list[tuple[str, str]]:
    """Articles of about 3,000 characters made of the labelled briefs (and filler prose)."""
    briefs = [t.text for t in load_labelled(DATA / "labelled.txt")]
    out = []
    for i in range(count):
        parts: list[str] = []
        k = 0
        while sum(map(len, parts)) < 3000:
            if typical and k % 4 != 0:
                parts.append(FILLER[(i + k) % len(FILLER)] * 2)
            else:
                parts.append(briefs[(3 * i + k) % len(briefs)] + " ")
            k += 1
        out.append((f"Article {i}", "".join(parts)[:3000]))
    return out


def _throughput(
    predict: Callable[[str, str], Sequence[Any]], articles: list[tuple[str, str]]
) -> tuple[float, float, float]:
    """Texts per second (CPU, wall) and mentions per text."""
    predict(*articles[0])  # warm-up (NER loaded, caches)
    cpu, wall = time.process_time(), time.perf_counter()
    found = sum(len(predict(title, text)) for title, text in articles)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return len(articles) / cpu, len(articles) / wall, found / len(articles)


def _row(name: str, ev: Evaluation) -> str:
    return (
        f"{name:<22} {ev.precision:>6.3f} {ev.recall:>6.3f} {ev.ambiguous_precision:>8.3f} "
        f"{ev.ambiguous_recall:>8.3f}   {ev.gold:>4} {ev.ambiguous_gold:>4} {ev.nil:>4}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("TERRITORIA_FULL_DB", "/tmp/kb/france.duckdb")
    parser.add_argument("path", nargs="?", default=default)
    parser.add_argument("--articles", type=int, default=100)
    args = parser.parse_args()

    con = duckdb.connect(args.path, read_only=True)
    before = _rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    gazetteer = build_gazetteer(con)
    build, cpu = time.perf_counter() - start, time.process_time() - cpu
    linker = Linker(gazetteer)
    built = _rss_mb()
    print(f"knowledge base {args.path}: {gazetteer.size:,} entities")
    print(f"linker built in {build:.1f} s ({cpu:.1f} s CPU, DuckDB's threads included)")
    print(f"RSS {before[0]:.0f} MB before, {built[0]:.0f} MB after (spaCy's word list included)")
    print()
    print(f"{'set / linker':<22} {'P':>6} {'R':>6} {'P ambig':>8} {'R ambig':>8}   gold ambig  NIL")
    for name in ("labelled", "heldout"):
        texts = load_labelled(DATA / f"{name}.txt")
        print(_row(f"{name} / linker", evaluate(gazetteer, texts, linker_predictions(linker))))
        print(_row(f"{name} / baseline", evaluate(gazetteer, texts, baseline_mentions(gazetteer))))
    print()
    print(
        f"{'articles (3,000 chars)':<26} {'texts/s CPU':>11} {'texts/s wall':>12} {'mentions':>9}"
    )
    for kind in ("typical", "dense"):
        articles = _articles(args.articles, typical=kind == "typical")
        for name, predict in (
            ("linker", linker.mentions),
            ("baseline", baseline_mentions(gazetteer)),
        ):
            cpu, wall, per = _throughput(predict, articles)
            print(f"{kind + ' / ' + name:<26} {cpu:>11.0f} {wall:>12.0f} {per:>9.1f}")
    after = _rss_mb()
    print()
    print(f"RSS after linking {after[0]:.0f} MB, peak {after[1]:.0f} MB")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
