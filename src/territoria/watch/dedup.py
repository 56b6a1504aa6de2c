"""De-duplication of watch items across sources.

An item is a **duplicate** of an earlier one when

1. it has the same canonical address (score 1.0), or
2. the same normalised text (lower case, no accents, words only: ``content_hash``; score 1.0),
   or
3. a **near-duplicate** text: its 64-bit SimHash over word 3-shingles is within
   :data:`MAX_DISTANCE` bits of the other's (found in SQL, ``bit_count(xor(simhash, ?))``,
   among the items fetched in the last :data:`WINDOW_DAYS` days), and the Jaccard
   resemblance of their shingle sets, computed on these few candidates, is at least
   :data:`MIN_RESEMBLANCE` (the score).

SimHash alone is a poor judge of a one-sentence change in a 200-word dispatch: the expected
distance of two texts sharing 80 % of their shingles is about 11 bits, while two unrelated
texts sit near 32 ± 4 bits. The SimHash radius is therefore wide (candidates), and the exact
resemblance decides. ``benchmarks/bench_watch_pipeline.py`` measures the false positives on
the fixture corpus.

Re-fetching an entry a source already gave (same source, same canonical address; for a
page's change, the same text) is **unchanged**: not a new item.

The duplicate points to the earliest original (``duplicate_of`` of an item that is itself a
duplicate is followed).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal

import numpy as np

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "MAX_DISTANCE",
    "MIN_RESEMBLANCE",
    "MIN_SHINGLES",
    "WINDOW_DAYS",
    "Candidate",
    "Decision",
    "candidate",
    "content_hash",
    "decide",
    "resemblance",
    "shingles",
    "simhash",
    "words",
]

#: Near duplicates are looked for among the items fetched in the last WINDOW_DAYS days.
WINDOW_DAYS: Final = 30
#: SimHash radius (bits) of the candidates whose resemblance is computed.
MAX_DISTANCE: Final = 18
#: Jaccard resemblance of the shingle sets from which a candidate is a duplicate.
MIN_RESEMBLANCE: Final = 0.6
#: Texts with fewer shingles than this are compared by exact hash only (too short to judge).
MIN_SHINGLES: Final = 20
SHINGLE: Final = 3

_WORD = re.compile(r"[^\W_]+")
_BITS = np.arange(64, dtype=np.uint64)


def words(text: str) -> list[str]:
    """The text's words, lower case, without accents (``Été`` → ``ete``)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(plain)


def content_hash(text: str) -> str:
    """Hash of the normalised text: two texts differing in case, accents, punctuation or
    spacing only have the same."""
    return hashlib.blake2b(" ".join(words(text)).encode(), digest_size=16).hexdigest()


def shingles(tokens: Sequence[str], size: int = SHINGLE) -> frozenset[str]:
    """The set of ``size``-word shingles (the whole text as one when it is shorter)."""
    if len(tokens) < size:
        return frozenset([" ".join(tokens)]) if tokens else frozenset()
    return frozenset(" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def simhash(grams: frozenset[str]) -> int:
    """64-bit SimHash of a shingle set (each shingle hashed with BLAKE2b, weight 1)."""
    if not grams:
        return 0
    hashes = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little")
            for g in grams
        ),
        dtype=np.uint64,
        count=len(grams),
    )
    ones = ((hashes[:, None] >> _BITS) & np.uint64(1)).sum(axis=0)
    bits = ones * 2 > len(grams)
    return int((bits.astype(np.uint64) << _BITS).sum())


