"""Find territories by name or code, whatever the accents, case, abbreviations or typos.

The knowledge base holds some 42,000 territories (communes, EPCI, départements, régions,
cantons, circonscriptions and sub-communal units). Their normalised names and codes are loaded
once per connection into a small in-memory index (sorted arrays for prefixes, a word index,
a trigram index for typos), so that a search answers in a few milliseconds without writing
anything to the knowledge base, which may be read-only. The index is rebuilt when an import
changes the knowledge base.

Ranking, best first:

1. exact code (``42218``, ``35``, ``243500139``, ``2A``);
2. exact normalised name (``saint etienne``, ``St-Étienne``, ``SAINT ETIENNE``);
3. name, word or code prefixes, as one types (``renn``, ``etienne``, ``4221``);
4. fuzzy matches (Jaro-Winkler similarity over candidates sharing trigrams): ``renes``,
   ``marseile``.

Within a tier, the territory's population weighs in (a logarithmic bonus): ``renn`` proposes
Rennes before Rennemoulin, ``bretagne`` the région before the two communes of that name. Equal
scores (a code shared by a département and a région, a commune and its namesake canton) fall
back on the level's rank (the ``level`` table: commune, département, région, EPCI ...), then on
population.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar, cast

import duckdb
import numpy as np
from numpy.typing import NDArray

from territoria.errors import EmptyKnowledgeBase, InvalidQuery, UnknownLevel

__all__ = [
    "NameIndex",
    "SearchHit",
    "cached_index",
    "fingerprint",
    "normalise",
    "resolve_level",
    "search",
]

#: Abbreviations of French place names, expanded in names and queries alike.
ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")
_NUMBERS = re.compile(r"\d+")
# Letters that Unicode does not decompose into a base letter and an accent.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d"})

#: Weight of the population bonus (log10 of the population over 7, so about 0 to 0.1).
POPULATION_WEIGHT = 0.1
#: Scores of the match tiers; prefix and fuzzy scores lie below 1.2.
EXACT_CODE, EXACT_NAME = 3.0, 2.0
#: Score of a name holding the query as whole words (above any fuzzy match, below exact).
PHRASE = 1.2
#: Jaro-Winkler similarity below which a fuzzy candidate is dropped.
FUZZY_THRESHOLD = 0.85
#: Number of trigram candidates scored with Jaro-Winkler.
FUZZY_CANDIDATES = 150


@dataclass(frozen=True)
class SearchHit:
    """One territory found by :func:`search`."""

    level: str
    code: str
    name: str
    population: int | None
    parent: str | None
    score: float

    def to_dict(self) -> dict[str, Any]:
        """Return the hit as JSON-able data."""
        return asdict(self)


def normalise(text: str) -> str:
    """Return ``text`` in lower case without accents, punctuation as single spaces.

    Abbreviations (``St``, ``Ste``) are expanded, ligatures (``œ``) spelt out.

    Examples
    --------
    >>> normalise("St-Étienne")
    'saint etienne'
    >>> normalise("L'Haÿ-les-Roses")
    'l hay les roses'
    """
    lowered = text.lower().translate(_LIGATURES)
    # Drop the accents only: other symbols (a non-breaking hyphen ...) separate words.
    bare = "".join(
        c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c)
    )
    tokens = _NON_ALNUM.sub(" ", bare).split()
    return " ".join(ABBREVIATIONS.get(token, token) for token in tokens)


def _trigrams(norm: str) -> set[str]:
    """Trigrams of each word padded as in PostgreSQL's pg_trgm (two spaces before, one after)."""
    found: set[str] = set()
    for word in norm.split():
        padded = f"  {word} "
        found.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return found


