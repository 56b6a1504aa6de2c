"""Stakeholders' stances on a project: position, salience, and what they do to a plan.

A plan maximises the expected weight of decision-makers **moved towards support**. Each
stakeholder may carry a :class:`Stance`:

- ``soutien``: already supports the project, needs no persuasion. As a target their weight is 0
  (nothing to win); as a relay they are cheaper to engage (their cost is multiplied by
  ``SUPPORTER_COST_FACTOR``), since a supporter asks for a meeting rather than being asked.
- ``indecis`` and ``inconnu``: count fully (weight × salience).
- ``oppose``: harder to move: an opponent's weight is multiplied by a persuadability factor
  ``OPPONENT_PERSUADABILITY`` < 1, i.e. activating an opponent in the cascade only moves them
  towards support with that probability (an extra, independent resistance step).

Salience (in [0, 1]) is how much the project matters to the stakeholder; it scales a
decision-maker's weight (a decision-maker to whom the project does not matter will not spend
political capital on it).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass

from territoria.errors import InvalidPlanRequest

__all__ = [
    "OPPONENT_PERSUADABILITY",
    "POSITIONS",
    "POSITION_LABELS",
    "SUPPORTER_COST_FACTOR",
    "Stance",
    "relay_costs",
    "stance_weights",
    "validate_stances",
]

#: Positions a stakeholder can hold on a project (stored values).
POSITIONS = ("soutien", "oppose", "indecis", "inconnu")
#: French labels of the positions, for pages, reports and the CLI.
POSITION_LABELS = {
    "soutien": "soutien",
    "oppose": "opposé",
    "indecis": "indécis",
    "inconnu": "inconnu",
}
#: Probability that an opponent reached by the cascade actually moves towards support.
OPPONENT_PERSUADABILITY = 0.5
#: A supporter engaged as a relay costs this fraction of the usual cost.
SUPPORTER_COST_FACTOR = 0.5


@dataclass(frozen=True)
class Stance:
    """A stakeholder's position on a project, how much it matters to them, and where it is from."""

    position: str
    salience: float = 1.0
    source: str = ""
    date: datetime.date | None = None

    @property
    def label(self) -> str:
        """French label of the position."""
        return POSITION_LABELS.get(self.position, self.position)


def validate_stances(stances: Mapping[str, Stance] | None) -> dict[str, Stance]:
    """Check each actor's stance and return them as a plain dict.

    Raises
    ------
    InvalidPlanRequest
        A position outside :data:`POSITIONS` or a salience outside [0, 1], naming the actor.
    """
    checked: dict[str, Stance] = {}
    for actor, stance in (stances or {}).items():
        if stance.position not in POSITIONS:
            msg = (
                f"unknown position {stance.position!r} for actor {actor!r}: "
                f"use one of {', '.join(POSITIONS)}"
            )
            raise InvalidPlanRequest(msg)
        salience = float(stance.salience)
        if not math.isfinite(salience) or not 0.0 <= salience <= 1.0:
            msg = (
                f"salience {stance.salience!r} for actor {actor!r} is outside [0, 1]: "
                "give how much the project matters to them, from 0 (not at all) to 1"
            )
            raise InvalidPlanRequest(msg)
        checked[actor] = stance
    return checked


def stance_weights(
    targets: Mapping[str, float],
    stances: Mapping[str, Stance] | None,
    *,
    persuadability: float = OPPONENT_PERSUADABILITY,
) -> dict[str, float]:
    """Targets' weights once stances are known: the value of moving each towards support.

    A supporter's weight is 0, an opponent's is multiplied by ``persuadability``, every
    weight with a stance is multiplied by its salience; targets without a stance keep theirs.
    """
    checked = validate_stances(stances)
    weights: dict[str, float] = {}
    for actor, weight in targets.items():
        stance = checked.get(actor)
        if stance is None:
            weights[actor] = float(weight)
            continue
        factor = stance.salience
        if stance.position == "soutien":
            factor = 0.0
        elif stance.position == "oppose":
            factor *= persuadability
        weights[actor] = float(weight) * factor
    return weights


def relay_costs(
    costs: Mapping[str, float] | None,
    stances: Mapping[str, Stance] | None,
    *,
    factor: float = SUPPORTER_COST_FACTOR,
) -> dict[str, float] | None:
    """Costs with supporters made cheaper to engage as relays (``None`` when nothing changes).

    Actors without an explicit cost cost 1, as in :func:`territoria.influence.maximise`.
    """
    checked = validate_stances(stances)
    supporters = [a for a, s in checked.items() if s.position == "soutien"]
    if not supporters:
        return dict(costs) if costs is not None else None
    out = dict(costs or {})
    for actor in supporters:
        out[actor] = out.get(actor, 1.0) * factor
    return out
