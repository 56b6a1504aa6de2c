"""Co-location relatedness, the sector graph, Louvain groups and user-defined groups."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from territoria.analysis.relatedness import (
    colocation_relatedness,
    import_sector_groups,
    import_sector_links,
    load_sector_groups,
    relatedness_graph,
    sector_groups,
    sector_schemes,
)
from territoria.analysis.specialisation import SectorMatrix, sector_concentration
from territoria.cli import app
from territoria.errors import InvalidAnalysisRequest, SourceError, ValidationError
from territoria.kb import connect
from territoria.sources.sirene import import_sirene
from territoria.synth import synth_sirene


@pytest.fixture(scope="module")
def synthetic(
    mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, list[dict[str, object]]]]:
    """A knowledge base with a synthetic economy (three planted concentrations)."""
    folder = tmp_path_factory.mktemp("related")
    db = folder / "kb.duckdb"
    shutil.copyfile(mini_db_path, db)
    con = connect(db)
    result = synth_sirene(con, folder / "files", seed=12, rows=15000, planted=3, history=False)
    import_sirene(con, establishments=folder / "files" / "StockEtablissement_utf8.csv")
    con.close()
    yield db, list(result["planted"])  # type: ignore[arg-type]


@pytest.fixture
def con(
    synthetic: tuple[Path, list[dict[str, object]]], tmp_path: Path
) -> Iterator[duckdb.DuckDBPyConnection]:
    db = tmp_path / "kb.duckdb"
    shutil.copyfile(synthetic[0], db)
    connection = connect(db)
    yield connection
    connection.close()


def test_weighted_correlation_by_hand() -> None:
    # Four territories, three sectors; sector "b" follows "a", "c" goes elsewhere.
    values = np.array([[10.0, 5.0, 1.0], [1.0, 0.5, 10.0], [2.0, 1.0, 2.0], [1.0, 0.5, 1.0]])
    m = SectorMatrix(
        np.array(["t1", "t2", "t3", "t4"], dtype=object),
        np.array(["a", "b", "c"], dtype=object),
        values,
        values,
    )
    rel = colocation_relatedness(None, matrix=m, traded_only=False, min_establishments=0)  # type: ignore[arg-type]
    totals = values.sum(axis=1)
    lq = values / totals[:, None] / (values.sum(axis=0) / values.sum())
    x = (lq - 1) * np.sqrt(totals)[:, None]
    expected = (x.T @ x) / np.sqrt(np.outer((x**2).sum(axis=0), (x**2).sum(axis=0)))
    assert rel.sectors == ["a", "b", "c"]
    np.testing.assert_allclose(rel.matrix, expected, atol=1e-12)
    assert rel.matrix[0, 1] == pytest.approx(1.0)  # same spread: fully related
    assert rel.matrix[0, 2] < 0
    # The size-weighted mean LQ of every sector is 1: the deviations are centred.
    np.testing.assert_allclose((lq * totals[:, None]).sum(axis=0) / totals.sum(), 1.0)


def test_louvain_groups_recover_the_planted_themes(
    con: duckdb.DuckDBPyConnection, synthetic: tuple[Path, list[dict[str, object]]]
) -> None:
    rel = colocation_relatedness(con, sector_level="group")
    assert np.allclose(rel.matrix, rel.matrix.T) and np.allclose(np.diag(rel.matrix), 1.0)
    groups = sector_groups(con, relatedness=rel)
    assert [g["id"] for g in groups] == [f"g{i:02d}" for i in range(1, len(groups) + 1)]
    for planted in synthetic[1]:
        wanted = [s for s in planted["groups"] if s in rel.sectors]  # type: ignore[attr-defined]
        assert len(wanted) >= 3
        best = max(len(set(wanted) & set(g["sectors"])) for g in groups)
        # Most of a theme's NAF groups fall in one Louvain group.
        assert best / len(wanted) >= 0.75, (planted["theme"], groups)
    graph = relatedness_graph(rel, min_correlation=0.2)
    assert all(d["weight"] >= 0.2 for _, _, d in graph.edges(data=True))
    assert rel.to_dict()["pairs"][0]["relatedness"] >= rel.to_dict()["pairs"][-1]["relatedness"]


def test_traded_sectors_are_the_concentrated_ones(
    con: duckdb.DuckDBPyConnection, synthetic: tuple[Path, list[dict[str, object]]]
) -> None:
    concentration = sector_concentration(con, level="commune", sector_level="group")
    planted = {g for p in synthetic[1] for g in p["groups"]}  # type: ignore[attr-defined]
    traded = {s for s, v in concentration.items() if v["traded"]}
    assert len(planted & traded) >= 0.8 * len(planted & set(concentration))
    # Retail, restaurants, construction, real estate are local: found wherever people live.
    for local in ("47.1", "56.1", "43.2", "68.2"):
        assert not concentration[local]["traded"], local


def test_user_groups(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "filieres.csv"
    path.write_text(
        "group_id,sector,label\nnum,62,Numérique\nnum,63.1,Numérique\nagro,10.13A,Agro\n"
        "agro,C,Agro\n",
        encoding="utf-8",
    )
    assert import_sector_groups(con, path, scheme="filieres") == {
        "scheme": "filieres",
        "groups": 2,
        "sectors": 4,
    }
    groups = load_sector_groups(con, "filieres")
    assert [(g["id"], g["label"], g["sectors"]) for g in groups] == [
        ("agro", "Agro", ["10.13A", "C"]),
        ("num", "Numérique", ["62", "63.1"]),
    ]
    assert sector_groups(con, scheme="filieres") == groups
    assert sector_schemes(con) == [{"scheme": "filieres", "groups": 2, "sectors": 4}]
    # Re-importing replaces the scheme.
    path.write_text("group_id,sector\nnum,62\n", encoding="utf-8")
    import_sector_groups(con, path, scheme="filieres")
    assert [g["sectors"] for g in load_sector_groups(con, "filieres")] == [["62"]]
    bad = tmp_path / "bad.csv"
    bad.write_text("group_id;sector\nx;62\nx;6201\ny;ZZ\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        import_sector_groups(con, bad, scheme="bad")
    assert info.value.problems == [
        "line 3: unknown NAF rev. 2 code '6201'",
        "line 4: unknown NAF rev. 2 code 'ZZ'",
    ]
    assert [s["scheme"] for s in sector_schemes(con)] == ["filieres"]
    with pytest.raises(SourceError, match="group_id"):
        wrong = tmp_path / "wrong.csv"
        wrong.write_text("groupe,secteur\nx,62\n", encoding="utf-8")
        import_sector_groups(con, wrong, scheme="wrong")
    with pytest.raises(InvalidAnalysisRequest, match="no sector-group scheme 'nope'"):
        load_sector_groups(con, "nope")


def test_input_output_links(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "links.csv"
    path.write_text(
        "sector_from,sector_to,weight\n10.1,10.5,5\n10.5,46.3,4\n10.1,46.3,3\n"
        "62.0,63.1,5\n63.1,58.2,4\n58.2,62.0,2\n46.3,62.0,0.1\n",
        encoding="utf-8",
    )
    assert import_sector_links(con, path, scheme="io")["links"] == 7
    groups = sector_groups(con, links="io")
    assert sorted(sorted(g["sectors"]) for g in groups) == [
        ["10.1", "10.5", "46.3"],
        ["58.2", "62.0", "63.1"],
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("sector_from,sector_to,weight\n10.1,10.5,heavy\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="1 bad line"):
        import_sector_links(con, bad, scheme="bad")


def test_cli_groups(synthetic: tuple[Path, list[dict[str, object]]], tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    shutil.copyfile(synthetic[0], db)
    runner = CliRunner()
    result = runner.invoke(app, ["economy", "groups", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    groups = json.loads(result.stdout)
    assert groups and all({"id", "label", "sectors"} <= set(g) for g in groups)
    path = tmp_path / "g.csv"
    path.write_text("group_id,sector\nnum,62\n", encoding="utf-8")
    result = runner.invoke(app, ["economy", "groups", "--db", str(db), "--import", str(path)])
    assert result.exit_code == 2 and "--scheme" in result.output
    args = ["economy", "groups", "--db", str(db), "--import", str(path), "--scheme", "mine"]
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(
        app, ["economy", "groups", "--db", str(db), "--scheme", "mine", "--json"]
    )
    assert json.loads(result.stdout)[0]["sectors"] == ["62"]
