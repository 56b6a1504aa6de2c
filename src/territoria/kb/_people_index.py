"""The in-memory index of the people directory (see :mod:`territoria.kb.people`).

Names are split into words in SQL, persons numbered in id order; each word points to the
persons whose name holds it (rows of a CSR matrix), and the vocabulary of words is a
:class:`~territoria.kb.search.NameIndex` for prefixes and near spellings. The weightiest
current mandates of each person, and their weight, are loaded alongside.
"""

from __future__ import annotations

import bisect

import duckdb
import numpy as np
from numpy.typing import NDArray

from territoria.kb.search import NameIndex, _trigrams

__all__ = [
    "ALL_WORDS",
    "PREFIX",
    "TITLES_PER_HIT",
    "TYPO",
    "WEIGHT",
    "WHOLE_NAME",
    "PersonIndex",
    "Title",
]

#: Scores of the match tiers (the mandates' weight adds at most WEIGHT).
WHOLE_NAME, ALL_WORDS, PREFIX, TYPO = 3.0, 1.0, 0.8, 0.55
#: How much the weight of the current mandates (0 to 1) adds to a match's score.
WEIGHT = 0.3
#: Titles kept for each person.
TITLES_PER_HIT = 3

# SQL spelling of :func:`normalise` (ligatures, accents, punctuation) for person names.
_NORM_SQL = (
    "trim(regexp_replace(strip_accents(lower(replace(replace(replace("
    "{x}, 'œ', 'oe'), 'æ', 'ae'), 'Œ', 'oe'))), '[^a-z0-9]+', ' ', 'g'))"
)

# Weight of a current mandate, 0 to 1: national and European mandates and executives of
# régions and départements weigh most, mayors and EPCI presidents with their population.
_POP = "coalesce(log10(greatest(t.population, 0) + 1) / 7, 0)"
_WEIGHT_SQL = f"""
CASE
    WHEN m.function = 'président' AND m.role = 'conseiller régional' THEN 1.0
    WHEN m.function = 'président' AND m.role = 'conseiller départemental' THEN 0.95
    WHEN m.role IN ('sénateur', 'député', 'député européen') THEN 0.9
    WHEN m.function IN ('président', 'président du conseil exécutif') THEN 0.55 + 0.3 * {_POP}
    WHEN m.function = 'maire' THEN 0.4 + 0.45 * {_POP}
    WHEN m.function = 'vice-président' AND m.role <> 'conseiller communautaire' THEN 0.6
    WHEN m.role IN ('conseiller régional', 'conseiller départemental') THEN 0.5
    WHEN m.function IS NOT NULL THEN 0.2 + 0.15 * {_POP}
    WHEN m.role = 'conseiller communautaire' THEN 0.12
    ELSE 0.05 + 0.1 * {_POP}
END"""

_CURRENT_SQL = f"""
SELECT m.person_id,
       coalesce(m.function_label, m.function, m.role_label, m.role) AS label,
       m.organisation_id, m.level, m.code, {_WEIGHT_SQL} AS weight
FROM mandate m
LEFT JOIN territory t ON t.level = m.level AND t.code = m.code
WHERE m.end_date IS NULL
"""

# Persons numbered in id order (as _PERSONS_SQL returns them).
_NUMBERED = "p AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM person)"
_PERSONS_SQL = """
SELECT id, first_name || ' ' || last_name AS name, year(birth_date) AS birth_year
FROM person ORDER BY id
"""
# The words of the names, numbered in sorted order; the word of each (word, person) posting,
# spelt out on its first posting only.
_POSTINGS_SQL = f"""
WITH {_NUMBERED},
pw AS (SELECT DISTINCT p.i, unnest(string_split(
           {_NORM_SQL.format(x="person.first_name || ' ' || person.last_name")}, ' ')) AS word
       FROM person JOIN p USING (id)),
v AS (SELECT i, word, dense_rank() OVER (ORDER BY word) - 1 AS w FROM pw WHERE word <> '')
SELECT w, i, CASE WHEN row_number() OVER (PARTITION BY w ORDER BY i) = 1 THEN word END AS word
FROM v ORDER BY w, i
"""
# The weightiest current mandates of each person with her weight (the weight of the first,
# a little more for each other mandate); each title (label, body, territory) as a hash, the
# names of bodies and territories looked up once (sorting the strings would cost seconds).
_TITLES_SQL = f"""
WITH {_NUMBERED},
cur AS (SELECT p.i, c.*,
               row_number() OVER (PARTITION BY p.i ORDER BY c.weight DESC, c.organisation_id)
                 AS r,
               max(c.weight) OVER (PARTITION BY p.i)
                 + 0.02 * (count(*) OVER (PARTITION BY p.i) - 1) AS total
        FROM ({_CURRENT_SQL}) c JOIN p ON p.id = c.person_id)
SELECT i, least(total, 1.0) AS weight, hash(label, organisation_id, level, code) AS kind,
       label, organisation_id, level, code
FROM cur WHERE r <= {TITLES_PER_HIT} ORDER BY i, r
"""


def _typo_bonus(token: str, word: str, similarity: float) -> float:
    """0 to 0.2: Jaro-Winkler ``similarity`` averaged with the share of common trigrams.

    Trigrams tell 'appere' (one letter missing from 'apere') from 'pere' (one letter too
    many), which Jaro-Winkler scores nearly alike.
    """
    mine, theirs = _trigrams(token), _trigrams(word)
    dice = 2 * len(mine & theirs) / (len(mine) + len(theirs))
    return 0.5 * max((min(similarity, 1.0) + dice) / 2 - 0.6, 0.0)


