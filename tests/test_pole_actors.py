"""Poles feed the influence planner: a pole's firms and knowledge actors as candidates and
co-signers of a project."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from territoria.analysis.poles import find_pole, pole_scopes
from territoria.cli import app
from territoria.errors import UnknownPole
from territoria.influence.network import load_graph
from territoria.influence.planner import plan_project
from territoria.influence.poles import (
    EPCI_FACTOR,
    pole_actor_rows,
    pole_actors_registered,
    pole_candidates,
    register_pole_actors,
    strength,
)
from territoria.kb import connect
from territoria.sources.sirene import import_sirene
from territoria.synth import synth_sirene

KINDS = {"company", "university", "research_centre", "association"}


@pytest.fixture(scope="module")
def region_db(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini knowledge base with a synthetic SIRENE région (three planted concentrations)."""
    folder = tmp_path_factory.mktemp("pole_actors")
    db = folder / "kb.duckdb"
    shutil.copyfile(mini_db_path, db)
    con = connect(db)
    files = folder / "files"
    synth_sirene(con, files, seed=11, rows=15000, planted=3)
    import_sirene(
        con,
        establishments=files / "StockEtablissement_utf8.csv",
        legal_units=files / "StockUniteLegale_utf8.csv",
        geolocation=files / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv",
        history=files / "StockEtablissementHistorique_utf8.csv",
    )
    con.close()
    return db


