"""REST routes of dossiers under ``/api/v1/dossiers``: the dossier, its items, plan versions
and exports (see :mod:`territoria.influence.dossiers`)."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import Annotated, Literal

import duckdb
from fastapi import APIRouter, Depends, Query, status
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field

from territoria.accounts import User
from territoria.api._deps import AppState, Cursor, State, require
from territoria.influence import dossiers as lib
from territoria.influence._dossier_model import (
    Dossier,
    DossierSummary,
    PlanVersion,
    Stakeholder,
    TimelineEntry,
)
from territoria.reports.dossier import EXPORT_FORMATS, export_dossier

router = APIRouter(prefix="/api/v1", tags=["dossiers"], dependencies=[Depends(require("read"))])

Writer = Annotated[User, Depends(require("act"))]
Planner = Annotated[User, Depends(require("plan"))]
DossierId = Annotated[int, PathParam(ge=1, le=2**53, description="Id of the dossier.")]
ItemId = Annotated[int, PathParam(ge=1, le=2**53, description="Id of the item.")]
#: Kinds of items as the paths name them.
ITEM_PATHS = {
    "partners": "partner",
    "stakeholders": "stakeholder",
    "events": "event",
    "steps": "step",
    "links": "link",
    "notes": "note",
    "actions": "action",
    "plans": "plan",
}
ItemPath = Annotated[
    Literal["partners", "stakeholders", "events", "steps", "links", "notes", "actions", "plans"],
    PathParam(description="Kind of item."),
]


class DossierIn(BaseModel):
    """A new dossier: a project (a decision-map theme) in a territory."""

    title: str = Field(min_length=1, max_length=300)
    theme: str = Field(min_length=1, max_length=80, description="GET /influence/themes.")
    code: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z-]+$")
    level: str | None = Field(default=None, max_length=40)
    objective: str = Field(default="", max_length=5000)
    decision: str = Field(default="", max_length=5000, description="The decision sought.")
    owner: str | None = Field(default=None, max_length=200, description="Default: you.")


class DossierPatch(BaseModel):
    """Fields of a dossier to change (the others are kept)."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    theme: str | None = Field(default=None, max_length=80)
    objective: str | None = Field(default=None, max_length=5000)
    decision: str | None = Field(default=None, max_length=5000)
    status: Literal["actif", "suspendu", "gagne", "perdu", "clos"] | None = None
    owner: str | None = Field(default=None, max_length=200)


class Created(BaseModel):
    """The id of what was created."""

    id: int


class StanceIn(BaseModel):
    """A stakeholder's stance (a new one keeps the earlier ones as its history)."""

    actor: str = Field(min_length=1, max_length=200, description="p-…, cr-53, an actor's id.")
    position: Literal["soutien", "oppose", "indecis", "inconnu"]
    salience: float = Field(default=1.0, ge=0, le=1, description="How much it matters to them.")
    source: str = Field(default="", max_length=500)
    date: dt.date | None = None
    camp: Literal["majorite", "opposition"] | None = None
    notes: str = Field(default="", max_length=5000)


class EventIn(BaseModel):
    """A date of the decision's calendar."""

    date: dt.date
    label: str = Field(min_length=1, max_length=500)
    kind: Literal["deliberation", "echeance", "consultation", "reunion", "autre"] = "deliberation"
    status: Literal["prevu", "fait", "reporte", "annule"] = "prevu"


class StepIn(BaseModel):
    """A next step."""

    label: str = Field(min_length=1, max_length=500)
    owner: str = Field(default="", max_length=200)
    due_date: dt.date | None = None
    status: Literal["a_faire", "en_cours", "fait", "abandonne"] = "a_faire"


class StatusIn(BaseModel):
    """A step's or an event's new status."""

    status: str = Field(min_length=1, max_length=40)


class LinkIn(BaseModel):
    """A link."""

    url: str = Field(min_length=1, max_length=2000, pattern=r"^https?://\S+$")
    label: str = Field(default="", max_length=300)


