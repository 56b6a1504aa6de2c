"""The roster of a territory: every current official of its councils, and its parliamentarians.

What a territory's page promises as "the complete list of officials", and what
``territoria export officials`` writes:

- a commune (or an arrondissement, a commune déléguée: its commune's): every member of its
  conseil municipal, or of the body that holds the commune's competences there (the Ville de
  Paris);
- an EPCI: every member of its conseil communautaire;
- a département: its conseil départemental, or the body with a special status that exercises
  the département's competences on it (Collectivité européenne d'Alsace, Collectivité de Corse,
  CTM, CTG, Département de Mayotte, Ville de Paris, Métropole de Lyon beside the Rhône);
- a région: its conseil régional or the collectivité unique that replaces it;
- a canton: its conseillers départementaux; a circonscription: its deputy;

plus the deputies of the circonscriptions that cover the territory and the senators of its
départements. Titles are those of the person's gender as the knowledge base records them
(``mandate.role_label``, ``mandate.function_label``); dates carry the flag of a defect found in
the source (a day and month swapped, an implausible date) with the source's own text.

:func:`roster_bytes` and :func:`export_officials` write it as CSV (text cells a spreadsheet
would evaluate neutralised) or XLSX (a sheet of officials, a sheet of bodies).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final, Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from territoria import _csv_safe
from territoria._xlsx import Sheet, write_workbook
from territoria.analysis._profile_reads import SUB_COMMUNAL, reads_for
from territoria.analysis.profile import profile
from territoria.errors import ExportError

__all__ = [
    "COUNCIL_KINDS",
    "DATE_FLAGS",
    "Body",
    "Official",
    "Roster",
    "RosterFormat",
    "export_officials",
    "roster",
    "roster_bytes",
    "roster_table",
]

RosterFormat = Literal["csv", "xlsx"]

#: Organisation kinds whose every member is an official of the territory they govern.
COUNCIL_KINDS: Final = (
    "conseil_municipal",
    "conseil_communautaire",
    "conseil_departemental",
    "conseil_regional",
)
#: Functions listed first, then the other functions by rank, then the councillors by name.
_HEADS: Final = ("MAI", "PRE")

_BODIES_SQL: Final = """
WITH own AS (
    SELECT id FROM organisation
    WHERE level = $level AND code = $code AND list_contains($kinds, kind)
    UNION
    SELECT organisation_id FROM body_territory
    WHERE competence = $level AND level = $level AND code = $code
    UNION
    -- a body exercising this level's competences on part of it: the Métropole de Lyon
    -- (the département's, on its EPCI's territory) beside the Rhône's conseil départemental
    SELECT b.organisation_id FROM body_territory b
    JOIN membership m ON m.level = b.level AND m.code = b.code
    WHERE b.competence = $level AND m.parent_level = $level AND m.parent_code = $code
)
SELECT DISTINCT coalesce(o.same_as, o.id) AS holder
FROM organisation o SEMI JOIN own ON own.id = o.id
"""
_BODY_SQL: Final = """
SELECT o.id, o.name, o.kind, o.status, o.officials_note,
       (SELECT count(*) FROM mandate m WHERE m.organisation_id = o.id
        AND (m.end_date IS NULL OR m.end_date >= current_date)) AS current
FROM organisation o WHERE list_contains($ids, o.id)
"""
_MANDATES_SQL: Final = """
WITH picked AS ({filters})
SELECT m.id, m.person_id, p.first_name, p.last_name,
       coalesce(m.role_label, m.role) AS mandate, coalesce(m.function_label, m.function),
       m.function_code, m.function_rank, coalesce(o.name, m.organisation_id) AS body,
       m.organisation_id, m.level, m.code, t.name AS territory_name,
       m.start_date, m.function_start_date, m.date_flag, m.start_date_source,
       m.function_start_date_source, m.group_name, m.party,
       s.name, s.version, s.dataset, s.reference_date, s.retrieved_at, s.synthetic
