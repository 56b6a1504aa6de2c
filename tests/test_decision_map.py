"""Decision map v2 on the mini knowledge base: sub-themes, the law in force, weights inside
bodies (executive, delegations, EPCI councils by population), the themes listing (library,
CLI, API) and the delegations import."""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from datetime import date
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import UnknownTerritory, UnknownTheme, ValidationError
from territoria.influence.decision import Target, decision_map, get_theme, themes
from territoria.influence.delegations import delegations, import_delegations
from test_api_helpers import login, make_app, make_kb

HISTORICAL = {
    "economic-development",
    "roads",
    "regional-trains",
    "secondary-schools",
    "higher-education",
    "competitiveness-poles",
    "eu-funds",
    "water",
    "housing",
    "social-action",
}
RENNES, JANZE, RM, ROCHE = "35238", "35136", "cc-243500139", "cc-243500634"
ROULLIER, LOUAPRE = "p-22a38ff2182964", "p-21a42b10e4623b"  # vice-presidents of Rennes Métropole


def by_body(targets: list[Target]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for t in targets:
        out[t.body_id] += t.weight
    return dict(out)


def test_themes_keep_their_ids_and_group_dated_subthemes_with_their_law() -> None:
    found = {t.id: t for t in themes()}
    assert set(found) >= HISTORICAL
    subs = [s for t in found.values() for s in t.subthemes]
    assert len(subs) >= 30
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", s.id) for s in subs)
    assert {s.id for s in found["secondary-schools"].subthemes} == {"colleges", "lycees"}
    assert {"eau-potable", "assainissement", "gemapi"} <= {s.id for s in found["water"].subthemes}
    assert all(r.basis and r.law for s in subs for r in s.rules)
    gemapi = get_theme("gemapi")
    assert gemapi.parent == "water"
    epci = next(r for r in gemapi.rules if r.body == "epci")
    assert "MAPTAM" in epci.law and epci.in_force_from == date(2018, 1, 1)
    # the competent body first: the largest weight of every sub-theme is a collectivity's or
    # a State service's, never the parliamentarians'
    for s in subs:
        top = max(s.bodies, key=lambda b: b[1])
        assert top[0] not in {"deputies", "senators", "meps"}, s.id


def test_voirie_in_rennes_is_the_metropole_not_the_departement(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    weights = by_body(decision_map(mini_db, theme="voirie-communale", code=RENNES))
    assert max(weights, key=lambda b: weights[b]) == RM
    assert "cd-35" not in weights and "cr-53" not in weights
    assert sum(weights.values()) == pytest.approx(3.5)  # métropole 3, the mayor's police 0.5


def test_water_follows_the_epci_category(mini_db: duckdb.DuckDBPyConnection) -> None:
    """Janzé is in a communauté de communes: the commune keeps the water (loi n° 2025-327),
    the CC counts only if it was transferred; Rennes's métropole holds it."""
    janze = decision_map(mini_db, theme="eau-potable", code=JANZE)
    weights = by_body(janze)
    assert max(weights, key=lambda b: weights[b]) == "cm-35136"
    assert weights[ROCHE] < weights["cm-35136"]
    mayor = next(t for t in janze if t.body_id == "cm-35136" and t.role.startswith("maire"))
    assert "2025-327" in mayor.basis
    rennes = by_body(decision_map(mini_db, theme="eau-potable", code=RENNES))
    assert {b for b in rennes if not b.startswith("etat-")} == {RM}
    assert rennes[RM] == pytest.approx(3.0)  # the agence de l'eau and the préfet lower


def test_the_law_in_force_on_the_date_asked(mini_db: duckdb.DuckDBPyConnection) -> None:
    before = by_body(decision_map(mini_db, theme="gemapi", code=RENNES, as_of=date(2017, 6, 1)))
    after = by_body(decision_map(mini_db, theme="gemapi", code=RENNES, as_of=date(2024, 1, 1)))
    assert max(before, key=lambda b: before[b]) == "cm-35238" and RM not in before
    assert max(after, key=lambda b: after[b]) == RM and "cm-35238" not in after
    janze = decision_map(mini_db, theme="eau-potable", code=JANZE, as_of=date(2024, 1, 1))
    assert "2018-702" in max(janze, key=lambda t: t.weight).basis


def test_a_theme_is_its_subthemes_combined(mini_db: duckdb.DuckDBPyConnection) -> None:
    """secondary-schools = collèges (département 3) + lycées (région 3), each counted once."""
    weights = by_body(
        decision_map(mini_db, theme="secondary-schools", code="35", level="departement")
    )
    colleges = by_body(decision_map(mini_db, theme="colleges", code="35", level="departement"))
    assert weights["cd-35"] == pytest.approx(3.0) == colleges["cd-35"]
    assert weights["cr-53"] == pytest.approx(3.0) and "cr-53" not in colleges


def test_epci_council_members_weigh_by_their_communes_population(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    """Inside Rennes Métropole, the council's share goes to each member commune's conseillers
    communautaires in proportion to the commune's population (seats, CGCT L5211-6-1), equally
    between a commune's councillors: not equally between communes."""
    targets = decision_map(mini_db, theme="gemapi", code=RENNES)
    seat: dict[str, float] = {}  # the weight of one seat, from councillors with no other role
    for t in targets:
        found = re.fullmatch(r"conseill\w+ communautaire \((.+?)\) — .*", t.reasons[0])
        if found and len(t.reasons) == 1:
            seat[found[1]] = t.weight
    rows = mini_db.execute(
        """
        SELECT t.name, t.population, count(DISTINCT cc.person_id)
        FROM territory t JOIN mandate mu ON mu.level = 'commune' AND mu.code = t.code
             AND mu.end_date IS NULL
        JOIN mandate cc ON cc.person_id = mu.person_id AND cc.organisation_id = ?
             AND cc.end_date IS NULL
        WHERE t.level = 'commune' AND t.name IN ('Rennes', 'Bruz', 'Langan')
        GROUP BY ALL
        """,
        [RM],
    ).fetchall()
    per_inhabitant = {name: seat[name] * seats / pop for name, pop, seats in rows}
    assert len(per_inhabitant) == 3
    assert per_inhabitant["Rennes"] == pytest.approx(per_inhabitant["Bruz"])
    assert per_inhabitant["Langan"] == pytest.approx(per_inhabitant["Bruz"])
    assert seat["Bruz"] > 5 * seat["Langan"]
    # the executive first: the president carries more than the whole council share (0.5/2)
    president = max(targets, key=lambda t: t.weight)
    assert president.role == "présidente" and president.weight > 1.0


def write_delegations(path: Path, rows: list[str]) -> Path:
    path.write_text("person,body,delegation,themes,source,date\n" + "\n".join(rows) + "\n")
    return path


def test_a_delegated_vice_president_gets_a_larger_share(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    before = {t.id: t.weight for t in decision_map(mini_db, theme="voirie-communale", code=RENNES)}
    file = write_delegations(
        tmp_path / "rm.csv",
        [
            f'Olivier Roullier,{RM},"Voirie, espaces publics",voirie-communale,arrêté,2020-07-16',
            f"{LOUAPRE},{RM},Eau et assainissement,water,,",
        ],
    )
    report = import_delegations(mini_db, file)
    assert (report.delegations, report.bodies, report.source_name) == (2, 1, "rm.csv")
    after = {t.id: t for t in decision_map(mini_db, theme="voirie-communale", code=RENNES)}
    assert after[ROULLIER].weight > 10 * before[ROULLIER]
    assert after[ROULLIER].role == "vice-président, délégation : Voirie, espaces publics"
    # the other vice-presidents hold other portfolios: only their council seat is left
    assert after[LOUAPRE].weight < before[LOUAPRE]
    water = {t.id: t.weight for t in decision_map(mini_db, theme="assainissement", code=RENNES)}
    assert water[LOUAPRE] > water[ROULLIER]
    assert [d.person for d in delegations(mini_db, body=RM)] == [
        "Françoise LOUAPRE",
        "Olivier ROULLIER",
    ]
    # importing the same file again replaces its delegations
    assert import_delegations(mini_db, file).replaced == 2


def test_a_bad_delegation_line_writes_nothing(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    file = write_delegations(
        tmp_path / "bad.csv",
        [
            f"Olivier Roullier,{RM},Voirie,voirie-communale,,",
            f"Personne Inconnue,{RM},Voirie,voirie-communale,,",
            f"{LOUAPRE},cm-35238,Eau,water,,",
            f"Olivier Roullier,{RM},Voirie,voirie,,16/07/2020",
        ],
    )
    with pytest.raises(ValidationError) as error:
        import_delegations(mini_db, file)
    assert error.value.problems == [
        f"line 3: no serving official of '{RM}' is named 'Personne Inconnue'",
        f"line 4: '{LOUAPRE}' holds no current mandate in 'cm-35238'",
        "line 5: date '16/07/2020' is not YYYY-MM-DD",
        "line 5: unknown theme 'voirie': see 'territoria influence themes'",
    ]
    assert mini_db.execute("SELECT count(*) FROM delegation").fetchone() == (0,)
    assert mini_db.execute(
        "SELECT count(*) FROM source WHERE dataset = 'delegations'"
    ).fetchone() == (0,)


def test_cli_delegations_and_themes(mini_db_path: Path, tmp_path: Path) -> None:
    kb = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, kb)
    runner = CliRunner()
    file = write_delegations(
        tmp_path / "d.csv", [f"Olivier Roullier,{RM},Voirie,voirie-communale,,"]
    )
    done = runner.invoke(app, ["delegations", "import", str(file), "--json", "--db", str(kb)])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["delegations"] == 1
    listed = runner.invoke(app, ["delegations", "list", "--json", "--db", str(kb)])
    assert json.loads(listed.stdout)[0]["person"] == "Olivier ROULLIER"
    bad = write_delegations(tmp_path / "b.csv", [f"Olivier Roullier,{RM},Voirie,voirie,,"])
    refused = runner.invoke(app, ["delegations", "import", str(bad), "--db", str(kb)])
    assert refused.exit_code == 2 and "unknown theme 'voirie'" in refused.output
    shown = runner.invoke(app, ["influence", "themes", "--json"])
    water = next(t for t in json.loads(shown.stdout) if t["id"] == "water")
    gemapi = next(s for s in water["subthemes"] if s["id"] == "gemapi")
    assert any("MAPTAM" in r["law"] for r in gemapi["rules"] if r["body"] == "epci")
    table = runner.invoke(app, ["influence", "themes"], env={"COLUMNS": "250"})
    assert "GEMAPI" in table.stdout and "Collèges" in table.stdout
    # the competent bodies in French, not the map's keys
    assert "préfet de région" in table.stdout and "Commission européenne" in table.stdout
    assert "prefecture_region" not in table.stdout and "commission_europeenne" not in table.stdout


def test_api_themes_show_subthemes_bodies_and_law(mini_db_path: Path, tmp_path: Path) -> None:
    application = make_app(make_kb(mini_db_path, tmp_path))
    with TestClient(application) as client:
        login(client, "analyst")
        found = {t["id"]: t for t in client.get("/api/v1/influence/themes").json()}
        page = client.get("/influence", params={"code": RENNES, "level": "commune"}).text
        english = client.get("/influence", params={"code": RENNES, "lang": "en"}).text
    application.state.territoria.db.close()
    # the planner's theme list: each theme an optgroup, the whole theme then its sub-themes
    assert '<optgroup label="Collèges et lycées">' in page
    assert re.search(
        r'<option value="colleges" title="[^"]*L213-2[^"]*"\s*>Collèges</option>', page
    )
    assert "Secondary schools (whole theme)" in english
    assert set(found) >= HISTORICAL
    colleges = next(s for s in found["secondary-schools"]["subthemes"] if s["id"] == "colleges")
    assert colleges["bodies"][0] == {"level": "departement", "weight": 3.0}
    rule = colleges["rules"][0]
    assert (
        rule["basis"].startswith("Code de l'éducation L213-2")
        and rule["in_force_from"] == "1986-01-01"
    )


def test_unknown_theme_and_territory(mini_db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(UnknownTheme, match="sub-themes"):
        decision_map(mini_db, theme="space-program", code=RENNES)
    with pytest.raises(UnknownTerritory, match="territoria search"):
        decision_map(mini_db, theme="roads", code="99999")


def test_cli_plan_takes_a_subtheme(mini_db_path: Path, tmp_path: Path) -> None:
    """`influence plan --theme eau-potable` on Janzé: the commune's mayor is the first target,
    the agence de l'eau a body target of its own, in the plan's JSON."""
    kb = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, kb)
    args = ["influence", "plan", "--territory", JANZE, "--theme", "eau-potable", "--k", "2"]
    args += ["--no-robustness", "--no-coalition", "--seed", "1", "--json", "--db", str(kb)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    plan = json.loads(done.stdout)
    assert plan["project"]["theme_label"] == "Eau potable"
    first = max(plan["targets"], key=lambda t: t["weight"])
    assert (first["body_id"], first["kind"], first["role"]) == ("cm-35136", "person", "maire")
    assert "2025-327" in first["basis"]
    water = next(t for t in plan["targets"] if t["id"].startswith("etat-eau-"))
    assert water["kind"] == "body" and "institution elle-même" in water["note"]


def test_cli_plan_text_names_decision_makers_both_answers_and_french_guarantee(
    mini_db_path: Path, tmp_path: Path
) -> None:
    """The plan printed for a user: the decision-makers with their chance of being reached,
    the relays, the direct answer, and the guarantee as a French sentence on the candidates."""
    kb = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, kb)
    args = ["influence", "plan", "--territory", JANZE, "--theme", "eau-potable", "--k", "2"]
    args += ["--no-coalition", "--seed", "1", "--db", str(kb)]
    done = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    text = done.stdout
    assert "Décideurs du projet" in text and "probabilité d'être atteint" in text
    assert "maire" in text
    assert "Réponse directe : rencontrer les décideurs eux-mêmes" in text
    assert "du meilleur plan possible de 2 acteurs parmi les" in text
    assert "acteurs proposés" in text
    assert "guarantee" not in text.lower() and "RIS" not in text


def test_a_kept_decision_map_is_a_copy_the_caller_may_change(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    first = decision_map(mini_db, theme="voirie-communale", code=RENNES)
    weight = first[0].weight
    first[0].weight = 1e9
    first[0].reasons.append("changed by the caller")
    again = decision_map(mini_db, theme="voirie-communale", code=RENNES)
    assert again[0].weight == weight
    assert "changed by the caller" not in again[0].reasons


def test_detr_for_a_city_is_refused_with_the_law_and_the_grants_it_may_ask_for(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    """Rennes (over 200,000 inhabitants) cannot receive the DETR (CGCT L2334-33): the map says
    so and points to the DSIL and the fonds vert; Janzé (8,279) gets its préfet."""
    from territoria.errors import InvalidPlanRequest

    with pytest.raises(InvalidPlanRequest, match="n'est pas éligible") as caught:
        decision_map(mini_db, theme="detr", code=RENNES)
    assert "L2334-33" in str(caught.value) and "dsil" in str(caught.value)
    janze = decision_map(mini_db, theme="detr", code=JANZE)
    assert janze[0].id == "etat-pref-35"
    # the theme of State grants keeps the DSIL and the fonds vert for Rennes
    grants = decision_map(mini_db, theme="state-grants", code=RENNES)
    assert {t.id for t in grants} >= {"etat-prefreg-53", "etat-pref-35"}
