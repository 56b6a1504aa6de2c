"""The people directory: find an elected official by name, read everything about one person.

Some 510,000 persons hold the 577,000 mandates of the knowledge base. Their names are split
into words once per connection (after each import) and kept in memory: the words form a
:class:`~territoria.kb.search.NameIndex` (exact, prefix and trigram lookups of the territory
search), each word points to the persons whose name holds it. A query matches a person when
each of its words is a word of her name, the start of one (as one types: ``dadkha``) or a near
spelling (``apere`` for Appéré), whatever the accents and case.

Ranking, best first:

1. the whole name (``nathalie appere``, ``Appéré Nathalie``);
2. every query word a whole word of the name (``gatel``);
3. words being typed (``dadkha forough``), then near spellings (``apere``);

and within each tier the weight of the person's current mandates: a senator before a municipal
councillor of the same name, the mayor of Rennes before that of a village.
"""

from __future__ import annotations

import bisect
import json
import re
from datetime import date, datetime
from typing import Any, Literal

import duckdb
import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from territoria.errors import AmbiguousPerson, EmptyKnowledgeBase, InvalidQuery, UnknownPerson
from territoria.kb.search import NameIndex, _trigrams, cached_index, fingerprint, normalise

__all__ = [
    "MergeRow",
    "PersonAction",
    "PersonContact",
    "PersonHit",
    "PersonMandate",
    "PersonPage",
    "PersonPlan",
    "PersonTitle",
    "merges",
    "person",
    "resolve_person",
    "search_persons",
]

#: Scores of the match tiers (the mandates' weight adds at most WEIGHT).
WHOLE_NAME, ALL_WORDS, PREFIX, TYPO = 3.0, 1.0, 0.8, 0.55
#: How much the weight of the current mandates (0 to 1) adds to a match's score.
WEIGHT = 0.3
#: Titles shown with each hit.
TITLES_PER_HIT = 3

_PERSON_ID = re.compile(r"^p-[0-9a-f]{6,}$")
MergeReason = Literal["spelling", "day_month_swapped"]
MERGE_REASONS: tuple[str, ...] = ("spelling", "day_month_swapped")


class PersonTitle(BaseModel):
    """A current mandate as a hit shows it: 'sénatrice', Sénat, Ille-et-Vilaine."""

    label: str = Field(description="Title in the person's gender ('vice-présidente').")
    body: str = Field(description="Name of the council or assembly.")
    territory: str | None = Field(default=None, description="Territory the mandate is for.")
    level: str | None = None
    code: str | None = None

    def text(self) -> str:
        """One line: 'maire, Conseil municipal de Rennes'."""
        where = f" ({self.territory})" if self.territory and self.territory not in self.body else ""
        return f"{self.label}, {self.body}{where}"


class PersonHit(BaseModel):
    """One person found by :func:`search_persons`."""

    id: str
    name: str = Field(description="First name and last name as the source writes them.")
    birth_year: int | None
    titles: list[PersonTitle] = Field(description="Main current mandates, weightiest first.")
    score: float

    def to_dict(self) -> dict[str, Any]:
        """Return the hit as JSON-able data."""
        return self.model_dump(mode="json")


class PersonMandate(BaseModel):
    """One mandate of a person, current or past, with its body, territory and source."""

    role: str = Field(description="Title of the mandate in the person's gender.")
    function: str | None = Field(description="Function inside the body ('maire', 'présidente').")
    body_id: str
    body: str
    body_kind: str
    level: str | None = Field(description="Level of the territory the mandate is for.")
    code: str | None
    territory: str | None
    start_date: date | None
    function_start_date: date | None
    end_date: date | None
    current: bool
    group: str | None
    party: str | None
    date_flag: str | None = Field(
        description="'day_month_swapped' (date corrected) or 'implausible' (as in the source)."
    )
    start_date_source: str | None = Field(description="The start date as the source wrote it.")
    function_start_date_source: str | None
    source: str = Field(description="Source file, e.g. 'senateurs.csv'.")
    source_version: str | None
    retrieved_at: datetime | None


class PersonContact(BaseModel):
    """A way to reach the person that the source publishes (senators' e-mails)."""

    kind: str
    email: str | None
    phone: str | None
    website: str | None
    address: str | None
    source: str | None


