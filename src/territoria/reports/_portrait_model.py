"""The typed result of :func:`territoria.reports.portrait.portrait` (what the HTML and PDF show)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "Chart",
    "KeyFigure",
    "Portrait",
    "PortraitAsset",
    "PortraitOfficial",
    "PortraitPole",
    "PortraitSource",
    "PortraitStrength",
    "SeriesPoint",
]


@dataclass(frozen=True)
class KeyFigure:
    """A key figure with its year and its source (name and edition)."""

    label: str
    value: float | None
    unit: str
    year: str
    source: str
    digits: int = 0


@dataclass(frozen=True)
class SeriesPoint:
    """The population of one year, with its source."""

    year: int
    value: int
    source: str


@dataclass(frozen=True)
class Chart:
    """A chart of shares (age groups, dwellings): labels, shares of 1, the drawing."""

    title: str
    labels: tuple[str, ...]
    shares: tuple[float, ...]
    total: float
    unit: str
    year: str
    source: str
    svg: str


@dataclass(frozen=True)
class PortraitStrength:
    """A strength derived from the data: what kind, the sentence, its figure, year and source."""

    kind: str
    text: str
    figure: float | None
    year: str | None
    source: str
    synthetic: bool = False


@dataclass(frozen=True)
class PortraitAsset:
    """An asset of the registry (know-how, product, label, firm, infrastructure, event …)."""

    kind: str
    name: str
    detail: str
    source: str


@dataclass(frozen=True)
class PortraitPole:
    """A detected pole reaching into the territory."""

    name: str
    label: str
    establishments: int
    employment: float
    lq: float
    emerging: bool
    synthetic: bool


@dataclass(frozen=True)
class PortraitOfficial:
    """An executive or a member of Parliament, with the title in the person's gender."""

    name: str
    title: str
    body: str
    since: str | None


@dataclass(frozen=True)
class PortraitSource:
    """A source the portrait uses, one edition: its files, publisher, licence, dates."""

    name: str
    version: str | None
    datasets: tuple[str, ...]
    publisher: str | None
    licence: str | None
    reference_dates: tuple[str, ...]
    retrieved_at: str | None
    address: str | None
    synthetic: bool


@dataclass(frozen=True)
class Portrait:
    """A territory's portrait: identity, map, key figures, charts, strengths, assets, poles,
    officials, lycées and the sources of all of it."""

    code: str
    level: str
    level_label: str
    name: str
    parents: tuple[str, ...]
    generated: dt.date
    figures: tuple[KeyFigure, ...]
    population: tuple[SeriesPoint, ...]
    population_svg: str
    map_svg: str
    map_crs: str
    neighbours: tuple[str, ...]
    charts: tuple[Chart, ...]
    strengths: tuple[PortraitStrength, ...]
    assets: tuple[PortraitAsset, ...]
    poles: tuple[PortraitPole, ...] | None
    officials: tuple[PortraitOfficial, ...]
    official_notes: tuple[str, ...]
    lycees: tuple[str, ...]
    lycees_total: int
    lycees_source: str | None
    sources: tuple[PortraitSource, ...] = field(default_factory=tuple)
    synthetic: bool = False

    @property
    def latest_population(self) -> SeriesPoint | None:
        """The latest population of the series, or None."""
        return self.population[-1] if self.population else None

    def to_dict(self) -> dict[str, Any]:
        """The portrait as JSON-able data (drawings left out)."""
        data = asdict(self)
        for key in ("population_svg", "map_svg"):
            data.pop(key)
        for chart in data["charts"]:
            chart.pop("svg")
        data["generated"] = self.generated.isoformat()
        return data
