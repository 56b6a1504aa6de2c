"""SIRENE import: the official file layouts, estimated employment, filters, bad input, atomicity."""

from __future__ import annotations

import gzip
import json
import shutil
import zipfile
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import (
    EmptyKnowledgeBase,
    SourceError,
    UnknownTerritory,
    ValidationError,
)
from territoria.kb import connect
from territoria.kb.audit import list_audit
from territoria.sources import sirene
from territoria.sources.sirene import HEADCOUNT_BANDS, import_sirene

FIXTURE = Path(__file__).parent / "data" / "sirene"
ETAB = FIXTURE / "StockEtablissement_utf8.csv"
UL = FIXTURE / "StockUniteLegale_utf8.csv"
HIST = FIXTURE / "StockEtablissementHistorique_utf8.csv"
GEO = FIXTURE / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv"
#: Active employment of the fixture by hand: bands 12, 03, 21, 11, 22, 01, 41, 32, 12, 00, 02,
#: 12 -> 34.5 + 7.5 + 74.5 + 14.5 + 149.5 + 1.5 + 749.5 + 374.5 + 34.5 + 0 + 4 + 34.5.
FIXTURE_EMPLOYMENT = 1479.0


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> object:
    row = con.execute(sql, params or []).fetchone()
    assert row is not None
    return row[0]


def full_import(con: duckdb.DuckDBPyConnection, **options: object) -> sirene.SireneReport:
    return import_sirene(
        con,
        establishments=ETAB,
        legal_units=UL,
        history=HIST,
        geolocation=GEO,
        **options,  # type: ignore[arg-type]
    )


