"""Import the legal populations of every edition of ``@etalab/decoupage-administratif``.

The npm package (Etalab, data.gouv.fr) publishes one edition a year of the French
administrative units, each with INSEE's *populations légales* of one census year. Which year
an edition carries is not in its data files: its ``README.md`` cites the INSEE page the
populations come from, and :data:`INSEE_PAGES` maps those pages to their year. We checked the
mapping against the editions themselves (Rennes, 35238: 216,268 in 0.5–0.9.0-0, INSEE's 2016
figure; 220,488 in 0.9.0-5–2.2.1, 2019; 222,485 in 2.3.1–3.1.1, 2020; 225,081 in 4.0.0, 2021;
227,830 in 4.1.0–5.2.0, 2022; 230,890 in 5.3.0 and 6.0.0, 2023). Mayotte is the exception:
from 0.9.0-5 on every edition carries its 2017 census figures (the README says so; 0.x
editions before it have no population for Mayotte), stored under 2017, not the edition's year.

:data:`DEFAULT_VERSIONS` holds one edition per population year (2016, 2019, 2020, 2021, 2022
and 2023), each on the geography INSEE published that year's figures on where one exists:
an edition of a later geography can give a commune merged in between its chef-lieu's figure
only (3.1.1 gives Culoz-Béon, 01138, Culoz's 2020 population without Béon's: France's
communes add up to 3,278 inhabitants fewer than in 2.3.1, and likewise 2.0.0 against 1.1.1,
0.9.0-0 against 0.8.0, 5.0.1 against 4.1.0).

:func:`import_populations` reads the editions given and writes a population series:

- one ``indicator_value`` per commune and arrondissement municipal of the knowledge base
  (indicator ``population``, period = the year, unit ``habitants``); a commune formed since
  an edition by merging several of its communes (the editions' ``anciensCodes``) gets their
  sum, so that the series follows the knowledge base's geography;
- EPCI, département and région values: the sum of the edition's own communes, grouped by the
  edition's membership (each commune's ``departement`` and ``region``, the ``membres`` of
  ``epci.json``), kept only when every member commune has a population in that edition (an
  edition listing a new commune without a figure would otherwise give a short total);
- one ``source`` row per edition (version, population year as ``reference_date``, the
  tarball's registry address, the method in ``note``), and the ``indicator_definition`` row
  ``population`` (*Population municipale*).

Values of units the knowledge base does not hold (merged or created communes, the overseas
collectivités) are counted in the report, per edition and level, never silently dropped;
so are the knowledge base's communes an edition lacks and the communes whose name differs.
When two editions give the same unit and year, the later edition's value is kept. Values of
the same unit and year that another source imported first are kept, and ours skipped.

Re-running replaces the previous ``decoupage-administratif`` rows in one transaction
(:mod:`territoria.sources._framework`); a file that cannot be read or whose layout changed
stops the import with a message naming the file and the key, and nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from territoria.errors import EmptyKnowledgeBase, SourceError
from territoria.kb.audit import record
from territoria.sources._framework import Progress, SourceRecord, Staging, StepTimer
from territoria.sources._npm import (
    PACKAGE,
    REGISTRY,
    Tarball,
    download_tarball,
    read_tarball,
    tarball_url,
    version_key,
)

__all__ = [
    "DEFAULT_VERSIONS",
    "INSEE_PAGES",
    "EditionReport",
    "PopulationsReport",
    "find_tarballs",
    "import_populations",
]

SOURCE_NAME = "decoupage-administratif"
INDICATOR, LABEL, UNIT = "population", "Population municipale", "habitants"
#: One edition per population year, on INSEE's geography of that year where one exists
#: (no edition has the 2021 figures on the 2023 geography: 4.0.0 is on 2024's).
DEFAULT_VERSIONS = ("6.0.0", "4.1.0", "4.0.0", "2.3.1", "1.1.1", "0.8.0")
#: INSEE pages the editions' README cites for their populations, and the census year of each.
INSEE_PAGES = {
    "3677855": 2016,
    "6011070": 2019,
    "6683035": 2020,
    "7739582": 2021,
    "8290591": 2022,
    "8680726": 2023,
}
MAYOTTE = "976"
#: Communes whose figures the report shows for each edition (Mamoudzou for Mayotte).
SAMPLES = ("35238", "75056", "69123", "13055", "97611")
#: The files read, under ``package/``.
MEMBERS = ("data/communes.json", "data/epci.json")
_TYPES = {"commune-actuelle": "commune", "arrondissement-municipal": "arrondissement_municipal"}
#: Keys every item of ``communes.json`` has.
_KEYS = frozenset({"code", "type", "nom"})
_PAGE = re.compile(r"insee\.fr/fr/statistiques/(\d+)")
_MAYOTTE_YEAR = re.compile(r"population Mayotte INSEE (\d{4})", re.IGNORECASE)
_DATA_LICENCE = re.compile(r"Donn[ée]es\s*:\s*\[?(Licence Ouverte[^\]\n(]*)", re.IGNORECASE)
_STAGING = "pop_"
_EXAMPLES_SHOWN = 5


@dataclass
class EditionReport:
    """What one edition gave, and how it compares with the knowledge base."""

    version: str
    year: int
    mayotte_year: int | None
    file: str
    source_id: int = 0
    communes: int = 0
    without_population: int = 0
    without_population_examples: list[str] = field(default_factory=list)
    values: dict[str, int] = field(default_factory=dict)
    not_in_kb: dict[str, int] = field(default_factory=dict)
    not_in_kb_examples: list[str] = field(default_factory=list)
    kb_communes_missing: int = 0
    kb_communes_missing_examples: list[str] = field(default_factory=list)
    incomplete: dict[str, int] = field(default_factory=dict)
    superseded: int = 0
    kept_other: int = 0
    rebased: int = 0
    name_mismatches: int = 0
    name_mismatch_examples: list[str] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PopulationsReport:
    """What an import of populations wrote, edition by edition, and how long it took."""

    editions: list[EditionReport] = field(default_factory=list)
    rows: int = 0
    levels: dict[str, int] = field(default_factory=dict)
    years: list[int] = field(default_factory=list)
    replaced_previous: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data."""
        return asdict(self)


