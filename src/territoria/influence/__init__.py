"""Influence graph, diffusion models and the influence-maximisation optimiser.

Typical use::

    from territoria.influence import read_edge_list, maximise

    graph = read_edge_list("relations.csv").weighted_cascade()
    plan = maximise(graph, targets={graph.index("prefet-69"): 2.0}, k=5, seed=1)
    print(plan.guarantee)
"""

from __future__ import annotations

from territoria.influence.graph import InfluenceGraph, from_edges, read_edge_list
from territoria.influence.optimiser import PlanResult, SeedChoice, maximise, maximise_edge_list
from territoria.influence.simulate import SpreadEstimate, exact_spread, exact_spreads, simulate

__all__ = [
    "InfluenceGraph",
    "PlanResult",
    "SeedChoice",
    "SpreadEstimate",
    "exact_spread",
    "exact_spreads",
    "from_edges",
    "maximise",
    "maximise_edge_list",
    "read_edge_list",
    "simulate",
]
