"""Benchmark of the watch's ingest stages: extraction + de-duplication + linking, items/s.

The corpus
----------
``--docs`` French article pages (default 600) are generated from the fixture page
``tests/data/watch/extract/ouest_rennes_metro.html``: its skeleton (header, navigation, "à lire
aussi", footer, meta tags) is kept and its ``<article>``, title, canonical address, date and
author replaced by a generated story (:func:`story`): four to seven sentences drawn from French
templates about councils, budgets, transport, schools and firms, naming communes of the
knowledge base with their département (about half of the names picked are shared by several
communes: the linker must use the département named beside them) and their mayor. The
generator is seeded: two runs build the same corpus.

Among the documents, ``--copies`` (default 10 %) are the same story as an earlier one on
another site (another address, another title) and as many are the story with one sentence
rewritten: de-duplication must find both (recall), and must not mark an original as a copy
(false positives). Before the run, ``--stored`` items (default 20,000, fetched in the last 30
days) are written with SQL into a copy of the knowledge base, so that the near-duplicate
query scans a realistic window.

Measured
--------
- the three stages as :func:`territoria.watch.pipeline.prepare` and
  :func:`territoria.watch.dedup.decide` run them, in batches of ``--batch`` documents (a
  feed's entries), items/s over extraction + linking + de-duplication and each stage's share;
- with ``--workers 2`` the same corpus split between two processes (2 cores), each with its
  own linker, de-duplication in the parent (it reads the knowledge base);
- baseline in the same process: the naive near-duplicate scan (the Jaccard resemblance of
  each new document against every stored item of the window, in Python) on ``--baseline``
  documents against the stored items, per document, beside the SQL SimHash query's time per
  document;
- the peak RSS of the process with the France gazetteer loaded.

Run: ``python benchmarks/bench_watch_pipeline.py [PATH] [--docs N] [--workers 2]`` (default
PATH ``/tmp/p11/B/france.duckdb``; copied, never written).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import random
import re
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from territoria.kb import connect
from territoria.watch import dedup
from territoria.watch._model import Document
from territoria.watch.pipeline import IngestReport, _insert, prepare, store

FIXTURE = (
    Path(__file__).parents[1] / "tests" / "data" / "watch" / "extract" / "ouest_rennes_metro.html"
)
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

SENTENCES = [
    "Le conseil municipal de {c} a adopté lundi soir un budget de {n} millions d'euros, dont une "
    "part importante consacrée à la rénovation des écoles.",
    "{m}, maire de {c}, a rappelé que les taux de fiscalité resteront inchangés l'an prochain.",
    "La commune de {c} ({d}) accueillera en {y} une nouvelle médiathèque de {n} 000 mètres carrés.",
    "À {c}, dans le département {d}, les travaux de la déviation doivent commencer au printemps.",
    "Les habitants de {c} sont invités à une réunion publique sur le plan local d'urbanisme.",
    "Une entreprise installée à {c} va créer {n} emplois dans la logistique d'ici {y}.",
    "Le syndicat des eaux annonce des travaux sur le réseau d'eau potable entre {c} et {c2}.",
    "La ligne de car entre {c} et {c2} sera renforcée dès la rentrée, annonce la région.",
    "{m} a signé avec le préfet une convention pour la revitalisation du centre-bourg de {c}.",
    "Le collège de {c} sera agrandi pour accueillir {n}0 élèves supplémentaires en {y}.",
    "Les élus de {c} demandent le maintien du bureau de poste et de la trésorerie.",
    "Un appel à projets doté de {n} millions d'euros vise les communes rurales comme {c}.",
    "La fibre optique arrivera dans tous les foyers de {c} avant la fin de l'année {y}.",
    "L'association des commerçants de {c} se félicite de la réouverture du marché couvert.",
    "Le département {d} finance à hauteur de {n} % la rénovation du gymnase de {c}.",
    "La maison de santé de {c} ouvrira en {y} avec quatre médecins généralistes.",
    "À {c2}, voisine de {c}, la zone d'activités accueille déjà une vingtaine d'entreprises.",
    "Les agriculteurs de {c} dénoncent le coût de l'énergie et réclament des aides d'urgence.",
]
REWRITES = [
    "Le projet a suscité un long débat entre la majorité et l'opposition municipale.",
    "Une concertation sera menée avec les riverains avant le début du chantier.",
    "Plusieurs associations locales ont salué une décision attendue depuis longtemps.",
]
TITLES = [
    "{c} : le conseil municipal vote son budget",
    "{c} : de nouveaux équipements pour {y}",
    "Transports : {c} et {c2} mieux reliées",
    "{c} : la commune mise sur l'emploi local",
    "Aménagement : ce qui va changer à {c}",
]


def _communes(con: Any) -> list[tuple[str, str, str | None]]:
    """Communes (name, département's name, mayor's name), with a mayor where known."""
    rows = con.execute(
        """
        SELECT t.name, d.name, any_value(p.first_name || ' ' || p.last_name)
        FROM territory t
        JOIN membership m ON m.level = 'commune' AND m.code = t.code
            AND m.parent_level = 'departement'
        JOIN territory d ON d.level = 'departement' AND d.code = m.parent_code
        LEFT JOIN mandate md ON md.organisation_id = 'cm-' || t.code AND md.function_code = 'MAI'
            AND md.end_date IS NULL
        LEFT JOIN person p ON p.id = md.person_id
        WHERE t.level = 'commune'
        GROUP BY t.code, t.name, d.name ORDER BY t.code
        """
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def story(rng: random.Random, communes: list[tuple[str, str, str | None]]) -> tuple[str, list[str]]:
    """A title and four to seven sentences about one commune (and a neighbour)."""
    name, dep, mayor = rng.choice(communes)
    other = rng.choice(communes)[0]
    values = {"c": name, "c2": other, "d": dep, "m": (mayor or "Le maire").title(),
              "n": rng.randint(2, 90), "y": rng.randint(2026, 2031)}  # fmt: skip
    sentences = [s.format(**values) for s in rng.sample(SENTENCES, rng.randint(4, 7))]
    return rng.choice(TITLES).format(**values), sentences


def page(skeleton: str, title: str, sentences: list[str], url: str, day: int) -> bytes:
    """The fixture page with its title, address, date and article replaced."""
    paragraphs = "".join(f"<p>{s}</p>\n" for s in sentences)
    html = re.sub(r"<article>.*</article>", lambda _: f"<article><h1>{title}</h1>\n{paragraphs}"
                  "</article>", skeleton, flags=re.S)  # fmt: skip
    html = re.sub(r"<title>.*?</title>", lambda _: f"<title>{title} | L'Écho</title>", html)
    html = re.sub(r'rel="canonical" href="[^"]*"', lambda _: f'rel="canonical" href="{url}"', html)
    html = re.sub(r'article:published_time" content="[^"]*"',
                  lambda _: f'article:published_time" content="2026-11-{day:02d}T08:00:00+01:00"',
                  html)  # fmt: skip
    return html.encode()


def corpus(
    con: Any, n: int, copies: float, seed: int = 11
) -> tuple[list[Document], dict[int, int]]:
    """``n`` documents and, for each planted copy, the index of the document it repeats."""
    rng = random.Random(seed)
    communes = _communes(con)
    skeleton = FIXTURE.read_text(encoding="utf-8")
    docs: list[Document] = []
    stories: list[tuple[str, list[str]]] = []
    planted: dict[int, int] = {}
    for i in range(n):
        roll = rng.random()
        if stories and roll < copies:  # the same story on another site
            j = rng.randrange(len(stories))
            title, sentences = stories[j][0] + " (dépêche)", stories[j][1]
            planted[i] = j
        elif stories and roll < 2 * copies:  # one sentence rewritten
            j = rng.randrange(len(stories))
            sentences = list(stories[j][1])
            sentences[rng.randrange(len(sentences))] = rng.choice(REWRITES)
            title = stories[j][0]
            planted[i] = j
        else:
            title, sentences = story(rng, communes)
        stories.append((title, sentences))
        url = f"https://www.site{i % 7}.example/actualites/{i}"
        docs.append(Document(source_id=1 + i % 7, kind="article", url=url, fetched_at=NOW,
                             body=page(skeleton, title, sentences, url, 1 + i % 28),
                             content_type="text/html; charset=utf-8"))  # fmt: skip
    return docs, planted


def _store_background(con: Any, count: int, seed: int = 5) -> None:
    """``count`` stored items of the last 30 days (text, hashes, MinHash signature and bands),
    written with SQL (no linking: only de-duplication reads them)."""
    rng = random.Random(seed)
    communes = _communes(con)
    rows, signatures, bands = [], [], []
    first = con.execute("SELECT nextval('watch_item_id_seq') FROM range(?)", [count]).fetchall()
    for (item_id,), i in zip(first, range(count), strict=True):
        title, sentences = story(rng, communes)
        text = " ".join(sentences)
        c = dedup.candidate(source_id=100, kind="article", canonical_url=f"https://old.example/{i}",
                            text=text, fetched_at=NOW.replace(tzinfo=None))  # fmt: skip
        when = NOW.replace(tzinfo=None) - timedelta(minutes=rng.randint(60, 30 * 24 * 60))
        rows.append((item_id, 100, "article", c.canonical_url, c.canonical_url, title, text, when,
                     c.content_hash, c.simhash))  # fmt: skip
        signatures.append((item_id, list(c.signature)))
        bands += [(item_id, b, h) for b, h in enumerate(c.bands)]
    _insert(con, "watch_item", ("id", "source_id", "kind", "url", "canonical_url", "title",
                                "text", "fetched_at", "content_hash", "simhash"), rows,
            ("BIGINT", "BIGINT", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR",
             "TIMESTAMP", "VARCHAR", "UBIGINT"))  # fmt: skip
    _insert(con, "watch_minhash", ("item_id", "signature"), signatures, ("BIGINT", "UBIGINT[]"))
    _insert(con, "watch_band", ("item_id", "band", "hash"), bands, ("BIGINT", "TINYINT", "UBIGINT"))


def _prepare_chunk(
    path: str, docs: list[Document], batch: int
) -> tuple[list[Any], IngestReport, float]:
    """Extraction and linking of documents in one process (read-only knowledge base), after
    the linker is built and spaCy loaded (once per serving process: timed apart)."""
    from territoria.watch.linking import linker_for

    con = connect(path, read_only=True)
    started = time.perf_counter()
    linker_for(con).link("Rennes", "Le conseil municipal de Rennes a voté.")
    load = time.perf_counter() - started
    report = IngestReport()
    out = []
    for start in range(0, len(docs), batch):
        out += prepare(con, docs[start : start + batch], report)
    con.close()
    return out, report, load


def _naive(con: Any, docs: list[Any]) -> tuple[float, float]:
    """Wall and CPU seconds per document of the pairwise near-duplicate scan (the Jaccard
    resemblance against every stored item of the window, in Python; shingles made once)."""
    stored = con.execute("SELECT id, text FROM watch_item WHERE fetched_at >= ?",
                         [NOW.replace(tzinfo=None) - timedelta(days=30)]).fetchall()  # fmt: skip
    grams = [(i, dedup.shingles(dedup.words(t))) for i, t in stored]
    started, cpu = time.perf_counter(), time.process_time()
    for p in docs:
        for _, g in grams:
            dedup.resemblance(p.candidate.shingles, g)
    n = max(1, len(docs))
    return (time.perf_counter() - started) / n, (time.process_time() - cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", default="/tmp/p11/B/france.duckdb")
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--copies", type=float, default=0.1)
    parser.add_argument("--stored", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--baseline", type=int, default=20)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench_watch_"))
    path = folder / "kb.duckdb"
    shutil.copyfile(args.path, path)
    con = connect(path)
    for table in ("watch_item", "watch_link", "watch_minhash", "watch_band"):
        con.execute(f"DELETE FROM {table}")
    _store_background(con, args.stored)
    docs, planted = corpus(con, args.docs, args.copies)
    con.close()
    print(f"{len(docs)} documents ({len(planted)} planted copies), {args.stored:,} stored items")

    started = time.perf_counter()
    if args.workers > 1:
        share = (len(docs) + args.workers - 1) // args.workers
        chunks = [docs[k : k + share] for k in range(0, len(docs), share)]
        with concurrent.futures.ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(_prepare_chunk, [str(path)] * len(chunks), chunks,
                                    [args.batch] * len(chunks)))  # fmt: skip
    else:
        results = [_prepare_chunk(str(path), docs, args.batch)]
    load = max(r[2] for r in results)
    parallel = time.perf_counter() - started - load
    prepared = [p for r in results for p in r[0]]
    # storage in the parent, batch after batch, as ingest does: what each batch stores is
    # what the next one is compared with
    con = connect(path)
    report = IngestReport()
    for start in range(0, len(prepared), args.batch):
        store(con, prepared[start : start + args.batch], report)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    of = dict(
        con.execute("SELECT url, duplicate_of FROM watch_item WHERE source_id < 100").fetchall()
    )
    # planted copies found; originals taken for copies
    found = sum(1 for i in planted if of.get(prepared[i].item.url) is not None)
    false = sum(
        1 for i, p in enumerate(prepared) if i not in planted and of.get(p.item.url) is not None
    )

    stages = ("extraction", "linking", "dedup")
    wall = {k: sum(r[1].timings[k] for r in results) + report.timings[k] for k in stages}
    cpu = {k: sum(r[1].cpu[k] for r in results) + report.cpu[k] for k in stages}
    elapsed = parallel + report.timings["dedup"]  # the parallel part, then the parent's
    total_cpu = sum(cpu.values())
    print(f"\nworkers {args.workers}, batch {args.batch}; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores (wall times inflate with it; CPU times do not)")  # fmt: skip
    print(f"{'stage':<12}{'wall s':>9}{'CPU s':>9}{'CPU share':>11}{'CPU ms/doc':>12}")
    for k in stages:
        print(f"{k:<12}{wall[k]:>9.2f}{cpu[k]:>9.2f}{cpu[k] / total_cpu:>11.0%}"
              f"{1000 * cpu[k] / len(docs):>12.2f}")  # fmt: skip
    per_doc = 1000 * total_cpu / len(docs)
    print(f"{'total':<12}{elapsed:>9.2f}{total_cpu:>9.2f}{'':>11}{per_doc:>12.2f}")
    print(f"(linker built and spaCy loaded first, once per process, not counted: {load:.1f} s; "
          f"storage, topics and alerts, not in the target: "
          f"{sum(report.cpu[k] for k in ('storage', 'topics', 'alerts')):.2f} CPU s)")  # fmt: skip
    print(f"\nitems/s, extraction + linking + dedup: {len(docs) / elapsed:,.0f} (wall, this "
          f"load); {len(docs) / total_cpu:,.0f} per CPU second, so "
          f"{2 * len(docs) / total_cpu:,.0f} on 2 free cores (extrapolated)")  # fmt: skip
    print(f"de-duplication: {found}/{len(planted)} planted copies found, "
          f"{false} of {len(docs) - len(planted)} originals taken for copies")  # fmt: skip
    sample = prepared[: args.baseline]
    naive_wall, naive_cpu = _naive(con, sample)
    started, cpu_started = time.perf_counter(), time.process_time()
    for p in sample:
        dedup.decide(con, [p.candidate])  # each one finds itself (stored): a worst case
    ours_wall = (time.perf_counter() - started) / max(1, len(sample))
    ours_cpu = (time.process_time() - cpu_started) / max(1, len(sample))
    stored = args.stored + len(docs)
    print(f"\nnear duplicates of one document against {stored:,} stored items (ms):")
    print(f"{'':<50}{'wall':>8}{'CPU':>8}")
    for label, w, c in (
        ("baseline: pairwise Jaccard in Python", naive_wall, naive_cpu),
        ("MinHash bands in SQL, then the candidates", ours_wall, ours_cpu),
    ):
        print(f"{label:<50}{1000 * w:>8.1f}{1000 * c:>8.1f}")
    print(f"\npeak RSS: {rss:,.0f} MB (this process), {rss_children:,.0f} MB (largest worker)")
    con.close()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
