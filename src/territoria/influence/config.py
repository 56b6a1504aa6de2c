"""Influence-graph settings: default probabilities per relation type, from a documented TOML file.

The defaults ship in ``defaults.toml`` beside this module; a user file overrides any key.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from territoria.errors import ConfigurationError

__all__ = ["InfluenceConfig", "load_config"]


@dataclass(frozen=True)
class InfluenceConfig:
    """Probabilities per relation type and the planner's defaults.

    Attributes
    ----------
    probabilities
        Probability in ``[0, 1]`` for each relation type.
    max_in_sum
        Cap on the sum of the probabilities into any one node.
    attention
        Attention budget per source for each relation type: the probabilities of one source's
        out-edges of that type are scaled down to sum to at most this value (``[attention]``).
    attention_default
        Budget of the types ``attention`` does not name (``inf`` for none).
    sigma, replans
        Log-normal noise and number of re-plans of the robustness check.
    include_targets
        Whether targets may be chosen as seeds by default.
    origin
        The files the configuration was read from.
    """

    probabilities: dict[str, float]
    max_in_sum: float
    sigma: float
    replans: int
    include_targets: bool
    origin: tuple[str, ...]
    attention: dict[str, float] = field(default_factory=dict)
    attention_default: float = math.inf

    def probability(self, relation_type: str) -> float:
        """Probability of ``relation_type`` (the ``other`` value for an unknown type)."""
        return self.probabilities.get(relation_type, self.probabilities.get("other", 0.1))

    def budget(self, relation_type: str) -> float:
        """Attention budget of one source for ``relation_type`` (``inf`` when unbounded)."""
        return self.attention.get(relation_type, self.attention_default)

    def fingerprint(self) -> str:
        """A short hash of the values that shape the graph (for cache invalidation)."""
        data = json.dumps(
            {
                "p": self.probabilities,
                "cap": self.max_in_sum,
                "attention": self.attention,
                "attention_default": str(self.attention_default),
            },
            sort_keys=True,
        ).encode()
        return hashlib.sha256(data).hexdigest()[:16]


def _read(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{where} is not valid TOML ({exc}): fix the syntax"
        raise ConfigurationError(msg) from exc


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(path: str | os.PathLike[str] | None = None) -> InfluenceConfig:
    """Read the defaults, then the user's file ``path`` (or ``$TERRITORIA_INFLUENCE_CONFIG``).

    Raises
    ------
    ConfigurationError
        If a file is missing or invalid, or a probability lies outside ``[0, 1]``.
    """
    default_text = (resources.files("territoria.influence") / "defaults.toml").read_text("utf-8")
    data = _read(default_text, "defaults.toml")
    origin = ["territoria/influence/defaults.toml"]
    chosen = path if path is not None else os.environ.get("TERRITORIA_INFLUENCE_CONFIG") or None
    if chosen is not None:
        file = Path(chosen)
        if not file.is_file():
            msg = f"influence configuration {str(file)!r} does not exist: check the path"
            raise ConfigurationError(msg)
        data = _merge(data, _read(file.read_text("utf-8"), str(file)))
        origin.append(str(file))
    probabilities: dict[str, float] = {}
    for key, value in data.get("probabilities", {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"probability {key!r} = {value!r} in {origin[-1]} is not a number: use 0 ... 1"
            raise ConfigurationError(msg)
        if not 0.0 <= float(value) <= 1.0:
            msg = (
                f"probability {key!r} = {value!r} in {origin[-1]} is outside [0, 1]: "
                "probabilities must lie between 0 and 1"
            )
            raise ConfigurationError(msg)
        probabilities[key] = float(value)
    cap = data.get("normalisation", {}).get("max_in_sum", 1.0)
    if isinstance(cap, bool) or not isinstance(cap, int | float) or cap <= 0:
        msg = f"normalisation.max_in_sum = {cap!r} in {origin[-1]} must be a positive number"
        raise ConfigurationError(msg)
    robustness = data.get("robustness", {})
    sigma = robustness.get("sigma", 0.3)
    replans = robustness.get("replans", 10)
    if not isinstance(sigma, int | float) or sigma < 0:
        msg = f"robustness.sigma = {sigma!r} must be a non-negative number"
        raise ConfigurationError(msg)
    if not isinstance(replans, int) or replans < 0:
        msg = f"robustness.replans = {replans!r} must be a non-negative integer"
        raise ConfigurationError(msg)
    include = bool(data.get("candidates", {}).get("include_targets", False))
    attention, attention_default = _attention(data.get("attention", {}), origin[-1])
    return InfluenceConfig(
        probabilities=probabilities,
        max_in_sum=float(cap),
        sigma=float(sigma),
        replans=replans,
        include_targets=include,
        origin=tuple(origin),
        attention=attention,
        attention_default=attention_default,
    )


def _attention(section: dict[str, Any], where: str) -> tuple[dict[str, float], float]:
    """Read ``[attention]``: ``default`` and one budget per relation type (``inf``: none)."""
    budgets: dict[str, float] = {}
    default = math.inf
    for key, value in section.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            msg = (
                f"attention.{key} = {value!r} in {where} must be a positive number "
                "(the expected number of persons one source can move; inf for no budget)"
            )
            raise ConfigurationError(msg)
        if key == "default":
            default = float(value)
        else:
            budgets[key] = float(value)
    return budgets, default