class NoteIn(BaseModel):
    """A note."""

    text: str = Field(min_length=1, max_length=5000)


class PartnerIn(BaseModel):
    """A partner collectivity (``code``, ``level``) or pole (``pole``)."""

    code: str | None = Field(default=None, max_length=20, pattern=r"^[0-9A-Za-z-]+$")
    level: str | None = Field(default=None, max_length=40)
    pole: str | None = Field(default=None, max_length=200, pattern=r"^[^/]+-[0-9A-Za-z]{5}$")


class ActionLinkIn(BaseModel):
    """An action of the log (GET /actions) to link."""

    action_id: int = Field(ge=1, le=2**53)


class PlanIn(BaseModel):
    """Options of a new plan version (theme, territory and stances come from the dossier)."""

    k: int | None = Field(default=None, ge=1, le=200, description="Default 10.")
    budget: float | None = Field(default=None, gt=0)
    epsilon: float = Field(default=0.1, gt=0, lt=1)
    seed: int | None = Field(default=None, ge=0)


def _writer(state: AppState, user: User) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    return state.db.writer(actor=f"web:{user.name}")


@router.get("/dossiers", summary="Dossiers", response_model=list[DossierSummary])
def dossiers(
    cur: Cursor,
    deleted: Annotated[bool, Query(description="List the deleted ones instead.")] = False,
) -> list[DossierSummary]:
    """Return the dossiers, latest changed first, with their next deadline."""
    return lib.list_dossiers(cur, deleted=deleted)


@router.post(
    "/dossiers",
    status_code=status.HTTP_201_CREATED,
    summary="Open a dossier",
    response_model=Created,
)
def create(body: DossierIn, state: State, user: Writer) -> Created:
    """Open a dossier; the signed-in user is its author (and its owner unless told)."""
    with _writer(state, user) as cur:
        return Created(id=lib.create_dossier(cur, **body.model_dump(), created_by=user.name))


@router.get("/dossiers/{dossier_id}", summary="A dossier", response_model=Dossier)
def dossier(cur: Cursor, dossier_id: DossierId) -> Dossier:
    """Return the dossier with its items (deleted items left out)."""
    return lib.get_dossier(cur, dossier_id)


@router.patch("/dossiers/{dossier_id}", summary="Change a dossier", response_model=Dossier)
def patch(dossier_id: DossierId, body: DossierPatch, state: State, user: Writer) -> Dossier:
    """Change the title, theme, objective, decision, status or owner."""
    with _writer(state, user) as cur:
        return lib.update_dossier(cur, dossier_id, **body.model_dump(exclude_none=True))