@dataclass(frozen=True)
class _Edition:
    path: Path
    version: str
    year: int
    mayotte_year: int | None
    licence: str
    retrieved_at: datetime


# --------------------------------------------------------------------------- finding editions


def find_tarballs(paths: Iterable[Path]) -> list[Path]:
    """The ``.tgz`` files given: files as they are, folders for the ``*.tgz`` they hold."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            inside = sorted(path.glob("*.tgz"))
            if not inside:
                msg = f"folder {str(path)!r} holds no .tgz: put editions of {PACKAGE} in it"
                raise SourceError(msg)
            found += inside
        else:
            found.append(path)
    return found


def _edition(tarball: Tarball) -> _Edition:
    """Work out the population year, Mayotte's year and the licence from the README."""
    readme = tarball.readme
    lines = [line for line in readme.splitlines() if "population l" in line.lower()]
    pages = [page for line in lines for page in _PAGE.findall(line)]
    if not pages:
        msg = (
            f"{tarball.describe('README.md')} cites no INSEE page for its populations "
            "('Population légale' link): the year of its figures cannot be told"
        )
        raise SourceError(msg)
    if pages[0] not in INSEE_PAGES:
        msg = (
            f"{tarball.describe('README.md')} cites INSEE page {pages[0]!r} for its "
            "populations, whose census year Territoria does not know: add it to "
            "territoria.sources.populations.INSEE_PAGES after checking its figures"
        )
        raise SourceError(msg)
    mayotte = _MAYOTTE_YEAR.search(readme)
    licence = _DATA_LICENCE.search(readme)
    code = tarball.package.get("license")
    parts = [f"{licence[1].strip()} (données)"] if licence else []
    if code:
        parts.append(f"{code} ({'code, ' if licence else ''}package.json)")
    return _Edition(
        path=tarball.path,
        version=tarball.version,
        year=INSEE_PAGES[pages[0]],
        mayotte_year=int(mayotte[1]) if mayotte else None,
        licence=" ; ".join(parts) or "non précisée",
        retrieved_at=datetime.fromtimestamp(tarball.path.stat().st_mtime, tz=UTC),
    )


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _communes(
    tarball: Tarball, edition: _Edition
) -> tuple[dict[str, list[Any]], dict[str, list[str]]]:
    """The columns staged from ``communes.json``, and its communes' former codes
    (``anciensCodes``: the communes merged into them); a changed layout is an error."""
    rows = tarball.data["data/communes.json"]
    where = tarball.describe("data/communes.json")
    if not isinstance(rows, list) or not rows:
        msg = f"{where} is not a list of communes: the layout changed"
        raise SourceError(msg)
    # checked and built column by column: comprehensions, ~3x faster than one loop
    bad = next(
        (i for i, r in enumerate(rows) if not isinstance(r, dict) or not r.keys() >= _KEYS),
        None,
    )
    if bad is not None:
        row = rows[bad]
        if not isinstance(row, dict):
            msg = f"{where}: item {bad} is not an object: the layout changed"
        else:
            key = next(k for k in ("code", "type", "nom") if k not in row)
            msg = f"{where}: item {bad} has no key {key!r}: the layout changed"
        raise SourceError(msg)
    kept = [r for r in rows if isinstance(r["type"], str) and r["type"] in _TYPES]
    populations = [r.get("population") for r in kept]
    wrong = next(
        (i for i, p in enumerate(populations) if p is not None and type(p) is not int), None
    )
    if wrong is not None:
        msg = (
            f"{where}: commune {kept[wrong]['code']!r} has population {populations[wrong]!r}, "
            "not a whole number: the layout changed"
        )
        raise SourceError(msg)
    if all(p is None for p in populations):
        msg = (
            f"{where} has no commune with the key 'population': the layout changed "
            "(the figures moved or were renamed)"
        )
        raise SourceError(msg)
    departements = [_text(r.get("departement")) for r in kept]
    mayotte = edition.mayotte_year or edition.year
    columns: dict[str, list[Any]] = {
        "code": [str(r["code"]) for r in kept],
        "kind": [_TYPES[r["type"]] for r in kept],
        "nom": [str(r["nom"]) for r in kept],
        "departement": departements,
        "region": [_text(r.get("region")) for r in kept],
        "population": populations,
        "year": [mayotte if d == MAYOTTE else edition.year for d in departements],
    }
    former: dict[str, list[str]] = {"ancien": [], "code": []}
    for row in kept:
        anciens = row.get("anciensCodes")
        if anciens and row["type"] == "commune-actuelle":
            if not isinstance(anciens, list):
                msg = f"{where}: 'anciensCodes' of {row['code']!r} is not a list"
                raise SourceError(msg)
            former["ancien"] += [str(a) for a in anciens]
            former["code"] += [str(row["code"])] * len(anciens)
    return columns, former


