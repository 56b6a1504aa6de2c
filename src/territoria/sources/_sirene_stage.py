"""Staging of the SIRENE files in temporary tables: parsing, derived columns, checks.

Every function here reads files or staging tables and writes staging tables (``s_*``); nothing
touches the knowledge base's own tables, which :mod:`territoria.sources.sirene` replaces in one
transaction once everything is staged and checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from territoria.errors import SourceError, ValidationError
from territoria.kb.naf import register_naf
from territoria.kb.naf2025 import NAF25_CODE_PATTERN, naf25_imported, naf25_section_sql
from territoria.sources._sirene_files import InputFile, read_error

#: Head-count bands of SIRENE: code -> (lowest, highest or None when open, estimate used).
HEADCOUNT_BANDS: dict[str, tuple[int, int | None, float]] = {
    "NN": (0, 0, 0.0),
    "00": (0, 0, 0.0),
    "01": (1, 2, 1.5),
    "02": (3, 5, 4.0),
    "03": (6, 9, 7.5),
    "11": (10, 19, 14.5),
    "12": (20, 49, 34.5),
    "21": (50, 99, 74.5),
    "22": (100, 199, 149.5),
    "31": (200, 249, 224.5),
    "32": (250, 499, 374.5),
    "41": (500, 999, 749.5),
    "42": (1000, 1999, 1499.5),
    "51": (2000, 4999, 3499.5),
    "52": (5000, 9999, 7499.5),
    "53": (10000, None, 10000.0),
}

#: Optional columns of the NAF 2025 codes (INSEE, since late 2025); older files lack them.
NAF25_ESTABLISHMENT = "activitePrincipaleNAF25Etablissement"
NAF25_LEGAL_UNIT = "activitePrincipaleNAF25UniteLegale"

#: Columns of StockEtablissement the import needs.
ESTABLISHMENT_COLUMNS = (
    "siret",
    "siren",
    "codeCommuneEtablissement",
    "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
    "trancheEffectifsEtablissement",
    "etatAdministratifEtablissement",
    "dateCreationEtablissement",
)
LEGAL_UNIT_COLUMNS = (
    "siren",
    "denominationUniteLegale",
    "categorieJuridiqueUniteLegale",
    "etatAdministratifUniteLegale",
)
HISTORY_COLUMNS = (
    "siret",
    "dateDebut",
    "dateFin",
    "etatAdministratifEtablissement",
    "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
)
GEOLOCATION_COLUMNS = ("siret",)

#: Projections of the geolocation file (INSEE writes one per row in ``epsg``).
EPSG_CODES = (2154, 4326, 4171, 5490, 2972, 2975, 4471, 4467, 32620, 32622, 32738, 32740, 3857)

#: Projection of the Lambert coordinates of StockEtablissement, which has no ``epsg`` column:
#: Lambert-93 in metropolitan France, the legal UTM projection overseas.
_STOCK_EPSG = {"971": 5490, "972": 5490, "977": 5490, "978": 5490, "973": 2972, "974": 2975}
_STOCK_EPSG.update({"975": 4467, "976": 4471})

#: Problems that stop a ``strict`` import (the others are reported only).
BLOCKING = (
    "bad_siret",
    "duplicate_siret",
    "unknown_commune",
    "unknown_naf",
    "unknown_band",
    "bad_state",
    "bad_date",
    "outside_france",
    "bad_coordinates",
)

_PROBLEM_TEXT = {
    "bad_siret": "siret is not 14 digits starting with the siren (rows dropped)",
    "duplicate_siret": "siret appears more than once (one row kept)",
    "unknown_commune": "commune code unknown to the knowledge base (kept without commune)",
    "no_commune": "no commune code: establishment abroad or address unknown (kept)",
    "unknown_naf": "NAF rev. 2 code not in the nomenclature (kept without sector)",
    "unknown_naf25": "NAF 2025 code (activitePrincipaleNAF25Etablissement) not in the NAF 2025 "
    "nomenclature (kept without NAF 2025 sector)",
    "naf25_unchecked": "NAF 2025 nomenclature not imported: codes not checked (kept as written "
    "when of the form NN.NNL; run 'territoria import naf2025')",
    "older_nomenclature": "activity coded in an older nomenclature (NAFRev1, NAF1993, NAPv2): "
    "kept without sector",
    "no_activity": "no activity code (kept without sector)",
    "unknown_band": "unknown head-count band (employment counted as 0)",
    "bad_state": "etatAdministratifEtablissement is neither A nor F (taken as closed)",
    "bad_date": "unreadable date (left empty)",
    "outside_france": "coordinates outside the establishment's département or France "
    "(coordinates dropped)",
    "bad_coordinates": "coordinates unreadable or in an unknown projection (dropped)",
    "legal_unit_bad_siren": "legal unit siren is not 9 digits (rows dropped)",
    "history_unknown_naf": "history period with an unknown NAF rev. 2 code (kept without sector)",
}


@dataclass
class Problem:
    """A kind of bad input found by the import: how many rows, a few examples."""

    count: int
    examples: list[str]
    blocking: bool
    text: str

    def to_dict(self) -> dict[str, Any]:
        """Return the problem as JSON-able data."""
        return {
            "count": self.count,
            "examples": self.examples,
            "blocking": self.blocking,
            "text": self.text,
        }


@dataclass
class SireneReport:
    """What a SIRENE import loaded, what it found wrong, and how long each step took."""

    files: dict[str, str] = field(default_factory=dict)
    scope: dict[str, str | None] = field(default_factory=dict)
    establishments: int = 0
    active: int = 0
    employment: float = 0.0
    geolocated: int = 0
    legal_units: int = 0
    history_periods: int = 0
    reference_date: str | None = None
    synthetic: bool = False
    problems: dict[str, Problem] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data."""
        return {
            "files": self.files,
            "scope": self.scope,
            "establishments": self.establishments,
            "active": self.active,
            "employment": self.employment,
            "geolocated": self.geolocated,
            "legal_units": self.legal_units,
            "history_periods": self.history_periods,
            "reference_date": self.reference_date,
            "synthetic": self.synthetic,
            "problems": {k: v.to_dict() for k, v in self.problems.items()},
            "timings": self.timings,
        }


