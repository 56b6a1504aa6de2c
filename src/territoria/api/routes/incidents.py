"""REST routes of incidents (:mod:`territoria.crisis`): list, create (GeoJSON zone), read,
soft delete, impact, and CAP 1.2 import (``application/xml``) and export.

Writes go through the knowledge base's writer under the signed-in user's name (audited).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from territoria.accounts import User
from territoria.api._deps import Cursor, State, field, require
from territoria.crisis import cap
from territoria.crisis import incidents as lib
from territoria.crisis.impact import impact as compute_impact

__all__ = ["router", "routers"]

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"],
                   dependencies=[Depends(require("read"))])  # fmt: skip
Writer = Annotated[User, Depends(require("act"))]
IncidentId = Annotated[int, PathParam(ge=1, le=2**53, description="Id of the incident.")]
#: Largest CAP document accepted (bytes)
MAX_CAP_BYTES = 2_000_000


class IncidentIn(BaseModel):
    """An incident to record (the zone as a GeoJSON geometry or Feature, WGS84)."""

    type: str = Field(max_length=40, description="flood, storm, road_closure, other …")
    severity: int = Field(ge=1, le=5, description="1 (minor) to 5 (extreme).")
    geometry: dict[str, Any] = Field(description="GeoJSON polygon, line or point (with radius).")
    start: datetime = Field(description="Start (ISO 8601; naive: UTC).")
    end: datetime | None = None
    title: str = Field(default="", max_length=300)
    exercise: bool = False
    status: str | None = Field(default=None, description="CAP status (Actual, Exercise …).")
    radius_m: float | None = Field(default=None, gt=0, le=200_000)
    description: str = Field(default="", max_length=20_000)
    network_id: int | None = Field(default=None, ge=1, le=2**31)
    closed_edges: list[int] = Field(default_factory=list, max_length=10_000)


class IncidentOut(BaseModel):
    """A recorded incident."""

    model_config = ConfigDict(extra="allow")

    id: int
    title: str
    type: str
    severity: int
    status: str
    exercise: bool
    start: datetime
    end: datetime | None
    geometry: dict[str, Any]
    geometry_kind: str
    network_id: int | None
    closed_edges: list[int]
    source: str
    deleted: bool


class TerritoryOut(BaseModel):
    """A territory the zone covers."""

    level: str
    code: str
    name: str
    population_affected: int
    share: float
    population: int | None


class OfficialOut(BaseModel):
    """An official to call."""

    person_id: str
    name: str
    function: str
    territory: str
    contact: dict[str, Any] | None
    level: str
    code: str
    organisation_id: str | None
    body: str


class ImpactOut(BaseModel):
    """What the incident touches (see ``territoria incidents impact --json``)."""

    model_config = ConfigDict(extra="allow")

    incident: IncidentOut
    territories: list[TerritoryOut]
    population_affected: int
    population_method: str
    establishments: int
    jobs_estimated: float
    jobs_low: float
    jobs_high: float
    officials: list[OfficialOut]
    isolated_communes: list[dict[str, Any]]
    inside_zone_communes: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    computed_in_ms: float


@router.get("", response_model=list[IncidentOut], summary="Incidents, newest first")
def list_incidents(
    cur: Cursor, deleted: Annotated[bool, Query(description="Include deleted ones.")] = False
) -> list[dict[str, Any]]:
    """Return the incidents (not deleted, unless asked)."""
    return [i.to_dict() for i in lib.list_incidents(cur, deleted=deleted)]


@router.post("", response_model=IncidentOut, status_code=201, summary="Record an incident")
def create(state: State, user: Writer, body: IncidentIn) -> dict[str, Any]:
    """Record an incident; on ``network_id``, the roads its zone cuts are closed."""
    req = lib.IncidentInput(**{**body.model_dump(), "closed_edges": tuple(body.closed_edges)})
    with state.db.writer(actor=f"web:{user.name}") as cur, field("geometry"):
        return lib.add_incident(cur, req).to_dict()


@router.post("/cap", response_model=IncidentOut, status_code=201,
             summary="Import a CAP 1.2 alert (application/xml)")  # fmt: skip
async def import_cap(request: Request, state: State, user: Writer) -> dict[str, Any]:
    """Validate a CAP 1.2 document against the OASIS schema and record it as an incident."""
    data = await request.body()
    if len(data) > MAX_CAP_BYTES:
        from territoria.errors import InvalidCapFile

        raise InvalidCapFile(f"CAP document of {len(data)} bytes: at most {MAX_CAP_BYTES}")
    with state.db.writer(actor=f"web:{user.name}") as cur:
        return cap.import_cap(cur, data, where="CAP document").to_dict()


@router.get("/{incident_id}", response_model=IncidentOut, summary="One incident")
def get_one(cur: Cursor, incident_id: IncidentId) -> dict[str, Any]:
    """Return the incident (404 when there is none or it was deleted)."""
    return lib.get_incident(cur, incident_id).to_dict()


@router.delete("/{incident_id}", response_model=IncidentOut, summary="Delete an incident")
def delete(state: State, user: Writer, incident_id: IncidentId) -> dict[str, Any]:
    """Soft-delete the incident (kept with who deleted it and when)."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        return lib.delete_incident(cur, incident_id).to_dict()


@router.get("/{incident_id}/impact", response_model=ImpactOut, summary="An incident's impact")
def get_impact(
    cur: Cursor,
    incident_id: IncidentId,
    network: Annotated[int | None, Query(ge=1, le=2**31, description="Road network id.")] = None,
) -> dict[str, Any]:
    """Territories, population, establishments and jobs, services, officials; with a
    network, the communes isolated (kept apart from those inside the zone) and detours."""
    return compute_impact(cur, incident_id, network_id=network).to_dict()


@router.get("/{incident_id}/cap", summary="An incident as CAP 1.2 XML",
            response_class=Response,
            responses={200: {"content": {"application/xml": {}}}})  # fmt: skip
def export_cap(cur: Cursor, incident_id: IncidentId) -> Response:
    """The incident as a CAP 1.2 alert, validated against the OASIS schema."""
    data = cap.export_cap(cur, incident_id)
    name = f"incident-{incident_id}.cap.xml"
    return Response(data, media_type="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


routers = (router,)
