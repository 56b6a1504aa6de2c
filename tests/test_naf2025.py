"""NAF 2025: INSEE's files imported by the user, SIRENE files with both NAF columns (with and
without the nomenclature imported), indices in either nomenclature, the reference actually used,
and the European Cluster Observatory star rules.

The xlsx files below are FIXTURES IN THE OFFICIAL LAYOUT (sheet names, header texts as INSEE
writes them), written by the tests with codes and labels chosen for the tests: they are not the
official content of the NAF 2025.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from territoria.analysis._poles_counts import star_rating
from territoria.analysis.specialisation import (
    default_nomenclature,
    location_quotients,
    specialisation_profile,
)
from territoria.cli import app
from territoria.errors import InvalidAnalysisRequest, SourceError
from territoria.kb.naf import naf_codes
from territoria.kb.naf2025 import naf25_labels, naf25_section, naf_correspondence
from territoria.sources.naf2025 import import_naf2025
from territoria.sources.sirene import import_sirene

DATA = Path(__file__).parent / "data"
BOTH = DATA / "sirene_naf25"
OLD = DATA / "sirene"

# Fixture (official layout, test content): the sous-classes the SIRENE test files use, with
# their section, division, group and class rows; labels are the tests' own.
SUBCLASSES = {
    "10.13G": "Charcuterie (fixture)",
    "26.11Y": "Composants électroniques (fixture)",
    "43.21G": "Installation électrique (fixture)",
    "47.11G": "Supérettes (fixture)",
    "62.10Y": "Programmation informatique (fixture)",
    "62.20G": "Conseil informatique (fixture)",
    "68.12Y": "Promotion immobilière (fixture)",
    "72.10H": "Recherche en sciences (fixture)",
    "84.11Y": "Administration générale (fixture)",
    "85.40Y": "Enseignement supérieur (fixture)",
}
PAIRS = [  # (NAF rév. 2, NAF 2025): 62.02A is split between two targets
    ("10.13A", "10.13G"), ("26.11Z", "26.11Y"), ("43.21A", "43.21G"), ("47.11B", "47.11G"),
    ("62.01Z", "62.10Y"), ("62.02A", "62.20G"), ("62.02A", "62.10Y"), ("41.10A", "68.12Y"),
    ("72.19Z", "72.10H"), ("84.11Z", "84.11Y"), ("85.42Z", "85.40Y"),
]  # fmt: skip
OLD_HEADER = "NAFold-code\n(code niveau sous-classe de la nomenclature actuelle)"
NEW_HEADER = (
    "NAFnew-code\n(code niveau sous-classe de la nomenclature 2025, correspondance logique "
    "avec les NAFold-codes)"
)


def structure_rows(subclasses: dict[str, str]) -> list[tuple[str, str]]:
    rows: dict[str, str] = {}
    for code, label in sorted(subclasses.items()):
        section = naf25_section(code[:2]) or "?"
        rows.setdefault(f"SECTION {section}", f"Niveau {section} (fixture)")
        for level in (code[:2], code[:4], code[:5]):
            rows.setdefault(level, f"Niveau {level} (fixture)")
        rows[code] = label
    return list(rows.items())


def write_structure(path: Path, rows: list[tuple[str, str]], *, header: str = "Intitulé") -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "NAF 2025"
    sheet.append(["Structure de la NAF 2025 (fixture in the official layout)"])
    sheet.append([])
    sheet.append(["Code", header])
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def write_correspondence(path: Path, pairs: list[tuple[str, str]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Correspondances"
    sheet.append([OLD_HEADER, "NAFold-intitulé\n(niveau sous-classe)", NEW_HEADER])
    for old, new in pairs:
        sheet.append([old, f"libellé {old} (fixture)", new])
    book.save(path)
    return path


@pytest.fixture
def insee_files(tmp_path: Path) -> tuple[Path, Path]:
    return (
        write_structure(tmp_path / "Structure NAF 2025.xlsx", structure_rows(SUBCLASSES)),
        write_correspondence(tmp_path / "Correspondances_NAFrev2-NAF2025.xlsx", PAIRS),
    )


def nomenclature(con: duckdb.DuckDBPyConnection, files: tuple[Path, Path]) -> None:
    import_naf2025(con, structure=files[0], correspondence=files[1])


def db_path(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT path FROM duckdb_databases() WHERE NOT internal").fetchone()
    assert row is not None
    return str(row[0])


def imported(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    import_sirene(
        con,
        establishments=folder / "StockEtablissement_utf8.csv",
        legal_units=folder / "StockUniteLegale_utf8.csv",
        geolocation=folder
        / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv",
    )


# --------------------------------------------------------------------------- import naf2025


def test_import_naf2025_counts_and_source(
    mini_db: duckdb.DuckDBPyConnection, insee_files: tuple[Path, Path]
) -> None:
    report = import_naf2025(mini_db, structure=insee_files[0], correspondence=insee_files[1])
    assert report.subclasses == 10 and report.pairs == 11 and report.rev2_codes == 10
    assert report.multiple == 2 and report.unique == 9
    assert report.levels["subclass"] == 10 and report.levels["division"] == 9
    assert mini_db.execute("SELECT count(*) FROM naf_2025").fetchone() == (10,)
    row = mini_db.execute(
        "SELECT label, section, division, naf_group, naf_class FROM naf_2025 WHERE code = '68.12Y'"
    ).fetchone()
    assert row == ("Promotion immobilière (fixture)", "M", "68", "68.1", "68.12")
    kinds = dict(
        mini_db.execute(
            "SELECT naf_rev2 || '>' || naf_2025, kind FROM naf_correspondence"
        ).fetchall()
    )
    assert kinds["62.02A>62.10Y"] == kinds["62.02A>62.20G"] == "multiple"
    assert kinds["41.10A>68.12Y"] == "unique"
    sources = mini_db.execute(
        "SELECT dataset, publisher, licence, version, note, address FROM source "
        "WHERE name = 'naf-2025' ORDER BY dataset"
    ).fetchall()
    assert [s[0] for s in sources] == [
        "Correspondances NAF rév. 2 – NAF 2025",
        "Structure NAF 2025",
    ]
    assert all(s[1] == "INSEE" and s[2].startswith("Licence Ouverte 2.0") for s in sources)
    assert sources[1][3] == "Structure NAF 2025.xlsx"
    size = insee_files[0].stat().st_size
    assert f"{size:,} bytes, sha256 " in sources[1][4]
    assert sources[1][5] == "https://www.insee.fr/fr/information/8617910"
    levels = mini_db.execute(
        "SELECT level, label FROM naf_2025_level WHERE code IN ('M', '68', '68.1') ORDER BY code"
    ).fetchall()
    assert levels == [
        ("division", "Niveau 68 (fixture)"), ("group", "Niveau 68.1 (fixture)"),
        ("section", "Niveau M (fixture)"),
    ]  # fmt: skip
    labels = naf25_labels(mini_db)
    assert labels["62.20G"] == "Conseil informatique (fixture)"
    assert labels["62.10"] == "Niveau 62.10 (fixture)"  # the structure names the class
    assert labels["M"] == "Niveau M (fixture)"  # written "SECTION M" in the sheet
    assert len(naf_correspondence(mini_db)) == 11


def test_bad_header_names_the_sheet_and_column(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path, insee_files: tuple[Path, Path]
) -> None:
    bad = write_structure(tmp_path / "s.xlsx", structure_rows(SUBCLASSES), header="Nom")
    with pytest.raises(SourceError) as err:
        import_naf2025(mini_db, structure=bad, correspondence=insee_files[1])
    assert "sheet 'NAF 2025' has no column 'Intitulé'" in str(err.value)
    assert mini_db.execute("SELECT count(*) FROM source WHERE name = 'naf-2025'").fetchone() == (0,)


def test_malformed_code_and_unknown_target_are_line_numbered(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path, insee_files: tuple[Path, Path]
) -> None:
    rows = structure_rows(SUBCLASSES)
    rows.insert(2, ("62-10Y", "malformed (fixture)"))
    bad = write_structure(tmp_path / "s.xlsx", rows)
    with pytest.raises(SourceError, match=r"sheet 'NAF 2025', row 6: code '62-10Y'"):
        import_naf2025(mini_db, structure=bad, correspondence=insee_files[1])
    corr = write_correspondence(tmp_path / "c.xlsx", [*PAIRS, ("62.01Z", "62.01Y")])
    with pytest.raises(SourceError) as err:
        import_naf2025(mini_db, structure=insee_files[0], correspondence=corr)
    assert "sheet 'Correspondances', row 13: NAFnew-code '62.01Y'" in str(err.value)
    assert mini_db.execute("SELECT count(*) FROM naf_2025").fetchone() == (0,)
    assert mini_db.execute("SELECT count(*) FROM naf_correspondence").fetchone() == (0,)


def test_reimport_replaces_atomically(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path, insee_files: tuple[Path, Path]
) -> None:
    nomenclature(mini_db, insee_files)
    smaller = {k: v for k, v in SUBCLASSES.items() if k != "85.40Y"}
    structure = write_structure(tmp_path / "s2.xlsx", structure_rows(smaller))
    pairs = [p for p in PAIRS if p[1] != "85.40Y"]
    corr = write_correspondence(tmp_path / "c2.xlsx", pairs)
    with pytest.raises(SourceError, match=r"85\.40Y"):  # the old correspondence does not fit
        import_naf2025(mini_db, structure=structure, correspondence=insee_files[1])
    assert mini_db.execute("SELECT count(*) FROM naf_2025").fetchone() == (10,)
    report = import_naf2025(mini_db, structure=structure, correspondence=corr)
    assert report.replaced_previous == 10
    assert mini_db.execute("SELECT count(*) FROM naf_2025").fetchone() == (9,)
    assert mini_db.execute("SELECT count(*) FROM naf_correspondence").fetchone() == (10,)
    assert mini_db.execute(
        "SELECT count(*), count(DISTINCT version) FROM source WHERE name = 'naf-2025'"
    ).fetchone() == (2, 2)


def test_csv_exports_are_accepted(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    structure = tmp_path / "structure.csv"
    lines = ["Code;Intitulé"] + [f"{c};{label}" for c, label in structure_rows(SUBCLASSES)]
    structure.write_bytes("\n".join(lines).encode("latin-1"))
    corr = tmp_path / "corr.csv"
    corr_lines = ["NAFold-code;NAFnew-code"] + [f"{a};{b}" for a, b in PAIRS]
    corr.write_text("\ufeff" + "\n".join(corr_lines), encoding="utf-8")
    report = import_naf2025(mini_db, structure=structure, correspondence=corr)
    assert report.subclasses == 10 and report.pairs == 11
    assert naf25_labels(mini_db)["26.11Y"] == "Composants électroniques (fixture)"


def test_cli_import_naf2025(
    mini_db: duckdb.DuckDBPyConnection, insee_files: tuple[Path, Path]
) -> None:
    db = db_path(mini_db)
    mini_db.close()
    runner = CliRunner()
    args = ["import", "naf2025", "--structure", str(insee_files[0]), "--db", db]
    out = runner.invoke(app, [*args, "--correspondence", str(insee_files[1]), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["pairs"] == 11
    text = runner.invoke(app, [*args, "--correspondence", str(insee_files[1])])
    assert "10 sous-classes" in text.stdout and "2 multiple" in text.stdout
    bad = runner.invoke(app, [*args, "--correspondence", str(insee_files[0])])
    assert bad.exit_code != 0 and "NAFold-code" in bad.output


# --------------------------------------------------------------------------- SIRENE


def test_file_with_both_columns_keeps_both_codes(
    mini_db: duckdb.DuckDBPyConnection, insee_files: tuple[Path, Path]
) -> None:
    nomenclature(mini_db, insee_files)
    imported(mini_db, BOTH)
    rows = dict(
        mini_db.execute(
            "SELECT siret, naf || ' ' || coalesce(naf25, '-') FROM establishment"
        ).fetchall()
    )
    assert rows["10000000100011"] == "62.01Z 62.10Y"
    assert rows["10000000200012"] == "62.02A 62.20G"
    assert rows["10000001300013"] == "41.10A 68.12Y"
    assert rows["10000001400014"] == "62.01Z -"  # 62.01Y is not in the structure: no sector
    division = mini_db.execute(
        "SELECT naf25_section, naf25_division, naf25_group FROM establishment "
        "WHERE siret = '10000001300013'"
    ).fetchone()
    assert division == ("M", "68", "68.1")
    legal = mini_db.execute(
        "SELECT naf, naf25 FROM legal_unit WHERE siren = '100000013'"
    ).fetchone()
    assert legal == ("41.10A", "68.12Y")
    # the SIRENE import leaves the nomenclature's tables and sources alone
    assert mini_db.execute("SELECT count(*) FROM naf_correspondence").fetchone() == (11,)
    assert mini_db.execute("SELECT count(*) FROM source WHERE name = 'naf-2025'").fetchone() == (2,)


def test_without_nomenclature_codes_are_kept_unchecked(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    imported(mini_db, BOTH)
    rows = dict(mini_db.execute("SELECT siret, naf25 FROM establishment").fetchall())
    assert rows["10000001400014"] == "62.01Y"  # well-formed: kept as written, not checked
    assert rows["10000001200012"] is None  # no NAF 2025 code in the file
    row = mini_db.execute(
        "SELECT naf25_section, naf25_division, naf25_group FROM establishment "
        "WHERE siret = '10000001300013'"
    ).fetchone()
    assert row == ("M", "68", "68.1")
    assert mini_db.execute("SELECT count(*) FROM naf_2025").fetchone() == (0,)


def test_unknown_naf25_code_is_reported(
    mini_db: duckdb.DuckDBPyConnection, insee_files: tuple[Path, Path]
) -> None:
    db = db_path(mini_db)
    mini_db.close()
    runner = CliRunner()
    sirene = ["import", "sirene", "--etablissements", str(BOTH / "StockEtablissement_utf8.csv"),
              "--json", "--db", db]  # fmt: skip
    result = runner.invoke(app, sirene)
    assert result.exit_code == 0, result.output
    problems = json.loads(result.stdout)["problems"]
    unchecked = problems["naf25_unchecked"]
    assert unchecked["count"] == 13 and not unchecked["blocking"]
    assert "NAF 2025 nomenclature not imported: codes not checked" in unchecked["text"]
    assert "unknown_naf25" not in problems
    runner.invoke(app, ["import", "naf2025", "--structure", str(insee_files[0]),
                        "--correspondence", str(insee_files[1]), "--db", db])  # fmt: skip
    problems = json.loads(runner.invoke(app, sirene).stdout)["problems"]
    problem = problems["unknown_naf25"]
    assert problem["count"] == 1 and problem["examples"] == ["62.01Y"]
    assert not problem["blocking"] and "naf25_unchecked" not in problems


def test_old_files_still_import(mini_db: duckdb.DuckDBPyConnection) -> None:
    imported(mini_db, OLD)
    row = mini_db.execute("SELECT count(*), count(naf), count(naf25) FROM establishment").fetchone()
    assert row is not None and row[0] == 14 and row[1] == 13 and row[2] == 0
    profile = specialisation_profile(mini_db, "35238", level="commune", naf="2025").to_dict()
    assert any("NAF 2025" in w for w in profile["warnings"])


# --------------------------------------------------------------------------- indices


@pytest.mark.parametrize("with_nomenclature", [True, False])
def test_both_nomenclatures_give_their_own_indices(
    mini_db: duckdb.DuckDBPyConnection, insee_files: tuple[Path, Path], with_nomenclature: bool
) -> None:
    if with_nomenclature:
        nomenclature(mini_db, insee_files)
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
    # 62.01Y is no code of the structure: one establishment less, unless nothing is checked
    assert (total_rev2 != total_2025) == with_nomenclature
    assert math.isclose(rev2["41"], total_rev2 / own)
    assert math.isclose(naf25["68"], total_2025 / own)
    classes = set(lq("2025", "class")) | set(
        location_quotients(mini_db, level="commune", sector_level="class", naf="2025")
        .fetchnumpy()["sector"]
        .tolist()
    )
    assert {"62.10", "62.20"} <= classes and ("62.01" in classes) != with_nomenclature


def test_profile_names_nomenclature_and_single_region_reference(
    mini_db: duckdb.DuckDBPyConnection, insee_files: tuple[Path, Path]
) -> None:
    imported(mini_db, BOTH)
    bare = specialisation_profile(
        mini_db, "35238", level="commune", naf="2025", sector_level="subclass"
    ).to_dict()
    assert "NAF 2025 nomenclature not imported (territoria import naf2025)" in " ".join(
        bare["warnings"]
    )
    assert all(s["label"] is None for s in bare["largest"])  # the code is shown, no label
    nomenclature(mini_db, insee_files)
    imported(mini_db, BOTH)
    profile = specialisation_profile(mini_db, "35238", level="commune", naf="2025").to_dict()
    assert profile["nomenclature"] == "2025" and profile["nomenclature_name"] == "NAF 2025"
    scope = profile["reference_scope"]
    assert scope["kind"] == "nation" and scope["regions"] == 1
    assert scope["name"] == "Bretagne (53)" and "one région only" in scope["warning"]
    assert profile["warnings"] == [scope["warning"]]
    sectors = {s["sector"]: s["label"] for s in profile["largest"]}
    assert sectors["62"] == "Niveau 62 (fixture)"  # the division's intitulé in the structure
    sub = specialisation_profile(
        mini_db, "35238", level="commune", naf="2025", sector_level="subclass"
    ).to_dict()
    labels = {s["sector"]: s["label"] for s in sub["largest"]}
    assert labels and all(labels[c] == SUBCLASSES[c] for c in labels)
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
    db = db_path(mini_db)
    mini_db.close()
    runner = CliRunner()
    out = runner.invoke(app, ["economy", "profile", "35238", "--naf", "2025", "--json", "--db", db])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["nomenclature"] == "2025" and data["reference_scope"]["name"] == "Bretagne (53)"
    assert any("territoria import naf2025" in w for w in data["warnings"])
    text = runner.invoke(app, ["economy", "profile", "35238", "--naf", "2025", "--db", db])
    assert "NAF 2025 division" in text.stdout and "one région only" in text.stdout
    assert "territoria import naf2025" in text.stdout
    bad = runner.invoke(app, ["economy", "profile", "35238", "--naf", "2008", "--db", db])
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


# --------------------------------------------------------------------------- synthetic files


def _synth(
    con: duckdb.DuckDBPyConnection, out: Path
) -> tuple[list[dict[str, str]], dict[str, object]]:
    from territoria.synth import synth_sirene

    result = synth_sirene(con, out, seed=3, rows=2000, planted=1)
    with (out / "StockEtablissement_utf8.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f)), result


def test_synthetic_files_carry_naf25_from_the_imported_correspondence(
    tmp_path: Path, mini_db: duckdb.DuckDBPyConnection, insee_files: tuple[Path, Path]
) -> None:
    nomenclature(mini_db, insee_files)
    rows, result = _synth(mini_db, tmp_path / "out")
    corr: dict[str, set[str]] = {}
    for old, new in PAIRS:
        corr.setdefault(old, set()).add(new)
    coded = [r for r in rows if r["activitePrincipaleNAF25Etablissement"]]
    assert coded and all(
        r["activitePrincipaleNAF25Etablissement"] in corr[r["activitePrincipaleEtablissement"]]
        for r in coded
    )
    assert all(r["activitePrincipaleEtablissement"] in corr for r in coded)
    unique = [r for r in rows if len(corr.get(r["activitePrincipaleEtablissement"], ())) == 1]
    assert unique and all(r["activitePrincipaleNAF25Etablissement"] for r in unique)
    assert "Correspondances_NAFrev2-NAF2025.xlsx (11 pairs)" in str(result["naf2025"])


def test_synthetic_files_without_correspondence_leave_naf25_empty(
    tmp_path: Path, mini_db: duckdb.DuckDBPyConnection
) -> None:
    rows, result = _synth(mini_db, tmp_path / "out")
    assert rows and not any(r["activitePrincipaleNAF25Etablissement"] for r in rows)
    assert "activitePrincipaleNAF25Etablissement" in rows[0]  # the column is there, empty
    manifest = json.loads((tmp_path / "out" / "synthetic.json").read_text(encoding="utf-8"))
    assert "left empty" in manifest["naf2025"] and "territoria import naf2025" in str(
        result["naf2025"]
    )
