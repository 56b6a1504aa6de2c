"""The people directory: find an elected official by name, read everything about one person.

Some 510,000 persons hold the 577,000 mandates of the knowledge base. Their names are split
into words once per connection (after each import) and kept in memory
(:mod:`territoria.kb._people_index`): the words form a
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

import json
import re
import weakref
from datetime import date, datetime
from typing import Any

import duckdb
from pydantic import BaseModel, Field

from territoria.errors import AmbiguousPerson, EmptyKnowledgeBase, InvalidQuery, UnknownPerson
from territoria.kb._people_index import WHOLE_NAME, PersonIndex
from territoria.kb._transaction import generation
from territoria.kb.search import cached_index, fingerprint, normalise

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

_PERSON_ID = re.compile(r"^p-[0-9a-f]{6,}$")
_ARTICLE = re.compile(r"^(?:le|la|les|l) ")
MERGE_REASONS: tuple[str, ...] = ("spelling", "day_month_swapped")


class PersonTitle(BaseModel):
    """A current mandate as a hit shows it: 'sénatrice', Sénat, Ille-et-Vilaine."""

    label: str = Field(description="Title in the person's gender ('vice-présidente').")
    body: str = Field(description="Name of the council or assembly.")
    territory: str | None = Field(default=None, description="Territory the mandate is for.")
    level: str | None = None
    code: str | None = None

    def text(self) -> str:
        """One line: 'maire, Conseil municipal de Rennes', 'sénatrice, Sénat (Finistère)'."""
        if not self.territory:
            return f"{self.label}, {self.body}"
        # the body's name holds its territory's ('Conseil municipal du Chesnay-Rocquencourt')
        place = _ARTICLE.sub("", normalise(self.territory))
        if place in normalise(self.body):
            return f"{self.label}, {self.body}"
        return f"{self.label}, {self.body} ({self.territory})"


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
    reason: str = Field(
        description="'kept' (the spelling and date kept), 'spelling' (case or accents) or "
        "'day_month_swapped'."
    )
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


# The fingerprint of the persons (three queries) as last computed on each connection, with
# the write generation it was computed at: a search costs one query while nothing is written.
_CHECKED: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, tuple[int, tuple[Any, ...]]] = (
    weakref.WeakKeyDictionary()
)


def _index(con: duckdb.DuckDBPyConnection) -> PersonIndex:
    written = generation(con)
    checked = _CHECKED.get(con)
    if checked is not None and checked[0] == written:
        key = checked[1]
    else:
        key = fingerprint(con, "person")
        _CHECKED[con] = (written, key)
    if not key or not key[0]:
        msg = (
            "the knowledge base holds no persons yet: run 'territoria import france' "
            "(or pass --db PATH to another knowledge base)"
        )
        raise EmptyKnowledgeBase(msg)
    return cached_index(con, "persons", key, lambda: PersonIndex(con))


def _hit(index: PersonIndex, i: int, score: float) -> PersonHit:
    return PersonHit(
        id=index.ids[i],
        name=index.names[i],
        birth_year=index.birth_year[i],
        titles=[
            PersonTitle(label=label, body=body, territory=territory, level=level, code=code)
            for label, body, territory, level, code in index.titles_of(i)
        ],
        score=round(score, 4),
    )


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
        at = index.find(ident)
        return [] if at is None else [_hit(index, at, WHOLE_NAME + float(index.weight[at]))]
    norm = normalise(text)
    if not norm:
        return []
    # 'natalie apere': each word is some name's word, or the start of one, but no person
    # has both; near spellings of every word then
    found = index.search(norm, limit=limit) or index.search(norm, limit=limit, typos=True)
    return [_hit(index, i, score) for i, score in found]


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


_WORDS_SQL = """
WITH hit AS (
    SELECT id, first_name || ' ' || last_name AS name, year(birth_date) AS born
    FROM person WHERE {words}
), titles AS (
    SELECT m.person_id, coalesce(m.function_label, m.role_label, m.role) AS label, o.name AS body,
           t.name AS territory, m.level, m.code,
           row_number() OVER (PARTITION BY m.person_id
               ORDER BY m.function_code IS NULL, m.organisation_id IN ('an', 'senat') DESC,
                        m.organisation_id) AS r,
           count(*) FILTER (WHERE m.function_code IS NOT NULL OR m.organisation_id IN
                            ('an', 'senat', 'pe')) OVER (PARTITION BY m.person_id) AS weight
    FROM mandate m JOIN hit ON hit.id = m.person_id
    JOIN organisation o ON o.id = m.organisation_id
    LEFT JOIN territory t ON t.level = m.level AND t.code = m.code
    WHERE m.end_date IS NULL
)
SELECT hit.id, hit.name, hit.born, coalesce(max(t.weight), 0) AS weight,
       list((t.label, t.body, t.territory, t.level, t.code) ORDER BY t.r)
           FILTER (WHERE t.r <= 3) AS titles
FROM hit LEFT JOIN titles t ON t.person_id = hit.id
GROUP BY ALL ORDER BY weight DESC, hit.name, hit.id LIMIT ?
"""


def persons_with_words(
    con: duckdb.DuckDBPyConnection, text: str, *, limit: int = 5
) -> list[PersonHit]:
    """Persons whose name holds every word of ``text`` whole (any case, accents, order).

    One scan of the persons (about 0.2 s for all of France), without the in-memory index
    :func:`search_persons` builds (seconds, worth it only in a long-lived process): what a
    single command such as ``territoria search`` needs.
    """
    words = normalise(text).split()
    if not words or limit < 1:
        return []
    where = " AND ".join(["contains(' ' || name_norm || ' ', ?)"] * len(words))
    rows = con.execute(
        _WORDS_SQL.format(words=where), [*(f" {w} " for w in words), limit]
    ).fetchall()
    return [
        PersonHit(
            id=str(pid),
            name=str(name),
            birth_year=born,
            titles=[
                PersonTitle(label=t[0], body=t[1], territory=t[2], level=t[3], code=t[4])
                for t in (titles or [])
            ],
            score=WHOLE_NAME,
        )
        for pid, name, born, _, titles in rows
    ]


def actor_id(con: duckdb.DuckDBPyConnection, text: str) -> str:
    """The actor ``text`` names: an id as such (person, council, imported actor), or the one
    person whose name it is (see :func:`resolve_person`, which raises when there are none or
    several)."""
    value = text.strip()
    known = con.execute(
        "SELECT 1 FROM organisation WHERE id = ? UNION ALL SELECT 1 FROM actor WHERE id = ? "
        "UNION ALL SELECT 1 FROM person WHERE id = ?",
        [value, value, value],
    ).fetchone()
    if known or value.startswith("p-"):
        return value
    return resolve_person(con, value).id