def _members(tarball: Tarball) -> dict[str, list[str]]:
    """EPCI membership from ``epci.json``; a changed layout is an error."""
    rows = tarball.data["data/epci.json"]
    where = tarball.describe("data/epci.json")
    if not isinstance(rows, list) or not rows:
        msg = f"{where} is not a list of EPCI: the layout changed"
        raise SourceError(msg)
    epci: list[str] = []
    codes: list[str] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "code" not in row or "membres" not in row:
            missing = "membres" if isinstance(row, dict) and "code" in row else "code"
            msg = f"{where}: item {i} has no key {missing!r}: the layout changed"
            raise SourceError(msg)
        members = row["membres"]
        if not isinstance(members, list):
            msg = f"{where}: 'membres' of EPCI {row['code']!r} is not a list: the layout changed"
            raise SourceError(msg)
        for member in members:
            if not isinstance(member, dict) or "code" not in member:
                msg = f"{where}: a member of EPCI {row['code']!r} has no key 'code'"
                raise SourceError(msg)
            epci.append(str(row["code"]))
            codes.append(str(member["code"]))
    return {"epci": epci, "code": codes}


# --------------------------------------------------------------------------- the import


def import_populations(
    con: duckdb.DuckDBPyConnection,
    *,
    origins: Sequence[Path] = (),
    versions: Sequence[str] = (),
    cache_dir: Path | None = None,
    registry: str = REGISTRY,
    progress: Progress | None = None,
) -> PopulationsReport:
    """Import the population series of editions of ``@etalab/decoupage-administratif``.

    Parameters
    ----------
    con
        Open, migrated knowledge base holding the territories (``territoria import france``).
    origins
        Local editions: ``.tgz`` files as ``npm pack`` writes them, or folders of them.
    versions
        Editions to download from the npm registry into ``cache_dir`` (kept there for the
        next run). Without ``origins`` nor ``versions``: :data:`DEFAULT_VERSIONS`.
    cache_dir
        Folder of downloaded editions (default: the temporary folder).
    registry
        The npm registry to download from.
    progress
        Called with the name of each step as it starts.

    Returns
    -------
    PopulationsReport
        Per edition: its population year, the values written by level, the units the
        knowledge base does not hold, the incomplete sums skipped, the communes whose name
        differs, and the sample communes' figures; the time of each step.

    Raises
    ------
    SourceError
        An edition cannot be downloaded or read, or its layout changed (the message names
        the file and the key); nothing was written.
    EmptyKnowledgeBase
        No territory has been imported yet.
    """
    report = PopulationsReport()
    step = StepTimer(report, progress)
    row = con.execute("SELECT count(*) FROM territory").fetchone()
    if not row or not row[0]:
        msg = "the knowledge base holds no territories: run 'territoria import france' first"
        raise EmptyKnowledgeBase(msg)
    paths = find_tarballs(origins)
    wanted = list(dict.fromkeys(versions)) or ([] if paths else list(DEFAULT_VERSIONS))
    for version in wanted:
        step(f"download {version}")
        paths.append(download_tarball(version, cache_dir or _tmp(), registry=registry))
    editions: dict[str, _Edition] = {}
    with Staging(con, _STAGING) as staging:
        for path in paths:
            step(f"read {path.name}")
            tarball = read_tarball(path, MEMBERS)
            edition = _edition(tarball)
            if edition.version in editions:
                other = editions[edition.version].path
                if other.resolve() == path.resolve():
                    continue
                msg = (
                    f"edition {edition.version} is given twice ({other.name!r} and "
                    f"{path.name!r}): give each edition once"
                )
                raise SourceError(msg)
            editions[edition.version] = edition
            # staged at once: the parsed JSON of one edition only is held in memory
            _stage(con, tarball, edition, first=len(editions) == 1)
            del tarball
        ordered = sorted(editions.values(), key=lambda e: version_key(e.version))
        step("compare")
        _rank(con, ordered)
        _compare(con)
        report.editions = _edition_reports(con, ordered)
        step("write")
        _write(con, staging, ordered, report)
        step("")
    return report