class MergeRow(BaseModel):
    """A spelling or birth-date variant of a person that the import merged into one."""

    person_id: str
    name: str = Field(description="The person kept, as written.")
    last_name: str = Field(description="The variant's last name as its source writes it.")
    first_name: str
    birth_date: str | None = Field(description="The variant's birth date as written.")
    reason: str = Field(description="'spelling' (case or accents) or 'day_month_swapped'.")
    mandates: int
    datasets: str


class PersonAction(BaseModel):
    """A logged action (meeting, letter ...) that involved the person."""

    id: int
    date: date
    type: str
    subject: str
    outcome: str
    created_by: str


class PersonPlan(BaseModel):
    """A saved influence plan that involves the person."""

    id: str
    status: str
    owner: str
    created_at: datetime | None
    theme: str | None
    level: str | None
    code: str | None
    roles: list[str] = Field(description="'seed' (to engage), 'target' (decision-maker).")


class PersonPage(BaseModel):
    """Everything the knowledge base knows about one person."""

    id: str
    first_name: str
    last_name: str
    name: str
    sex: str | None
    birth_date: date | None
    birth_date_alt: date | None = Field(
        description="The birth date another source gives (day and month swapped)."
    )
    profession: str | None
    current: list[PersonMandate]
    past: list[PersonMandate]
    contacts: list[PersonContact]
    merges: list[MergeRow]
    actions: list[PersonAction]
    plans: list[PersonPlan]

    def to_dict(self) -> dict[str, Any]:
        """Return the page as JSON-able data."""
        return self.model_dump(mode="json")


# ---------------------------------------------------------------------------- the index

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
       o.name AS body, t.name AS territory, m.level, m.code, {_WEIGHT_SQL} AS weight
FROM mandate m
JOIN organisation o ON o.id = m.organisation_id
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
# a little more for each other mandate); titles numbered, spelt out on their first row only.
_TITLES_SQL = f"""
WITH {_NUMBERED},
cur AS (SELECT p.i, c.*,
               row_number() OVER (PARTITION BY p.i ORDER BY c.weight DESC, c.body) AS r,
               max(c.weight) OVER (PARTITION BY p.i)
                 + 0.02 * (count(*) OVER (PARTITION BY p.i) - 1) AS total
        FROM ({_CURRENT_SQL}) c JOIN p ON p.id = c.person_id),
top AS (SELECT *, dense_rank() OVER (ORDER BY label, body, territory, level, code) - 1 AS t
        FROM cur WHERE r <= {TITLES_PER_HIT}),
spelt AS (SELECT *, row_number() OVER (PARTITION BY t) = 1 AS first FROM top)
SELECT i, t, least(total, 1.0) AS weight,
       CASE WHEN first THEN label END AS label, CASE WHEN first THEN body END AS body,
       CASE WHEN first THEN territory END AS territory,
       CASE WHEN first THEN level END AS level, CASE WHEN first THEN code END AS code,
       first
FROM spelt ORDER BY i, r
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


_Title = tuple[str, str, str | None, str | None, str | None]


class _PersonIndex:
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
        self.title_ids = np.asarray(rows["t"], dtype=np.int64)
        self.title_ptr = _csr(person, self.size)
        # the weight of a person's mandates, on each of her rows
        self.weight = np.zeros(self.size)
        self.weight[person] = WEIGHT * np.asarray(rows["weight"], dtype=np.float64)
        first = np.asarray(rows["first"], dtype=bool)
        order = np.argsort(self.title_ids[first])
        columns = [
            np.ma.asarray(rows[c])[first][order].tolist()
            for c in ("label", "body", "territory", "level", "code")
        ]
        self.titles: list[_Title] = list(zip(*columns, strict=True))

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

    def search(self, norm: str, *, limit: int, typos: bool = False) -> list[PersonHit]:
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
        return [self._hit(int(found[i]), float(total[i])) for i in order]

    def _hit(self, i: int, score: float) -> PersonHit:
        titles = self.title_ids[self.title_ptr[i] : self.title_ptr[i + 1]]
        return PersonHit(
            id=self.ids[i],
            name=self.names[i],
            birth_year=self.birth_year[i],
            titles=[
                PersonTitle(label=t[0], body=t[1], territory=t[2], level=t[3], code=t[4])
                for t in (self.titles[t] for t in titles)
            ],
            score=round(score, 4),
        )


def _index(con: duckdb.DuckDBPyConnection) -> _PersonIndex:
    key = fingerprint(con, "person")
    if not key or not key[0]:
        msg = (
            "the knowledge base holds no persons yet: run 'territoria import france' "
            "(or pass --db PATH to another knowledge base)"
        )
        raise EmptyKnowledgeBase(msg)
    return cached_index(con, "persons", key, lambda: _PersonIndex(con))


def search_persons(
    con: duckdb.DuckDBPyConnection, text: str, *, limit: int = 10
) -> list[PersonHit]:
    """Find elected officials by name, best first.

    Parameters
    ----------
    con
        Open knowledge base (read-only is enough).
    text
        A name or part of one, in any order, case and accents (``appere``, ``Gatel``,
        ``dadkha forough``), misspelt (``apere``).
    limit
        Maximum number of hits.

    Returns
    -------
    list[PersonHit]
        At most ``limit`` hits with their main current titles; empty when nothing is close.

    Raises
    ------
    EmptyKnowledgeBase
        When no person has been imported yet.
    InvalidQuery
        When ``limit`` is not positive.
    """
    if limit < 1:
        msg = f"limit must be at least 1, not {limit!r}"
        raise InvalidQuery(msg)
    index = _index(con)
    ident = text.strip().lower()
    if _PERSON_ID.match(ident):
        # an id pasted in the box: that person (forms resolve a chosen suggestion so)
        at = bisect.bisect_left(index.ids, ident)
        found = at < index.size and index.ids[at] == ident
        return [index._hit(at, WHOLE_NAME + float(index.weight[at]))] if found else []
    norm = normalise(text)
    if not norm:
        return []
    # 'natalie apere': each word is some name's word, or the start of one, but no person
    # has both; near spellings of every word then
    return index.search(norm, limit=limit) or index.search(norm, limit=limit, typos=True)


# ---------------------------------------------------------------------------- one person

_MANDATES_SQL = """
SELECT coalesce(m.role_label, m.role), coalesce(m.function_label, m.function),
       o.id, o.name, o.kind, m.level, m.code, t.name,
       m.start_date, m.function_start_date, m.end_date, m.end_date IS NULL,
       m.group_name, m.party, m.date_flag, m.start_date_source, m.function_start_date_source,
       s.dataset, s.version, s.retrieved_at
