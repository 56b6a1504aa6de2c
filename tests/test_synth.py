"""Synthetic SIRENE files: exact format, determinism, documented structure, synthetic labels."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import InvalidAnalysisRequest, UnknownTerritory
from territoria.kb import connect
from territoria.sources.sirene import import_sirene
from territoria.synth import synth_sirene
from territoria.synth._columns import (
    ESTABLISHMENT_COLUMNS,
    ESTABLISHMENT_FILE,
    GEOLOCATION_COLUMNS,
    GEOLOCATION_FILE,
    HISTORY_COLUMNS,
    HISTORY_FILE,
    LEGAL_UNIT_COLUMNS,
    LEGAL_UNIT_FILE,
)
from territoria.synth._model import THEMES

ROWS = 6000


@pytest.fixture(scope="module")
def generated(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Synthetic files for the fixture's communes (read-only use of the knowledge base)."""
    con = connect(mini_db_path, read_only=True)
    out = tmp_path_factory.mktemp("synth") / "files"
    result = synth_sirene(con, out, seed=4, rows=ROWS, planted=3)
    con.close()
    return result


@pytest.fixture
def synthetic_db(
    mini_db_path: Path, tmp_path: Path, generated: dict[str, object]
) -> Iterator[duckdb.DuckDBPyConnection]:
    db = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, db)
    con = connect(db)
    folder = Path(str(generated["out_dir"]))
    import_sirene(
        con,
        establishments=folder / ESTABLISHMENT_FILE,
        legal_units=folder / LEGAL_UNIT_FILE,
        geolocation=folder / GEOLOCATION_FILE,
        history=folder / HISTORY_FILE,
    )
    yield con
    con.close()


def header(path: Path, delimiter: str = ",") -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return next(csv.reader(handle, delimiter=delimiter))


def luhn_ok(numbers: list[str]) -> bool:
    digits = np.asarray([[int(c) for c in n] for n in numbers])
    doubled = digits[:, ::-1].copy()
    doubled[:, 1::2] *= 2
    doubled[doubled > 9] -= 9
    return bool(np.all(doubled.sum(axis=1) % 10 == 0))


def test_files_have_the_official_columns(generated: dict[str, object]) -> None:
    folder = Path(str(generated["out_dir"]))
    assert header(folder / ESTABLISHMENT_FILE) == list(ESTABLISHMENT_COLUMNS)
    assert header(folder / LEGAL_UNIT_FILE) == list(LEGAL_UNIT_COLUMNS)
    assert header(folder / HISTORY_FILE) == list(HISTORY_COLUMNS)
    assert header(folder / GEOLOCATION_FILE, ";") == list(GEOLOCATION_COLUMNS)
    for column in ("siret", "codeCommuneEtablissement", "trancheEffectifsEtablissement"):
        assert column in ESTABLISHMENT_COLUMNS
    with (folder / ESTABLISHMENT_FILE).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == ROWS
    assert {r["etatAdministratifEtablissement"] for r in rows} == {"A", "F"}
    assert {r["nomenclatureActivitePrincipaleEtablissement"] for r in rows} == {"NAFRev2"}
    assert all(r["denominationUsuelleEtablissement"].startswith("SYNTHÉTIQUE") for r in rows)
    assert all(r["siret"].startswith(r["siren"]) and len(r["siret"]) == 14 for r in rows)
    assert luhn_ok([r["siren"] for r in rows]) and luhn_ok([r["siret"] for r in rows])
    assert len({r["siret"] for r in rows}) == ROWS


def test_same_seed_same_files(mini_db_path: Path, tmp_path: Path) -> None:
    con = connect(mini_db_path, read_only=True)
    a = synth_sirene(con, tmp_path / "a", seed=11, rows=800, history=False)
    b = synth_sirene(con, tmp_path / "b", seed=11, rows=800, history=False)
    c = synth_sirene(con, tmp_path / "c", seed=12, rows=800, history=False)
    con.close()
    for name in (ESTABLISHMENT_FILE, GEOLOCATION_FILE, "planted.json"):
        first = (tmp_path / "a" / name).read_bytes()
        assert sorted(first.splitlines()) == sorted(
            (tmp_path / "b" / name).read_bytes().splitlines()
        )
        assert first != (tmp_path / "c" / name).read_bytes()
    assert a["planted"] == b["planted"] != c["planted"]


