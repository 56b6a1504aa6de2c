"""Typed results of the economic analyses: a territory's specialisation profile and its poles.

:class:`EconomicProfile` is what :func:`territoria.analysis.specialisation.specialisation_profile`
returns, :class:`Pole` one pole of :func:`territoria.analysis.poles.detect_poles`. The models
forbid unknown fields, so that the REST API's schema and the command line's JSON stay the
same data.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EconomicProfile", "Pole"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-able data."""
        return self.model_dump(mode="json", exclude_unset=True)


class EconomyTerritory(_Part):
    """The territory analysed."""

    level: str
    code: str
    name: str
    population: int | None = None


class EconomySource(_Part):
    """A SIRENE file behind the figures."""

    id: int
    name: str
    dataset: str | None = None
    publisher: str | None = None
    licence: str | None = None
    version: str | None = None
    reference_date: str | None = None
    synthetic: bool = False
    imported_at: str | None = None


class EconomyTotals(_Part):
    """The territory's total and its reference's."""

    value: float
    establishments: int
    reference_value: float | None = None
    reference_code: str | None = None


class SpecialisationIndices(_Part):
    """Krugman dissimilarity, Gini and Herfindahl concentration."""

    krugman: float | None = None
    gini: float | None = None
    herfindahl: float | None = None
    herfindahl_reference: float | None = None


class SectorQuotient(_Part):
    """A sector with its location quotient."""

    sector: str
    label: str | None = None
    value: float
    share: float | None = None
    lq: float | None = Field(default=None, description="Location quotient.")
    traded: bool = False


class ShiftShareTotals(_Part):
    """Change between the two dates split into national, industry-mix and regional parts."""

    start: float
    end: float
    change: float
    national: float
    industry_mix: float
    regional: float


class ShiftShareSector(ShiftShareTotals):
    """The shift-share of one sector."""

    sector: str
    label: str | None = None
    sector_growth: float | None = None


class ShiftShare(_Part):
    """Shift-share decomposition between ``start`` and ``end``."""

    territory: dict[str, Any]
    measure: str
    start: str
    end: str
    national_growth: float | None = None
    totals: ShiftShareTotals
    sectors: list[ShiftShareSector]


class EconomicProfile(_Part):
    """A territory's economic profile: sectors, specialisation, shift-share, sources."""

    territory: EconomyTerritory
    measure: str
    sector_level: str
    reference: str
    synthetic: bool = False
    notice: str | None = Field(default=None, description="Set when the data is synthetic.")
    sources: list[EconomySource] = Field(default_factory=list)
    snapshot: str | None = None
    totals: EconomyTotals
    indices: SpecialisationIndices | None = None
    traded_share: float | None = None
    specialised: list[SectorQuotient] | None = None
    largest: list[SectorQuotient] | None = None
    sectors: list[SectorQuotient] | None = Field(
        default=None, description="Present (empty) only when the territory has no establishment."
    )
    shift_share: ShiftShare | None = None


class PoleGroup(_Part):
    """The group of related sectors of a pole."""

    id: str
    label: str


class PoleCentre(_Part):
    """The commune at the centre of a pole."""

    commune: str
    name: str | None = None
    lon: float
    lat: float


class PoleGrowth(_Part):
    """A pole's growth since a date, compared with the nation's."""

    since: str | None = None
    start: float | None = None
    end: float | None = None
    rate: float | None = None
    national_rate: float | None = None
    emerging: bool = False
    note: str | None = None


class PoleSector(_Part):
    """A sector of a pole."""

    sector: str
    label: str | None = None
    establishments: int
    employment: float


class PoleEstablishment(_Part):
    """A firm, knowledge or public actor of a pole (SIRENE establishment)."""

    siret: str
    name: str | None = None
    sector: str | None = None
    label: str | None = None
    commune: str | None = None
    employment: float | None = None
    legal_unit: str | None = None
    distance_km: float | None = None


class Pole(_Part):
    """A detected pole: sectors, communes, firms, knowledge and public actors, footprint."""

    id: str = Field(description="<sector group>-<commune code of its centre>.")
    name: str
    label: str = Field(description="strong, significant or minor.")
    group: PoleGroup
    sectors: list[str]
    centre: PoleCentre
    communes: list[str]
    commune_names: dict[str, str]
    establishments: int
    employment: float
    measure: str
    lq: float
    p_value: float | None = None
    thresholds: dict[str, float]
    growth: PoleGrowth
    emerging: bool
    synthetic: bool
    sector_breakdown: list[PoleSector]
    hull: dict[str, Any] | None = Field(default=None, description="GeoJSON geometry.")
    firm_count: int
    firms: list[PoleEstablishment]
    knowledge_actor_count: int
    knowledge_actors: list[PoleEstablishment]
    public_actor_count: int
    public_actors: list[PoleEstablishment]
