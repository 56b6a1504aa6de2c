"""Lobbying actions log and the annual activity report of the HATVP register.

Interest representatives registered with the Haute Autorité pour la transparence de la vie
publique (HATVP) declare each year, per activity ("fiche d'activité"): its subject, the policy
areas, the type of public decision targeted, the types of action, the categories of public
officials met, and the expenses bracket. ``register_report`` assembles that content from the
actions log. The log's outcomes update the relation from "us" (actor ``self``) to the actors
met, which the influence graph then uses.

Every action records who logged it (``created_by``). Deleting is soft (``deleted_at``,
``deleted_by``): a deleted action leaves lists, reports and the influence graph but stays in the
knowledge base and can be restored. Only its author or an administrator may delete or restore
an action; each creation, deletion and restoration writes an audit row in the same
transaction.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from territoria import _csv_safe
from territoria.errors import InvalidPlanRequest, PermissionDenied, UnknownAction, UnknownActor
from territoria.kb._transaction import transaction
from territoria.kb.audit import current_actor, record
from territoria.sources._framework import SourceRecord, record_source

__all__ = [
    "ACTION_TYPES",
    "Action",
    "add_action",
    "delete_action",
    "expense_bracket",
    "get_action",
    "list_actions",
    "register_report",
    "restore_action",
]

ACTION_TYPES = {
    "meeting": "Organiser des discussions informelles ou des réunions en tête-à-tête",
    "letter": "Envoyer des pétitions, lettres, tracts",
    "email": "Établir une correspondance régulière (par courriel, par courrier…)",
    "call": "Téléphoner",
    "event": "Organiser des séminaires, conférences, colloques, réceptions",
    "petition": "Lancer des pétitions",
    "consultation": "Répondre à une consultation publique",
}
DECISION_TYPES = {
    "legislative": "Lois, y compris constitutionnelles",
    "regulatory": "Actes réglementaires",
    "individual": "Décisions individuelles",
    "contract": "Contrats, marchés publics, concessions",
    "other": "Autres décisions publiques",
}
OUTCOME_DELTA = {"positive": 0.1, "neutral": 0.0, "negative": -0.1, "unknown": 0.0}
# HATVP expense brackets for an activity report (euros, lower bound inclusive).
_BRACKETS = [
    (0, "moins de 10 000 €"),
    (10_000, "10 000 € à 24 999 €"),
    (25_000, "25 000 € à 49 999 €"),
    (50_000, "50 000 € à 74 999 €"),
    (75_000, "75 000 € à 99 999 €"),
    (100_000, "100 000 € à 199 999 €"),
    (200_000, "200 000 € à 299 999 €"),
    (300_000, "300 000 € à 399 999 €"),
    (400_000, "400 000 € à 499 999 €"),
    (500_000, "500 000 € à 999 999 €"),
    (1_000_000, "1 000 000 € et plus"),
]


def expense_bracket(amount: float) -> str:
    """The HATVP bracket label of an expense in euros."""
    label = _BRACKETS[0][1]
    for low, text in _BRACKETS:
        if amount >= low:
            label = text
    return label


def _official_category(con: duckdb.DuckDBPyConnection, actor_ids: list[str]) -> list[str]:
    rows = con.execute(
        """
        SELECT DISTINCT CASE
            WHEN m.role = 'député' THEN 'Député'
            WHEN m.role = 'sénateur' THEN 'Sénateur'
            WHEN m.role = 'député européen' THEN 'Député européen'
            WHEN m.function_code = 'MAI' THEN 'Maire'
            WHEN m.function_code = 'PRE' AND o.kind = 'conseil_regional'
                 THEN 'Président de conseil régional'
            WHEN m.function_code = 'PRE' AND o.kind = 'conseil_departemental'
                 THEN 'Président de conseil départemental'
            WHEN m.function_code = 'PRE' AND o.kind = 'conseil_communautaire'
                 THEN 'Président d''établissement public de coopération intercommunale'
            ELSE 'Titulaire d''une fonction ou d''un mandat local' END
        FROM mandate m JOIN organisation o ON o.id = m.organisation_id
        WHERE m.person_id IN (SELECT unnest(?::VARCHAR[])) AND m.end_date IS NULL
        """,
        [actor_ids],
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


@dataclass(frozen=True)
class Action:
    """One logged action, as lists, pages and the API show it."""

    id: int
    date: date
    type: str
    subject: str
    policy_areas: list[str]
    decision_type: str
    decision_targeted: str
    official_categories: list[str]
    hours: float
    cost_eur: float
    outcome: str
    notes: str
    created_by: str
    created_at: datetime | None
    actors: list[str]
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    #: the actors' names, in the order of ``actors`` (a person's, a body's, an actor's)
    actor_names: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (dates as ISO text)."""
        data = asdict(self)
        for key in ("date", "created_at", "deleted_at"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data


def add_action(
    con: duckdb.DuckDBPyConnection,
    *,
    when: date,
    type: str,
    subject: str,
    actors: list[str],
    policy_areas: list[str] | None = None,
    decision_type: str = "other",
    decision_targeted: str = "",
    hours: float = 0.0,
    cost_eur: float = 0.0,
    outcome: str = "unknown",
    notes: str = "",
    created_by: str | None = None,
) -> int:
    """Record an action; its outcome strengthens or weakens our relation to the actors met.

    ``created_by`` names its author (who may later delete it); by default, whoever the current
    writes are attributed to (:func:`territoria.kb.audit.current_actor`). Returns the new
    action's id. Unknown actors, types or outcomes raise clear errors and nothing is written.
    """
    _check_action(
        type=type,
        subject=subject,
        decision_type=decision_type,
        outcome=outcome,
        hours=hours,
        cost_eur=cost_eur,
        actors=actors,
    )
    known = {
        str(r[0])
        for r in con.execute(
            "SELECT id FROM person WHERE id IN (SELECT unnest(?::VARCHAR[])) UNION "
            "SELECT id FROM organisation WHERE id IN (SELECT unnest(?::VARCHAR[])) UNION "
            "SELECT id FROM actor WHERE id IN (SELECT unnest(?::VARCHAR[]))",
            [actors, actors, actors],
        ).fetchall()
    }
    unknown = [a for a in actors if a not in known]
    if unknown:
        msg = f"unknown actor(s) {unknown!r}: use person ids ('p-…') or council ids ('cr-53')"
        raise UnknownActor(msg)
    categories = _official_category(con, actors)
    author = created_by if created_by is not None else current_actor()
    now = _now()
    with transaction(con):
        row = con.execute(
            "INSERT INTO action (date, type, subject, policy_areas, decision_type, "
            "decision_targeted, official_categories, hours, cost_eur, outcome, notes, "
            "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                when,
                type,
                subject.strip(),
                ",".join(policy_areas or []),
                decision_type,
                decision_targeted,
                ",".join(categories),
                hours,
                cost_eur,
                outcome,
                notes,
                author,
                now,
            ],
        ).fetchone()
        assert row is not None
        action_id = int(row[0])
        con.executemany("INSERT INTO action_actor VALUES (?, ?)", [(action_id, a) for a in actors])
        _update_engagement(con, actors, OUTCOME_DELTA[outcome], when, now)
        record(
            con,
            "action.create",
            target=str(action_id),
            detail={
                "subject": subject.strip(),
                "date": when.isoformat(),
                "type": type,
                "actors": actors,
                "created_by": author,
            },
        )
    return action_id


