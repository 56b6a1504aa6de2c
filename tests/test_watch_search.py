"""French full-text search of the watch: ranking, stems and accents, phrases, filters,
duplicates, paging, snippets, the index kept current (and rewritten in stem order), the CLI and
the route."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import InvalidWatchQuery
from territoria.kb import connect, transaction
from territoria.watch.search import compact, reindex, search, snippet_of
from test_watch_topics import PERSON, RENNES, add_item


def titles(con: duckdb.DuckDBPyConnection, query: str, **options: object) -> list[str]:
    return [h.title for h in search(con, query, **options).hits]  # type: ignore[arg-type]


def test_ranking_stems_accents_and_phrases(mini_db: duckdb.DuckDBPyConnection) -> None:
    con = mini_db
    add_item(con, "Conseil municipal", "Le budget est voté. " * 5 + "Un mot sur le train.")
    add_item(con, "Trains et TER", "Les trains régionaux et les trains de nuit.")
    add_item(con, "La gare", "Un train part de la gare.")
    add_item(con, "Économie régionale", "Les activités économiques de la région.")
    add_item(con, "Saint-Malo", "La ligne Rennes Saint-Malo rouvre.")
    add_item(con, "Rennes", "De Saint-Malo à Rennes, une ligne.")
    # BM25: the item that says 'train' most in the fewest words first, the long one last
    assert titles(con, "train") == ["Trains et TER", "La gare", "Conseil municipal"]
    assert titles(con, "TRAINS") == titles(con, "train")
    assert titles(con, "economie regionale") == ["Économie régionale"]  # no accents typed
    assert titles(con, "activites") == ["Économie régionale"]
    assert titles(con, '"ligne Rennes Saint-Malo"') == ["Saint-Malo"]  # consecutive only
    assert set(titles(con, "ligne Rennes Saint-Malo")) == {"Saint-Malo", "Rennes"}
    assert titles(con, "train NOT gare") == ["Trains et TER", "Conseil municipal"]
    assert titles(con, "tramway") == []


def test_filters_duplicates_and_paging(mini_db: duckdb.DuckDBPyConnection) -> None:
    con = mini_db
    old = add_item(con, "Le port en 2025", day=dt.datetime(2025, 3, 1), territories=[RENNES])
    new = add_item(con, "Le port en 2026", day=dt.datetime(2026, 11, 1), persons=[PERSON])
    add_item(con, "Le port (repris)", day=dt.datetime(2026, 11, 2), duplicate_of=new)
    add_item(con, "Le port de Brest", territories=[("commune", "29019")])
    assert search(con, "port").total == 3  # the repeated story once
    assert search(con, "port", include_duplicates=True).total == 4
    dept = search(con, "port", territory=("departement", "35"))
    assert [h.id for h in dept.hits] == [old]  # Rennes is inside Ille-et-Vilaine, Brest not
    assert [h.id for h in search(con, "port", person=PERSON).hits] == [new]
    since = search(con, "port", since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert {h.title for h in since.hits} == {"Le port en 2026", "Le port de Brest"}
    page = search(con, "port", limit=2, offset=2)
    assert (page.total, len(page.hits), page.offset) == (3, 1, 2)
    past = search(con, "port", limit=2, offset=10)
    assert (past.total, past.hits) == (3, [])
    assert search(con, "port").hits[0].source == "Presse locale"


def test_snippets_mark_the_words_found(mini_db: duckdb.DuckDBPyConnection) -> None:
    con = mini_db
    text = "Introduction sans rapport. " * 20 + "Les trains régionaux TER circulent\nde nouveau."
    add_item(con, "Le train revient", text)
    hit = search(con, "trains OR TER").hits[0]
    marked = [hit.snippet[a:b] for a, b in hit.highlights]
    assert marked == ["trains", "TER"]
    assert hit.snippet.startswith("… ") and "\n" not in hit.snippet
    assert [hit.title[a:b] for a, b in hit.title_highlights] == ["train"]
    short, marks = snippet_of("Un train.", {"train"})
    assert (short, marks) == ("Un train.", [(3, 8)])


def test_bad_query_says_where(mini_db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidWatchQuery, match="mot manquant après AND à la position 10"):
        search(mini_db, "train AND")


def test_the_index_follows_the_items_and_survives_its_rewrite(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    con = mini_db
    for k in range(30):
        add_item(con, f"Article {k}", "tramway" if k % 3 == 0 else "vélo")
    before = [(h.id, round(h.score, 9)) for h in search(con, "tramway", limit=50).hits]
    assert len(before) == 10
    with transaction(con):
        assert compact(con) == 30
    assert [(h.id, round(h.score, 9)) for h in search(con, "tramway", limit=50).hits] == before
    order = con.execute("SELECT list(term ORDER BY rowid) FROM watch_term").fetchone()
    assert order is not None and order[0] == sorted(order[0])  # stored in stem order
    # an item written by a path that did not index it is counted, then indexed
    add_item(con, "Le tramway oublié", classify_it=False)
    assert search(con, "tramway").unindexed == 1
    assert reindex(con) == 1
    result = search(con, "tramway")
    assert (result.total, result.unindexed) == (11, 0)
    deleted = result.hits[0].id
    con.execute("UPDATE watch_item SET deleted_at = now() WHERE id = ?", [deleted])
    assert search(con, "tramway").total == 10  # deleted items are not found


def test_cli_and_route(mini_db_path: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from test_api_helpers import login, make_app, make_kb

    kb = make_kb(mini_db_path, tmp_path)
    con = connect(kb)
    add_item(con, "Les trains de Rennes", "Le TER arrive en gare.", territories=[RENNES])
    add_item(con, "Le bus", "Un bus.")
    con.close()
    runner = CliRunner()
    result = runner.invoke(app, ["watch", "search", "train", "--json", "--db", str(kb)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["total"], data["hits"][0]["title"], data["stems"]) == (
        1,
        "Les trains de Rennes",
        ["train"],
    )
    shown = runner.invoke(
        app, ["watch", "search", "gare", "--territory", "35", "--db", str(kb)],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert "1 article(s) pour gare" in shown.stdout and "Presse locale" in shown.stdout
    bad = runner.invoke(app, ["watch", "search", "(gare", "--db", str(kb)])
    assert bad.exit_code == 2 and "parenthèse non fermée à la position 1" in bad.stderr
    application = make_app(kb)
    try:
        with TestClient(application) as client:
            login(client, "viewer")
            found = client.get("/api/v1/watch/search", params={"q": "TER", "territory": "35"})
            assert found.status_code == 200, found.text
            assert [h["title"] for h in found.json()["hits"]] == ["Les trains de Rennes"]
            wrong = client.get("/api/v1/watch/search", params={"q": "TER AND"})
            assert wrong.status_code == 422 and "à la position 8" in wrong.text
    finally:
        application.state.territoria.db.close()
