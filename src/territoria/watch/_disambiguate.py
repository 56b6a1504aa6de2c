"""Choosing among the entities a mention may name, by context, with a score in [0, 1].

Each candidate gets a logit: a prior (a territory's population and level, a person's most
prominent function) plus the evidence of the text around it:

- a département or région named next to the mention ("Saint-Denis (93)", "Saint-Denis, en
  Seine-Saint-Denis", "Saint-Denis de La Réunion": within :data:`NEAR` characters after it) or
  anywhere in the item;
- the other places the item names without doubt (same département, région, EPCI);
- a level named before the mention ("département de Paris", "région", "ville de");
- for a person, the territories of their mandates among the item's places, and the function
  written next to the name ("Philippe Martin, maire de …", "le député …").

A softmax over the candidates gives each one's probability. Persons compete with a *NIL*
candidate (someone of that name who is not in the knowledge base) of logit :data:`NIL_LOGIT`:
an obscure councillor whose name appears in an item with no context is not linked. The score of
a link is the winner's probability times the mention's own confidence (capitalisation, a common
word, a person's name confirmed by NER). Links below :data:`THRESHOLD` are dropped.

Why 0.5: with a lower threshold a homonym with no context in the item (Saint-Denis named alone,
two communes of nearly the same population) would be linked at a coin toss; at 0.5 a link means
the context or the prior makes one entity more likely than all the others together. Precision
first: a wrong link puts an item in the wrong territory's watch, a missed one only loses it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from territoria.watch._gazetteer import PERSON_T, TERRITORY, Gazetteer

__all__ = ["NEAR", "NIL_LOGIT", "THRESHOLD", "Mention", "resolve"]

THRESHOLD = 0.5
#: A homonym chosen in the first round informs the others from this score on.
CONTEXT_THRESHOLD = 0.7
NIL_LOGIT = 1.0
#: Characters after a mention where a département or région qualifies it.
NEAR = 45
#: What may stand between a place and the département or région that qualifies it: "(93)",
#: ", en Seine-Saint-Denis", " de La Réunion", " dans le Finistère", ", département du Nord".
_QUALIFIER = re.compile(
    r"[\s,(–-]*(?:(?:en|de|du|des|dans|à|au|aux|sur|d['’])\s*)?"
    r"(?:(?:le|la|les|l['’])\s*)?"
    r"(?:(?:département|région)\s+(?:de|du|des|d['’])?\s*(?:la\s+|l['’])?)?\Z",
    re.I,
)
#: Weight of the log-population prior of a territory.
POPULATION_WEIGHT = 0.5
#: A level's own prior: the commune of Paris before the département of the same name, the
#: région before its single département overseas.
LEVEL_PRIOR = {
    "commune": 0.6,
    "arrondissement_municipal": 0.0,
    "epci": 0.3,
    "departement": 0.0,
    "region": 0.3,
}

_PREP = r"(?:de |du |des |d'|d’|de la |de l'|de l’)?"
#: Words before a place that say its level, and how much they weigh: "département du Nord",
#: "en Mayenne" (départements and régions take "en"), "à Valence", "maire de …".
_LEVEL_CUES: tuple[tuple[re.Pattern[str], frozenset[str], float], ...] = (
    (re.compile(rf"(?:départements?|dép\.)\s+{_PREP}$", re.I), frozenset({"departement"}), 4.0),
    (re.compile(rf"régions?\s+{_PREP}$", re.I), frozenset({"region"}), 4.0),
    (
        re.compile(rf"(?:ville|commune|maire|mairie|municipalité)\s+{_PREP}$", re.I),
        frozenset({"commune"}),
        2.0,
    ),
    (
        re.compile(r"(?:\ben|\bdans\s+(?:le|la|les|l['’]))\s*$", re.I),
        frozenset({"departement", "region"}),
        2.0,
    ),
    (
        re.compile(r"\w\s*\(\s*$"),
        frozenset({"departement", "region"}),
        1.5,
    ),  # "Saint-Benoît (Vienne)"
    (re.compile(r"(?:\bà|\bau|\baux)\s+$", re.I), frozenset({"commune"}), 1.0),
)

_FUNCTION_CUES = (
    (re.compile(r"\bvice-présidente?\b", re.I), (4,)),
    (re.compile(r"\b(?<!vice-)présidente?\b", re.I), (5,)),
    (re.compile(r"\bmaires?\b", re.I), (2,)),
    (re.compile(r"\badjointe?s?\b", re.I), (1,)),
    (re.compile(r"\b(?:eurodéputée?|députée? européen(?:ne)?)\b", re.I), (10,)),
    (re.compile(r"\bdéputée?\b(?! européen)", re.I), (8,)),
    (re.compile(r"\bsénat(?:eur|rice)\b", re.I), (9,)),
    (re.compile(r"\bconseill(?:er|ère) départementale?\b", re.I), (6, 4, 5)),
    (re.compile(r"\bconseill(?:er|ère) régionale?\b", re.I), (7, 4, 5)),
    (re.compile(r"\bconseill(?:er|ère) municipale?\b", re.I), (0, 1)),
)
#: Characters before and after a person's name searched for a function.
FUNCTION_WINDOW = 70


@dataclass
class Mention:
    """A span of the text and the entities it may name, then the one chosen."""

    start: int
    end: int
    text: str
    candidates: list[int]
    confidence: float  # that the span names an entity at all
    kinds: list[int] = field(default_factory=list)
    entity: int = -1
    score: float = 0.0

    @property
    def ambiguous(self) -> bool:
        """Several candidates."""
        return len(self.candidates) > 1


@dataclass
class _Context:
    """What the item says without doubt: its places, the départements and régions named, each
    with the offset of its mention and the mention it comes from (-1: a bracketed code)."""

    communes: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    epcis: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    depts: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    regions: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    #: départements and régions named themselves (not through a place inside them)
    named: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    text: str = ""

    def add(self, gz: Gazetteer, entity: int, start: int, source: int) -> None:
        if gz.etype[entity] == PERSON_T:
            return
        if gz.etype[entity] == TERRITORY and gz.level[entity] in ("departement", "region"):
            self.named.setdefault(entity, []).append((start, source))
        for table, anchor in (
            (self.communes, gz.commune[entity]),
            (self.epcis, gz.epci[entity]),
            (self.depts, gz.dept[entity]),
            (self.regions, gz.region[entity]),
        ):
            if anchor >= 0:
                table.setdefault(int(anchor), []).append((start, source))

    @staticmethod
    def offsets(table: dict[int, list[tuple[int, int]]], key: int, source: int) -> list[int]:
        """Offsets of ``key``'s mentions that do not come from the mentions ``source`` (a
        group of mentions of one name)."""
        return [o for o, s in table.get(key, ()) if s != source]


def _place_logit(
    gz: Gazetteer,
    cand: int,
    m: Mention,
    ctx: _Context,
    cue: tuple[frozenset[str], float] | None,
    source: int,
) -> float:
    level = gz.level[cand]
    logit = 0.0
    if gz.etype[cand] == TERRITORY:
        logit += POPULATION_WEIGHT * math.log1p(float(gz.population[cand]))
        logit += LEVEL_PRIOR.get(level or "", 0.0)
        if cue is not None and level in cue[0]:
            logit += cue[1]
    evidence = 0.0
    for table, anchor, near, far in (
        (ctx.depts, gz.dept[cand], 6.0, 2.0),
        (ctx.regions, gz.region[cand], 4.0, 1.0),
        (ctx.epcis, gz.epci[cand], 1.0, 1.0),
    ):
        if anchor < 0 or int(anchor) == cand:
            continue
        offsets = ctx.offsets(table, int(anchor), source)
        named = ctx.offsets(ctx.named, int(anchor), source)
        if any(m.end <= o <= m.end + NEAR and _QUALIFIER.match(ctx.text, m.end, o) for o in named):
            evidence += near
        elif offsets:
            evidence += far
    return logit + min(evidence, 8.0)


def _person_logit(gz: Gazetteer, cand: int, ctx: _Context, functions: set[int]) -> float:
    rows = gz.mandates(cand)
    logit = float(gz.prominence[cand - gz.person_base])
    places = (
        (gz.m_commune[rows], ctx.communes, 3.0),
        (gz.m_epci[rows], ctx.epcis, 1.2),
        (gz.m_dept[rows], ctx.depts, 1.0),
        (gz.m_region[rows], ctx.regions, 0.5),
    )
    for anchors, table, weight in places:  # the closest place of a mandate the item names
        if any(int(a) in table for a in anchors if a >= 0):
            logit += weight
            break
    if functions and functions & {int(f) for f in gz.m_func[rows]}:
        logit += 1.5
    return logit


def _softmax(logits: Sequence[float]) -> npt.NDArray[np.float64]:
    x = np.exp(np.asarray(logits, dtype=np.float64) - max(logits))
    out: npt.NDArray[np.float64] = x / x.sum()
    return out


def _level_cue(text: str, start: int) -> tuple[frozenset[str], float] | None:
    """The levels the words before ``start`` point to, and the weight of that cue."""
    before = text[max(0, start - 30) : start]
    for pattern, levels, weight in _LEVEL_CUES:
        if pattern.search(before):
            return levels, weight
    return None


def _functions_near(text: str, start: int, end: int) -> set[int]:
    window = text[max(0, start - FUNCTION_WINDOW) : end + FUNCTION_WINDOW]
    found: set[int] = set()
    for pattern, codes in _FUNCTION_CUES:
        if pattern.search(window):
            found.update(codes)
    return found


def resolve(
    gz: Gazetteer, text: str, mentions: list[Mention], dept_cues: dict[int, list[int]]
) -> list[Mention]:
    """Choose each mention's entity and score it; return the mentions at or above
    :data:`THRESHOLD`, in text order.

    ``dept_cues`` maps a département entity to the offsets of its code written in brackets
    ("(93)").
    """
    ctx = _Context(text=text)
    for dept, offsets in dept_cues.items():
        for o in offsets:
            ctx.depts.setdefault(dept, []).append((o, -1))
            ctx.named.setdefault(dept, []).append((o, -1))
            if gz.region[dept] >= 0:
                ctx.regions.setdefault(int(gz.region[dept]), []).append((o, -1))
    places = [i for i, m in enumerate(mentions) if gz.etype[m.candidates[0]] != PERSON_T]
    persons = [m for m in mentions if gz.etype[m.candidates[0]] == PERSON_T]
    # mentions of one name are one question: their answers never serve as each other's context
    groups: dict[tuple[int, ...], int] = {}
    group = [groups.setdefault(tuple(sorted(m.candidates)), len(groups)) for m in mentions]
    for i in places:
        m = mentions[i]
        if not m.ambiguous:
            ctx.add(gz, m.candidates[0], m.start, group[i])
            m.entity, m.score = m.candidates[0], m.confidence
    # two rounds: the places chosen with confidence in the first one inform the second
    for round_ in range(2):
        for i in places:
            m = mentions[i]
            if not m.ambiguous:
                continue
            _choose(gz, text, m, ctx, group[i])
        if round_ == 0:
            for i in places:
                m = mentions[i]
                if m.ambiguous and m.score >= CONTEXT_THRESHOLD:
                    for c in m.candidates:
                        if _nested(gz, c, m.entity):
                            ctx.add(gz, c, m.start, group[i])
    for m in persons:
        functions = _functions_near(text, m.start, m.end)
        logits = [_person_logit(gz, c, ctx, functions) for c in m.candidates]
        p = _softmax([*logits, NIL_LOGIT])
        best = int(p[:-1].argmax())
        m.entity, m.score = m.candidates[best], float(p[best]) * m.confidence
    # an official linked with confidence vouches for the places of their mandates ("Olivier
    # Hoarau, maire du Port": Le Port of La Réunion): one last round for the homonyms
    vouched = [m for m in persons if m.score >= CONTEXT_THRESHOLD]
    if vouched and any(mentions[i].ambiguous for i in places):
        source = len(groups)  # a group of its own: never one of the places' names
        for m in vouched:
            rows = gz.mandates(m.entity)
            for table, anchors in (
                (ctx.communes, gz.m_commune[rows]),
                (ctx.epcis, gz.m_epci[rows]),
                (ctx.depts, gz.m_dept[rows]),
                (ctx.regions, gz.m_region[rows]),
            ):
                for a in {int(a) for a in anchors if a >= 0}:
                    table.setdefault(a, []).append((m.start, source))
        for i in places:
            m = mentions[i]
            if m.ambiguous:
                _choose(gz, text, m, ctx, group[i])
    kept = [m for m in mentions if m.score >= THRESHOLD]
    return sorted(kept, key=lambda m: m.start)


def _choose(gz: Gazetteer, text: str, m: Mention, ctx: _Context, source: int) -> None:
    """Choose an ambiguous place mention's entity and score it in the context ``ctx``."""
    cue = _level_cue(text, m.start)
    p = _softmax([_place_logit(gz, c, m, ctx, cue, source) for c in m.candidates])
    m.entity = m.candidates[int(p.argmax())]
    # a région and its single département overseas ("La Réunion") are one place
    same = [j for j, c in enumerate(m.candidates) if _nested(gz, c, m.entity)]
    m.score = float(p[same].sum()) * m.confidence


def _nested(gz: Gazetteer, a: int, b: int) -> bool:
    """Whether ``a`` is ``b``, or a département and the région it makes alone (same name)."""
    if a == b:
        return True
    if gz.etype[a] != TERRITORY or gz.etype[b] != TERRITORY or gz.name[a] != gz.name[b]:
        return False
    return int(gz.region[a]) == b or int(gz.region[b]) == a
