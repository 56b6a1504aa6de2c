"""Precision and recall of entity linking on a labelled set (tests/data/watch/linking/).

The set is a text file of blocks separated by a line ``===``; a block's first line is the title,
the rest its text; ``[surface|ID]`` marks a mention, ``ID`` being ``level:code`` for a territory,
``p-…`` for an official, ``org:…`` for an organisation, ``NIL`` for a name of nothing in the
knowledge base. Lines starting with ``#`` before the first block are comments.

A predicted mention is right when it overlaps a labelled mention of the same entity; every other
prediction (on a NIL mention, on no labelled mention, or to another entity) is wrong. Recall counts
the labelled mentions (NIL excepted) found. A mention is *ambiguous* when its surface form names
several entities of the knowledge base (homonymous communes, homonymous officials) or is NIL
while naming one or more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from territoria.watch._forms import fold, form_key
from territoria.watch._gazetteer import PERSON_T, TERRITORY, Gazetteer
from territoria.watch.linking import Linker

__all__ = [
    "Evaluation",
    "LabelledText",
    "baseline_mentions",
    "entity_id",
    "evaluate",
    "linker_predictions",
    "load_labelled",
]

_MARK = re.compile(r"\[([^\]|]+)\|([^\]]+)\]")

Predicted = tuple[int, int, str]  # start, end, entity id


@dataclass(frozen=True)
class LabelledText:
    """One text of the set: title, text, and its labelled mentions (offsets into
    ``title + "\\n\\n" + text``)."""

    title: str
    text: str
    gold: tuple[Predicted, ...]


@dataclass
class Evaluation:
    """Counts and rates of one linker on the set, overall and on the ambiguous mentions."""

    texts: int = 0
    gold: int = 0  # labelled mentions of an entity (NIL excepted)
    nil: int = 0
    predicted: int = 0
    correct: int = 0
    ambiguous_gold: int = 0
    ambiguous_predicted: int = 0
    ambiguous_correct: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Right predictions over all predictions."""
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        """Labelled mentions found over labelled mentions."""
        return self.correct / self.gold if self.gold else 1.0

    @property
    def ambiguous_precision(self) -> float:
        """Precision on predictions over ambiguous labelled mentions."""
        p = self.ambiguous_predicted
        return self.ambiguous_correct / p if p else 1.0

    @property
    def ambiguous_recall(self) -> float:
        """Recall on the ambiguous labelled mentions (NIL excepted)."""
        g = self.ambiguous_gold
        return self.ambiguous_correct / g if g else 1.0


def load_labelled(path: Path) -> list[LabelledText]:
    """Parse the labelled set at ``path``."""
    raw = path.read_text(encoding="utf-8")
    blocks = raw.split("\n===\n")[1:]
    out = []
    for block in blocks:
        title_line, _, body = block.strip("\n").partition("\n")
        marked = f"{title_line}\n\n{body.strip()}"
        gold: list[Predicted] = []
        plain: list[str] = []
        pos = 0
        length = 0
        for found in _MARK.finditer(marked):
            plain.append(marked[pos : found.start()])
            length += found.start() - pos
            surface, label = found.group(1), found.group(2)
            gold.append((length, length + len(surface), label))
            plain.append(surface)
            length += len(surface)
            pos = found.end()
        plain.append(marked[pos:])
        full = "".join(plain)
        title, _, text = full.partition("\n\n")
        out.append(LabelledText(title, text, tuple(gold)))
    return out


def entity_id(gz: Gazetteer, entity: int) -> str:
    """The labelled set's id of a gazetteer entity; an overseas département is its région of
    the same name (one place: either link is right)."""
    if gz.etype[entity] == TERRITORY:
        region = int(gz.region[entity])
        if gz.level[entity] == "departement" and region >= 0 and gz.name[region] == gz.name[entity]:
            entity = region
        return f"{gz.level[entity]}:{gz.code[entity]}"
    if gz.etype[entity] == PERSON_T:
        return gz.code[entity]
    return f"org:{gz.code[entity]}"


