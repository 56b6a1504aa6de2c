"""Boolean queries of the watch: parsing, French text analysis, and their SQL form.

A query combines words, "phrases" and filters with ``AND``, ``OR``, ``NOT`` (also written
``ET``, ``OU``, ``SAUF``; operators are upper case, so the French words *et* and *ou* stay
words), parentheses and implicit ``AND``::

    "ligne Rennes Saint-Malo" AND (TER OR train) NOT bus
    territoire:departement:35 personne:p-0123456789abcd (TGV OU LGV)

``NOT`` binds tightest, then ``AND`` (written or implicit), then ``OR``; ``a NOT b`` reads
``a AND NOT b``. A filter is ``territoire:CODE`` or ``territoire:LEVEL:CODE`` (an item linked
to that territory or to one inside it) and ``personne:ID`` (an item linked to that person);
``territory:`` and ``person:`` are accepted too.

Matching ignores case and accents and compares French stems (Snowball): *trains* matches
*train*, *ferroviaires* matches *ferroviaire*, *Région* matches *region*. A phrase, or a word
that analyses into several tokens (*Saint-Malo*), matches those stems consecutively. The same
analyser (:func:`analyse`) builds the search index (:mod:`territoria.watch.search`), so a
query and the indexed text always agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import snowballstemmer

from territoria.errors import InvalidWatchQuery

__all__ = [
    "And",
    "Filter",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Term",
    "all_stems",
    "analyse",
    "match_sql",
    "needs_positions",
    "normalise",
    "parse",
    "places_sql",
    "positive_stems",
    "stem",
    "tokens",
]

OPERATORS = {"AND": "AND", "ET": "AND", "OR": "OR", "OU": "OR", "NOT": "NOT", "SAUF": "NOT"}
FILTER_KEYS = {
    "territoire": "territory",
    "territory": "territory",
    "personne": "person",
    "person": "person",
}
LEVELS = (
    "commune",
    "departement",
    "region",
    "epci",
    "arrondissement_municipal",
    "commune_deleguee",
    "commune_associee",
    "secteur_municipal",
    "canton",
    "circonscription",
    "zone",
)

#: Levels inside a commune, two membership steps from the EPCI and the département.
SUB_COMMUNE = (
    "arrondissement_municipal",
    "commune_deleguee",
    "commune_associee",
    "secteur_municipal",
)

_WORD = re.compile(r"[^\W_]+")
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})
_STEMMER = snowballstemmer.stemmer("french")


# ---------------------------------------------------------------- text analysis


def normalise(word: str) -> str:
    """Lower case, accents and ligatures removed: ``Œuvrées`` → ``oeuvrees``."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_LIGATURES).lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=262_144)
def stem(word: str) -> str:
    """The French Snowball stem of a word, after :func:`normalise` (``Trains`` → ``train``)."""
    # accents are removed before stemming, so that a query typed without accents and a text
    # written with them give the same stems (the DuckDB fts extension does the same)
    return str(_STEMMER.stemWord(normalise(word)))