def _check_action(
    *,
    type: str,
    subject: str,
    decision_type: str,
    outcome: str,
    hours: float,
    cost_eur: float,
    actors: list[str],
) -> None:
    if type not in ACTION_TYPES:
        msg = f"unknown action type {type!r}: use one of {', '.join(ACTION_TYPES)}"
        raise InvalidPlanRequest(msg)
    if decision_type not in DECISION_TYPES:
        msg = f"unknown decision type {decision_type!r}: use one of {', '.join(DECISION_TYPES)}"
        raise InvalidPlanRequest(msg)
    if outcome not in OUTCOME_DELTA:
        msg = f"unknown outcome {outcome!r}: use one of {', '.join(OUTCOME_DELTA)}"
        raise InvalidPlanRequest(msg)
    if not subject.strip():
        msg = "an action needs a subject"
        raise InvalidPlanRequest(msg)
    if not (0 <= hours < float("inf") and 0 <= cost_eur < float("inf")):
        msg = f"hours={hours!r} and cost_eur={cost_eur!r} must be finite and not negative"
        raise InvalidPlanRequest(msg)
    if not actors:
        msg = "an action needs at least one actor met (--actor ID)"
        raise InvalidPlanRequest(msg)


def _now() -> datetime:
    return datetime.now(tz=UTC).replace(tzinfo=None)