def rewrite(source: Path, target: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def test_import_counts_employment_and_provenance(mini_db: duckdb.DuckDBPyConnection) -> None:
    report = full_import(mini_db)
    assert report.establishments == 14
    assert report.active == 12
    assert report.employment == FIXTURE_EMPLOYMENT
    assert report.legal_units == 14
    assert report.history_periods == 17
    assert report.geolocated == 12
    assert report.reference_date == "2025-01-01"
    assert not report.synthetic
    # The NAF rev. 1 code is reported, kept without sector, and does not block.
    assert set(report.problems) == {"older_nomenclature"}
    assert report.problems["older_nomenclature"].examples == ["NAFRev1 72.2C"]
    assert scalar(mini_db, "SELECT count(DISTINCT siret) FROM establishment") == 14
    assert scalar(mini_db, "SELECT count(*) FROM establishment WHERE source_id IS NULL") == 0
    sources = mini_db.execute(
        "SELECT dataset, publisher, licence, synthetic FROM source WHERE name = 'sirene' "
        "ORDER BY dataset"
    ).fetchall()
    assert [s[0] for s in sources] == [
        "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques",
        "StockEtablissement",
        "StockEtablissementHistorique",
        "StockUniteLegale",
    ]
    assert all(s[1].startswith("INSEE") and not s[3] for s in sources)
    # NAF rev. 2 comes from the package data, with its own provenance.
    assert scalar(mini_db, "SELECT count(*) FROM naf") == 21 + 88 + 272 + 615 + 732
    assert scalar(mini_db, "SELECT label FROM naf WHERE code = '62.01Z'") == (
        "Programmation informatique"
    )
    licence = scalar(mini_db, "SELECT licence FROM source WHERE name = 'naf-rev2'")
    assert isinstance(licence, str) and "Apache-2.0" in licence


def test_rows_carry_sector_levels_dates_and_names(mini_db: duckdb.DuckDBPyConnection) -> None:
    full_import(mini_db)
    row = mini_db.execute(
        "SELECT commune, naf, section, division, naf_group, headcount_band, employment, active, "
        "created, closed, name, head_office FROM establishment WHERE siret = '10000000300013'"
    ).fetchone()
    assert row is not None
    assert row[:8] == ("35051", "62.01Z", "J", "62", "62.0", "21", 74.5, True)
    assert str(row[8]) == "2010-01-01" and row[9] is None
    assert row[10] == "GAMMA SYSTEMES" and row[11] is True
    closed = mini_db.execute(
        "SELECT active, closed, employment FROM establishment WHERE siret = '10000001000010'"
    ).fetchone()
    assert closed is not None and closed[0] is False and str(closed[1]) == "2019-12-31"
    old = mini_db.execute(
        "SELECT naf, naf_raw, naf_nomenclature FROM establishment WHERE siret = '10000001200012'"
    ).fetchone()
    assert old == (None, "72.2C", "NAFRev1")
    unit = mini_db.execute(
        "SELECT name, legal_form, ess, active FROM legal_unit WHERE siren = '100000013'"
    ).fetchone()
    assert unit == ("KAPPA RESTAURANT SAS", "5710", True, True)
    periods = mini_db.execute(
        "SELECT start_date, end_date, naf FROM establishment_history "
        "WHERE siret = '10000000300013' ORDER BY start_date"
    ).fetchall()
    assert [(str(a), str(b), c) for a, b, c in periods] == [
        ("2010-01-01", "2014-12-31", "62.02A"),
        ("2015-01-01", "None", "62.01Z"),
    ]


def test_headcount_band_midpoints() -> None:
    # The documented estimates: midpoints of the bands, 0 without employees, 10,000 when open.
    assert HEADCOUNT_BANDS["NN"][2] == 0.0
    assert HEADCOUNT_BANDS["00"][2] == 0.0
    assert HEADCOUNT_BANDS["01"][2] == 1.5
    assert HEADCOUNT_BANDS["12"][2] == 34.5
    assert HEADCOUNT_BANDS["53"] == (10000, None, 10000.0)
    for low, high, mid in HEADCOUNT_BANDS.values():
        if high is not None and high > 0:
            assert mid == (low + high) / 2


def test_coordinates_are_reprojected_to_wgs84(mini_db: duckdb.DuckDBPyConnection) -> None:
    full_import(mini_db)
    lon, lat = mini_db.execute(
        "SELECT lon, lat FROM establishment WHERE siret = '10000000100011'"
    ).fetchone() or (None, None)
    # Written as Lambert-93 (EPSG:2154) from (-1.6790, 48.1120), to 0.1 m.
    assert lon == pytest.approx(-1.6790, abs=2e-6)
    assert lat == pytest.approx(48.1120, abs=2e-6)
    wgs = mini_db.execute(
        "SELECT lon, lat FROM establishment WHERE siret = '10000001400014'"
    ).fetchone()
    assert wgs == (-1.68, 48.158)


def test_filters_keep_the_departement_or_region(mini_db: duckdb.DuckDBPyConnection) -> None:
    report = full_import(mini_db, region="53")
    assert report.establishments == 14 and report.scope == {"region": "53", "departement": None}
    report = full_import(mini_db, departement="35")
    assert report.establishments == 14
    with pytest.raises(UnknownTerritory, match="'11'"):
        full_import(mini_db, region="11")
    with pytest.raises(UnknownTerritory, match="'29'"):
        full_import(mini_db, departement="29")


def test_filter_drops_other_departements(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    other = rewrite(ETAB, tmp_path / "StockEtablissement_utf8.csv", ",35047,", ",29019,")
    report = import_sirene(mini_db, establishments=other, departement="35")
    assert report.establishments == 13
    assert "unknown_commune" not in report.problems
    # Without the filter, Brest is counted as an unknown commune (not in the fixture's base).
    report = import_sirene(mini_db, establishments=other)
    assert report.problems["unknown_commune"].count == 1
    assert report.problems["unknown_commune"].examples == ["29019"]


def test_reimport_replaces_the_snapshot(mini_db: duckdb.DuckDBPyConnection) -> None:
    full_import(mini_db)
    full_import(mini_db)
    assert scalar(mini_db, "SELECT count(*) FROM establishment") == 14
    assert scalar(mini_db, "SELECT count(*) FROM source WHERE name = 'sirene'") == 4
    assert scalar(mini_db, "SELECT count(*) FROM naf") == 1728
    # each import left one audit row with its counts, written in its transaction
    audit = list_audit(mini_db, event="import.sirene")
    assert len(audit) == 2
    assert audit[0].detail is not None
    assert audit[0].detail["establishments"] == 14
    assert audit[0].detail["legal_units"] == 14
    assert audit[0].detail["reference_date"] == "2025-01-01"
    assert audit[0].detail["problems"] == {"older_nomenclature": 1}


def test_bad_memory_limit_exits_2(mini_db_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    shutil.copyfile(mini_db_path, db)
    result = CliRunner().invoke(
        app,
        [
            "import",
            "sirene",
            "--etablissements",
            str(ETAB),
            "--memory-limit",
            "lots",
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 2, result.stderr
    assert "invalid memory_limit 'lots'" in result.stderr
    assert "--memory-limit or TERRITORIA_MEMORY_LIMIT" in result.stderr


@pytest.mark.parametrize("packing", ["zip", "gzip", "parquet", "semicolon"])
def test_zip_gzip_parquet_and_semicolons(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path, packing: str
) -> None:
    if packing == "zip":
        path = tmp_path / "StockEtablissement_utf8.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.write(ETAB, ETAB.name)
    elif packing == "gzip":
        path = tmp_path / "StockEtablissement_utf8.csv.gz"
        path.write_bytes(gzip.compress(ETAB.read_bytes()))
    elif packing == "parquet":
        path = tmp_path / "StockEtablissement_utf8.parquet"
        mini_db.execute(
            f"COPY (SELECT * FROM read_csv('{ETAB}', all_varchar = true)) TO '{path}' "
            "(FORMAT parquet)"
        )
    else:
        path = tmp_path / "StockEtablissement_utf8.csv"
        mini_db.execute(
            f"COPY (SELECT * FROM read_csv('{ETAB}', all_varchar = true)) TO '{path}' "
            "(FORMAT csv, HEADER true, DELIMITER ';')"
        )
    report = import_sirene(mini_db, establishments=path, geolocation=GEO)
    assert report.establishments == 14
    assert report.employment == FIXTURE_EMPLOYMENT
    assert report.geolocated == 12


def test_delegated_commune_codes_map_to_their_commune(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    mini_db.execute(
        "INSERT INTO territory (level, code, name, name_norm, source_id) "
        "VALUES ('commune_deleguee', '35999', 'Test', 'test', 1)"
    )
    mini_db.execute(
        "INSERT INTO membership VALUES ('commune_deleguee', '35999', 'commune', '35047', "
        "'source', NULL, 1)"
    )
    other = rewrite(ETAB, tmp_path / "StockEtablissement_utf8.csv", ",35047,", ",35999,")
    report = import_sirene(mini_db, establishments=other)
    assert "unknown_commune" not in report.problems
    row = mini_db.execute(
        "SELECT commune, commune_raw FROM establishment WHERE siret = '10000000500015'"
    ).fetchone()
    assert row == ("35047", "35999")


def test_missing_column_is_refused_and_nothing_changes(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    full_import(mini_db)
    bad = rewrite(ETAB, tmp_path / "etab.csv", "codeCommuneEtablissement", "codeCommune")
    with pytest.raises(SourceError, match="codeCommuneEtablissement") as info:
        import_sirene(mini_db, establishments=bad)
    assert "SIRENE format" in str(info.value)
    assert scalar(mini_db, "SELECT count(*) FROM establishment") == 14
    assert scalar(mini_db, "SELECT count(*) FROM legal_unit") == 14


def test_geolocation_file_without_coordinates_is_refused(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    bad = tmp_path / "geo.csv"
    bad.write_text("siret;qualite_xy\n10000000100011;11\n", encoding="utf-8")
    with pytest.raises(SourceError, match="x_longitude"):
        import_sirene(mini_db, establishments=ETAB, geolocation=bad)


def test_unknown_codes_are_reported_or_refused_with_strict(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    step = rewrite(ETAB, tmp_path / "a.csv", "62.02A,NAFRev2", "99.99Z,NAFRev2")
    bad = rewrite(step, tmp_path / "StockEtablissement_utf8.csv", ",35024,", ",35998,")
    report = import_sirene(mini_db, establishments=bad)
    assert report.establishments == 14
    assert report.problems["unknown_naf"].count == 1
    assert report.problems["unknown_naf"].examples == ["99.99Z"]
    assert report.problems["unknown_commune"].count == 1
    row = mini_db.execute(
        "SELECT naf, naf_raw FROM establishment WHERE siret = '10000000200012'"
    ).fetchone()
    assert row == (None, "99.99Z")
    # --strict: nothing is written, the previous snapshot stays.
    full_import(mini_db)
    with pytest.raises(ValidationError) as info:
        import_sirene(mini_db, establishments=bad, strict=True)
    assert "nothing was imported" in str(info.value)
    assert any(line.startswith("unknown_naf: 1") for line in info.value.problems)
    assert any(line.startswith("unknown_commune: 1") for line in info.value.problems)
    assert scalar(mini_db, "SELECT count(*) FROM establishment WHERE naf_raw = '99.99Z'") == 0
    assert scalar(mini_db, "SELECT count(*) FROM legal_unit") == 14
    # An activity in NAF rev. 1 is not an error, even with --strict.
    assert import_sirene(mini_db, establishments=ETAB, strict=True).establishments == 14


def test_coordinates_outside_france(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # Lambert-93 coordinates of Marseille for an establishment of Rennes.
    bad = rewrite(GEO, tmp_path / "geo.csv", "351983.4;6789383.9", "892390.2;6247035.4")
    report = import_sirene(mini_db, establishments=ETAB, geolocation=bad)
    assert report.problems["outside_france"].count == 1
    assert report.problems["outside_france"].examples == ["10000000100011"]
    assert report.geolocated == 11
    lonlat = mini_db.execute(
        "SELECT lon, lat FROM establishment WHERE siret = '10000000100011'"
    ).fetchone()
    assert lonlat == (None, None)
    unknown = rewrite(GEO, tmp_path / "geo2.csv", ";11;2154;", ";11;9999;")
    report = import_sirene(mini_db, establishments=ETAB, geolocation=unknown)
    assert report.problems["bad_coordinates"].count == 1
    with pytest.raises(ValidationError, match="nothing was imported"):
        import_sirene(mini_db, establishments=ETAB, geolocation=bad, strict=True)


def test_bad_siret_and_duplicates(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    text = ETAB.read_text(encoding="utf-8").splitlines()
    duplicate = text[1]
    bad_siret = text[2].replace("10000000200012", "1000000020001X")
    path = tmp_path / "StockEtablissement_utf8.csv"
    path.write_text("\n".join([text[0], *text[1:], duplicate, bad_siret]) + "\n", "utf-8")
    report = import_sirene(mini_db, establishments=path)
    assert report.problems["duplicate_siret"].count == 1
    assert report.problems["bad_siret"].count == 1
    assert report.establishments == 14
    assert scalar(mini_db, "SELECT count(DISTINCT siret) FROM establishment") == 14


def test_truncated_files_leave_the_base_intact(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    full_import(mini_db)
    data = ETAB.read_bytes()
    cut = tmp_path / "StockEtablissement_utf8.csv"
    cut.write_bytes(data[: len(data) - 200])  # ends in the middle of a line
    with pytest.raises(SourceError, match="truncated"):
        import_sirene(mini_db, establishments=cut)
    archive = tmp_path / "StockEtablissement_utf8.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(ETAB.name, data * 50)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(archive.read_bytes()[:-300])
    with pytest.raises(SourceError, match="zip"):
        import_sirene(mini_db, establishments=broken)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        import_sirene(mini_db, establishments=empty)
    with pytest.raises(SourceError, match="does not exist"):
        import_sirene(mini_db, establishments=tmp_path / "nope.csv")
    assert scalar(mini_db, "SELECT count(*) FROM establishment") == 14
    assert scalar(
        mini_db, "SELECT employment FROM establishment WHERE siret = '10000000100011'"
    ) == (34.5)


def test_failure_while_writing_rolls_back(
    mini_db: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_import(mini_db)

    def explode(con: duckdb.DuckDBPyConnection, files: object) -> None:
        con.execute("DELETE FROM establishment")
        raise RuntimeError("disk full")

    monkeypatch.setattr(sirene, "_replace", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        full_import(mini_db)
    assert scalar(mini_db, "SELECT count(*) FROM establishment") == 14
    assert scalar(mini_db, "SELECT count(*) FROM source WHERE name = 'sirene'") == 4
    tables = mini_db.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name LIKE 's\\_%' "
        "ESCAPE '\\'"
    ).fetchone()
    assert tables == (0,)


def test_needs_territories_first() -> None:
    con = connect(":memory:")
    with pytest.raises(EmptyKnowledgeBase, match="import france"):
        import_sirene(con, establishments=ETAB)
    con.close()


def test_synthetic_manifest_marks_the_rows(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    folder = tmp_path / "synthetic"
    folder.mkdir()
    shutil.copy(ETAB, folder / ETAB.name)
    (folder / "synthetic.json").write_text(json.dumps({"synthetic": True, "seed": 1}), "utf-8")
    report = import_sirene(mini_db, establishments=folder / ETAB.name)
    assert report.synthetic
    row = mini_db.execute(
        "SELECT synthetic, publisher FROM source WHERE dataset = 'StockEtablissement'"
    ).fetchone()
    assert row is not None and row[0] is True and "NOT REAL DATA" in row[1]
    report = import_sirene(mini_db, establishments=folder / ETAB.name, synthetic=False)
    assert not report.synthetic


def test_cli_import_sirene(mini_db_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, db)
    runner = CliRunner()
    args = ["import", "sirene", "--db", str(db), "--etablissements", str(ETAB)]
    result = runner.invoke(app, [*args, "--geolocalisation", str(GEO), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["establishments"] == 14 and report["geolocated"] == 12
    bad = rewrite(ETAB, tmp_path / "etab.csv", "siret,", "sirette,")
    result = runner.invoke(app, ["import", "sirene", "--db", str(db), "--etablissements", str(bad)])
    assert result.exit_code == 2
    assert "lacks the column(s) ['siret']" in result.output
    assert "Traceback" not in result.output
