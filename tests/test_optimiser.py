"""The influence-maximisation optimiser, held to exact brute-force optima on tiny graphs."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territoria.errors import (
    BudgetTooSmall,
    InvalidPlanRequest,
    InvalidProbability,
    UnreachableTargets,
)
from territoria.influence import (
    InfluenceGraph,
    exact_spread,
    exact_spreads,
    from_edges,
    maximise,
    maximise_edge_list,
)
from territoria.influence import _rrsets as rr

GAMMA = 1.0 - 1.0 / math.e
EPSILON = 0.1


def random_graph(seed: int, n: int = 7, m: int = 12) -> InfluenceGraph:
    """A random directed graph without self-loops, probabilities in [0.1, 0.9]."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n, m)
    dst = (src + rng.integers(1, n, m)) % n
    return from_edges(src, dst, rng.uniform(0.1, 0.9, m), ids=[f"v{i}" for i in range(n)])


def brute_force_optimum(
    graph: InfluenceGraph,
    subsets: list[tuple[int, ...]],
    *,
    model: str,
    targets: dict[int, float] | None = None,
) -> float:
    spreads = exact_spreads(graph, subsets, targets=targets, model=model)  # type: ignore[arg-type]
    return float(spreads.max())


def assert_estimate_close(estimate: float, exact: float, total_weight: float, sets: int) -> None:
    """The RR estimate is a mean of ``sets`` draws in [0, W]: allow 4 standard errors."""
    p = min(max(exact / total_weight, 0.0), 1.0)
    sigma = total_weight * math.sqrt(max(p * (1 - p), 1e-4) / sets)
    assert abs(estimate - exact) <= 4 * sigma


