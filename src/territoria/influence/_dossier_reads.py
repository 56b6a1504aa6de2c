"""Reading dossiers: a dossier with its items, the list, the current stances."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from territoria.errors import UnknownDossier
from territoria.influence._dossier_model import (
    CAMPS,
    EVENT_KINDS,
    EVENT_STATUSES,
    ITEM_KINDS,
    JOB_STATUSES,
    OUTCOMES,
    STATUSES,
    STEP_STATUSES,
    Dossier,
    DossierSummary,
    Event,
    Link,
    LinkedAction,
    Note,
    Partner,
    PlanVersion,
    Stakeholder,
    StanceRecord,
    Step,
)
from territoria.influence.decision import get_theme
from territoria.influence.stance import POSITION_LABELS, Stance

__all__ = ["current_stances", "dossier_row", "get_dossier", "list_dossiers", "plan_versions"]


def dossier_row(con: duckdb.DuckDBPyConnection, dossier_id: int) -> tuple[Any, ...]:
    row = con.execute(
        "SELECT d.id, d.title, d.theme, d.level, d.code, coalesce(t.name, d.code), d.objective, "
        "d.decision, d.status, d.owner, d.created_by, d.created_at, d.updated_at, d.deleted_at, "
        "d.deleted_by FROM dossier d LEFT JOIN territory t ON t.level = d.level "
        "AND t.code = d.code WHERE d.id = ?",
        [dossier_id],
    ).fetchone()
    if row is None:
        msg = f"no dossier with id {dossier_id!r}: see 'territoria dossiers list'"
        raise UnknownDossier(msg)
    return tuple(row)


def _theme_labels(theme: str) -> tuple[str, str]:
    """The theme's French and English names."""
    try:
        found = get_theme(theme)
    except LookupError:  # a theme the decision map no longer has: show its id
        return theme, theme
    return found.label_fr, found.label_en


def get_dossier(con: duckdb.DuckDBPyConnection, dossier_id: int) -> Dossier:
    """The dossier ``dossier_id`` with its items (deleted ones left out), deleted or not.

    Raises
    ------
    UnknownDossier
    """
    r = dossier_row(con, dossier_id)
    return Dossier(
        id=int(r[0]),
        title=r[1],
        theme=r[2],
        theme_label=_theme_labels(r[2])[0],
        theme_label_en=_theme_labels(r[2])[1],
        level=r[3],
        code=r[4],
        territory=r[5],
        objective=r[6],
        decision=r[7],
        status=r[8],
        status_label=STATUSES.get(r[8], r[8]),
        owner=r[9],
        created_by=r[10],
        created_at=r[11],
        updated_at=r[12],
        deleted_at=r[13],
        deleted_by=r[14],
        partners=_partners(con, dossier_id),
        stakeholders=_stakeholders(con, dossier_id),
        events=_events(con, dossier_id),
        steps=_steps(con, dossier_id),
        links=[Link(*row) for row in _items(con, "link", "url, label", dossier_id, "id")],
        notes=[Note(*row) for row in _items(con, "note", "text", dossier_id, "created_at, id")],
        actions=_actions(con, dossier_id),
        plans=plan_versions(con, dossier_id),
    )


