"""The typed results of dossiers (see :mod:`territoria.influence.dossiers`) and their labels."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "CAMPS",
    "EVENT_KINDS",
    "EVENT_STATUSES",
    "ITEM_KINDS",
    "JOB_STATUSES",
    "OUTCOMES",
    "STATUSES",
    "STEP_STATUSES",
    "Dossier",
    "DossierSummary",
    "Event",
    "Link",
    "LinkedAction",
    "Note",
    "Partner",
    "PlanVersion",
    "Stakeholder",
    "StanceRecord",
    "Step",
    "TimelineEntry",
]

#: A dossier's statuses (stored key: French label).
STATUSES = {
    "actif": "en cours",
    "suspendu": "suspendu",
    "gagne": "gagné",
    "perdu": "perdu",
    "clos": "clos",
}
#: Kinds of events of the decision's calendar.
EVENT_KINDS = {
    "deliberation": "délibération",
    "echeance": "échéance",
    "consultation": "consultation",
    "reunion": "réunion",
    "autre": "autre",
}
EVENT_STATUSES = {"prevu": "prévu", "fait": "fait", "reporte": "reporté", "annule": "annulé"}
STEP_STATUSES = {
    "a_faire": "à faire",
    "en_cours": "en cours",
    "fait": "fait",
    "abandonne": "abandonné",
}
#: A plan version's job status and an action's outcome, in French.
JOB_STATUSES = {
    "queued": "en attente",
    "running": "en cours",
    "done": "terminé",
    "failed": "échec",
    "cancelled": "annulé",
}
OUTCOMES = {"positive": "positif", "neutral": "neutre", "negative": "négatif", "unknown": "inconnu"}
#: Where a stakeholder sits in their council, when known.
CAMPS = {"majorite": "majorité", "opposition": "opposition"}
#: Kinds of items of a dossier and their table.
ITEM_KINDS = {
    "partner": "dossier_partner",
    "stakeholder": "dossier_stance",
    "event": "dossier_event",
    "step": "dossier_step",
    "link": "dossier_link",
    "note": "dossier_note",
    "action": "dossier_action",
    "plan": "dossier_plan",
}


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Dates and times as ISO text, recursively."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dt.date | dt.datetime):
            out[key] = value.isoformat()
        elif isinstance(value, dict):
            out[key] = _jsonable(value)
        elif isinstance(value, list):
            out[key] = [_jsonable(v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


class _Item:
    """JSON-able form shared by every item."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (dates as ISO text)."""
        return _jsonable(asdict(self))  # type: ignore[call-overload]


@dataclass(frozen=True)
class Partner(_Item):
    """A partner collectivity (a territory) or pole of the dossier."""

    id: int
    kind: str  # territory, pole
    level: str | None
    code: str
    label: str
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class StanceRecord(_Item):
    """One recorded stance of a stakeholder (the latest is the current one)."""

    id: int
    position: str
    position_label: str
    salience: float
    source: str
    date: dt.date | None
    camp: str | None
    camp_label: str | None
    notes: str
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Stakeholder(_Item):
    """A stakeholder of the dossier: who, their current stance, and the earlier ones."""

    actor_id: str
    name: str
    title: str  # their main current title, in their gender ('maire, Conseil municipal de Rennes')
    stance: StanceRecord
    history: list[StanceRecord] = field(default_factory=list)  # earlier stances, newest first


