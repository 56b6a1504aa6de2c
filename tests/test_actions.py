"""Actions log, relations import and the HATVP report."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from territoria.errors import (
    InvalidPlanRequest,
    PermissionDenied,
    UnknownAction,
    UnknownActor,
    ValidationError,
)
from territoria.influence.actions import (
    add_action,
    delete_action,
    expense_bracket,
    get_action,
    list_actions,
    register_report,
    restore_action,
)
from territoria.influence.network import load_graph
from territoria.influence.relations import import_relations
from territoria.kb import connect
from territoria.kb.audit import acting_as, list_audit


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
    exercise = report["exercices"][0]["publicationCourante"]
    assert (exercise["dateDebut"], exercise["nombreActivite"]) == ("01-01-2026", 1)
    activity = exercise["activites"][0]["publicationCourante"]
    # the mayor of Rennes and the regional council: one category, two decision types
    parts = activity["actionsRepresentationInteret"]
    assert sum(p["nombreActions"] for p in parts) == 2
    assert {c for p in parts for c in p["reponsablesPublics"]} == {
        "Élu ou membre de cabinet d'une collectivité territoriale"
    }
    assert {p["observation"] for p in parts} == {"Convention TER 2027", ""}
    # no spend declared for the exercise: the bracket is estimated from the log's costs
    assert exercise["montantDepense"] == "> = 10 000 euros et < 25 000 euros"
    assert exercise["montantDepenseOrigine"] == "estime"
    rows = list(csv.DictReader(io.StringIO(register_report(mini_db, year=2026, fmt="csv"))))
    assert rows[0]["objet"].startswith("Réouverture")
    # Our organisation now reaches the mayor in the influence graph.
    bundle = load_graph(mini_db)
    assert "self" in bundle.graph.ids
    delete_action(mini_db, first, user="cli:test", admin=True)
    assert len(list_actions(mini_db)) == 1


def test_bad_actions(mini_db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(UnknownActor):
        add_action(mini_db, when=date(2026, 1, 1), type="meeting", subject="x", actors=["p-nobody"])
    with pytest.raises(InvalidPlanRequest, match="action type"):
        add_action(mini_db, when=date(2026, 1, 1), type="dinner", subject="x", actors=["cr-53"])
    assert list_actions(mini_db) == []


def test_expense_brackets() -> None:
    """The register's own labels (open data, field montantDepense)."""
    assert expense_bracket(0) == "< 10 000 euros"
    assert expense_bracket(10_000) == "> = 10 000 euros et < 25 000 euros"
    assert expense_bracket(2_000_000) == "> = 2 000 000 euros et < 2 250 000 euros"
    assert expense_bracket(12_000_000) == "> = 10 000 000 euros"


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


def _engaged(con: duckdb.DuckDBPyConnection, actor: str) -> float | None:
    row = con.execute(
        "SELECT strength FROM relation WHERE source_actor = 'self' AND target_actor = ? "
        "AND type = 'engaged'",
        [actor],
    ).fetchone()
    return None if row is None else float(row[0])


def _graph_edge(con: duckdb.DuckDBPyConnection, source: str, target: str) -> bool:
    graph = load_graph(con).graph
    if source not in graph.ids or target not in graph.ids:
        return False
    u = graph.index(source)
    return graph.index(target) in graph.indices[graph.indptr[u] : graph.indptr[u + 1]].tolist()


def test_deletion_is_soft_owned_audited_and_undoable(mini_db: duckdb.DuckDBPyConnection) -> None:
    mayor = mayor_of_rennes(mini_db)
    with acting_as("web:alice"):
        mine = add_action(
            mini_db,
            when=date(2026, 4, 2),
            type="meeting",
            subject="Pôle d'échanges multimodal",
            actors=[mayor],
            outcome="positive",
            cost_eur=12_000,
            created_by="alice",
        )
    with acting_as("web:bob"):
        add_action(
            mini_db,
            when=date(2026, 4, 9),
            type="call",
            subject="Ligne b du métro",
            actors=["cr-53"],
            outcome="positive",
            created_by="bob",
        )
    assert _engaged(mini_db, mayor) == pytest.approx(0.6)
    assert _graph_edge(mini_db, "self", mayor)
    # Bob, an analyst, may not delete Alice's action: nothing changes.
    with acting_as("web:bob"), pytest.raises(PermissionDenied, match="logged by 'alice'"):
        delete_action(mini_db, mine, user="bob")
    assert [a.id for a in list_actions(mini_db)].count(mine) == 1
    # Alice may.
    with acting_as("web:alice"):
        gone = delete_action(mini_db, mine, user="alice")
    assert gone.subject == "Pôle d'échanges multimodal"
    assert mine not in [a.id for a in list_actions(mini_db)]
    binned = list_actions(mini_db, deleted=True)
    assert [(a.id, a.deleted_by) for a in binned] == [(mine, "alice")]
    exercise = json.loads(register_report(mini_db, year=2026))["exercices"][0]
    activities = exercise["publicationCourante"]["activites"]
    assert [a["publicationCourante"]["objet"] for a in activities] == ["Ligne b du métro"]
    assert exercise["publicationCourante"]["montantDepense"] == "< 10 000 euros"
    # Its only trace in the influence graph, the engagement of the mayor, is gone.
    assert _engaged(mini_db, mayor) is None
    assert not _graph_edge(mini_db, "self", mayor)
    with pytest.raises(UnknownAction, match="already deleted"):
        delete_action(mini_db, mine, user="alice")
    # Bob cannot restore it either; an administrator can.
    with pytest.raises(PermissionDenied):
        restore_action(mini_db, mine, user="bob")
    with acting_as("web:admin"):
        back = restore_action(mini_db, mine, user="admin", admin=True)
    assert back.deleted_at is None and back.created_by == "alice"
    assert mine in [a.id for a in list_actions(mini_db)]
    assert _engaged(mini_db, mayor) == pytest.approx(0.6)
    assert _graph_edge(mini_db, "self", mayor)
    restored_report = json.loads(register_report(mini_db, year=2026))
    assert restored_report["exercices"][0]["publicationCourante"]["nombreActivite"] == 2
    with pytest.raises(UnknownAction, match="not deleted"):
        restore_action(mini_db, mine, user="alice")
    # Every write left one audit row naming who did it; the refused ones left none.
    rows = [(e.actor, e.event, e.target) for e in list_audit(mini_db, event="action.")]
    assert rows == [
        ("web:admin", "action.restore", str(mine)),
        ("web:alice", "action.delete", str(mine)),
        ("web:bob", "action.create", str(mine + 1)),
        ("web:alice", "action.create", str(mine)),
    ]
    restored = list_audit(mini_db, event="action.restore")[0]
    assert restored.detail is not None and restored.detail["deleted_by"] == "alice"