@router.delete(
    "/dossiers/{dossier_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a dossier"
)
def delete(dossier_id: DossierId, state: State, user: Writer) -> Response:
    """Delete a dossier softly (its creator, its owner or an admin; 403 otherwise);
    ``POST /dossiers/{id}/restore`` undoes it."""
    with _writer(state, user) as cur:
        lib.delete_dossier(cur, dossier_id, user=user.name, admin=user.can("admin"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/dossiers/{dossier_id}/restore", summary="Restore a deleted dossier", response_model=Dossier
)
def restore(dossier_id: DossierId, state: State, user: Writer) -> Dossier:
    """Undo the deletion of a dossier."""
    with _writer(state, user) as cur:
        return lib.restore_dossier(cur, dossier_id, user=user.name, admin=user.can("admin"))


@router.get(
    "/dossiers/{dossier_id}/timeline",
    summary="A dossier's timeline",
    response_model=list[TimelineEntry],
)
def timeline(cur: Cursor, dossier_id: DossierId) -> list[TimelineEntry]:
    """Events, actions, plan versions, steps and notes in date order."""
    return lib.get_dossier(cur, dossier_id).timeline()


@router.get(
    "/dossiers/{dossier_id}/stakeholders",
    summary="Stakeholders and their stances",
    response_model=list[Stakeholder],
)
def stakeholders(cur: Cursor, dossier_id: DossierId) -> list[Stakeholder]:
    """Each stakeholder's current stance, with the earlier ones."""
    return lib.get_dossier(cur, dossier_id).stakeholders


@router.post(
    "/dossiers/{dossier_id}/stakeholders",
    status_code=status.HTTP_201_CREATED,
    summary="Record a stakeholder's stance",
    response_model=Created,
)
def add_stance(dossier_id: DossierId, body: StanceIn, state: State, user: Writer) -> Created:
    """Record a stance; the stakeholder's earlier stances stay as its history."""
    fields = body.model_dump()
    fields["when"] = fields.pop("date")
    with _writer(state, user) as cur:
        return Created(id=lib.add_stance(cur, dossier_id, **fields, created_by=user.name))


@router.post(
    "/dossiers/{dossier_id}/events",
    status_code=status.HTTP_201_CREATED,
    summary="Add a date to the calendar",
    response_model=Created,
)
def add_event(dossier_id: DossierId, body: EventIn, state: State, user: Writer) -> Created:
    """Add a deliberation, a deadline, a consultation …"""
    fields = body.model_dump()
    fields["when"] = fields.pop("date")
    with _writer(state, user) as cur:
        return Created(id=lib.add_event(cur, dossier_id, **fields, created_by=user.name))


@router.post(
    "/dossiers/{dossier_id}/steps",
    status_code=status.HTTP_201_CREATED,
    summary="Add a next step",
    response_model=Created,
)
def add_step(dossier_id: DossierId, body: StepIn, state: State, user: Writer) -> Created:
    """Add a next step with who does it and by when."""
    fields = body.model_dump()
    fields["due"] = fields.pop("due_date")
    with _writer(state, user) as cur:
        return Created(id=lib.add_step(cur, dossier_id, **fields, created_by=user.name))


@router.post(
    "/dossiers/{dossier_id}/links",
    status_code=status.HTTP_201_CREATED,
    summary="Add a link",
    response_model=Created,
)
def add_link(dossier_id: DossierId, body: LinkIn, state: State, user: Writer) -> Created:
    """Add a link (http or https)."""
    with _writer(state, user) as cur:
        return Created(id=lib.add_link(cur, dossier_id, **body.model_dump(), created_by=user.name))


@router.post(
    "/dossiers/{dossier_id}/notes",
    status_code=status.HTTP_201_CREATED,
    summary="Add a note",
    response_model=Created,
)
def add_note(dossier_id: DossierId, body: NoteIn, state: State, user: Writer) -> Created:
    """Add a note."""
    with _writer(state, user) as cur:
        return Created(id=lib.add_note(cur, dossier_id, text=body.text, created_by=user.name))


@router.post(
    "/dossiers/{dossier_id}/partners",
    status_code=status.HTTP_201_CREATED,
    summary="Add a partner collectivity or pole",
    response_model=Created,
)
def add_partner(dossier_id: DossierId, body: PartnerIn, state: State, user: Writer) -> Created:
    """Add a partner collectivity (``code``) or a pole (``pole``)."""
    if (body.code is None) == (body.pole is None):
        from territoria.errors import InvalidDossier

        raise InvalidDossier("give a territory's code or a pole id (one of them)")
    with _writer(state, user) as cur:
        if body.pole is not None:
            item = lib.add_partner(cur, dossier_id, code=body.pole, pole=True, created_by=user.name)
        else:
            assert body.code is not None
            item = lib.add_partner(
                cur, dossier_id, code=body.code, level=body.level, created_by=user.name
            )
    return Created(id=item)


@router.post(
    "/dossiers/{dossier_id}/actions",
    status_code=status.HTTP_201_CREATED,
    summary="Link an action of the log",
    response_model=Created,
)
def link_action(dossier_id: DossierId, body: ActionLinkIn, state: State, user: Writer) -> Created:
    """Link an action of the log (GET /actions) to the dossier."""
    with _writer(state, user) as cur:
        return Created(id=lib.link_action(cur, dossier_id, body.action_id, created_by=user.name))


@router.patch(
    "/dossiers/{dossier_id}/{kind}/{item_id}",
    summary="Change a step's or an event's status",
    response_model=Dossier,
)
def set_status(
    dossier_id: DossierId,
    kind: Annotated[Literal["steps", "events"], PathParam()],
    item_id: ItemId,
    body: StatusIn,
    state: State,
    user: Writer,
) -> Dossier:
    """Mark a step done (``fait``), an event postponed (``reporte``) …"""
    with _writer(state, user) as cur:
        lib.set_item_status(cur, dossier_id, ITEM_PATHS[kind], item_id, body.status)
        return lib.get_dossier(cur, dossier_id)


@router.delete(
    "/dossiers/{dossier_id}/{kind}/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an item of a dossier",
)
def delete_item(
    dossier_id: DossierId, kind: ItemPath, item_id: ItemId, state: State, user: Writer
) -> Response:
    """Delete an item softly (its author, the dossier's creator or owner, or an admin)."""
    with _writer(state, user) as cur:
        lib.delete_item(
            cur, dossier_id, ITEM_PATHS[kind], item_id, user=user.name, admin=user.can("admin")
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/dossiers/{dossier_id}/{kind}/{item_id}/restore",
    summary="Restore a deleted item",
    response_model=Dossier,
)
def restore_item(
    dossier_id: DossierId, kind: ItemPath, item_id: ItemId, state: State, user: Writer
) -> Dossier:
    """Undo the deletion of an item."""
    with _writer(state, user) as cur:
        lib.restore_item(
            cur, dossier_id, ITEM_PATHS[kind], item_id, user=user.name, admin=user.can("admin")
        )
        return lib.get_dossier(cur, dossier_id)


@router.get(
    "/dossiers/{dossier_id}/plans", summary="Versions of the plan", response_model=list[PlanVersion]
)
def plans(cur: Cursor, dossier_id: DossierId) -> list[PlanVersion]:
    """Return the versions of the dossier's plan, oldest first, with their job's summary."""
    return lib.get_dossier(cur, dossier_id).plans


@router.post(
    "/dossiers/{dossier_id}/plans",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Compute a new version of the plan (a persisted background job)",
    response_model=PlanVersion,
)
def start_plan(dossier_id: DossierId, body: PlanIn, state: State, user: Planner) -> PlanVersion:
    """Queue a plan job (kind ``plan``, as ``POST /influence/plans``) on the dossier's theme,
    territory and current stances, and record it as the dossier's latest plan version; poll
    ``GET /influence/plans/{job id}`` or this dossier for its result."""
    return submit_plan(state, user, dossier_id, body)


def submit_plan(state: AppState, user: User, dossier_id: int, body: PlanIn) -> PlanVersion:
    """Queue a plan job for the dossier and record it as its latest plan version (the API's
    and the page's form's one way)."""
    with state.db.reader() as cur:
        params = lib.plan_params(cur, dossier_id, **body.model_dump())
    job = state.jobs.submit("plan", user.name, params)
    with _writer(state, user) as cur:
        version = lib.record_plan(cur, dossier_id, job.id, created_by=user.name)
        return next(p for p in lib.get_dossier(cur, dossier_id).plans if p.id == version)


@router.get(
    "/dossiers/{dossier_id}/export",
    summary="Export a dossier (PDF report or CSV)",
    response_class=Response,
)
def export(
    cur: Cursor,
    dossier_id: DossierId,
    fmt: Annotated[Literal["pdf", "csv"], Query(alias="format")] = "pdf",
) -> Response:
    """Download the dossier as a PDF report or as CSV (one row per item; cells a spreadsheet
    would run as formulas are neutralised)."""
    data = export_dossier(lib.get_dossier(cur, dossier_id), fmt)
    return Response(
        data,
        media_type=EXPORT_FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="dossier-{dossier_id}.{fmt}"'},
    )