def list_dossiers(
    con: duckdb.DuckDBPyConnection, *, deleted: bool = False, today: dt.date | None = None
) -> list[DossierSummary]:
    """Dossiers, latest changed first, with their next deadline and number of stakeholders.

    Deleted dossiers are left out; ``deleted=True`` lists them alone instead (to restore one).
    """
    today = today or dt.date.today()
    rows = con.execute(
        """
        SELECT d.id, d.title, d.theme, d.level, d.code, coalesce(t.name, d.code), d.status,
               d.owner, e.date, e.label,
               (SELECT count(DISTINCT actor_id) FROM dossier_stance s
                 WHERE s.dossier_id = d.id AND s.deleted_at IS NULL),
               d.updated_at, d.deleted_at, d.deleted_by
        FROM dossier d
        LEFT JOIN territory t ON t.level = d.level AND t.code = d.code
        LEFT JOIN (SELECT dossier_id, date, label, row_number() OVER (
                       PARTITION BY dossier_id ORDER BY date, id) AS n
                   FROM dossier_event
                   WHERE deleted_at IS NULL AND status = 'prevu' AND date >= ?) e
               ON e.dossier_id = d.id AND e.n = 1
        WHERE (d.deleted_at IS NOT NULL) = ?
        ORDER BY d.updated_at DESC, d.id DESC
        """,
        [today, deleted],
    ).fetchall()
    return [
        DossierSummary(
            id=int(r[0]),
            title=r[1],
            theme=r[2],
            theme_label=_theme_labels(r[2])[0],
            theme_label_en=_theme_labels(r[2])[1],
            level=r[3],
            code=r[4],
            territory=r[5],
            status=r[6],
            status_label=STATUSES.get(r[6], r[6]),
            owner=r[7],
            next_deadline=r[8],
            next_deadline_label=r[9] or "",
            stakeholders=int(r[10]),
            updated_at=r[11],
            deleted_at=r[12],
            deleted_by=r[13],
        )
        for r in rows
    ]


def _items(
    con: duckdb.DuckDBPyConnection, kind: str, columns: str, dossier_id: int, order: str
) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in con.execute(
            f"SELECT id, {columns}, created_by, created_at FROM {ITEM_KINDS[kind]} "
            f"WHERE dossier_id = ? AND deleted_at IS NULL ORDER BY {order}",
            [dossier_id],
        ).fetchall()
    ]


def _partners(con: duckdb.DuckDBPyConnection, dossier_id: int) -> list[Partner]:
    return [
        Partner(*r) for r in _items(con, "partner", "kind, level, code, label", dossier_id, "id")
    ]


def _events(con: duckdb.DuckDBPyConnection, dossier_id: int) -> list[Event]:
    rows = _items(con, "event", "date, kind, label, status", dossier_id, "date, id")
    return [
        Event(r[0], r[1], r[2], EVENT_KINDS.get(r[2], r[2]), r[3], r[4],
              EVENT_STATUSES.get(r[4], r[4]), r[5], r[6])
        for r in rows
    ]  # fmt: skip


def _steps(con: duckdb.DuckDBPyConnection, dossier_id: int) -> list[Step]:
    rows = _items(
        con, "step", "label, owner, due_date, status", dossier_id, "due_date NULLS LAST, id"
    )
    return [
        Step(r[0], r[1], r[2], r[3], r[4], STEP_STATUSES.get(r[4], r[4]), r[5], r[6]) for r in rows
    ]


_STAKEHOLDERS = """
WITH s AS (
    SELECT s.*, row_number() OVER (PARTITION BY actor_id ORDER BY created_at DESC, id DESC) AS n
    FROM dossier_stance s WHERE dossier_id = ? AND deleted_at IS NULL
), titles AS (
    SELECT m.person_id, coalesce(m.function_label, m.function, m.role_label, m.role) || ', '
               || o.name AS title,
           row_number() OVER (PARTITION BY m.person_id ORDER BY m.function_rank NULLS LAST,
               m.function_code IS NULL, m.start_date DESC NULLS LAST, m.id) AS n
    FROM mandate m JOIN organisation o ON o.id = m.organisation_id
    WHERE m.end_date IS NULL AND m.person_id IN (SELECT actor_id FROM s)
)
SELECT s.actor_id, coalesce(p.first_name || ' ' || p.last_name, o.name, a.name, s.actor_id),
       coalesce(t.title, ''),
       s.id, s.position, s.salience, s.source, s.stance_date, s.camp, s.notes, s.created_by,
       s.created_at, s.n
FROM s
LEFT JOIN person p ON p.id = s.actor_id
LEFT JOIN organisation o ON o.id = s.actor_id
LEFT JOIN actor a ON a.id = s.actor_id
LEFT JOIN titles t ON t.person_id = s.actor_id AND t.n = 1
ORDER BY s.actor_id, s.n
"""


