"""Actions log, relations import and the HATVP report."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from territoria.errors import InvalidPlanRequest, UnknownActor, ValidationError
from territoria.influence.actions import (
    add_action,
    delete_action,
    expense_bracket,
    list_actions,
    register_report,
)
from territoria.influence.network import load_graph
from territoria.influence.relations import import_relations


def mayor_of_rennes(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute(
        "SELECT person_id FROM mandate WHERE organisation_id = 'cm-35238' AND function_code = 'MAI'"
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_actions_update_relations_and_report(mini_db: duckdb.DuckDBPyConnection) -> None:
    mayor = mayor_of_rennes(mini_db)
    first = add_action(
        mini_db,
        when=date(2026, 3, 30),
        type="meeting",
        subject="Réouverture du train de nuit Rennes–Saint-Malo",
        actors=[mayor],
        policy_areas=["Transports"],
        decision_type="regulatory",
        decision_targeted="Convention TER 2027",
        hours=3,
        cost_eur=6_000,
        outcome="positive",
    )
    add_action(
        mini_db,
        when=date(2026, 5, 2),
        type="letter",
        subject="Réouverture du train de nuit Rennes–Saint-Malo",
        actors=["cr-53"],
        cost_eur=5_000,
        outcome="neutral",
    )
    strength = mini_db.execute(
        "SELECT strength FROM relation WHERE source_actor = 'self' AND target_actor = ?", [mayor]
    ).fetchone()
    assert strength == (pytest.approx(0.6),)
    assert len(list_actions(mini_db, year=2026)) == 2
    report = json.loads(register_report(mini_db, year=2026))
    assert report["exercice"] == 2026 and report["nombre_activites"] == 1
    activity = report["activites"][0]
    assert activity["nombre_actions"] == 2
    assert "Maire" in activity["responsables_publics"]
    assert activity["tranche_depenses"] == "10 000 € à 24 999 €"
    rows = list(csv.DictReader(io.StringIO(register_report(mini_db, year=2026, fmt="csv"))))
    assert rows[0]["objet"].startswith("Réouverture")
    # Our organisation now reaches the mayor in the influence graph.
    bundle = load_graph(mini_db)
    assert "self" in bundle.graph.ids
    delete_action(mini_db, first)
    assert len(list_actions(mini_db)) == 1


def test_bad_actions(mini_db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(UnknownActor):
        add_action(mini_db, when=date(2026, 1, 1), type="meeting", subject="x", actors=["p-nobody"])
    with pytest.raises(InvalidPlanRequest, match="action type"):
        add_action(mini_db, when=date(2026, 1, 1), type="dinner", subject="x", actors=["cr-53"])
    assert list_actions(mini_db) == []


def test_expense_brackets() -> None:
    assert expense_bracket(0) == "moins de 10 000 €"
    assert expense_bracket(10_000) == "10 000 € à 24 999 €"
    assert expense_bracket(2_000_000) == "1 000 000 € et plus"


def test_relations_import(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    mayor = mayor_of_rennes(mini_db)
    good = tmp_path / "rel.csv"
    good.write_text(
        "source_actor,target_actor,type,strength,date,source_name,source_kind\n"
        f"org-cci35,{mayor},works_with,0.8,2026-01-10,CCI Ille-et-Vilaine,federation\n"
        "org-cci35,cr-53,partner,0.5,,CCI Ille-et-Vilaine,federation\n",
        encoding="utf-8",
    )
    report = import_relations(mini_db, good, source_name="notre réseau")
    assert report.relations == 2 and report.actors_created == 1
    bundle = load_graph(mini_db)
    assert "org-cci35" in bundle.graph.ids
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "source_actor,target_actor,type,strength\n"
        f"org-cci35,{mayor},works_with,1.7\n"
        "p-ghost,cr-53,partner,0.5\n"
        "org-cci35,cr-53,bribes,0.5\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as err:
        import_relations(mini_db, bad, source_name="notre réseau")
    assert err.value.count == 3
    assert any("line 2" in p for p in err.value.problems)
    # The failed file changed nothing.
    count = mini_db.execute("SELECT count(*) FROM relation").fetchone()
    assert count == (2,)