def test_planted_concentrations_are_listed(generated: dict[str, object]) -> None:
    folder = Path(str(generated["out_dir"]))
    planted = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
    assert planted == generated["planted"]
    assert len(planted) == 3
    themes = {t.key: t for t in THEMES}
    with (folder / ESTABLISHMENT_FILE).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for p in planted:
        theme = themes[p["theme"]]
        assert p["sectors"] == list(theme.sectors)
        assert p["groups"] == sorted({s[:4] for s in theme.sectors})
        assert p["centre"]["commune"] in p["communes"]
        in_area = [
            r
            for r in rows
            if r["codeCommuneEtablissement"] in p["communes"]
            and r["activitePrincipaleEtablissement"] in theme.sectors
        ]
        assert len(in_area) >= p["establishments"]
    # Every other concentration grows: its establishments opened in the last five years.
    assert [p["growing"] for p in planted] == [True, False, True]
    manifest = json.loads((folder / "synthetic.json").read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True and manifest["seed"] == 4
    assert "SYNTHETIC" in manifest["note"]


def test_establishments_follow_population_and_density(
    synthetic_db: duckdb.DuckDBPyConnection,
) -> None:
    rows = synthetic_db.execute(
        """
        SELECT t.population, t.density, count(e.siret) AS n,
               count_if(e.division IN ('64', '66', '69', '70')) AS urban,
               count_if(e.division IN ('01', '02')) AS rural
        FROM territory t JOIN establishment e ON e.commune = t.code
        WHERE t.level = 'commune' GROUP BY ALL
        """
    ).fetchnumpy()
    population = np.asarray(rows["population"], dtype=float)
    count = np.asarray(rows["n"], dtype=float)
    assert np.corrcoef(population, count)[0, 1] > 0.95
    # Finance, law and head offices favour dense communes, farming sparse ones (pooled shares).
    density = np.asarray(rows["density"], dtype=float)
    dense = density >= np.quantile(density, 0.75)
    sparse = density <= np.quantile(density, 0.25)
    urban, rural = np.asarray(rows["urban"], float), np.asarray(rows["rural"], float)
    assert urban[dense].sum() / count[dense].sum() > 1.3 * urban[sparse].sum() / count[sparse].sum()
    assert rural[sparse].sum() / count[sparse].sum() > 1.3 * rural[dense].sum() / count[dense].sum()


def test_imports_are_labelled_synthetic(synthetic_db: duckdb.DuckDBPyConnection) -> None:
    flags = synthetic_db.execute(
        "SELECT DISTINCT synthetic FROM source WHERE name = 'sirene'"
    ).fetchall()
    assert flags == [(True,)]
    count = synthetic_db.execute("SELECT count(*) FROM establishment").fetchone()
    assert count == (ROWS,)
    problems = synthetic_db.execute(
        "SELECT count(*) FROM establishment WHERE commune IS NULL OR naf IS NULL"
    ).fetchone()
    assert problems == (0,)
    geolocated = synthetic_db.execute(
        "SELECT count(*) = count(lon) FROM establishment WHERE active"
    ).fetchone()
    assert geolocated == (True,)


def test_bad_requests(mini_db_path: Path, tmp_path: Path) -> None:
    con = connect(mini_db_path, read_only=True)
    with pytest.raises(InvalidAnalysisRequest, match="at least 100 rows"):
        synth_sirene(con, tmp_path, rows=10)
    with pytest.raises(UnknownTerritory, match="'11'"):
        synth_sirene(con, tmp_path, region="11", rows=500)
    con.close()


def test_cli_synth_sirene(mini_db_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "demo"
    args = ["synth", "sirene", "--db", str(mini_db_path), "-o", str(out), "--rows", "500"]
    result = runner.invoke(app, [*args, "--seed", "3", "--no-history"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC DATA" in result.output
    assert (out / ESTABLISHMENT_FILE).exists() and not (out / HISTORY_FILE).exists()
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["synthetic"] is True
