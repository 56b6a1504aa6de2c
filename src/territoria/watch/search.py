"""French full-text search over the watch items: BM25-ranked, accents ignored, stemmed.

The index
---------
DuckDB's fts extension builds its index in one go (``PRAGMA create_fts_index``) and does not
follow inserts: a watch that receives items every hour would have to rebuild it after each
fetch, and search a stale index in between. The watch keeps its own index instead, in two
tables of migration 0018, written **in the same transaction as the items** by
:func:`index_items` (which :func:`territoria.watch.topics.classify` calls from ingest):

- ``watch_term(item_id, term, tf, positions)``: each French stem of an item with its count
  (lookups and BM25);
- ``watch_term(…, positions)``: where each stem occurs, so that a phrase is a run of
  consecutive positions (list arithmetic in SQL);
- ``watch_doc(item_id, length)``: the item's length in stems (BM25).

Stems come from :func:`territoria.watch.query.analyse` (lower case, accents removed, Snowball
French), the same analyser the Boolean queries use. An item is indexed once (its title and
text do not change); :func:`reindex` indexes every live item the index lacks.

Ranking is Okapi BM25 (k1 = 1.2, b = 0.75) over the stems a query asks for (not those under
``NOT``); the Boolean query decides which items match.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from territoria.watch.query import (
    Filter,
    Node,
    all_stems,
    analyse,
    match_sql,
    needs_positions,
    parse,
    positive_stems,
    territory_sql,
    tokens,
)

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "Hit",
    "SearchResult",
    "compact",
    "index_items",
    "missing_items",
    "needs_compaction",
    "reindex",
    "search",
    "snippet_of",
    "unindexed",
]

K1 = 1.2
B = 0.75
MAX_LIMIT = 500
SNIPPET_CHARS = 240
#: Items indexed since the last rewrite below which :func:`compact` is not worth it.
COMPACT_MIN = 20_000


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
        texts.append(" ".join(stems))
    con.execute(
        "INSERT INTO watch_doc SELECT unnest(?::BIGINT[]), unnest(?::INTEGER[])",
        [doc_ids, lengths],
    )
    # counts and positions in one SQL pass over the stems, no Python loop over words
    con.execute(
        "INSERT INTO watch_term SELECT item_id, term, count(*)::INTEGER, "
        "list(pos ORDER BY pos)::INTEGER[] FROM ("
        " SELECT item_id, unnest(s) AS term, generate_subscripts(s, 1) AS pos FROM ("
        "  SELECT unnest(?::BIGINT[]) AS item_id, string_split(unnest(?::VARCHAR[]), ' ') AS s))"
        " WHERE term <> '' GROUP BY item_id, term",
        [doc_ids, texts],
    )
    return len(doc_ids)


def needs_compaction(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the items indexed since the last :func:`compact` are many enough (more than
    :data:`COMPACT_MIN` and than a quarter of the ordered part) to rewrite the index."""
    row = con.execute(
        "SELECT (SELECT count(*) FROM watch_doc), (SELECT max(compacted_docs) "
        "FROM watch_index_state)"
    ).fetchone()
    docs, ordered = (int(row[0]), int(row[1] or 0)) if row else (0, 0)
    return docs - ordered > max(COMPACT_MIN, ordered // 4)


def compact(con: duckdb.DuckDBPyConnection) -> int:
    """Rewrite ``watch_term`` in stem order (call it inside a transaction); return the number
    of items it covers.

    Searches read only the row groups of their stems in the ordered part (zone maps) and the
    whole of the unordered tail; the rewrite costs about 3 s per 5 million (item, stem) rows.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE watch_term_ordered AS "
        "SELECT * FROM watch_term ORDER BY term, item_id"
    )
    con.execute("DELETE FROM watch_term")
    con.execute("INSERT INTO watch_term SELECT * FROM watch_term_ordered ORDER BY term, item_id")
    con.execute("DROP TABLE watch_term_ordered")
    row = con.execute("SELECT count(*) FROM watch_doc").fetchone()
    docs = int(row[0]) if row else 0
    con.execute("DELETE FROM watch_index_state")
    con.execute("INSERT INTO watch_index_state VALUES (?, ?)", [docs, _now()])
    return docs


def _now() -> datetime:
    return datetime.now(tz=UTC).replace(tzinfo=None)


def reindex(con: duckdb.DuckDBPyConnection, *, rewrite: bool = True) -> int:
    """Index every live item the index lacks (items written before migration 0018, or by a
    path that skipped :func:`index_items`) and, with ``rewrite``, put the index in stem order
    (:func:`compact`); return how many items were indexed."""
    from territoria.kb import transaction

    with transaction(con):
        done = index_items(con, missing_items(con))
        if rewrite:
            compact(con)
    return done


@dataclass(frozen=True)
class Hit:
    """One item found, with its BM25 score and a snippet around the words found."""

    id: int
    url: str
    title: str
    published: datetime | None
    source: str | None
    duplicate_of: int | None
    score: float
    snippet: str
    highlights: list[tuple[int, int]]  # (start, end) of the words found, in the snippet
    title_highlights: list[tuple[int, int]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "published": self.published.isoformat(timespec="seconds") if self.published else None,
            "source": self.source,
            "duplicate_of": self.duplicate_of,
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "highlights": [list(h) for h in self.highlights],
            "title_highlights": [list(h) for h in self.title_highlights],
        }


@dataclass(frozen=True)
class SearchResult:
    """The items a query matches, best first, and how many match in all."""

    query: str
    total: int
    hits: list[Hit]
    unindexed: int = 0  # live items the index lacks ('territoria watch reindex' adds them)
    offset: int = 0
    limit: int = 20
    stems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "query": self.query,
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "unindexed": self.unindexed,
            "stems": self.stems,
            "hits": [h.to_dict() for h in self.hits],
        }


def _candidates(
    node: Node,
    territory: tuple[str | None, str] | None,
    person: str | None,
    include_duplicates: bool,
    since: datetime | None,
) -> tuple[str, list[Any]]:
    """The common table expressions ``hits`` (the index rows of the query's stems, read once)
    and ``cand`` (the items that match, with their length and date), with their parameters."""
    cond, params = match_sql(node, terms="hits")
    if territory is not None:
        t_sql, t_params = territory_sql(territory[1], territory[0])
        cond += f" AND d.item_id IN ({t_sql})"
        params += t_params
    if person is not None:
        p_sql, p_params = match_sql(Filter("person", person))
        cond += f" AND {p_sql}"
        params += p_params
    day = "coalesce(i.published, i.fetched_at)"
    lookup = sorted(set(all_stems(node)))
    # the stems as a list of constants: the scan filters on them before reading the other
    # columns (a join with a list would read every row's positions)
    marks = ", ".join("?" * len(lookup)) or "NULL"
    # positions are read only when a phrase needs them (lists cost more to read than counts)
    positions = "positions" if needs_positions(node) else "NULL::INTEGER[] AS positions"
    sql = (
        f"WITH hits AS MATERIALIZED (SELECT item_id, term, tf, {positions} FROM watch_term "
        f" WHERE term IN ({marks})), "
        "cand AS MATERIALIZED (SELECT d.item_id, d.length, " + day + " AS day FROM watch_doc d "
        " JOIN watch_item i ON i.id = d.item_id WHERE i.deleted_at IS NULL "
        " AND (? OR i.duplicate_of IS NULL) AND (?::TIMESTAMP IS NULL OR " + day + " >= ?) "
        " AND " + cond + ") "
    )
    return sql, [*lookup, include_duplicates, since, since, *params]


def search(
    con: duckdb.DuckDBPyConnection,
    query: str,
    *,
    territory: tuple[str | None, str] | None = None,
    person: str | None = None,
    since: datetime | None = None,
    include_duplicates: bool = False,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """Search the watch items with a Boolean query, best BM25 score first.

    Parameters
    ----------
    query
        Words, "phrases", ``AND``/``OR``/``NOT`` and filters (:mod:`territoria.watch.query`).
    territory
        ``(level, code)``: only items linked to it or to a territory inside it (level
        ``None``: any level with that code).
    person
        Only items linked to this person id.
    since
        Only items published (or, undated, fetched) at or after this time.
    include_duplicates
        Also return the items that repeat another (off: each story once).
    limit, offset
        The page: at most ``limit`` hits (1 to 500) after skipping ``offset``.

    Raises
    ------
    InvalidWatchQuery
        The query does not parse (the message gives the position).
    """
    node = parse(query)
    if since is not None and since.tzinfo is not None:  # stored times are naive UTC
        since = since.astimezone(UTC).replace(tzinfo=None)
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, int(offset))
    stems = sorted(set(positive_stems(node)))
    ctes, params = _candidates(node, territory, person, include_duplicates, since)
    # BM25 over the query's positive stems; df over the whole index (the hits table)
    rows = con.execute(
        ctes + ", stats AS (SELECT count(*)::DOUBLE AS n, coalesce(avg(length), 1) AS avgdl "
        " FROM watch_doc), "
        "df AS (SELECT term, count(*)::DOUBLE AS df FROM hits "
        " WHERE term IN (SELECT unnest(?::VARCHAR[])) GROUP BY term), "
        "scored AS (SELECT c.item_id, sum(ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5)) * h.tf "
        f" * ({K1} + 1) / (h.tf + {K1} * (1 - {B} + {B} * c.length / s.avgdl))) AS score "
        " FROM hits h JOIN df ON df.term = h.term JOIN cand c ON c.item_id = h.item_id "
        " CROSS JOIN stats s GROUP BY c.item_id) "
        # the total from the materialised candidates (a window count hit a DuckDB 1.5.5
        # internal error once: 'access index 0 within vector of size 0')
        "SELECT c.item_id, coalesce(sc.score, 0) AS score, (SELECT count(*) FROM cand) AS total "
        "FROM cand c LEFT JOIN scored sc ON sc.item_id = c.item_id "
        "ORDER BY score DESC, c.day DESC, c.item_id DESC LIMIT ? OFFSET ?",
        [*params, stems, limit, offset],
    ).fetchall()
    if rows:
        total = int(rows[0][2])
    else:  # a page past the end has no row to carry the total
        row = con.execute(ctes + "SELECT count(*) FROM cand", params).fetchone()
        total = int(row[0]) if row else 0
    return SearchResult(
        query=query,
        total=total,
        hits=_hits(con, [(int(r[0]), float(r[1])) for r in rows], set(stems)),
        unindexed=unindexed(con),
        offset=offset,
        limit=limit,
        stems=stems,
    )


def missing_items(con: duckdb.DuckDBPyConnection) -> list[int]:
    """The ids of the live items the search index lacks, in order."""
    row = con.execute(
        "SELECT (SELECT count(*) FROM watch_item) - (SELECT count(*) FROM watch_doc)"
    ).fetchone()
    if not row or int(row[0]) <= 0:  # every item has its document: the usual case, in O(1)
        return []
    rows = con.execute(
        "SELECT id FROM watch_item i WHERE i.deleted_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM watch_doc d WHERE d.item_id = i.id) ORDER BY id"
    ).fetchall()
    return [int(r[0]) for r in rows]


def unindexed(con: duckdb.DuckDBPyConnection) -> int:
    """How many live items the search index lacks."""
    return len(missing_items(con))


def _hits(
    con: duckdb.DuckDBPyConnection, scored: list[tuple[int, float]], stems: set[str]
) -> list[Hit]:
    if not scored:
        return []
    rows = con.execute(
        "SELECT i.id, i.url, i.title, i.text, i.summary, i.published, s.name, i.duplicate_of "
        "FROM watch_item i LEFT JOIN watch_source s ON s.id = i.source_id "
        "WHERE i.id IN (SELECT unnest(?::BIGINT[]))",
        [[i for i, _ in scored]],
    ).fetchall()
    by_id = {int(r[0]): r for r in rows}
    hits = []
    for item_id, score in scored:
        r = by_id[item_id]
        snippet, marks = snippet_of(r[3] or r[4] or "", stems)
        title_marks = [(a, b) for a, b, s in tokens(r[2]) if s in stems]
        hits.append(
            Hit(
                id=item_id,
                url=r[1],
                title=r[2],
                published=r[5],
                source=r[6],
                duplicate_of=None if r[7] is None else int(r[7]),
                score=score,
                snippet=snippet,
                highlights=marks,
                title_highlights=title_marks,
            )
        )
    return hits


_SPACE = re.compile(r"\s")


def snippet_of(
    text: str, stems: set[str], width: int = SNIPPET_CHARS
) -> tuple[str, list[tuple[int, int]]]:
    """A window of about ``width`` characters of ``text`` around the most words found, and
    the ``(start, end)`` of those words inside it."""
    found = [(a, b) for a, b, s in tokens(text) if s in stems]
    start = 0
    if found:
        # the window that starts a little before a found word and holds the most of them
        starts = [a for a, _ in found]
        best = max(
            range(len(found)),
            key=lambda k: bisect.bisect_left(starts, starts[k] + width - 40) - k,
        )
        start = max(0, found[best][0] - 40)
        while start > 0 and not text[start - 1].isspace():
            start -= 1
    end = min(len(text), start + width)
    while end < len(text) and not text[end].isspace():
        end += 1
    # white space made plain spaces one for one, so that the offsets stay valid
    snippet = _SPACE.sub(" ", text[start:end])
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    shift = len(prefix) - start
    marks = [(a + shift, b + shift) for a, b in found if a >= start and b <= end]
    return prefix + snippet + suffix, marks
