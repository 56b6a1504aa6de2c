"""Reading the watch: list filters (territory with its hierarchy, person, topic, since,
duplicates), the scope with and without a home territory, the CLI and the REST routes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from territoria.cli import app as cli
from territoria.errors import InvalidQuery, UnknownTerritory, UnknownWatchItem
from territoria.kb import connect
from territoria.watch._model import Document
from territoria.watch.items import get_item, home, list_items, set_home
from territoria.watch.pipeline import ingest
from territoria.watch.sources import add_source
from territoria.watch.topics import add_topic
from test_api_helpers import login, make_app

APPERE, HOUSSIN = "p-f32e7ff2540601", "p-315154628c1e16"
RENNES_METRO = ("epci", "243500139")

STORIES = {
    "bruz": ("Bruz adopte son budget 2027", "1 décembre 2026 à 20h00",
             "Réuni lundi soir, le conseil municipal de Bruz a adopté le budget primitif 2027 : "
             "38 millions d'euros, dont 11 millions pour la rénovation des écoles. Le maire a "
             "rappelé que les taux de fiscalité resteront inchangés. Une convention avec la "
             "commune voisine de Pont-Péan a aussi été approuvée pour l'entretien des pistes."),
    "velo": ("Nathalie Appéré présente le plan vélo", "20 novembre 2026 à 10h00",
             "La maire de Rennes, Nathalie Appéré, a présenté jeudi le plan vélo de la ville : "
             "quarante kilomètres de voies nouvelles d'ici 2030 et des stationnements sécurisés "
             "près des stations de métro."),
    "routes": ("Le Département investit dans ses routes", "25 novembre 2026 à 09h00",
               "Le conseil départemental d'Ille-et-Vilaine vote 40 millions d'euros pour "
               "l'entretien des routes départementales et la sécurité des carrefours."),
    "maire": ("Le préfet reçoit les maires", "26 novembre 2026 à 11h00",
              "Jean-René Houssin a été reçu par le préfet avec d'autres élus pour parler de "
              "sécurité routière et de la prévention des inondations."),
    "deputee": ("Transports scolaires : la députée interpelle le gouvernement",
                "27 novembre 2026 à 15h00",
                "La députée Marie Mesmeur a interrogé mardi le ministre sur le financement des "
                "transports scolaires, dont le coût pèse sur les familles."),
    "ailleurs": ("Marseille inaugure un tramway", "2 décembre 2026 à 08h00",
                 "La nouvelle ligne de tramway de Marseille a été inaugurée mardi devant une "
                 "foule nombreuse, après quatre années de travaux."),
}  # fmt: skip


def _doc(source: int, key: str, url: str | None = None) -> Document:
    title, published, text = STORIES[key]
    return Document(
        source_id=source,
        kind="article",
        url=url or f"https://echo.example/{key}",
        fetched_at=datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
        entry={"title": title, "published": published, "content": text},
    )


@pytest.fixture(scope="module")
def kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the mini KB with five stories of one feed and a copy of one from another."""
    from test_api_helpers import make_kb

    path = make_kb(mini_db_path, tmp_path_factory.mktemp("watch_items"))
    con = connect(path)
    try:
        echo = add_source(con, "https://echo.example/rss", kind="feed", name="L'Écho").id
        agency = add_source(con, "https://agence.example/rss", kind="feed", name="Agence").id
        add_topic(con, "Vélo", "vélo OR cyclable")
        first = ingest(con, [_doc(echo, key) for key in STORIES])
        assert first.new == len(STORIES), first
        copy = ingest(con, [_doc(agency, "bruz", "https://agence.example/depeche-bruz")])
        assert copy.duplicates == 1
    finally:
        con.close()
    return path


