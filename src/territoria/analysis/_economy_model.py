"""Typed results of the economic analyses: a territory's specialisation profile and its poles.

:class:`EconomicProfile` is what :func:`territoria.analysis.specialisation.specialisation_profile`
returns, :class:`Pole` one pole of :func:`territoria.analysis.poles.detect_poles`. The models
forbid unknown fields, so that the REST API's schema and the command line's JSON stay the
same data.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EconomicProfile", "Pole", "ReferenceScope"]


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
    caveat: str | None = Field(default=None, description="How past figures are estimated.")
    totals: ShiftShareTotals
    sectors: list[ShiftShareSector]


class ReferenceScope(_Part):
    """The reference the quotients are computed against, as it really is."""

    kind: str = Field(description="nation, or the level of the parent territory.")
    code: str | None = None
    name: str | None = None
    regions: int = Field(description="Régions whose establishments the knowledge base holds.")
    warning: str | None = Field(
        default=None, description="Set when the reference is not what its name suggests."
    )


class EconomicProfile(_Part):
    """A territory's economic profile: sectors, specialisation, shift-share, sources."""

    territory: EconomyTerritory
    measure: str
    sector_level: str
    nomenclature: str = Field(default="rev2", description="rev2 (NAF rév. 2) or 2025 (NAF 2025).")
    nomenclature_name: str = "NAF rév. 2"
    reference: str
    reference_scope: ReferenceScope | None = None
    warnings: list[str] = Field(default_factory=list)
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
    regional_shift: float | None = Field(
        default=None, description="Gain beyond growing at the sectors' national rate."
    )
    note: str | None = None


class PoleStar(_Part):
    """One criterion of the European Cluster Observatory star rating."""

    criterion: str = Field(description="size, specialisation or focus.")
    met: bool
    value: float
    threshold: float | None = None
    reason: str = Field(description="Why the star is given or not, in French.")


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
    label: str = Field(description="3-star, 2-star, 1-star or 0-star (ECO star rating).")
    stars: int = Field(ge=0, le=3, description="European Cluster Observatory stars.")
    star_reasons: list[PoleStar]
    size_share: float = Field(description="Share of the sectors' national value.")
    focus_share: float = Field(description="Share of the sectors in the pole's own total.")
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
