"""Stances and salience: a plan maximises the weight of decision-makers moved towards support."""

from __future__ import annotations

import datetime
import itertools

import duckdb
import numpy as np
import pytest

from territoria.errors import InvalidPlanRequest
from territoria.influence import exact_spreads, from_edges, maximise
from territoria.influence.graph import InfluenceGraph
from territoria.influence.planner import plan_project
from territoria.influence.stance import (
    OPPONENT_PERSUADABILITY,
    Stance,
    relay_costs,
    stance_weights,
    validate_stances,
)

# relays r1 (0), r2 (1); decision-makers A (2), B (3)
IDS = ["r1", "r2", "A", "B"]


def _graph(p_a: float, p_b: float) -> InfluenceGraph:
    return from_edges(np.array([0, 1]), np.array([2, 3]), [p_a, p_b], ids=IDS)


def _exact_best(graph: InfluenceGraph, weights: dict[str, float], k: int) -> set[str]:
    """The best k relays by exact enumeration of the live-edge worlds."""
    targets = {graph.index(t): w for t, w in weights.items()}
    sets = [list(c) for c in itertools.combinations([0, 1], k)]
    spreads = exact_spreads(graph, sets, targets=targets)
    best = sets[int(np.argmax(spreads))]
    return {IDS[i] for i in best}


def _greedy_order(graph: InfluenceGraph, weights: dict[str, float], k: int) -> list[str]:
    targets = {graph.index(t): w for t, w in weights.items()}
    plan = maximise(graph, targets=targets, k=k, candidates=[0, 1], seed=5, mc_samples=100)
    return [s.id for s in plan.seeds]


def test_a_supporter_needs_no_persuasion() -> None:
    graph = _graph(0.5, 0.4)
    base = {"A": 1.0, "B": 1.0}
    assert _exact_best(graph, base, 1) == {"r1"}
    assert _greedy_order(graph, base, 1) == ["r1"]
    moved = stance_weights(base, {"A": Stance("soutien")})
    assert moved == {"A": 0.0, "B": 1.0}
    # A already supports: the plan moves to the relay of the other decision-maker
    assert _exact_best(graph, moved, 1) == {"r2"}
    assert _greedy_order(graph, moved, 1) == ["r2"]


def test_an_opponent_comes_after_an_undecided_of_equal_weight() -> None:
    graph = _graph(0.5, 0.5)
    weights = stance_weights({"A": 1.0, "B": 1.0}, {"A": Stance("oppose"), "B": Stance("indecis")})
    assert weights["A"] == pytest.approx(OPPONENT_PERSUADABILITY)
    assert weights["A"] < weights["B"]
    assert _exact_best(graph, weights, 1) == {"r2"}
    assert _greedy_order(graph, weights, 2) == ["r2", "r1"]


def test_salience_scales_a_decision_maker() -> None:
    graph = _graph(0.5, 0.4)
    # B's channel is weaker but the project matters little to A
    weights = stance_weights({"A": 1.0, "B": 1.0}, {"A": Stance("inconnu", salience=0.5)})
    assert weights == {"A": 0.5, "B": 1.0}
    assert _exact_best(graph, weights, 1) == {"r2"}


def test_supporters_are_cheaper_relays() -> None:
    costs = relay_costs({"r1": 4.0}, {"r1": Stance("soutien"), "r2": Stance("soutien")})
    assert costs == {"r1": 2.0, "r2": 0.5}
    assert relay_costs(None, {"r1": Stance("oppose")}) is None


def test_bad_stances_name_the_actor_and_the_value() -> None:
    with pytest.raises(InvalidPlanRequest, match=r"'pour'.*'p-1'"):
        validate_stances({"p-1": Stance("pour")})
    with pytest.raises(InvalidPlanRequest, match=r"1\.5.*'p-2'"):
        validate_stances({"p-2": Stance("soutien", salience=1.5)})


def test_plan_follows_and_echoes_stances(mini_db: duckdb.DuckDBPyConnection) -> None:
    rows = mini_db.execute(
        "SELECT person_id FROM mandate WHERE organisation_id = 'cr-53' AND function_code = 'PRE' "
        "UNION ALL (SELECT person_id FROM mandate WHERE organisation_id = 'cr-53' "
        "AND function_code = 'VPE' ORDER BY person_id LIMIT 1)"
    ).fetchall()
    president, vice = rows[0][0], rows[1][0]
    targets = {president: 2.0, vice: 1.0}
    options = {"k": 1, "seed": 1, "with_robustness": False, "mc_samples": 2_000}
    plain = plan_project(mini_db, targets=targets, **options)  # type: ignore[arg-type]
    assert [s["id"] for s in plain["answers"]["direct"]["seeds"]] == [president]
    said = Stance(
        "soutien", salience=0.8, source="courrier du 3 mars", date=datetime.date(2026, 3, 3)
    )
    plan = plan_project(
        mini_db,
        targets=targets,
        stances={president: said},
        **options,  # type: ignore[arg-type]
    )
    # the president already supports: meeting the vice-president is the direct answer
    assert [s["id"] for s in plan["answers"]["direct"]["seeds"]] == [vice]
    echoed = {t["id"]: t for t in plan["targets"]}
    assert echoed[president]["stance"] == {
        "position": "soutien",
        "label": "soutien",
        "salience": 0.8,
        "source": "courrier du 3 mars",
        "date": "2026-03-03",
    }
    assert echoed[president]["plan_weight"] == 0.0
    assert echoed[vice]["stance"] is None and echoed[vice]["plan_weight"] == 1.0
    with pytest.raises(InvalidPlanRequest, match="already supports"):
        plan_project(
            mini_db,
            targets={president: 1.0},
            stances={president: said},
            **options,  # type: ignore[arg-type]
        )
