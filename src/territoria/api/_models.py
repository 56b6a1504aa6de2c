"""Response models of the REST API that are not library results themselves.

Most routes answer with a library model as it is (:class:`territoria.kb.territories.TerritoryCard`,
:class:`territoria.analysis.profile.Profile`, :class:`territoria.analysis.poles` results ...);
the models here describe what only the web application answers: the signed-in user, the
server's state, search hits, themes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from territoria.influence.decision import Theme
from territoria.kb.search import SearchHit
from territoria.kb.territories import TerritoryRow

__all__ = ["Me", "SearchPage", "ServerStatus", "SubThemeOut", "ThemeBody", "ThemeOut", "ThemeRule"]


class Me(BaseModel):
    """The user making the request."""

    name: str
    role: str = Field(description="viewer, analyst or admin.")
    created_at: str | None = Field(default=None, description="ISO date and time.")


class SearchItem(BaseModel):
    """A territory found by a search, best first."""

    level: str
    code: str
    name: str
    population: int | None = None
    parent: str | None = Field(default=None, description="The territory it lies in.")
    score: float

    @classmethod
    def of(cls, hit: SearchHit) -> SearchItem:
        """Return the search hit as a response item."""
        return cls(**hit.to_dict())


class SearchPage(BaseModel):
    """Territories found by ``q``, or one page of a listing (``items`` are then without
    ``score``)."""

    total: int
    items: list[SearchItem | TerritoryRow]


class ServerStatus(BaseModel):
    """Which simplified map geometries are ready, and the version of Territoria."""

    geometry_ready: list[str] = Field(description="level/resolution pairs computed so far.")
    version: str


class ThemeBody(BaseModel):
    """A level competent for a theme, with its weight in the decision."""

    level: str
    weight: float


class ThemeRule(BaseModel):
    """A body competent for a sub-theme: its conditions, weight, legal basis and dates."""

    body: str = Field(description="commune, epci, departement, region, deputies, senators, "
                      "meps, or a State service key (prefecture, rectorat, ars …)")  # fmt: skip
    weight: float
    basis: str = Field(description="The article that makes the body competent.")
    law: str
    in_force_from: str | None = None
    in_force_until: str | None = None
    epci_kinds: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    not_regions: list[str] = Field(default_factory=list)
    departements: list[str] = Field(default_factory=list)
    not_departements: list[str] = Field(default_factory=list)
    min_population: int | None = None
    note: str = ""


class SubThemeOut(BaseModel):
    """A sub-theme of the decision map (where the law splits a theme), with its rules."""

    model_config = ConfigDict(extra="forbid")

    id: str
    theme: str
    label_fr: str
    label_en: str
    law: str
    bodies: list[ThemeBody]
    rules: list[ThemeRule]


class ThemeOut(BaseModel):
    """A theme of the decision map (stable id), its competent levels and legal basis."""

    model_config = ConfigDict(extra="forbid")

    id: str
    label_fr: str
    label_en: str
    law: str
    bodies: list[ThemeBody]
    subthemes: list[SubThemeOut] = Field(default_factory=list)

    @classmethod
    def of(cls, theme: Theme) -> ThemeOut:
        """Return the library's theme as a response item."""
        return cls.model_validate(theme.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """Return the theme as JSON-able data."""
        return self.model_dump(mode="json")