def test_an_admin_deletes_any_action_and_author_less_ones(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    legacy = add_action(
        mini_db, when=date(2026, 1, 5), type="letter", subject="x", actors=["cr-53"], created_by=""
    )
    with pytest.raises(PermissionDenied, match="no recorded author"):
        delete_action(mini_db, legacy, user="alice")
    delete_action(mini_db, legacy, user="root", admin=True)
    assert get_action(mini_db, legacy).deleted_by == "root"
    with pytest.raises(UnknownAction, match="no action with id 999"):
        delete_action(mini_db, 999, user="root", admin=True)


def test_engagement_replay_matches_the_incremental_update(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    """Deleting then restoring an action gives back exactly the strength built action by
    action, clamping included (0.5 + 6 × 0.1 is capped at 1, then -0.1)."""
    mayor = mayor_of_rennes(mini_db)
    ids = [
        add_action(
            mini_db,
            when=date(2026, 2, day),
            type="meeting",
            subject=f"réunion {day}",
            actors=[mayor],
            outcome=outcome,
            created_by="alice",
        )
        for day, outcome in enumerate(["positive"] * 6 + ["negative"], start=1)
    ]
    built = _engaged(mini_db, mayor)
    assert built == pytest.approx(0.9)
    delete_action(mini_db, ids[-1], user="alice")
    assert _engaged(mini_db, mayor) == pytest.approx(1.0)
    restore_action(mini_db, ids[-1], user="alice")
    assert _engaged(mini_db, mayor) == pytest.approx(built)


def test_hatvp_csv_neutralises_formulas(mini_db: duckdb.DuckDBPyConnection) -> None:
    for subject in ('=HYPERLINK("http://x")', "-2 000 € de subvention", "@SUM(A1)"):
        add_action(
            mini_db,
            when=date(2026, 6, 1),
            type="email",
            subject=subject,
            actors=["cr-53"],
            policy_areas=["+Transports"],
            created_by="alice",
        )
    rows = list(csv.DictReader(io.StringIO(register_report(mini_db, year=2026, fmt="csv"))))
    assert {r["objet"] for r in rows} == {
        '\'=HYPERLINK("http://x")',
        "'-2 000 € de subvention",
        "'@SUM(A1)",
    }
    assert {r["domaines_intervention"] for r in rows} == {"'+Transports"}
    # numbers stay numbers
    assert {r["nombre_actions"] for r in rows} == {"1"} and {r["exercice"] for r in rows} == {
        "2026"
    }


def test_migration_adds_soft_delete_to_an_existing_log(tmp_path: Path, mini_db_path: Path) -> None:
    """A knowledge base of schema 5 with logged actions gains the columns, actions intact."""
    path = tmp_path / "old.duckdb"
    path.write_bytes(mini_db_path.read_bytes())
    con = connect(path)
    action_id = add_action(
        con, when=date(2025, 9, 1), type="call", subject="ancienne", actors=["cr-53"]
    )
    for column in ("client", "decision_type_original", "type_original", "type_detail"):
        con.execute(f"ALTER TABLE action DROP COLUMN {column}")
    con.execute("ALTER TABLE action DROP COLUMN deleted_by")
    con.execute("ALTER TABLE action DROP COLUMN deleted_at")
    con.execute("DELETE FROM schema_version WHERE version IN (7, 11)")
    con.close()
    con = connect(path)
    try:
        assert [(a.subject, a.type) for a in list_actions(con)] == [("ancienne", "meeting")]
        delete_action(con, action_id, user="root", admin=True)
        assert get_action(con, action_id).deleted_by == "root"
    finally:
        con.close()


def test_cli_takes_an_actor_by_name(mini_db_path: Path, tmp_path: Path) -> None:
    import shutil

    from typer.testing import CliRunner

    from territoria.cli import app

    kb = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, kb)
    runner = CliRunner()
    db = ["--db", str(kb)]
    added = runner.invoke(
        app,
        [
            "actions",
            "add",
            "--subject",
            "Métro ligne b",
            "--actor",
            "Nathalie Appéré",
            "--actor",
            "cr-53",
            *db,
        ],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["actions", "list", "--json", *db])
    action = json.loads(listed.stdout)[0]
    assert dict(zip(action["actors"], action["actor_names"], strict=True)) == {
        "cr-53": "Conseil régional de Bretagne",
        action["actors"][1]: "Nathalie APPÉRÉ",
    }
    unknown = runner.invoke(
        app, ["actions", "add", "--subject", "x", "--actor", "Zzyzx Qwerty", *db]
    )
    assert unknown.exit_code != 0
    assert "no person is named like 'Zzyzx Qwerty'" in unknown.stderr