@dataclass(frozen=True)
class Scope:
    departements: tuple[str, ...] | None  # None: all of France


def prepare_lookups(con: duckdb.DuckDBPyConnection, scope: Scope) -> None:
    register_naf(con, "s_naf")
    if naf25_imported(con):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE s_naf25 AS "
            "SELECT code, section, division, naf_group FROM naf_2025"
        )
    else:  # codes checked by their form only: every well-formed code of the file is "known"
        con.execute(
            "CREATE OR REPLACE TEMP TABLE s_naf25 "
            "(code VARCHAR, section VARCHAR, division VARCHAR, naf_group VARCHAR)"
        )
    # Codes SIRENE may use: communes, and municipal arrondissements, communes déléguées and
    # associées (mapped to their commune). A code shared by a commune and one of its delegated
    # communes maps to the commune.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE s_commune_map AS
        SELECT raw, arg_min(commune, priority) AS commune
        FROM (
            SELECT code AS raw, code AS commune, 0 AS priority FROM territory
            WHERE level = 'commune'
            UNION ALL
            SELECT code, parent_code, 1 FROM membership
            WHERE level IN ('arrondissement_municipal', 'commune_deleguee', 'commune_associee')
              AND parent_level = 'commune'
        ) GROUP BY raw
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE s_commune_dep AS
        SELECT m.raw, m.commune, d.parent_code AS dep
        FROM s_commune_map m
        LEFT JOIN membership d ON d.level = 'commune' AND d.code = m.commune
             AND d.parent_level = 'departement'
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE s_dep_box AS
        SELECT code AS dep, xmin - 0.1 AS xmin, ymin - 0.1 AS ymin, xmax + 0.1 AS xmax,
               ymax + 0.1 AS ymax
        FROM territory WHERE level = 'departement' AND xmin IS NOT NULL
        """
    )
    con.execute("CREATE OR REPLACE TEMP TABLE s_scope (dep VARCHAR)")
    if scope.departements is not None:
        con.executemany("INSERT INTO s_scope VALUES (?)", [[d] for d in scope.departements])


def _naf25_lookup(con: duckdb.DuckDBPyConnection) -> str:
    """The NAF 2025 codes an establishment may carry: the imported nomenclature, or else the
    well-formed codes of the file itself (division in a NACE Rev. 2.1 section)."""
    if naf25_imported(con):
        return "s_naf25"
    section = naf25_section_sql("left(naf25_norm, 2)")
    return f"""(
        SELECT * FROM (
            SELECT DISTINCT naf25_norm AS code, {section} AS section,
                   left(naf25_norm, 2) AS division, left(naf25_norm, 4) AS naf_group
            FROM scoped WHERE regexp_full_match(naf25_norm, '{NAF25_CODE_PATTERN}')
        ) WHERE section IS NOT NULL
    )"""


def _band_case(column: str) -> str:
    whens = " ".join(f"WHEN '{code}' THEN {mid}" for code, (_, _, mid) in HEADCOUNT_BANDS.items())
    return f"CASE {column} {whens} ELSE 0.0 END"


def _bool(column: str) -> str:
    return f"(lower({column}) IN ('true', 'o', 'oui', '1', 't'))"


# --------------------------------------------------------------------------- staging


def stage_establishments(con: duckdb.DuckDBPyConnection, file: InputFile, scope: Scope) -> None:
    c = file.column
    bands = ", ".join(f"'{b}'" for b in HEADCOUNT_BANDS)
    where = ""
    if scope.departements is not None:
        where = "WHERE dep_prefix IN (SELECT dep FROM s_scope)"
    sql = f"""
        CREATE OR REPLACE TEMP TABLE s_etab AS
        WITH raw AS (
            SELECT {c("siret")}, {c("siren")}, {c("codeCommuneEtablissement", alias="commune_raw")},
                   {c("activitePrincipaleEtablissement", alias="naf_raw")},
                   {c("nomenclatureActivitePrincipaleEtablissement", alias="nomenclature")},
                   {c(NAF25_ESTABLISHMENT, alias="naf25_raw")},
                   {c("trancheEffectifsEtablissement", alias="band")},
                   {c("anneeEffectifsEtablissement", alias="band_year")},
                   {c("etatAdministratifEtablissement", alias="state")},
                   {c("dateCreationEtablissement", alias="created_raw")},
                   {c("dateDebut", alias="period_start")},
                   {c("etablissementSiege", alias="siege")},
                   {c("caractereEmployeurEtablissement", alias="employer_raw")},
                   {c("statutDiffusionEtablissement", alias="diffusion")},
                   {c("enseigne1Etablissement", alias="enseigne")},
                   {c("denominationUsuelleEtablissement", alias="usual_name")},
                   {c("coordonneeLambertAbscisseEtablissement", alias="x_stock")},
                   {c("coordonneeLambertOrdonneeEtablissement", alias="y_stock")},
                   {c("dateDernierTraitementEtablissement", alias="processed")}
            FROM {file.relation()}
        ), scoped AS (
            SELECT *,
                   CASE WHEN commune_raw LIKE '97%' THEN left(commune_raw, 3)
                        ELSE left(commune_raw, 2) END AS dep_prefix,
                   CASE WHEN regexp_full_match(naf_raw, '[0-9]{{4}}[A-Z]')
                        THEN left(naf_raw, 2) || '.' || right(naf_raw, 3)
                        ELSE naf_raw END AS naf_norm,
                   CASE WHEN regexp_full_match(naf25_raw, '[0-9]{{4}}[A-Z]')
                        THEN left(naf25_raw, 2) || '.' || right(naf25_raw, 3)
                        ELSE naf25_raw END AS naf25_norm
            FROM raw
        )
        SELECT s.siret, s.siren, m.commune, s.commune_raw, m.dep,
               n.code AS naf, s.naf_raw, s.nomenclature AS naf_nomenclature,
               n.section, n.division, n.naf_group,
               n25.code AS naf25, s.naf25_raw, n25.section AS naf25_section,
               n25.division AS naf25_division, n25.naf_group AS naf25_group,
               s.band AS headcount_band, TRY_CAST(s.band_year AS INTEGER) AS headcount_year,
               {_band_case("s.band")} AS employment,
               coalesce(s.state = 'A', false) AS active,
               TRY_CAST(s.created_raw AS DATE) AS created,
               CASE WHEN s.state = 'F' THEN TRY_CAST(s.period_start AS DATE) END AS closed,
               {_bool("s.siege")} AS head_office,
               CASE WHEN s.employer_raw IS NULL THEN NULL ELSE s.employer_raw = 'O' END
                   AS employer,
               s.diffusion,
               nullif(coalesce(s.enseigne, s.usual_name), '[ND]') AS name,
               TRY_CAST(s.x_stock AS DOUBLE) AS x_stock, TRY_CAST(s.y_stock AS DOUBLE) AS y_stock,
               left(s.processed, 10) AS processed,
               NOT coalesce(regexp_full_match(s.siret, '[0-9]{{14}}')
                            AND left(s.siret, 9) = s.siren, false) AS bad_siret,
               s.commune_raw IS NOT NULL AND m.commune IS NULL AS unknown_commune,
               s.commune_raw IS NULL AS no_commune,
               s.nomenclature = 'NAFRev2' AND s.naf_raw IS NOT NULL AND n.code IS NULL
                   AS unknown_naf,
               s.naf25_raw IS NOT NULL AND n25.code IS NULL AS unknown_naf25,
               {"false" if naf25_imported(con) else "true"} AND n25.code IS NOT NULL
                   AS naf25_unchecked,
               s.naf_raw IS NOT NULL AND s.nomenclature IS DISTINCT FROM 'NAFRev2'
                   AS older_nomenclature,
               s.naf_raw IS NULL AS no_activity,
               s.band IS NOT NULL AND s.band NOT IN ({bands}) AS unknown_band,
               s.state IS NULL OR s.state NOT IN ('A', 'F') AS bad_state,
               (s.created_raw IS NOT NULL AND TRY_CAST(s.created_raw AS DATE) IS NULL)
                   OR (s.state = 'F' AND s.period_start IS NOT NULL
                       AND TRY_CAST(s.period_start AS DATE) IS NULL) AS bad_date
        FROM scoped s
        LEFT JOIN s_commune_dep m ON m.raw = s.commune_raw
        LEFT JOIN (SELECT * FROM s_naf WHERE level = 'subclass') n ON n.code = s.naf_norm
        LEFT JOIN {_naf25_lookup(con)} n25 ON n25.code = s.naf25_norm
        {where}
    """
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        raise read_error(exc, file) from exc
    row = con.execute("SELECT count(*) FROM s_etab").fetchone()
    if not row or not row[0]:
        where_text = "" if scope.departements is None else " in the chosen région/département"
        msg = (
            f"establishments file {file.origin!r} has no establishment{where_text}: "
            "check the file and the filters"
        )
        raise SourceError(msg)


_FLAG_EXAMPLE = {
    "bad_siret": "coalesce(siret, '∅')",
    "unknown_commune": "commune_raw",
    "unknown_naf": "naf_raw",
    "unknown_naf25": "naf25_raw",
    "naf25_unchecked": "naf25",
    "older_nomenclature": "naf_nomenclature || ' ' || naf_raw",
    "unknown_band": "headcount_band",
    "bad_state": "coalesce(siret, '') || ': ' || coalesce(naf_raw, '∅')",
    "bad_date": "siret",
    "no_commune": "siret",
    "no_activity": "siret",
}


def count_problems(con: duckdb.DuckDBPyConnection, report: SireneReport) -> None:
    flags = list(_FLAG_EXAMPLE)
    sums = ", ".join(f"count_if({f})" for f in flags)
    row = con.execute(
        f"SELECT count(*), count(DISTINCT siret), max(processed), {sums} FROM s_etab"
    ).fetchone()
    assert row is not None
    total, distinct, processed = int(row[0]), int(row[1]), row[2]
    report.reference_date = str(processed) if processed else None
    for flag, count in zip(flags, row[3:], strict=True):
        if count:
            _add_problem(con, report, flag, int(count), "s_etab", _FLAG_EXAMPLE[flag])
    duplicates = total - distinct
    if duplicates:
        examples = [
            str(r[0])
            for r in con.execute(
                "SELECT siret FROM s_etab GROUP BY siret HAVING count(*) > 1 LIMIT 5"
            ).fetchall()
        ]
        report.problems["duplicate_siret"] = Problem(
            duplicates, examples, True, _PROBLEM_TEXT["duplicate_siret"]
        )
        # Keep one row per siret (the active one if any).
        con.execute(
            "CREATE OR REPLACE TEMP TABLE s_etab AS SELECT * FROM s_etab "
            "QUALIFY row_number() OVER (PARTITION BY siret ORDER BY active DESC) = 1"
        )
    if "bad_siret" in report.problems:
        con.execute("DELETE FROM s_etab WHERE bad_siret")


def _add_problem(
    con: duckdb.DuckDBPyConnection,
    report: SireneReport,
    flag: str,
    count: int,
    table: str,
    example: str,
    *,
    name: str | None = None,
) -> None:
    rows = con.execute(
        f"SELECT {example} AS v, count(*) AS n FROM {table} WHERE {flag} "
        "GROUP BY v ORDER BY n DESC, v LIMIT 5"
    ).fetchall()
    examples = [f"{r[0]} ({r[1]:,} rows)" if r[1] > 1 else str(r[0]) for r in rows]
    key = name or flag
    report.problems[key] = Problem(count, examples, key in BLOCKING, _PROBLEM_TEXT[key])


def _transform(x: str, y: str, epsg: str) -> tuple[str, str]:
    """SQL for longitude and latitude from projected ``x``, ``y`` in the projection ``epsg``."""
    lon_cases, lat_cases = [], []
    for code in EPSG_CODES:
        if code in (4326, 4171):
            lon_cases.append(f"WHEN {epsg} = {code} THEN {x}")
            lat_cases.append(f"WHEN {epsg} = {code} THEN {y}")
            continue
        point = f"ST_Transform(ST_Point({x}, {y}), 'EPSG:{code}', 'EPSG:4326', always_xy := true)"
        lon_cases.append(f"WHEN {epsg} = {code} THEN ST_X({point})")
        lat_cases.append(f"WHEN {epsg} = {code} THEN ST_Y({point})")
    return (
        "CASE " + " ".join(lon_cases) + " END",
        "CASE " + " ".join(lat_cases) + " END",
    )


def stage_geolocation(con: duckdb.DuckDBPyConnection, file: InputFile) -> None:
    c = file.column
    lon, lat = _transform("x", "y", "epsg")
    sql = f"""
        CREATE OR REPLACE TEMP TABLE s_geo AS
        WITH raw AS (
            SELECT {c("siret")}, {c("x")}, {c("y")}, {c("epsg")}, {c("x_longitude")},
                   {c("y_latitude")}, {c("qualite_xy", alias="quality")}
            FROM {file.relation()}
        ), typed AS (
            SELECT siret, TRY_CAST(x AS DOUBLE) AS x, TRY_CAST(y AS DOUBLE) AS y,
                   TRY_CAST(TRY_CAST(epsg AS DOUBLE) AS INTEGER) AS epsg,
                   TRY_CAST(x_longitude AS DOUBLE) AS lon0, TRY_CAST(y_latitude AS DOUBLE) AS lat0,
                   quality, x IS NOT NULL OR y IS NOT NULL OR x_longitude IS NOT NULL AS given
            FROM raw WHERE siret IN (SELECT siret FROM s_etab)
        ), projected AS (
            SELECT siret, quality, given,
                   CASE WHEN x IS NOT NULL AND y IS NOT NULL THEN {lon} ELSE lon0 END AS lon,
                   CASE WHEN x IS NOT NULL AND y IS NOT NULL THEN {lat} ELSE lat0 END AS lat
            FROM typed
        )
        SELECT DISTINCT ON (siret) siret, lon, lat, quality,
               given AND (lon IS NULL OR lat IS NULL OR NOT isfinite(lon) OR NOT isfinite(lat))
                   AS bad
        FROM projected
    """
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        raise read_error(exc, file) from exc


def stage_stock_coordinates(con: duckdb.DuckDBPyConnection) -> None:
    whens = " ".join(f"WHEN '{dep}' THEN {code}" for dep, code in _STOCK_EPSG.items())
    lon, lat = _transform("x_stock", "y_stock", "epsg")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE s_geo AS
        SELECT siret, {lon} AS lon, {lat} AS lat, NULL::VARCHAR AS quality, false AS bad
        FROM (SELECT siret, x_stock, y_stock,
                     CASE left(commune_raw, 3) {whens} ELSE 2154 END AS epsg
              FROM s_etab WHERE x_stock IS NOT NULL AND y_stock IS NOT NULL)
        """
    )
    con.execute("UPDATE s_geo SET bad = true WHERE lon IS NULL OR lat IS NULL")


