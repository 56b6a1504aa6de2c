"""The watch's Boolean query language: precedence, phrases, NOT, filters, errors with their
position, French stems and accents; property tests of the parser (round trip, precedence)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territoria.errors import InvalidWatchQuery
from territoria.watch.query import (
    And,
    Filter,
    Node,
    Not,
    Or,
    Phrase,
    Term,
    analyse,
    parse,
    positive_stems,
)

a, b, c = Term("a1"), Term("b2"), Term("c3")


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("a1 OR b2 c3", Or((a, And((b, c))))),  # implicit AND binds tighter than OR
        ("a1 b2 OR c3", Or((And((a, b)), c))),
        ("a1 AND b2 OR c3", Or((And((a, b)), c))),
        ("a1 AND (b2 OR c3)", And((a, Or((b, c))))),
        ("NOT a1 b2", And((Not(a), b))),  # NOT binds tightest
        ("a1 NOT b2", And((a, Not(b)))),  # 'a NOT b' reads 'a AND NOT b'
        ("a1 AND NOT (b2 OR c3)", And((a, Not(Or((b, c)))))),
        ("a1 ET b2 OU c3 SAUF a1", Or((And((a, b)), And((c, Not(a)))))),  # French operators
        ("a1 et b2", And((a, Term("et"), b))),  # lower case: words, not operators
        ("((a1))", a),
        ("a1 OR b2 OR c3", Or((a, b, c))),  # flattened
    ],
)
def test_precedence(query: str, tree: Node) -> None:
    assert parse(query) == tree


def test_the_issue_query_and_its_phrase() -> None:
    tree = parse('"ligne Rennes Saint-Malo" AND (TER OR train) NOT bus')
    assert tree == And(
        (
            Phrase(("ligne", "Rennes", "Saint-Malo")),
            Or((Term("TER"), Term("train"))),
            Not(Term("bus")),
        )
    )
    assert tree.operands[0].stems == ("lign", "ren", "saint", "malo")  # type: ignore[union-attr]
    # NOT's words do not rank or highlight
    assert positive_stems(tree) == ["lign", "ren", "saint", "malo", "ter", "train"]
    assert parse("«Saint-Malo» OR “gare de Rennes”") == Or(
        (Phrase(("Saint-Malo",)), Phrase(("gare", "de", "Rennes")))
    )


def test_filters_in_the_query() -> None:
    assert parse("TGV territoire:departement:35 personne:p-0123") == And(
        (
            Term("TGV"),
            Filter("territory", "35", "departement"),
            Filter("person", "p-0123"),
        )
    )
    assert parse("territory:35238") == Filter("territory", "35238")
    assert parse("Saint-Malo:port") == Term("Saint-Malo:port")  # not a filter key: a word


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"ligne Rennes Saint-Malo" AND (TER OR train', "parenthèse non fermée à la position 31"),
        ("train) bus", "parenthèse fermante sans parenthèse ouvrante à la position 6"),
        ("train AND", "mot manquant après AND à la position 10"),
        ("OR train", "mot manquant avant OR à la position 1"),
        ("train OR OR bus", "mot manquant après OR à la position 10"),
        ("train NOT", "mot manquant après NOT à la position 10"),
        ('train "ligne', "guillemet non fermé à la position 7"),
        ('train ""', "expression entre guillemets vide à la position 7"),
        ("train ()", "parenthèses vides à la position 7"),
        ("", "requête vide"),
        ("train --", "'--' ne contient aucun mot à la position 7"),
        ("territoire:canton2:35", "niveau de territoire inconnu 'canton2'"),
    ],
)
def test_errors_say_what_and_where(query: str, message: str) -> None:
    with pytest.raises(InvalidWatchQuery) as caught:
        parse(query)
    assert message in str(caught.value)


def test_position_is_an_attribute_for_the_web_form() -> None:
    with pytest.raises(InvalidWatchQuery) as caught:
        parse("bus AND (train")
    assert caught.value.position == 9


def test_french_stems_and_accents() -> None:
    assert analyse("Trains ferroviaires") == analyse("train ferroviaire") == ["train", "ferroviair"]
    assert analyse("Région ÉCONOMIQUE") == analyse("region economique")
    assert analyse("activités") == analyse("activites") == analyse("activité")
    assert analyse("Œuvres") == analyse("oeuvre")
    # apostrophes and hyphens cut words, as the index does
    assert analyse("l'économie de Saint-Malo") == ["l", "econom", "de", "saint", "malo"]


# ---------------------------------------------------------------- properties

WORDS = ["train", "Rennes", "économie", "TER", "bus", "ligne", "région", "Saint-Malo", "gare"]
atoms = st.one_of(
    st.sampled_from(WORDS).map(Term),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(lambda w: Phrase(tuple(w))),
    st.sampled_from(["35", "35238"]).map(lambda code: Filter("territory", code, "commune")),
    st.sampled_from(["p-1", "p-2"]).map(lambda p: Filter("person", p)),
)


def _flat(kind: type[And] | type[Or], operands: list[Node]) -> Node:
    out: list[Node] = []
    for o in operands:
        out.extend(o.operands if isinstance(o, kind) else (o,))
    return kind(tuple(out))


trees = st.recursive(
    atoms,
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=2, max_size=3).map(lambda ops: _flat(And, ops)),
        st.lists(inner, min_size=2, max_size=3).map(lambda ops: _flat(Or, ops)),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_round_trip(tree: Node) -> None:
    assert parse(str(tree)) == tree


def _eval(tree: Node, present: set[str]) -> bool:
    if isinstance(tree, Term | Phrase | Filter):
        return str(tree) in present
    if isinstance(tree, Not):
        return not _eval(tree.operand, present)
    if isinstance(tree, And):
        return all(_eval(o, present) for o in tree.operands)
    return any(_eval(o, present) for o in tree.operands)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS),
    st.sampled_from(WORDS),
    st.sets(st.sampled_from(WORDS)),
)
def test_and_binds_tighter_than_or_and_not_tightest(
    x: str, y: str, z: str, present: set[str]
) -> None:
    flat = parse(f"{x} OR {y} AND NOT {z}")
    explicit = parse(f"{x} OR ({y} AND (NOT {z}))")
    assert _eval(flat, present) == _eval(explicit, present)
    assert _eval(parse(f"NOT {x} {y}"), present) == ((x not in present) and (y in present))