# ----------------------------------------------------------------------------- guarantee
@pytest.mark.parametrize("model", ["ic", "lt"])
@pytest.mark.parametrize("graph_seed", [0, 1, 2, 3])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_plan_is_within_guarantee_of_brute_force_optimum(
    model: str, graph_seed: int, k: int
) -> None:
    graph = random_graph(graph_seed)
    if model == "lt":
        graph = graph.lt_normalised()
    plan = maximise(graph, k=k, model=model, epsilon=EPSILON, seed=graph_seed)  # type: ignore[arg-type]
    seeds = [s.index for s in plan.seeds]
    assert len(seeds) == len(set(seeds)) <= k
    optimum = brute_force_optimum(
        graph, list(itertools.combinations(range(graph.n_nodes), k)), model=model
    )
    achieved = exact_spread(graph, seeds, model=model)  # type: ignore[arg-type]
    assert achieved >= (GAMMA - EPSILON) * optimum
    # the certified bounds bracket the truth
    assert plan.lower_bound <= achieved <= optimum <= plan.upper_bound
    assert plan.approx_ratio == pytest.approx(plan.lower_bound / plan.upper_bound)
    assert plan.certified
    assert_estimate_close(plan.estimate, achieved, graph.n_nodes, plan.rr_sets // 3)
    # Monte-Carlo check agrees with the exact spread within its own confidence
    half = (plan.mc_ci95[1] - plan.mc_ci95[0]) / 2
    assert abs(plan.mc_estimate - achieved) <= 2 * half + 1e-9
    assert sum(s.marginal_gain for s in plan.seeds) == pytest.approx(plan.estimate)


@pytest.mark.parametrize("model", ["ic", "lt"])
def test_targeted_plan_with_candidates(model: str) -> None:
    graph = random_graph(7, n=8, m=12)
    if model == "lt":
        graph = graph.lt_normalised()
    targets = {5: 2.0, 6: 1.0, 7: 0.5}
    candidates = [0, 1, 2, 3, 4]
    plan = maximise(
        graph,
        targets=targets,
        candidates=candidates,
        k=2,
        model=model,
        seed=3,  # type: ignore[arg-type]
    )
    seeds = [s.index for s in plan.seeds]
    assert set(seeds) <= set(candidates)
    optimum = brute_force_optimum(
        graph, list(itertools.combinations(candidates, 2)), model=model, targets=targets
    )
    achieved = exact_spread(graph, seeds, targets=targets, model=model)  # type: ignore[arg-type]
    assert achieved >= (GAMMA - EPSILON) * optimum
    assert plan.lower_bound <= achieved and optimum <= plan.upper_bound
    assert_estimate_close(plan.estimate, achieved, 3.5, plan.rr_sets // 3)
    assert {t["id"]: t["weight"] for t in plan.to_dict()["targets"]} == {
        "v5": 2.0,
        "v6": 1.0,
        "v7": 0.5,
    }


@pytest.mark.parametrize("graph_seed", [4, 5, 6])
def test_budgeted_plan_against_every_affordable_set(graph_seed: int) -> None:
    graph = random_graph(graph_seed, n=7, m=12)
    costs = np.array([1.0, 2.5, 1.5, 3.0, 1.0, 2.0, 4.0])
    budget = 4.0
    plan = maximise(graph, budget=budget, costs=costs, seed=graph_seed)
    seeds = [s.index for s in plan.seeds]
    assert costs[seeds].sum() <= budget
    assert plan.total_cost == pytest.approx(costs[seeds].sum())
    affordable = [
        c
        for r in range(1, 8)
        for c in itertools.combinations(range(7), r)
        if costs[list(c)].sum() <= budget
    ]
    optimum = brute_force_optimum(graph, affordable, model="ic")
    achieved = exact_spread(graph, seeds)
    assert achieved >= (GAMMA / 2 - EPSILON) * optimum
    assert plan.lower_bound <= achieved <= optimum <= plan.upper_bound
    assert "costing at most 4" in plan.guarantee


def test_unit_cost_budget_is_a_number_of_seeds() -> None:
    graph = random_graph(8)
    by_budget = maximise(graph, budget=2.7, seed=1)
    by_k = maximise(graph, k=2, seed=1)
    assert [s.id for s in by_budget.seeds] == [s.id for s in by_k.seeds]
    assert by_budget.k == 2


# ----------------------------------------------------------------------------- reproducibility
def _without_timing(plan_dict: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in plan_dict.items() if key != "seconds"}


def test_same_seed_gives_same_plan_whatever_the_threads() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    src = rng.integers(0, n, 12_000)
    dst = rng.integers(0, n, 12_000)
    graph = from_edges(src, dst, None, ids=[str(i) for i in range(n)]).weighted_cascade()
    first = maximise(graph, k=5, seed=42)
    again = maximise(graph, k=5, seed=42)
    assert _without_timing(first.to_dict()) == _without_timing(again.to_dict())
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = maximise(graph, k=5, seed=42)
    finally:
        numba.set_num_threads(threads)
    assert _without_timing(single.to_dict()) == _without_timing(first.to_dict())
    other = maximise(graph, k=5, seed=43)
    assert other.estimate != first.estimate
    # both are good plans: the estimates agree within their certified bounds
    assert other.lower_bound <= first.upper_bound and first.lower_bound <= other.upper_bound


def test_plan_to_dict_is_json_with_the_documented_keys() -> None:
    graph = from_edges(["a", "b", "c"], ["b", "c", "a"], 0.5, names=["Alice", "Bob", "Chloé"])
    plan = maximise(graph, k=1, seed=5)
    data = json.loads(json.dumps(plan.to_dict()))
    assert set(data) == {
        "seeds",
        "estimate",
        "estimate_ci95",
        "selection_rr_sets",
        "upper_bound",
        "approx_ratio",
        "mc_estimate",
        "mc_ci95",
        "targets",
        "rr_sets",
        "seconds",
        "model",
        "epsilon",
        "delta",
        "guarantee",
    }
    (seed,) = data["seeds"]
    assert set(seed) == {"id", "name", "marginal_gain"}
    assert seed["name"] == {"a": "Alice", "b": "Bob", "c": "Chloé"}[seed["id"]]
    # symmetric cycle: any seed reaches 1 + 0.5 + 0.25 nodes
    assert data["mc_ci95"][0] <= 1.75 <= data["mc_ci95"][1]
    assert data["model"] == "ic" and data["epsilon"] == 0.1 and data["delta"] == 0.01
    assert "With probability at least 0.99" in data["guarantee"]
    assert data["seconds"] >= 0 and data["rr_sets"] >= 512


# ----------------------------------------------------------------------------- RR sets
def test_rr_sets_with_geometric_skipping_have_the_right_law() -> None:
    # ten in-neighbours of node 0, each live with probability 0.3: the skipping path
    n = 11
    graph = from_edges(np.arange(1, n), np.zeros(n - 1, dtype=np.int64), 0.3)
    sampler = rr.Sampler.build(
        graph.rindptr, graph.rindices, graph.rprob, np.array([0], dtype=np.int32), np.ones(1), rr.IC
    )
    assert (sampler.skip_log < 0).sum() == 1
    sets = 40_000
    sizes, members = sampler.sample(rr.stream_seed(1, 1), 0, sets)
    counts = np.bincount(members, minlength=n)
    assert counts[0] == sets
    sigma = math.sqrt(0.3 * 0.7 / sets)
    assert np.all(np.abs(counts[1:] / sets - 0.3) < 5 * sigma)
    assert abs(sizes.mean() - 4.0) < 5 * math.sqrt(10 * 0.21 / sets)


@pytest.mark.parametrize("model", [rr.IC, rr.LT])
def test_rr_coverage_is_an_unbiased_spread_estimate(model: int) -> None:
    graph = random_graph(9, n=7, m=12)
    if model == rr.LT:
        graph = graph.lt_normalised()
    weights = np.array([1.0, 0.0, 2.0, 0.0, 1.0, 3.0, 0.5])
    roots = np.flatnonzero(weights).astype(np.int32)
    sampler = rr.Sampler.build(
        graph.rindptr, graph.rindices, graph.rprob, roots, weights[roots], model
    )
    collection = rr.RRCollection(sampler, rr.stream_seed(3, 1))
    collection.grow_to(30_000)
    targets = {int(v): float(weights[v]) for v in roots}
    name = "ic" if model == rr.IC else "lt"
    for seeds in ([0], [1, 3], [2, 6]):
        covered = rr.coverage_by_rank(
            collection.offsets, collection.members, np.array(seeds, dtype=np.int64), 7
        ).sum()
        estimate = weights.sum() * covered / collection.size
        exact = exact_spread(graph, seeds, targets=targets, model=name)  # type: ignore[arg-type]
        assert_estimate_close(estimate, exact, float(weights.sum()), collection.size)


def test_rr_collection_does_not_depend_on_how_it_grew() -> None:
    graph = random_graph(10, n=300, m=2000).weighted_cascade()
    sampler = rr.Sampler.build(
        graph.rindptr,
        graph.rindices,
        graph.rprob,
        np.arange(300, dtype=np.int32),
        np.ones(300),
        rr.IC,
    )
    at_once = rr.RRCollection(sampler, 99)
    at_once.grow_to(5000)
    stepwise = rr.RRCollection(sampler, 99)
    for size in (1, 17, 1000, 5000):
        stepwise.grow_to(size)
    np.testing.assert_array_equal(at_once.offsets, stepwise.offsets)
    np.testing.assert_array_equal(at_once.members, stepwise.members)


# ----------------------------------------------------------------------------- greedy
set_systems = st.integers(2, 7).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.sets(st.integers(0, n - 1), min_size=1, max_size=n), min_size=1, max_size=25),
        st.lists(st.sampled_from([1.0, 1.5, 2.0, 3.5]), min_size=n, max_size=n),
    )
)


