"""The ingest pipeline: fetched documents → stored, de-duplicated, linked, classified items.

:func:`ingest` runs the stages in order:

1. **extraction** (:func:`territoria.watch.extract.extract`), outside any transaction; a
   document that has no text or cannot be decoded is reported in ``errors`` with its address
   and left out, the others go on;
2. **linking** (:mod:`territoria.watch.linking`): the territories, persons, organisations and
   poles each text mentions;
3. in one :func:`territoria.kb.transaction`: **de-duplication**
   (:func:`territoria.watch.dedup.decide`), **storage** of the items and their links,
   **topics** (:func:`territoria.watch.topics.classify`, which also indexes the items for
   search) and **immediate alerts** (:func:`territoria.alerts.watch.queue_immediate`). Every
   item of one call is stored, or none: an error inside the transaction leaves no item, no
   link, no topic and no alert.

Fetching never happens inside the transaction: callers fetch first, then ingest.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from territoria.errors import ExtractionError
from territoria.watch import dedup
from territoria.watch._model import Document, Link
from territoria.watch.extract import Extracted, extract

if TYPE_CHECKING:
    import duckdb

__all__ = ["STAGES", "IngestReport", "Prepared", "ingest", "prepare", "store"]

#: The stages whose time :attr:`IngestReport.timings` records, in order.
STAGES = ("extraction", "linking", "dedup", "storage", "topics", "alerts")


@dataclass
class IngestReport:
    """What one :func:`ingest` call did.

    ``new`` counts the originals stored, ``duplicates`` the items stored as repeating an
    earlier one (``duplicate_of`` set), ``unchanged`` the documents their source had given
    already (not stored again). ``item_ids`` lists every item stored (originals and
    duplicates, in the order of the documents), ``duplicate_ids`` the duplicates among them.
    ``errors`` holds one line per document left out, starting with its address.
    """

    new: int = 0
    duplicates: int = 0
    unchanged: int = 0
    item_ids: list[int] = field(default_factory=list)
    duplicate_ids: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    links: int = 0
    topics: int = 0
    alerts: int = 0
    timings: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    #: CPU seconds of the process per stage (all threads: DuckDB's included), beside the
    #: wall-clock ``timings``: on a loaded machine the two differ
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the block's wall-clock and CPU time to stage ``name``."""
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.timings[name] += time.perf_counter() - wall
            self.cpu[name] += time.process_time() - cpu

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (timings in seconds, rounded to the millisecond)."""
        return {
            "new": self.new,
            "duplicates": self.duplicates,
            "unchanged": self.unchanged,
            "item_ids": self.item_ids,
            "duplicate_ids": self.duplicate_ids,
            "errors": self.errors,
            "links": self.links,
            "topics": self.topics,
            "alerts": self.alerts,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "cpu": {k: round(v, 3) for k, v in self.cpu.items()},
        }


@dataclass(frozen=True)
class Prepared:
    """A document extracted and linked, ready for de-duplication and storage."""

    item: Extracted
    candidate: dedup.Candidate
    links: list[Link]


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def prepare(
    con: duckdb.DuckDBPyConnection, documents: Sequence[Document], report: IngestReport
) -> list[Prepared]:
    """Extract and link the documents (no write); documents without text go to
    ``report.errors``. Stage times are added to ``report.timings`` and ``report.cpu``."""
    from territoria.watch.linking import linker_for

    extracted: list[Extracted] = []
    with report.stage("extraction"):
        for document in documents:
            try:
                extracted.append(extract(document))
            except ExtractionError as exc:
                report.errors.append(str(exc))
    with report.stage("linking"):
        linker = linker_for(con) if extracted else None
        links = [linker.link(e.title, e.text) if linker else [] for e in extracted]
    with report.stage("dedup"):
        candidates = [
            dedup.candidate(
                source_id=e.source_id,
                kind=e.kind,
                canonical_url=e.canonical_url,
                text=e.text,
                fetched_at=_naive_utc(e.fetched_at) or e.fetched_at,
            )
            for e in extracted
        ]
    return [Prepared(e, c, ls) for e, c, ls in zip(extracted, candidates, links, strict=True)]


_ITEM_COLUMNS = (
    "id", "source_id", "kind", "url", "canonical_url", "title", "text", "summary", "author",
    "language", "published", "fetched_at", "content_hash", "simhash", "duplicate_of",
    "duplicate_score", "diff",
)  # fmt: skip
_LINK_COLUMNS = (
    "item_id", "type", "level", "code", "name", "score", "mention", "start_char", "end_char",
    "mentions",
)  # fmt: skip


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str],
            rows: list[tuple[Any, ...]], types: Sequence[str]) -> None:  # fmt: skip
    """Insert rows in one statement (one list per column, unnested together)."""
    if not rows:
        return
    values = [list(col) for col in zip(*rows, strict=True)]
    select = ", ".join(f"unnest(?::{t}[])" for t in types)
    con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select}", values)


_ITEM_TYPES = (
    "BIGINT", "BIGINT", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR",
    "VARCHAR", "VARCHAR", "TIMESTAMP", "TIMESTAMP", "VARCHAR", "UBIGINT", "BIGINT", "DOUBLE",
    "VARCHAR",
)  # fmt: skip
_LINK_TYPES = (
    "BIGINT", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "DOUBLE", "VARCHAR", "INTEGER",
    "INTEGER", "INTEGER",
)  # fmt: skip


def _store(
    con: duckdb.DuckDBPyConnection,
    prepared: Sequence[Prepared],
    decisions: Sequence[dedup.Decision],
    report: IngestReport,
) -> list[int]:
    """Insert the items to keep and their links; return the ids stored."""
    keep = [i for i, d in enumerate(decisions) if d.status == "new"]
    if not keep:
        report.unchanged += len(decisions)
        return []
    first = con.execute("SELECT nextval('watch_item_id_seq') FROM range(?)", [len(keep)]).fetchall()
    ids = {i: int(row[0]) for i, row in zip(keep, first, strict=True)}
    items: list[tuple[Any, ...]] = []
    links: list[tuple[Any, ...]] = []
    signatures: list[tuple[Any, ...]] = []
    bands: list[tuple[Any, ...]] = []
    for i, decision in enumerate(decisions):
        if decision.status == "unchanged":
            report.unchanged += 1
            continue
        p, item_id = prepared[i], ids[i]
        of = ids[decision.of] if decision.in_batch and decision.of is not None else decision.of
        e, c = p.item, p.candidate
        items.append(
            (
                item_id, e.source_id, e.kind, e.url, e.canonical_url, e.title, e.text,
                e.summary, e.author, e.language, _naive_utc(e.published),
                _naive_utc(e.fetched_at), c.content_hash, c.simhash, of, decision.score,
                e.diff,
            )
        )  # fmt: skip
        links += [
            (item_id, k.type, k.level, k.code, k.name, float(k.score), k.mention, k.start,
             k.end, k.mentions)
            for k in p.links
        ]  # fmt: skip
        if c.comparable:
            signatures.append((item_id, list(c.signature)))
            bands += [(item_id, b, h) for b, h in enumerate(c.bands)]
        report.item_ids.append(item_id)
        if of is None:
            report.new += 1
        else:
            report.duplicates += 1
            report.duplicate_ids.append(item_id)
    _insert(con, "watch_item", _ITEM_COLUMNS, items, _ITEM_TYPES)
    _insert(con, "watch_link", _LINK_COLUMNS, links, _LINK_TYPES)
    _insert(con, "watch_minhash", ("item_id", "signature"), signatures, ("BIGINT", "UBIGINT[]"))
    _insert(con, "watch_band", ("item_id", "band", "hash"), bands, ("BIGINT", "TINYINT", "UBIGINT"))
    report.links += len(links)
    return [row[0] for row in items]


def ingest(
    con: duckdb.DuckDBPyConnection,
    documents: Sequence[Document],
    *,
    window_days: int = dedup.WINDOW_DAYS,
    then: Callable[[duckdb.DuckDBPyConnection, IngestReport], None] | None = None,
) -> IngestReport:
    """Extract, link, de-duplicate and store documents, then file them under the topics they
    match and queue the immediate alerts they trigger, all in one transaction.

    Parameters
    ----------
    con
        A writable connection to the knowledge base (not inside a transaction).
    documents
        What fetching produced (the entries of a feed, the files of a folder …).
    window_days
        Near duplicates are looked for among the items fetched this many days earlier.
    then
        Run inside the same transaction once the items are stored, with the report (fetching
        records the source's new state there: its items and its state are written together).

    Returns
    -------
    IngestReport
        Counts, the ids stored, the documents left out (``errors``) and the time each stage
        took.
    """
    report = IngestReport()
    prepared = prepare(con, documents, report)
    store(con, prepared, report, window_days=window_days, then=then)
    return report


def store(
    con: duckdb.DuckDBPyConnection,
    prepared: Sequence[Prepared],
    report: IngestReport,
    *,
    window_days: int = dedup.WINDOW_DAYS,
    then: Callable[[duckdb.DuckDBPyConnection, IngestReport], None] | None = None,
) -> None:
    """De-duplicate, store, classify and queue the alerts of prepared documents in one
    transaction (the second half of :func:`ingest`), counting in ``report``; ``then`` runs in
    that transaction last (in a transaction of its own when there is nothing to store)."""
    from territoria.alerts.watch import queue_immediate
    from territoria.kb import transaction
    from territoria.kb.audit import record
    from territoria.watch.topics import classify

    if not prepared:
        if then is not None:
            with transaction(con):
                then(con, report)
        return
    with transaction(con):
        with report.stage("dedup"):
            decisions = dedup.decide(con, [p.candidate for p in prepared], window_days=window_days)
        with report.stage("storage"):
            stored = _store(con, prepared, decisions, report)
        if not stored:
            if then is not None:
                then(con, report)
            return
        with report.stage("topics"):
            report.topics += classify(con, stored)
        with report.stage("alerts"):
            report.alerts += queue_immediate(con, stored)
        sources = sorted({p.item.source_id for p in prepared})
        record(
            con,
            "watch.ingest",
            target=",".join(f"source:{s}" for s in sources),
            detail={
                "new": report.new,
                "duplicates": report.duplicates,
                "unchanged": report.unchanged,
                "errors": len(report.errors),
            },
        )
        if then is not None:
            then(con, report)
