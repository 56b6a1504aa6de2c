"""What a plan's figures mean: value shares, activation probabilities, the French guarantee.

- A seed's **value share** is the share of the plan's estimate it carries: the covered weight of
  the estimate's RR sets whose first covering seed, in selection order, is that seed (its
  marginal gain in :class:`PlanResult`), over the estimate. The shares add up to 1; the first
  seed is credited with everything it reaches, a later one only with what it adds.
- A target's **activation probability** is the share of the forward Monte-Carlo cascades from
  the seeds in which that decision-maker is moved (see
  :func:`territoria.influence.simulate.activation_probabilities`); weighted by the targets'
  weights they add up to the Monte-Carlo estimate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from babel.numbers import format_decimal

from territoria.influence.graph import InfluenceGraph
from territoria.influence.optimiser import PlanResult
from territoria.influence.simulate import Model, activation_probabilities
from territoria.influence.stance import Stance

__all__ = [
    "MAJORITY_NOT_IN_SOURCE",
    "answer",
    "guarantee_fr",
    "target_activation",
    "target_entries",
    "value_shares",
]


def value_shares(result: PlanResult) -> list[float]:
    """Each seed's share of the plan's estimate (0 for every seed of a plan reaching nobody)."""
    total = sum(s.marginal_gain for s in result.seeds)
    if total <= 0:
        return [0.0 for _ in result.seeds]
    return [s.marginal_gain / total for s in result.seeds]


def _ratio_shown(result: PlanResult) -> float:
    """The ratio the English guarantee states (see ``optimiser._guarantee``)."""
    gamma = 1.0 - 1.0 / math.e
    target = (gamma if result.budget is None else gamma / 2.0) - result.epsilon
    return max(result.approx_ratio, target) if result.certified else result.approx_ratio


def guarantee_fr(result: PlanResult, candidates_count: int) -> str:
    """The guarantee in plain French, scoped to the candidates the plan could choose from."""
    pct = format_decimal(math.floor(100 * _ratio_shown(result)), locale="fr_FR")
    among = format_decimal(candidates_count, locale="fr_FR")
    scope = (
        f"de {result.k} acteur{'s' if (result.k or 0) > 1 else ''}"
        if result.budget is None
        else f"dans le budget de {format_decimal(result.budget, locale='fr_FR')}"
    )
    sure = format_decimal(round(100 * (1.0 - result.delta), 2), locale="fr_FR")
    return (
        f"garantie : au moins {pct} % du meilleur plan possible {scope} parmi les {among} "
        f"acteur{'s' if candidates_count > 1 else ''} proposé{'s' if candidates_count > 1 else ''}"
        f" (avec une probabilité d'au moins {sure} %)"
    )


def target_activation(
    graph: InfluenceGraph,
    seeds: Sequence[int],
    targets: Sequence[int],
    *,
    model: Model,
    samples: int,
    seed: int,
) -> dict[int, float]:
    """The Monte-Carlo activation probability of each target under the plan's seeds."""
    if not targets:
        return {}
    probs = activation_probabilities(
        graph, list(seeds), list(targets), model=model, samples=max(samples, 1), seed=seed
    )
    return {int(t): float(p) for t, p in zip(targets, probs.tolist(), strict=True)}


def answer(
    result: PlanResult,
    *,
    candidates_count: int,
    activation: Mapping[int, float],
    graph: InfluenceGraph,
    seeds: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One answer of a plan (direct or relays): seeds with their value shares, estimates,
    the guarantee in English and in French, and each target's activation probability."""
    shares = value_shares(result)
    if seeds is None:
        seeds = [
            {"id": s.id, "name": s.name, "marginal_gain": s.marginal_gain, "cost": s.cost}
            for s in result.seeds
        ]
    for entry, share in zip(seeds, shares, strict=True):
        entry["value_share"] = share
    return {
        "seeds": seeds,
        "estimate": result.estimate,
        "estimate_ci95": list(result.estimate_ci95),
        "mc_estimate": result.mc_estimate,
        "mc_ci95": list(result.mc_ci95),
        "approx_ratio": result.approx_ratio,
        "guarantee": result.guarantee,
        "guarantee_fr": guarantee_fr(result, candidates_count),
        "candidates_count": candidates_count,
        "activation": {graph.ids[t]: p for t, p in activation.items()},
    }


#: Said of a council member: the source does not say whether they sit in the majority.
MAJORITY_NOT_IN_SOURCE = (
    "majorité ou opposition : absente de la source (à indiquer dans le dossier, "
    "partie prenante par partie prenante)"
)
#: Role keys of parliamentarians (national and European).
PARLIAMENT_ROLES = ("député", "sénateur", "député européen")


def target_entries(
    targets: Sequence[dict[str, Any]],
    *,
    plan_weights: Mapping[str, float],
    activation: Mapping[str, float],
    stances: Mapping[str, Stance],
    actors: Mapping[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The plan's targets with what explains them: the weight the plan gives them once their
    stance is known, their activation probability and share of the Monte-Carlo value, their
    stance (position, salience, source, date), and their parliamentary group or, for council
    members, that the majority and opposition are not in the source."""
    value = {
        t["id"]: plan_weights.get(t["id"], 0.0) * activation.get(t["id"], 0.0) for t in targets
    }
    total = sum(value.values())
    out = []
    for t in targets:
        entry = dict(t)
        entry["plan_weight"] = plan_weights.get(t["id"], 0.0)
        entry["activation_probability"] = activation.get(t["id"], 0.0)
        entry["value_share"] = value[t["id"]] / total if total > 0 else 0.0
        stance = stances.get(t["id"])
        entry["stance"] = (
            {
                "position": stance.position,
                "label": stance.label,
                "salience": stance.salience,
                "source": stance.source,
                "date": stance.date.isoformat() if stance.date else None,
            }
            if stance
            else None
        )
        mandates = actors.get(t["id"], {}).get("mandates", [])
        groups = [
            m["group"] for m in mandates if m["role_key"] in PARLIAMENT_ROLES and m.get("group")
        ]
        entry["group"] = groups[0] if groups else None
        council = any(m["role_key"] not in PARLIAMENT_ROLES for m in mandates)
        entry["majority_note"] = MAJORITY_NOT_IN_SOURCE if council and not groups else ""
        out.append(entry)
    return out