def _flat(sets: list[set[int]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in sets])
    members = np.array([v for s in sets for v in sorted(s)], dtype=np.int32)
    return offsets, members


@settings(max_examples=80, deadline=None)
@given(system=set_systems, k=st.integers(1, 3), budget=st.sampled_from([1.0, 2.5, 4.0]))
def test_greedy_coverage_and_bound_against_brute_force(
    system: tuple[int, list[set[int]], list[float]], k: int, budget: float
) -> None:
    n, sets, cost_list = system
    offsets, members = _flat(sets)
    costs = np.array(cost_list)
    cands = np.arange(n, dtype=np.int64)

    def cover(nodes: tuple[int, ...]) -> int:
        return sum(1 for s in sets if s & set(nodes))

    subsets = [c for r in range(n + 1) for c in itertools.combinations(range(n), r)]
    best_k = max(cover(c) for c in subsets if len(c) <= k)
    seeds, gains, covered, bound = rr.greedy_cover(offsets, members, n, cands, k=k)
    assert covered == cover(tuple(seeds.tolist())) == gains.sum()
    assert covered >= GAMMA * best_k
    assert best_k <= bound + 1e-9

    best_b = max(cover(c) for c in subsets if costs[list(c)].sum() <= budget)
    seeds, gains, covered, bound = rr.greedy_cover(
        offsets, members, n, cands, costs=costs, budget=budget
    )
    assert costs[seeds].sum() <= budget
    assert covered == cover(tuple(seeds.tolist()))
    assert covered >= GAMMA / 2 * best_b
    assert best_b <= bound + 1e-9


