"""HTML pages of dossiers: the list (with a form to open one) and a dossier's page (its
timeline, stakeholders, calendar, plan versions) with forms to add a stakeholder, a step, an
event or a note. Forms post here and come back to the page (or show it with the error)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from territoria.accounts import User
from territoria.api._deps import Cursor, State, require
from territoria.api._render import render
from territoria.api.routes.dossiers import DossierId, PlanIn, submit_plan
from territoria.api.routes.watch_pages import WATCH_SHOWN
from territoria.errors import TerritoriaError
from territoria.influence import dossiers as lib
from territoria.influence._dossier_model import EVENT_KINDS, STEP_STATUSES
from territoria.influence.decision import themes as decision_themes
from territoria.influence.stance import POSITION_LABELS
from territoria.kb.people import actor_id
from territoria.watch.related import items_for_dossier

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(require("read"))]
Writer = Annotated[User, Depends(require("act"))]
Planner = Annotated[User, Depends(require("plan"))]


def _themes() -> list[dict[str, Any]]:
    """Themes with their sub-themes (a dossier is about either)."""
    return [
        {
            "id": t.id,
            "label": t.label_fr,
            "subthemes": [{"id": s.id, "label": s.label_fr} for s in t.subthemes],
        }
        for t in decision_themes()
    ]


def _list_page(
    request: Request, cur: Any, user: User, *, error: str | None = None, status: int = 200
) -> Response:
    context = {
        "dossiers": lib.list_dossiers(cur),
        "themes": _themes(),
        "can_act": user.can("act"),
        "error": error,
        "today": dt.date.today(),
    }
    return render(request, "dossiers.html", context, status_code=status)


@router.get("/dossiers", response_class=HTMLResponse)
def dossiers_page(request: Request, cur: Cursor, user: Reader) -> Response:
    """The dossiers: status, next deadline, owner; a form to open one."""
    return _list_page(request, cur, user)


def dossier_context(dossier: lib.Dossier, *, today: dt.date | None = None) -> dict[str, Any]:
    """What the dossier's page shows (also what the benchmark renders)."""
    return {
        "d": dossier,
        "timeline": dossier.timeline(),
        "next_deadline": dossier.next_deadline(today),
        "positions": POSITION_LABELS,
        "event_kinds": EVENT_KINDS,
        "step_statuses": STEP_STATUSES,
    }


