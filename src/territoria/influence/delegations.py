"""Delegations of vice-presidents and adjoints (``territoria delegations import FILE.csv``).

A delegation says which official of a body holds which portfolio: the decision map gives the
officials whose delegation names a project's sub-theme (or its theme) a larger share of their
body's weight (see :mod:`territoria.influence.decision`). The file has one line per
delegation: ``person_id`` (``p-…``) or ``person`` (the name, resolved among the body's serving
officials), ``body`` (organisation id: ``cm-35238``, ``cc-243500139``, ``cr-53`` …),
``delegation`` (its text), ``themes`` (decision-map sub-theme or theme ids, separated by
``;``), and optionally ``source`` (where it was read) and ``date`` (YYYY-MM-DD).

Every line is checked before anything is written; any problem rejects the whole file with
the line numbers. The import goes through the import framework: its own ``source`` row, and
importing again under the same source name (by default the file's name) replaces its
delegations in one transaction that also records the audit row ``import.delegations``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from territoria.errors import UnknownTheme, ValidationError
from territoria.influence._competences import get_theme
from territoria.kb.audit import record
from territoria.kb.search import normalise
from territoria.sources._csv import _dialect, _physical_lines, _read, check_file
from territoria.sources._framework import SourceRecord, Staging, record_source, utc_now

__all__ = ["COLUMNS", "Delegation", "DelegationReport", "delegations", "import_delegations"]

COLUMNS = ("person_id", "person", "body", "delegation", "themes", "source", "date")
REQUIRED = ("body", "delegation", "themes")
DATASET = "delegations"
#: How many problems a validation error spells out (all are counted).
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Delegation:
    """One official's delegation in one body."""

    person_id: str
    person: str
    body: str
    text: str
    themes: tuple[str, ...]
    origin: str = ""
    date: date | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "person_id": self.person_id,
            "person": self.person,
            "body": self.body,
            "delegation": self.text,
            "themes": list(self.themes),
            "source": self.origin,
            "date": self.date.isoformat() if self.date else None,
        }


@dataclass
class DelegationReport:
    """What a delegations import loaded."""

    delegations: int
    bodies: int
    source_name: str
    source_id: int = 0
    replaced: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "delegations": self.delegations,
            "bodies": self.bodies,
            "source_name": self.source_name,
            "source_id": self.source_id,
            "replaced": self.replaced,
        }


def import_delegations(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    source_name: str | None = None,
    publisher: str = "user",
    licence: str = "private",
) -> DelegationReport:
    """Import a CSV of delegations (see the module's documentation for the columns).

    Raises
    ------
    SourceError
        The file is missing, a folder, empty or not a well-formed CSV file.
    ValidationError
        A column is missing, the file has no delegation line, or lines are bad (unknown
        body, person not serving in the body, ambiguous name, unknown theme, bad date);
        nothing was imported. ``problems`` lists the offending lines.
    """
    path = Path(path)
    name = source_name or path.name
    check_file(path, "delegations file")
    rec = SourceRecord(
        name=name,
        dataset=DATASET,
        publisher=publisher,
        licence=licence,
        retrieved_at=utc_now(),
        address=str(path),
    )
    with Staging(con, "dlg_") as staging:
        rows = _checked(con, path)
        with staging.swap(names=[name], dataset=DATASET, tables=["delegation"]) as swap:
            sid = record_source(con, rec, imported_at=staging.now)
            con.executemany(
                "INSERT INTO delegation (person_id, organisation_id, text, themes, origin, "
                "date, line, source_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [[*row, sid] for row in rows],
            )
            report = DelegationReport(
                len(rows), len({r[1] for r in rows}), name, sid, swap.deleted["delegation"]
            )
            record(
                con,
                "import.delegations",
                target=name,
                detail={"file": path.name, **report.to_dict()},
            )
    return report


def _checked(con: duckdb.DuckDBPyConnection, path: Path) -> list[list[Any]]:
    """The file's rows ready to insert; raises :class:`ValidationError` on any bad line."""
    dialect = _dialect(path, sep=None, encoding="utf-8")
    header = _read(con, path, dialect, table="dlg_raw", what="a delegations file", options=False)
    missing = [c for c in REQUIRED if c not in header]
    if "person_id" not in header and "person" not in header:
        missing.append("person_id (or person)")
    if missing:
        msg = (
            f"{str(path)!r} lacks the column(s) {missing!r}: the header must hold person_id "
            f"or person, {', '.join(REQUIRED)} (optional: source, date)"
        )
        raise ValidationError(msg, [f"line 1 (header): missing column {c!r}" for c in missing])
    cols = [c for c in COLUMNS if c in header]
    raw = con.execute(f"SELECT rowid + 2, {', '.join(cols)} FROM dlg_raw ORDER BY rowid").fetchall()
    if not raw:
        msg = f"{path.name!r} has a header but no delegation line: nothing was imported"
        raise ValidationError(msg, ["line 2: no delegation"], 1)
    lines = [{"line": int(r[0]), **dict(zip(cols, r[1:], strict=True))} for r in raw]
    for line in lines:
        for key in COLUMNS:
            value = line.get(key)
            line[key] = str(value).strip() if value is not None and str(value).strip() else None
    officials = _officials(con, sorted({str(x["body"]) for x in lines if x["body"]}))
    rows: list[list[Any]] = []
    problems: list[tuple[int, str]] = []
    for line in lines:
        row, errors = _check_line(line, officials)
        problems += [(line["line"], e) for e in errors]
        if row is not None:
            rows.append(row)
    if problems:
        where = _physical_lines(path, dialect, {n for n, _ in problems}, len(lines))
        shown = [f"line {where.get(n, n)}: {text}" for n, text in sorted(problems)]
        msg = f"{len(shown)} problem(s) in {str(path)!r}: nothing was imported"
        raise ValidationError(msg, shown[:MAX_PROBLEMS], len(shown))
    return rows