def resemblance(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard resemblance of two shingle sets."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class Candidate:
    """What de-duplication needs of a new document."""

    source_id: int
    kind: str
    canonical_url: str
    content_hash: str
    simhash: int
    shingles: frozenset[str]
    fetched_at: datetime


def candidate(
    *, source_id: int, kind: str, canonical_url: str, text: str, fetched_at: datetime
) -> Candidate:
    """Build the :class:`Candidate` of a text (its hash, shingles and SimHash)."""
    tokens = words(text)
    grams = shingles(tokens)
    return Candidate(
        source_id=source_id,
        kind=kind,
        canonical_url=canonical_url,
        content_hash=hashlib.blake2b(" ".join(tokens).encode(), digest_size=16).hexdigest(),
        simhash=simhash(grams),
        shingles=grams,
        fetched_at=fetched_at,
    )


@dataclass(frozen=True)
class Decision:
    """What becomes of one candidate: ``new`` (an original or a duplicate of ``of``, an item
    id or, when ``in_batch``, the index of an earlier candidate of the same call) or
    ``unchanged`` (the source gave it already)."""

    status: Literal["new", "unchanged"]
    of: int | None = None
    in_batch: bool = False
    score: float | None = None
    reason: Literal["url", "text", "near"] | None = None


@dataclass(frozen=True)
class _Stored:
    id: int
    root: int
    source_id: int
    kind: str
    canonical_url: str
    content_hash: str
    simhash: int | None
    text: str | None
    when: datetime


def _stored(
    con: duckdb.DuckDBPyConnection,
    batch: Sequence[Candidate],
    *,
    window_days: int,
    max_distance: int,
) -> list[_Stored]:
    """The stored items that may be an earlier copy of a candidate: same address or text, or
    a SimHash within ``max_distance`` bits among the items of the window (texts kept only for
    these, to compute the resemblance)."""
    since = min(c.fetched_at for c in batch) - timedelta(days=window_days)
    rows = con.execute(
        """
        WITH c AS (
            SELECT unnest(?::UBIGINT[]) AS h, unnest(?::VARCHAR[]) AS u,
                   unnest(?::VARCHAR[]) AS t
        ), hit AS (
            SELECT DISTINCT w.id, bool_or(c.h IS NOT NULL AND w.fetched_at >= ?
                AND bit_count(xor(w.simhash, c.h)) <= ?) AS near
            FROM watch_item w JOIN c
              ON w.canonical_url = c.u OR w.content_hash = c.t
              OR (w.fetched_at >= ? AND bit_count(xor(w.simhash, c.h)) <= ?)
            WHERE w.deleted_at IS NULL
            GROUP BY w.id
        )
        SELECT w.id, coalesce(w.duplicate_of, w.id), w.source_id, w.kind, w.canonical_url,
               w.content_hash, w.simhash, CASE WHEN hit.near THEN w.text END,
               coalesce(r.published, r.fetched_at, w.fetched_at)
        FROM hit JOIN watch_item w USING (id)
        LEFT JOIN watch_item r ON r.id = coalesce(w.duplicate_of, w.id)
        ORDER BY w.id
        """,
        [
            [c.simhash if len(c.shingles) >= MIN_SHINGLES else None for c in batch],
            [c.canonical_url for c in batch],
            [c.content_hash for c in batch],
            since,
            max_distance,
            since,
            max_distance,
        ],
    ).fetchall()
    return [_Stored(*r) for r in rows]


def decide(
    con: duckdb.DuckDBPyConnection,
    batch: Sequence[Candidate],
    *,
    window_days: int = WINDOW_DAYS,
    max_distance: int = MAX_DISTANCE,
    min_resemblance: float = MIN_RESEMBLANCE,
) -> list[Decision]:
    """Decide for each candidate whether it is unchanged, a duplicate or an original.

    Candidates are compared with the stored items (one SQL query for the whole batch) and
    with the earlier candidates of the batch (NumPy over the SimHashes).

    Parameters
    ----------
    window_days
        Near duplicates are looked for among the items fetched this many days before the
        batch (exact duplicates at any age).
    max_distance
        SimHash radius of the near-duplicate candidates.
    min_resemblance
        Jaccard resemblance of the word 3-shingles from which a text repeats another.
    """
    if not batch:
        return []
    stored = _stored(con, batch, window_days=window_days, max_distance=max_distance)
    by_url: dict[str, list[_Stored]] = {}
    by_hash: dict[str, list[_Stored]] = {}
    near: list[_Stored] = []
    for s in stored:
        by_url.setdefault(s.canonical_url, []).append(s)
        by_hash.setdefault(s.content_hash, []).append(s)
        if s.text is not None and s.simhash is not None:
            near.append(s)
    near_grams = {s.id: shingles(words(s.text or "")) for s in near}
    roots_when = {s.root: s.when for s in stored}
    hashes = np.array([c.simhash for c in batch], dtype=np.uint64)
    decisions: list[Decision] = []
    for i, c in enumerate(batch):
        decisions.append(
            _decide_one(
                c,
                i,
                batch,
                decisions,
                hashes,
                by_url.get(c.canonical_url, []),
                by_hash.get(c.content_hash, []),
                near,
                near_grams,
                roots_when,
                max_distance=max_distance,
                min_resemblance=min_resemblance,
            )
        )
    return decisions


def _decide_one(
    c: Candidate,
    i: int,
    batch: Sequence[Candidate],
    earlier: list[Decision],
    hashes: np.ndarray,
    same_url: list[_Stored],
    same_text: list[_Stored],
    near: list[_Stored],
    near_grams: dict[int, frozenset[str]],
    roots_when: dict[int, datetime],
    *,
    max_distance: int,
    min_resemblance: float,
) -> Decision:
    change = c.kind == "change"
    # the source gave it already (a page's changes share the page's address: compare texts)
    mine = [s for s in (same_text if change else same_url) if s.source_id == c.source_id]
    if mine:
        return Decision("unchanged", of=mine[0].id)
    for j in range(i):
        b = batch[j]
        same = b.content_hash == c.content_hash if change else b.canonical_url == c.canonical_url
        if b.source_id == c.source_id and same and earlier[j].status == "new":
            return Decision("unchanged", of=j, in_batch=True)
    # stored copies: the earliest original wins
    options: list[tuple[datetime, int, float, Literal["url", "text", "near"]]] = []
    for s in same_url if not change else []:
        options.append((roots_when[s.root], s.root, 1.0, "url"))
    for s in same_text:
        options.append((roots_when[s.root], s.root, 1.0, "text"))
    if len(c.shingles) >= MIN_SHINGLES:
        for s in near:
            if s.simhash is None or bin(s.simhash ^ c.simhash).count("1") > max_distance:
                continue
            score = resemblance(c.shingles, near_grams[s.id])
            if score >= min_resemblance:
                options.append((roots_when[s.root], s.root, score, "near"))
    if options:
        _, root, score, reason = min(options, key=lambda o: (o[0], o[1], -o[2]))
        return Decision("new", of=root, score=score, reason=reason)
    return _in_batch(c, i, batch, earlier, hashes, max_distance, min_resemblance)


def _in_batch(
    c: Candidate,
    i: int,
    batch: Sequence[Candidate],
    earlier: list[Decision],
    hashes: np.ndarray,
    max_distance: int,
    min_resemblance: float,
) -> Decision:
    """An earlier candidate of the same call that this one repeats (its original if it is
    itself a duplicate)."""
    if i == 0:
        return Decision("new")
    distance = np.bitwise_count(hashes[:i] ^ hashes[i])
    for j in range(i):
        b, d = batch[j], earlier[j]
        if d.status != "new":
            continue
        score: float | None = None
        reason: Literal["url", "text", "near"] | None = None
        if c.kind != "change" and b.canonical_url == c.canonical_url:
            score, reason = 1.0, "url"
        elif b.content_hash == c.content_hash:
            score, reason = 1.0, "text"
        elif (
            len(c.shingles) >= MIN_SHINGLES
            and len(b.shingles) >= MIN_SHINGLES
            and int(distance[j]) <= max_distance
        ):
            r = resemblance(c.shingles, b.shingles)
            if r >= min_resemblance:
                score, reason = r, "near"
        if score is not None:
            if d.of is not None:  # b repeats an earlier item: point to that original
                return Decision("new", of=d.of, in_batch=d.in_batch, score=score, reason=reason)
            return Decision("new", of=j, in_batch=True, score=score, reason=reason)
    return Decision("new")