def test_budgeted_greedy_falls_back_on_the_best_single_node() -> None:
    # node 0 (cost 1) covers one set; node 1 (cost 10) covers nine: ratio greedy takes node 0
    # and can no longer afford node 1, so the best single node wins
    sets = [{0}] + [{1}] * 9
    offsets, members = _flat(sets)
    seeds, _, covered, _ = rr.greedy_cover(
        offsets, members, 2, np.arange(2), costs=np.array([1.0, 10.0]), budget=10.0
    )
    assert seeds.tolist() == [1] and covered == 9


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("k", [0, -3])
def test_non_positive_k_is_refused(k: int) -> None:
    with pytest.raises(InvalidPlanRequest, match=f"k={k}"):
        maximise(random_graph(0), k=k)


def test_inconsistent_constraints_are_refused() -> None:
    graph = random_graph(0)
    with pytest.raises(InvalidPlanRequest, match="exactly one of k"):
        maximise(graph)
    with pytest.raises(InvalidPlanRequest, match="exactly one of k"):
        maximise(graph, k=2, budget=3.0)
    with pytest.raises(InvalidPlanRequest, match="costs only apply with a budget"):
        maximise(graph, k=2, costs=np.ones(7))
    with pytest.raises(InvalidPlanRequest, match=r"cost 0\.0"):
        maximise(graph, budget=3.0, costs=np.zeros(7))
    with pytest.raises(InvalidPlanRequest, match=r"epsilon=0\.7"):
        maximise(graph, k=2, epsilon=0.7)
    with pytest.raises(InvalidPlanRequest, match=r"delta=1\.5"):
        maximise(graph, k=2, delta=1.5)


def test_budget_below_cheapest_candidate() -> None:
    graph = random_graph(0)
    costs = np.arange(1.0, 8.0)
    with pytest.raises(
        BudgetTooSmall, match=r"budget=2\.5 is below the cheapest candidate's cost 3\.0"
    ):
        maximise(graph, budget=2.5, costs=costs, candidates=[2, 3, 4])
    with pytest.raises(BudgetTooSmall, match="below the cost of one seed"):
        maximise(graph, budget=0.5)


def test_no_candidate_reaches_a_target() -> None:
    # a -> b -> c, and d -> a with probability 0
    graph = from_edges(["a", "b", "d"], ["b", "c", "a"], [0.5, 0.5, 0.0])
    with pytest.raises(UnreachableTargets, match="none of the 1 candidates"):
        maximise(graph, k=1, targets={graph.index("c"): 1.0}, candidates=[graph.index("d")])
    # c reaches nothing, and is not itself a target
    with pytest.raises(UnreachableTargets):
        maximise(graph, k=1, targets={graph.index("a"): 1.0}, candidates=[graph.index("c")])


def test_model_problems_are_reported() -> None:
    graph = from_edges(["a", "b"], ["c", "c"], [0.8, 0.7])
    with pytest.raises(InvalidProbability, match="lt_normalised"):
        maximise(graph, k=1, model="lt")
    with pytest.raises(InvalidPlanRequest, match="weighted_cascade"):
        maximise(from_edges(["a"], ["b"], None), k=1)


def test_maximise_edge_list(tmp_path: Path) -> None:
    path = tmp_path / "toy.txt"
    path.write_text("# hub\n0 1\n0 2\n0 3\n1 2\n4 0\n")
    with pytest.raises(InvalidPlanRequest, match="weighted_cascade=True"):
        maximise_edge_list(path, k=1)
    plan = maximise_edge_list(path, k=1, weighted_cascade=True, seed=1)
    # 4 -> 0 is certain (in-degree 1) and 0 reaches 1, 2, 3: node 4 is the best single seed
    assert [s.id for s in plan.seeds] == ["4"]
    graph = from_edges(
        ["0", "0", "0", "1", "4"], ["1", "2", "3", "2", "0"], None
    ).weighted_cascade()
    assert exact_spread(graph, [graph.index("4")]) == pytest.approx(plan.estimate, rel=0.1)
    lt_plan = maximise_edge_list(path, k=1, weighted_cascade=True, model="lt", seed=1)
    assert lt_plan.model == "lt" and [s.id for s in lt_plan.seeds] == ["4"]


def test_larger_starting_sample_keeps_the_guarantee_and_tightens_it() -> None:
    graph = random_graph(11)
    default = maximise(graph, k=2, seed=7)
    larger = maximise(graph, k=2, seed=7, min_rr_sets=20_000)
    assert larger.rr_sets >= 3 * 20_000 > default.rr_sets
    assert larger.approx_ratio >= default.approx_ratio
    optimum = brute_force_optimum(graph, list(itertools.combinations(range(7), 2)), model="ic")
    assert larger.lower_bound <= exact_spread(graph, [s.index for s in larger.seeds]) <= optimum
    assert optimum <= larger.upper_bound <= default.upper_bound
