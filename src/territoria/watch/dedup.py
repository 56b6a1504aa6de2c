"""De-duplication of watch items across sources.

An item is a **duplicate** of an earlier one when

1. it has the same canonical address (score 1.0), or
2. the same normalised text (lower case, no accents, words only: ``content_hash``; score 1.0),
   or
3. a **near-duplicate** text: the Jaccard resemblance of their sets of word 3-shingles is at
   least :data:`MIN_RESEMBLANCE` (the score), among the items fetched in the last
   :data:`WINDOW_DAYS` days.

Near duplicates are found with **MinHash LSH** kept in SQL (migration 0016): each item's
60-value MinHash signature is cut into 20 bands of 3 values, stored in ``watch_band``; the
candidates of a new text are the items sharing one of its bands (an equality join, whatever
the number of items), which happens with probability ``1 - (1 - s**3)**20`` for a
resemblance ``s`` (0.992 at 0.6, 0.9998 at 0.7, 0.42 at 0.3, 0.15 at 0.2). Their signatures
estimate the resemblance; those above 0.4 get the exact resemblance of their texts, which
decides. (16 bands of 4 missed 2 of 123 planted copies of the benchmark, at 0.65 and 0.71.)

Why not SimHash alone (the column ``watch_item.simhash`` is still filled): a one-sentence
change in a 200-word dispatch moves its SimHash by about 11 bits, and unrelated French local
news written with the same turns of phrase come as close. On the benchmark's corpus
(``benchmarks/bench_watch_pipeline.py``, generated from 18 sentence templates: harsher than
real news), a radius of 18 bits made 1,981 of 5,000 stored items candidates of a batch of 50
new texts, each to be re-read. The bands give many pairs too on that corpus (about 1,000 a
text against 20,000 items), but the signatures' agreement is counted in SQL, and only the
pairs estimated at 0.4 or more (about 30 a text) are compared on their texts.

Re-fetching an entry a source already gave (same source, same canonical address; for a
page's change, the same text) is **unchanged**: not a new item. The duplicate points to the
earliest original (``duplicate_of`` of an item that is itself a duplicate is followed).
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
    "BANDS",
    "MIN_RESEMBLANCE",
    "MIN_SHINGLES",
    "PERMUTATIONS",
    "WINDOW_DAYS",
    "Candidate",
    "Decision",
    "candidate",
    "content_hash",
    "decide",
    "resemblance",
    "shingles",
    "words",
]

#: Near duplicates are looked for among the items fetched in the last WINDOW_DAYS days.
WINDOW_DAYS: Final = 30
#: Jaccard resemblance of the shingle sets from which a text repeats another.
MIN_RESEMBLANCE: Final = 0.6
#: Signatures estimating less than this are not compared exactly.
_ESTIMATE_FLOOR: Final = 0.4
#: Texts with fewer shingles than this are compared by exact hash only (too short to judge).
MIN_SHINGLES: Final = 20
SHINGLE: Final = 3
PERMUTATIONS: Final = 60
BANDS: Final = 20
_ROWS = PERMUTATIONS // BANDS

_WORD = re.compile(r"[^\W_]+")
_BITS = np.arange(64, dtype=np.uint64)
# multiply-shift hash functions, fixed so that signatures stay comparable across runs
_RNG = np.random.default_rng(20261202)
_A = _RNG.integers(1, 2**63, size=PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
_B = _RNG.integers(0, 2**63, size=PERMUTATIONS, dtype=np.uint64)


def _unaccented(char: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))


#: Latin letters with diacritics → without (one table lookup a character, not a Unicode
#: decomposition: words() runs on every text and every candidate's text).
_PLAIN = str.maketrans({chr(i): _unaccented(chr(i)) for i in range(0xC0, 0x250)})


def words(text: str) -> list[str]:
    """The text's words, lower case, without accents (``Été`` → ``ete``)."""
    return _WORD.findall(text.lower().translate(_PLAIN))