def check_coordinates(con: duckdb.DuckDBPyConnection, report: SireneReport) -> None:
    """Flag points outside the establishment's département (or France when it has none)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE s_geo_flag AS
        SELECT g.siret,
               NOT g.bad AND g.lon IS NOT NULL AND NOT coalesce(
                   CASE WHEN b.dep IS NOT NULL
                        THEN g.lon BETWEEN b.xmin AND b.xmax AND g.lat BETWEEN b.ymin AND b.ymax
                        ELSE EXISTS (SELECT 1 FROM s_dep_box f
                                     WHERE g.lon BETWEEN f.xmin AND f.xmax
                                       AND g.lat BETWEEN f.ymin AND f.ymax) END,
                   false) AS outside
        FROM s_geo g JOIN s_etab e USING (siret) LEFT JOIN s_dep_box b ON b.dep = e.dep
        WHERE g.bad OR g.lon IS NOT NULL
        """
    )
    con.execute("DELETE FROM s_geo_flag WHERE NOT outside")
    for name, flag, table in (
        ("bad_coordinates", "bad", "s_geo"),
        ("outside_france", "outside", "s_geo_flag"),
    ):
        row = con.execute(f"SELECT count_if({flag}) FROM {table}").fetchone()
        count = int(row[0]) if row and row[0] else 0
        if count:
            _add_problem(con, report, flag, count, table, "siret", name=name)
    con.execute("UPDATE s_geo SET bad = true WHERE siret IN (SELECT siret FROM s_geo_flag)")


