"""Dossiers, the unit of work: stakeholders and their stances, plan versions, actions, exports,
soft deletion, restart; the library and the ``territoria dossiers`` commands."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import (
    InvalidDossier,
    PermissionDenied,
    UnknownActor,
    UnknownDossier,
    UnknownTerritory,
    UnknownTheme,
)
from territoria.influence import dossiers as d
from territoria.influence.actions import add_action
from territoria.kb import connect
from territoria.reports.dossier import dossier_csv, dossier_pdf

APPERE = "p-f32e7ff2540601"  # Nathalie Appéré, maire de Rennes
ROBERT = "p-32acefe33f3392"  # Sylvie Robert, sénatrice d'Ille-et-Vilaine
CR53 = "cr-53"


def _dossier(con: duckdb.DuckDBPyConnection) -> int:
    return d.create_dossier(
        con,
        title="Boulevard de la Liberté",
        theme="roads",
        code="35238",
        objective="Un plateau piéton",
        decision="Délibération du conseil municipal",
        created_by="alice",
    )


def test_a_dossier_lives_from_stances_to_plan_actions_and_exports(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    con = mini_db
    dossier_id = _dossier(con)
    d.add_stance(con, dossier_id, actor=APPERE, position="indecis", salience=0.6,
                 source="presse", when="2026-03-01", created_by="alice")  # fmt: skip
    d.add_stance(con, dossier_id, actor=APPERE, position="oppose", salience=0.9,
                 source="rendez-vous", when="2026-04-02", camp="majorite")  # fmt: skip
    d.add_stance(con, dossier_id, actor=ROBERT, position="soutien", salience=0.3)
    d.add_event(con, dossier_id, when="2027-02-03", label="Conseil municipal")
    d.add_partner(con, dossier_id, code="243500139")
    action = add_action(con, when=dt.date(2026, 5, 4), type="meeting",
                        subject="Rencontre à l'hôtel de ville", actors=[APPERE])  # fmt: skip
    d.link_action(con, dossier_id, action)

    version = d.run_plan(con, dossier_id, k=3, seed=7)
    assert version.status == "done"
    assert len(version.seeds) == 3 and all(s["name"] for s in version.seeds)
    assert version.estimate is not None and version.estimate > 0
    # the version is a persisted plan job that carries the dossier and its current stances
    params, result = con.execute(
        "SELECT params, result FROM job WHERE id = ? AND kind = 'plan' AND status = 'done'",
        [version.job_id],
    ).fetchone()  # type: ignore[misc]
    params = json.loads(params)
    assert params["dossier_id"] == dossier_id and params["theme"] == "roads"
    assert params["stances"][APPERE]["position"] == "oppose"
    assert params["stances"][ROBERT] == {"position": "soutien", "salience": 0.3, "source": "",
                                         "date": None}  # fmt: skip
    plan = json.loads(result)
    assert [s["id"] for s in plan["seeds"]] == [s["id"] for s in version.seeds]
    # the planner got the stances: the mayor, a target, carries hers
    mayor = next(t for t in plan["targets"] if t["id"] == APPERE)
    assert mayor["stance"]["position"] == "oppose"
    assert version.guarantee.startswith("garantie : au moins")  # the plan's French sentence

    dossier = d.get_dossier(con, dossier_id)
    assert dossier.territory == "Rennes" and dossier.theme_label == "Routes et voirie"
    by_actor = {s.actor_id: s for s in dossier.stakeholders}
    appere = by_actor[APPERE]
    assert (appere.stance.position_label, appere.stance.camp_label) == ("opposé", "majorité")
    assert [h.position for h in appere.history] == ["indecis"]  # the history is kept
    assert by_actor[ROBERT].title.startswith("sénatrice")  # in the person's gender
    assert [a.action_id for a in dossier.actions] == [action]
    assert [p.label for p in dossier.partners] == ["Rennes Métropole"]
    assert d.current_stances(con, dossier_id)[APPERE].salience == 0.9

    rows = list(csv.DictReader(io.StringIO(dossier_csv(dossier))))
    stake = {r["intitule"]: r for r in rows if r["rubrique"] == "partie prenante"}
    assert stake["Nathalie APPÉRÉ"]["position"] == "opposé"
    assert stake["Nathalie APPÉRÉ"]["importance"] == "0.9"
    assert any(r["rubrique"] == "action" and r["intitule"] == "Rencontre à l'hôtel de ville"
               for r in rows)  # fmt: skip
    plan_row = next(r for r in rows if r["rubrique"] == "plan")
    assert plan_row["detail"] == ", ".join(s["name"] for s in version.seeds)

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(dossier_pdf(dossier))).pages)
    assert "Boulevard de la Liberté" in text
    assert "Nathalie APPÉRÉ" in text and "opposé" in text
    assert version.seeds[0]["name"] in text


def test_the_timeline_mixes_items_in_date_order(mini_db: duckdb.DuckDBPyConnection) -> None:
    con = mini_db
    dossier_id = _dossier(con)
    d.add_event(con, dossier_id, when="2027-03-10", label="Vote du budget")
    d.add_step(con, dossier_id, label="Note au cabinet", owner="alice", due="2026-01-15")
    action = add_action(con, when=dt.date(2026, 6, 1), type="letter", subject="Courrier",
                        actors=[CR53])  # fmt: skip
    d.link_action(con, dossier_id, action)
    d.add_event(con, dossier_id, when="2025-11-30", label="Fin de la concertation",
                kind="consultation", status="fait")  # fmt: skip
    timeline = d.get_dossier(con, dossier_id).timeline()
    assert [(t.date.isoformat(), t.kind_label, t.label) for t in timeline] == [
        ("2025-11-30", "consultation", "Fin de la concertation"),
        ("2026-01-15", "étape", "Note au cabinet"),
        ("2026-06-01", "action", "Courrier"),
        ("2027-03-10", "délibération", "Vote du budget"),
    ]
    summary = d.list_dossiers(con, today=dt.date(2026, 1, 1))[0]
    # the consultation is done: the next deadline is the budget vote
    assert (summary.next_deadline, summary.next_deadline_label) == (
        dt.date(2027, 3, 10),
        "Vote du budget",
    )


def _counts(con: duckdb.DuckDBPyConnection) -> tuple[int, ...]:
    tables = ("dossier", "dossier_stance", "dossier_event", "dossier_link", "audit_log")
    return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables)  # type: ignore[index]


def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    con = mini_db
    dossier_id = _dossier(con)
    before = _counts(con)
    cases = [
        (UnknownTheme, "unknown theme 'voirie'",
         lambda: d.create_dossier(con, title="x", theme="voirie", code="35238")),
        (UnknownTerritory, "unknown territory code '99998'",
         lambda: d.create_dossier(con, title="x", theme="roads", code="99998")),
        (UnknownActor, "unknown actor 'p-nobody'",
         lambda: d.add_stance(con, dossier_id, actor="p-nobody", position="oppose")),
        (InvalidDossier, "salience 1.5 is outside [0, 1]",
         lambda: d.add_stance(con, dossier_id, actor=CR53, position="oppose", salience=1.5)),
        (InvalidDossier, "unknown position 'contre'",
         lambda: d.add_stance(con, dossier_id, actor=CR53, position="contre")),
        (InvalidDossier, "'2026-02-30' is not a date",
         lambda: d.add_event(con, dossier_id, when="2026-02-30", label="Conseil")),
        (InvalidDossier, "is not a web address",
         lambda: d.add_link(con, dossier_id, url="javascript:alert(1)", label="x")),
        (UnknownDossier, "no dossier with id 999",
         lambda: d.add_note(con, 999, text="x")),
    ]  # fmt: skip
    for error, message, call in cases:
        with pytest.raises(error, match=message.replace("[", r"\[").replace("(", r"\(")):
            call()
    assert _counts(con) == before


def test_soft_deletion_and_restoration_of_dossiers_and_items(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    con = mini_db
    dossier_id = _dossier(con)
    first = d.add_stance(con, dossier_id, actor=CR53, position="soutien", created_by="alice")
    later = d.add_stance(con, dossier_id, actor=CR53, position="oppose", created_by="bob")
    # bob may delete his own stance: the earlier one is current again
    d.delete_item(con, dossier_id, "stakeholder", later, user="bob")
    assert d.get_dossier(con, dossier_id).stakeholders[0].stance.id == first
    with pytest.raises(PermissionDenied, match="'bob' may not change"):
        d.delete_item(con, dossier_id, "stakeholder", first, user="bob")
    d.restore_item(con, dossier_id, "stakeholder", later, user="alice")
    assert d.get_dossier(con, dossier_id).stakeholders[0].stance.position == "oppose"

    with pytest.raises(PermissionDenied):
        d.delete_dossier(con, dossier_id, user="bob")
    d.delete_dossier(con, dossier_id, user="alice")
    assert d.list_dossiers(con) == []
    assert [x.deleted_by for x in d.list_dossiers(con, deleted=True)] == ["alice"]
    with pytest.raises(UnknownDossier, match="is deleted"):
        d.add_note(con, dossier_id, text="trop tard")
    restored = d.restore_dossier(con, dossier_id, user="root", admin=True)
    assert restored.deleted_at is None and [x.id for x in d.list_dossiers(con)] == [dossier_id]
    audit = "SELECT event FROM audit_log WHERE event LIKE 'dossier%' ORDER BY id"
    events = [r[0] for r in con.execute(audit).fetchall()]
    assert events == [
        "dossier.create", "dossier.stakeholder.add", "dossier.stakeholder.add",
        "dossier.stakeholder.delete", "dossier.stakeholder.restore", "dossier.delete",
        "dossier.restore",
    ]  # fmt: skip


def test_a_dossier_and_its_plan_version_survive_a_restart(
    mini_db_path: Path, tmp_path: Path
) -> None:
    kb = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, kb)
    con = connect(kb)
    dossier_id = _dossier(con)
    d.add_stance(con, dossier_id, actor=APPERE, position="oppose", salience=0.8)
    version = d.run_plan(con, dossier_id, k=2, seed=3)
    con.close()
    # a new process opens the knowledge base and finds both
    shown = subprocess.run(
        [sys.executable, "-m", "territoria", "dossiers", "show", str(dossier_id), "--json",
         "--db", str(kb)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    data = json.loads(shown.stdout)
    assert data["title"] == "Boulevard de la Liberté"
    assert data["stakeholders"][0]["stance"]["position_label"] == "opposé"
    assert [(p["job_id"], p["status"]) for p in data["plans"]] == [(version.job_id, "done")]
    assert data["plans"][0]["seeds"] == version.seeds


def test_cli_fills_a_dossier_shows_it_in_french_and_exports_it(
    mini_db_path: Path, tmp_path: Path
) -> None:
    kb = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, kb)
    runner = CliRunner()
    db = ["--db", str(kb)]

    def run(*args: str) -> str:
        result = runner.invoke(app, ["dossiers", *args, *db], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return result.stdout

    created = json.loads(run("create", "--title", "Collège de Bruz", "--theme",
                             "colleges", "--territory", "35047", "--json"))  # fmt: skip
    i = str(created["id"])
    run("stakeholder", "add", i, "--actor", "Nathalie Appéré", "--position", "oppose",
        "--salience", "0.7", "--source", "Ouest-France", "--date", "2026-03-02")  # fmt: skip
    run("event", "add", i, "--date", "2027-01-15", "--label", "Session du département")
    run("step", "add", i, "--label", "Rencontrer la présidente", "--due", "2026-12-20")
    run("note", "add", i, "--text", "Premier contact pris")
    run("link", "add", i, "--url", "https://www.ille-et-vilaine.fr", "--label", "Département")
    action = runner.invoke(app, ["actions", "add", "--subject", "Courrier au département",
                                 "--actor", CR53, "--date", "2026-06-01", *db])  # fmt: skip
    assert action.exit_code == 0, action.output
    run("action", "link", i, "1")
    plan = json.loads(run("plan", i, "--k", "2", "--seed", "5", "--json"))
    assert plan["status"] == "done" and len(plan["seeds"]) == 2

    shown = run("show", i)
    assert "Collèges · Bruz" in shown  # the sub-theme of the decision map, by its name
    assert "Collège de Bruz" in shown and "Nathalie APPÉRÉ" in shown and "opposé" in shown
    # the timeline is in date order: the note and the plan (today) fall between them
    order = [shown.index(s) for s in ("Courrier au département", "Rencontrer la",
                                       "Session du")]  # fmt: skip
    assert order == sorted(order)
    out = tmp_path / "bruz.csv"
    run("export", i, "--format", "csv", "-o", str(out))
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["rubrique"] for r in rows} >= {"partie prenante", "calendrier", "action", "plan"}
    pdf = tmp_path / "bruz.pdf"
    run("export", i, "--format", "pdf", "-o", str(pdf))
    assert "Collège de Bruz" in PdfReader(pdf).pages[0].extract_text()

    bad = runner.invoke(app, ["dossiers", "stakeholder", "add", i, "--actor", CR53,
                              "--position", "oppose", "--salience", "2", *db])  # fmt: skip
    assert bad.exit_code == 2 and "salience 2.0 is outside [0, 1]" in bad.stderr
    run("delete", i, "--yes")
    assert json.loads(run("list", "--json")) == []
    run("restore", i)
    assert [x["title"] for x in json.loads(run("list", "--json"))] == ["Collège de Bruz"]


def test_the_csv_export_neutralises_formulas(mini_db: duckdb.DuckDBPyConnection) -> None:
    con = mini_db
    dossier_id = _dossier(con)
    d.add_note(con, dossier_id, text='=HYPERLINK("https://example.org/x", "ouvrir")')
    d.add_stance(con, dossier_id, actor=CR53, position="indecis", source="+33 2 99 00 00 00")
    rows = list(csv.DictReader(io.StringIO(dossier_csv(d.get_dossier(con, dossier_id)))))
    note = next(r for r in rows if r["rubrique"] == "note")
    assert note["intitule"] == '\'=HYPERLINK("https://example.org/x", "ouvrir")'
    stake = next(r for r in rows if r["rubrique"] == "partie prenante")
    assert stake["source"] == "'+33 2 99 00 00 00"
    assert stake["date"] == ""  # no date given: an empty cell, not 'None'
