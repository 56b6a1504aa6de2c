"""Aggregation of normalised indicators into a score, on one level or a hierarchy.

* ``arithmetic``: weighted mean over the indicators a territory has (the weights of its missing
  indicators are spread over the others, as COINr's ``a_amean``);
* ``geometric``: weighted geometric mean, on values re-scaled onto [1, 100] per indicator (see
  ``_normalise.to_positive``): a zero or negative value cannot enter a geometric mean, and a
  territory worst on one indicator keeps a positive score that still depends on the others.

``scores`` works on a stack of weight sets at once (one matrix product per batch of runs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from territoria.analysis.composite._normalise import to_positive

__all__ = ["AGGREGATIONS", "Node", "aggregate_tree", "pillar_runs", "scores"]

AGGREGATIONS = ("arithmetic", "geometric")


def scores(
    normalised: NDArray[np.float64], weights: NDArray[np.float64], method: str
) -> NDArray[np.float64]:
    """Scores of each territory (rows) for each weight set (rows of ``weights``, k columns).

    Returns territories × weight sets; NaN for a territory without any indicator.
    """
    w = np.atleast_2d(weights).T  # k × runs
    present = ~np.isnan(normalised)
    if method == "arithmetic":
        filled = np.where(present, normalised, 0.0)
    elif method == "geometric":
        filled = np.where(present, np.log(to_positive(normalised)), 0.0)
    else:
        raise ValueError(f"unknown aggregation {method!r}: use one of {', '.join(AGGREGATIONS)}")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (filled @ w) / (present.astype(np.float64) @ w)
    return np.exp(out) if method == "geometric" else out


@dataclass(frozen=True)
class Node:
    """An aggregate of the hierarchy: its code, its children's codes and their weights."""

    code: str
    children: tuple[str, ...]
    weights: tuple[float, ...]


def aggregate_tree(
    columns: dict[str, NDArray[np.float64]], levels: list[list[Node]], method: str
) -> dict[str, NDArray[np.float64]]:
    """Aggregate level by level (COINr ``Aggregate``): each node from its children's scores.

    ``columns`` holds the normalised indicators by code; the result adds every node's scores.
    The geometric re-scaling applies to the indicators only, as aggregates are already positive.
    """
    out = dict(columns)
    for depth, level in enumerate(levels):
        for node in level:
            block = np.column_stack([out[c] for c in node.children])
            w = np.asarray(node.weights, dtype=np.float64)
            if method == "geometric" and depth > 0:
                with np.errstate(divide="ignore"):
                    logs = np.log(block)
                present = ~np.isnan(block)
                agg = np.exp(np.where(present, logs, 0.0) @ w / (present @ w))
            else:
                agg = scores(block, w, method)[:, 0]
            out[node.code] = agg
    return out


def pillar_runs(
    filled: NDArray[np.float64],
    present: NDArray[np.float64],
    weights: NDArray[np.float64],
    pillars: tuple[NDArray[np.intp], ...],
    *,
    geometric: bool,
) -> NDArray[np.float64]:
    """Two-level scores, runs × territories: indicators → pillars → index.

    Indicator weights are re-summed to one inside each pillar; pillars weigh the same (as the
    ASEM example's). ``filled`` holds logs of the [1, 100] values when ``geometric``: the mean of
    a pillar's logs is the log of its geometric mean, and the mean of those the log of the index.
    A pillar without any value is left out of the territory's index.
    """
    total = np.zeros((weights.shape[0], filled.shape[0]))
    count = np.zeros_like(total)
    for idx in pillars:
        w = weights[:, idx] / weights[:, idx].sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (w @ filled[:, idx].T) / (w @ present[:, idx].T)
        ok = ~np.isnan(s)
        total += np.where(ok, s, 0.0)
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / count
    return np.exp(out) if geometric else out
