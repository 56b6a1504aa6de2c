"""A plan's explanations: activation probabilities, value shares, the French guarantee."""

from __future__ import annotations

import math

import numpy as np
import pytest

from territoria.influence import exact_spread, exact_spreads, from_edges, maximise, simulate
from territoria.influence._explain import guarantee_fr, value_shares
from territoria.influence.graph import InfluenceGraph
from territoria.influence.simulate import activation_probabilities


def _graph() -> InfluenceGraph:
    # 0 -> 1 -> 3, 0 -> 2 -> 3, 3 -> 4, and an independent 5 -> 6
    return from_edges(
        np.array([0, 0, 1, 2, 3, 5]),
        np.array([1, 2, 3, 3, 4, 6]),
        [0.5, 0.4, 0.3, 0.6, 0.7, 0.45],
    )


def test_activation_probabilities_match_the_exact_ones() -> None:
    graph = _graph()
    samples = 100_000
    nodes = [1, 2, 3, 4, 6, 0]
    got = activation_probabilities(graph, [0], nodes, samples=samples, seed=3)
    for node, p in zip(nodes, got.tolist(), strict=True):
        exact = exact_spread(graph, [0], targets={node: 1.0})
        assert p == pytest.approx(
            exact, abs=5 * math.sqrt(max(exact * (1 - exact), 0.0) / samples) + 1e-9
        )
    assert got[-1] == 1.0  # a seed is always active
    assert got[-2] == 0.0  # 6 is unreachable from 0


def test_weighted_activation_is_the_monte_carlo_estimate() -> None:
    graph = _graph()
    weights = {3: 2.0, 4: 1.0, 6: 0.5}
    check = simulate(graph, [0, 5], targets=weights, samples=5_000, seed=11)
    probs = activation_probabilities(graph, [0, 5], list(weights), samples=5_000, seed=11)
    moved = sum(w * p for w, p in zip(weights.values(), probs.tolist(), strict=True))
    assert moved == pytest.approx(check.mean, rel=1e-12)


def test_value_shares_credit_each_seed_with_what_it_adds() -> None:
    graph = _graph()
    weights = {3: 2.0, 4: 1.0, 6: 1.0}
    plan = maximise(graph, targets=weights, k=2, candidates=[0, 5], seed=2, min_rr_sets=200_000)
    first, second = (s.index for s in plan.seeds)
    alone, both = exact_spreads(graph, [[first], [first, second]], targets=weights)
    shares = value_shares(plan)
    assert sum(shares) == pytest.approx(1.0)
    assert shares[0] == pytest.approx(alone / both, abs=0.02)


def test_guarantee_in_french_names_the_candidates() -> None:
    graph = _graph()
    plan = maximise(graph, targets={3: 1.0}, k=1, candidates=[0, 1, 2], seed=1)
    text = guarantee_fr(plan, 1_234)
    assert text.startswith("garantie : au moins ")
    assert "du meilleur plan possible de 1 acteur parmi les 1\u202f234 acteurs proposés" in text
    assert "probabilité d'au moins 99 %" in text
    costs = np.ones(graph.n_nodes)
    budgeted = maximise(
        graph, targets={3: 1.0}, budget=2.5, costs=costs * 1.2, candidates=[0, 1, 2], seed=1
    )
    text = guarantee_fr(budgeted, 1)
    assert "dans le budget de 2,5 parmi les 1 acteur proposé " in text
    assert int(text.split("au moins ")[1].split(" %")[0]) >= math.floor(
        100 * (0.5 * (1 - 1 / math.e) - 0.1)
    )