def _csr(keys: NDArray[np.int64], size: int) -> NDArray[np.int64]:
    """Row pointers of rows sorted by ``keys``: the rows of key k are ptr[k]:ptr[k + 1]."""
    return np.concatenate(([0], np.cumsum(np.bincount(keys, minlength=size)))).astype(np.int64)


#: A title: label, body, territory name, level and code.
Title = tuple[str, str, str | None, str | None, str | None]


class PersonIndex:
    """Names of every person split into words, the words in a :class:`NameIndex`."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        table = con.execute(_PERSONS_SQL).fetchnumpy()
        self.ids: list[str] = table["id"].tolist()
        self.names: list[str] = table["name"].tolist()
        self.size = n = len(self.ids)
        self.birth_year: list[int | None] = np.ma.asarray(table["birth_year"]).tolist()
        # One posting per (word, person): persons of word w are word_docs[word_ptr[w]:...].
        postings = con.execute(_POSTINGS_SQL).fetchnumpy()
        word = np.asarray(postings["w"], dtype=np.int64)
        self.word_docs = np.asarray(postings["i"], dtype=np.int64)
        spelt = np.ma.asarray(postings["word"])
        self.words: list[str] = spelt[~np.ma.getmaskarray(spelt)].tolist()
        self.word_ptr = _csr(word, len(self.words))
        self.word_count = np.bincount(self.word_docs, minlength=n).astype(np.int64)
        self.vocabulary = NameIndex(self.words, np.zeros(len(self.words)))
        self.word_len = self.vocabulary.norm_len
        self._load_titles(con)

    def _load_titles(self, con: duckdb.DuckDBPyConnection) -> None:
        rows = con.execute(_TITLES_SQL).fetchnumpy()
        person = np.asarray(rows["i"], dtype=np.int64)
        self.title_ptr = _csr(person, self.size)
        # the weight of a person's mandates, on each of her rows
        self.weight = np.zeros(self.size)
        self.weight[person] = WEIGHT * np.asarray(rows["weight"], dtype=np.float64)
        _, first, inverse = np.unique(rows["kind"], return_index=True, return_inverse=True)
        self.title_ids = inverse.astype(np.int64).ravel()
        bodies = dict(con.execute("SELECT id, name FROM organisation").fetchall())
        places = {
            (level, code): name
            for level, code, name in con.execute(
                "SELECT level, code, name FROM territory"
            ).fetchall()
        }
        labels, orgs, levels, codes = (
            np.ma.asarray(rows[c])[first].tolist()
            for c in ("label", "organisation_id", "level", "code")
        )
        self.titles: list[Title] = [
            (label, bodies.get(org, org), places.get((level, code)), level, code)
            for label, org, level, code in zip(labels, orgs, levels, codes, strict=True)
        ]

    # ----------------------------------------------------------------------- matching

    def _token(self, token: str, *, typos: bool) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Persons having a word that is ``token``, starts with it or (``typos``, or when no
        word is ``token``) is spelt nearly so."""
        lo = bisect.bisect_left(self.words, token)
        hi = bisect.bisect_left(self.words, token + "\uffff")
        word_ids = np.arange(lo, hi, dtype=np.int64)
        value = PREFIX + 0.1 * len(token) / self.word_len[word_ids]
        exact = lo < hi and self.words[lo] == token
        if exact:
            value[0] = ALL_WORDS
        if (typos or not exact) and len(token) >= 4:
            # a typo: near spellings of the word (Jaro-Winkler over words sharing trigrams)
            near = np.full(self.vocabulary.size, -np.inf)
            self.vocabulary.score_names(token, near, None)
            near[lo:hi] = -np.inf
            close = np.flatnonzero(near > 0)
            word_ids = np.concatenate((word_ids, close))
            value = np.concatenate(
                (value, [TYPO + _typo_bonus(token, self.words[w], near[w]) for w in close])
            )
        starts, ends = self.word_ptr[word_ids], self.word_ptr[word_ids + 1]
        lengths = ends - starts
        if not lengths.sum():
            return np.empty(0, dtype=np.int64), np.empty(0)
        docs = np.concatenate([self.word_docs[s:e] for s, e in zip(starts, ends, strict=True)])
        return docs, np.repeat(value, lengths)

    def search(self, norm: str, *, limit: int, typos: bool = False) -> list[tuple[int, float]]:
        """Persons matching ``norm`` (a normalised query) as (row, score), best first."""
        tokens = norm.split()
        scores: NDArray[np.float64] | None = None
        whole: NDArray[np.bool_] | None = None
        for token in tokens:
            docs, value = self._token(token, typos=typos)
            best = np.zeros(self.size)
            np.maximum.at(best, docs, value)
            scores = best if scores is None else np.minimum(scores, best)
            exact = best >= ALL_WORDS
            whole = exact if whole is None else whole & exact
        if scores is None or whole is None:
            return []
        # every query word a whole word, and no other word: the whole name, in any order
        whole &= self.word_count == len(tokens)
        scores[whole] = WHOLE_NAME
        found = np.flatnonzero(scores > 0)
        total = scores[found] + self.weight[found]
        if len(found) > limit:
            top = np.argpartition(-total, limit - 1)[:limit]
            found, total = found[top], total[top]
        order = sorted(range(len(found)), key=lambda i: (-total[i], self.names[found[i]]))
        return [(int(found[i]), float(total[i])) for i in order]

    def find(self, person_id: str) -> int | None:
        """Row of the person ``person_id``, if any."""
        at = bisect.bisect_left(self.ids, person_id)
        return at if at < self.size and self.ids[at] == person_id else None

    def titles_of(self, i: int) -> list[Title]:
        """The weightiest current mandates of row ``i``: (label, body, territory, level, code)."""
        return [self.titles[t] for t in self.title_ids[self.title_ptr[i] : self.title_ptr[i + 1]]]
