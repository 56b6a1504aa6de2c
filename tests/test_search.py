"""Finding territories by name or code: accents, case, abbreviations, prefixes, typos."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import EmptyKnowledgeBase, InvalidQuery, UnknownLevel
from territoria.kb import connect
from territoria.kb.search import jaro_winkler, normalise, search

RENNES, CESSON, SAINT_GREGOIRE, RENNES_METROPOLE = "35238", "35051", "35278", "243500139"


def first(con: duckdb.DuckDBPyConnection, text: str, **options: str) -> tuple[str, str]:
    hits = search(con, text, **options)  # type: ignore[arg-type]
    assert hits, f"nothing found for {text!r}"
    return hits[0].level, hits[0].code


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("St-Étienne", "saint etienne"),
        ("SAINT ETIENNE", "saint etienne"),
        ("Ste-Colombe", "sainte colombe"),
        ("L'Haÿ-les-Roses", "l hay les roses"),
        ("Cœuvres-et-Valsery", "coeuvres et valsery"),
        ("  Châteaugiron  ", "chateaugiron"),
        ("Saint‑Malo (35)", "saint malo 35"),
    ],
)
def test_normalise_examples(text: str, expected: str) -> None:
    assert normalise(text) == expected


@given(st.text())
def test_normalise_gives_single_spaced_ascii_words_and_is_idempotent(text: str) -> None:
    norm = normalise(text)
    assert re.fullmatch(r"(?:[a-z0-9]+(?: [a-z0-9]+)*)?", norm)
    assert normalise(norm) == norm


def test_jaro_winkler_reference_values() -> None:
    # Classic values from Winkler (1990).
    assert jaro_winkler("martha", "marhta") == pytest.approx(0.9611, abs=1e-4)
    assert jaro_winkler("dwayne", "duane") == pytest.approx(0.84, abs=1e-4)
    assert jaro_winkler("rennes", "rennes") == 1.0
    assert jaro_winkler("", "rennes") == 0.0


@given(st.text(max_size=12), st.text(max_size=12))
def test_jaro_winkler_is_a_bounded_symmetric_similarity(a: str, b: str) -> None:
    value = jaro_winkler(a, b)
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(jaro_winkler(b, a))


# --------------------------------------------------------------------------- search


@pytest.mark.parametrize(
    "text",
    ["Rennes", "rennes", "RENNES", " rennes ", RENNES, "renn", "rene", "renes", "Rénnes"],
)
def test_rennes_first_whatever_the_spelling(mini_kb: duckdb.DuckDBPyConnection, text: str) -> None:
    assert first(mini_kb, text) == ("commune", RENNES)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Cesson-Sévigné", CESSON),
        ("cesson sevigne", CESSON),
        ("CESSON", CESSON),
        ("cessonsevigne", CESSON),
        ("cesson sevinge", CESSON),
        ("St-Grégoire", SAINT_GREGOIRE),
        ("st gregoire", SAINT_GREGOIRE),
        ("saint gregiore", SAINT_GREGOIRE),
        ("gregoire", SAINT_GREGOIRE),
        ("ste colombe", "35262"),
        ("noyal chatillon", "35206"),
    ],
)
def test_accents_abbreviations_words_and_typos(
    mini_kb: duckdb.DuckDBPyConnection, text: str, code: str
) -> None:
    assert first(mini_kb, text) == ("commune", code)


def test_exact_code_ranks_above_names(mini_kb: duckdb.DuckDBPyConnection) -> None:
    hits = search(mini_kb, "35")
    assert (hits[0].level, hits[0].code, hits[0].name) == ("departement", "35", "Ille-et-Vilaine")
    # Then codes being typed: communes of the département, the largest first.
    assert hits[1].code == RENNES
    assert first(mini_kb, "53") == ("region", "53")
    assert first(mini_kb, "35-08") == ("circonscription", "35-08")
    assert first(mini_kb, RENNES_METROPOLE) == ("epci", RENNES_METROPOLE)


def test_exact_name_before_longer_names(mini_kb: duckdb.DuckDBPyConnection) -> None:
    hits = search(mini_kb, "rennes", limit=5)
    assert [(h.level, h.code) for h in hits[:3]] == [
        ("commune", RENNES),
        ("canton", "3598"),  # the pseudo-canton of the city, same name, no population
        ("epci", RENNES_METROPOLE),
    ]
    assert hits[0].score > hits[2].score


def test_hits_carry_what_a_user_needs(mini_kb: duckdb.DuckDBPyConnection) -> None:
    rennes = search(mini_kb, "rennes", limit=1)[0]
    assert rennes.name == "Rennes"
    assert rennes.population == 216_815
    assert rennes.parent == "Ille-et-Vilaine (35)"
    assert search(mini_kb, "ille et vilaine", limit=1)[0].parent == "Bretagne"
    assert rennes.to_dict()["code"] == RENNES


def test_level_filter_accepts_french_labels(mini_kb: duckdb.DuckDBPyConnection) -> None:
    hits = search(mini_kb, "rennes", level="epci")
    assert hits
    assert {h.level for h in hits} == {"epci"}
    assert hits[0].code == RENNES_METROPOLE
    assert first(mini_kb, "ille", level="Département") == ("departement", "35")
    assert first(mini_kb, "bretagne", level="région") == ("region", "53")
    assert {h.level for h in search(mini_kb, "rennes", level="canton")} == {"canton"}
    # Typos within one level: candidates are taken among that level only.
    assert first(mini_kb, "renes metropol", level="epci") == ("epci", RENNES_METROPOLE)


def test_limit_nothing_found_and_bad_options(mini_kb: duckdb.DuckDBPyConnection) -> None:
    assert len(search(mini_kb, "saint", limit=3)) == 3
    assert search(mini_kb, "zzqxw") == []
    assert search(mini_kb, "   ") == []
    with pytest.raises(UnknownLevel, match="'province'"):
        search(mini_kb, "rennes", level="province")
    with pytest.raises(InvalidQuery, match="limit"):
        search(mini_kb, "rennes", limit=0)


def test_empty_knowledge_base_says_what_to_do() -> None:
    con = connect(":memory:")
    try:
        with pytest.raises(EmptyKnowledgeBase, match="territoria import france"):
            search(con, "rennes")
    finally:
        con.close()


def test_index_follows_changes_to_the_knowledge_base(mini_db: duckdb.DuckDBPyConnection) -> None:
    assert search(mini_db, "technopole atalante") == []
    source = mini_db.execute(
        "INSERT INTO source (name, dataset, publisher, licence, retrieved_at, synthetic) "
        "VALUES ('test', 'zones', 'tests', 'CC0', now(), true) RETURNING id"
    ).fetchone()
    assert source is not None
    mini_db.execute(
        "INSERT INTO territory (level, code, name, name_norm, source_id) "
        "VALUES ('zone', 'Z1', 'Technopole Atalante', 'technopole atalante', ?)",
        [source[0]],
    )
    assert first(mini_db, "technopole atalante") == ("zone", "Z1")


# --------------------------------------------------------------------------- command line


def test_cli_search_json(mini_kb_path: Path) -> None:
    result = CliRunner().invoke(app, ["search", "St-Grégoire", "--json", "--db", str(mini_kb_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"] == "St-Grégoire"
    assert data["hits"][0]["code"] == SAINT_GREGOIRE
    assert set(data["hits"][0]) == {"level", "code", "name", "population", "parent", "score"}


def test_cli_search_table_and_quiet(mini_kb_path: Path) -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["search", "cesson", "--db", str(mini_kb_path)])
    assert table.exit_code == 0
    assert "Cesson-Sévigné" in table.stdout
    assert "17\u202f526" in table.stdout  # population with a thin space
    quiet = runner.invoke(
        app, ["search", "cesson", "--quiet", "--limit", "1", "--db", str(mini_kb_path)]
    )
    assert quiet.stdout == f"{CESSON}\tcommune\tCesson-Sévigné\n"


def test_cli_search_errors(mini_kb_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad_level = runner.invoke(app, ["search", "rennes", "--level", "x", "--db", str(mini_kb_path)])
    assert bad_level.exit_code == 2
    assert "unknown level 'x'" in bad_level.stderr
    missing = runner.invoke(app, ["search", "rennes", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 3
    assert "territoria import france" in missing.stderr
    nothing = runner.invoke(app, ["search", "zzqxw", "--db", str(mini_kb_path)])
    assert nothing.exit_code == 0
    assert "no territory nor official matches 'zzqxw'" in nothing.stderr


def test_cli_search_finds_officials_too(mini_kb_path: Path) -> None:
    result = CliRunner().invoke(app, ["search", "Appéré", "--json", "--db", str(mini_kb_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["persons"][0]["name"] == "Nathalie APPÉRÉ"
    table = CliRunner().invoke(app, ["search", "appere", "--db", str(mini_kb_path)])
    assert "Nathalie APPÉRÉ" in table.stdout
    assert "présidente" in table.stdout


def test_an_exact_name_then_the_names_holding_it(mini_kb: duckdb.DuckDBPyConnection) -> None:
    # 'Le Rheu' (article restored from INSEE's TNCC) first, then names holding it whole.
    hits = search(mini_kb, "Le Rheu")
    assert (hits[0].code, hits[0].name) == ("35240", "Le Rheu")
    hits = search(mini_kb, "rennes")
    assert hits[0].code == RENNES
    # Rennes Métropole holds the name whole: above every near spelling.
    assert RENNES_METROPOLE in [h.code for h in hits[:3]]


@pytest.mark.slow
def test_full_france_le_havre(full_db: duckdb.DuckDBPyConnection) -> None:
    hits = search(full_db, "Le Havre", limit=5)
    assert [(h.level, h.code) for h in hits[:2]] == [("commune", "76351"), ("epci", "200084952")]
    assert search(full_db, "havre")[1].code == "76351"
