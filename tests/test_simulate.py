"""Forward Monte-Carlo simulation and exact spreads by enumeration of live-edge worlds."""

from __future__ import annotations

import itertools

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territoria.errors import InvalidPlanRequest, InvalidProbability, TooManyWorlds
from territoria.influence import InfluenceGraph, exact_spread, exact_spreads, from_edges, simulate


def chain(p1: float, p2: float) -> InfluenceGraph:
    return from_edges(["a", "b"], ["b", "c"], [p1, p2])


def diamond() -> InfluenceGraph:
    # a -> b -> d and a -> c -> d
    return from_edges(["a", "a", "b", "c"], ["b", "c", "d", "d"], [0.5, 0.4, 0.3, 0.6])


def random_graph(seed: int, n: int, m: int) -> InfluenceGraph:
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n, m)
    dst = (src + rng.integers(1, n, m)) % n
    return from_edges(src, dst, rng.uniform(0.1, 0.9, m), ids=[f"v{i}" for i in range(n)])


def test_exact_chain_under_both_models() -> None:
    g = chain(0.5, 0.4)
    # IC: 1 + p1 + p1 p2; LT with one in-edge per node is the same live-edge law
    assert exact_spread(g, [0]) == pytest.approx(1 + 0.5 + 0.5 * 0.4)
    assert exact_spread(g, [0], model="lt") == pytest.approx(1 + 0.5 + 0.5 * 0.4)
    assert exact_spread(g, [1]) == pytest.approx(1.4)
    assert exact_spread(g, [0, 2]) == pytest.approx(2 + 0.5)
    assert exact_spread(g, []) == 0.0


def test_exact_diamond_independent_cascade_and_linear_threshold() -> None:
    g = diamond()
    reach_d_ic = 1 - (1 - 0.5 * 0.3) * (1 - 0.4 * 0.6)
    assert exact_spread(g, [0]) == pytest.approx(1 + 0.5 + 0.4 + reach_d_ic)
    # LT: d keeps b's edge (0.3) or c's (0.6), exclusively
    reach_d_lt = 0.3 * 0.5 + 0.6 * 0.4
    assert exact_spread(g, [0], model="lt") == pytest.approx(1 + 0.5 + 0.4 + reach_d_lt)


def test_exact_weighted_targets() -> None:
    g = diamond()
    # only d counts, with weight 3
    targets = {3: 3.0}
    assert exact_spread(g, [0], targets=targets) == pytest.approx(3 * (1 - (1 - 0.15) * (1 - 0.24)))
    assert exact_spread(g, [3], targets=targets) == pytest.approx(3.0)
    assert exact_spread(g, [1], targets={0: 1.0}) == 0.0


def test_exact_spreads_batch_matches_single_calls() -> None:
    g = random_graph(3, 6, 10)
    sets = [list(c) for c in itertools.combinations(range(6), 2)]
    batch = exact_spreads(g, sets)
    singles = [exact_spread(g, s) for s in sets]
    np.testing.assert_allclose(batch, singles)
    # monotone and submodular on a chain of sets
    assert exact_spread(g, [0, 1, 2]) >= exact_spread(g, [0, 1]) >= exact_spread(g, [0])


def test_exact_spread_refuses_large_graphs() -> None:
    with pytest.raises(TooManyWorlds, match="use simulate"):
        exact_spread(random_graph(0, 10, 30), [0])


@pytest.mark.parametrize("model", ["ic", "lt"])
@pytest.mark.parametrize("graph_seed", [1, 2, 3])
def test_monte_carlo_agrees_with_exact(model: str, graph_seed: int) -> None:
    g = random_graph(graph_seed, 7, 12)
    if model == "lt":
        g = g.lt_normalised()
    targets = {i: 1.0 + i for i in range(0, 7, 2)}
    for seeds in ([0], [1, 4]):
        exact = exact_spread(g, seeds, targets=targets, model=model)  # type: ignore[arg-type]
        mc = simulate(g, seeds, targets=targets, model=model, samples=20_000, seed=graph_seed)  # type: ignore[arg-type]
        # 4 standard errors: a false alarm about once in 16,000 runs, and the seeds are fixed
        assert abs(mc.mean - exact) <= 4 * mc.std / np.sqrt(mc.samples) + 1e-9
        lo, hi = mc.ci95
        assert lo < mc.mean < hi or mc.std == 0


def test_monte_carlo_is_reproducible_and_thread_independent() -> None:
    g = random_graph(5, 400, 3000).weighted_cascade()
    first = simulate(g, [0, 1, 2], samples=12_000, seed=11)
    again = simulate(g, [0, 1, 2], samples=12_000, seed=11)
    other = simulate(g, [0, 1, 2], samples=12_000, seed=12)
    assert first == again
    assert first.mean != other.mean
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = simulate(g, [0, 1, 2], samples=12_000, seed=11)
    finally:
        numba.set_num_threads(threads)
    assert single == first


def test_linear_threshold_rejects_weights_above_one() -> None:
    g = from_edges(["a", "b"], ["c", "c"], [0.7, 0.6])
    with pytest.raises(InvalidProbability, match="lt_normalised"):
        simulate(g, [0], model="lt")
    with pytest.raises(InvalidProbability):
        exact_spread(g, [0], model="lt")


def test_simulation_input_errors() -> None:
    g = from_edges(["a"], ["b"], None)
    with pytest.raises(InvalidPlanRequest, match="weighted_cascade"):
        simulate(g, [0])
    g = chain(0.5, 0.5)
    with pytest.raises(InvalidPlanRequest, match="unknown diffusion model 'sir'"):
        simulate(g, [0], model="sir")  # type: ignore[arg-type]
    with pytest.raises(InvalidPlanRequest, match="at least 2 cascades"):
        simulate(g, [0], samples=1)
    with pytest.raises(InvalidPlanRequest, match="weight -1"):
        simulate(g, [0], targets={1: -1.0})


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 6),
    m=st.integers(1, 9),
    model=st.sampled_from(["ic", "lt"]),
)
def test_spread_is_monotone_and_submodular(seed: int, n: int, m: int, model: str) -> None:
    g = random_graph(seed, n, m)
    if model == "lt":
        g = g.lt_normalised()
    subsets = [list(c) for r in range(n + 1) for c in itertools.combinations(range(n), r)]
    value = dict(
        zip(map(tuple, subsets), exact_spreads(g, subsets, model=model).tolist(), strict=True)  # type: ignore[arg-type]
    )
    for s in subsets:
        assert value[tuple(s)] >= len(s) - 1e-9
        for v in range(n):
            if v in s:
                continue
            with_v = tuple(sorted([*s, v]))
            assert value[with_v] >= value[tuple(s)] - 1e-9
            for u in range(n):
                if u in s or u == v:
                    continue
                bigger = tuple(sorted([*s, u]))
                gain_small = value[with_v] - value[tuple(s)]
                gain_big = value[tuple(sorted([*s, u, v]))] - value[bigger]
                assert gain_small >= gain_big - 1e-9