def stage_legal_units(
    con: duckdb.DuckDBPyConnection, file: InputFile, report: SireneReport
) -> None:
    c = file.column
    person = (
        "nullif(trim(concat_ws(' ', coalesce(prenom_usuel, prenom1), "
        "coalesce(nom_usage, nom))), '')"
    )
    sql = f"""
        CREATE OR REPLACE TEMP TABLE s_ul AS
        WITH raw AS (
            SELECT {c("siren")}, {c("denominationUniteLegale", alias="denomination")},
                   {c("denominationUsuelle1UniteLegale", alias="usual")},
                   {c("nomUniteLegale", alias="nom")},
                   {c("nomUsageUniteLegale", alias="nom_usage")},
                   {c("prenomUsuelUniteLegale", alias="prenom_usuel")},
                   {c("prenom1UniteLegale", alias="prenom1")},
                   {c("categorieJuridiqueUniteLegale", alias="legal_form")},
                   {c("categorieEntreprise", alias="category")},
                   {c("economieSocialeSolidaireUniteLegale", alias="ess")},
                   {c("societeMissionUniteLegale", alias="mission")},
                   {c("trancheEffectifsUniteLegale", alias="band")},
                   {c("activitePrincipaleUniteLegale", alias="naf_raw")},
                   {c(NAF25_LEGAL_UNIT, alias="naf25_raw")},
                   {c("nomenclatureActivitePrincipaleUniteLegale", alias="nomenclature")},
                   {c("etatAdministratifUniteLegale", alias="state")},
                   {c("dateCreationUniteLegale", alias="created")},
                   {c("nicSiegeUniteLegale", alias="nic")},
                   {c("statutDiffusionUniteLegale", alias="diffusion")}
            FROM {file.relation()}
        )
        SELECT DISTINCT ON (siren) siren,
               nullif(coalesce(denomination, usual,
                               CASE WHEN diffusion IS DISTINCT FROM 'P' THEN {person} END),
                      '[ND]') AS name,
               legal_form, category,
               CASE WHEN ess IS NULL THEN NULL ELSE ess = 'O' END AS ess,
               CASE WHEN mission IS NULL THEN NULL ELSE mission = 'O' END AS mission,
               band AS headcount_band, {_band_case("band")} AS employment,
               CASE WHEN nomenclature = 'NAFRev2' THEN naf_raw END AS naf,
               CASE WHEN naf25_raw IN (SELECT code FROM s_naf25)
                         OR (NOT {naf25_imported(con)}
                             AND regexp_full_match(naf25_raw, '{NAF25_CODE_PATTERN}'))
                    THEN naf25_raw END AS naf25,
               coalesce(state = 'A', false) AS active, TRY_CAST(created AS DATE) AS created,
               nic AS head_office_nic, diffusion,
               NOT coalesce(regexp_full_match(siren, '[0-9]{{9}}'), false) AS bad_siren
        FROM raw WHERE siren IN (SELECT siren FROM s_etab)
    """
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        raise read_error(exc, file) from exc
    row = con.execute("SELECT count_if(bad_siren) FROM s_ul").fetchone()
    if row and row[0]:
        _add_problem(
            con, report, "bad_siren", int(row[0]), "s_ul", "siren", name="legal_unit_bad_siren"
        )
        con.execute("DELETE FROM s_ul WHERE bad_siren")