FROM picked m
JOIN person p ON p.id = m.person_id
LEFT JOIN organisation o ON o.id = m.organisation_id
LEFT JOIN territory t ON t.level = m.level AND t.code = m.code
JOIN source s ON s.id = m.source_id
WHERE m.end_date IS NULL OR m.end_date >= current_date
"""


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-able data."""
        return self.model_dump(mode="json")


class Official(_Result):
    """One current mandate of one person, as a roster lists it."""

    person_id: str
    first_name: str
    last_name: str
    mandate: str = Field(description="Title of the mandate in the person's gender.")
    function: str | None = Field(
        default=None, description="Function in the body, in the person's gender (maire ...)."
    )
    body: str
    body_id: str
    territory_level: str | None = Field(default=None, description="What the mandate is for.")
    territory_code: str | None = None
    territory_name: str | None = None
    start_date: date | None = None
    function_start_date: date | None = None
    date_flag: str | None = Field(
        default=None, description="'day_month_swapped' (corrected) or 'implausible'."
    )
    start_date_source: str | None = Field(
        default=None, description="The start date as the source writes it, when flagged."
    )
    function_start_date_source: str | None = None
    group: str | None = None
    party: str | None = None
    source: str
    source_dataset: str | None = None
    source_date: str | None = Field(
        default=None, description="Date the source describes, or the day it was retrieved."
    )
    synthetic: bool = False

    @property
    def name(self) -> str:
        """First name and last name."""
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def title(self) -> str:
        """The function if the person holds one, else the mandate."""
        return self.function or self.mandate


class Body(_Result):
    """A body whose members the roster lists, with why it may have none."""

    id: str
    name: str
    kind: str
    status: str | None = None
    officials: int = Field(description="Current mandates in the knowledge base.")
    note: str | None = Field(
        default=None,
        description="What the source lacks for this body: any official, a president ...",
    )


class Roster(_Result):
    """The current officials of a territory's councils and its parliamentarians."""

    level: str
    code: str
    name: str
    bodies: list[Body]
    officials: list[Official]


def roster(con: duckdb.DuckDBPyConnection, code: str, *, level: str | None = None) -> Roster:
    """Return every current official of the territory's councils, then its deputies and senators.

    Parameters
    ----------
    con
        Open knowledge base (read-only is enough).
    code
        Official code of the territory (``35238``, ``243500139``, ``35``, ``53``).
    level
        Its level when the code exists at several (``53``: département or région).

    Raises
    ------
    UnknownTerritory, UnknownLevel, EmptyKnowledgeBase
    """
    found = profile(con, code, level=level)
    parents: dict[str, list[str]] = {}
    for parent in found.parents:
        parents.setdefault(parent.level, []).append(parent.code)
    governed = (found.level, found.code)
    if found.level in SUB_COMMUNAL and parents.get("commune"):
        governed = ("commune", parents["commune"][0])
    filters: list[str] = []
    params: dict[str, Any] = {}
    council = _council_bodies(con, *governed) if found.level != "canton" else []
    if council:
        filters.append("SELECT * FROM mandate WHERE list_contains($bodies, organisation_id)")
        params["bodies"] = council
    circonscriptions, departements = _parliament(con, found.level, found.code, parents)
    if found.level == "canton":
        council = [f"cd-{d}" for d in parents.get("departement", [])]
        filters.append(
            "SELECT * FROM mandate WHERE list_contains($bodies, organisation_id) "
            "AND level = 'canton' AND code = $canton"
        )
        params.update(bodies=council, canton=found.code)
    deputy_departements = departements if found.level in ("departement", "region") else []
    if circonscriptions or deputy_departements:
        # circonscription codes start with their département's: "35-08"
        filters.append(
            "SELECT * FROM mandate WHERE organisation_id = 'an' AND (list_contains($circos, code) "
            "OR list_contains($deputy_deps, split_part(code, '-', 1)))"
        )
        params.update(circos=circonscriptions, deputy_deps=deputy_departements)
    if departements:
        filters.append(
            "SELECT * FROM mandate WHERE organisation_id = 'senat' AND level = 'departement' "
            "AND list_contains($senator_deps, code)"
        )
        params["senator_deps"] = departements
    rows = (
        con.execute(_MANDATES_SQL.format(filters=" UNION ALL ".join(filters)), params).fetchall()
        if filters
        else []
    )
    order = {body: i for i, body in enumerate(council)}
    order.update(an=len(order), senat=len(order) + 1)
    rows.sort(key=lambda r: _rank(r, order))
    return Roster(
        level=found.level,
        code=found.code,
        name=found.name,
        bodies=_bodies(con, council),
        officials=[_official(r) for r in rows],
    )


