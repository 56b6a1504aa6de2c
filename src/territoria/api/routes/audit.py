"""The audit log for administrators: ``GET /api/v1/audit`` and the page ``/journal``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from territoria.accounts import User
from territoria.api._deps import Cursor, require
from territoria.api._i18n import Translator
from territoria.api._render import render, request_translator
from territoria.kb.audit import MAX_LIMIT, AuditEntry, list_audit
from territoria.kb.state_bodies import SERVICES

router = APIRouter(tags=["audit"])
Admin = Annotated[User, Depends(require("admin"))]

ActorQuery = Annotated[
    str | None,
    Query(description="Only the writes of this actor (web:alice, cli:root).", max_length=200),
]
EventQuery = Annotated[
    str | None,
    Query(description="Only events starting with this prefix (action., user.).", max_length=100),
]
TargetQuery = Annotated[
    str | None,
    Query(description="Only writes that touched this target (an action id).", max_length=200),
]
BeforeQuery = Annotated[
    int | None,
    Query(ge=1, le=2**63 - 1, description="Only entries older than this id (next page)."),
]

#: French names of the audited events (English in i18n/en.json).
EVENT_LABELS: Final = {
    "action.create": "Action consignée",
    "action.delete": "Action supprimée",
    "action.restore": "Action restaurée",
    "user.add": "Compte créé",
    "user.remove": "Compte supprimé",
    "user.passwd": "Mot de passe changé",
    "user.role": "Rôle modifié",
    "user.token": "Jeton d'accès créé",
    "user.revoke": "Accès révoqués",
    "relations.import": "Relations importées",
    "import.officials": "Élus importés (Répertoire national des élus)",
    "register.exercise": "Exercice du registre HATVP renseigné",
    "import.state_bodies": "Services de l'État importés (listes du paquet)",
    "dossier.create": "Dossier ouvert",
    "dossier.update": "Dossier modifié",
    "dossier.delete": "Dossier supprimé",
    "dossier.restore": "Dossier restauré",
    "dossier.partner.add": "Dossier : ajout (partenaire)",
    "dossier.partner.delete": "Dossier : suppression (partenaire)",
    "dossier.partner.restore": "Dossier : restauration (partenaire)",
    "dossier.stakeholder.add": "Dossier : ajout (position d'une partie prenante)",
    "dossier.stakeholder.delete": "Dossier : suppression (position d'une partie prenante)",
    "dossier.stakeholder.restore": "Dossier : restauration (position d'une partie prenante)",
    "dossier.event.add": "Dossier : ajout (date du calendrier)",
    "dossier.event.delete": "Dossier : suppression (date du calendrier)",
    "dossier.event.restore": "Dossier : restauration (date du calendrier)",
    "dossier.step.add": "Dossier : ajout (étape)",
    "dossier.step.delete": "Dossier : suppression (étape)",
    "dossier.step.restore": "Dossier : restauration (étape)",
    "dossier.link.add": "Dossier : ajout (lien)",
    "dossier.link.delete": "Dossier : suppression (lien)",
    "dossier.link.restore": "Dossier : restauration (lien)",
    "dossier.note.add": "Dossier : ajout (note)",
    "dossier.note.delete": "Dossier : suppression (note)",
    "dossier.note.restore": "Dossier : restauration (note)",
    "dossier.action.add": "Dossier : ajout (action liée)",
    "dossier.action.delete": "Dossier : suppression (action liée)",
    "dossier.action.restore": "Dossier : restauration (action liée)",
    "dossier.plan.add": "Dossier : ajout (version du plan)",
    "dossier.plan.delete": "Dossier : suppression (version du plan)",
    "dossier.plan.restore": "Dossier : restauration (version du plan)",
    "dossier.step.status": "Dossier : état d'une étape",
    "dossier.event.status": "Dossier : état d'une date du calendrier",
}
#: French names of families of events, for events without a name of their own.
EVENT_FAMILIES: Final = {
    "action": "Action",
    "user": "Compte",
    "import": "Import",
    "relations": "Relations",
    "plan": "Plan d'influence",
    "job": "Tâche",
    "register": "Registre HATVP",
    "dossier": "Dossier",
}
#: French names of the channels an actor writes through.
CHANNELS: Final = {"web": "site web", "cli": "ligne de commande", "system": "système"}
#: French names of the details of an audit row.
DETAIL_LABELS: Final = {
    "role": "rôle",
    "spend_bracket": "tranche de dépenses",
    "staff": "personnes employées",
    "fte": "équivalent temps plein",
    "turnover_bracket": "tranche de chiffre d'affaires",
    "clients": "clients",
    "source_id": "source n°",
    "file": "fichier",
    "replaced_previous": "valeurs remplacées (même source)",
    "replaced_other": "valeurs remplacées (autre source)",
    "councils_without_executive": "conseils sans exécutif",
    "councils_with_several_executives": "conseils à plusieurs exécutifs",
    "conseil_municipal": "conseil municipal",
    "conseil_communautaire": "conseil communautaire",
    "conseil_departemental": "conseil départemental",
    "conseil_regional": "conseil régional",
    # summaries of SIRENE imports
    "establishments": "établissements",
    "active": "actifs",
    "geolocated": "géolocalisés",
    "legal_units": "unités légales",
    "history_periods": "périodes d'historique",
    "reference_date": "date de référence",
    "synthetic": "données synthétiques",
    "scope": "périmètre",
    "problems": "problèmes",
    "subject": "objet",
    "date": "date",
    "type": "type",
    "actors": "acteurs",
    "created_by": "consignée par",
    "client": "pour le compte de",
    "deleted_by": "supprimée par",
    "outcome": "résultat",
    # dossiers
    "dossier": "dossier n°",
    "actor_id": "acteur",
    "stance_date": "date de la position",
    "due_date": "échéance",
    "job_id": "tâche de calcul",
    "action_id": "action n°",
    "title": "titre",
    "theme": "thème",
    "territory": "territoire",
    "id": "n°",
    "position": "position",
    "salience": "importance",
    "label": "intitulé",
    "kind": "nature",
    "status": "état",
    "owner": "responsable",
    "url": "adresse",
    "text": "texte",
    "camp": "camp",
    "notes": "notes",
    "objective": "objectif",
    "decision": "décision",
    # summaries of imports
    "version": "version",
    "territories": "territoires",
    "with_geometry": "avec géométrie",
    "persons": "personnes",
    "mandates": "mandats",
    "multi_mandate_persons": "personnes à plusieurs mandats",
    "multi_body_persons": "personnes de plusieurs instances",
    "organisations": "instances",
    "contacts": "contacts",
    "adjacency_pairs": "paires de voisins",
    "officials": "élus",
    "dates_corrected": "dates corrigées",
    "dates_implausible": "dates invraisemblables",
    "persons_merged_spelling": "personnes réunies (graphie)",
    "persons_merged_swapped_birth": "personnes réunies (jour et mois de naissance inversés)",
    "mandates_moved_to_statut_particulier": "mandats rattachés à une collectivité à statut "
    "particulier",
    "bodies_without_officials": "instances sans élu",
    "mandates_without_territory": "mandats sans territoire",
    # summaries of officials imports (territoria import officials)
    "bodies": "instances",
    "persons_reused": "personnes déjà connues",
    "persons_created": "personnes créées depuis le fichier",
    "persons_carried_over": "personnes reprises de l'import précédent",
    "duplicates_left_out": "mandats déjà connus laissés de côté",
    "out_of_scope": "lignes de collectivités d'outre-mer laissées de côté",
    "dates_flagged": "dates invraisemblables signalées",
    "mandates_replaced": "mandats remplacés (même source)",
    "rows": "lignes",
    "values": "valeurs",
    "indicators": "indicateurs",
    "unknown_iris": "IRIS de communes absentes",
    "lycees": "lycées dans leur commune",
    "unplaced": "lycées sans commune",
    "source": "source",
    # summaries of the State's services (territoria.sources._state_bodies)
    "scope_rows": "territoires couverts",
    "offices": "fonctions à rencontrer",
    **SERVICES,
    # levels, as keys of the counts
    "region": "région",
    "departement": "département",
    "epci": "EPCI",
    "commune": "commune",
    "canton": "canton",
    "circonscription": "circonscription",
}


class AuditEntryOut(BaseModel):
    """One audited write: who, when, what and on what."""

    id: int
    at: dt.datetime
    actor: str
    event: str
    target: str | None
    detail: dict[str, Any] | None


@router.get(
    "/api/v1/audit",
    summary="The audit log (administrators)",
    response_model=list[AuditEntryOut],
)
def audit(
    cur: Cursor,
    _admin: Admin,
    actor: ActorQuery = None,
    event: EventQuery = None,
    target: TargetQuery = None,
    before: BeforeQuery = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> list[AuditEntry]:
    """Return the latest audited writes, newest first; page back with ``before`` set to the
    smallest id received."""
    return list_audit(cur, actor=actor, event=event, target=target, before=before, limit=limit)


def _event_label(event: str) -> tuple[str, str]:
    """Return the French name of an event and what follows its family (``france`` of
    ``import.france``) when the event has no name of its own."""
    if event in EVENT_LABELS:
        return EVENT_LABELS[event], ""
    family, _, rest = event.partition(".")
    return EVENT_FAMILIES.get(family, "Autre écriture"), rest


def _value(value: Any, tr: Translator) -> str:
    """A detail's value as a reader reads it: counts by key with their French names, action
    types and outcomes by their names."""
    if isinstance(value, dict):
        return (
            ", ".join(
                f"{tr.gettext(DETAIL_LABELS.get(str(k), str(k)))} : {_value(v, tr)}"
                for k, v in value.items()
            )
            or "–"
        )
    if isinstance(value, list):
        return ", ".join(_value(v, tr) for v in value) or "–"
    if isinstance(value, bool):
        return tr.gettext("oui" if value else "non")
    if value is None:
        return "–"
    if isinstance(value, str):
        return tr.label(value)
    return str(value)


def _row(entry: AuditEntry, tr: Translator) -> dict[str, Any]:
    channel, _, name = entry.actor.partition(":")
    label, rest = _event_label(entry.event)
    return {
        "id": entry.id,
        "at": entry.at,
        "who": name or channel,
        "channel": CHANNELS.get(channel, channel) if name or channel == "system" else "",
        "event": entry.event,
        "label": label,
        "rest": rest,
        "target": entry.target or "",
        "detail": [
            (DETAIL_LABELS.get(k, k), _value(v, tr)) for k, v in (entry.detail or {}).items()
        ],
    }


@router.get("/journal", response_class=HTMLResponse, include_in_schema=False)
def journal_page(
    request: Request,
    cur: Cursor,
    _admin: Admin,
    actor: ActorQuery = None,
    event: EventQuery = None,
    before: BeforeQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """The audit log page: who wrote what, newest first, with filters."""
    entries = list_audit(cur, actor=actor or None, event=event or None, before=before, limit=limit)
    tr = request_translator(request, request.app.state.territoria.settings.language)
    context = {
        "entries": [_row(e, tr) for e in entries],
        "actor": actor or "",
        "event": event or "",
        "limit": limit,
        "older": entries[-1].id if len(entries) == limit else None,
    }
    return render(request, "audit.html", context)
