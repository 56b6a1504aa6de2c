"""Influence an actor adds to a plan: expected weighted targets it reaches beyond the seeds.

Shared by the coalition of territories and the ranking of co-signers. The estimate uses fresh
reverse-reachable sets rooted at the targets: an actor's added influence is the share of the
sets it belongs to that no seed covers, times the total target weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from territoria.errors import UnknownActor
from territoria.influence import _rrsets
from territoria.influence.graph import InfluenceGraph
from territoria.influence.simulate import _model_code

__all__ = ["added_influence", "rank_co_signers"]


def added_influence(
    graph: InfluenceGraph,
    seeds: Sequence[int],
    targets: Mapping[int, float],
    *,
    seed: int,
    samples: int = 20_000,
    model: str = "ic",
) -> NDArray[np.float64]:
    """Added influence of every node of ``graph`` beyond ``seeds`` (0 for the seeds' sets).

    ``model`` is the plan's diffusion model (``"ic"`` or ``"lt"``): the RR sets are drawn under
    it, so that a linear-threshold plan ranks its coalition and co-signers under LT too.
    """
    code = _model_code(graph, model)
    root_nodes = np.array(list(targets), dtype=np.int32)
    root_w = np.array([targets[int(t)] for t in root_nodes], dtype=np.float64)
    sampler = _rrsets.Sampler.build(
        graph.rindptr, graph.rindices, graph.rprob, root_nodes, root_w, code
    )
    rr = _rrsets.RRCollection(sampler, _rrsets.stream_seed(seed, 99))
    rr.grow_to(samples)
    set_of = np.repeat(np.arange(rr.size), np.diff(rr.offsets))
    covered = np.zeros(rr.size, dtype=bool)
    seed_mask = np.zeros(graph.n_nodes, dtype=bool)
    seed_mask[list(seeds)] = True
    covered[np.unique(set_of[seed_mask[rr.members]])] = True
    free = ~covered[set_of]
    gain = np.bincount(rr.members[free], minlength=graph.n_nodes) / rr.size * root_w.sum()
    return np.asarray(gain, dtype=np.float64)


def rank_co_signers(
    graph: InfluenceGraph,
    seeds: Sequence[int],
    targets: Mapping[int, float],
    actors: Sequence[str],
    *,
    seed: int,
    kinds: Sequence[str] | None = None,
    gain: NDArray[np.float64] | None = None,
    samples: int = 20_000,
    limit: int = 15,
    model: str = "ic",
) -> list[dict[str, Any]]:
    """Rank ``actors`` (ids) that are not seeds by the influence they would add to the plan.

    Co-signers of a project (a pole's firms, universities and research centres, say) are
    worth asking first when they reach decision-makers the plan's seeds do not.

    Raises
    ------
    UnknownActor
        When an id is not a node of the influence graph.
    """
    index = graph.positions
    missing = [a for a in actors if a not in index]
    if missing:
        msg = f"unknown co-signer actor {missing[0]!r}: it is not in the influence graph"
        raise UnknownActor(msg)
    if gain is None:
        gain = added_influence(graph, seeds, targets, seed=seed, samples=samples, model=model)
    chosen = set(seeds)
    names = graph.names or graph.ids
    found: list[dict[str, Any]] = []
    for pid in dict.fromkeys(actors):
        i = index[pid]
        if i in chosen:
            continue
        found.append(
            {
                "id": pid,
                "name": names[i],
                "kind": kinds[i] if kinds is not None else None,
                "added_influence": float(gain[i]),
            }
        )
    found.sort(key=lambda r: (-float(r["added_influence"]), str(r["id"])))
    return found[:limit]