@pytest.fixture
def con(region_db: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    db = tmp_path / "kb.duckdb"
    shutil.copyfile(region_db, db)
    connection = connect(db)
    yield connection
    connection.close()


@pytest.fixture
def pole(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The strongest pole of the région, with its 20 largest firms and knowledge actors."""
    from territoria.analysis.poles import detect_poles

    poles = detect_poles(con, region="53")
    assert poles
    return find_pole(con, poles[0]["id"], top=20)


def _counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    row = con.execute(
        "SELECT (SELECT count(*) FROM actor), (SELECT count(*) FROM relation), "
        "(SELECT count(*) FROM source)"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def test_pole_ids_are_found_where_they_were_detected(
    con: duckdb.DuckDBPyConnection, pole: dict[str, Any]
) -> None:
    assert pole_scopes(con, pole["id"]) == [{"region": "53"}, {"departement": "35"}, {}]
    assert pole["id"].endswith("-" + pole["centre"]["commune"])
    assert len(pole["firms"]) == min(20, pole["firm_count"])
    for wrong in ("g99-35238", "g01-99998", "nonsense"):
        with pytest.raises(UnknownPole, match=repr(wrong)):
            find_pole(con, wrong)


def test_register_a_pole_s_actors(con: duckdb.DuckDBPyConnection, pole: dict[str, Any]) -> None:
    before = _counts(con)
    rows = pole_actor_rows(con, pole)
    report = register_pole_actors(con, pole)
    assert report.changed and report.synthetic
    assert report.actors == [r["id"] for r in rows]
    # one actor per legal unit of the listed firms and knowledge actors
    sirens = {e["siret"][:9] for e in pole["firms"] + pole["knowledge_actors"]}
    assert {a.removeprefix("siren-") for a in report.actors} == sirens
    actors = con.execute(
        "SELECT a.id, a.kind, a.siren, a.level, a.code, s.name, s.dataset, s.synthetic "
        "FROM actor a "
        "JOIN source s ON s.id = a.source_id WHERE a.id LIKE 'siren-%'"
    ).fetchall()
    assert len(actors) == len(sirens) == report.created
    for aid, kind, siren, level, code, src, dataset, synthetic in actors:
        assert aid == f"siren-{siren}" and len(siren) == 9 and kind in KINDS
        assert level == "commune" and code
        assert (src, dataset, synthetic) == ("pole-actors", pole["id"], True)
    kinds = {r["id"]: r["kind"] for r in rows}
    knowledge = {e["siret"][:9]: e["sector"] for e in pole["knowledge_actors"]}
    for siren, sector in knowledge.items():
        expected = "research_centre" if sector.startswith("72") else "university"
        assert kinds[f"siren-{siren}"] == expected
    # each actor reaches the mayor of its commune and the president of its EPCI
    executives = """
        SELECT (SELECT person_id FROM mandate WHERE organisation_id = 'cm-' || $c
                AND function_code = 'MAI' AND end_date IS NULL),
               (SELECT person_id FROM mandate WHERE function_code = 'PRE' AND end_date IS NULL
                AND organisation_id = (SELECT 'cc-' || parent_code FROM membership
                    WHERE level = 'commune' AND code = $c AND parent_level = 'epci'))
    """
    for row in rows:
        mayor, president = con.execute(executives, {"c": row["commune"]}).fetchone() or ()
        found = {
            r[0]: (r[1], r[2])
            for r in con.execute(
                "SELECT target_actor, type, strength FROM relation WHERE source_actor = ?",
                [row["id"]],
            ).fetchall()
        }
        near = strength(row["employment"])
        expected = {}
        if president:
            expected[president] = ("partner", round(near * EPCI_FACTOR, 4))
        else:  # an EPCI council without a president: member of the council (module docstring)
            epci = con.execute(
                "SELECT 'cc-' || parent_code FROM membership WHERE level = 'commune' "
                "AND code = ? AND parent_level = 'epci'",
                [row["commune"]],
            ).fetchone()
            if epci:
                expected[str(epci[0])] = ("member_of", round(near * EPCI_FACTOR, 4))
        if mayor:
            expected[mayor] = ("partner", near)  # the stronger when the mayor presides
        assert mayor and found == expected
    assert strength(0) == 0.25 and strength(99) == pytest.approx(0.55)
    assert strength(1e9) == 1.0
    after = _counts(con)
    assert after == (before[0] + report.created, before[1] + report.relations, before[2] + 1)


def test_registering_again_writes_nothing_and_keeps_the_graph(
    con: duckdb.DuckDBPyConnection, pole: dict[str, Any]
) -> None:
    register_pole_actors(con, pole)
    assert pole_actors_registered(con, pole)
    first = load_graph(con)
    counts = _counts(con)
    again = pole_candidates(con, pole["id"], pole=pole)
    assert not again.changed and _counts(con) == counts
    assert load_graph(con).cached and load_graph(con).fingerprint == first.fingerprint
    assert set(again.actors) <= set(first.graph.ids)


def test_a_smaller_pole_replaces_the_registration(
    con: duckdb.DuckDBPyConnection, pole: dict[str, Any]
) -> None:
    full = register_pole_actors(con, pole)
    small = {**pole, "firms": pole["firms"][:3], "knowledge_actors": pole["knowledge_actors"][:1]}
    assert not pole_actors_registered(con, small)
    report = register_pole_actors(con, small)
    assert report.changed and len(report.actors) <= 4
    kept = {r[0] for r in con.execute("SELECT id FROM actor WHERE id LIKE 'siren-%'").fetchall()}
    assert kept == set(report.actors)
    sources = con.execute(
        "SELECT count(*) FROM source WHERE name = 'pole-actors' AND dataset = ?", [pole["id"]]
    ).fetchone()
    assert sources == (1,)
    stale = con.execute(
        "SELECT count(*) FROM relation WHERE source_actor IN (SELECT unnest(?))",
        [sorted(set(full.actors) - set(report.actors))],
    ).fetchone()
    assert stale == (0,)


class _FailingInserts:
    """A connection whose bulk insert of relations fails, as a crash mid-registration would."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, *args: Any) -> Any:
        return self._con.execute(*args)

    def executemany(self, *args: Any) -> Any:
        raise duckdb.IOException("disk full")


def test_registration_is_atomic(con: duckdb.DuckDBPyConnection, pole: dict[str, Any]) -> None:
    before = _counts(con)
    with pytest.raises(duckdb.IOException):
        register_pole_actors(_FailingInserts(con), pole)  # type: ignore[arg-type]
    assert _counts(con) == before
    # and a failed re-registration keeps the previous one whole
    register_pole_actors(con, pole)
    registered = _counts(con)
    smaller = {**pole, "firms": pole["firms"][:2]}
    with pytest.raises(duckdb.IOException):
        register_pole_actors(_FailingInserts(con), smaller)  # type: ignore[arg-type]
    assert _counts(con) == registered and pole_actors_registered(con, pole)


def test_plan_with_a_pole_s_actors_and_co_signers(
    con: duckdb.DuckDBPyConnection, pole: dict[str, Any]
) -> None:
    actors = pole_candidates(con, pole["id"], pole=pole)
    plan = plan_project(
        con,
        code=pole["centre"]["commune"],
        level="commune",
        theme="economic-development",
        k=3,
        seed=5,
        candidates=actors.actors,
        co_signers=actors.actors,
        with_robustness=False,
    )
    seeds = [s["id"] for s in plan["seeds"]]
    assert 1 <= len(seeds) <= 3 and set(seeds) <= set(actors.actors)
    labels = ("entreprise", "enseignement supérieur", "centre de recherche", "association")
    assert all(any(label in s["action"] for label in labels) for s in plan["seeds"])
    assert all(s["paths"] for s in plan["seeds"])  # each reaches a decision-maker
    signers = plan["co_signers"]
    assert signers and {c["id"] for c in signers} <= set(actors.actors) - set(seeds)
    gains = [c["added_influence"] for c in signers]
    assert gains == sorted(gains, reverse=True) and gains[0] > 0
    assert {c["kind"] for c in signers} <= KINDS


def test_cli_plan_with_a_pole(region_db: Path, tmp_path: Path, pole: dict[str, Any]) -> None:
    db = tmp_path / "cli.duckdb"
    shutil.copyfile(region_db, db)
    runner = CliRunner()
    base = ["influence", "plan", "--territory", "35238", "--theme", "economic-development"]
    base += ["--k", "2", "--seed", "1", "--no-robustness", "--db", str(db)]
    result = runner.invoke(app, [*base, "--candidates", f"pole:{pole['id']}", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert all(s["id"].startswith("siren-") for s in plan["seeds"])
    assert plan["co_signers"] and plan["pole_actors"][0]["synthetic"] is True
    shown = runner.invoke(app, [*base, "--co-signers", f"pole:{pole['id']}"])
    assert shown.exit_code == 0, shown.output
    assert "SYNTHETIC DATA" in shown.output and "Co-signataires" in shown.output
    unknown = runner.invoke(app, [*base, "--candidates", "pole:g99-35238"])
    assert unknown.exit_code == 2 and "'g99-35238'" in unknown.output
    bad = runner.invoke(app, [*base, "--co-signers", "everyone"])
    assert bad.exit_code == 2 and "pole:ID" in bad.output
    other = runner.invoke(app, [*base, "--candidates", "friends"])
    assert other.exit_code == 2 and "pole:ID" in other.output