def _clamp(strength: float) -> float:
    return min(1.0, max(0.0, strength))


def _actions_source(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Return the id of the 'actions log' source (created with the 'self' actor if needed)."""
    src = con.execute(
        "SELECT id FROM source WHERE name = 'actions log' AND dataset = 'actions'"
    ).fetchone()
    if src is None:
        log = SourceRecord("actions log", "actions", "user", "private", retrieved_at=now)
        src = (record_source(con, log, imported_at=now),)
    sid = int(src[0])
    if con.execute("SELECT count(*) FROM actor WHERE id = 'self'").fetchone() == (0,):
        con.execute(
            "INSERT INTO actor (id, kind, name, source_id) VALUES ('self', 'self', "
            "'Notre organisation', ?)",
            [sid],
        )
    return sid


def _update_engagement(
    con: duckdb.DuckDBPyConnection, actors: list[str], delta: float, when: date, now: datetime
) -> None:
    """Create or adjust the 'engaged' relations from us (actor 'self') to the actors met."""
    sid = _actions_source(con, now)
    for actor_id in actors:
        row = con.execute(
            "SELECT id, strength FROM relation WHERE source_actor = 'self' AND target_actor = ? "
            "AND type = 'engaged'",
            [actor_id],
        ).fetchone()
        if row is None:
            con.execute(
                "INSERT INTO relation (source_actor, target_actor, type, strength, date, origin, "
                "source_id) VALUES ('self', ?, 'engaged', ?, ?, 'actions log', ?)",
                [actor_id, _clamp(0.5 + delta), when, sid],
            )
        else:
            con.execute(
                "UPDATE relation SET strength = ?, date = ? WHERE id = ?",
                [_clamp(float(row[1]) + delta), when, row[0]],
            )


def _replay_engagement(con: duckdb.DuckDBPyConnection, actors: list[str], now: datetime) -> None:
    """Recompute the 'engaged' relations of the actions log to ``actors`` from the actions
    that are not deleted, as :func:`_update_engagement` built them one action at a time (so a
    deleted action no longer counts in the influence graph, and a restored one counts again).

    A relation to an actor left with no action is removed; relations that came from elsewhere
    than the actions log (an imported 'engaged' relation) are left as they are.
    """
    sid = _actions_source(con, now)
    for actor_id in actors:
        history = con.execute(
            "SELECT a.outcome, a.date FROM action a JOIN action_actor aa ON aa.action_id = a.id "
            "WHERE aa.actor_id = ? AND a.deleted_at IS NULL ORDER BY a.id",
            [actor_id],
        ).fetchall()
        row = con.execute(
            "SELECT id, origin FROM relation WHERE source_actor = 'self' AND target_actor = ? "
            "AND type = 'engaged'",
            [actor_id],
        ).fetchone()
        if row is not None and row[1] != "actions log":
            continue
        if not history:
            if row is not None:
                con.execute("DELETE FROM relation WHERE id = ?", [row[0]])
            continue
        strength = 0.5
        for outcome, _day in history:
            strength = _clamp(strength + OUTCOME_DELTA.get(str(outcome), 0.0))
        last_day = history[-1][1]
        if row is None:
            con.execute(
                "INSERT INTO relation (source_actor, target_actor, type, strength, date, origin, "
                "source_id) VALUES ('self', ?, 'engaged', ?, ?, 'actions log', ?)",
                [actor_id, strength, last_day, sid],
            )
        else:
            con.execute(
                "UPDATE relation SET strength = ?, date = ? WHERE id = ?",
                [strength, last_day, row[0]],
            )


_SELECT = """
SELECT a.id, a.date, a.type, a.subject, a.policy_areas, a.decision_type, a.decision_targeted,
       a.official_categories, a.hours, a.cost_eur, a.outcome, a.notes, a.created_by,
       a.created_at, list(aa.actor_id ORDER BY aa.actor_id) AS actors, a.deleted_at,
       a.deleted_by,
       list(coalesce(p.first_name || ' ' || p.last_name, o.name, ac.name, aa.actor_id)
            ORDER BY aa.actor_id) AS actor_names
FROM action a LEFT JOIN action_actor aa ON aa.action_id = a.id
LEFT JOIN person p ON p.id = aa.actor_id
LEFT JOIN organisation o ON o.id = aa.actor_id
LEFT JOIN actor ac ON ac.id = aa.actor_id
"""


def _split(text: str | None) -> list[str]:
    return [p for p in (text or "").split(",") if p]


def _action(r: tuple[Any, ...]) -> Action:
    return Action(
        id=int(r[0]),
        date=r[1],
        type=str(r[2]),
        subject=str(r[3]),
        policy_areas=_split(r[4]),
        decision_type=str(r[5] or "other"),
        decision_targeted=str(r[6] or ""),
        official_categories=_split(r[7]),
        hours=float(r[8] or 0.0),
        cost_eur=float(r[9] or 0.0),
        outcome=str(r[10] or "unknown"),
        notes=str(r[11] or ""),
        created_by=str(r[12] or ""),
        created_at=r[13],
        actors=[a for a in r[14] or [] if a is not None],
        deleted_at=r[15],
        deleted_by=r[16],
        actor_names=[a for a in r[17] or [] if a is not None],
    )


def list_actions(
    con: duckdb.DuckDBPyConnection, *, year: int | None = None, deleted: bool = False
) -> list[Action]:
    """Actions of the log (of ``year`` if given), newest first, with their actors.

    Deleted actions are left out; ``deleted=True`` lists them alone instead (to restore one).
    """
    rows = con.execute(
        _SELECT + "WHERE (? IS NULL OR year(a.date) = ?) AND (a.deleted_at IS NOT NULL) = ? "
        "GROUP BY ALL ORDER BY a.date DESC, a.id DESC",
        [year, year, deleted],
    ).fetchall()
    return [_action(r) for r in rows]


def get_action(con: duckdb.DuckDBPyConnection, action_id: int) -> Action:
    """The action ``action_id``, deleted or not.

    Raises
    ------
    UnknownAction
        No action has this id.
    """
    row = con.execute(_SELECT + "WHERE a.id = ? GROUP BY ALL", [action_id]).fetchone()
    if row is None:
        msg = f"no action with id {action_id!r}: see 'territoria actions list'"
        raise UnknownAction(msg)
    return _action(row)


def _check_owner(action: Action, *, user: str, admin: bool, verb: str) -> None:
    if admin or (action.created_by and action.created_by == user):
        return
    if action.created_by:
        msg = (
            f"action {action.id} was logged by {action.created_by!r}: only its author or an "
            f"administrator may {verb} it"
        )
    else:
        msg = f"action {action.id} has no recorded author: only an administrator may {verb} it"
    raise PermissionDenied(msg)


def delete_action(
    con: duckdb.DuckDBPyConnection, action_id: int, *, user: str, admin: bool = False
) -> Action:
    """Delete an action of the log, softly: it leaves lists, reports and the influence graph
    but can be restored with :func:`restore_action`.

    Parameters
    ----------
    user
        Who deletes it (recorded as ``deleted_by``).
    admin
        Whether ``user`` is an administrator; otherwise only the action's author may delete it.

    Returns
    -------
    Action
        The action as it was before deletion.

    Raises
    ------
    UnknownAction
        No action has this id, or it is already deleted.
    PermissionDenied
        ``user`` is neither the action's author nor an administrator.
    """
    with transaction(con):
        action = get_action(con, action_id)
        if action.deleted_at is not None:
            msg = (
                f"action {action_id} is already deleted (by {action.deleted_by!r}): restore it "
                f"with 'territoria actions undo {action_id}'"
            )
            raise UnknownAction(msg)
        _check_owner(action, user=user, admin=admin, verb="delete")
        now = _now()
        con.execute(
            "UPDATE action SET deleted_at = ?, deleted_by = ? WHERE id = ?", [now, user, action_id]
        )
        _replay_engagement(con, action.actors, now)
        record(con, "action.delete", target=str(action_id), detail=_audit_detail(action))
    return action


def restore_action(
    con: duckdb.DuckDBPyConnection, action_id: int, *, user: str, admin: bool = False
) -> Action:
    """Undo the deletion of an action (its author or an administrator only).

    Returns
    -------
    Action
        The restored action.

    Raises
    ------
    UnknownAction
        No action has this id, or it is not deleted.
    PermissionDenied
        ``user`` is neither the action's author nor an administrator.
    """
    with transaction(con):
        action = get_action(con, action_id)
        if action.deleted_at is None:
            msg = f"action {action_id} is not deleted: there is nothing to restore"
            raise UnknownAction(msg)
        _check_owner(action, user=user, admin=admin, verb="restore")
        con.execute(
            "UPDATE action SET deleted_at = NULL, deleted_by = NULL WHERE id = ?", [action_id]
        )
        _replay_engagement(con, action.actors, _now())
        detail = _audit_detail(action) | {"deleted_by": action.deleted_by}
        record(con, "action.restore", target=str(action_id), detail=detail)
    return get_action(con, action_id)


def _audit_detail(action: Action) -> dict[str, Any]:
    return {
        "subject": action.subject,
        "date": action.date.isoformat(),
        "created_by": action.created_by,
        "actors": action.actors,
    }


def register_report(con: duckdb.DuckDBPyConnection, *, year: int, fmt: str = "hatvp-json") -> str:
    """The content of the annual HATVP activity report for ``year``.

    One activity per subject: its policy areas, the types of decisions targeted (with the
    decision named), the types of action, the categories of officials met, the number of
    actions and the expense bracket of the time and money spent.
    """
    if fmt not in ("hatvp-json", "csv"):
        msg = f"unknown report format {fmt!r}: use hatvp-json or csv"
        raise InvalidPlanRequest(msg)
    activities: dict[str, dict[str, Any]] = {}
    for a in reversed(list_actions(con, year=year)):
        act = activities.setdefault(
            a.subject,
            {
                "objet": a.subject,
                "domaines_intervention": set(),
                "decisions_concernees": set(),
                "decisions_visees": set(),
                "actions_menees": set(),
                "responsables_publics": set(),
                "nombre_actions": 0,
                "depenses_eur": 0.0,
                "heures": 0.0,
            },
        )
        act["domaines_intervention"].update(a.policy_areas)
        act["decisions_concernees"].add(DECISION_TYPES[a.decision_type])
        if a.decision_targeted:
            act["decisions_visees"].add(a.decision_targeted)
        act["actions_menees"].add(ACTION_TYPES[a.type])
        act["responsables_publics"].update(a.official_categories)
        act["nombre_actions"] += 1
        act["depenses_eur"] += a.cost_eur
        act["heures"] += a.hours
    items: list[dict[str, Any]] = []
    for act in activities.values():
        item: dict[str, Any] = {k: sorted(v) if isinstance(v, set) else v for k, v in act.items()}
        item["tranche_depenses"] = expense_bracket(act["depenses_eur"])
        items.append(item)
    total = sum(float(i["depenses_eur"]) for i in items)
    if fmt == "hatvp-json":
        return json.dumps(
            {
                "exercice": year,
                "nombre_activites": len(items),
                "tranche_depenses_totales": expense_bracket(total),
                "activites": items,
            },
            ensure_ascii=False,
            indent=2,
        )
    buffer = io.StringIO()
    writer = _csv_safe.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "exercice",
            "objet",
            "domaines_intervention",
            "decisions_concernees",
            "decisions_visees",
            "actions_menees",
            "responsables_publics",
            "nombre_actions",
            "tranche_depenses",
        ]
    )
    for i in items:
        writer.writerow(
            [
                year,
                i["objet"],
                "; ".join(i["domaines_intervention"]),
                "; ".join(i["decisions_concernees"]),
                "; ".join(i["decisions_visees"]),
                "; ".join(i["actions_menees"]),
                "; ".join(i["responsables_publics"]),
                i["nombre_actions"],
                i["tranche_depenses"],
            ]
        )
    return buffer.getvalue()
