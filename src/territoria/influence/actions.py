"""Lobbying actions log and the annual activity report of the HATVP register.

Interest representatives registered with the Haute Autorité pour la transparence de la vie
publique (HATVP) declare each year, per activity ("fiche d'activité"): its subject, the policy
areas, the type of public decision targeted, the types of action, the categories of public
officials met, and the expenses bracket. ``register_report`` assembles that content from the
actions log. The log's outcomes update the relation from "us" (actor ``self``) to the actors
met, which the influence graph then uses.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from territoria.errors import InvalidPlanRequest, UnknownActor
from territoria.kb._transaction import transaction

__all__ = [
    "ACTION_TYPES",
    "add_action",
    "delete_action",
    "expense_bracket",
    "list_actions",
    "register_report",
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
    created_by: str = "",
) -> int:
    """Record an action; its outcome strengthens or weakens our relation to the actors met.

    Returns the new action's id. Unknown actors, types or outcomes raise clear errors and
    nothing is written.
    """
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
    if hours < 0 or cost_eur < 0:
        msg = f"hours={hours!r} and cost_eur={cost_eur!r} must not be negative"
        raise InvalidPlanRequest(msg)
    if not actors:
        msg = "an action needs at least one actor met (--actor ID)"
        raise InvalidPlanRequest(msg)
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
    now = datetime.now(tz=UTC).replace(tzinfo=None)
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
                created_by,
                now,
            ],
        ).fetchone()
        assert row is not None
        action_id = int(row[0])
        con.executemany("INSERT INTO action_actor VALUES (?, ?)", [(action_id, a) for a in actors])
        _update_engagement(con, actors, OUTCOME_DELTA[outcome], when, now)
    return action_id


def _update_engagement(
    con: duckdb.DuckDBPyConnection, actors: list[str], delta: float, when: date, now: datetime
) -> None:
    """Create or adjust the 'engaged' relations from us (actor 'self') to the actors met."""
    src = con.execute(
        "SELECT id FROM source WHERE name = 'actions log' AND dataset = 'actions'"
    ).fetchone()
    if src is None:
        src = con.execute(
            "INSERT INTO source (name, dataset, publisher, licence, retrieved_at, synthetic) "
            "VALUES ('actions log', 'actions', 'user', 'private', ?, false) RETURNING id",
            [now],
        ).fetchone()
    assert src is not None
    sid = int(src[0])
    if con.execute("SELECT count(*) FROM actor WHERE id = 'self'").fetchone() == (0,):
        con.execute(
            "INSERT INTO actor (id, kind, name, source_id) VALUES ('self', 'self', "
            "'Notre organisation', ?)",
            [sid],
        )
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
                [actor_id, min(1.0, max(0.0, 0.5 + delta)), when, sid],
            )
        else:
            con.execute(
                "UPDATE relation SET strength = ?, date = ? WHERE id = ?",
                [min(1.0, max(0.0, float(row[1]) + delta)), when, row[0]],
            )


def list_actions(
    con: duckdb.DuckDBPyConnection, *, year: int | None = None
) -> list[dict[str, Any]]:
    """Actions of the log (of ``year`` if given), newest first, with their actors."""
    rows = con.execute(
        """
        SELECT a.id, a.date, a.type, a.subject, a.policy_areas, a.decision_type,
               a.decision_targeted, a.official_categories, a.hours, a.cost_eur, a.outcome,
               a.notes, a.created_by, list(aa.actor_id ORDER BY aa.actor_id) AS actors
        FROM action a LEFT JOIN action_actor aa ON aa.action_id = a.id
        WHERE ? IS NULL OR year(a.date) = ?
        GROUP BY ALL ORDER BY a.date DESC, a.id DESC
        """,
        [year, year],
    ).fetchall()
    keys = (
        "id",
        "date",
        "type",
        "subject",
        "policy_areas",
        "decision_type",
        "decision_targeted",
        "official_categories",
        "hours",
        "cost_eur",
        "outcome",
        "notes",
        "created_by",
        "actors",
    )
    out = []
    for r in rows:
        item = dict(zip(keys, r, strict=True))
        item["date"] = str(item["date"])
        item["policy_areas"] = [p for p in (item["policy_areas"] or "").split(",") if p]
        item["official_categories"] = [
            p for p in (item["official_categories"] or "").split(",") if p
        ]
        item["actors"] = [a for a in item["actors"] or [] if a is not None]
        out.append(item)
    return out


def delete_action(con: duckdb.DuckDBPyConnection, action_id: int) -> None:
    """Delete an action of the log (its relation updates stay: they happened)."""
    found = con.execute("SELECT count(*) FROM action WHERE id = ?", [action_id]).fetchone()
    if found == (0,):
        msg = f"no action with id {action_id!r}: see 'territoria actions list'"
        raise UnknownActor(msg)
    with transaction(con):
        con.execute("DELETE FROM action_actor WHERE action_id = ?", [action_id])
        con.execute("DELETE FROM action WHERE id = ?", [action_id])


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
            a["subject"],
            {
                "objet": a["subject"],
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
        act["domaines_intervention"].update(a["policy_areas"])
        act["decisions_concernees"].add(DECISION_TYPES[a["decision_type"]])
        if a["decision_targeted"]:
            act["decisions_visees"].add(a["decision_targeted"])
        act["actions_menees"].add(ACTION_TYPES[a["type"]])
        act["responsables_publics"].update(a["official_categories"])
        act["nombre_actions"] += 1
        act["depenses_eur"] += float(a["cost_eur"] or 0.0)
        act["heures"] += float(a["hours"] or 0.0)
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
    writer = csv.writer(buffer, lineterminator="\n")
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
