"""Gazetteers of the knowledge base for entity linking: surface forms and their entities.

Every territory (commune, arrondissement municipal, EPCI, département, région), council and
State body, imported actor and larger legal unit (SIRENE, 50 employees or more) gives one or
more *surface forms* (see :mod:`territoria.watch._forms`: folded, "Saint-Malo", "Saint Malo"
and "SAINT-MALO" alike), held in one Aho-Corasick automaton; the officials' folded first and
last names are the keys of a dictionary (see :mod:`territoria.watch._officials`).

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
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import ahocorasick
import duckdb
import numpy as np
import numpy.typing as npt

from territoria.watch._forms import (
    ACRONYM,
    ARTICLES,
    NAME,
    ORG,
    form_key,
    is_common,
    name_forms,
    preposition_forms,
    saint_variants,
)
from territoria.watch._officials import Strings, _Packer, officials

__all__ = ["TYPES", "Gazetteer", "build_gazetteer"]

IntArray = npt.NDArray[np.int32]

#: Entity types, in the order of :attr:`Gazetteer.etype` codes.
TYPES = ("territory", "organisation", "person")
TERRITORY, ORGANISATION, PERSON_T = range(3)

#: Territory levels the linker knows (cantons and circonscriptions are named after communes and
#: are not what the press means; communes déléguées mostly repeat a commune's name).
LEVELS = ("commune", "arrondissement_municipal", "epci", "departement", "region")

_ACRONYM = re.compile(r"\(([A-Z][A-Za-z]{1,9})\)")
_ARRONDISSEMENT = re.compile(r"^(.*) (\d+)(?:er|e) Arrondissement$")


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
        for key in preposition_forms(head, t):
            yield key, ORG
    if kind == "conseil_regional":
        words = form_key(t).split()
        names = {" ".join(words)}
        if len(words) > 1 and words[0] in ARTICLES:
            names.add(" ".join(words[1:]))  # "Région Réunion"
        for variant in {v for n in names for v in saint_variants(n)}:
            yield f"region {variant}", ORG
    if acronym and kind in {"ars", "dreal", "ademe", "bpifrance"}:
        for variant in saint_variants(form_key(t)):
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


def build_gazetteer(con: duckdb.DuckDBPyConnection) -> Gazetteer:
    """Build the gazetteer of the knowledge base ``con`` (a few seconds for France)."""
    b = _Builder()
    _territories(con, b)
    _organisations(con, b)
    people = officials(con, b)
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
