"""Crisis pages and their REST companions.

- ``/crise``: the crisis map (Leaflet): the incidents (from ``/api/v1/incidents``), for the one
  chosen its affected and isolated communes and closed roads, and a tool to draw a new
  incident (polygon by clicks) with a form that posts to ``/api/v1/incidents``.
- ``/crise/incidents/{id}``: the situation report on screen, its PDF, the alert list with a send
  button for editors and the delivery log.
- ``/api/v1/crisis/incidents/{id}/layers`` (GeoJSON), ``…/alerts`` (POST: dispatch; GET: the
  delivery log).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from territoria.accounts import User
from territoria.alerts import crisis as alerts
from territoria.alerts.delivery import Delivery
from territoria.api._deps import AppState, Cursor, State, require
from territoria.api._render import render
from territoria.errors import TerritoriaError
from territoria.reports import situation as report

__all__ = ["api", "router", "routers"]

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/crisis", tags=["crisis"])
routers = (router, api)

Reader = Annotated[User, Depends(require("read"))]
Editor = Annotated[User, Depends(require("act"))]
IncidentId = Annotated[int, PathParam(ge=1, le=2**62, description="The incident's id.")]

#: Incident types the drawing form offers (ids of territoria.crisis.incidents), in French.
TYPE_CHOICES = (
    ("flood", "Inondation"),
    ("bridge_failure", "Rupture d'ouvrage (pont)"),
    ("road_closure", "Coupure de route"),
    ("storm", "Tempête"),
    ("industrial_accident", "Accident industriel"),
    ("industrial_closure", "Fermeture d'établissement"),
    ("other", "Autre"),
)


def _type_choices() -> list[tuple[str, str]]:
    """The incidents module's own types when it lists them, else :data:`TYPE_CHOICES`."""
    try:
        from territoria.crisis import incidents
    except ImportError:
        return list(TYPE_CHOICES)
    types = getattr(incidents, "TYPE_LABELS", None) or getattr(incidents, "INCIDENT_TYPES", None)
    if isinstance(types, dict):
        return [(str(k), str(v)) for k, v in types.items()]
    return list(TYPE_CHOICES)


_DELIVERY_STATUS = {
    "pending": "en attente",
    "retrying": "à réessayer",
    "sent": "envoyé",
    "failed": "échec",
}


class AlertRequest(BaseModel):
    """Send an incident's alert: its officials, plus these recipients."""

    to: list[str] = Field(
        default_factory=list, max_length=50, description="E-mail addresses or webhook URLs to add."
    )
    dry_run: bool = Field(default=False, description="Build the list only; send nothing.")


class RecipientOut(BaseModel):
    """One entry of the alert list."""

    name: str
    channel: str
    target: str
    function: str
    territory: str
    person_id: str | None
    origin: str


class AlertOut(BaseModel):
    """What a dispatch did."""

    incident_id: int
    exercise: bool
    subject: str
    dry_run: bool
    recipients: list[RecipientOut]
    without_address: list[str]
    queued: int
    delivery: dict[str, Any] | None


class LayersOut(BaseModel):
    """The crisis map's layers (GeoJSON FeatureCollection)."""

    type: str
    features: list[dict[str, Any]]


def _dispatch(
    state: AppState, user: User, incident_id: int, to: list[str], *, dry_run: bool, url: str
) -> alerts.CrisisDispatch:
    """Compute the impact, build the alert list and send it (writes through the writer)."""
    from territoria.crisis.impact import impact

    extra = [alerts.parse_recipient(t) for t in to if t.strip()]
    with state.db.reader() as cur:
        found = impact(cur, incident_id)
        return alerts.dispatch(
            cur, found, user=user.name, settings=state.settings, extra=extra, dry_run=dry_run,
            report_url=url, writer=lambda: state.db.writer(actor=f"web:{user.name}"),
        )  # fmt: skip


# ------------------------------------------------------------------ REST


@api.get("/incidents/{incident_id}/layers", response_model=LayersOut)
def layers(cur: Cursor, user: Reader, incident_id: IncidentId) -> dict[str, Any]:
    """The incident's zone, affected and isolated communes and closed roads (GeoJSON)."""
    return report.situation_layers(cur, report.situation(cur, incident_id))


