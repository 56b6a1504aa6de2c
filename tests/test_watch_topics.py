"""Watch topics: saved Boolean queries filing items (classify in ingest's transaction,
reclassify when a topic is added), territory and person filters, soft audited removal, the
CLI and the routes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import InvalidWatchQuery, UnknownTerritory, UnknownWatchTopic
from territoria.kb import connect, transaction
from territoria.kb.audit import list_audit
from territoria.watch.topics import add_topic, classify, list_topics, remove_topic

RENNES = ("commune", "35238")
PERSON = "p-00378db8eb9051"  # Alexandra GUILLORÉ in the mini knowledge base


def add_item(
    con: duckdb.DuckDBPyConnection,
    title: str,
    text: str = "",
    *,
    day: dt.datetime | None = None,
    territories: Sequence[tuple[str, str]] = (),
    persons: Sequence[str] = (),
    duplicate_of: int | None = None,
    classify_it: bool = True,
) -> int:
    """Insert one item (and its links) with SQL, as ingest stores it, and classify it in the
    same transaction; return its id."""
    when = day or dt.datetime(2026, 11, 20, 8)
    with transaction(con):
        if con.execute("SELECT count(*) FROM watch_source").fetchone() == (0,):
            con.execute(
                "INSERT INTO watch_source (kind, url, name, created_by, created_at) VALUES "
                "('feed', 'https://presse.example/rss', 'Presse locale', 'test', ?)",
                [when],
            )
        row = con.execute(
            "INSERT INTO watch_item (source_id, kind, url, canonical_url, title, text, "
            "published, fetched_at, content_hash, duplicate_of) VALUES "
            "(1, 'article', 'u', 'u', ?, ?, ?, ?, md5(? || ?), ?) RETURNING id",
            [title, text, when, when, title, text, duplicate_of],
        ).fetchone()
        assert row is not None
        item_id = int(row[0])
        con.execute(
            "UPDATE watch_item SET url = ?, canonical_url = ? WHERE id = ?",
            [f"https://presse.example/{item_id}", f"https://presse.example/{item_id}", item_id],
        )
        for level, code in territories:
            con.execute(
                "INSERT INTO watch_link (item_id, type, level, code, name, score, mention) "
                "VALUES (?, 'territory', ?, ?, ?, 0.9, ?)",
                [item_id, level, code, code, code],
            )
        for person in persons:
            con.execute(
                "INSERT INTO watch_link (item_id, type, code, name, score, mention) "
                "VALUES (?, 'person', ?, ?, 0.9, ?)",
                [item_id, person, person, person],
            )
        if classify_it:
            classify(con, [item_id])
    return item_id


def filed(con: duckdb.DuckDBPyConnection, topic_id: int) -> list[int]:
    return [
        int(r[0])
        for r in con.execute(
            "SELECT item_id FROM watch_item_topic WHERE topic_id = ? ORDER BY item_id",
            [topic_id],
        ).fetchall()
    ]


ISSUE_QUERY = '"ligne Rennes Saint-Malo" AND (TER OR train) NOT bus'


def test_the_issue_query_files_what_it_says(mini_db: duckdb.DuckDBPyConnection) -> None:
    con = mini_db
    yes = add_item(con, "Les trains de la ligne Rennes–Saint-Malo", "Des TER supprimés.")
    stemmed = add_item(con, "Ligne Rennes Saint-Malo", "Les ferroviaires et les TRAINS régionaux")
    bus = add_item(con, "Ligne Rennes Saint-Malo : le train remplacé par des bus")
    order = add_item(con, "Ligne Saint-Malo Rennes", "Le TER arrive")  # not the phrase
    apart = add_item(con, "Rennes", "La ligne de Saint-Malo voit passer des trains")
    topic = add_topic(con, "Ligne Rennes–Saint-Malo", ISSUE_QUERY, tags=["mobilité", "TER"])
    assert topic.items == 2 and filed(con, topic.id) == [yes, stemmed]
    assert topic.tags == ["TER", "mobilité"]
    # a new item is filed by classify (what ingest calls inside its transaction)
    later = add_item(con, "Les TER de la ligne Rennes - Saint-Malo", "Travaux en gare.")
    assert filed(con, topic.id) == [yes, stemmed, later]
    assert {bus, order, apart}.isdisjoint(filed(con, topic.id))
    assert [t.items for t in list_topics(con)] == [3]


def test_classify_returns_rows_written_inside_the_callers_transaction(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    con = mini_db
    add_topic(con, "Train", "train OR TER")
    add_topic(con, "Bus", "bus")
    a = add_item(con, "Train et bus", classify_it=False)
    b = add_item(con, "Un TER", classify_it=False)
    c = add_item(con, "La mairie", classify_it=False)
    with transaction(con):
        assert classify(con, [a, b, c]) == 3  # a: both topics, b: train, c: none
        assert classify(con, [a, b, c]) == 0  # nothing twice
    assert classify(con, []) == 0
    # all or nothing: a failed ingest leaves no topic row behind
    d = add_item(con, "Un train", classify_it=False)
    with pytest.raises(RuntimeError), transaction(con):
        classify(con, [d])
        raise RuntimeError("ingest failed after classify")
    assert con.execute(
        "SELECT count(*) FROM watch_item_topic WHERE item_id = ?", [d]
    ).fetchone() == (0,)


def test_territory_and_person_filters(mini_db: duckdb.DuckDBPyConnection) -> None:
    con = mini_db
    in_rennes = add_item(con, "Le tramway avance", territories=[RENNES])
    in_35 = add_item(con, "Le tramway du département", territories=[("departement", "35")])
    brest = add_item(con, "Le tramway de Brest", territories=[("commune", "29019")])
    with_person = add_item(con, "Tramway : l'élue s'exprime", persons=[PERSON])
    dept = add_topic(con, "Tramway 35", "tramway", territory=("departement", "35"))
    # the département takes in its communes (Rennes), not Brest (Finistère)
    assert filed(con, dept.id) == [in_rennes, in_35]
    assert dept.territory_name == "Ille-et-Vilaine"
    commune = add_topic(con, "Tramway Rennes", "tramway", territory=(None, "35238"))
    assert filed(con, commune.id) == [in_rennes]
    person = add_topic(con, "Tramway élue", "tramway", person=PERSON)
    assert filed(con, person.id) == [with_person] and person.person_name == "Alexandra GUILLORÉ"
    # filters written in the query do the same
    inline = add_topic(con, "Inline", "tramway territoire:departement:35")
    assert filed(con, inline.id) == [in_rennes, in_35]
    assert brest not in filed(con, inline.id)


def test_bad_topics_are_refused_and_nothing_is_written(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    con = mini_db
    with pytest.raises(InvalidWatchQuery, match="parenthèse non fermée à la position 31"):
        add_topic(con, "Cassé", '"ligne Rennes Saint-Malo" AND (TER OR train')
    with pytest.raises(UnknownTerritory):
        add_topic(con, "Ailleurs", "train", territory=("commune", "99999"))
    assert con.execute("SELECT count(*) FROM watch_topic").fetchone() == (0,)
    with pytest.raises(UnknownWatchTopic, match="aucun thème de veille n° 42"):
        remove_topic(con, 42)


def test_removal_is_soft_audited_and_stops_filing(mini_db: duckdb.DuckDBPyConnection) -> None:
    con = mini_db
    first = add_item(con, "Un train")
    topic = add_topic(con, "Train", "train")
    removed = remove_topic(con, topic.id)
    assert removed.deleted_at is not None and removed.deleted_by == "system"
    assert list_topics(con) == [] and [t.name for t in list_topics(con, deleted=True)] == ["Train"]
    add_item(con, "Un autre train")
    assert filed(con, topic.id) == [first]  # kept, and nothing new filed
    events = [e.event for e in list_audit(con, event="watch.topic")]
    assert events == ["watch.topic.remove", "watch.topic.add"]


def test_cli_adds_lists_and_removes_topics_in_french(mini_db_path: Path, tmp_path: Path) -> None:
    kb = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, kb)
    con = connect(kb)
    add_item(con, "Le train de Rennes", territories=[RENNES])
    con.close()
    runner = CliRunner()
    db = ["--db", str(kb)]

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["watch", *args, *db], env={"COLUMNS": "200"})
        assert result.exit_code == code, result.output
        return result.stdout if code == 0 else result.stderr

    out = run("topics", "add", "Trains", "--query", "trains", "--territory", "35", "--tag", "rail")
    assert "thème n° 1 « Trains » enregistré : 1 article(s) déjà classé(s)" in out
    listed = json.loads(run("topics", "list", "--json"))
    assert [(t["name"], t["items"], t["territory"]["name"], t["tags"]) for t in listed] == [
        ("Trains", 1, "Ille-et-Vilaine", ["rail"])
    ]
    table = run("topics", "list")
    assert "Thèmes de veille" in table and "Ille-et-Vilaine (35)" in table
    bad = run("topics", "add", "X", "--query", "train AND", code=2)
    assert "mot manquant après AND à la position 10" in bad
    assert "supprimé" in run("topics", "remove", "1")
    assert json.loads(run("topics", "list", "--json")) == []


def test_routes_add_list_and_remove_topics(mini_db_path: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from test_api_helpers import login, make_app, make_kb

    kb = make_kb(mini_db_path, tmp_path)
    con = connect(kb)
    add_item(con, "Le train de Rennes", territories=[RENNES])
    con.close()
    application = make_app(kb)
    try:
        with TestClient(application) as client, TestClient(application) as viewer:
            headers = {"X-CSRF-Token": login(client, "analyst")}
            viewer_headers = {"X-CSRF-Token": login(viewer, "viewer")}
            body = {"name": "Trains", "query": "train", "territory": "35", "tags": ["rail"]}
            made = client.post("/api/v1/watch/topics", json=body, headers=headers)
            assert made.status_code == 201, made.text
            topic = made.json()
            assert (topic["items"], topic["territory"]["level"], topic["created_by"]) == (
                1,
                "departement",
                "web:analyst",
            )
            refused = viewer.post("/api/v1/watch/topics", json=body, headers=viewer_headers)
            assert refused.status_code == 403
            bad = client.post(
                "/api/v1/watch/topics", json={"name": "X", "query": "(train"}, headers=headers
            )
            assert bad.status_code == 422 and "parenthèse non fermée à la position 1" in bad.text
            listed = viewer.get("/api/v1/watch/topics").json()
            assert [(t["id"], t["name"], t["items"]) for t in listed] == [(1, "Trains", 1)]
            gone = client.delete("/api/v1/watch/topics/1", headers=headers)
            assert gone.status_code == 200 and gone.json()["deleted_at"] is not None
            assert client.get("/api/v1/watch/topics").json() == []
            assert client.delete("/api/v1/watch/topics/1", headers=headers).status_code == 404
    finally:
        application.state.territoria.db.close()
