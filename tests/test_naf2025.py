"""NAF 2025: package data, SIRENE files with both NAF columns, indices in either nomenclature,
the reference actually used, and the European Cluster Observatory star rules."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from territoria.analysis._poles_counts import star_rating
from territoria.analysis.specialisation import (
    default_nomenclature,
    location_quotients,
    specialisation_profile,
)
from territoria.cli import app
from territoria.errors import InvalidAnalysisRequest
from territoria.kb.naf import naf_codes
from territoria.kb.naf2025 import naf25_codes, naf25_label, naf25_section, naf_correspondence
from territoria.sources.sirene import import_sirene

DATA = Path(__file__).parent / "data"
BOTH = DATA / "sirene_naf25"
OLD = DATA / "sirene"


def imported(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    import_sirene(
        con,
        establishments=folder / "StockEtablissement_utf8.csv",
        legal_units=folder / "StockUniteLegale_utf8.csv",
        geolocation=folder
        / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv",
    )


def test_package_data_is_the_official_structure() -> None:
    codes = naf25_codes()
    assert len(codes) == 747 and all(len(c) == 6 and c[2] == "." for c in codes)
    assert codes["62.10Y"] == "Activités de programmation informatique"
    assert codes["01.11Y"].startswith("Culture de céréales")
    corr = naf_correspondence()
    assert len(corr) == 1223
    rev2 = {c for c, n in naf_codes().items() if n.level == "subclass"}
    assert {c.naf_rev2 for c in corr} == rev2  # every NAF rév. 2 sous-classe has a target
    assert {c.naf_2025 for c in corr} <= set(codes)
    by_rev2: dict[str, list[str]] = {}
    for c in corr:
        by_rev2.setdefault(c.naf_rev2, []).append(c.kind)
    assert all((kinds == ["unique"]) == (len(kinds) == 1) for kinds in by_rev2.values())
    # well-known moves of the revision, as INSEE publishes them
    pairs = {(c.naf_rev2, c.naf_2025) for c in corr}
    assert {("41.10A", "68.12Y"), ("62.02A", "62.20G"), ("63.91Z", "60.31Y")} <= pairs
    assert ("10.71B", "47.24Y") in pairs  # cuisson de produits de boulangerie -> commerce
    assert naf25_section("62") == "K" and naf25_section("58") == "J" and naf25_section("99") == "V"
    assert naf25_label("62.10") == codes["62.10Y"] and naf25_label("62.20") is None


def test_file_with_both_columns_keeps_both_codes(mini_db: duckdb.DuckDBPyConnection) -> None:
    imported(mini_db, BOTH)
    rows = dict(
        mini_db.execute(
            "SELECT siret, naf || ' ' || coalesce(naf25, '-') FROM establishment"
        ).fetchall()
    )
    assert rows["10000000100011"] == "62.01Z 62.10Y"
    assert rows["10000000200012"] == "62.02A 62.20G"
    assert rows["10000001300013"] == "41.10A 68.12Y"
    assert rows["10000001400014"] == "62.01Z -"  # 62.01Y is no NAF 2025 code: kept, no sector
    division = mini_db.execute(
        "SELECT naf25_section, naf25_division, naf25_group FROM establishment "
        "WHERE siret = '10000001300013'"
    ).fetchone()
    assert division == ("M", "68", "68.1")
    legal = mini_db.execute(
        "SELECT naf, naf25 FROM legal_unit WHERE siren = '100000013'"
    ).fetchone()
    assert legal == ("41.10A", "68.12Y")
    sources = mini_db.execute(
        "SELECT dataset, publisher FROM source WHERE name = 'naf-2025' ORDER BY dataset"
    ).fetchall()
    assert sources == [("naf_2025.csv", "INSEE"), ("naf_rev2_naf2025.csv", "INSEE")]
    assert mini_db.execute("SELECT count(*) FROM naf_correspondence").fetchone() == (1223,)


def test_unknown_naf25_code_is_reported(mini_db: duckdb.DuckDBPyConnection) -> None:
    imported(mini_db, BOTH)
    runner = CliRunner()
    db = mini_db.execute("SELECT path FROM duckdb_databases() WHERE NOT internal").fetchone()
    assert db is not None
    mini_db.close()
    result = runner.invoke(
        app,
        [
            "import", "sirene", "--etablissements", str(BOTH / "StockEtablissement_utf8.csv"),
            "--json", "--db", str(db[0]),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    problem = report["problems"]["unknown_naf25"]
    assert problem["count"] == 1 and problem["examples"] == ["62.01Y"]
    assert not problem["blocking"]


def test_old_files_still_import(mini_db: duckdb.DuckDBPyConnection) -> None:
    imported(mini_db, OLD)
    row = mini_db.execute("SELECT count(*), count(naf), count(naf25) FROM establishment").fetchone()
    assert row is not None and row[0] == 14 and row[1] == 13 and row[2] == 0
    profile = specialisation_profile(mini_db, "35238", level="commune", naf="2025").to_dict()
    assert any("NAF 2025" in w for w in profile["warnings"])


def test_both_nomenclatures_give_their_own_indices(mini_db: duckdb.DuckDBPyConnection) -> None:
    imported(mini_db, BOTH)

    def lq(naf: str, level: str) -> dict[str, float]:
        rows = location_quotients(
            mini_db, level="commune", sector_level=level, code="35055", naf=naf
        ).fetchall()
        return {str(r[1]): float(r[8]) for r in rows}

    rev2, naf25 = lq("rev2", "division"), lq("2025", "division")
    # the property developer is construction (41) in NAF rév. 2, real estate (68) in NAF 2025
    assert set(rev2) == {"41"} and set(naf25) == {"68"}
    # alone in its sector and its commune: LQ = employment of the base with a sector in that
    # nomenclature / its own employment (brute force on the table)
    own, total_rev2, total_2025 = mini_db.execute(
        "SELECT sum(employment) FILTER (siret = '10000001300013'), "
        "sum(employment) FILTER (naf IS NOT NULL), sum(employment) FILTER (naf25 IS NOT NULL) "
        "FROM establishment WHERE active AND commune IS NOT NULL"
    ).fetchone() or (0.0, 0.0, 0.0)
    assert total_rev2 != total_2025  # 62.01Y is not a NAF 2025 code: one establishment less
    assert math.isclose(rev2["41"], total_rev2 / own)
    assert math.isclose(naf25["68"], total_2025 / own)
    classes = set(lq("2025", "class")) | set(
        location_quotients(mini_db, level="commune", sector_level="class", naf="2025")
        .fetchnumpy()["sector"]
        .tolist()
    )
    assert {"62.10", "62.20"} <= classes and not {"62.01", "62.02"} & classes


def test_profile_names_nomenclature_and_single_region_reference(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    imported(mini_db, BOTH)
    profile = specialisation_profile(mini_db, "35238", level="commune", naf="2025").to_dict()
    assert profile["nomenclature"] == "2025" and profile["nomenclature_name"] == "NAF 2025"
    scope = profile["reference_scope"]
    assert scope["kind"] == "nation" and scope["regions"] == 1
    assert scope["name"] == "Bretagne (53)" and "one région only" in scope["warning"]
    assert profile["warnings"] == [scope["warning"]]
    sectors = {s["sector"]: s["label"] for s in profile["largest"]}
    assert "62" in sectors  # divisions of NAF 2025 carry no label (not shipped), never a wrong one
    rev2 = specialisation_profile(mini_db, "35238", level="commune", naf="rev2").to_dict()
    assert rev2["nomenclature_name"] == "NAF rév. 2"
    assert rev2["largest"][0]["label"] == naf_codes()[rev2["largest"][0]["sector"]].label
    with pytest.raises(InvalidAnalysisRequest, match="'rev2'"):
        specialisation_profile(mini_db, "35238", level="commune", naf="2008")


def test_default_nomenclature_switches_on_1_january_2027() -> None:
    assert default_nomenclature(dt.date(2026, 12, 31)) == "rev2"
    assert default_nomenclature(dt.date(2027, 1, 1)) == "2025"


def test_cli_profile_json_says_which_nomenclature(mini_db: duckdb.DuckDBPyConnection) -> None:
    imported(mini_db, BOTH)
    db = mini_db.execute("SELECT path FROM duckdb_databases() WHERE NOT internal").fetchone()
    assert db is not None
    mini_db.close()
    runner = CliRunner()
    out = runner.invoke(
        app, ["economy", "profile", "35238", "--naf", "2025", "--json", "--db", str(db[0])]
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["nomenclature"] == "2025" and data["reference_scope"]["name"] == "Bretagne (53)"
    text = runner.invoke(app, ["economy", "profile", "35238", "--naf", "2025", "--db", str(db[0])])
    assert "NAF 2025 division" in text.stdout and "one région only" in text.stdout
    bad = runner.invoke(app, ["economy", "profile", "35238", "--naf", "2008", "--db", str(db[0])])
    assert bad.exit_code != 0 and "'rev2'" in bad.output


def test_star_rules_on_a_planted_case() -> None:
    t = {"size_p90": 0.10, "focus_p90": 0.05, "specialisation_lq": 2.0, "territories": 40}
    stars, reasons = star_rating(0.12, 2.5, 0.06, t)
    assert stars == 3 and all(r["met"] for r in reasons)
    stars, reasons = star_rating(0.09, 2.5, 0.01, t)
    assert stars == 1 and [r["met"] for r in reasons] == [False, True, False]
    assert reasons[0]["reason"].startswith("Taille : pas d'étoile")
    assert "9,00 %" in reasons[0]["reason"] and "10,00 %" in reasons[0]["reason"]
    assert "40 EPCI" in reasons[2]["reason"]
    stars, reasons = star_rating(0.5, 1.99, 0.5, t)
    assert stars == 2 and not reasons[1]["met"]  # LQ just under ECO's threshold of 2
    none = {**t, "size_p90": math.inf, "focus_p90": math.inf}
    assert star_rating(1.0, 3.0, 1.0, none)[0] == 1


def test_synthetic_files_carry_naf25(tmp_path: Path, mini_db: duckdb.DuckDBPyConnection) -> None:
    from territoria.synth import synth_sirene

    synth_sirene(mini_db, tmp_path, seed=3, rows=2000, planted=1)
    with (tmp_path / "StockEtablissement_utf8.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    corr: dict[str, set[str]] = {}
    for c in naf_correspondence():
        corr.setdefault(c.naf_rev2, set()).add(c.naf_2025)
    assert all(
        r["activitePrincipaleNAF25Etablissement"] in corr[r["activitePrincipaleEtablissement"]]
        for r in rows
    )
    unique = [r for r in rows if len(corr[r["activitePrincipaleEtablissement"]]) == 1]
    assert unique and all(r["activitePrincipaleNAF25Etablissement"] for r in unique)
