"""The actions log as the HATVP register (AGORA) reads it: vocabulary, loi 3DS scope, exercise
figures and clients, the open-data JSON structure and its schema, CSV safety."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import jsonschema
import pytest
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import InvalidExercise, InvalidPlanRequest
from territoria.influence.actions import add_action, list_actions, register_report
from territoria.influence.agora import ACTION_TYPES, CATEGORIES, DECISION_TYPES, RULES, coverage
from territoria.influence.agora_report import (
    Client,
    activity_report,
    get_exercise,
    report_schema,
    set_exercise,
)
from territoria.kb import connect

LOCAL = CATEGORIES["local_elected"]
PARLIAMENT = CATEGORIES["parliament"]


def _person(con: duckdb.DuckDBPyConnection, organisation: str, function: str | None) -> str:
    row = con.execute(
        "SELECT person_id FROM mandate WHERE organisation_id = ? "
        "AND function_code IS NOT DISTINCT FROM ? ORDER BY person_id LIMIT 1",
        [organisation, function],
    ).fetchone()
    assert row is not None, (organisation, function)
    return str(row[0])


def _report(con: duckdb.DuckDBPyConnection, year: int = 2026) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(register_report(con, year=year))
    return data


def _exercise(report: dict[str, Any]) -> dict[str, Any]:
    exercise: dict[str, Any] = report["exercices"][0]["publicationCourante"]
    return exercise


def _parts(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        part
        for activity in _exercise(report)["activites"]
        for part in activity["publicationCourante"]["actionsRepresentationInteret"]
    ]


def test_every_official_type_round_trips_to_the_report(mini_db: duckdb.DuckDBPyConnection) -> None:
    for n, key in enumerate(ACTION_TYPES):
        decision = list(DECISION_TYPES)[n % len(DECISION_TYPES)]
        add_action(
            mini_db,
            when=date(2026, 5, 1),
            type=key,
            subject=f"objet {n}",
            actors=["cr-53"],
            decision_type=decision,
            type_detail="webinaire" if key == "other" else "",
        )
    listed = {a.subject: a for a in list_actions(mini_db)}
    assert {(a.type, a.type_label) for a in listed.values()} == set(ACTION_TYPES.items())
    report = _report(mini_db)
    menees = {m for p in _parts(report) for m in p["actionsMenees"]}
    assert menees == set(ACTION_TYPES.values())
    decided = {d for p in _parts(report) for d in p["decisionsConcernees"]}
    assert decided == {DECISION_TYPES[list(DECISION_TYPES)[n]] for n in range(len(ACTION_TYPES))}
    # "Autres : à préciser" carries its precision in the observation
    assert any("autre action : webinaire" in p["observation"] for p in _parts(report))
    with pytest.raises(InvalidPlanRequest, match="precision"):
        add_action(mini_db, when=date(2026, 5, 1), type="other", subject="x", actors=["cr-53"])


def test_the_former_types_are_recorded_as_the_closest_official_one(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    expected = {
        "call": ("meeting", "Téléphoner"),
        "email": ("correspondence", "Courriel"),
        "letter": ("correspondence", "Lettre"),
        "consultation": ("information", "Répondre à une consultation publique"),
    }
    for old in expected:
        add_action(
            mini_db,
            when=date(2026, 5, 1),
            type=old,
            subject=old,
            actors=["cr-53"],
            decision_type="contract",
        )
    found = {a.subject: (a.type, a.type_detail, a.decision_type) for a in list_actions(mini_db)}
    assert found == {old: (*new, "public_procurement") for old, new in expected.items()}


def _downgrade_to_schema_10(con: duckdb.DuckDBPyConnection) -> None:
    """Make a knowledge base look as it was before migration 0011."""
    for column in ("client", "decision_type_original", "type_original", "type_detail"):
        con.execute(f"ALTER TABLE action DROP COLUMN {column}")
    con.execute("DROP TABLE register_exercise")
    con.execute("DROP TABLE register_client")
    con.execute("DELETE FROM schema_version WHERE version = 11")


def test_an_old_log_is_migrated_without_losing_what_was_logged(
    tmp_path: Path, mini_db_path: Path
) -> None:
    path = tmp_path / "old.duckdb"
    shutil.copyfile(mini_db_path, path)
    con = connect(path)
    _downgrade_to_schema_10(con)
    old = [
        (1, "call", "Appel au cabinet", "other"),
        (2, "consultation", "Consultation PLU", "regulatory"),
        (3, "letter", "Lettre au président", "contract"),
        (4, "petition", "Pétition TER", "legislative"),
        (5, "meeting", "Rendez-vous", "individual"),
    ]
    for action_id, kind, subject, decision in old:
        con.execute(
            "INSERT INTO action (id, date, type, subject, decision_type, outcome, created_by) "
            "VALUES (?, DATE '2025-06-01', ?, ?, ?, 'unknown', 'alice')",
            [action_id, kind, subject, decision],
        )
        con.execute("INSERT INTO action_actor VALUES (?, 'cr-53')", [action_id])
    con.close()
    con = connect(path)
    try:
        found = {
            a.subject: (a.type, a.type_original, a.decision_type, a.decision_type_original)
            for a in list_actions(con)
        }
        assert found == {
            "Appel au cabinet": (
                "meeting",
                "call: Téléphoner",
                "other",
                "other: Autres décisions publiques",
            ),
            "Consultation PLU": (
                "information",
                "consultation: Répondre à une consultation publique",
                "regulatory",
                "regulatory: Actes réglementaires",
            ),
            "Lettre au président": (
                "correspondence",
                "letter: Envoyer des pétitions, lettres, tracts",
                "public_procurement",
                "contract: Contrats, marchés publics, concessions",
            ),
            "Pétition TER": (
                "petition",
                "petition: Lancer des pétitions",
                "law",
                "legislative: Lois, y compris constitutionnelles",
            ),
            "Rendez-vous": (
                "meeting",
                "meeting: Organiser des discussions informelles ou des réunions en tête-à-tête",
                "individual",
                "individual: Décisions individuelles",
            ),
        }
        assert {a.type_detail for a in list_actions(con) if a.subject == "Appel au cabinet"} == {
            "Téléphoner"
        }
        # the migrated log is reported in the register's vocabulary
        assert _exercise(_report(con, 2025))["nombreActivite"] == 5
    finally:
        con.close()


def test_loi_3ds_scope(mini_db: duckdb.DuckDBPyConnection) -> None:
    rennes = _person(mini_db, "cm-35238", "MAI")  # Rennes: 216,815 inhabitants
    bruz = _person(mini_db, "cm-35047", "MAI")  # Bruz: 18,266 inhabitants
    mep = _person(mini_db, "pe", None)
    deputy = _person(mini_db, "an", None)
    senator = _person(mini_db, "senat", None)
    president_35 = _person(mini_db, "cd-35", "PRE")
    cc_vp = _person(mini_db, "cc-243500634", "VPE")  # a communauté de communes of 26,354
    metro_vp = _person(mini_db, "cc-243500139", "VPE")  # Rennes Métropole, 447,429
    day = date(2026, 4, 15)
    for subject, actors in [
        ("Rennes", [rennes]),
        ("Bruz", [bruz]),
        ("Europe", [mep]),
        ("Parlement", [deputy, senator]),
        ("Département", [president_35]),
        ("Roche aux Fées", [cc_vp]),
        ("Métropole", [metro_vp]),
    ]:
        add_action(mini_db, when=day, type="meeting", subject=subject, actors=actors)
    report = _report(mini_db)
    declared = {
        a["publicationCourante"]["objet"]: [
            p["reponsablesPublics"]
            for p in a["publicationCourante"]["actionsRepresentationInteret"]
        ]
        for a in _exercise(report)["activites"]
    }
    assert declared == {
        "Rennes": [[LOCAL]],
        # deputies and senators are one category of the register: one action, one category
        "Parlement": [[PARLIAMENT]],
        "Département": [[LOCAL]],
        "Métropole": [[LOCAL]],
    }
    out = report["horsChamp"]
    assert out["nombreActions"] == 3
    assert {m["motif"]: m["nombreActions"] for m in out["motifs"]} == {
        RULES["small"]: 2,
        "député européen : hors du répertoire français (registre de transparence de l'Union "
        "européenne)": 1,
    }
    reasons = {a["objet"]: a["motifs"] for a in out["actions"]}
    assert reasons["Bruz"] == [
        "maire (Conseil municipal de Bruz) : commune de 18 266 habitants (population 2017)"
    ]
    # the actions stay in the log
    assert len(list_actions(mini_db)) == 7


def test_local_officials_are_declared_from_1_july_2022_only(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    before = coverage(mini_db, ["cd-35", "an"], on=date(2022, 6, 30))
    after = coverage(mini_db, ["cd-35"], on=date(2022, 7, 1))
    assert (before["cd-35"].category, before["cd-35"].rule) == (None, RULES["before"])
    assert before["an"].category == PARLIAMENT
    assert after["cd-35"].category == LOCAL
    # a plain councillor (no executive function in the source) and an imported firm: out
    plain = _person(mini_db, "cr-53", None)
    found = coverage(mini_db, [plain], on=date(2026, 4, 1))
    assert found[plain].rule == RULES["plain"]


def test_the_spend_bracket_is_the_exercises(mini_db: duckdb.DuckDBPyConnection) -> None:
    for subject, cost in (("TER", 8_000), ("Fret", 9_000)):
        add_action(
            mini_db,
            when=date(2026, 5, 2),
            type="meeting",
            subject=subject,
            actors=["cr-53"],
            cost_eur=cost,
        )
    exercise = _exercise(_report(mini_db))
    # one bracket for the exercise (8 000 + 9 000 €), none per activity
    assert (exercise["montantDepense"], exercise["montantDepenseOrigine"]) == (
        "> = 10 000 euros et < 25 000 euros",
        "estime",
    )
    assert all("montantDepense" not in a["publicationCourante"] for a in exercise["activites"])
    set_exercise(mini_db, 2026, spend=130_000)
    exercise = _exercise(_report(mini_db))
    assert (exercise["montantDepense"], exercise["montantDepenseOrigine"]) == (
        "> = 100 000 euros et < 200 000 euros",
        "declare",
    )
    set_exercise(mini_db, 2026, spend="> = 200 000 euros et < 300 000 euros")
    assert _exercise(_report(mini_db))["montantDepense"] == "> = 200 000 euros et < 300 000 euros"


def test_an_accounting_year_takes_the_actions_of_its_dates(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    for day in (date(2025, 6, 30), date(2025, 7, 1), date(2026, 6, 30), date(2026, 7, 1)):
        add_action(mini_db, when=day, type="meeting", subject=str(day), actors=["cr-53"])
    set_exercise(mini_db, 2026, start=date(2025, 7, 1), end=date(2026, 6, 30))
    exercise = _exercise(_report(mini_db))
    assert (exercise["dateDebut"], exercise["dateFin"]) == ("01-07-2025", "30-06-2026")
    assert sorted(a["publicationCourante"]["objet"] for a in exercise["activites"]) == [
        "2025-07-01",
        "2026-06-30",
    ]
    with pytest.raises(InvalidExercise, match="accounting year ending in 2026"):
        set_exercise(mini_db, 2026, start=date(2026, 1, 1), end=date(2027, 1, 31))


def test_staff_turnover_and_clients(mini_db: duckdb.DuckDBPyConnection) -> None:
    fresh = get_exercise(mini_db, 2026)
    assert (fresh.declared, fresh.start, fresh.clients) == (False, date(2026, 1, 1), [])
    set_exercise(
        mini_db,
        2026,
        staff=4,
        fte=2.5,
        turnover=640_000,
        clients=[Client("Fédération régionale des TP", "775662182"), Client("Ville de Vitré")],
    )
    # options left out keep their value
    kept = set_exercise(mini_db, 2026, staff=5)
    assert (kept.staff, kept.fte, kept.turnover_bracket) == (
        5,
        2.5,
        "> = 500 000 euros et < 1 000 000 euros",
    )
    assert [c.name for c in kept.clients] == ["Fédération régionale des TP", "Ville de Vitré"]
    add_action(
        mini_db,
        when=date(2026, 5, 2),
        type="third_party_meeting",
        subject="Rocade",
        actors=["cr-53"],
        client="Ville de Vitré",
    )
    report = _report(mini_db)
    exercise = _exercise(report)
    assert (exercise["nombreSalaries"], exercise["nombrePersonnes"]) == (2.5, 5)
    assert exercise["chiffreAffaire"] == "> = 500 000 euros et < 1 000 000 euros"
    assert report["clients"] == [
        {"denomination": "Fédération régionale des TP", "identifiantNational": "775662182"},
        {"denomination": "Ville de Vitré", "identifiantNational": None},
    ]
    assert _parts(report)[0]["tiers"] == ["Ville de Vitré"]
    assert set_exercise(mini_db, 2026, clients=[]).clients == []
    with pytest.raises(InvalidExercise, match="given once"):
        set_exercise(mini_db, 2026, clients=[Client("A"), Client("A")])
    with pytest.raises(InvalidExercise, match="staff"):
        set_exercise(mini_db, 2026, staff=-1)


def test_the_json_follows_the_documented_agora_structure(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    rennes = _person(mini_db, "cm-35238", "MAI")
    mep = _person(mini_db, "pe", None)
    set_exercise(mini_db, 2026, spend=30_000, staff=2, clients=[Client("Ville de Vitré")])
    for kind, actors in (("meeting", [rennes]), ("event", ["an"]), ("email", [mep])):
        add_action(
            mini_db,
            when=date(2026, 4, 20),
            type=kind,
            subject="Ligne b",
            actors=actors,
            policy_areas=["Transports"],
            decision_targeted="Délibération du 12 juin",
        )
    report = _report(mini_db)
    validator = jsonschema.Draft202012Validator(report_schema())
    validator.validate(report)
    # the schema does catch what the register would refuse
    broken = json.loads(json.dumps(report))
    part = _parts(broken)[0]
    part["actionsMenees"] = ["Téléphoner"]
    assert not validator.is_valid(broken)
    broken = json.loads(json.dumps(report))
    broken["exercices"][0]["publicationCourante"]["activites"][0]["publicationCourante"][
        "montantDepense"
    ] = "> = 10 000 euros et < 25 000 euros"
    assert not validator.is_valid(broken)
    assert activity_report(mini_db, year=2026).excluded_actions == 1


def test_the_csv_is_safe_against_formula_injection(mini_db: duckdb.DuckDBPyConnection) -> None:
    add_action(
        mini_db,
        when=date(2026, 4, 20),
        type="meeting",
        subject='=HYPERLINK("http://x","y")',
        actors=["cr-53"],
        client="+33 6 00 00 00 00",
    )
    add_action(
        mini_db,
        when=date(2026, 4, 21),
        type="meeting",
        subject="+SUM(A1:A9)",
        actors=["cr-53"],
        decision_targeted="@cmd",
    )
    rows = list(csv.DictReader(io.StringIO(register_report(mini_db, year=2026, fmt="csv"))))
    assert {r["objet"] for r in rows} == {'\'=HYPERLINK("http://x","y")', "'+SUM(A1:A9)"}
    assert {r["tiers"] for r in rows} == {"'+33 6 00 00 00 00", ""}
    assert {r["observation"] for r in rows} == {"", "'@cmd"}
    assert {r["nombre_actions"] for r in rows} == {"1"}


def test_cli_sets_the_exercise_and_logs_for_a_client(mini_db_path: Path, tmp_path: Path) -> None:
    kb = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, kb)
    runner = CliRunner()
    db = ["--db", str(kb)]
    done = runner.invoke(
        app,
        [
            "actions",
            "exercise",
            "set",
            "2026",
            "--spend",
            "45000",
            "--staff",
            "3",
            "--fte",
            "1.5",
            "--client",
            "Ville de Vitré=213503600",
            *db,
        ],
    )
    assert done.exit_code == 0, done.output
    assert "> = 25 000 euros et < 50 000 euros" in done.stdout
    shown = runner.invoke(app, ["actions", "exercise", "show", "2026", "--json", *db])
    assert json.loads(shown.stdout)["clients"] == [
        {"name": "Ville de Vitré", "identifier": "213503600"}
    ]
    bad = runner.invoke(app, ["actions", "exercise", "set", "2026", "--spend", "lots", *db])
    assert bad.exit_code == 2 and "'lots'" in bad.stderr
    added = runner.invoke(
        app,
        [
            "actions",
            "add",
            "--subject",
            "Rocade",
            "--actor",
            "cr-53",
            "--type",
            "drafting",
            "--client",
            "Ville de Vitré",
            "--date",
            "2026-05-04",
            *db,
        ],
    )
    assert added.exit_code == 0, added.output
    runner.invoke(
        app,
        ["actions", "add", "--subject", "Bruz", "--actor", "cm-35047", "--date", "2026-05-04", *db],
    )
    out = tmp_path / "agora.json"
    done = runner.invoke(app, ["actions", "report", "--year", "2026", "-o", str(out), *db])
    assert done.exit_code == 0, done.output
    assert "1 actions declared" in done.stderr and "1 actions left out" in done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert _parts(report)[0]["actionsMenees"] == [ACTION_TYPES["drafting"]]
    assert _parts(report)[0]["tiers"] == ["Ville de Vitré"]


@pytest.mark.slow
def test_3ds_scope_on_all_of_france(full_db: duckdb.DuckDBPyConnection) -> None:
    """Statut-particulier collectivities, big and small communes and EPCI of the real KB."""
    day = date(2026, 6, 1)
    actors = {
        "paris": _person(full_db, "cm-75056", "MAI"),
        "rennes": _person(full_db, "cm-35238", "MAI"),
        "lyon_metro": "cd-69M",  # no official in the source: the council itself is met
        "corse": "cd-20R",
        "rennes_metropole": _person(full_db, "cc-243500139", "PRE"),
    }
    small = full_db.execute(
        "SELECT m.person_id FROM mandate m JOIN territory t ON t.level = 'commune' "
        "AND t.code = m.code WHERE m.function_code = 'MAI' AND t.population < 500 "
        "ORDER BY m.person_id LIMIT 1"
    ).fetchone()
    assert small is not None
    found = coverage(full_db, [*actors.values(), str(small[0])], on=day)
    assert {k: found[v].category for k, v in actors.items()} == dict.fromkeys(actors, LOCAL)
    assert found[str(small[0])].rule == RULES["small"]


def test_state_services_and_the_european_commission(mini_db: duckdb.DuckDBPyConnection) -> None:
    """Organisations of the State's services (ids and kinds of the State bodies import)."""
    source = mini_db.execute("SELECT min(id) FROM source").fetchone()
    assert source is not None
    for oid, kind, name in (
        ("etat-pref-35", "prefecture", "Préfecture d'Ille-et-Vilaine"),
        ("etat-ars-53", "ars", "Agence régionale de santé de Bretagne"),
        ("etat-dreal-53", "dreal", "DREAL Bretagne"),
        ("etat-bpi-53", "bpifrance", "Bpifrance Bretagne"),
        ("ue-commission", "commission_europeenne", "Commission européenne"),
    ):
        if mini_db.execute("SELECT count(*) FROM organisation WHERE id = ?", [oid]).fetchone() == (
            0,
        ):
            mini_db.execute(
                "INSERT INTO organisation (id, kind, name, source_id) VALUES (?, ?, ?, ?)",
                [oid, kind, name, source[0]],
            )
    found = coverage(
        mini_db,
        ["etat-pref-35", "etat-ars-53", "etat-dreal-53", "etat-bpi-53", "ue-commission"],
        on=date(2026, 4, 1),
    )
    assert {k: c.category for k, c in found.items()} == {
        "etat-pref-35": CATEGORIES["government_appointee"],
        "etat-ars-53": CATEGORIES["government_appointee"],
        "etat-dreal-53": CATEGORIES["state_agent"],
        "etat-bpi-53": None,
        "ue-commission": None,
    }
    assert "Union européenne" in found["ue-commission"].reason