def _stakeholders(con: duckdb.DuckDBPyConnection, dossier_id: int) -> list[Stakeholder]:
    """Current stance of each stakeholder, with the earlier ones; weightiest salience first."""
    by_actor: dict[str, tuple[str, str, list[StanceRecord]]] = {}
    for r in con.execute(_STAKEHOLDERS, [dossier_id]).fetchall():
        stance = StanceRecord(
            id=int(r[3]),
            position=r[4],
            position_label=POSITION_LABELS.get(r[4], r[4]),
            salience=float(r[5]),
            source=r[6],
            date=r[7],
            camp=r[8],
            camp_label=CAMPS.get(r[8]) if r[8] else None,
            notes=r[9],
            created_by=r[10],
            created_at=r[11],
        )
        by_actor.setdefault(r[0], (r[1], r[2], []))[2].append(stance)
    out = [
        Stakeholder(actor, name, title, stances[0], stances[1:])
        for actor, (name, title, stances) in by_actor.items()
    ]
    out.sort(key=lambda s: (-s.stance.salience, s.name))
    return out


def _actions(con: duckdb.DuckDBPyConnection, dossier_id: int) -> list[LinkedAction]:
    rows = con.execute(
        """
        SELECT l.id, a.id, a.date, a.type, a.subject, a.outcome,
               list(coalesce(p.first_name || ' ' || p.last_name, o.name, ac.name, aa.actor_id)
                    ORDER BY aa.actor_id) FILTER (WHERE aa.actor_id IS NOT NULL),
               a.deleted_at IS NOT NULL, l.created_by, l.created_at
        FROM dossier_action l JOIN action a ON a.id = l.action_id
        LEFT JOIN action_actor aa ON aa.action_id = a.id
        LEFT JOIN person p ON p.id = aa.actor_id
        LEFT JOIN organisation o ON o.id = aa.actor_id
        LEFT JOIN actor ac ON ac.id = aa.actor_id
        WHERE l.dossier_id = ? AND l.deleted_at IS NULL
        GROUP BY ALL ORDER BY a.date, l.id
        """,
        [dossier_id],
    ).fetchall()
    return [
        LinkedAction(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], OUTCOMES.get(r[5], r[5]),
                     list(r[6] or []), bool(r[7]), r[8], r[9])
        for r in rows
    ]  # fmt: skip


def plan_versions(con: duckdb.DuckDBPyConnection, dossier_id: int) -> list[PlanVersion]:
    """Plan versions with the summary of their job's result (read from the job table)."""
    rows = con.execute(
        """
        SELECT v.id, v.job_id, coalesce(j.status, 'failed'), v.created_by, v.created_at,
               j.finished_at,
               json_extract_string(j.result, '$.seeds[*].id'),
               json_extract_string(j.result, '$.seeds[*].name'),
               TRY_CAST(json_extract(j.result, '$.estimate') AS DOUBLE),
               coalesce(json_extract_string(j.result, '$.guarantee_fr'), ''),
               coalesce(json_extract_string(j.error, '$.message'), '')
        FROM dossier_plan v LEFT JOIN job j ON j.id = v.job_id
        WHERE v.dossier_id = ? AND v.deleted_at IS NULL
        ORDER BY v.created_at, v.id
        """,
        [dossier_id],
    ).fetchall()
    out = []
    for r in rows:
        seeds = [{"id": i, "name": n} for i, n in zip(r[6] or [], r[7] or [], strict=False)]
        error = r[10] if r[2] != "failed" or r[10] else "the plan's job is no longer recorded"
        label = JOB_STATUSES.get(r[2], r[2])
        out.append(
            PlanVersion(int(r[0]), r[1], r[2], label, r[3], r[4], r[5], seeds, r[8], r[9], error)
        )
    return out


def current_stances(con: duckdb.DuckDBPyConnection, dossier_id: int) -> dict[str, Stance]:
    """Each stakeholder's current stance, as :func:`~territoria.influence.plan_project` takes
    them."""
    return {
        s.actor_id: Stance(s.stance.position, s.stance.salience, s.stance.source, s.stance.date)
        for s in _stakeholders(con, dossier_id)
    }