def _council_bodies(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[str]:
    """The bodies governing a territory: its own council, or the body with a special status
    that exercises this level's competences there (through ``same_as`` to the one holding the
    mandates)."""
    rows = con.execute(
        _BODIES_SQL, {"level": level, "code": code, "kinds": list(COUNCIL_KINDS)}
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def _parliament(
    con: duckdb.DuckDBPyConnection, level: str, code: str, parents: dict[str, list[str]]
) -> tuple[list[str], list[str]]:
    """The circonscriptions whose deputies and the départements whose senators are listed."""
    reads = reads_for(con)
    if level == "departement":
        return [], [code]
    if level == "region":
        return [], sorted(reads.children("region", code, "departement"))
    if level == "circonscription":
        return [code], parents.get("departement", [])
    if level == "epci":
        return sorted(reads.circonscriptions_of_communes("epci", code)), sorted(
            parents.get("departement", [])
        )
    if level == "canton":
        return [], []
    return sorted(parents.get("circonscription", [])), sorted(parents.get("departement", []))


def _bodies(con: duckdb.DuckDBPyConnection, ids: list[str]) -> list[Body]:
    if not ids:
        return []
    rows = {r[0]: r for r in con.execute(_BODY_SQL, {"ids": ids}).fetchall()}
    return [
        Body(id=r[0], name=r[1], kind=r[2], status=r[3], note=r[4], officials=int(r[5]))
        for body in ids
        if (r := rows.get(body)) is not None
    ]


def _rank(row: tuple[Any, ...], order: dict[str, int]) -> tuple[Any, ...]:
    function_code, rank = row[6], row[7]
    head = 0 if function_code in _HEADS else 1 if row[5] else 2
    return (
        order.get(row[9], len(order)),
        head,
        rank if rank is not None and head < 2 else 1 << 30,
        row[11] or "",
        row[3],
        row[2],
        row[0],
    )


def _official(row: tuple[Any, ...]) -> Official:
    source = " ".join(str(v) for v in (row[20], row[21]) if v)
    retrieved = row[24]
    when = row[23] or (
        retrieved.date().isoformat() if isinstance(retrieved, datetime) else retrieved
    )
    return Official(
        person_id=row[1],
        first_name=row[2],
        last_name=row[3],
        mandate=row[4],
        function=row[5],
        body=row[8],
        body_id=row[9],
        territory_level=row[10],
        territory_code=row[11],
        territory_name=row[12],
        start_date=row[13],
        function_start_date=row[14],
        date_flag=row[15],
        start_date_source=row[16],
        function_start_date_source=row[17],
        group=row[18],
        party=row[19],
        source=source,
        source_dataset=row[22],
        source_date=None if when is None else str(when),
        synthetic=bool(row[25]),
    )


# --------------------------------------------------------------------------- officials

#: Columns of a roster export: French header, English header, value.
_ROSTER_COLUMNS: tuple[tuple[str, str, Any], ...] = (
    ("nom", "last name", lambda o: o.last_name),
    ("prénom", "first name", lambda o: o.first_name),
    ("titre", "title", lambda o: o.title),
    ("mandat", "mandate", lambda o: o.mandate),
    ("fonction", "function", lambda o: o.function),
    ("instance", "body", lambda o: o.body),
    ("territoire du mandat", "territory of the mandate", lambda o: _territory(o)),
    ("début du mandat", "mandate since", lambda o: o.start_date),
    ("début de la fonction", "function since", lambda o: o.function_start_date),
    ("date signalée", "flagged date", lambda o: _flag(o.date_flag)),
    ("date dans la source", "date in the source", lambda o: _source_dates(o)),
    ("groupe", "group", lambda o: o.group),
    ("parti", "party", lambda o: o.party),
    (
        "source",
        "source",
        lambda o: o.source + (f" ({o.source_dataset})" if o.source_dataset else ""),
    ),
    ("date de la source", "source date", lambda o: o.source_date),
    ("identifiant", "id", lambda o: o.person_id),
)
#: How a date defect of the source is written in an export.
DATE_FLAGS: dict[str, tuple[str, str]] = {
    "day_month_swapped": (
        "date corrigée : jour et mois inversés dans la source",
        "date corrected: day and month swapped in the source",
    ),
    "implausible": (
        "date invraisemblable dans la source (gardée telle quelle)",
        "implausible date in the source (kept as written)",
    ),
}


def _flag(flag: str | None, english: bool = False) -> str | None:
    if flag is None:
        return None
    texts = DATE_FLAGS.get(flag)
    return flag if texts is None else texts[1 if english else 0]


def _territory(official: Official) -> str | None:
    if official.territory_code is None:
        return None
    if official.territory_name:
        return f"{official.territory_name} ({official.territory_code})"
    return str(official.territory_code)


def _source_dates(official: Official) -> str | None:
    texts = [t for t in (official.start_date_source, official.function_start_date_source) if t]
    return " ; ".join(dict.fromkeys(texts)) or None


def roster_table(roster: Roster, *, lang: str = "fr") -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of a roster export (dates as dates, empty cells as ``None``)."""
    english = lang == "en"
    headers = [en if english else fr for fr, en, _ in _ROSTER_COLUMNS]
    rows = []
    for official in roster.officials:
        row = [value(official) for _, _, value in _ROSTER_COLUMNS]
        if english:
            row[9] = _flag(official.date_flag, english=True)
        rows.append(row)
    return headers, rows


def roster_bytes(roster: Roster, *, fmt: RosterFormat, lang: str = "fr") -> bytes:
    """The roster as a CSV (UTF-8, text cells neutralised) or XLSX file."""
    headers, rows = roster_table(roster, lang=lang)
    if fmt == "csv":
        text = io.StringIO()
        writer = _csv_safe.writer(text, lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
        return text.getvalue().encode("utf-8")
    if fmt != "xlsx":
        msg = f"unknown export format {fmt!r} for officials: use csv or xlsx"
        raise ExportError(msg)
    english = lang == "en"
    body_headers = (
        ["body", "id", "status", "current officials", "note"]
        if english
        else ["instance", "identifiant", "statut", "élus en cours", "remarque"]
    )
    buffer = io.BytesIO()
    write_workbook(
        buffer,
        [
            Sheet(name="officials" if english else "élus", headers=headers, rows=rows),
            Sheet(
                name="bodies" if english else "instances",
                headers=body_headers,
                rows=[[b.name, b.id, b.status, b.officials, b.note] for b in roster.bodies],
            ),
        ],
    )
    return buffer.getvalue()


def export_officials(roster: Roster, *, fmt: RosterFormat, out: Path, lang: str = "fr") -> Path:
    """Write a roster (:func:`territoria.roster.roster`) as CSV or XLSX to ``out``, whole or not
    at all; return ``out``.

    Raises
    ------
    ExportError
        Unknown format, missing folder, or the file cannot be written.
    """
    out = Path(out)
    if not out.parent.is_dir():
        msg = f"folder {str(out.parent)!r} does not exist: create it or choose another -o path"
        raise ExportError(msg)
    data = roster_bytes(roster, fmt=fmt, lang=lang)
    try:
        folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            tmp = folder / out.name
            tmp.write_bytes(data)
            os.replace(tmp, out)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    except OSError as exc:
        msg = f"cannot write {str(out)!r}: {exc}"
        raise ExportError(msg) from exc
    return out
