"""Typed results of composite indices (what the CLI prints, the API serialises, pages show)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from territoria.analysis.composite._uncertainty import Sensitivity

__all__ = ["IndexResult", "IndexScore", "IndexSummary", "IndicatorUse", "TerritoryRank"]


@dataclass(frozen=True)
class IndicatorUse:
    """One indicator of an index: polarity, weight, period, source and outlier treatment."""

    code: str
    label: str
    unit: str | None
    polarity: int
    weight: float
    period: str | None
    source: str
    synthetic: bool
    treatment: str


@dataclass(frozen=True)
class IndexScore:
    """A territory's score (0–100 for min-max and rank), rank and Monte-Carlo rank interval."""

    code: str
    name: str
    score: float | None
    rank: int
    median_rank: float | None
    rank_interval: tuple[int, int] | None


@dataclass(frozen=True)
class IndexResult:
    """A built index: definition, provenance, scores by rank, and sensitivity."""

    name: str
    level: str
    period: str | None
    method: dict[str, Any]
    built_at: datetime
    built_by: str
    indicators: tuple[IndicatorUse, ...]
    scores: tuple[IndexScore, ...]
    sensitivity: tuple[Sensitivity, ...]
    runs: int
    design: str | None
    seed: int
    ranked: int
    dropped: int


@dataclass(frozen=True)
class IndexSummary:
    """A saved index in the list: name, level, indicators, last build."""

    name: str
    level: str
    indicators: tuple[str, ...]
    created_by: str
    built_at: datetime | None
    ranked: int | None


@dataclass(frozen=True)
class TerritoryRank:
    """Where one territory stands in a saved index (its latest build)."""

    index: str
    score: float | None
    rank: int
    ranked: int
    median_rank: float | None
    rank_interval: tuple[int, int] | None
    built_at: datetime