def content_hash(text: str) -> str:
    """Hash of the normalised text: two texts differing in case, accents, punctuation or
    spacing only have the same."""
    return hashlib.blake2b(" ".join(words(text)).encode(), digest_size=16).hexdigest()


def shingles(tokens: Sequence[str], size: int = SHINGLE) -> frozenset[str]:
    """The set of ``size``-word shingles (the whole text as one when it is shorter)."""
    if len(tokens) < size:
        return frozenset([" ".join(tokens)]) if tokens else frozenset()
    return frozenset(" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def _hashes(grams: frozenset[str]) -> np.ndarray:
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little")
         for g in grams),
        dtype=np.uint64,
        count=len(grams),
    )  # fmt: skip


def _simhash(hashes: np.ndarray) -> int:
    """64-bit SimHash of the shingle hashes (weight 1 each)."""
    if not len(hashes):
        return 0
    ones = ((hashes[:, None] >> _BITS) & np.uint64(1)).sum(axis=0)
    bits = ones * 2 > len(hashes)
    return int((bits.astype(np.uint64) << _BITS).sum())


def _signature(hashes: np.ndarray) -> np.ndarray:
    """MinHash signature: for each hash function, the least value over the shingles."""
    if not len(hashes):
        return np.zeros(PERMUTATIONS, dtype=np.uint64)
    with np.errstate(over="ignore"):  # multiply-shift hashing wraps around on purpose
        mixed = (hashes[:, None] * _A[None, :] + _B[None, :]) >> np.uint64(16)
    return np.asarray(mixed.min(axis=0), dtype=np.uint64)


def _bands(signature: np.ndarray) -> list[int]:
    """The hash of each band of 3 values (BLAKE2b of their bytes, 63 bits)."""
    rows = signature.reshape(BANDS, _ROWS)
    return [
        int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little") >> 1
        for row in rows
    ]


