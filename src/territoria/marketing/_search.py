"""French full-text search over the good practices: BM25 over Snowball stems, accents ignored.

The analyser is the watch's (:func:`territoria.watch.query.analyse`: lower case, accents
removed, Snowball French stems), so that *mobilites* finds *mobilité* and *écoles* finds
*école*. The index (tables ``practice_term`` and ``practice_doc`` of migration 0020) holds each
live practice's stems of its title, themes, description and results, and is rewritten in the
transaction that writes the practice. Every stem of the query must occur (AND); results are
ranked by Okapi BM25 (k1 = 1.2, b = 0.75), most recent first on ties.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from territoria.watch.query import analyse, tokens

if TYPE_CHECKING:
    import duckdb

__all__ = ["K1", "B", "highlight", "index_practices", "query_stems", "ranked_ids", "unindex"]

K1 = 1.2
B = 0.75


def query_stems(query: str) -> list[str]:
    """The distinct stems of a query, in order."""
    return list(dict.fromkeys(analyse(query)))


def unindex(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> None:
    """Remove practices from the index (inside the write's transaction)."""
    for table in ("practice_term", "practice_doc"):
        con.execute(
            f"DELETE FROM {table} WHERE practice_id IN (SELECT unnest(?::BIGINT[]))", [list(ids)]
        )


def index_practices(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> int:
    """(Re)index the given practices (inside the write's transaction); return how many."""
    from territoria.marketing._data import themes

    unindex(con, ids)
    rows = con.execute(
        "SELECT id, title, themes, description, results FROM practice "
        "WHERE id IN (SELECT unnest(?::BIGINT[])) AND deleted_at IS NULL",
        [list(ids)],
    ).fetchall()
    if not rows:
        return 0
    labels = themes()
    doc_ids, lengths, texts = [], [], []
    for pid, title, theme_ids, description, results in rows:
        named = " ".join(labels.get(t, {}).get("fr", t) for t in theme_ids)
        stems = analyse(f"{title}\n{named}\n{description}\n{results}")
        doc_ids.append(int(pid))
        lengths.append(len(stems))
        texts.append(" ".join(stems))
    con.execute(
        "INSERT INTO practice_doc SELECT unnest(?::BIGINT[]), unnest(?::INTEGER[])",
        [doc_ids, lengths],
    )
    # term counts in one SQL pass over the stems
    con.execute(
        "INSERT INTO practice_term SELECT pid, term, count(*)::INTEGER FROM ("
        " SELECT pid, unnest(string_split(s, ' ')) AS term FROM ("
        "  SELECT unnest(?::BIGINT[]) AS pid, unnest(?::VARCHAR[]) AS s))"
        " WHERE term <> '' GROUP BY pid, term",
        [doc_ids, texts],
    )
    return len(doc_ids)


_RANKED = f"""
WITH q AS (SELECT DISTINCT unnest(?::VARCHAR[]) AS term),
t AS MATERIALIZED (
    SELECT practice_id, term, tf FROM practice_term WHERE term IN (SELECT term FROM q)
),
df AS (SELECT term, count(*) AS df FROM t GROUP BY term),
stats AS (SELECT count(*) AS n, avg(length) AS avgdl FROM practice_doc),
scored AS (
    SELECT t.practice_id AS id,
        sum(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5)) * t.tf * ({K1} + 1)
            / (t.tf + {K1} * (1 - {B} + {B} * d.length / stats.avgdl))) AS score
    FROM t JOIN df USING (term) JOIN practice_doc d USING (practice_id), stats
    GROUP BY t.practice_id HAVING count(*) = (SELECT count(*) FROM q)
)
SELECT p.id, s.score, count(*) OVER () AS total
FROM scored s JOIN practice p ON p.id = s.id
WHERE p.deleted_at IS NULL {{filters}}
ORDER BY s.score DESC, p.date DESC NULLS LAST, p.id DESC
LIMIT ? OFFSET ?
"""

_ALL = """
SELECT p.id, NULL AS score, count(*) OVER () AS total FROM practice p
WHERE p.deleted_at IS NULL {filters}
ORDER BY p.date DESC NULLS LAST, p.id DESC LIMIT ? OFFSET ?
"""


def _filters(
    themes: Sequence[str] | None, level: str | None, codes: Sequence[str] | None
) -> tuple[str, list[Any]]:
    sql, params = "", list[Any]()
    if themes:
        sql, params = sql + " AND list_has_any(p.themes, ?::VARCHAR[])", [*params, list(themes)]
    if level:
        sql, params = sql + " AND p.level = ?", [*params, level]
    if codes is not None:
        sql, params = sql + " AND p.code IN (SELECT unnest(?::VARCHAR[]))", [*params, list(codes)]
    return sql, params


def ranked_ids(
    con: duckdb.DuckDBPyConnection,
    stems: Sequence[str],
    *,
    themes: Sequence[str] | None,
    level: str | None,
    codes: Sequence[str] | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[int, float | None]], int]:
    """The ids (and BM25 scores) of the live practices matching (with one of ``themes``, when
    given), best first, and the total."""
    where, params = _filters(themes, level, codes)
    if stems:
        sql = _RANKED.format(filters=where)
        rows = con.execute(sql, [list(stems), *params, limit, offset]).fetchall()
    else:
        rows = con.execute(_ALL.format(filters=where), [*params, limit, offset]).fetchall()
    total = int(rows[0][2]) if rows else 0
    return [(int(r[0]), None if r[1] is None else float(r[1])) for r in rows], total


def highlight(text: str, stems: Sequence[str]) -> list[dict[str, Any]]:
    """``text`` cut into segments ``{"text", "hit"}``: hits are the words of the query's stems."""
    wanted = set(stems)
    out: list[dict[str, Any]] = []
    last = 0
    for start, end, stem in tokens(text):
        if stem in wanted:
            if start > last:
                out.append({"text": text[last:start], "hit": False})
            out.append({"text": text[start:end], "hit": True})
            last = end
    if last < len(text):
        out.append({"text": text[last:], "hit": False})
    return out