@pytest.fixture
def con(kb: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(kb)
    yield connection
    connection.execute("DELETE FROM watch_home")  # every test starts with no home
    connection.close()


def _titles(con: duckdb.DuckDBPyConnection, **filters: Any) -> set[str]:
    return {item.title for item in list_items(con, **filters).items}


def _key(title: str) -> str:
    return next(k for k, v in STORIES.items() if v[0] == title)


def test_list_latest_first_with_sources_and_duplicates(con: duckdb.DuckDBPyConnection) -> None:
    page = list_items(con)
    assert page.total == len(STORIES) + 1
    keys = [_key(item.title) for item in page.items]
    assert keys[0] == "ailleurs" and keys[-1] == "velo"  # 2 décembre … 20 novembre
    copy = next(i for i in page.items if i.source.name == "Agence")
    original = next(i for i in page.items if i.source.name == "L'Écho" and i.title == copy.title)
    assert copy.duplicate_of == original.id and copy.duplicate_score == 1.0
    assert list_items(con, include_duplicates=False).total == len(STORIES)
    assert list_items(con, limit=2, offset=5).items[1].title == STORIES["velo"][0]
    assert page.items[0].published == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)


def test_territory_filter_takes_in_the_territories_inside(con: duckdb.DuckDBPyConnection) -> None:
    # the département: its communes (Bruz, Rennes, Pont-Péan) and its council
    assert {_key(t) for t in _titles(con, territory=("departement", "35"))} == {
        "bruz", "velo", "routes"}  # fmt: skip
    # Rennes Métropole: its communes, not the département that contains them
    assert {_key(t) for t in _titles(con, territory=RENNES_METRO)} == {"bruz", "velo"}
    assert list_items(con, territory=("commune", "35047")).total == 2  # Bruz and its copy
    assert list_items(con, territory=("commune", "35001")).total == 0  # Acigné: never named


def test_person_topic_and_since_filters(con: duckdb.DuckDBPyConnection) -> None:
    assert {_key(t) for t in _titles(con, person=APPERE)} == {"velo"}
    assert {_key(t) for t in _titles(con, person=HOUSSIN)} == {"maire"}
    topic = con.execute("SELECT id FROM watch_topic WHERE name = 'Vélo'").fetchone()
    assert topic is not None
    assert {_key(t) for t in _titles(con, topic=topic[0])} == {"velo"}
    since = datetime(2026, 11, 28, tzinfo=UTC)
    assert {_key(t) for t in _titles(con, since=since)} == {"bruz", "ailleurs"}


def test_scope_without_home_is_none(con: duckdb.DuckDBPyConnection) -> None:
    assert home(con) is None
    assert {item.scope for item in list_items(con).items} == {None}
    with pytest.raises(InvalidQuery, match="watch home"):
        list_items(con, scope="endogenous")