def _dossier_page(
    request: Request,
    cur: Any,
    user: User,
    dossier_id: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = dossier_context(lib.get_dossier(cur, dossier_id))
    context |= {"can_act": user.can("act"), "can_plan": user.can("plan"), "error": error}
    context["watch"] = items_for_dossier(cur, dossier_id, limit=WATCH_SHOWN)
    return render(request, "dossier.html", context, status_code=status)


@router.get("/dossiers/{dossier_id}", response_class=HTMLResponse)
def dossier_page(request: Request, cur: Cursor, user: Reader, dossier_id: DossierId) -> Response:
    """A dossier: header, objective, decision and calendar, timeline, stakeholders, partners,
    plan versions, links; forms to add to it."""
    return _dossier_page(request, cur, user, dossier_id)


def _back(request: Request, path: str) -> Response:
    lang = request.query_params.get("lang")
    return RedirectResponse(path + (f"?lang={lang}" if lang else ""), status_code=303)


def _write(
    request: Request,
    state: Any,
    user: User,
    dossier_id: int,
    write: Callable[[Any], object],
) -> Response:
    """Run a form's write; back to the dossier's page, or the page with the error."""

    def run() -> None:
        with state.db.writer(actor=f"web:{user.name}") as cur:
            write(cur)

    return _submitted(request, state, user, dossier_id, run)


def _submitted(
    request: Request, state: Any, user: User, dossier_id: int, run: Callable[[], object]
) -> Response:
    """Run what a form asks for; back to the dossier's page, or the page with the error."""
    try:
        run()
    except TerritoriaError as exc:
        if exc.http_status >= 500:
            raise
        with state.db.reader() as cur:
            return _dossier_page(
                request, cur, user, dossier_id, error=str(exc), status=exc.http_status
            )
    return _back(request, f"/dossiers/{dossier_id}")


def _date(value: str) -> str | None:
    return value.strip() or None


@router.post("/dossiers", response_class=HTMLResponse)
def create_form(
    request: Request,
    state: State,
    user: Writer,
    title: Annotated[str, Form(max_length=300)],
    theme: Annotated[str, Form(max_length=80)],
    code: Annotated[str, Form(max_length=20)],
    objective: Annotated[str, Form(max_length=5000)] = "",
    decision: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Open a dossier from the list's form, then show it."""
    try:
        with state.db.writer(actor=f"web:{user.name}") as cur:
            dossier_id = lib.create_dossier(
                cur,
                title=title,
                theme=theme,
                code=code.strip(),
                objective=objective,
                decision=decision,
                created_by=user.name,
            )
    except TerritoriaError as exc:
        if exc.http_status >= 500:
            raise
        with state.db.reader() as cur:
            return _list_page(request, cur, user, error=str(exc), status=exc.http_status)
    return _back(request, f"/dossiers/{dossier_id}")


@router.post("/dossiers/{dossier_id}/parties-prenantes", response_class=HTMLResponse)
def stakeholder_form(
    request: Request,
    state: State,
    user: Writer,
    dossier_id: DossierId,
    actor: Annotated[str, Form(max_length=200)],
    position: Annotated[str, Form(max_length=20)],
    salience: Annotated[float, Form(ge=0, le=1)] = 1.0,
    source: Annotated[str, Form(max_length=500)] = "",
    date: Annotated[str, Form(max_length=10)] = "",
    camp: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Record a stakeholder's stance (an actor's id or a person's name)."""

    def write(cur: Any) -> object:
        return lib.add_stance(
            cur,
            dossier_id,
            actor=actor_id(cur, actor),
            position=position,
            salience=salience,
            source=source,
            when=_date(date),
            camp=camp or None,
            created_by=user.name,
        )

    return _write(request, state, user, dossier_id, write)


@router.post("/dossiers/{dossier_id}/etapes", response_class=HTMLResponse)
def step_form(
    request: Request,
    state: State,
    user: Writer,
    dossier_id: DossierId,
    label: Annotated[str, Form(max_length=500)],
    owner: Annotated[str, Form(max_length=200)] = "",
    due: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Add a next step."""

    def write(cur: Any) -> object:
        return lib.add_step(
            cur, dossier_id, label=label, owner=owner, due=_date(due), created_by=user.name
        )

    return _write(request, state, user, dossier_id, write)


@router.post("/dossiers/{dossier_id}/calendrier", response_class=HTMLResponse)
def event_form(
    request: Request,
    state: State,
    user: Writer,
    dossier_id: DossierId,
    date: Annotated[str, Form(max_length=10)],
    label: Annotated[str, Form(max_length=500)],
    kind: Annotated[str, Form(max_length=20)] = "deliberation",
) -> Response:
    """Add a date to the decision's calendar."""

    def write(cur: Any) -> object:
        return lib.add_event(
            cur, dossier_id, when=date, label=label, kind=kind, created_by=user.name
        )

    return _write(request, state, user, dossier_id, write)


@router.post("/dossiers/{dossier_id}/notes", response_class=HTMLResponse)
def note_form(
    request: Request,
    state: State,
    user: Writer,
    dossier_id: DossierId,
    text: Annotated[str, Form(max_length=5000)],
) -> Response:
    """Add a note."""

    def write(cur: Any) -> object:
        return lib.add_note(cur, dossier_id, text=text, created_by=user.name)

    return _write(request, state, user, dossier_id, write)


@router.post("/dossiers/{dossier_id}/plans", response_class=HTMLResponse)
def plan_form(
    request: Request,
    state: State,
    user: Planner,
    dossier_id: DossierId,
    k: Annotated[int, Form(ge=1, le=200)] = 10,
) -> Response:
    """Compute a new version of the plan (a background job); back to the dossier's page."""
    return _submitted(
        request, state, user, dossier_id, lambda: submit_plan(state, user, dossier_id, PlanIn(k=k))
    )
