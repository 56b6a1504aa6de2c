"""The exercise of the HATVP register (its figures and clients) and the annual activity report
built from the actions log, in the structure of the AGORA open data.

The structure followed is documented as a JSON Schema in the package,
``territoria/data/agora_activity.schema.json``: one exercise (``exercices[0].publicationCourante``
with ``dateDebut``, ``dateFin`` as DD-MM-YYYY, ``montantDepense``, ``nombreSalaries``,
``chiffreAffaire``, ``nombreActivite`` and ``activites``), each activity with its
``identifiantFiche``, ``objet``, ``domainesIntervention`` and ``actionsRepresentationInteret``
(``reponsablesPublics`` — the register's spelling —, ``decisionsConcernees``, ``actionsMenees``,
``tiers``, ``observation``), the clients (``denomination``, ``identifiantNational``). Beside it,
``horsChamp`` counts the logged actions the register does not cover (a mayor of a commune of
100,000 inhabitants or fewer, a member of the European Parliament) and says why.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

import duckdb

from territoria import _csv_safe
from territoria.errors import InvalidExercise
from territoria.influence.agora import (
    ACTION_TYPES,
    DECISION_TYPES,
    SPEND_BRACKETS,
    TURNOVER_BRACKETS,
    coverage_pairs,
    spend_bracket,
    turnover_bracket,
)
from territoria.kb._transaction import transaction
from territoria.kb.audit import current_actor, record

__all__ = [
    "AgoraReport",
    "Client",
    "Exercise",
    "activity_report",
    "get_exercise",
    "report_csv",
    "report_json",
    "report_schema",
    "set_exercise",
]


@dataclass(frozen=True)
class Client:
    """A tiers for whom interest representation was done during the exercise."""

    name: str
    identifier: str | None = None


@dataclass(frozen=True)
class Exercise:
    """The figures of one exercise of the register (the calendar year unless set otherwise)."""

    year: int
    start: date
    end: date
    spend_eur: float | None = None
    spend_bracket: str | None = None
    staff: int | None = None
    fte: float | None = None
    turnover_bracket: str | None = None
    clients: list[Client] = field(default_factory=list)
    #: whether the figures were set (``territoria actions exercise set``) or are the defaults
    declared: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (dates as ISO text)."""
        data = asdict(self)
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        return data


def get_exercise(con: duckdb.DuckDBPyConnection, year: int) -> Exercise:
    """The exercise ending in ``year``: its recorded figures, or the calendar year with none."""
    row = con.execute(
        "SELECT start_date, end_date, spend_eur, spend_bracket, staff, fte, turnover_bracket "
        "FROM register_exercise WHERE year = ?",
        [year],
    ).fetchone()
    if row is None:
        return Exercise(year, date(year, 1, 1), date(year, 12, 31))
    clients = [
        Client(str(name), identifier)
        for name, identifier in con.execute(
            "SELECT name, identifier FROM register_client WHERE year = ? ORDER BY position",
            [year],
        ).fetchall()
    ]
    start, end, spend, bracket, staff, fte, turnover = row
    return Exercise(year, start, end, spend, bracket, staff, fte, turnover, clients, True)


def _amount_or_bracket(
    value: float | str | None, brackets: list[tuple[int, str]], what: str
) -> tuple[float | None, str | None]:
    """Read ``--spend 45000`` or ``--spend '> = 25 000 euros et < 50 000 euros'``."""
    if value is None:
        return None, None
    if isinstance(value, str):
        text = value.strip().replace("\u202f", " ").replace("\xa0", " ")
        labels = [label for _, label in brackets]
        if text in labels:
            return None, text
        try:
            value = float(text.replace(" ", "").replace("€", "").replace(",", "."))
        except ValueError:
            msg = (
                f"{what} {text!r} is neither an amount in euros nor one of the register's "
                f"brackets ({labels[0]!r} … {labels[-1]!r})"
            )
            raise InvalidExercise(msg) from None
    if not 0 <= value < float("inf"):
        msg = f"{what} {value!r} must be a finite amount in euros, not negative"
        raise InvalidExercise(msg)
    return float(value), None


