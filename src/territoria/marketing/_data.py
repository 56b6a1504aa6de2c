"""The package data of the marketing module: practice themes and the indicators' polarity."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from territoria.kb.search import normalise

__all__ = ["IndicatorRule", "indicator_rules", "theme_id", "themes"]


@dataclass(frozen=True)
class IndicatorRule:
    """How 'learn from peers' reads an indicator: which way is better, and related themes."""

    indicator: str
    polarity: int
    label: str
    unit: str
    why: str
    themes: tuple[str, ...]


def _load(name: str) -> dict[str, Any]:
    path = resources.files("territoria") / "data" / "marketing" / name
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def themes() -> dict[str, dict[str, str]]:
    """Theme id -> {'fr': label, 'en': label} (data/marketing/themes.json)."""
    data: dict[str, dict[str, str]] = _load("themes.json")["themes"]
    return data


@cache
def _theme_keys() -> dict[str, str]:
    keys = {}
    for key, labels in themes().items():
        keys[normalise(key)] = key
        keys[normalise(labels["fr"])] = key
        keys[normalise(labels["en"])] = key
    return keys


def theme_id(value: str) -> str | None:
    """The theme id a catalogue writes as its id or its French or English label, or None."""
    return _theme_keys().get(normalise(value))


@cache
def indicator_rules() -> dict[str, IndicatorRule]:
    """Indicator -> :class:`IndicatorRule` (data/marketing/indicators.json)."""
    out = {}
    for key, rule in _load("indicators.json")["indicators"].items():
        out[key] = IndicatorRule(
            key,
            int(rule["polarity"]),
            rule["label"],
            rule["unit"],
            rule["why"],
            tuple(rule["themes"]),
        )
    return out