def stage_history(con: duckdb.DuckDBPyConnection, file: InputFile, report: SireneReport) -> None:
    c = file.column
    sql = f"""
        CREATE OR REPLACE TEMP TABLE s_hist AS
        WITH raw AS (
            SELECT {c("siret")}, {c("dateDebut", alias="start_raw")},
                   {c("dateFin", alias="end_raw")},
                   {c("etatAdministratifEtablissement", alias="state")},
                   {c("activitePrincipaleEtablissement", alias="naf_raw")},
                   {c("nomenclatureActivitePrincipaleEtablissement", alias="nomenclature")}
            FROM {file.relation()}
        )
        SELECT r.siret, TRY_CAST(r.start_raw AS DATE) AS start_date,
               TRY_CAST(r.end_raw AS DATE) AS end_date, coalesce(r.state = 'A', false) AS active,
               n.code AS naf, r.naf_raw, r.nomenclature AS naf_nomenclature,
               r.nomenclature = 'NAFRev2' AND r.naf_raw IS NOT NULL AND n.code IS NULL
                   AS unknown_naf
        FROM raw r
        LEFT JOIN (SELECT * FROM s_naf WHERE level = 'subclass') n ON n.code = r.naf_raw
        WHERE r.siret IN (SELECT siret FROM s_etab)
    """
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        raise read_error(exc, file) from exc
    row = con.execute("SELECT count_if(unknown_naf) FROM s_hist").fetchone()
    if row and row[0]:
        _add_problem(
            con,
            report,
            "unknown_naf",
            int(row[0]),
            "s_hist",
            "naf_raw",
            name="history_unknown_naf",
        )


def refuse_bad_rows(report: SireneReport) -> None:
    blocking = {k: p for k, p in report.problems.items() if p.blocking}
    if not blocking:
        return
    lines = [
        f"{name}: {p.count:,} — {p.text}; e.g. {', '.join(p.examples)}"
        for name, p in blocking.items()
    ]
    total = sum(p.count for p in blocking.values())
    msg = (
        f"--strict: {total:,} bad row(s) in the SIRENE files, nothing was imported; fix the "
        "files, or import without --strict to keep the good rows and get a report"
    )
    raise ValidationError(msg, problems=lines, count=len(lines))
