"""French full-text search over the watch items: BM25-ranked, accents ignored, stemmed.

The index
---------
DuckDB's fts extension builds its index in one go (``PRAGMA create_fts_index``) and does not
follow inserts: a watch that receives items every hour would have to rebuild it after each
fetch, and search a stale index in between. The watch keeps its own index instead, in two
tables of migration 0018, written **in the same transaction as the items** by
:func:`index_items` (which :func:`territoria.watch.topics.classify` calls from ingest):

- ``watch_term(item_id, term, tf)``: each French stem of an item with its count (lookups and
  BM25);
- ``watch_doc(item_id, length, stems)``: the item's stems in order, space-padded, so that a
  phrase is a substring test on consecutive stems.

Stems come from :func:`territoria.watch.query.analyse` (lower case, accents removed, Snowball
French), the same analyser the Boolean queries use. An item is indexed once (its title and
text do not change); :func:`reindex` indexes every live item the index lacks.

Ranking is Okapi BM25 (k1 = 1.2, b = 0.75) over the stems a query asks for (not those under
``NOT``); the Boolean query decides which items match.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from territoria.watch.query import (
    analyse,
)

if TYPE_CHECKING:
    import duckdb

__all__ = ["index_items", "reindex"]

K1 = 1.2
B = 0.75
MAX_LIMIT = 500
SNIPPET_CHARS = 240


def _document(title: str, text: str, summary: str) -> str:
    # the offsets of the links (watch_link.start_char) are into title + "\n\n" + text as well
    return f"{title}\n\n{text or summary}"


def index_items(con: duckdb.DuckDBPyConnection, item_ids: Sequence[int]) -> int:
    """Index the given items for search (those already indexed are skipped); return how many
    were indexed. Call it inside the transaction that writes the items."""
    ids = sorted({int(i) for i in item_ids})
    if not ids:
        return 0
    rows = con.execute(
        "SELECT i.id, i.title, i.text, i.summary FROM watch_item i "
        "WHERE i.id IN (SELECT unnest(?::BIGINT[])) "
        "AND NOT EXISTS (SELECT 1 FROM watch_doc d WHERE d.item_id = i.id)",
        [ids],
    ).fetchall()
    if not rows:
        return 0
    doc_ids: list[int] = []
    lengths: list[int] = []
    texts: list[str] = []
    for item_id, title, text, summary in rows:
        stems = analyse(_document(title, text, summary))
        doc_ids.append(int(item_id))
        lengths.append(len(stems))
        texts.append(" " + " ".join(stems) + " ")
    con.execute(
        "INSERT INTO watch_doc SELECT unnest(?::BIGINT[]), unnest(?::INTEGER[]), "
        "unnest(?::VARCHAR[])",
        [doc_ids, lengths, texts],
    )
    # term frequencies from the stored stems: one SQL pass, no Python loop over words
    con.execute(
        "INSERT INTO watch_term SELECT item_id, term, count(*)::INTEGER FROM ("
        " SELECT item_id, unnest(string_split(trim(stems), ' ')) AS term FROM watch_doc"
        " WHERE item_id IN (SELECT unnest(?::BIGINT[]))) WHERE term <> '' GROUP BY ALL",
        [doc_ids],
    )
    return len(doc_ids)


def reindex(con: duckdb.DuckDBPyConnection) -> int:
    """Index every live item the index lacks (items written before migration 0018, or by a
    path that skipped :func:`index_items`); return how many were indexed."""
    from territoria.kb import transaction

    missing = [
        int(r[0])
        for r in con.execute(
            "SELECT id FROM watch_item i WHERE deleted_at IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM watch_doc d WHERE d.item_id = i.id) ORDER BY id"
        ).fetchall()
    ]
    if not missing:
        return 0
    with transaction(con):
        return index_items(con, missing)