def set_exercise(
    con: duckdb.DuckDBPyConnection,
    year: int,
    *,
    start: date | None = None,
    end: date | None = None,
    spend: float | str | None = None,
    staff: int | None = None,
    fte: float | None = None,
    turnover: float | str | None = None,
    clients: list[Client] | None = None,
) -> Exercise:
    """Record the figures of the exercise ending in ``year``; options left out keep their
    recorded value (``clients=[]`` clears the list).

    ``spend`` and ``turnover`` are amounts in euros (the report shows their bracket) or the
    register's bracket labels themselves.

    Raises
    ------
    InvalidExercise
        Dates outside the year or reversed, a negative figure, an unknown bracket.
    """
    old = get_exercise(con, year)
    start, end = start or old.start, end or old.end
    if end.year != year or start > end or (end - start).days > 366:
        msg = (
            f"exercise {year}: from {start} to {end} is not an accounting year ending in {year} "
            "(give --start and --end, at most 12 months apart)"
        )
        raise InvalidExercise(msg)
    for name, figure in (("staff", staff), ("fte", fte)):
        if figure is not None and not 0 <= figure < 1e6:
            msg = f"{name}={figure!r}: give a number of persons, 0 or more"
            raise InvalidExercise(msg)
    spend_eur, spend_label = old.spend_eur, old.spend_bracket
    if spend is not None:
        spend_eur, spend_label = _amount_or_bracket(spend, SPEND_BRACKETS, "spend")
    turnover_label = old.turnover_bracket
    if turnover is not None:
        amount, turnover_label = _amount_or_bracket(turnover, TURNOVER_BRACKETS, "turnover")
        turnover_label = turnover_label or turnover_bracket(amount or 0.0)
    names = [c.name.strip() for c in clients or []]
    if any(not n for n in names) or len(set(names)) != len(names):
        msg = f"clients {names!r}: each client needs a name, given once"
        raise InvalidExercise(msg)
    new = Exercise(
        year,
        start,
        end,
        spend_eur,
        spend_label,
        old.staff if staff is None else staff,
        old.fte if fte is None else fte,
        turnover_label,
        old.clients if clients is None else [Client(c.name.strip(), c.identifier) for c in clients],
        True,
    )
    _write_exercise(con, new)
    return new


def _write_exercise(con: duckdb.DuckDBPyConnection, ex: Exercise) -> None:
    now = datetime.now(tz=UTC).replace(tzinfo=None)
    with transaction(con):
        con.execute("DELETE FROM register_exercise WHERE year = ?", [ex.year])
        con.execute(
            "INSERT INTO register_exercise VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                ex.year,
                ex.start,
                ex.end,
                ex.spend_eur,
                ex.spend_bracket,
                ex.staff,
                ex.fte,
                ex.turnover_bracket,
                current_actor(),
                now,
            ],
        )
        con.execute("DELETE FROM register_client WHERE year = ?", [ex.year])
        if ex.clients:
            con.executemany(
                "INSERT INTO register_client VALUES (?, ?, ?, ?)",
                [(ex.year, i, c.name, c.identifier) for i, c in enumerate(ex.clients)],
            )
        detail = {
            "spend_bracket": ex.spend_bracket
            or (spend_bracket(ex.spend_eur) if ex.spend_eur is not None else None),
            "staff": ex.staff,
            "fte": ex.fte,
            "turnover_bracket": ex.turnover_bracket,
            "clients": ", ".join(c.name for c in ex.clients),
        }
        record(con, "register.exercise", target=str(ex.year), detail=detail)


