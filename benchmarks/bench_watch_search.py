"""Benchmark of the watch's French full-text search over 100,000 items.

A copy of a knowledge base (territories and their membership are needed by the territory
filter) gets ``--items`` generated watch items (default 100,000), written in one go with SQL
and indexed as ingest does, by :func:`territoria.watch.topics.classify` in batches of 5,000
(indexing throughput reported, the rewrites in stem order included).
Each item is built from French sentence templates (:func:`sentence`): a subject (an official,
a council, a firm), a verb, an object (a railway line, a school, a water network, a call for
projects …) and a commune of the knowledge base, three to six sentences per item, with a
publication date spread over 180 days; each item is linked (``watch_link``) to its communes.
The generator is seeded: two runs write the same items.

Measured, each query repeated ``--repeat`` times after one warm-up call (wall p50, p95, max,
and CPU time of all threads, steadier on a loaded machine):

- :func:`territoria.watch.search.search`: BM25-ranked, stems, accents ignored, first page of
  20 with the total, snippets; single words, two words, phrases, ``OR``, ``NOT``, a
  département filter, a ``since`` filter;
- baseline: ``ILIKE '%word%'`` over title and text, newest first, with the total (no stems, no
  ranking: the least a search must do);
- reference: DuckDB's fts extension (``match_bm25``, French stemmer, accents stripped) on the
  same items, with the time its index takes to build (it is rebuilt, not updated, when items
  arrive; why the watch keeps its own index: see :mod:`territoria.watch.search`);
- what ingest adds per batch: :func:`territoria.watch.topics.classify` of 100 new items
  (indexing and filing) against 50 saved topics; and :func:`territoria.watch.signals.signals`
  over the 100,000 items.

Run: ``python benchmarks/bench_watch_search.py [PATH] [--items N] [--repeat N]`` (default PATH
``/tmp/kb/france.duckdb``; it is copied, never written). Medians depend on the machine's load:
compare the rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from territoria.kb import connect, transaction
from territoria.kb._extensions import load_extensions
from territoria.watch.search import search
from territoria.watch.signals import signals
from territoria.watch.topics import add_topic, classify

SUBJECTS = [
    "Le maire de {c}",
    "Le conseil municipal de {c}",
    "La présidente de la communauté de communes",
    "Le conseil départemental",
    "La région Bretagne",
    "Une entreprise de {c}",
    "L'association des usagers de {c}",
    "Le préfet",
    "Les élus de {c}",
    "La chambre de commerce",
]
VERBS = [
    "annonce",
    "conteste",
    "finance",
    "présente",
    "défend",
    "inaugure",
    "reporte",
    "soutient",
    "critique",
    "lance",
]
OBJECTS = [
    "la ligne ferroviaire Rennes Saint-Malo",
    "les trains régionaux TER",
    "un nouveau réseau de bus scolaires",
    "la rénovation du collège de {c}",
    "le réseau d'eau potable",
    "un appel à projets pour l'économie circulaire",
    "la zone d'activités économiques de {c}",
    "le plan de mobilité du territoire",
    "la fibre optique dans les communes rurales",
    "l'extension de la station d'épuration",
    "un programme de logements sociaux à {c}",
    "la fermeture de la maternité",
    "les aides aux agriculteurs touchés par la sécheresse",
    "le festival de musique de {c}",
    "la piste cyclable entre {c} et la gare",
]
ENDINGS = [
    "",
    " pour 2027",
    " malgré l'opposition",
    " avec l'État",
    " après la concertation publique",
    " devant la presse locale",
    " à la demande des habitants",
]


def sentence(rng: random.Random, communes: list[str]) -> str:
    """One French sentence: subject, verb, object, ending, communes drawn from the KB."""
    text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    text += rng.choice(ENDINGS) + "."
    return text.replace("{c}", rng.choice(communes))


def _communes(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return [
        (str(c), str(n))
        for c, n in con.execute(
            "SELECT code, name FROM territory WHERE level = 'commune' AND code LIKE '35%' "
            "UNION ALL SELECT * FROM (SELECT code, name FROM territory WHERE level = 'commune' "
            "ORDER BY hash(code) LIMIT 2000)"
        ).fetchall()
    ]


def _write(
    con: duckdb.DuckDBPyConnection,
    rng: random.Random,
    communes: list[tuple[str, str]],
    first: int,
    count: int,
) -> range:
    """Write items ``first`` … ``first + count - 1`` and their links (one transaction)."""
    names = [n for _, n in communes]
    start_day = datetime(2026, 6, 1)
    titles, texts, published, link_items, link_codes, link_names = [], [], [], [], [], []
    for i in range(first, first + count):
        picked = rng.sample(communes, 2)
        local = [picked[0][1], picked[1][1]]
        body = " ".join(sentence(rng, local) for _ in range(rng.randint(3, 6)))
        titles.append(sentence(rng, local).rstrip("."))
        texts.append(body + " " + sentence(rng, names))
        published.append(start_day + timedelta(minutes=rng.randrange(180 * 24 * 60)))
        for code, name in picked:
            link_items.append(i)
            link_codes.append(code)
            link_names.append(name)
    with transaction(con):
        if con.execute("SELECT count(*) FROM watch_source").fetchone() == (0,):
            con.execute(
                "INSERT INTO watch_source (kind, url, name, created_by, created_at) "
                "VALUES ('feed', 'https://exemple.fr/rss', 'Banc d''essai', 'bench', now())"
            )
        con.execute(
            "INSERT INTO watch_item (id, source_id, kind, url, canonical_url, title, text, "
            "published, fetched_at, content_hash) SELECT i, 1, 'article', "
            "'https://exemple.fr/' || i, 'https://exemple.fr/' || i, t, x, p, p, i::VARCHAR "
            "FROM (SELECT unnest(range(?, ?)) AS i, unnest(?::VARCHAR[]) AS t, "
            "unnest(?::VARCHAR[]) AS x, unnest(?::TIMESTAMP[]) AS p)",
            [first, first + count, titles, texts, published],
        )
        con.execute(
            "INSERT INTO watch_link (item_id, type, level, code, name, score, mention) "
            "SELECT unnest(?::BIGINT[]), 'territory', 'commune', unnest(?::VARCHAR[]), "
            "unnest(?::VARCHAR[]), 0.9, unnest(?::VARCHAR[])",
            [link_items, link_codes, link_names, link_names],
        )
    return range(first, first + count)


def _fill(con: duckdb.DuckDBPyConnection, count: int, seed: int = 11) -> float:
    """Write ``count`` items and their links; index them as ingest does, in batches of
    5,000; return the indexing time."""
    rng = random.Random(seed)
    communes = _communes(con)
    batches = [_write(con, rng, communes, k, min(5000, count + 1 - k))
               for k in range(1, count + 1, 5000)]  # fmt: skip
    started = time.perf_counter()
    for batch in batches:
        with transaction(con):
            classify(con, batch)
    return time.perf_counter() - started


Timing = tuple[float, float]  # wall and CPU (all threads) seconds


def _classify_batches(con: duckdb.DuckDBPyConnection, first: int, repeat: int) -> list[Timing]:
    """Time classify (indexing and filing) of batches of 100 new items against 50 topics."""
    rng = random.Random(12)
    communes = _communes(con)
    queries = [q for _, q, o in QUERIES if not o] + BASELINE
    for k in range(50):
        place = ("departement", "35") if k % 5 == 0 else None
        add_topic(con, f"Thème {k}", queries[k % len(queries)], territory=place)
    out = []
    for r in range(repeat):
        batch = _write(con, rng, communes, first + 100 * r, 100)
        with transaction(con):
            wall, cpu = time.perf_counter(), time.process_time()
            classify(con, batch)
            out.append((time.perf_counter() - wall, time.process_time() - cpu))
    return out


def _times(call: Callable[[], Any], repeat: int) -> list[Timing]:
    call()  # warm-up
    out = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        out.append((time.perf_counter() - wall, time.process_time() - cpu))
    return out


QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    ("un mot", "trains", {}),
    ("un mot", "maternité", {}),
    ("un mot", "sécheresse", {}),
    ("un mot", "fibre", {}),
    ("deux mots", "ferroviaire concertation", {}),
    ("deux mots", "logements sociaux", {}),
    ("expression", '"ligne ferroviaire Rennes Saint-Malo"', {}),
    ("expression", '"eau potable"', {}),
    ("OU", "TER OR bus OR cyclable", {}),
    ("SAUF", '"ligne ferroviaire" NOT opposition', {}),
    ("issue 11", '"ligne Rennes Saint-Malo" AND (TER OR train) NOT bus', {}),
    ("département", "collège", {"territory": ("departement", "35")}),
    ("depuis", "festival", {"since": datetime(2026, 11, 1)}),
]
BASELINE = ["train", "maternit", "sécheresse", "fibre", "ferroviaire", "logements", "eau potable"]


def _baseline(con: duckdb.DuckDBPyConnection, word: str) -> None:
    con.execute(
        "SELECT id, title, count(*) OVER () FROM watch_item "
        "WHERE (title || ' ' || text) ILIKE ? ORDER BY published DESC LIMIT 20",
        [f"%{word}%"],
    ).fetchall()


def _fts(con: duckdb.DuckDBPyConnection, words: str) -> None:
    con.execute(
        "SELECT id, score, count(*) OVER () FROM (SELECT id, "
        "fts_main_watch_item.match_bm25(id, ?) AS score FROM watch_item) "
        "WHERE score IS NOT NULL ORDER BY score DESC LIMIT 20",
        [words],
    ).fetchall()


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _row(name: str, times: list[Timing]) -> str:
    wall = [w * 1000 for w, _ in times]
    cpu = [c * 1000 for _, c in times]
    return (
        f"{name:<34} {statistics.median(wall):>8.1f} {_p95(wall):>8.1f} {max(wall):>8.1f} "
        f"{statistics.median(cpu):>8.1f} {_p95(cpu):>8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="/tmp/kb/france.duckdb")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--no-fts", action="store_true", help="Skip the fts reference.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_watch_search_") as tmp:
        path = Path(tmp) / "kb.duckdb"
        shutil.copyfile(args.path, path)
        con = connect(path)
        started = time.perf_counter()
        indexing = _fill(con, args.items)
        print(
            f"{args.items:,} items written and indexed in {time.perf_counter() - started:.1f} s "
            f"(indexing {indexing:.1f} s: {args.items / indexing:,.0f} items/s); "
            f"load {os.getloadavg()[0]:.1f}"
        )
        terms = con.execute("SELECT count(*) FROM watch_term").fetchone()
        state = con.execute(
            "SELECT (SELECT count(*) FROM watch_doc) - compacted_docs FROM watch_index_state"
        ).fetchone()
        print(
            f"index: {terms[0] if terms else 0:,} (item, stem) rows; "
            f"{state[0] if state else 0:,} items indexed since the last rewrite in stem order"
        )
        head = f"{'wall / CPU ms':<34} {'p50':>8} {'p95':>8} {'max':>8}"
        print(f"\n{head} {'CPU p50':>8} {'CPU p95':>8}")
        every: list[Timing] = []
        for family, query, options in QUERIES:
            times = _times(lambda q=query, o=options: search(con, q, **o), args.repeat)
            every += times
            total = search(con, query, **options).total
            print(_row(f"{family}: {query[:22]}", times) + f"  ({total:,} items)")
        print(_row("search, all queries", every))
        base: list[Timing] = []
        for word in BASELINE:
            base += _times(lambda w=word: _baseline(con, w), args.repeat)
        print(_row("baseline ILIKE, all words", base))
        if not args.no_fts:
            load_extensions(con)
            started = time.perf_counter()
            con.execute(
                "PRAGMA create_fts_index('watch_item', 'id', 'title', 'text', "
                "stemmer = 'french', strip_accents = 1, overwrite = 1)"
            )
            print(f"fts reference: index built in {time.perf_counter() - started:.1f} s")
            ref: list[Timing] = []
            for word in BASELINE:
                ref += _times(lambda w=word: _fts(con, w), args.repeat)
            print(_row("fts match_bm25, all words", ref))
        print(_row("classify 100 items, 50 topics", _classify_batches(con, args.items + 1, 5)))
        print(_row("signals, all kinds", _times(lambda: signals(con), 3)))
        con.close()


if __name__ == "__main__":
    main()