def _tmp() -> Path:
    import tempfile

    return Path(tempfile.gettempdir())


def _stage(
    con: duckdb.DuckDBPyConnection, tarball: Tarball, edition: _Edition, *, first: bool
) -> None:
    """Append an edition's communes (``pop_c``), the former codes of its communes
    (``pop_a``) and its EPCI members (``pop_m``) to staging."""
    schema = {"population": pa.int64(), "year": pa.int32()}
    communes, former = _communes(tarball, edition)
    for name, columns in (("pop_c", communes), ("pop_a", former), ("pop_m", _members(tarball))):
        size = len(next(iter(columns.values())))
        arrays = {"version": pa.array([edition.version] * size, type=pa.string())}
        arrays |= {k: pa.array(v, type=schema.get(k, pa.string())) for k, v in columns.items()}
        con.register(f"{name}_arrow", pa.table(arrays))
        try:
            if first:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS FROM {name}_arrow")
            else:
                con.execute(f"INSERT INTO {name} FROM {name}_arrow")
        finally:
            con.unregister(f"{name}_arrow")


def _rank(con: duckdb.DuckDBPyConnection, editions: Sequence[_Edition]) -> None:
    """Rank the editions from oldest (0) to latest: the latest one's value wins."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pop_rank AS SELECT unnest(?::VARCHAR[]) AS version, "
        "unnest(?::INTEGER[]) AS rnk",
        [[e.version for e in editions], list(range(len(editions)))],
    )


def _compare(con: duckdb.DuckDBPyConnection) -> None:
    """Every candidate value, whether the knowledge base holds its unit, and which is kept.

    A commune of the knowledge base formed since an edition by merging several of its
    communes (found by the ``anciensCodes`` of the editions) gets the sum of those communes:
    the series follows the knowledge base's geography (``parts`` counts them).
    ``complete`` is false for a commune without population and for a sum one of whose
    member communes has none (or whose members carry different years).
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE pop_cand AS
        WITH kb AS (SELECT code FROM territory WHERE level = 'commune'),
        former AS (
            SELECT a.ancien, arg_max(a.code, r.rnk) AS code
            FROM pop_a a JOIN pop_rank r USING (version)
            WHERE a.code IN (FROM kb) AND a.ancien NOT IN (FROM kb)
            GROUP BY a.ancien
        ),
        communes AS (
            SELECT c.version, coalesce(f.code, c.code) AS code, c.code AS own, c.nom, c.year,
                   c.population
            FROM pop_c c LEFT JOIN former f ON f.ancien = c.code
            WHERE c.kind = 'commune'
        ),
        candidates AS (
            SELECT version, 'commune' AS level, code, max(nom) FILTER (WHERE own = code) AS nom,
                   min(year) AS year, sum(population) AS value,
                   count(population) = count(*) AND count(DISTINCT year) = 1 AS complete,
                   count(*) AS parts
            FROM communes GROUP BY version, code
            UNION ALL
            SELECT version, kind, code, nom, year, population, population IS NOT NULL, 1
            FROM pop_c WHERE kind = 'arrondissement_municipal'
            UNION ALL
            SELECT version, 'departement', departement, NULL, min(year), sum(population),
                   count(population) = count(*) AND count(DISTINCT year) = 1, NULL
            FROM pop_c WHERE kind = 'commune' AND departement IS NOT NULL GROUP BY ALL
            UNION ALL
            SELECT version, 'region', region, NULL, min(year), sum(population),
                   count(population) = count(*) AND count(DISTINCT year) = 1, NULL
            FROM pop_c WHERE kind = 'commune' AND region IS NOT NULL GROUP BY ALL
            UNION ALL
            SELECT m.version, 'epci', m.epci, NULL, min(c.year), sum(c.population),
                   count(c.population) = count(*) AND count(DISTINCT c.year) = 1, NULL
            FROM pop_m m LEFT JOIN pop_c c
              ON c.version = m.version AND c.code = m.code AND c.kind = 'commune'
            GROUP BY ALL
        )
        SELECT c.*, r.rnk, t.code IS NOT NULL AS in_kb, t.name AS kb_name,
               o.code IS NOT NULL AS other
        FROM candidates c JOIN pop_rank r USING (version)
        LEFT JOIN territory t ON t.level = c.level AND t.code = c.code
        LEFT JOIN (
            SELECT DISTINCT level, code, period FROM indicator_value
            WHERE indicator = '{INDICATOR}' AND source_id NOT IN (
                SELECT id FROM source WHERE name = '{SOURCE_NAME}')
        ) o ON o.level = c.level AND o.code = c.code AND o.period = c.year::VARCHAR
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE pop_keep AS
        SELECT level, code, year::VARCHAR AS period, value::DOUBLE AS value, version
        FROM pop_cand WHERE in_kb AND complete AND NOT other
        QUALIFY row_number() OVER (PARTITION BY level, code, year ORDER BY rnk DESC) = 1
        """
    )


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object]) -> int:
    row = con.execute(sql, list(params)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


#: What the report counts for each edition, as filters on ``pop_cand``.
_COUNTS = {
    "without_population": "level IN ('commune', 'arrondissement_municipal') AND NOT complete",
    "kept_other": "in_kb AND complete AND other",
    "candidates": "in_kb AND complete AND NOT other",
    "name_mismatches": "in_kb AND nom IS NOT NULL AND nom <> kb_name",
    "rebased": "in_kb AND complete AND parts > 1",
}
#: Which examples the report lists for each edition: (filter on ``pop_cand``, text).
_EXAMPLES = {
    "without_population": (
        _COUNTS["without_population"],
        "code || ' ' || coalesce(nom, kb_name, '')",
    ),
    "not_in_kb": ("NOT in_kb AND level = 'commune'", "code || ' ' || coalesce(nom, '')"),
    "name_mismatch": (
        _COUNTS["name_mismatches"],
        "code || ' ' || nom || ' (knowledge base: ' || kb_name || ')'",
    ),
}
_LEVELS = {
    "values": "SELECT version, level, count(*) FROM pop_keep GROUP BY ALL",
    "not_in_kb": "SELECT version, level, count(*) FROM pop_cand WHERE NOT in_kb GROUP BY ALL",
    "incomplete": (
        "SELECT version, level, count(*) FROM pop_cand WHERE in_kb AND NOT complete "
        "AND level IN ('epci', 'departement', 'region') GROUP BY ALL"
    ),
}


def _edition_reports(
    con: duckdb.DuckDBPyConnection, editions: Sequence[_Edition]
) -> list[EditionReport]:
    """How each edition compares with the knowledge base: a few queries for all of them."""
    out = {
        e.version: EditionReport(
            version=e.version, year=e.year, mayotte_year=e.mayotte_year, file=str(e.path)
        )
        for e in editions
    }
    filters = ", ".join(f"count(*) FILTER (WHERE {f})" for f in _COUNTS.values())
    for version, *counts in con.execute(
        f"SELECT version, {filters} FROM pop_cand GROUP BY version"
    ).fetchall():
        found = dict(zip(_COUNTS, (int(n) for n in counts), strict=True))
        item = out[version]
        item.without_population = found["without_population"]
        item.kept_other, item.name_mismatches = found["kept_other"], found["name_mismatches"]
        item.rebased = found["rebased"]
        item.superseded = found["candidates"]  # less the values kept, below
    for version, n in con.execute(
        "SELECT version, count(*) FROM pop_c WHERE kind = 'commune' GROUP BY version"
    ).fetchall():
        out[version].communes = int(n)
    for attribute, sql in _LEVELS.items():
        for version, level, n in con.execute(sql + " ORDER BY level").fetchall():
            getattr(out[version], attribute)[str(level)] = int(n)
    for item in out.values():
        item.superseded -= sum(item.values.values())
    for attribute, (where, text) in _EXAMPLES.items():
        rows = con.execute(
            f"SELECT version, {text} FROM pop_cand WHERE {where} "
            "QUALIFY row_number() OVER (PARTITION BY version ORDER BY code) <= ? "
            "ORDER BY version, code",
            [_EXAMPLES_SHOWN],
        ).fetchall()
        for version, example in rows:
            getattr(out[version], f"{attribute}_examples").append(str(example))
    rows = con.execute(
        """
        SELECT r.version, t.code || ' ' || t.name, count(*) OVER (PARTITION BY r.version)
        FROM pop_rank r, territory t
        WHERE t.level = 'commune' AND NOT EXISTS (
            SELECT 1 FROM pop_cand c WHERE c.version = r.version AND c.level = 'commune'
              AND c.code = t.code)
        QUALIFY row_number() OVER (PARTITION BY r.version ORDER BY t.code) <= ?
        """,
        [_EXAMPLES_SHOWN],
    ).fetchall()
    for version, example, n in rows:
        out[version].kb_communes_missing = int(n)
        out[version].kb_communes_missing_examples.append(str(example))
    for version, code, nom, kb_name, value, year in con.execute(
        "SELECT version, code, nom, kb_name, value, year FROM pop_cand WHERE level = 'commune' "
        "AND list_contains(?, code) ORDER BY version, code",
        [list(SAMPLES)],
    ).fetchall():
        out[version].samples.append(
            {
                "code": code,
                "name": nom,
                "kb_name": kb_name,
                "population": None if value is None else int(value),
                "year": int(year),
            }
        )
    return [out[e.version] for e in editions]


def _note(edition: _Edition) -> str:
    mayotte = (
        f" ; Mayotte : recensement {edition.mayotte_year}"
        if edition.mayotte_year
        else " ; Mayotte : aucune population dans cette édition"
    )
    return (
        f"Populations légales {edition.year} de l'INSEE (population municipale) publiées dans "
        f"{PACKAGE} {edition.version}{mayotte}. Méthode : communes et arrondissements "
        "municipaux tels que publiés, une commune formée depuis par fusion recevant la somme "
        "des communes de l'édition qui la composent (anciensCodes des éditions) ; EPCI, "
        "départements et régions = somme des communes de l'édition selon l'appartenance de "
        "l'édition (departement et region de chaque commune, "
        "membres d'epci.json), retenue seulement si toutes les communes membres ont une "
        f"population. Lu depuis {edition.path.name}."
    )


def _write(
    con: duckdb.DuckDBPyConnection,
    staging: Staging,
    editions: Sequence[_Edition],
    report: PopulationsReport,
) -> None:
    """Replace the previous import of the package in one transaction."""
    ids: dict[str, int] = {}
    for edition in editions:
        ids[edition.version] = staging.source(
            SourceRecord(
                name=SOURCE_NAME,
                dataset="communes.json, epci.json",
                publisher="Etalab",
                licence=edition.licence,
                retrieved_at=edition.retrieved_at,
                version=edition.version,
                reference_date=str(edition.year),
                address=tarball_url(edition.version),
                note=_note(edition),
            )
        )
    for item in report.editions:
        item.source_id = ids[item.version]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pop_ids AS SELECT unnest(?::VARCHAR[]) AS version, "
        "unnest(?::INTEGER[]) AS source_id",
        [list(ids), list(ids.values())],
    )
    latest = ids[editions[-1].version]
    with staging.swap(names=[SOURCE_NAME], tables=["indicator_value"]) as swap:
        report.replaced_previous = swap.deleted["indicator_value"]
        con.execute(
            f"""
            INSERT INTO indicator_value
            SELECT k.level, k.code, '{INDICATOR}', k.period, k.value, '{UNIT}', i.source_id
            FROM pop_keep k JOIN pop_ids i USING (version)
            ORDER BY k.level, k.code, k.period
            """
        )
        con.execute(
            "INSERT INTO indicator_definition VALUES (?, ?, ?, ?) ON CONFLICT (indicator) "
            "DO UPDATE SET label = excluded.label, unit = excluded.unit, "
            "source_id = excluded.source_id",
            [INDICATOR, LABEL, UNIT, latest],
        )
        report.rows = _one(con, "SELECT count(*) FROM pop_keep", [])
        report.levels = {
            str(level): int(n)
            for level, n in con.execute(
                "SELECT level, count(*) FROM pop_keep GROUP BY level ORDER BY count(*) DESC"
            ).fetchall()
        }
        report.years = [
            int(r[0])
            for r in con.execute("SELECT DISTINCT period FROM pop_keep ORDER BY 1").fetchall()
        ]
        record(
            con,
            "import.populations",
            target=SOURCE_NAME,
            detail={
                "versions": [e.version for e in editions],
                "years": report.years,
                "rows": report.rows,
                "replaced_previous": report.replaced_previous,
            },
        )