def resemblance(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard resemblance of two shingle sets."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class Candidate:
    """What de-duplication needs of a new document (and stores of it)."""

    source_id: int
    kind: str
    canonical_url: str
    content_hash: str
    simhash: int
    shingles: frozenset[str]
    signature: tuple[int, ...]
    bands: tuple[int, ...]
    fetched_at: datetime

    @property
    def comparable(self) -> bool:
        """Long enough to be compared as a near duplicate."""
        return len(self.shingles) >= MIN_SHINGLES


def candidate(
    *, source_id: int, kind: str, canonical_url: str, text: str, fetched_at: datetime
) -> Candidate:
    """Build the :class:`Candidate` of a text: its hash, shingles, SimHash, MinHash signature
    and bands."""
    tokens = words(text)
    grams = shingles(tokens)
    hashes = _hashes(grams)
    signature = _signature(hashes)
    return Candidate(
        source_id=source_id,
        kind=kind,
        canonical_url=canonical_url,
        content_hash=hashlib.blake2b(" ".join(tokens).encode(), digest_size=16).hexdigest(),
        simhash=_simhash(hashes),
        shingles=grams,
        signature=tuple(int(v) for v in signature),
        bands=tuple(_bands(signature)),
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
    when: datetime


def _stored(con: duckdb.DuckDBPyConnection, batch: Sequence[Candidate]) -> list[_Stored]:
    """The stored items with the address or the text of a candidate."""
    rows = con.execute(
        """
        WITH ids AS (
            SELECT id FROM watch_item WHERE deleted_at IS NULL
                AND canonical_url IN (SELECT unnest(?::VARCHAR[]))
            UNION
            SELECT id FROM watch_item WHERE deleted_at IS NULL
                AND content_hash IN (SELECT unnest(?::VARCHAR[]))
        )
        SELECT w.id, coalesce(w.duplicate_of, w.id), w.source_id, w.kind, w.canonical_url,
               w.content_hash, coalesce(r.published, r.fetched_at, w.fetched_at)
        FROM ids JOIN watch_item w USING (id)
        LEFT JOIN watch_item r ON r.id = coalesce(w.duplicate_of, w.id)
        ORDER BY w.id
        """,
        [sorted({c.canonical_url for c in batch}), sorted({c.content_hash for c in batch})],
    ).fetchall()
    return [_Stored(*r) for r in rows]


@dataclass(frozen=True)
class _Near:
    index: int  # the candidate
    root: int
    when: datetime
    score: float


def _near(
    con: duckdb.DuckDBPyConnection, batch: Sequence[Candidate], *, since: datetime,
    min_resemblance: float,
) -> list[_Near]:  # fmt: skip
    """Stored items of the window that a candidate repeats: sharing a band, estimated close
    by their signatures, then confirmed on their texts."""
    probes = [(i, b, h) for i, c in enumerate(batch) if c.comparable for b, h in enumerate(c.bands)]
    if not probes:
        return []
    index, band, value = (list(col) for col in zip(*probes, strict=True))
    signatures = [list(c.signature) for c in batch]
    # the signatures' agreement (the resemblance's estimate) is counted in SQL: on local
    # news written with the same turns of phrase, a text shares a band with hundreds
    close = con.execute(
        f"""
        WITH q AS (SELECT unnest(?::INTEGER[]) AS i, unnest(?::TINYINT[]) AS band,
                          unnest(?::UBIGINT[]) AS hash),
        s AS (SELECT unnest(range(?)) AS i, unnest(?::UBIGINT[][]) AS signature),
        pairs AS (
            SELECT DISTINCT q.i, b.item_id FROM q JOIN watch_band b USING (band, hash)
        )
        SELECT p.i, w.id, coalesce(w.duplicate_of, w.id),
               coalesce(r.published, r.fetched_at, w.fetched_at)
        FROM pairs p JOIN watch_item w ON w.id = p.item_id
        JOIN watch_minhash m ON m.item_id = w.id
        JOIN s ON s.i = p.i
        LEFT JOIN watch_item r ON r.id = coalesce(w.duplicate_of, w.id)
        WHERE w.deleted_at IS NULL AND w.fetched_at >= ?
          AND len(list_filter(range(1, {PERMUTATIONS + 1}),
                              k -> m.signature[k] = s.signature[k])) >= ?
        """,
        [index, band, value, len(batch), signatures, since,
         int(_ESTIMATE_FLOOR * PERMUTATIONS)],
    ).fetchall()  # fmt: skip
    if not close:
        return []
    texts = dict(
        con.execute(
            "SELECT id, text FROM watch_item WHERE id IN (SELECT unnest(?::BIGINT[]))",
            [sorted({c[1] for c in close})],
        ).fetchall()
    )
    found = []
    for i, item_id, root, when in close:
        score = resemblance(batch[i].shingles, shingles(words(texts.get(item_id) or "")))
        if score >= min_resemblance:
            found.append(_Near(i, root, when, score))
    return found


def decide(
    con: duckdb.DuckDBPyConnection,
    batch: Sequence[Candidate],
    *,
    window_days: int = WINDOW_DAYS,
    min_resemblance: float = MIN_RESEMBLANCE,
) -> list[Decision]:
    """Decide for each candidate whether it is unchanged, a duplicate or an original.

    Candidates are compared with the stored items (SQL: equality joins on the address, the
    text's hash and the MinHash bands) and with the earlier candidates of the batch (their
    bands in a dictionary).

    Parameters
    ----------
    window_days
        Near duplicates are looked for among the items fetched this many days before the
        batch (exact duplicates at any age).
    min_resemblance
        Jaccard resemblance of the word 3-shingles from which a text repeats another.
    """
    if not batch:
        return []
    since = min(c.fetched_at for c in batch) - timedelta(days=window_days)
    stored = _stored(con, batch)
    near = _near(con, batch, since=since, min_resemblance=min_resemblance)
    by_url: dict[str, list[_Stored]] = {}
    by_hash: dict[str, list[_Stored]] = {}
    for s in stored:
        by_url.setdefault(s.canonical_url, []).append(s)
        by_hash.setdefault(s.content_hash, []).append(s)
    near_of: dict[int, list[_Near]] = {}
    for n in near:
        near_of.setdefault(n.index, []).append(n)
    decisions: list[Decision] = []
    seen = _Seen({}, {}, {}, {})
    for i, c in enumerate(batch):
        decision = _decide_stored(
            c, by_url.get(c.canonical_url, []), by_hash.get(c.content_hash, []),
            near_of.get(i, []),
        ) or _in_batch(c, batch, decisions, seen, min_resemblance)  # fmt: skip
        decisions.append(decision)
        if decision.status == "new":
            seen.add(i, c)
    return decisions


def _decide_stored(
    c: Candidate, same_url: list[_Stored], same_text: list[_Stored], near: list[_Near]
) -> Decision | None:
    """Unchanged, or a duplicate of a stored item (its earliest original), or None."""
    change = c.kind == "change"
    # the source gave it already (a page's changes share the page's address: compare texts)
    mine = [s for s in (same_text if change else same_url) if s.source_id == c.source_id]
    if mine:
        return Decision("unchanged", of=mine[0].id)
    options: list[tuple[datetime, int, float, Literal["url", "text", "near"]]] = []
    for s in same_url if not change else []:
        options.append((s.when, s.root, 1.0, "url"))
    for s in same_text:
        options.append((s.when, s.root, 1.0, "text"))
    for n in near:
        options.append((n.when, n.root, n.score, "near"))
    if not options:
        return None
    _, root, score, reason = min(options, key=lambda o: (o[0], o[1], -o[2]))
    return Decision("new", of=root, score=score, reason=reason)


@dataclass
class _Seen:
    """The new candidates of the batch so far, by address, text and band."""

    mine: dict[tuple[int, str], int]
    urls: dict[str, int]
    texts: dict[str, int]
    bands: dict[tuple[int, int], list[int]]

    def add(self, i: int, c: Candidate) -> None:
        key = c.content_hash if c.kind == "change" else c.canonical_url
        self.mine.setdefault((c.source_id, key), i)
        if c.kind != "change":
            self.urls.setdefault(c.canonical_url, i)
        self.texts.setdefault(c.content_hash, i)
        if c.comparable:
            for band in enumerate(c.bands):
                self.bands.setdefault(band, []).append(i)


def _in_batch(
    c: Candidate,
    batch: Sequence[Candidate],
    earlier: list[Decision],
    seen: _Seen,
    min_resemblance: float,
) -> Decision:
    """The re-fetch or the copy of an earlier candidate of the same call (pointing to its
    original when that one is itself a duplicate), else an original."""
    change = c.kind == "change"
    key = c.content_hash if change else c.canonical_url
    if (c.source_id, key) in seen.mine:
        return Decision("unchanged", of=seen.mine[(c.source_id, key)], in_batch=True)
    found: tuple[int, float, Literal["url", "text", "near"]] | None = None
    if not change and c.canonical_url in seen.urls:
        found = (seen.urls[c.canonical_url], 1.0, "url")
    elif c.content_hash in seen.texts:
        found = (seen.texts[c.content_hash], 1.0, "text")
    elif c.comparable:
        close = sorted({j for band in enumerate(c.bands) for j in seen.bands.get(band, [])})
        for j in close:
            r = resemblance(c.shingles, batch[j].shingles)
            if r >= min_resemblance:
                found = (j, r, "near")
                break
    if found is None:
        return Decision("new")
    j, score, reason = found
    d = earlier[j]
    if d.of is not None:  # j repeats an earlier item: point to that original
        return Decision("new", of=d.of, in_batch=d.in_batch, score=score, reason=reason)
    return Decision("new", of=j, in_batch=True, score=score, reason=reason)
