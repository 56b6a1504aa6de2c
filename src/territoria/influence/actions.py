"""Lobbying actions log, the content of the annual activity report of the HATVP register.

Interest representatives registered with the Haute Autorité pour la transparence de la vie
publique (HATVP) declare each exercise its figures and, per activity ("fiche d'activité"), its
subject, the policy areas, and its actions: the categories of public officials met, the types of
decision targeted, the types of action, the tiers for whom it was done. Actions are logged in
the register's vocabulary (:mod:`territoria.influence.agora`); ``register_report`` assembles the
report (:mod:`territoria.influence.agora_report`). The log's outcomes update the relation from
"us" (actor ``self``) to the actors met, which the influence graph then uses.

Every action records who logged it (``created_by``). Deleting is soft (``deleted_at``,
``deleted_by``): a deleted action leaves lists, reports and the influence graph but stays in the
knowledge base and can be restored. Only its author or an administrator may delete or restore
an action; each creation, deletion and restoration writes an audit row in the same
transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from territoria.errors import InvalidPlanRequest, PermissionDenied, UnknownAction, UnknownActor
from territoria.influence.agora import (
    ACTION_TYPE_ALIASES,
    ACTION_TYPES,
    DECISION_TYPE_ALIASES,
    DECISION_TYPES,
    coverage,
    spend_bracket,
)
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

OUTCOME_DELTA = {"positive": 0.1, "neutral": 0.0, "negative": -0.1, "unknown": 0.0}
#: The register's spend bracket of an amount (kept under its former name).
expense_bracket = spend_bracket


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
    #: the register's labels of ``type`` and ``decision_type``
    type_label: str = ""
    decision_type_label: str = ""
    #: the user's own words for the type ("Téléphoner"; what "Autres : à préciser" asks for)
    type_detail: str = ""
    #: the types as logged before the register's vocabulary (migration 0011): "call: Téléphoner"
    type_original: str | None = None
    decision_type_original: str | None = None
    #: the tiers (client) for whom the action was done; None: for our own organisation
    client: str | None = None

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
    client: str | None = None,
    type_detail: str = "",
) -> int:
    """Record an action; its outcome strengthens or weakens our relation to the actors met.

    ``type`` and ``decision_type`` are keys of the register's lists
    (:data:`territoria.influence.agora.ACTION_TYPES`, ``DECISION_TYPES``); the former keys
    ``call``, ``email``, ``letter``, ``consultation``, ``legislative`` and ``contract`` are
    recorded as the closest official type, their words kept in ``type_detail``. ``client``
    names the tiers for whom the action was done (a consultancy's client). ``created_by`` names
    its author (who may later delete it); by default, whoever the current writes are attributed
    to (:func:`territoria.kb.audit.current_actor`). Returns the new action's id. Unknown actors,
    types or outcomes raise clear errors and nothing is written.
    """
    if type in ACTION_TYPE_ALIASES:
        type, words = ACTION_TYPE_ALIASES[type]
        type_detail = type_detail.strip() or words
    decision_type = DECISION_TYPE_ALIASES.get(decision_type, decision_type)
    client = (client or "").strip() or None
    if type == "other" and not type_detail.strip():
        msg = (
            "the type 'other' (Autres : à préciser) needs its precision: give it with "
            "--type-detail (type_detail in the API)"
        )
        raise InvalidPlanRequest(msg)
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
    covered = coverage(con, actors, on=when).values()
    categories = sorted({c.category for c in covered if c.category is not None})
    author = created_by if created_by is not None else current_actor()
    now = _now()
    with transaction(con):
        row = con.execute(
            "INSERT INTO action (date, type, subject, policy_areas, decision_type, "
            "decision_targeted, official_categories, hours, cost_eur, outcome, notes, "
            "created_by, created_at, type_detail, client) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                when,
                type,
                subject.strip(),
                ",".join(policy_areas or []),
                decision_type,
                decision_targeted,
                "".join("|" + c for c in categories),
                hours,
                cost_eur,
                outcome,
                notes,
                author,
                now,
                type_detail.strip(),
                client,
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
            }
            | ({"client": client} if client else {}),
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
            ORDER BY aa.actor_id) AS actor_names,
       a.type_detail, a.type_original, a.decision_type_original, a.client
FROM action a LEFT JOIN action_actor aa ON aa.action_id = a.id
LEFT JOIN person p ON p.id = aa.actor_id
LEFT JOIN organisation o ON o.id = aa.actor_id
LEFT JOIN actor ac ON ac.id = aa.actor_id
"""


def _split(text: str | None) -> list[str]:
    return [p for p in (text or "").split(",") if p]


def _categories(text: str | None) -> list[str]:
    # the register's labels hold commas: they are kept as '|a|b' (as 'a,b' before migration 0011)
    value = text or ""
    return [p for p in value.split("|" if value.startswith("|") else ",") if p]


def _action(r: tuple[Any, ...]) -> Action:
    return Action(
        id=int(r[0]),
        date=r[1],
        type=str(r[2]),
        subject=str(r[3]),
        policy_areas=_split(r[4]),
        decision_type=str(r[5] or "other"),
        decision_targeted=str(r[6] or ""),
        official_categories=_categories(r[7]),
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
        type_label=ACTION_TYPES.get(str(r[2]), str(r[2])),
        decision_type_label=DECISION_TYPES.get(str(r[5] or "other"), str(r[5])),
        type_detail=str(r[18] or ""),
        type_original=r[19],
        decision_type_original=r[20],
        client=r[21],
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
    """The annual activity report of the register for the exercise ``year``, as text:
    ``hatvp-json`` (the AGORA open-data structure) or ``csv`` (one row per action of an
    activity). See :func:`territoria.influence.agora_report.activity_report`."""
    from territoria.influence.agora_report import activity_report, report_csv, report_json

    if fmt not in ("hatvp-json", "csv"):
        msg = f"unknown report format {fmt!r}: use hatvp-json or csv"
        raise InvalidPlanRequest(msg)
    report = activity_report(con, year=year)
    return report_json(report) if fmt == "hatvp-json" else report_csv(report)