def tokens(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield ``(start, end, stem)`` for every word of ``text`` (offsets into ``text``)."""
    for match in _WORD.finditer(text):
        yield match.start(), match.end(), stem(match.group())


def analyse(text: str) -> list[str]:
    """The stems of ``text`` in order: what the index stores and queries compare."""
    return [stem(w) for w in _WORD.findall(text)]


# ---------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Term:
    """A word; it matches when its stem occurs (several stems: consecutively)."""

    word: str

    @property
    def stems(self) -> tuple[str, ...]:
        return tuple(analyse(self.word))

    def __str__(self) -> str:
        return self.word


@dataclass(frozen=True)
class Phrase:
    """Words that must occur consecutively (their stems)."""

    words: tuple[str, ...]

    @property
    def stems(self) -> tuple[str, ...]:
        return tuple(s for w in self.words for s in analyse(w))

    def __str__(self) -> str:
        return '"' + " ".join(self.words) + '"'


@dataclass(frozen=True)
class Filter:
    """An item linked to a territory (or inside it), or to a person."""

    field: Literal["territory", "person"]
    code: str
    level: str | None = None

    def __str__(self) -> str:
        if self.field == "person":
            return f"personne:{self.code}"
        if self.level:
            return f"territoire:{self.level}:{self.code}"
        return f"territoire:{self.code}"


@dataclass(frozen=True)
class Not:
    """Items the operand does not match."""

    operand: Node

    def __str__(self) -> str:
        inner = str(self.operand)
        return f"NOT ({inner})" if isinstance(self.operand, And | Or) else f"NOT {inner}"


@dataclass(frozen=True)
class And:
    """Items every operand matches (two or more operands)."""

    operands: tuple[Node, ...]

    def __str__(self) -> str:
        return " AND ".join(f"({o})" if isinstance(o, Or) else str(o) for o in self.operands)


@dataclass(frozen=True)
class Or:
    """Items one operand at least matches (two or more operands)."""

    operands: tuple[Node, ...]

    def __str__(self) -> str:
        return " OR ".join(str(o) for o in self.operands)


Node = Term | Phrase | Filter | Not | And | Or


# ---------------------------------------------------------------- parser


@dataclass(frozen=True)
class _Token:
    kind: Literal["word", "phrase", "filter", "op", "(", ")"]
    value: Any
    pos: int  # 1-based position in the query, as users count


def _error(message: str, pos: int) -> InvalidWatchQuery:
    return InvalidWatchQuery(f"{message} à la position {pos}", position=pos)


def _filter(word: str, pos: int) -> Filter | None:
    key, _, rest = word.partition(":")
    field = FILTER_KEYS.get(key.lower())
    if field is None or not rest:
        return None
    if field == "person":
        return Filter("person", rest)
    level, _, code = rest.partition(":")
    if not code:
        return Filter("territory", level)
    if level not in LEVELS:
        raise _error(
            f"niveau de territoire inconnu {level!r} (choisir parmi {', '.join(LEVELS)})", pos
        )
    return Filter("territory", code, level)


def _lex(query: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(_Token(c, c, i + 1))  # type: ignore[arg-type]
            i += 1
        elif c in '"«“':
            close = {'"': '"', "«": "»", "“": "”"}[c]
            end = query.find(close, i + 1)
            if end < 0:
                raise _error("guillemet non fermé", i + 1)
            words = tuple(query[i + 1 : end].split())
            if not analyse(" ".join(words)):
                raise _error("expression entre guillemets vide", i + 1)
            out.append(_Token("phrase", words, i + 1))
            i = end + 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()"«“':
                j += 1
            word = query[i:j]
            if word in OPERATORS:
                out.append(_Token("op", OPERATORS[word], i + 1))
            elif (flt := _filter(word, i + 1)) is not None:
                out.append(_Token("filter", flt, i + 1))
            elif analyse(word):
                out.append(_Token("word", word, i + 1))
            else:
                raise _error(f"{word!r} ne contient aucun mot", i + 1)
            i = j
    return out


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _lex(query)
        self.i = 0
        self.end = len(query) + 1

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise InvalidWatchQuery("requête vide : écrire au moins un mot", position=1)
        node = self.or_expr()
        token = self.peek()
        if token is not None:  # only a stray ')' stops or_expr early
            raise _error("parenthèse fermante sans parenthèse ouvrante", token.pos)
        return node

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while (t := self.peek()) is not None and t.kind == "op" and t.value == "OR":
            self.take()
            operands.append(self.and_expr(after=t))
        return _flat(Or, operands)

    def and_expr(self, after: _Token | None = None) -> Node:
        operands = [self.unary(after)]
        while (t := self.peek()) is not None and not (t.kind == ")" or t.value == "OR"):
            if t.kind == "op" and t.value == "AND":
                self.take()
                operands.append(self.unary(after=t))
            else:  # implicit AND (NOT included: 'a NOT b' is 'a AND NOT b')
                operands.append(self.unary())
        return _flat(And, operands)

    def unary(self, after: _Token | None = None) -> Node:
        token = self.peek()
        if token is None or token.kind == ")" or (token.kind == "op" and token.value != "NOT"):
            pos = token.pos if token is not None else self.end
            what = f"après {after.value}" if after is not None else "avant"
            if after is None and token is not None and token.kind == "op":
                what = f"avant {token.value}"
            raise _error(f"mot manquant {what}", pos)
        if token.kind == "op":  # NOT
            self.take()
            return Not(self.unary(after=token))
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "(":
            if (t := self.peek()) is not None and t.kind == ")":
                raise _error("parenthèses vides", token.pos)
            node = self.or_expr()
            close = self.peek()
            if close is None or close.kind != ")":
                raise _error("parenthèse non fermée", token.pos)
            self.take()
            return node
        if token.kind == "phrase":
            return Phrase(token.value)
        if token.kind == "filter":
            value: Filter = token.value
            return value
        return Term(token.value)


def _flat(kind: type[And] | type[Or], operands: list[Node]) -> Node:
    if len(operands) == 1:
        return operands[0]
    flat: list[Node] = []
    for o in operands:
        flat.extend(o.operands if isinstance(o, kind) else (o,))
    return kind(tuple(flat))


def parse(query: str) -> Node:
    """Parse a Boolean query into its tree.

    Raises
    ------
    InvalidWatchQuery
        With the 1-based position of the fault: ``parenthèse non fermée à la position 23``.
    """
    return _Parser(query).parse()


# ---------------------------------------------------------------- SQL form


def positive_stems(node: Node) -> list[str]:
    """The stems a match must or may contain (not under ``NOT``): what ranks and highlights."""
    if isinstance(node, Term | Phrase):
        return list(node.stems)
    if isinstance(node, And | Or):
        return [s for o in node.operands for s in positive_stems(o)]
    return []


# Two steps of membership reach every territory inside another: the knowledge base keeps
# the derived rows (commune → région), and an arrondissement municipal sits in its commune.
INSIDE_SQL = (
    "WITH t0 AS (SELECT level, code FROM territory WHERE code = ? AND (?::VARCHAR IS NULL "
    " OR level = ?)), "
    "inside AS (SELECT level, code FROM t0"
    " UNION SELECT m.level, m.code FROM membership m"
    "  JOIN t0 ON m.parent_level = t0.level AND m.parent_code = t0.code"
    " UNION SELECT m2.level, m2.code FROM membership m2"
    "  JOIN membership m1 ON m2.parent_level = m1.level AND m2.parent_code = m1.code"
    "  JOIN t0 ON m1.parent_level = t0.level AND m1.parent_code = t0.code) "
    "SELECT l.item_id FROM watch_link l WHERE l.type = 'territory' AND ((l.code = ? AND "
    " (?::VARCHAR IS NULL OR l.level = ?))"
    " OR (l.level, l.code) IN (SELECT level, code FROM inside))"
)


def territory_sql(code: str, level: str | None) -> tuple[str, list[Any]]:
    """SQL selecting the ids of items linked to a territory or to any territory inside it
    (a département: its communes, EPCI, cantons …), with its parameters."""
    return INSIDE_SQL, [code, level, level, code, level, level]


def places_sql(scope: str) -> str:
    """SQL of ``(item_id, level, code)``: the territories the items selected by ``scope`` (a
    condition on ``item_id``) are linked to, and every territory those lie in. Filtering a
    batch of new items by territory then needs no walk down from each topic's territory."""
    link = f"SELECT item_id, level, code FROM watch_link WHERE type = 'territory' AND {scope}"
    return (
        f"WITH l AS ({link}) SELECT item_id, level, code FROM l"
        " UNION SELECT l.item_id, m.parent_level, m.parent_code FROM l"
        "  JOIN membership m ON m.level = l.level AND m.code = l.code"
        # a second step only from below the commune: the commune's own rows reach the rest
        " UNION SELECT l.item_id, m2.parent_level, m2.parent_code FROM l"
        "  JOIN membership m1 ON m1.level = l.level AND m1.code = l.code"
        "  JOIN membership m2 ON m2.level = m1.parent_level AND m2.code = m1.parent_code"
        f" WHERE l.level IN ({', '.join(repr(x) for x in SUB_COMMUNE)})"
    )


def match_sql(
    node: Node, doc: str = "d", terms: str = "watch_term", places: str | None = None
) -> tuple[str, list[Any]]:
    """A SQL condition on rows aliased ``doc`` (with an ``item_id`` column) that holds when the
    item matches ``node``, with its parameters (in order).

    ``terms`` names the relation of ``watch_term`` rows to look stems up in: the table itself,
    or a common table expression holding only the rows of the query's stems (faster).
    ``places`` names a relation built by :func:`places_sql` for the rows of ``doc``; without
    it, territory filters walk down from the territory (:func:`territory_sql`).
    """
    if isinstance(node, Term | Phrase):
        stems = node.stems
        if len(stems) == 1:
            return f"{doc}.item_id IN (SELECT item_id FROM {terms} WHERE term = ?)", [stems[0]]
        # a run: positions shifted back by their rank in the phrase meet at the run's start;
        # each rank gives at most one row per (item, start), so count(*) counts the ranks
        runs = " UNION ALL ".join(
            f"SELECT item_id, unnest(positions) - {j} AS p FROM {terms} WHERE term = ?"
            for j in range(len(stems))
        )
        sql = (
            f"{doc}.item_id IN (SELECT item_id FROM ({runs}) GROUP BY item_id, p "
            f"HAVING count(*) = {len(stems)})"
        )
        return sql, list(stems)
    if isinstance(node, Filter):
        if node.field == "person":
            return (
                f"{doc}.item_id IN (SELECT item_id FROM watch_link"
                " WHERE type = 'person' AND code = ?)",
                [node.code],
            )
        if places is not None:
            return (
                f"{doc}.item_id IN (SELECT item_id FROM {places} WHERE code = ? "
                "AND (?::VARCHAR IS NULL OR level = ?))",
                [node.code, node.level, node.level],
            )
        sql, params = territory_sql(node.code, node.level)
        return f"{doc}.item_id IN ({sql})", params
    if isinstance(node, Not):
        sql, params = match_sql(node.operand, doc, terms, places)
        return f"(NOT {sql})", params
    joiner = " AND " if isinstance(node, And) else " OR "
    parts, params = [], []
    for operand in node.operands:
        sql, p = match_sql(operand, doc, terms, places)
        parts.append(sql)
        params.extend(p)
    return "(" + joiner.join(parts) + ")", params


def all_stems(node: Node) -> list[str]:
    """Every stem the query looks up, ``NOT`` included (what the term relation must hold)."""
    if isinstance(node, Term | Phrase):
        return list(node.stems)
    if isinstance(node, Not):
        return all_stems(node.operand)
    if isinstance(node, And | Or):
        return [s for o in node.operands for s in all_stems(o)]
    return []


def needs_positions(node: Node) -> bool:
    """Whether matching ``node`` compares positions (a phrase, or a word of several stems)."""
    if isinstance(node, Term | Phrase):
        return len(node.stems) > 1
    if isinstance(node, Not):
        return needs_positions(node.operand)
    if isinstance(node, And | Or):
        return any(needs_positions(o) for o in node.operands)
    return False