def _officials(con: duckdb.DuckDBPyConnection, bodies: list[str]) -> dict[str, dict[str, Any]]:
    """For each known body: its serving officials' ids and their ids by normalised name."""
    out: dict[str, dict[str, Any]] = {}
    for (oid,) in con.execute(
        "SELECT id FROM organisation WHERE id IN (SELECT unnest(?::VARCHAR[]))", [bodies]
    ).fetchall():
        out[str(oid)] = {"ids": set(), "names": defaultdict(set)}
    for oid, pid, first, last in con.execute(
        "SELECT DISTINCT m.organisation_id, p.id, p.first_name, p.last_name FROM mandate m "
        "JOIN person p ON p.id = m.person_id WHERE m.end_date IS NULL "
        "AND m.organisation_id IN (SELECT unnest(?::VARCHAR[]))",
        [bodies],
    ).fetchall():
        body = out[str(oid)]
        body["ids"].add(str(pid))
        for name in (f"{first} {last}", f"{last} {first}"):
            body["names"][normalise(name)].add(str(pid))
    return out


def _check_line(
    line: dict[str, Any], officials: dict[str, dict[str, Any]]
) -> tuple[list[Any] | None, list[str]]:
    """The row to insert for one line, or the problems it has."""
    errors: list[str] = []
    body = line["body"]
    if body is None:
        errors.append("empty body (an organisation id such as cm-35238 or cc-243500139)")
    elif body not in officials:
        errors.append(f"unknown body {body!r}: give an organisation id ('territoria profile')")
    if line["delegation"] is None:
        errors.append("empty delegation text")
    themes = [t.strip() for t in (line["themes"] or "").split(";") if t.strip()]
    if not themes:
        errors.append("no theme: give sub-theme ids separated by ';' (territoria influence themes)")
    for theme in themes:
        try:
            get_theme(theme)
        except UnknownTheme:
            errors.append(f"unknown theme {theme!r}: see 'territoria influence themes'")
    when = None
    if line["date"] is not None:
        try:
            when = date.fromisoformat(line["date"])
        except ValueError:
            errors.append(f"date {line['date']!r} is not YYYY-MM-DD")
    person = _person(line, officials.get(body or ""), errors)
    if errors:
        return None, errors
    return [person, body, line["delegation"], themes, line["source"], when, line["line"]], []


def _person(line: dict[str, Any], body: dict[str, Any] | None, errors: list[str]) -> str:
    """The person id a line names, among the body's serving officials."""
    pid, name = line.get("person_id"), line.get("person")
    if pid is None and name is not None and str(name).startswith("p-"):
        pid = name  # a person id typed in the person column
    if pid is None and name is None:
        errors.append("no person: give person_id (p-…) or person (the name)")
        return ""
    if body is None:
        return ""
    if pid is not None:
        if pid not in body["ids"]:
            errors.append(f"{pid!r} holds no current mandate in {line['body']!r}")
        return str(pid)
    found = sorted(body["names"].get(normalise(str(name)), set()))
    if len(found) == 1:
        return str(found[0])
    if not found:
        errors.append(f"no serving official of {line['body']!r} is named {name!r}")
    else:
        errors.append(f"{name!r} names {len(found)} officials of {line['body']!r}: give person_id")
    return ""


def delegations(con: duckdb.DuckDBPyConnection, *, body: str | None = None) -> list[Delegation]:
    """The imported delegations, of one body or all, by body and person."""
    rows = con.execute(
        "SELECT d.person_id, p.first_name || ' ' || p.last_name, d.organisation_id, d.text, "
        "d.themes, d.origin, d.date FROM delegation d JOIN person p ON p.id = d.person_id "
        "WHERE ?::VARCHAR IS NULL OR d.organisation_id = ? "
        "ORDER BY d.organisation_id, p.last_name, d.person_id, d.line",
        [body, body],
    ).fetchall()
    return [
        Delegation(str(a), str(b), str(c), str(d), tuple(e), str(f or ""), g)
        for a, b, c, d, e, f, g in rows
    ]