def jaro_winkler(a: str, b: str, *, prefix_scale: float = 0.1) -> float:
    """Jaro-Winkler similarity of two strings, between 0 and 1 (1 when equal)."""
    if a == b:
        return 1.0
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0.0
    window = max(max(la, lb) // 2 - 1, 0)
    taken = [False] * lb
    matched_a: list[str] = []
    for i, char in enumerate(a):
        for j in range(max(0, i - window), min(lb, i + window + 1)):
            if not taken[j] and b[j] == char:
                taken[j] = True
                matched_a.append(char)
                break
    m = len(matched_a)
    if not m:
        return 0.0
    matched_b = [b[j] for j in range(lb) if taken[j]]
    transpositions = sum(x != y for x, y in zip(matched_a, matched_b, strict=True)) // 2
    jaro = (m / la + m / lb + (m - transpositions) / m) / 3
    common = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        common += 1
    return jaro + common * prefix_scale * (1 - jaro)


def _prefix_range(keys: list[str], prefix: str) -> tuple[int, int]:
    """Index range of the sorted ``keys`` that start with ``prefix``."""
    return bisect.bisect_left(keys, prefix), bisect.bisect_left(keys, prefix + "\uffff")


# Every territory with the label of its parent shown beside a hit: the département (of a
# commune, EPCI, canton, circonscription), the région (of a département) or the commune (of an
# arrondissement or commune déléguée). EPCI spanning several départements list them all.
_INDEX_SQL = """
WITH labels AS (
    SELECT m.level, m.code,
           string_agg(CASE WHEN m.parent_level = 'region' THEN p.name
                           ELSE p.name || ' (' || m.parent_code || ')' END, ' / ') AS parent
    FROM membership m
    JOIN territory p ON p.level = m.parent_level AND p.code = m.parent_code
    WHERE m.parent_level IN ('departement', 'commune')
       OR (m.level = 'departement' AND m.parent_level = 'region')
    GROUP BY m.level, m.code
)
SELECT t.level, t.code, t.name, t.name_norm, coalesce(t.population, -1) AS population,
       l.rank, labels.parent
FROM territory t
JOIN level l ON l.level = t.level
LEFT JOIN labels ON labels.level = t.level AND labels.code = t.code
"""

_NEEDS_PYTHON = re.compile(r"[œŒæÆßøØłŁđĐ]")
_ABBREVIATED = re.compile(r"\b(?:st|ste|sts|stes)\b")


def _encode_trigram(gram: str) -> int:
    return (ord(gram[0]) << 16) | (ord(gram[1]) << 8) | ord(gram[2])


def _norms(names: list[str], stored: list[str]) -> list[str]:
    """Normalised names: the knowledge base's ``name_norm`` unless :func:`normalise` differs.

    ``name_norm`` follows the same rules in SQL, except for ligatures and abbreviations;
    normalising only those few names again keeps the index build fast.
    """
    return [
        normalise(name) if _NEEDS_PYTHON.search(name) or _ABBREVIATED.search(norm) else norm
        for name, norm in zip(names, stored, strict=True)
    ]


def _first_of_runs(values: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Mask of the first element of each run of equal values in a sorted array."""
    return np.concatenate(([True], values[1:] != values[:-1]))


class NameIndex:
    """Normalised names with exact, whole-name prefix, word-prefix and trigram lookups.

    The territory index below and the people directory (:mod:`territoria.kb.people`) share it:
    ``norms`` are the normalised names (:func:`normalise`), ``importance`` a small bonus per
    name added to its fuzzy score. ``fuzzy=False`` leaves out the trigrams of whole names
    (the people directory looks typos up word by word instead).
    """

    def __init__(
        self, norms: list[str], importance: NDArray[np.float64], *, fuzzy: bool = True
    ) -> None:
        n = self.size = len(norms)
        self.norm = norms
        self.importance = importance
        self.norm_len = np.array([max(len(x), 1) for x in norms], dtype=np.float64)
        # Exact lookups: normalised name and the same without spaces ("saintetienne", "lhay").
        self.exact: dict[str, list[int]] = {}
        for i, norm in enumerate(norms):
            self.exact.setdefault(norm, []).append(i)
            if " " in norm:
                self.exact.setdefault(norm.replace(" ", ""), []).append(i)
        by_norm = sorted(range(n), key=norms.__getitem__)
        self.sorted_norms = [norms[i] for i in by_norm]
        self.sorted_norm_ids = np.array(by_norm, dtype=np.int64)
        self._build_words(norms)
        if fuzzy:
            self._build_trigrams(norms)

    def _build_words(self, norms: list[str]) -> None:
        """Word index in CSR form: the territories of a range of sorted words are one slice."""
        counts = [norm.count(" ") + 1 if norm else 0 for norm in norms]
        doc = np.repeat(np.arange(self.size, dtype=np.int64), counts)
        words, word = np.unique(np.array(" ".join(norms).split()), return_inverse=True)
        pairs = np.sort(word.astype(np.int64) * self.size + doc)
        pairs = pairs[_first_of_runs(pairs)]
        self.words: list[str] = words.tolist()
        self.word_ptr = np.concatenate(
            ([0], np.cumsum(np.bincount(pairs // self.size, minlength=len(words))))
        ).astype(np.int64)
        self.word_ids = pairs % self.size

    def _build_trigrams(self, norms: list[str]) -> None:
        """Trigram postings, built with array operations over all names at once."""
        # "  w1 " + "  w2 " == "  " + "w1   w2" + " ": every word padded as in pg_trgm.
        padded = ["  " + norm.replace(" ", "   ") + " " for norm in norms]
        lengths = np.array([len(p) for p in padded], dtype=np.int64)
        text = np.frombuffer("".join(padded).encode("ascii"), dtype=np.uint8).astype(np.int64)
        doc = np.repeat(np.arange(self.size, dtype=np.int64), lengths)
        c1, c2, c3 = text[:-2], text[1:-1], text[2:]
        # Drop trigrams across two names, and the "x  " / "   " ones that span two words.
        keep = (doc[:-2] == doc[2:]) & ~((c2 == 32) & (c3 == 32))
        codes = (c1 << 16) | (c2 << 8) | c3
        # Sorting beats np.unique's hashing on these integer keys by an order of magnitude.
        pairs = np.sort(doc[:-2][keep] << 24 | codes[keep])
        pairs = pairs[_first_of_runs(pairs)]
        pair_doc, pair_code = pairs >> 24, pairs & 0xFFFFFF
        self.gram_count = np.bincount(pair_doc, minlength=self.size).astype(np.float64)
        order = np.argsort(pair_code, kind="stable")
        self.gram_ids = pair_doc[order]
        sorted_codes = pair_code[order]
        first = np.flatnonzero(_first_of_runs(sorted_codes))
        self.gram_codes = sorted_codes[first]
        self.gram_start = first.astype(np.int64)
        self.gram_end = np.append(self.gram_start[1:], len(self.gram_ids))

    # ----------------------------------------------------------------------- matching

    def _word_prefix(self, tokens: list[str]) -> NDArray[np.int64]:
        """Territories where every query token starts one of the name's words."""
        found: NDArray[np.int64] | None = None
        for token in tokens:
            lo, hi = _prefix_range(self.words, token)
            ids = np.unique(self.word_ids[self.word_ptr[lo] : self.word_ptr[hi]])
            found = ids if found is None else np.intersect1d(found, ids, assume_unique=True)
            if not len(found):
                break
        return found if found is not None else np.empty(0, dtype=np.int64)

    def _fuzzy(
        self, norm: str, scores: NDArray[np.float64], allowed: NDArray[np.bool_] | None
    ) -> None:
        """Score candidates sharing trigrams with ``norm`` by Jaro-Winkler similarity."""
        wanted = np.array(sorted(_encode_trigram(g) for g in _trigrams(norm)), dtype=np.int64)
        at = np.searchsorted(self.gram_codes, wanted)
        inside = at < len(self.gram_codes)
        at = at[inside][self.gram_codes[at[inside]] == wanted[inside]]
        if not len(at):
            return
        hits = np.concatenate([self.gram_ids[self.gram_start[a] : self.gram_end[a]] for a in at])
        common = np.bincount(hits, minlength=self.size).astype(np.float64)
        dice = 2.0 * common / (len(wanted) + self.gram_count)
        if allowed is not None:
            dice[~allowed] = 0.0
        k = min(FUZZY_CANDIDATES, self.size)
        candidates = np.argpartition(-dice, k - 1)[:k]
        # Numbers are not typos: "paris 15" is not Paris, "lyon 3" not Lyon.
        numbers = _NUMBERS.findall(norm)
        for i in candidates[dice[candidates] >= 0.3]:
            if numbers and not all(n in self.norm[i] for n in numbers):
                continue
            sim = jaro_winkler(norm, self.norm[i])
            if sim >= FUZZY_THRESHOLD:
                value = sim + self.importance[i]
                if value > scores[i]:
                    scores[i] = value

    def score_names(
        self, norm: str, scores: NDArray[np.float64], allowed: NDArray[np.bool_] | None
    ) -> None:
        """Raise ``scores`` of the names matching ``norm``: exact, prefix, word prefix, fuzzy."""
        for key in {norm, norm.replace(" ", "")}:
            for i in self.exact.get(key, ()):
                scores[i] = max(scores[i], EXACT_NAME + self.importance[i])
        lo, hi = _prefix_range(self.sorted_norms, norm)
        ids = self.sorted_norm_ids[lo:hi]
        value = 0.9 + 0.1 * len(norm) / self.norm_len[ids] + self.importance[ids]
        scores[ids] = np.maximum(scores[ids], value)
        ids = self._word_prefix(norm.split())
        value = 0.85 + 0.1 * len(norm) / self.norm_len[ids] + self.importance[ids]
        scores[ids] = np.maximum(scores[ids], value)
        if len(norm) >= 3 and len(ids):
            # The whole query as whole words of a longer name ("Le Havre" in "Communauté
            # urbaine Le Havre Seine Métropole") beats any misspelling ("Le Gâvre").
            phrase = f" {norm} "
            whole = np.array(
                [i for i in ids.tolist() if phrase in f" {self.norm[i]} "], dtype=np.int64
            )
            if len(whole):
                value = PHRASE + 0.1 * len(norm) / self.norm_len[whole] + self.importance[whole]
                scores[whole] = np.maximum(scores[whole], value)
        if len(norm) >= 4:
            self._fuzzy(norm, scores, allowed)


class _Index(NameIndex):
    """Normalised names and codes of every territory, with prefix, word and trigram lookups."""

    def __init__(self, table: dict[str, Any], levels: dict[str, str]) -> None:
        self.levels = levels  # normalised spelling -> level key
        level_arr = np.asarray(table["level"], dtype=object)
        self.level: list[str] = level_arr.tolist()
        self.code: list[str] = np.asarray(table["code"], dtype=object).tolist()
        self.name: list[str] = np.asarray(table["name"], dtype=object).tolist()
        self.parent: list[str | None] = [
            " / ".join(sorted(label.split(" / "))) if label and " / " in label else label
            for label in np.ma.asarray(table["parent"]).tolist()
        ]
        n = len(self.code)
        self.population = np.asarray(table["population"], dtype=np.int64)
        self.rank = np.asarray(table["rank"], dtype=np.int64)
        importance = POPULATION_WEIGHT * np.log10(np.maximum(self.population, 0) + 1.0) / 7.0
        self.level_ids = {level: level_arr == level for level in set(self.level)}
        super().__init__(_norms(self.name, np.asarray(table["name_norm"]).tolist()), importance)
        # Exact lookups of upper-case codes.
        upper = [code.upper() for code in self.code]
        self.codes: dict[str, list[int]] = {}
        for i, code in enumerate(upper):
            self.codes.setdefault(code, []).append(i)
        self.code_len = np.array([len(x) for x in upper], dtype=np.float64)
        by_code = sorted(range(n), key=upper.__getitem__)
        self.sorted_codes = [upper[i] for i in by_code]
        self.sorted_code_ids = np.array(by_code, dtype=np.int64)
        # Final tie-break on the code, so that results do not depend on the rows' order.
        self.code_order = np.empty(n, dtype=np.int64)
        self.code_order[self.sorted_code_ids] = np.arange(n)

    def search(self, text: str, *, level: str | None, limit: int) -> list[SearchHit]:
        scores = np.full(self.size, -np.inf)
        allowed = None
        if level is not None:
            allowed = self.level_ids.get(level, np.zeros(self.size, dtype=bool))
        code = _SPACES.sub("", text).upper()
        norm = normalise(text)
        if code:
            for i in self.codes.get(code, ()):
                scores[i] = EXACT_CODE
            if any(c.isdigit() for c in code) and len(code) >= 2:
                lo, hi = _prefix_range(self.sorted_codes, code)
                ids = self.sorted_code_ids[lo:hi]
                value = 0.9 + 0.1 * len(code) / self.code_len[ids] + self.importance[ids]
                scores[ids] = np.maximum(scores[ids], value)
        if norm:
            self.score_names(norm, scores, allowed)
        if allowed is not None:
            scores[~allowed] = -np.inf
        found = np.flatnonzero(scores > 0)
        order = np.lexsort(
            (self.code_order[found], -self.population[found], self.rank[found], -scores[found])
        )
        return [self._hit(int(i), float(scores[i])) for i in found[order[:limit]]]

    def _hit(self, i: int, score: float) -> SearchHit:
        population = int(self.population[i])
        return SearchHit(
            level=self.level[i],
            code=self.code[i],
            name=self.name[i],
            population=None if population < 0 else population,
            parent=self.parent[i],
            score=round(score, 4),
        )


# In-memory indexes of each connection, by name, with the fingerprint they were built for.
_CACHE: weakref.WeakKeyDictionary[
    duckdb.DuckDBPyConnection, dict[str, tuple[tuple[Any, ...], Any]]
] = weakref.WeakKeyDictionary()

_T = TypeVar("_T")


def fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> tuple[Any, ...]:
    """What changes when an import rewrites ``table`` (new source rows, a new row count)."""
    row = con.execute(
        f"SELECT (SELECT count(*) FROM {table}), (SELECT max(id) FROM source), "
        "(SELECT max(imported_at) FROM source)"
    ).fetchone()
    return tuple(row) if row else ()


def cached_index(
    con: duckdb.DuckDBPyConnection, name: str, key: tuple[Any, ...], build: Callable[[], _T]
) -> _T:
    """Return this connection's in-memory index ``name``, built again when ``key`` changes.

    ``key`` is the knowledge base's state the index was built from (see :func:`fingerprint`):
    an import changes it, other writes (an action logged, a user added) do not.
    """
    entries = _CACHE.setdefault(con, {})
    cached = entries.get(name)
    if cached is not None and cached[0] == key:
        return cast("_T", cached[1])
    index = build()
    entries[name] = (key, index)
    return index


def _levels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Accepted spellings of each level: its key and its French and English labels."""
    rows = con.execute("SELECT level, label_fr, label_en FROM level").fetchall()
    return _spellings(tuple(tuple(row) for row in rows))


@functools.lru_cache(maxsize=8)
def _spellings(rows: tuple[tuple[str, str, str], ...]) -> dict[str, str]:
    """Normalised spellings of the levels (cached: every page and API call resolves one).

    Callers must not modify the dictionary returned.
    """
    spellings: dict[str, str] = {}
    for key, label_fr, label_en in rows:
        for spelling in (key, label_fr, label_en):
            spellings[normalise(spelling).replace(" ", "_")] = key
    return spellings


def _index(con: duckdb.DuckDBPyConnection) -> _Index:
    """Return the search index of this connection, building it on first use or after an import."""
    key = fingerprint(con, "territory")
    if not key or not key[0]:
        msg = (
            "the knowledge base holds no territories yet: run 'territoria import france' "
            "(or pass --db PATH to another knowledge base)"
        )
        raise EmptyKnowledgeBase(msg)
    return cached_index(
        con, "territories", key, lambda: _Index(con.execute(_INDEX_SQL).fetchnumpy(), _levels(con))
    )


def resolve_level(con: duckdb.DuckDBPyConnection, level: str) -> str:
    """Return the level key for ``level`` (``"Région"``, ``"departement"``, ``"EPCI"`` ...).

    Raises
    ------
    UnknownLevel
        When no level of the knowledge base is spelt so.
    """
    levels = _levels(con)
    key = levels.get(normalise(level).replace(" ", "_"))
    if key is None:
        known = ", ".join(sorted(set(levels.values())))
        msg = f"unknown level {level!r}: choose one of {known}"
        raise UnknownLevel(msg)
    return key


def search(
    con: duckdb.DuckDBPyConnection,
    text: str,
    *,
    level: str | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """Find territories whose name or code matches ``text``, best first.

    Parameters
    ----------
    con
        Open knowledge base (read-only is enough).
    text
        A name or a code, in any case, with or without accents, abbreviated (``St-Étienne``),
        partly typed (``renn``) or misspelt (``marseile``).
    level
        Only territories of this level (``commune``, ``epci``, ``departement``, ``region``,
        ``canton``, ``circonscription`` ...; French labels are accepted).
    limit
        Maximum number of hits.

    Returns
    -------
    list[SearchHit]
        At most ``limit`` hits; empty when nothing is close enough.

    Raises
    ------
    EmptyKnowledgeBase
        When nothing has been imported yet.
    UnknownLevel
        When ``level`` is not a level of the knowledge base.
    InvalidQuery
        When ``limit`` is not positive.
    """
    if limit < 1:
        msg = f"limit must be at least 1, not {limit!r}"
        raise InvalidQuery(msg)
    index = _index(con)
    key = None
    if level is not None:
        key = index.levels.get(normalise(level).replace(" ", "_"))
        if key is None:
            key = resolve_level(con, level)  # raises with the list of levels
    if not text.strip():
        return []
    return index.search(text, level=key, limit=limit)
