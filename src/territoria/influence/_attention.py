"""Attention budget per source: calibrating broadcast relations of the influence graph.

A senator has an edge to each of the 300 to 900 grands électeurs of their département, a deputy
to each mayor of their circonscription, an EPCI president to each mayor of its communes. Taken
as independent channels, such a broadcast makes one source activate dozens of persons on one
project, and the hundreds of weak paths that follow add up to more influence on a decision-maker
than any strong, direct channel: the artefact that carried plans before this calibration.

A source's attention is finite too: for each relation type the probabilities of one source's
out-edges of that type are scaled down so that they sum to at most the type's budget ``B``.
Then the expected number of persons the source moves through that type is at most ``B``, and
its influence on any one target through them is at most ``B`` times what the best of those
persons can do (``sum_v p(u, v) P(v reaches t) <= B max_v P(v reaches t)``). It complements
the per-target cap (``max_in_sum``): a target's attention is finite, and so is a source's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from territoria.influence.config import InfluenceConfig
from territoria.influence.graph import InfluenceGraph

__all__ = ["attention_budget", "budgets_for", "calibrate"]


def budgets_for(config: InfluenceConfig, type_names: Sequence[str]) -> NDArray[np.float64]:
    """The attention budget of each relation type, in the order of ``type_names``."""
    return np.array([config.budget(t) for t in type_names], dtype=np.float64)


def attention_budget(
    sources: NDArray[np.integer],
    types: NDArray[np.integer],
    prob: NDArray[np.float64],
    budgets: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Scale edge probabilities so that each source's out-edges of one type sum to at most
    that type's budget.

    Parameters
    ----------
    sources, types, prob
        One entry per edge: source node, relation type code (an index into ``budgets``) and
        probability.
    budgets
        Budget per type code; ``inf`` leaves the type alone.

    Returns
    -------
    NDArray
        The calibrated probabilities (a new array; edges within budget keep theirs).
    """
    out = np.array(prob, dtype=np.float64, copy=True)
    if not len(out):
        return out
    n_nodes = int(sources.max()) + 1
    # one pass per limited type (a few dozen types) is faster than sorting 2 million keys
    for code in np.flatnonzero(np.isfinite(budgets)).tolist():
        idx = np.flatnonzero(types == code)
        if not len(idx):
            continue
        src = sources[idx]
        total = np.bincount(src, weights=out[idx], minlength=n_nodes)[src]
        budget = budgets[code]
        # a source within its budget keeps its probabilities exactly
        over = total > budget
        out[idx[over]] *= budget / total[over]
    return out


def calibrate(graph: InfluenceGraph, config: InfluenceConfig) -> InfluenceGraph:
    """Return ``graph`` with the attention budgets of ``config`` applied to its edges (the
    graph must carry relation types, as the knowledge base's graph does)."""
    if graph.types is None or graph.type_names is None:
        msg = "the graph has no relation types: attention budgets are set per relation type"
        raise ValueError(msg)
    budgets = budgets_for(config, graph.type_names)
    prob = attention_budget(graph.sources(), graph.types, graph.prob, budgets)
    return graph.with_probabilities(prob)