@dataclass(frozen=True)
class Event(_Item):
    """A date of the decision's calendar: a deliberation, a deadline, a consultation."""

    id: int
    date: dt.date
    kind: str
    kind_label: str
    label: str
    status: str
    status_label: str
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Step(_Item):
    """A next step, with who does it and by when."""

    id: int
    label: str
    owner: str
    due_date: dt.date | None
    status: str
    status_label: str
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Link(_Item):
    """A link (URL and label)."""

    id: int
    url: str
    label: str
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Note(_Item):
    """A free note."""

    id: int
    text: str
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class LinkedAction(_Item):
    """An action of the log linked to the dossier."""

    id: int  # the link's item id
    action_id: int
    date: dt.date
    type: str
    subject: str
    outcome: str
    outcome_label: str
    actor_names: list[str]
    action_deleted: bool  # the action itself was deleted from the log
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class PlanVersion(_Item):
    """A version of the dossier's plan: a persisted plan job and the summary of its result."""

    id: int
    job_id: str
    status: str  # the job's: queued, running, done, failed, cancelled
    status_label: str
    created_by: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    seeds: list[dict[str, str]]  # {"id", "name"}, in the plan's order
    estimate: float | None
    guarantee: str
    error: str


@dataclass(frozen=True)
class TimelineEntry(_Item):
    """One line of a dossier's timeline."""

    date: dt.date
    kind: str  # event, action, plan, step, note
    kind_label: str
    label: str
    detail: str
    item_id: int


@dataclass(frozen=True)
class DossierSummary(_Item):
    """A dossier as the list shows it."""

    id: int
    title: str
    theme: str
    theme_label: str
    theme_label_en: str
    level: str
    code: str
    territory: str
    status: str
    status_label: str
    owner: str
    next_deadline: dt.date | None
    next_deadline_label: str
    stakeholders: int
    updated_at: dt.datetime
    deleted_at: dt.datetime | None
    deleted_by: str | None


@dataclass(frozen=True)
class Dossier(_Item):
    """A dossier with all its items (deleted items left out)."""

    id: int
    title: str
    theme: str
    theme_label: str
    theme_label_en: str
    level: str
    code: str
    territory: str
    objective: str
    decision: str
    status: str
    status_label: str
    owner: str
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None
    deleted_by: str | None
    partners: list[Partner]
    stakeholders: list[Stakeholder]
    events: list[Event]
    steps: list[Step]
    links: list[Link]
    notes: list[Note]
    actions: list[LinkedAction]
    plans: list[PlanVersion]

    def timeline(self) -> list[TimelineEntry]:
        """Events, actions, plan versions, steps and notes in date order (oldest first)."""
        entries: list[tuple[dt.datetime, int, TimelineEntry]] = []

        def add(when: dt.date | dt.datetime, order: int, entry: TimelineEntry) -> None:
            moment = when if isinstance(when, dt.datetime) else dt.datetime.combine(when, dt.time())
            entries.append((moment, order, entry))

        for e in self.events:
            add(
                e.date,
                0,
                TimelineEntry(e.date, "event", e.kind_label, e.label, e.status_label, e.id),
            )
        for a in self.actions:
            who = ", ".join(a.actor_names)
            add(a.date, 1, TimelineEntry(a.date, "action", "action", a.subject, who, a.id))
        for p in self.plans:
            day = (p.finished_at or p.created_at).date()
            names = ", ".join(s["name"] for s in p.seeds[:5])
            label = f"version du plan n° {p.id}"
            add(p.created_at, 2, TimelineEntry(day, "plan", "plan", label, names, p.id))
        for s in self.steps:
            day = s.due_date or s.created_at.date()
            detail = " · ".join(x for x in (s.owner, s.status_label) if x)
            add(day, 3, TimelineEntry(day, "step", "étape", s.label, detail, s.id))
        for n in self.notes:
            day = n.created_at.date()
            add(n.created_at, 4, TimelineEntry(day, "note", "note", n.text, n.created_by, n.id))
        entries.sort(key=lambda t: (t[0], t[1], t[2].item_id))
        return [e for _, _, e in entries]

    def next_deadline(self, today: dt.date | None = None) -> Event | None:
        """The next planned event of the calendar from ``today`` on (``None`` if none)."""
        today = today or dt.date.today()
        coming = [e for e in self.events if e.status == "prevu" and e.date >= today]
        return min(coming, key=lambda e: (e.date, e.id)) if coming else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, with the timeline."""
        data = super().to_dict()
        data["timeline"] = [t.to_dict() for t in self.timeline()]
        return data
