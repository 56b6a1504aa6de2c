"""Import the SIRENE register of INSEE: establishments, legal units, history, geolocation.

The importer reads the files exactly as INSEE publishes them on data.gouv.fr:

- ``StockEtablissement`` (required): one row per establishment (siret);
- ``StockUniteLegale``: one row per legal unit (siren);
- ``StockEtablissementHistorique``: the periods of each establishment (state, activity);
- ``GeolocalisationEtablissement_Sirene_pour_etudes_statistiques``: coordinates ``x``, ``y`` in
  the projection given by ``epsg`` (Lambert-93 in metropolitan France, UTM in the overseas
  départements), or ``x_longitude`` / ``y_latitude`` in WGS84; reprojected to WGS84.

CSV (comma or semicolon separated, plain or gzip) or Parquet, zipped or not. DuckDB streams the
files under a memory limit, so a national file of tens of millions of rows imports in bounded
memory. Everything is staged in temporary tables and checked first; the knowledge base is then
changed in one short transaction: a failed or interrupted import leaves it as it was. An import
replaces the previous SIRENE snapshot as a whole (mixing snapshots of different dates would
distort every ratio computed on them).

Estimated employment
--------------------
SIRENE gives a head-count band (*tranche d'effectifs salariés*), not a head count. The estimated
salaried employment of an establishment is the midpoint of its band (``HEADCOUNT_BANDS``): 1.5 for
"1 or 2", 4 for "3 to 5" ... and 10,000 for the open band "10,000 or more". Band ``NN`` (no
salaried employee during the reference year, or unknown) and ``00`` (no employee at 31 December)
count as 0, and so does a missing band.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from territoria.errors import (
    ConfigurationError,
    EmptyKnowledgeBase,
    SourceError,
    UnknownTerritory,
)
from territoria.kb.audit import record
from territoria.kb.naf import NAF_ADDRESS, NAF_LICENCE, NAF_PUBLISHER, NAF_VERSION
from territoria.sources._framework import Progress, SourceRecord, Staging, StepTimer, first_line
from territoria.sources._sirene_files import InputFile, open_input
from territoria.sources._sirene_stage import (
    BLOCKING,
    EPSG_CODES,
    ESTABLISHMENT_COLUMNS,
    GEOLOCATION_COLUMNS,
    HEADCOUNT_BANDS,
    HISTORY_COLUMNS,
    LEGAL_UNIT_COLUMNS,
    Problem,
    Scope,
    SireneReport,
    check_coordinates,
    count_problems,
    prepare_lookups,
    refuse_bad_rows,
    stage_establishments,
    stage_geolocation,
    stage_history,
    stage_legal_units,
    stage_stock_coordinates,
)

__all__ = [
    "BLOCKING",
    "EPSG_CODES",
    "ESTABLISHMENT_COLUMNS",
    "GEOLOCATION_COLUMNS",
    "HEADCOUNT_BANDS",
    "HISTORY_COLUMNS",
    "LEGAL_UNIT_COLUMNS",
    "Problem",
    "SireneReport",
    "import_sirene",
]

SOURCE_NAME = "sirene"
NAF_SOURCE_NAME = "naf-rev2"
PUBLISHER = "INSEE — Répertoire des entreprises et des établissements (SIRENE)"
LICENCE = "Licence Ouverte 2.0 (Etalab)"
ADDRESS = (
    "https://www.data.gouv.fr/fr/datasets/"
    "base-sirene-des-entreprises-et-de-leurs-etablissements-siren-siret/"
)
SYNTHETIC_PUBLISHER = "Territoria synthetic generator (territoria synth sirene) — NOT REAL DATA"
SYNTHETIC_LICENCE = "CC0-1.0 (synthetic data)"
#: File written by ``territoria synth sirene`` next to its files: imports of these files are
#: recorded as synthetic.
SYNTHETIC_MANIFEST = "synthetic.json"


def import_sirene(
    con: duckdb.DuckDBPyConnection,
    *,
    establishments: Path,
    legal_units: Path | None = None,
    geolocation: Path | None = None,
    history: Path | None = None,
    region: str | None = None,
    departement: str | None = None,
    strict: bool = False,
    synthetic: bool | None = None,
    memory_limit: str = "1500MB",
    progress: Progress | None = None,
) -> SireneReport:
    """Load SIRENE files into the knowledge base, replacing the previous SIRENE snapshot.

    Parameters
    ----------
    con
        Open, migrated knowledge base with its territories (``territoria import france``).
    establishments
        StockEtablissement file (CSV, CSV.gz, Parquet or a zip of one of them).
    legal_units
        StockUniteLegale file; only legal units with an imported establishment are kept.
    geolocation
        GeolocalisationEtablissement file; without it, the Lambert coordinates of
        StockEtablissement are used when the file has them.
    history
        StockEtablissementHistorique file (periods of state and activity).
    region, departement
        Keep only the establishments of this région or département (official codes).
    strict
        Stop, importing nothing, at the first kind of bad row (unknown commune or NAF code,
        bad siret, coordinates outside France ...) instead of reporting and going on.
    synthetic
        Record the rows as synthetic. ``None`` decides from the ``synthetic.json`` file that
        ``territoria synth sirene`` writes next to its files.
    memory_limit
        DuckDB memory limit during the import (DuckDB spills to disk beyond it); empty keeps
        the connection's setting.
    progress
        Called with the name of each step as it starts.

    Returns
    -------
    SireneReport
        Counts, problems found (with examples) and timings. The counts are also recorded in
        the audit log (event ``import.sirene``) in the transaction of the import.

    Raises
    ------
    SourceError
        A file is missing, truncated, corrupt, or lacks SIRENE columns.
    ValidationError
        ``strict`` and some rows are bad; nothing was imported.
    """
    report = SireneReport()
    step = StepTimer(report, progress)
    _check_knowledge_base(con)
    scope = _scope(con, region=region, departement=departement)
    report.scope = {"region": region, "departement": departement}
    if synthetic is None:
        synthetic = (establishments.parent / SYNTHETIC_MANIFEST).exists()
    report.synthetic = synthetic
    settings = _Settings(con, memory_limit=memory_limit)
    with (
        tempfile.TemporaryDirectory(prefix="territoria-sirene-") as tmp,
        Staging(con, "s_") as staging,
    ):
        try:
            step("open files")
            files = _open_files(
                con,
                Path(tmp),
                establishments=establishments,
                legal_units=legal_units,
                geolocation=geolocation,
                history=history,
            )
            report.files = {k: f.origin for k, f in files.items()}
            step("establishments")
            prepare_lookups(con, scope)
            stage_establishments(con, files["establishments"], scope)
            count_problems(con, report)
            if "geolocation" in files:
                step("geolocation")
                stage_geolocation(con, files["geolocation"])
            elif files["establishments"].has("coordonneeLambertAbscisseEtablissement"):
                step("coordinates")
                stage_stock_coordinates(con)
            else:
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE s_geo (siret VARCHAR, lon DOUBLE, lat DOUBLE, "
                    "quality VARCHAR, bad BOOLEAN)"
                )
            check_coordinates(con, report)
            if "legal_units" in files:
                step("legal units")
                stage_legal_units(con, files["legal_units"], report)
            if "history" in files:
                step("history")
                stage_history(con, files["history"], report)
            if strict:
                refuse_bad_rows(report)
            step("write")
            _allocate_sources(staging, files, report)
            with staging.swap(names=[SOURCE_NAME, NAF_SOURCE_NAME], tables=_TABLES):
                _replace(con, files)
                _count(con, report)
                record(con, "import.sirene", target=SOURCE_NAME, detail=_audit(report))
        finally:
            settings.restore()
    step("")
    return report


def _audit(report: SireneReport) -> dict[str, Any]:
    return {
        "establishments": report.establishments,
        "active": report.active,
        "geolocated": report.geolocated,
        "legal_units": report.legal_units,
        "history_periods": report.history_periods,
        "reference_date": report.reference_date,
        "synthetic": report.synthetic,
        "scope": report.scope,
        "problems": {name: problem.count for name, problem in report.problems.items()},
    }


# --------------------------------------------------------------------------- set-up


class _Settings:
    """Set DuckDB options for a bulk import and put the previous values back afterwards."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, memory_limit: str) -> None:
        self.con = con
        self.saved: dict[str, str] = {}
        wanted = {"preserve_insertion_order": "false"}
        if memory_limit:
            wanted["memory_limit"] = memory_limit
        for name, value in wanted.items():
            row = con.execute("SELECT current_setting(?)", [name]).fetchone()
            self.saved[name] = str(row[0]) if row else ""
            try:
                con.execute(f"SET {name} = ?", [value])
            except duckdb.Error as exc:
                self.restore()
                msg = (
                    f"invalid {name} {value!r} ({first_line(exc)}): give a size such as "
                    "'1500MB' or '4GB' (--memory-limit or TERRITORIA_MEMORY_LIMIT)"
                )
                raise ConfigurationError(msg) from exc

    def restore(self) -> None:
        for name, value in self.saved.items():
            try:
                self.con.execute(f"SET {name} = ?", [value])
            except duckdb.Error:  # pragma: no cover - settings always accept their own value
                continue


