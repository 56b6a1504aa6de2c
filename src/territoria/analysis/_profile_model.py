"""The typed result of :func:`territoria.analysis.profile.profile`.

The models forbid unknown fields: a part added to the profile must be declared here, so
that the REST API's schema, the command line's JSON and the Python API stay the same data.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from territoria.kb.state_bodies import StateBody

__all__ = [
    "Contact",
    "IndicatorValue",
    "Neighbour",
    "Official",
    "ParentTerritory",
    "Point",
    "PopulationPoint",
    "Profile",
    "ProfileSource",
    "SameCode",
]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Point(_Part):
    """A point inside the territory (WGS84 degrees)."""

    lon: float
    lat: float


class SameCode(_Part):
    """Another territory with the same code, at another level."""

    level: str
    code: str
    name: str | None = None


class ParentTerritory(_Part):
    """A territory this one belongs to (EPCI, département, région, canton ...)."""

    code: str
    level: str
    name: str | None = None
    share: float | None = Field(
        default=None, description="Share of this territory's area inside it, when split."
    )


class Neighbour(_Part):
    """A territory of the same level sharing a border."""

    code: str
    level: str
    name: str | None = None
    population: int | None = None


class OfficialTerritory(_Part):
    """The territory of a mandate."""

    level: str | None = None
    code: str | None = None


class Official(_Part):
    """An elected official shown on the profile."""

    name: str
    role: str | None = None
    body: str | None = None
    function: str | None = None
    function_code: str | None = Field(default=None, description="MAI (mayor), PRE, VPE, ADJ ...")
    rank: int | None = None
    person_id: str
    since: str | None = Field(default=None, description="ISO date.")
    until: str | None = Field(default=None, description="ISO date.")
    territory: OfficialTerritory
    group: str | None = None
    party: str | None = None
    date_flag: str | None = Field(
        default=None,
        description="'day_month_swapped': `since` corrected, the source wrote `since_source`; "
        "'implausible': `since` as the source writes it, before the last general election.",
    )
    since_source: str | None = Field(default=None, description="The date as the source wrote it.")


class BodyWithoutOfficials(_Part):
    """A council the profile would show whose source names no official (Lyon, Corse …)."""

    id: str
    name: str
    note: str


class CouncilNote(_Part):
    """A defect of the source about a council the profile shows: no or several presidents."""

    id: str
    name: str
    note: str


class Contact(_Part):
    """The town hall of a commune."""

    kind: str
    address: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    opening_hours: str | None = Field(default=None, description="JSON text, as published.")


class IndicatorValue(_Part):
    """One imported indicator value of the territory."""

    indicator: str
    label: str | None = None
    label_en: str | None = Field(default=None, description="The label in English, if known.")
    period: str
    value: float | None = None
    unit: str | None = None
    source: str | None = None
    source_version: str | None = None
    source_date: str | None = None
    source_id: int
    synthetic: bool = False


class PopulationPoint(_Part):
    """The population of one year, with the source that gives it."""

    year: int
    value: int
    source: str = Field(description="Source name, e.g. 'decoupage-administratif'.")
    version: str | None = Field(default=None, description="Source version (edition).")
    source_id: int


class ProfileSource(_Part):
    """The provenance of a part of the profile."""

    id: int
    name: str
    dataset: str | None = None
    publisher: str | None = None
    licence: str | None = None
    version: str | None = None
    retrieved_at: str | None = None
    reference_date: str | None = None
    address: str | None = None
    synthetic: bool = False


class Profile(_Part):
    """A territory's profile: identity, figures, parents, neighbours, officials, sources."""

    code: str
    level: str
    level_label: str | None = None
    name: str
    kind: str | None = None
    population: int | None = None
    population_year: int | None = None
    area_km2: float | None = None
    density: float | None = Field(default=None, description="Inhabitants per km².")
    point: Point | None = None
    bbox: list[float] | None = Field(default=None, description="xmin, ymin, xmax, ymax.")
    geometry_source: str | None = None
    same_code: list[SameCode] = Field(default_factory=list)
    parents: list[ParentTerritory] = Field(default_factory=list)
    neighbours: list[str] = Field(default_factory=list, description="Codes.")
    neighbours_detail: list[Neighbour] = Field(default_factory=list)
    communes_count: int | None = Field(default=None, description="EPCI, département, région.")
    officials: list[Official] = Field(default_factory=list)
    bodies_without_officials: list[BodyWithoutOfficials] = Field(default_factory=list)
    council_notes: list[CouncilNote] = Field(default_factory=list)
    contact: Contact | None = None
    state_bodies: list[StateBody] = Field(
        default_factory=list,
        description="The State's services of the territory: préfecture, rectorat, ARS, agence "
        "de l'eau, DREAL ... (territoria.kb.state_bodies).",
    )
    indicators: list[IndicatorValue] = Field(default_factory=list)
    population_series: list[PopulationPoint] = Field(
        default_factory=list,
        description="Population by year, oldest first (the latest last): the imported "
        "'population' values and the knowledge base's own figure (population, "
        "population_year), each with its source.",
    )
    sources: list[ProfileSource] = Field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the profile as JSON-able data (what ``territoria profile --json`` prints)."""
        return self.model_dump(mode="json")
