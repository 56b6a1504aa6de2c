"""The people directory: person search, a person's record, the merge report, and their CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import AmbiguousPerson, InvalidQuery, UnknownPerson
from territoria.influence.actions import add_action
from territoria.kb import transaction
from territoria.kb.people import merges, person, resolve_person, search_persons

APPERE = "p-f32e7ff2540601"  # Nathalie Appéré, mayor of Rennes, born 1975-08-07


def _source(con: duckdb.DuckDBPyConnection, dataset: str) -> int:
    row = con.execute("SELECT id FROM source WHERE dataset = ?", [dataset]).fetchone()
    assert row is not None
    return int(row[0])


# ----------------------------------------------------------------------------- search


@pytest.mark.parametrize("query", ["appere", "APPÉRÉ", "Appéré Nathalie", "nathalie app", "apere"])
def test_search_finds_the_mayor_of_rennes(mini_kb: duckdb.DuckDBPyConnection, query: str) -> None:
    hits = search_persons(mini_kb, query, limit=5)
    assert hits[0].id == APPERE
    assert hits[0].name.casefold() == "nathalie appéré"
    assert hits[0].birth_year == 1975
    places = {(t.level, t.code, t.body) for t in hits[0].titles}
    assert ("commune", "35238", "Conseil municipal de Rennes") in places
    assert ("epci", "243500139", "Conseil communautaire — Rennes Métropole") in places


def test_search_ranks_the_whole_name_first(mini_kb: duckdb.DuckDBPyConnection) -> None:
    whole = search_persons(mini_kb, "nathalie appéré", limit=5)
    word = search_persons(mini_kb, "appere", limit=5)
    assert whole[0].id == word[0].id == APPERE
    assert whole[0].score > word[0].score  # the whole name is a tier above a word


def test_search_senators_and_typing(mini_kb: duckdb.DuckDBPyConnection) -> None:
    gatel = search_persons(mini_kb, "gatel", limit=3)[0]
    assert gatel.name.casefold() == "françoise gatel"
    assert any(t.body == "Sénat" for t in gatel.titles)
    # words being typed, in any order
    assert "dadkhah" in search_persons(mini_kb, "dadkha forough", limit=3)[0].name.casefold()
    # neither word is exact, but each is near one: near spellings of every word
    assert search_persons(mini_kb, "natalie apere", limit=3)[0].id == APPERE
    assert search_persons(mini_kb, "zzqxw", limit=3) == []
    assert search_persons(mini_kb, "  ", limit=3) == []
    # an id pasted in the box: that person
    assert [h.id for h in search_persons(mini_kb, APPERE)] == [APPERE]
    with pytest.raises(InvalidQuery):
        search_persons(mini_kb, "gatel", limit=0)


def test_a_senator_before_a_councillor_of_the_same_name(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    # a homonym (other birth date: another person) who sits on a village council only
    sid = _source(mini_db, "elus_municipaux.csv")
    mini_db.execute(
        "INSERT INTO person (id, last_name, first_name, sex, birth_date, name_norm, source_id) "
        "VALUES ('p-00000000homonym', 'GATEL', 'Françoise', 'F', DATE '1980-01-02', "
        "'francoise gatel', ?)",
        [sid],
    )
    mini_db.execute(
        "INSERT INTO mandate (person_id, organisation_id, level, code, role, source_id) "
        "VALUES ('p-00000000homonym', 'cm-35001', 'commune', '35001', "
        "'conseiller municipal', ?)",
        [sid],
    )
    hits = search_persons(mini_db, "Françoise Gatel", limit=5)
    assert [h.birth_year for h in hits[:2]] == [1953, 1980]  # two persons, the senator first
    assert any(t.body == "Sénat" for t in hits[0].titles)
    assert [t.code for t in hits[1].titles] == ["35001"]
    with pytest.raises(AmbiguousPerson) as raised:
        resolve_person(mini_db, "Françoise Gatel")
    assert len(raised.value.candidates) == 2
    assert "p-00000000homonym" in "\n".join(raised.value.candidates)


def test_titles_in_the_persons_gender(mini_db: duckdb.DuckDBPyConnection) -> None:
    # the importer writes the titles in the person's gender beside the neutral keys
    mini_db.execute(
        "UPDATE mandate SET role_label = 'conseillère communautaire', function_label = "
        "'présidente' WHERE person_id = ? AND function = 'président'",
        [APPERE],
    )
    hit = search_persons(mini_db, "appere", limit=1)[0]
    assert [t.label for t in hit.titles if t.level == "epci"] == ["présidente"]
    page = person(mini_db, APPERE)
    epci = next(m for m in page.current if m.level == "epci")
    assert (epci.role, epci.function) == ("conseillère communautaire", "présidente")


def test_search_index_follows_imports(mini_db: duckdb.DuckDBPyConnection) -> None:
    assert search_persons(mini_db, "zéphyrine quillévéré") == []
    sid = _source(mini_db, "elus_municipaux.csv")
    with transaction(mini_db):  # as every import writes
        mini_db.execute(
            "INSERT INTO person (id, last_name, first_name, sex, name_norm, source_id) VALUES "
            "('p-0000000000zq', 'QUILLÉVÉRÉ', 'Zéphyrine', 'F', 'zephyrine quillevere', ?)",
            [sid],
        )
    hits = search_persons(mini_db, "zéphyrine quillévéré")
    assert [h.id for h in hits] == ["p-0000000000zq"]
    assert hits[0].titles == []


# ----------------------------------------------------------------------------- one person


def test_person_record(mini_db: duckdb.DuckDBPyConnection) -> None:
    page = person(mini_db, APPERE)
    assert page.name.casefold() == "nathalie appéré"
    assert page.birth_date == date(1975, 8, 7)
    assert {(m.level, m.code) for m in page.current} == {
        ("commune", "35238"),
        ("epci", "243500139"),
    }
    mayor = next(m for m in page.current if m.level == "commune")
    assert mayor.territory == "Rennes" and mayor.body == "Conseil municipal de Rennes"
    assert mayor.function in {"maire"}
    assert mayor.source == "elus_municipaux.csv" and mayor.source_version == "1.1.0"
    assert page.past == [] and page.actions == [] and page.plans == []
    with pytest.raises(UnknownPerson, match="people search"):
        person(mini_db, "p-000000000000")


def test_person_flags_contacts_actions_and_plans(mini_db: duckdb.DuckDBPyConnection) -> None:
    gatel = search_persons(mini_db, "gatel", limit=1)[0].id
    # a date the source wrote with day and month swapped, as the importer flags it
    mini_db.execute(
        "UPDATE mandate SET date_flag = 'day_month_swapped', start_date = DATE '2021-07-02', "
        "start_date_source = '2021-02-07' WHERE person_id = ? AND role = 'sénateur'",
        [gatel],
    )
    mini_db.execute(
        "INSERT INTO contact (level, code, kind, email, source_id) "
        "VALUES ('person', ?, 'email', 'f.gatel@senat.fr', ?)",
        [gatel, _source(mini_db, "senateurs.csv")],
    )
    action = add_action(
        mini_db, when=date(2026, 5, 4), type="meeting", subject="Ligne Rennes–Châteaubriant",
        actors=[gatel],
    )  # fmt: skip
    mini_db.execute(
        "INSERT INTO job (id, kind, owner, params, status, created_at, result) VALUES "
        "('plan-1', 'plan', 'alice', ?, 'done', TIMESTAMP '2026-05-05 10:00', ?)",
        [
            json.dumps({"code": "53", "level": "region", "theme": "regional-trains", "k": 3}),
            json.dumps({"seeds": [{"id": gatel, "name": "Françoise Gatel"}], "targets": []}),
        ],
    )
    page = person(mini_db, gatel)
    senate = next(m for m in page.current if m.body == "Sénat")
    assert senate.date_flag == "day_month_swapped"
    assert (senate.start_date, senate.start_date_source) == (date(2021, 7, 2), "2021-02-07")
    assert [(c.kind, c.email, c.source) for c in page.contacts] == [
        ("email", "f.gatel@senat.fr", "senateurs.csv")
    ]
    assert [(a.id, a.subject) for a in page.actions] == [(action, "Ligne Rennes–Châteaubriant")]
    assert [(p.id, p.theme, p.code, p.roles) for p in page.plans] == [
        ("plan-1", "regional-trains", "53", ["seed"])
    ]


def _add_merges(con: duckdb.DuckDBPyConnection) -> str:
    dadkhah = search_persons(con, "dadkhah", limit=1)[0].id
    sid = _source(con, "senateurs.csv")
    con.execute("DELETE FROM person_merge")
    con.execute(
        "INSERT INTO person_merge VALUES "
        "(?, 'Dadkhah', 'Forough', '1966-03-02', 'day_month_swapped', 1, 'senateurs.csv', ?), "
        "(?, 'APPÉRE', 'Nathalie', '1975-08-07', 'spelling', 1, 'elus_municipaux.csv', ?)",
        [dadkhah, sid, APPERE, sid],
    )
    con.execute("UPDATE person SET birth_date_alt = DATE '1966-03-02' WHERE id = ?", [dadkhah])
    return dadkhah


def test_merge_report(mini_db: duckdb.DuckDBPyConnection) -> None:
    dadkhah = _add_merges(mini_db)
    swapped = merges(mini_db, reason="day_month_swapped")
    assert [(m.person_id, m.birth_date, m.datasets) for m in swapped] == [
        (dadkhah, "1966-03-02", "senateurs.csv")
    ]
    assert {m.reason for m in merges(mini_db)} == {"spelling", "day_month_swapped"}
    assert len(merges(mini_db, limit=1)) == 1
    page = person(mini_db, dadkhah)
    assert page.birth_date_alt == date(1966, 3, 2)
    assert [m.reason for m in page.merges] == ["day_month_swapped"]
    with pytest.raises(InvalidQuery, match="spelling or day_month_swapped"):
        merges(mini_db, reason="typo")


# ----------------------------------------------------------------------------- command line

runner = CliRunner()


def test_cli_people_search_and_show(mini_kb_path: Path) -> None:
    db = ["--db", str(mini_kb_path)]
    result = runner.invoke(app, ["people", "search", "appere", "--json", *db])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert hits[0]["id"] == APPERE and hits[0]["birth_year"] == 1975
    result = runner.invoke(app, ["people", "search", "gatel", *db], env={"COLUMNS": "200"})
    assert "Sénat" in result.stdout and "Gatel" in result.stdout
    result = runner.invoke(app, ["people", "show", "Nathalie Appéré", "--json", *db])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["id"] == APPERE
    assert {m["code"] for m in shown["current"]} == {"35238", "243500139"}
    result = runner.invoke(app, ["people", "show", APPERE, *db], env={"COLUMNS": "200"})
    assert "Conseil municipal de Rennes" in result.stdout and "1975-08-07" in result.stdout


def test_cli_show_asks_for_the_id_of_homonyms(mini_kb_path: Path) -> None:
    result = runner.invoke(app, ["people", "show", "jean", "--db", str(mini_kb_path)])
    assert result.exit_code == 2
    assert "give one of their ids" in result.stderr
    assert result.stderr.count("  p-") >= 2  # the candidates, one per line with their id
    result = runner.invoke(app, ["people", "show", "p-000000000000", "--db", str(mini_kb_path)])
    assert result.exit_code == 2 and "no person with id" in result.stderr


def test_cli_merges(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    _add_merges(mini_db)
    mini_db.close()  # the command opens the file itself
    path = tmp_path / "kb.duckdb"  # the mini_db fixture's file
    result = runner.invoke(
        app, ["people", "merges", "--reason", "day_month_swapped", "--json", "--db", str(path)]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["first_name"], r["birth_date"]) for r in rows] == [("Forough", "1966-03-02")]
    result = runner.invoke(app, ["people", "merges", "--db", str(path)], env={"COLUMNS": "200"})
    assert "day_month_swapped" in result.stdout and "spelling" in result.stdout
    result = runner.invoke(app, ["people", "merges", "--reason", "typo", "--db", str(path)])
    assert result.exit_code == 2 and "spelling or day_month_swapped" in result.stderr


# ----------------------------------------------------------------------------- all of France


def test_france_search(full_db: duckdb.DuckDBPyConnection) -> None:
    france = full_db
    first = search_persons(france, "appere")[0]
    assert (first.name.casefold(), first.birth_year) == ("nathalie appéré", 1975)
    assert search_persons(france, "apere", limit=3)[0].id == first.id  # one letter missing
    gatel = search_persons(france, "gatel")[0]
    assert gatel.name.casefold() == "françoise gatel"
    assert any(t.body == "Sénat" for t in gatel.titles)  # the senator before the councillors
    dadkhah = search_persons(france, "dadkha forough", limit=3)
    assert dadkhah and all("dadkhah" in h.name.casefold() for h in dadkhah)
    assert any(t.body.startswith("Conseil régional de Bretagne") for h in dadkhah for t in h.titles)
    assert any(t.body == "Sénat" for h in dadkhah for t in h.titles)


def test_cli_people_while_serving(mini_db_path: Path, tmp_path: Path) -> None:
    """Forwarded to ``territoria serve``, the commands answer as alone (on the server's
    long-lived cursor, whose index of names persists between commands)."""
    from test_serve_cli import Server, _make_kb, cli

    alone = _make_kb(mini_db_path, tmp_path / "alone.duckdb")
    served = Server(_make_kb(mini_db_path, tmp_path / "served.duckdb"), tmp_path / "serve.log")
    try:
        served.wait_ready()
        for _ in range(2):  # the second search finds the index built
            run = cli("people", "search", "appere", "--json", "--db", served.db)
            assert run.returncode == 0, run.stderr
            assert json.loads(run.stdout)["hits"][0]["id"] == APPERE
        assert run.stdout == cli("people", "search", "appere", "--json", "--db", alone).stdout
        run = cli("people", "show", "jean", "--db", served.db)
        by_itself = cli("people", "show", "jean", "--db", alone)
        assert (run.returncode, by_itself.returncode) == (2, 2)
        assert run.stderr == by_itself.stderr and "give one of their ids" in run.stderr
    finally:
        served.kill()


def test_france_one_person_across_sources(full_db: duckdb.DuckDBPyConnection) -> None:
    """Forough Dadkhah: regional vice-president and senator, her birth date swapped in the
    senators' file; the directory shows one person, the swapped date corrected and flagged."""
    hits = search_persons(full_db, "forough dadkhah", limit=3)
    page = person(full_db, hits[0].id)
    bodies = {m.body for m in page.current}
    assert "Sénat" in bodies and "Conseil régional de Bretagne" in bodies
    assert len([h for h in hits if h.score >= 3.0]) == 1  # one whole-name match: one person
    assert {page.birth_date, page.birth_date_alt} == {date(1966, 2, 3), date(1966, 3, 2)}
    assert "day_month_swapped" in {g.reason for g in page.merges}
    # the 2021 regional councils sat in July: the source's 7 February is shown as 2 July
    regional = next(m for m in page.current if m.body == "Conseil régional de Bretagne")
    assert regional.date_flag == "day_month_swapped"
    assert (regional.start_date, regional.start_date_source) == (date(2021, 7, 2), "2021-02-07")