@dataclass(frozen=True)
class RepresentationAction:
    """One "action de représentation d'intérêts" of an activity: the logged actions sharing
    their officials' categories, decision type and tiers."""

    responsables_publics: list[str]
    decisions_concernees: list[str]
    actions_menees: list[str]
    tiers: list[str]
    observation: str
    nombre_actions: int
    action_ids: list[int]


@dataclass(frozen=True)
class Activity:
    """A "fiche d'activité": one subject of the exercise."""

    identifiant_fiche: str
    objet: str
    domaines_intervention: list[str]
    actions: list[RepresentationAction]


@dataclass(frozen=True)
class ExcludedAction:
    """A logged action of the exercise that the register does not cover, and why."""

    id: int
    date: date
    subject: str
    reasons: list[str]


@dataclass(frozen=True)
class AgoraReport:
    """The annual activity report of one exercise, and the actions left out of it."""

    exercise: Exercise
    montant_depense: str
    #: 'declare' (the exercise's figure) or 'estime' (the sum of the log's costs)
    montant_depense_origine: str
    activities: list[Activity]
    excluded_actions: int
    #: rule → number of logged actions left out under it
    excluded_reasons: dict[str, int]
    excluded: list[ExcludedAction] = field(default_factory=list)

    def to_agora(self) -> dict[str, Any]:
        """The report in the structure of the AGORA open data (see the package's schema)."""
        ex = self.exercise
        activites = [
            {
                "publicationCourante": {
                    "identifiantFiche": a.identifiant_fiche,
                    "objet": a.objet,
                    "domainesIntervention": a.domaines_intervention,
                    "actionsRepresentationInteret": [
                        {
                            "reponsablesPublics": r.responsables_publics,
                            "decisionsConcernees": r.decisions_concernees,
                            "actionsMenees": r.actions_menees,
                            "tiers": r.tiers,
                            "observation": r.observation,
                            "nombreActions": r.nombre_actions,
                        }
                        for r in a.actions
                    ],
                }
            }
            for a in self.activities
        ]
        exercise = {
            "dateDebut": f"{ex.start:%d-%m-%Y}",
            "dateFin": f"{ex.end:%d-%m-%Y}",
            "montantDepense": self.montant_depense,
            "montantDepenseOrigine": self.montant_depense_origine,
            "nombreSalaries": ex.fte if ex.fte is not None else ex.staff,
            "nombrePersonnes": ex.staff,
            "chiffreAffaire": ex.turnover_bracket,
            "nombreActivite": len(activites),
            "activites": activites,
        }
        return {
            "exercices": [{"publicationCourante": exercise}],
            "clients": [
                {"denomination": c.name, "identifiantNational": c.identifier} for c in ex.clients
            ],
            "horsChamp": {
                "nombreActions": self.excluded_actions,
                "motifs": [
                    {"motif": reason, "nombreActions": n}
                    for reason, n in sorted(self.excluded_reasons.items(), key=lambda x: -x[1])
                ],
                "actions": [
                    {
                        "id": e.id,
                        "date": e.date.isoformat(),
                        "objet": e.subject,
                        "motifs": e.reasons,
                    }
                    for e in self.excluded
                ],
            },
        }


