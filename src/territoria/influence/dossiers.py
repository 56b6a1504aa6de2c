"""Dossiers: the persistent place where a lobbying project lives.

A dossier holds a project's (sub-)theme of the decision map and its territory, its objective,
the public decision sought and its calendar (deliberations, deadlines, consultations), the
partner collectivities and poles it groups ("projets stratégiques communs"), its stakeholders
and their stances (history kept: a new stance is a new row, the current one is the latest),
versions of its plan (each a persisted plan job, run with the dossier's theme, territory and
current stances), the actions of the log linked to it, next steps, links and notes.

Every write runs in one transaction with its audit row; deleting is soft (``deleted_at``,
``deleted_by``) for the dossier and for each of its items, and can be undone. Any user who may
write may add to a dossier; deleting or restoring the dossier is for its creator, its owner or
an administrator, deleting or restoring an item also for that item's author.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping
from typing import Any

import duckdb

from territoria.errors import InvalidDossier, UnknownDossier
from territoria.influence._dossier_model import (
    CAMPS,
    EVENT_KINDS,
    EVENT_STATUSES,
    ITEM_KINDS,
    STATUSES,
    STEP_STATUSES,
    Dossier,
    DossierSummary,
    PlanVersion,
)
from territoria.influence._dossier_reads import (
    current_stances,
    dossier_row,
    get_dossier,
    list_dossiers,
    plan_versions,
)
from territoria.influence._dossier_writes import (
    check_actor,
    choice,
    clean_text,
    insert_item,
    insert_rows,
    item_row,
    journal_values,
    live_row,
    may_change,
    parse_date,
    set_deleted,
    utc_now,
)
from territoria.influence.decision import get_theme, resolve_territory
from territoria.influence.stance import POSITIONS, Stance
from territoria.kb._transaction import transaction
from territoria.kb.audit import current_actor, record

__all__ = [
    "ITEM_KINDS",
    "STATUSES",
    "Dossier",
    "DossierSummary",
    "add_event",
    "add_link",
    "add_note",
    "add_partner",
    "add_stance",
    "add_step",
    "create_dossier",
    "current_stances",
    "delete_dossier",
    "delete_item",
    "get_dossier",
    "link_action",
    "list_dossiers",
    "plan_params",
    "record_plan",
    "restore_dossier",
    "restore_item",
    "run_plan",
    "set_item_status",
    "update_dossier",
]


# ---------------------------------------------------------------------------- the dossier


def create_dossier(
    con: duckdb.DuckDBPyConnection,
    *,
    title: str,
    theme: str,
    code: str,
    level: str | None = None,
    objective: str = "",
    decision: str = "",
    owner: str | None = None,
    created_by: str | None = None,
) -> int:
    """Open a dossier on a project (a decision-map theme in a territory); return its id.

    Raises
    ------
    UnknownTheme, UnknownTerritory, InvalidDossier
        Nothing is written.
    """
    title = clean_text(title, "title", required=True, limit=300)
    theme_label = get_theme(theme).label_fr
    t_level, t_code, t_name = resolve_territory(con, code, level)
    author = created_by if created_by is not None else current_actor()
    now = utc_now()
    fields: list[Any] = [title, theme, t_level, t_code, clean_text(objective, "objective")]
    fields += [clean_text(decision, "decision"), "actif", owner or author, author, now, now]
    with transaction(con):
        row = con.execute(
            "INSERT INTO dossier (title, theme, level, code, objective, decision, status, owner, "
            "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            fields,
        ).fetchone()
        assert row is not None
        dossier_id = int(row[0])
        # the journal shows the details: names rather than keys
        detail = {"title": title, "theme": theme_label, "territory": f"{t_name} ({t_code})"}
        record(con, "dossier.create", target=str(dossier_id), detail=detail)
    return dossier_id


_EDITABLE = ("title", "theme", "objective", "decision", "status", "owner")


def update_dossier(
    con: duckdb.DuckDBPyConnection, dossier_id: int, **changes: str | None
) -> Dossier:
    """Change a dossier's title, theme, objective, decision, status or owner (``None``: kept).

    Raises
    ------
    UnknownDossier, UnknownTheme, InvalidDossier
    """
    unknown = sorted(set(changes) - set(_EDITABLE))
    if unknown:
        msg = f"cannot change {unknown!r} of a dossier: change one of {', '.join(_EDITABLE)}"
        raise InvalidDossier(msg)
    values = {k: v for k, v in changes.items() if v is not None}
    if "title" in values:
        values["title"] = clean_text(values["title"], "title", required=True, limit=300)
    if "theme" in values:
        get_theme(values["theme"])
    if "status" in values:
        choice(values["status"], STATUSES, "status")
    for name in ("objective", "decision", "owner"):
        if name in values:
            values[name] = clean_text(values[name], name)
    with transaction(con):
        live_row(con, dossier_id)
        if values:
            sets = ", ".join(f"{k} = ?" for k in values)
            con.execute(
                f"UPDATE dossier SET {sets}, updated_at = ? WHERE id = ?",
                [*values.values(), utc_now(), dossier_id],
            )
            detail = dict(values)
            if "theme" in detail:
                detail["theme"] = get_theme(detail["theme"]).label_fr
            record(con, "dossier.update", target=str(dossier_id), detail=detail)
    return get_dossier(con, dossier_id)


def delete_dossier(
    con: duckdb.DuckDBPyConnection, dossier_id: int, *, user: str, admin: bool = False
) -> Dossier:
    """Delete a dossier softly (its creator, its owner or an administrator); return it.

    Raises
    ------
    UnknownDossier, PermissionDenied
    """
    with transaction(con):
        row = live_row(con, dossier_id)
        may_change(row, user=user, admin=admin)
        con.execute(
            "UPDATE dossier SET deleted_at = ?, deleted_by = ? WHERE id = ?",
            [utc_now(), user, dossier_id],
        )
        record(con, "dossier.delete", target=str(dossier_id), detail={"title": row[1]})
    return get_dossier(con, dossier_id)


def restore_dossier(
    con: duckdb.DuckDBPyConnection, dossier_id: int, *, user: str, admin: bool = False
) -> Dossier:
    """Undo the deletion of a dossier (its creator, its owner or an administrator).

    Raises
    ------
    UnknownDossier, PermissionDenied
    """
    with transaction(con):
        row = dossier_row(con, dossier_id)
        if row[13] is None:
            msg = f"dossier {dossier_id} is not deleted: there is nothing to restore"
            raise UnknownDossier(msg)
        may_change(row, user=user, admin=admin)
        con.execute(
            "UPDATE dossier SET deleted_at = NULL, deleted_by = NULL, updated_at = ? WHERE id = ?",
            [utc_now(), dossier_id],
        )
        detail = {"title": row[1], "deleted_by": row[14]}
        record(con, "dossier.restore", target=str(dossier_id), detail=detail)
    return get_dossier(con, dossier_id)


# ---------------------------------------------------------------------------- items


def add_partner(
    con: duckdb.DuckDBPyConnection,
    dossier_id: int,
    *,
    code: str,
    level: str | None = None,
    pole: bool = False,
    created_by: str | None = None,
) -> int:
    """Add a partner collectivity (a territory's code) or, with ``pole=True``, a pole id.

    Raises
    ------
    UnknownDossier, UnknownTerritory, InvalidDossier
    """
    if pole:
        pole_id = clean_text(code, "pole id", required=True, limit=200)
        if "-" not in pole_id or "/" in pole_id:
            msg = f"pole id {pole_id!r} is malformed: use an id of 'territoria poles detect'"
            raise InvalidDossier(msg)
        values: dict[str, Any] = {"kind": "pole", "level": None, "code": pole_id, "label": ""}
    else:
        t_level, t_code, name = resolve_territory(con, code, level)
        values = {"kind": "territory", "level": t_level, "code": t_code, "label": name}
    return insert_item(con, dossier_id, "partner", values, created_by)


def add_stance(
    con: duckdb.DuckDBPyConnection,
    dossier_id: int,
    *,
    actor: str,
    position: str,
    salience: float = 1.0,
    source: str = "",
    when: dt.date | str | None = None,
    camp: str | None = None,
    notes: str = "",
    created_by: str | None = None,
) -> int:
    """Record a stakeholder's stance (a new row: the earlier ones stay as its history).

    Parameters
    ----------
    actor
        A person (``p-…``), an organisation or an imported actor.
    position
        ``soutien``, ``oppose``, ``indecis`` or ``inconnu``.
    salience
        How much the project matters to them, from 0 to 1.
    source, when
        Where the stance is known from, and its date.
    camp
        ``majorite`` or ``opposition`` in their council, when known.

    Raises
    ------
    UnknownDossier, UnknownActor, InvalidDossier
    """
    if position not in POSITIONS:
        msg = f"unknown position {position!r}: use one of {', '.join(POSITIONS)}"
        raise InvalidDossier(msg)
    value = float(salience)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        msg = f"salience {salience!r} is outside [0, 1]: 0 (does not matter to them) to 1"
        raise InvalidDossier(msg)
    if camp is not None:
        choice(camp, CAMPS, "camp")
    values = {
        "actor_id": check_actor(con, actor.strip()),
        "position": position,
        "salience": value,
        "source": clean_text(source, "source", limit=500),
        "stance_date": parse_date(when, "the stance's date"),
        "camp": camp,
        "notes": clean_text(notes, "notes"),
    }
    return insert_item(con, dossier_id, "stakeholder", values, created_by)


def add_event(
    con: duckdb.DuckDBPyConnection,
    dossier_id: int,
    *,
    when: dt.date | str,
    label: str,
    kind: str = "deliberation",
    status: str = "prevu",
    created_by: str | None = None,
) -> int:
    """Add a date to the decision's calendar (a deliberation, a deadline, a consultation).

    Raises
    ------
    UnknownDossier, InvalidDossier
    """
    values = {
        "date": parse_date(when, "the event's date"),
        "kind": choice(kind, EVENT_KINDS, "kind of event"),
        "label": clean_text(label, "event's label", required=True, limit=500),
        "status": choice(status, EVENT_STATUSES, "event status"),
    }
    if values["date"] is None:
        raise InvalidDossier("an event needs a date (YYYY-MM-DD)")
    return insert_item(con, dossier_id, "event", values, created_by)


def add_step(
    con: duckdb.DuckDBPyConnection,
    dossier_id: int,
    *,
    label: str,
    owner: str = "",
    due: dt.date | str | None = None,
    status: str = "a_faire",
    created_by: str | None = None,
) -> int:
    """Add a next step, with who does it and by when.

    Raises
    ------
    UnknownDossier, InvalidDossier
    """
    values = {
        "label": clean_text(label, "step's label", required=True, limit=500),
        "owner": clean_text(owner, "step's owner", limit=200),
        "due_date": parse_date(due, "the step's due date"),
        "status": choice(status, STEP_STATUSES, "step status"),
    }
    return insert_item(con, dossier_id, "step", values, created_by)


def add_link(
    con: duckdb.DuckDBPyConnection,
    dossier_id: int,
    *,
    url: str,
    label: str = "",
    created_by: str | None = None,
) -> int:
    """Add a link (http or https only: it is shown as a link on the dossier's page).

    Raises
    ------
    UnknownDossier, InvalidDossier
    """
    address = clean_text(url, "link's address", required=True, limit=2000)
    if not address.lower().startswith(("http://", "https://")) or any(c.isspace() for c in address):
        msg = f"link {address!r} is not a web address: give one starting with https://"
        raise InvalidDossier(msg)
    values = {"url": address, "label": clean_text(label, "link's label", limit=300) or address}
    return insert_item(con, dossier_id, "link", values, created_by)


def add_note(
    con: duckdb.DuckDBPyConnection, dossier_id: int, *, text: str, created_by: str | None = None
) -> int:
    """Add a note.

    Raises
    ------
    UnknownDossier, InvalidDossier
    """
    values = {"text": clean_text(text, "note", required=True)}
    return insert_item(con, dossier_id, "note", values, created_by)


def link_action(
    con: duckdb.DuckDBPyConnection,
    dossier_id: int,
    action_id: int,
    *,
    created_by: str | None = None,
) -> int:
    """Link an action of the log (``territoria actions list``) to the dossier.

    Raises
    ------
    UnknownDossier, UnknownAction, InvalidDossier
        The action does not exist, or is already linked.
    """
    from territoria.influence.actions import get_action

    get_action(con, action_id)
    linked = con.execute(
        "SELECT 1 FROM dossier_action WHERE dossier_id = ? AND action_id = ? "
        "AND deleted_at IS NULL",
        [dossier_id, action_id],
    ).fetchone()
    if linked:
        msg = f"action {action_id} is already linked to dossier {dossier_id}"
        raise InvalidDossier(msg)
    return insert_item(con, dossier_id, "action", {"action_id": action_id}, created_by)


def set_item_status(
    con: duckdb.DuckDBPyConnection, dossier_id: int, kind: str, item_id: int, status: str
) -> None:
    """Change the status of a step (``fait`` …) or of an event (``reporte`` …).

    Raises
    ------
    UnknownDossier, InvalidDossier
    """
    allowed = {"step": STEP_STATUSES, "event": EVENT_STATUSES}.get(kind)
    if allowed is None:
        msg = f"only steps and events have a status, not {kind!r}"
        raise InvalidDossier(msg)
    choice(status, allowed, f"{kind} status")
    with transaction(con):
        live_row(con, dossier_id)
        item_row(con, dossier_id, kind, item_id, deleted=False)
        con.execute(f"UPDATE {ITEM_KINDS[kind]} SET status = ? WHERE id = ?", [status, item_id])
        con.execute("UPDATE dossier SET updated_at = ? WHERE id = ?", [utc_now(), dossier_id])
        detail = {"dossier": dossier_id, "id": item_id}
        detail |= journal_values(kind, {"status": status})
        record(con, f"dossier.{kind}.status", target=str(dossier_id), detail=detail)


def delete_item(
    con: duckdb.DuckDBPyConnection,
    dossier_id: int,
    kind: str,
    item_id: int,
    *,
    user: str,
    admin: bool = False,
) -> None:
    """Delete an item of a dossier softly (its author, the dossier's creator or owner, or an
    administrator). Deleting a stakeholder's stance brings back the one before it.

    Raises
    ------
    UnknownDossier, PermissionDenied, InvalidDossier
    """
    set_deleted(con, dossier_id, kind, item_id, user=user, admin=admin, deleted=True)


def restore_item(
    con: duckdb.DuckDBPyConnection,
    dossier_id: int,
    kind: str,
    item_id: int,
    *,
    user: str,
    admin: bool = False,
) -> None:
    """Undo the deletion of an item of a dossier.

    Raises
    ------
    UnknownDossier, PermissionDenied, InvalidDossier
    """
    set_deleted(con, dossier_id, kind, item_id, user=user, admin=admin, deleted=False)


# ---------------------------------------------------------------------------- plan versions


def plan_params(
    con: duckdb.DuckDBPyConnection,
    dossier_id: int,
    *,
    k: int | None = None,
    budget: float | None = None,
    epsilon: float = 0.1,
    seed: int | None = None,
) -> dict[str, Any]:
    """The parameters of a plan job for the dossier (those of ``POST /influence/plans``, with
    the dossier's id and its stakeholders' current stances).

    Raises
    ------
    UnknownDossier
        The dossier does not exist or is deleted.
    """
    row = live_row(con, dossier_id)
    params: dict[str, Any] = {"code": row[4], "level": row[3], "theme": row[2]}
    params |= {"k": k if k is not None or budget is not None else 10, "budget": budget}
    params |= {"epsilon": epsilon, "seed": seed, "dossier_id": dossier_id}
    params["stances"] = {
        actor: {"position": s.position, "salience": s.salience, "source": s.source,
                "date": s.date.isoformat() if s.date else None}
        for actor, s in current_stances(con, dossier_id).items()
    }  # fmt: skip
    return {key: value for key, value in params.items() if value is not None}


def stances_of(params: Mapping[str, Any]) -> dict[str, Stance]:
    """The stances of a plan job's parameters (see :func:`plan_params`)."""
    return {
        actor: Stance(s["position"], float(s.get("salience", 1.0)), s.get("source", ""),
                      parse_date(s.get("date"), "a stance's date"))
        for actor, s in (params.get("stances") or {}).items()
    }  # fmt: skip


def record_plan(
    con: duckdb.DuckDBPyConnection, dossier_id: int, job_id: str, *, created_by: str | None = None
) -> int:
    """Record a plan job (submitted with :func:`plan_params`) as a version of the dossier's plan.

    Raises
    ------
    UnknownDossier
    """
    return insert_item(con, dossier_id, "plan", {"job_id": job_id}, created_by)


def run_plan(
    con: duckdb.DuckDBPyConnection,
    dossier_id: int,
    *,
    k: int | None = None,
    budget: float | None = None,
    epsilon: float = 0.1,
    seed: int | None = None,
    owner: str | None = None,
    progress: Any = None,
) -> PlanVersion:
    """Compute a version of the dossier's plan here and now, and keep it as a finished job.

    The plan is :func:`~territoria.influence.plan_project` on the dossier's theme, territory
    and current stances; it is recorded as a ``plan`` job (so that it is listed with the web
    application's plans) and as the dossier's latest plan version, in one transaction.
    """
    from territoria.influence.planner import plan_project
    from territoria.kb.jobs import Job, save_job, to_jsonable

    params = plan_params(con, dossier_id, k=k, budget=budget, epsilon=epsilon, seed=seed)
    started = utc_now()
    plan = plan_project(
        con,
        code=params["code"],
        level=params["level"],
        theme=params["theme"],
        k=params.get("k"),
        budget=params.get("budget"),
        epsilon=epsilon,
        seed=seed,
        stances=stances_of(params),
        progress=progress,
    )
    who = owner if owner is not None else current_actor()
    job = Job(
        id=uuid.uuid4().hex,
        kind="plan",
        owner=who,
        params=to_jsonable(params),
        status="done",
        progress=1.0,
        created_at=started,
        started_at=started,
        finished_at=utc_now(),
        result=to_jsonable(plan),
    )
    with transaction(con):
        save_job(con, job)
        version = insert_rows(con, dossier_id, "plan", {"job_id": job.id}, who)
    return next(p for p in plan_versions(con, dossier_id) if p.id == version)