def _check_knowledge_base(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute("SELECT count(*) FROM territory WHERE level = 'commune'").fetchone()
    if not row or not row[0]:
        msg = (
            "the knowledge base has no communes: run 'territoria import france' first, "
            "SIRENE establishments are placed in its communes"
        )
        raise EmptyKnowledgeBase(msg)


def _scope(con: duckdb.DuckDBPyConnection, *, region: str | None, departement: str | None) -> Scope:
    deps: set[str] | None = None
    if region is not None:
        rows = con.execute(
            "SELECT code FROM membership WHERE level = 'departement' AND parent_level = 'region' "
            "AND parent_code = ?",
            [region],
        ).fetchall()
        if not rows:
            msg = f"unknown région code {region!r}: run 'territoria search' to find the code"
            raise UnknownTerritory(msg)
        deps = {r[0] for r in rows}
    if departement is not None:
        row = con.execute(
            "SELECT count(*) FROM territory WHERE level = 'departement' AND code = ?",
            [departement],
        ).fetchone()
        if not row or not row[0]:
            msg = (
                f"unknown département code {departement!r}: use the official code "
                "('35', '2A', '971')"
            )
            raise UnknownTerritory(msg)
        if deps is not None and departement not in deps:
            msg = f"département {departement!r} is not in région {region!r}: drop one filter"
            raise UnknownTerritory(msg)
        deps = {departement}
    return Scope(tuple(sorted(deps)) if deps is not None else None)


def _open_files(
    con: duckdb.DuckDBPyConnection,
    workdir: Path,
    *,
    establishments: Path,
    legal_units: Path | None,
    geolocation: Path | None,
    history: Path | None,
) -> dict[str, InputFile]:
    files = {
        "establishments": open_input(
            establishments,
            what="establishments file",
            required=ESTABLISHMENT_COLUMNS,
            workdir=workdir,
            con=con,
        )
    }
    if legal_units is not None:
        files["legal_units"] = open_input(
            legal_units,
            what="legal units file",
            required=LEGAL_UNIT_COLUMNS,
            workdir=workdir,
            con=con,
        )
    if history is not None:
        files["history"] = open_input(
            history, what="history file", required=HISTORY_COLUMNS, workdir=workdir, con=con
        )
    if geolocation is not None:
        geo = open_input(
            geolocation,
            what="geolocation file",
            required=GEOLOCATION_COLUMNS,
            workdir=workdir,
            con=con,
        )
        projected = geo.has("x") and geo.has("y") and geo.has("epsg")
        wgs84 = geo.has("x_longitude") and geo.has("y_latitude")
        if not (projected or wgs84):
            msg = (
                f"geolocation file {geo.origin!r} has neither 'x', 'y' and 'epsg' nor "
                "'x_longitude' and 'y_latitude': it is not INSEE's "
                "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques file"
            )
            raise SourceError(msg)
        files["geolocation"] = geo
    return files


# --------------------------------------------------------------------------- writing


_TABLES = (
    "establishment",
    "legal_unit",
    "establishment_history",
    "naf",
)  # naf_2025 and naf_correspondence belong to 'territoria import naf2025'


def _allocate_sources(staging: Staging, files: dict[str, InputFile], report: SireneReport) -> None:
    datasets = {
        "establishments": "StockEtablissement",
        "legal_units": "StockUniteLegale",
        "history": "StockEtablissementHistorique",
        "geolocation": "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques",
    }
    manifest = _manifest(Path(files["establishments"].origin).parent)
    note_synthetic = (
        "SYNTHETIC DATA generated by 'territoria synth sirene' "
        f"(seed {manifest.get('seed')}, région {manifest.get('region') or 'all'}): "
        "not real establishments"
    )
    for key, file in files.items():
        origin = Path(file.origin)
        scope = report.scope
        note = f"{file.origin}"
        if scope.get("region") or scope.get("departement"):
            note += (
                f"; filtered on région {scope.get('region')} département {scope.get('departement')}"
            )
        staging.source(
            SourceRecord(
                name=SOURCE_NAME,
                dataset=datasets[key],
                publisher=SYNTHETIC_PUBLISHER if report.synthetic else PUBLISHER,
                licence=SYNTHETIC_LICENCE if report.synthetic else LICENCE,
                version=str(manifest.get("version")) if report.synthetic else origin.name,
                retrieved_at=datetime.fromtimestamp(origin.stat().st_mtime, tz=UTC),
                reference_date=report.reference_date,
                address=str(origin.resolve()) if report.synthetic else ADDRESS,
                synthetic=report.synthetic,
                note=(note_synthetic + "; " + note) if report.synthetic else note,
            )
        )
    package = "package data of Territoria: territoria/data/naf (see SOURCE.txt)"
    naf = (NAF_SOURCE_NAME, NAF_PUBLISHER, NAF_LICENCE, NAF_VERSION, NAF_ADDRESS)
    for (name, publisher, licence, version, address), dataset, what in (
        (naf, "naf_rev2.csv", "NAF rév. 2 (2008)"),
    ):
        staging.source(
            SourceRecord(
                name=name,
                dataset=dataset,
                publisher=publisher,
                licence=licence,
                version=version,
                retrieved_at=staging.now,
                reference_date=what,
                address=address,
                note=package,
            )
        )


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / SYNTHETIC_MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _src(dataset: str) -> str:
    return f"(SELECT id FROM s_src WHERE dataset = '{dataset}')"


def _replace(con: duckdb.DuckDBPyConnection, files: dict[str, InputFile]) -> None:
    """Inside the swap (previous snapshot deleted, new source rows in): insert the new one."""
    con.execute(f"INSERT INTO naf SELECT *, {_src('naf_rev2.csv')} FROM s_naf")
    con.execute(
        f"""
        INSERT INTO establishment BY NAME
        SELECT e.siret, e.siren, e.commune, e.commune_raw, e.naf, e.naf_raw, e.naf_nomenclature,
               e.section, e.division, e.naf_group, e.headcount_band, e.headcount_year,
               e.employment, e.active, e.created, e.closed, e.head_office, e.employer,
               e.diffusion, e.name,
               CASE WHEN NOT g.bad THEN g.lon END AS lon, CASE WHEN NOT g.bad THEN g.lat END AS lat,
               g.quality AS geo_quality, {_src("StockEtablissement")} AS source_id,
               e.naf25, e.naf25_raw, e.naf25_section, e.naf25_division, e.naf25_group
        FROM s_etab e LEFT JOIN s_geo g USING (siret)
        """
    )
    if "legal_units" in files:
        con.execute(
            f"""
            INSERT INTO legal_unit BY NAME
            SELECT siren, name, legal_form, category, ess, mission, headcount_band, employment,
                   naf, active, created, head_office_nic, diffusion,
                   {_src("StockUniteLegale")} AS source_id, naf25
            FROM s_ul
            """
        )
    if "history" in files:
        con.execute(
            f"""
            INSERT INTO establishment_history
            SELECT siret, start_date, end_date, active, naf, naf_raw, naf_nomenclature,
                   {_src("StockEtablissementHistorique")}
            FROM s_hist
            """
        )


def _count(con: duckdb.DuckDBPyConnection, report: SireneReport) -> None:
    row = con.execute(
        "SELECT count(*), count_if(active), coalesce(sum(employment) FILTER (active), 0), "
        "count(lon) FROM establishment"
    ).fetchone()
    assert row is not None
    report.establishments, report.active = int(row[0]), int(row[1])
    report.employment, report.geolocated = float(row[2]), int(row[3])
    one = con.execute("SELECT count(*) FROM legal_unit").fetchone()
    report.legal_units = int(one[0]) if one else 0
    one = con.execute("SELECT count(*) FROM establishment_history").fetchone()
    report.history_periods = int(one[0]) if one else 0
