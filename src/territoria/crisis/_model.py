"""The typed results of the crisis module: an incident and its impact (frozen dataclasses).

The situation report (:mod:`territoria.reports.situation`), the alerts
(:mod:`territoria.alerts.crisis`), the CLI and the API render these; ``to_dict`` gives their
JSON form (``incidents impact ID --json``, ``GET /api/v1/incidents/{id}/impact``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AffectedTerritory",
    "Establishment",
    "Impact",
    "Incident",
    "Official",
    "Service",
    "Shock",
    "SourceRef",
    "to_jsonable",
]


def to_jsonable(value: Any) -> Any:
    """A dataclass, tuple, mapping or date as JSON-able data (dates as ISO text)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Incident:
    """One incident record (Sahana-like; CAP 1.2 in and out)."""

    id: int
    title: str
    type: str  # a key of territoria.crisis.incidents.INCIDENT_TYPES
    severity: int  # 1 .. 5
    status: str  # CAP status: Actual, Exercise, System, Test, Draft
    exercise: bool
    start: dt.datetime
    end: dt.datetime | None
    geometry: dict[str, Any]  # GeoJSON (WGS84)
    geometry_kind: str = "polygon"  # 'polygon', 'line', 'point' (buffered by radius_m)
    radius_m: float | None = None
    description: str = ""
    network_id: int | None = None
    closed_edges: tuple[int, ...] = ()
    cap_identifier: str | None = None
    source: str = ""
    created_by: str | None = None
    created_at: dt.datetime | None = None
    deleted: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out: dict[str, Any] = to_jsonable(self)
        return out


@dataclass(frozen=True)
class AffectedTerritory:
    """A territory the incident's zone covers, with the population inside the zone."""

    level: str  # 'commune', 'epci', 'departement', 'region'
    code: str
    name: str
    population_affected: int
    share: float  # share of the territory's population inside the zone (0 .. 1)
    population: int | None = None  # the territory's whole population


@dataclass(frozen=True)
class Official:
    """Someone to call: an executive of an affected territory, or its deputy."""

    person_id: str
    name: str
    function: str  # gendered title: 'maire', 'présidente du conseil départemental' …
    territory: str  # the territory's name
    contact: dict[str, Any] | None  # the town hall's (or seat's): address, email, phone, website
    level: str = ""
    code: str = ""
    organisation_id: str | None = None
    body: str = ""  # the body's name: 'Conseil départemental d'Ille-et-Vilaine'


@dataclass(frozen=True)
class Establishment:
    """A SIRENE establishment inside the zone."""

    siret: str
    name: str | None
    commune: str | None
    naf: str | None
    headcount_band: str | None
    jobs_estimated: float


@dataclass(frozen=True)
class Service:
    """A public service inside the zone or out of reach (kind: 'mairie', 'lycee' …)."""

    kind: str
    name: str
    commune_code: str


@dataclass(frozen=True)
class SourceRef:
    """Where a figure comes from."""

    figure: str
    name: str
    dataset: str
    date: str | None
    synthetic: bool = False


@dataclass(frozen=True)
class Impact:
    """What an incident touches: territories, people, establishments, services, officials."""

    incident: Incident
    territories: tuple[AffectedTerritory, ...]
    population_affected: int
    population_method: str  # 'iris' or 'commune_area_share'
    establishments: int
    establishments_top: tuple[Establishment, ...]
    jobs_estimated: float
    jobs_low: float
    jobs_high: float
    services: tuple[Service, ...]
    officials: tuple[Official, ...]
    sources: tuple[SourceRef, ...]
    computed_in_ms: float
    network_id: int | None = None
    closed_edges: tuple[int, ...] = ()
    #: with a network: (code, name, population) of communes cut off, kept apart from those inside
    isolated_communes: tuple[dict[str, Any], ...] = ()
    inside_zone_communes: tuple[dict[str, Any], ...] = ()
    #: (code, name, before_s, after_s) to the EPCI's centre
    detours: tuple[dict[str, Any], ...] = ()
    services_out_of_reach: tuple[Service, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out: dict[str, Any] = to_jsonable(self)
        return out


@dataclass(frozen=True)
class Shock:
    """The closure of an establishment: its jobs, its pole, the territories most exposed."""

    siret: str
    name: str | None
    commune: str | None
    jobs_estimated: float
    jobs_low: float
    jobs_high: float
    pole: dict[str, Any] | None
    #: level, code, name, jobs_in_territory, exposure (jobs lost / jobs of the territory)
    exposed: tuple[dict[str, Any], ...]
    sources: tuple[SourceRef, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out: dict[str, Any] = to_jsonable(self)
        return out