def activity_report(con: duckdb.DuckDBPyConnection, *, year: int) -> AgoraReport:
    """The annual activity report of the exercise ending in ``year``, from the actions log.

    Only the actions of the exercise's dates that met at least one official the register
    covers (:func:`territoria.influence.agora.coverage`, on the action's date) are declared,
    with the categories of the covered officials; the others are counted in
    ``excluded_reasons``. The spend bracket is the exercise's (``set_exercise``), or estimated
    from the costs of the declared actions when none was recorded. Deleted actions are left out.
    """
    from territoria.influence.actions import list_actions

    ex = get_exercise(con, year)
    actions = [
        a
        for y in range(ex.start.year, ex.end.year + 1)
        for a in reversed(list_actions(con, year=y))
        if ex.start <= a.date <= ex.end
    ]
    verdicts = coverage_pairs(con, ((actor, a.date) for a in actions for actor in a.actors))
    groups: dict[str, dict[tuple[Any, ...], list[Any]]] = {}
    areas: dict[str, set[str]] = {}
    reasons: Counter[str] = Counter()
    left_out: list[ExcludedAction] = []
    excluded = 0
    spent = 0.0
    for a in actions:
        found = [verdicts[(actor, a.date)] for actor in a.actors]
        categories = tuple(sorted({c.category for c in found if c.category}))
        if not categories:
            excluded += 1
            reasons.update({c.rule or c.reason for c in found})
            left_out.append(
                ExcludedAction(a.id, a.date, a.subject, sorted({c.reason for c in found}))
            )
            continue
        spent += a.cost_eur
        areas.setdefault(a.subject, set()).update(a.policy_areas)
        key = (categories, a.decision_type, a.client or "")
        groups.setdefault(a.subject, {}).setdefault(key, []).append(a)
    activities = [
        Activity(
            f"{year}-{n:04d}",
            subject,
            sorted(areas[subject]),
            [_representation(key, items) for key, items in parts.items()],
        )
        for n, (subject, parts) in enumerate(groups.items(), start=1)
    ]
    if ex.spend_bracket or ex.spend_eur is not None:
        bracket = ex.spend_bracket or spend_bracket(ex.spend_eur or 0.0)
        origin = "declare"
    else:
        bracket, origin = spend_bracket(spent), "estime"
    return AgoraReport(ex, bracket, origin, activities, excluded, dict(reasons), left_out)


def _representation(key: tuple[Any, ...], items: list[Any]) -> RepresentationAction:
    categories, decision, client = key
    kinds = sorted({ACTION_TYPES[a.type] for a in items})
    details = sorted({a.type_detail for a in items if a.type == "other" and a.type_detail})
    targeted = sorted({a.decision_targeted for a in items if a.decision_targeted})
    return RepresentationAction(
        responsables_publics=list(categories),
        decisions_concernees=[DECISION_TYPES[decision]],
        actions_menees=kinds,
        tiers=[client] if client else [],
        observation="; ".join(targeted + [f"autre action : {d}" for d in details]),
        nombre_actions=len(items),
        action_ids=[a.id for a in items],
    )


def report_schema() -> dict[str, Any]:
    """The JSON Schema of :func:`report_json`'s output, shipped in the package."""
    text = (
        resources.files("territoria.data")
        .joinpath("agora_activity.schema.json")
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def report_json(report: AgoraReport) -> str:
    """The report as JSON text in the AGORA open-data structure."""
    return json.dumps(report.to_agora(), ensure_ascii=False, indent=2)


_CSV_COLUMNS = [
    "exercice",
    "date_debut",
    "date_fin",
    "montant_depense",
    "identifiant_fiche",
    "objet",
    "domaines_intervention",
    "responsables_publics",
    "decisions_concernees",
    "actions_menees",
    "tiers",
    "observation",
    "nombre_actions",
]


def report_csv(report: AgoraReport) -> str:
    """The report as CSV, one row per action de représentation d'intérêts; text cells that a
    spreadsheet would run as a formula are neutralised."""
    ex = report.exercise
    buffer = io.StringIO()
    writer = _csv_safe.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for a in report.activities:
        for r in a.actions:
            writer.writerow(
                [
                    ex.year,
                    ex.start.isoformat(),
                    ex.end.isoformat(),
                    report.montant_depense,
                    a.identifiant_fiche,
                    a.objet,
                    "; ".join(a.domaines_intervention),
                    "; ".join(r.responsables_publics),
                    "; ".join(r.decisions_concernees),
                    "; ".join(r.actions_menees),
                    "; ".join(r.tiers),
                    r.observation,
                    r.nombre_actions,
                ]
            )
    return buffer.getvalue()