FROM mandate m
JOIN organisation o ON o.id = m.organisation_id
LEFT JOIN territory t ON t.level = m.level AND t.code = m.code
LEFT JOIN source s ON s.id = m.source_id
WHERE m.person_id = ?
ORDER BY m.end_date IS NULL DESC, coalesce(m.function_start_date, m.start_date) DESC NULLS LAST,
         o.name
"""
_MANDATE_FIELDS = tuple(
    name for name in PersonMandate.model_fields if name not in ("source_version", "retrieved_at")
)


def _mandate(row: tuple[Any, ...]) -> PersonMandate:
    data = dict(zip((*_MANDATE_FIELDS, "source_version", "retrieved_at"), row, strict=True))
    data["source"] = data["source"] or "?"
    return PersonMandate.model_validate(data)


def _name(first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}"


def _plans(con: duckdb.DuckDBPyConnection, person_id: str) -> list[PersonPlan]:
    """Saved plans whose targets, chosen actors or result name the person."""
    pattern = f'%"{person_id}"%'
    rows = con.execute(
        "SELECT id, status, owner, created_at, params, result FROM job "
        "WHERE kind = 'plan' AND (params LIKE ? OR result LIKE ?) ORDER BY created_at DESC",
        [pattern, pattern],
    ).fetchall()
    plans = []
    for job_id, status, owner, created_at, params_text, result_text in rows:
        params = json.loads(params_text or "{}")
        result = json.loads(result_text or "null") or {}
        roles = []
        if any(s.get("id") == person_id for s in result.get("seeds") or []):
            roles.append("seed")
        targets = [*(result.get("targets") or []), *(params.get("targets") or [])]
        if any(t.get("id") == person_id for t in targets if isinstance(t, dict)):
            roles.append("target")
        plans.append(
            PersonPlan(
                id=job_id,
                status=status,
                owner=owner,
                created_at=created_at,
                theme=params.get("theme"),
                level=params.get("level"),
                code=params.get("code"),
                roles=roles or ["mentioned"],
            )
        )
    return plans


def person(con: duckdb.DuckDBPyConnection, person_id: str) -> PersonPage:
    """Everything about one person: mandates, contacts, merges, actions and plans.

    Raises
    ------
    UnknownPerson
        No person has this id.
    """
    row = con.execute(
        "SELECT id, first_name, last_name, sex, birth_date, birth_date_alt, profession "
        "FROM person WHERE id = ?",
        [person_id],
    ).fetchone()
    if row is None:
        msg = f"no person with id {person_id!r}: find one with 'territoria people search NAME'"
        raise UnknownPerson(msg)
    mandates = [_mandate(r) for r in con.execute(_MANDATES_SQL, [person_id]).fetchall()]
    contacts = con.execute(
        "SELECT c.kind, c.email, c.phone, c.website, c.address, s.dataset FROM contact c "
        "LEFT JOIN source s ON s.id = c.source_id WHERE c.level = 'person' AND c.code = ? "
        "ORDER BY c.kind",
        [person_id],
    ).fetchall()
    actions = con.execute(
        "SELECT a.id, a.date, a.type, a.subject, coalesce(a.outcome, 'unknown'), "
        "coalesce(a.created_by, '') FROM action a JOIN action_actor x ON x.action_id = a.id "
        "WHERE x.actor_id = ? AND a.deleted_at IS NULL ORDER BY a.date DESC, a.id DESC",
        [person_id],
    ).fetchall()
    name = _name(row[1], row[2])
    return PersonPage(
        id=row[0],
        first_name=row[1],
        last_name=row[2],
        name=name,
        sex=row[3],
        birth_date=row[4],
        birth_date_alt=row[5],
        profession=row[6],
        current=[m for m in mandates if m.current],
        past=[m for m in mandates if not m.current],
        contacts=[
            PersonContact(
                kind=c[0], email=c[1], phone=c[2], website=c[3], address=c[4], source=c[5]
            )
            for c in contacts
        ],
        merges=merges(con, person_id=person_id),
        actions=[
            PersonAction(id=a[0], date=a[1], type=a[2], subject=a[3], outcome=a[4], created_by=a[5])
            for a in actions
        ],
        plans=_plans(con, person_id),
    )


def merges(
    con: duckdb.DuckDBPyConnection,
    *,
    reason: str | None = None,
    person_id: str | None = None,
    limit: int | None = None,
) -> list[MergeRow]:
    """The merge report: source rows of one person whose spelling or birth date differed.

    Parameters
    ----------
    reason
        Only merges for this reason: ``spelling`` (case or accents) or ``day_month_swapped``
        (the birth date with day and month swapped in one source).
    person_id
        Only the merges into this person.
    limit
        At most this many rows (all by default).

    Raises
    ------
    InvalidQuery
        When ``reason`` is not one of the two or ``limit`` is not positive.
    """
    if reason is not None and reason not in MERGE_REASONS:
        msg = f"unknown merge reason {reason!r}: choose {' or '.join(MERGE_REASONS)}"
        raise InvalidQuery(msg)
    if limit is not None and limit < 1:
        msg = f"limit must be at least 1, not {limit!r}"
        raise InvalidQuery(msg)
    rows = con.execute(
        "SELECT g.person_id, p.first_name || ' ' || p.last_name, g.last_name, g.first_name, "
        "g.birth_date, g.reason, g.mandates, g.datasets FROM person_merge g "
        "JOIN person p ON p.id = g.person_id "
        "WHERE (? IS NULL OR g.reason = ?) AND (? IS NULL OR g.person_id = ?) "
        "ORDER BY p.last_name, p.first_name, g.person_id, g.datasets "
        + ("LIMIT ?" if limit is not None else ""),
        [reason, reason, person_id, person_id, *([limit] if limit is not None else [])],
    ).fetchall()
    fields = MergeRow.model_fields
    return [MergeRow.model_validate(dict(zip(fields, r, strict=True))) for r in rows]


def resolve_person(con: duckdb.DuckDBPyConnection, text: str) -> PersonPage:
    """The person whose id is ``text``, or the one person whose whole name it is.

    Raises
    ------
    UnknownPerson
        No person has this id, and no name comes close.
    AmbiguousPerson
        The name fits several persons; their ids are in ``candidates``.
    """
    ident = text.strip()
    if ident.startswith("p-"):
        return person(con, ident)
    hits = search_persons(con, ident, limit=10)
    if not hits:
        msg = f"no person is named like {text!r}: try 'territoria people search {text}'"
        raise UnknownPerson(msg)
    best = [h for h in hits if h.score >= WHOLE_NAME] or hits
    if len(best) == 1:
        return person(con, best[0].id)
    lines = [f"{h.id}  {h.name}" + (f" ({h.birth_year})" if h.birth_year else "") for h in best]
    msg = f"{len(best)} persons match {text!r}: give one of their ids"
    raise AmbiguousPerson(msg, candidates=lines)