def _scopes(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    return {_key(i.title): i.scope for i in list_items(con, include_duplicates=False).items}


def test_scope_follows_the_home(con: duckdb.DuckDBPyConnection) -> None:
    set_home(con, "commune", "35047")  # Bruz
    assert _scopes(con) == {
        "bruz": "endogenous",  # the commune itself
        "maire": "endogenous",  # its mayor, named alone
        "deputee": "endogenous",  # the deputy of the circonscription that takes in Bruz
        "velo": "exogenous",  # Rennes and its mayor: a neighbour
        "routes": "exogenous",  # the département contains Bruz: context, not Bruz
        "ailleurs": "exogenous",
    }
    assert {_key(t) for t in _titles(con, scope="endogenous")} == {"bruz", "maire", "deputee"}
    set_home(con, *RENNES_METRO)  # re-scoped at once
    assert _scopes(con) == {"bruz": "endogenous", "maire": "endogenous", "velo": "endogenous",
                            "deputee": "endogenous", "routes": "exogenous",
                            "ailleurs": "exogenous"}  # fmt: skip
    set_home(con, "commune", "35001")  # Acigné: another circonscription
    assert _scopes(con)["deputee"] == "exogenous"
    set_home(con, "departement", "35")
    assert _scopes(con)["routes"] == "endogenous"  # its council
    assert _scopes(con)["ailleurs"] == "exogenous"
    current = home(con)
    assert current is not None and (current.name, current.level_label) == (
        "Ille-et-Vilaine", "département")  # fmt: skip
    audit = con.execute("SELECT target FROM audit_log WHERE event = 'watch.home' ORDER BY id")
    assert [r[0] for r in audit.fetchall()][-4:] == [
        "commune:35047", "epci:243500139", "commune:35001", "departement:35"]  # fmt: skip


def test_home_must_exist(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(UnknownTerritory, match="'00000'"):
        set_home(con, "commune", "00000")
    assert home(con) is None
    with pytest.raises(UnknownWatchItem, match="watch items"):
        get_item(con, 10_000)


def test_cli(kb: Path) -> None:
    runner = CliRunner()
    db = ["--db", str(kb)]
    shown = runner.invoke(cli, ["watch", "items", "--territory", "35", "--level",
                                "departement", "--json", *db])  # fmt: skip
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert {_key(i["title"]) for i in data} == {"bruz", "velo", "routes"}
    first = data[0]
    for key in ("id", "url", "title", "published", "source", "duplicate_of", "scope", "topics",
                "links"):  # fmt: skip
        assert key in first
    bruz = next(i for i in data if _key(i["title"]) == "bruz" and i["duplicate_of"] is None)
    assert {"type": "territory", "level": "commune", "code": "35047", "name": "Bruz"}.items() <= (
        next(k for k in bruz["links"] if k.get("code") == "35047").items()
    )
    assert bruz["source"] == {"id": bruz["source"]["id"], "name": "L'Écho", "kind": "feed"}

    homed = runner.invoke(cli, ["watch", "home", "35047", "--level", "commune", *db])
    assert homed.exit_code == 0, homed.output
    assert "Territoire de référence défini : Bruz (commune 35047)" in homed.stdout
    table = runner.invoke(cli, ["watch", "items", "--scope", "endogenous", "--no-duplicates", *db])
    assert table.exit_code == 0, table.output
    assert "endogène" in table.stdout and "Marseille" not in table.stdout

    one = runner.invoke(cli, ["watch", "item", str(bruz["id"]), *db])
    assert one.exit_code == 0, one.output
    assert "Liens vers la base de connaissances" in one.stdout and "(commune)" in one.stdout
    bad = runner.invoke(cli, ["watch", "items", "--since", "bientôt", *db])
    assert bad.exit_code != 0 and "is not a date" in bad.output
    assert runner.invoke(cli, ["watch", "item", "999", *db]).exit_code == 2
    con = connect(kb)
    con.execute("DELETE FROM watch_home")
    con.close()


def test_routes(kb: Path) -> None:
    application = make_app(kb)
    try:
        with TestClient(application) as client:
            headers = {"X-CSRF-Token": login(client, "analyst")}
            got = client.get("/api/v1/watch/items", params={"territory": "243500139"})
            assert got.status_code == 200, got.text
            body = got.json()
            assert body["total"] == 3  # Bruz, its copy, the plan vélo
            item = body["items"][0]
            assert item["scope"] is None and body["home"] is None
            refused = client.get("/api/v1/watch/items", params={"scope": "endogenous"})
            assert refused.status_code == 422 and "watch home" in refused.text
            assert client.get("/api/v1/watch/home").json() is None
            put = client.put("/api/v1/watch/home", json={"code": "35238", "level": "commune"},
                             headers=headers)  # fmt: skip
            assert put.status_code == 200, put.text
            assert put.json()["name"] == "Rennes"
            endo = client.get("/api/v1/watch/items", params={"scope": "endogenous"}).json()
            # Rennes' mayor, and the deputy who sits on its municipal council
            assert {_key(i["title"]) for i in endo["items"]} == {"velo", "deputee"}
            one = client.get(f"/api/v1/watch/items/{item['id']}").json()
            assert one["text"] and "".join(s["text"] for s in one["spans"]) == one["text"]
            linked = [s for s in one["spans"] if s["link"] is not None]
            assert linked and all(one["links"][s["link"]]["mention"] == s["text"] for s in linked)
            assert client.get("/api/v1/watch/items/9999").status_code == 404
            unknown = client.put("/api/v1/watch/home", json={"code": "00000"}, headers=headers)
            assert unknown.status_code == 404
            login(client, "viewer")
            denied = client.put("/api/v1/watch/home", json={"code": "35047"},
                                headers={"X-CSRF-Token": login(client, "viewer")})  # fmt: skip
            assert denied.status_code == 403
    finally:
        application.state.territoria.db.close()
        con = connect(kb)
        con.execute("DELETE FROM watch_home")
        con.close()