def _homonyms(gz: Gazetteer, surface: str) -> int:
    """Number of entities the form ``surface`` names (places and bodies, or officials)."""
    key = form_key(surface)
    form = gz.automaton.get(f" {key} ", None)
    named = {e for e, _, _ in gz.candidates(int(form))} if form is not None else set()
    return len(named | set(gz.persons_named(key)))


def evaluate(
    gz: Gazetteer,
    texts: Sequence[LabelledText],
    predict: Callable[[str, str], list[Predicted]],
) -> Evaluation:
    """Score ``predict(title, text)`` on ``texts``."""
    ev = Evaluation(texts=len(texts))
    same = {  # overseas: the département is the région of the same name
        f"departement:{gz.code[d]}": f"region:{gz.code[int(gz.region[d])]}"
        for d in gz.dept_by_code.values()
        if gz.region[d] >= 0 and gz.name[int(gz.region[d])] == gz.name[d]
    }
    for t in texts:
        full = f"{t.title}\n\n{t.text}"
        predicted = predict(t.title, t.text)
        ambiguous = []
        gold = [(s, e, same.get(label, label)) for s, e, label in t.gold]
        t = LabelledText(t.title, t.text, tuple(gold))
        for start, end, label in t.gold:
            n = _homonyms(gz, full[start:end])
            ambiguous.append(n > 1 or (label == "NIL" and n >= 1))
            if label == "NIL":
                ev.nil += 1
            else:
                ev.gold += 1
                ev.ambiguous_gold += n > 1
        for start, end, label in predicted:
            over = [i for i, (s, e, _) in enumerate(t.gold) if start < e and s < end]
            right = any(t.gold[i][2] == label for i in over)
            ev.predicted += 1
            ev.correct += right
            if any(ambiguous[i] for i in over):
                ev.ambiguous_predicted += 1
                ev.ambiguous_correct += right
            if not right:
                wanted = ", ".join(t.gold[i][2] for i in over) or "nothing"
                ev.errors.append(f"{t.title!r}: {full[start:end]!r} → {label} ({wanted} labelled)")
        for s, e, label in t.gold:
            if label != "NIL" and not any(
                ps < e and s < pe and pl == label for ps, pe, pl in predicted
            ):
                ev.errors.append(f"{t.title!r}: {full[s:e]!r} missed ({label})")
    return ev


def linker_predictions(linker: Linker) -> Callable[[str, str], list[Predicted]]:
    """``predict`` of :func:`evaluate` for a linker."""

    def predict(title: str, text: str) -> list[Predicted]:
        gz = linker.gazetteer
        return [(m.start, m.end, entity_id(gz, m.entity)) for m in linker.mentions(title, text)]

    return predict


def baseline_mentions(gz: Gazetteer) -> Callable[[str, str], list[Predicted]]:
    """The baseline: every exact match of a name (folded, longest first; an official's first
    and last name), its most populous territory, else its first entity; no capitalisation
    check, NER or context."""

    persons = Linker(gz)._person_matches

    def predict(title: str, text: str) -> list[Predicted]:
        full = f"{title}\n\n{text}"
        folded = f" {fold(full)} "
        spans = [(s, e, named[0]) for s, e, named in persons(full)]
        for end, form in gz.automaton.iter(folded):
            length = int(gz.form_length[form])
            cands = [(e, trim) for e, _k, trim in gz.candidates(int(form))]
            best, trim = max(cands, key=lambda c: float(gz.population[c[0]]))
            spans.append((end - length - 1 + trim, end - 1, best))
        taken: list[tuple[int, int]] = []
        out = []
        for s, e, best in sorted(spans, key=lambda x: (x[0] - x[1], x[0])):
            if any(s < te and ts < e for ts, te in taken):
                continue
            taken.append((s, e))
            out.append((s, e, entity_id(gz, best)))
        return sorted(out)

    return predict