@api.post("/incidents/{incident_id}/alerts", response_model=AlertOut)
def send_alerts(
    request: Request, state: State, user: Editor, incident_id: IncidentId, body: AlertRequest
) -> dict[str, Any]:
    """Alert the officials of every affected territory and the added recipients (e-mail,
    webhook); every message goes to the delivery log."""
    url = str(request.url_for("incident_page", incident_id=incident_id))
    done = _dispatch(state, user, incident_id, body.to, dry_run=body.dry_run, url=url)
    return done.to_dict()


@api.get("/incidents/{incident_id}/alerts", response_model=list[Delivery])
def deliveries(cur: Cursor, user: Reader, incident_id: IncidentId) -> list[Delivery]:
    """The delivery log of the incident's alerts, newest first."""
    return alerts.crisis_deliveries(cur, incident_id)


# ------------------------------------------------------------------ pages


def _networks(cur: Any) -> list[dict[str, Any]]:
    """The road networks an incident may be drawn on (none without the networks module)."""
    try:
        from territoria.networks import list_networks
    except ImportError:
        return []
    return [
        {"id": n.id, "name": n.name, "synthetic": n.synthetic}
        for n in list_networks(cur)
        if n.kind == "road"
    ]


@router.get("/crise", response_class=HTMLResponse)
def crisis_map(request: Request, cur: Cursor, user: Reader) -> Response:
    """The crisis map: incidents, closed roads, isolated communes; draw a new incident."""
    context = {"types": _type_choices(), "networks": _networks(cur), "can_act": user.can("act")}
    return render(request, "crisis_map.html", context)


def _incident_page(
    request: Request, cur: Any, user: User, incident_id: int, *, error: str | None = None,
    status: int = 200, sent: alerts.CrisisDispatch | None = None,
) -> Response:  # fmt: skip
    sit = report.situation(cur, incident_id)
    recipients, missing = alerts.alert_list(sit.impact)
    context = report.situation_context(sit) | {
        "recipients": recipients,
        "missing": missing,
        "deliveries": alerts.crisis_deliveries(cur, incident_id),
        "can_act": user.can("act"),
        "error": error,
        "sent": sent,
        "status_labels": _DELIVERY_STATUS,
        "channel_labels": {"email": "e-mail", "webhook": "webhook"},
    }
    return render(request, "crisis_incident.html", context, status_code=status)


@router.get("/crise/incidents/{incident_id}", response_class=HTMLResponse, name="incident_page")
def incident_page(request: Request, cur: Cursor, user: Reader, incident_id: IncidentId) -> Response:
    """The situation report on screen, the alert list and the delivery log."""
    return _incident_page(request, cur, user, incident_id)


@router.get("/crise/incidents/{incident_id}/rapport.pdf")
def incident_pdf(cur: Cursor, user: Reader, incident_id: IncidentId) -> Response:
    """The situation report as PDF."""
    data = report.situation_pdf(report.situation(cur, incident_id))
    name = f"point-de-situation-{incident_id}.pdf"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, media_type="application/pdf", headers=headers)


@router.post("/crise/incidents/{incident_id}/alerte", response_class=HTMLResponse)
def alert_form(
    request: Request,
    state: State,
    user: Editor,
    incident_id: IncidentId,
    to: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Send the alert from the incident's page (added recipients: one per line)."""
    url = str(request.url_for("incident_page", incident_id=incident_id))
    extra = [t for t in to.replace(",", "\n").splitlines() if t.strip()]
    try:
        done = _dispatch(state, user, incident_id, extra, dry_run=False, url=url)
    except TerritoriaError as exc:
        if exc.http_status >= 500:
            raise
        with state.db.reader() as cur:
            return _incident_page(
                request, cur, user, incident_id, error=str(exc), status=exc.http_status
            )
    lang = request.query_params.get("lang")
    path = f"/crise/incidents/{incident_id}?envoi={done.queued}"
    return RedirectResponse(path + (f"&lang={lang}" if lang else ""), status_code=303)
