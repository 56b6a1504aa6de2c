"""The watch's web pages: the reader with its filters, one item with its highlighted mentions,
topic boards, sources, signals, the "Veille" sections of territory, person and dossier pages,
French by default and English on request; the demo feeds in demo mode.

Items are written with SQL into the tables of migration 0014 (as the pipeline stores them), on
the mini knowledge base (Ille-et-Vilaine): the pages are tested apart from fetching and linking.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from territoria.api._security import LANGUAGE_COOKIE
from territoria.influence import dossiers
from territoria.kb import connect
from territoria.kb.jobs import Job, save_job
from territoria.watch.items import set_home
from territoria.watch.search import index_items
from test_api_helpers import login, make_app, make_kb
from test_french_pages import raw_tokens

APPERE = "p-f32e7ff2540601"  # mayor of Rennes, president of Rennes Métropole
CHEREL = "p-d1b0f1af53350b"  # mayor of Saint-Armel (Ille-et-Vilaine)
METROPOLE = "Rennes Métropole"
NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None)

TITLE_1 = "Rennes : Nathalie Appéré plaide pour un train toutes les demi-heures vers Saint-Malo"
TEXT_1 = (
    "Nathalie Appéré, maire de Rennes et présidente de Rennes Métropole, souhaite un "
    "cadencement à la demi-heure vers Saint-Malo."
)
TITLE_3 = "Saint-Armel, près de Rennes : la commune inaugure sa nouvelle école"
TEXT_3 = "Saint-Armel a inauguré son école. Le maire, Ludovic Cherel, a remercié la métropole."
TITLE_4 = "Langon (Gironde) : un nouvel hôpital de jour"
TEXT_4 = "En Gironde, Langon inaugure un hôpital de jour."


def _link(item: int, text: str, kind: str, level: str | None, code: str, name: str, mention: str,
          score: float) -> list[object]:  # fmt: skip
    start = text.index(mention)
    return [item, kind, level, code, name, score, mention, start, start + len(mention), 1]


def _fill(path: Path) -> int:
    """Two sources, four items (one a duplicate), their links, a topic, the home territory;
    a dossier on Bruz with Nathalie Appéré as stakeholder, Saint-Armel as partner and a plan
    targeting Ludovic Cherel. Returns the dossier's id."""
    con = connect(path)
    try:
        con.execute(
            "INSERT INTO watch_source (id, kind, url, name, created_by, created_at, "
            "last_fetch_at, next_fetch_at, last_status, failures) VALUES "
            "(1, 'feed', 'https://courrier.example/rss', 'Le Courrier (démo)', 'test', ?, ?, ?, "
            "'ok', 0), "
            "(2, 'feed', 'https://hebdo.example/atom', 'Bretagne Hebdo (démo)', 'test', ?, ?, ?, "
            "'timeout', 3)",
            [NOW, NOW, NOW + dt.timedelta(hours=1)] * 2,
        )
        rows = [
            (1, 1, "https://courrier.example/a1", TITLE_1, TEXT_1, 1, None, None),
            (2, 2, "https://hebdo.example/a1", TITLE_1, TEXT_1, 0.9, 1, 0.93),
            (3, 1, "https://courrier.example/a3", TITLE_3, TEXT_3, 3, None, None),
            (4, 2, "https://hebdo.example/a4", TITLE_4, TEXT_4, 10, None, None),
        ]
        for item_id, source, url, title, text, days, duplicate_of, score in rows:
            con.execute(
                "INSERT INTO watch_item (id, source_id, kind, url, canonical_url, title, text, "
                "published, fetched_at, content_hash, duplicate_of, duplicate_score) "
                "VALUES (?, ?, 'article', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [item_id, source, url, url, title, text, NOW - dt.timedelta(days=days), NOW,
                 f"h{item_id}", duplicate_of, score],
            )  # fmt: skip
        full_1 = TITLE_1 + "\n\n" + TEXT_1
        full_3 = TITLE_3 + "\n\n" + TEXT_3
        # fmt: off
        links = [
            _link(1, full_1, "territory", "commune", "35238", "Rennes", "Rennes", 0.97),
            _link(1, full_1, "person", None, APPERE, "Nathalie Appéré", "Nathalie Appéré", 0.91),
            _link(1, full_1, "territory", "epci", "243500139", METROPOLE, METROPOLE, 0.95),
            _link(2, full_1, "territory", "commune", "35238", "Rennes", "Rennes", 0.97),
            _link(3, full_3, "territory", "commune", "35250", "Saint-Armel", "Saint-Armel", 0.88),
            _link(3, full_3, "person", None, CHEREL, "Ludovic Cherel", "Ludovic Cherel", 0.86),
        ]
        # fmt: on
        con.executemany(
            "INSERT INTO watch_link (item_id, type, level, code, name, score, mention, "
            "start_char, end_char, mentions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            links,
        )
        con.execute(
            "INSERT INTO watch_topic (id, name, query, created_by, created_at) VALUES "
            "(1, 'Ligne Rennes–Saint-Malo', '\"Saint-Malo\" AND (TER OR train OR ligne)', "
            "'test', ?)",
            [NOW],
        )
        con.execute("INSERT INTO watch_item_topic VALUES (1, 1, ?), (2, 1, ?)", [NOW, NOW])
        index_items(con, [1, 2, 3, 4])
        set_home(con, "departement", "35")
        dossier = dossiers.create_dossier(
            con, title="Desserte de Bruz", theme="regional-trains", code="35047", level="commune"
        )
        dossiers.add_stance(con, dossier, actor=APPERE, position="soutien")
        dossiers.add_partner(con, dossier, code="35250", level="commune")
        plan = Job(
            id="0" * 32,
            kind="plan",
            owner="analyst",
            params={},
            status="done",
            finished_at=NOW,
            result={"seeds": [], "targets": [{"id": CHEREL, "weight": 1.0}]},
        )
        save_job(con, plan)
        dossiers.record_plan(con, dossier, plan.id)
    finally:
        con.close()
    return dossier


@pytest.fixture(scope="module")
def site(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    tuple[TestClient, int]
]:  # fmt: skip
    folder = tmp_path_factory.mktemp("watch_pages")
    path = make_kb(mini_db_path, folder)
    dossier = _fill(path)
    web = make_app(path)
    with TestClient(web) as client:
        login(client, "viewer")
        yield client, dossier
    web.state.territoria.db.close()


@pytest.fixture
def client(site: tuple[TestClient, int]) -> TestClient:
    """The signed-in client, in French (the language a test chose is forgotten)."""
    site[0].cookies.delete(LANGUAGE_COOKIE)
    return site[0]


def _item_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="watch-item[^"]*" data-item="(\d+)"', page)]


def test_reader_lists_items_with_chips_scope_and_duplicates(client: TestClient) -> None:
    page = client.get("/veille").text
    assert _item_ids(page) == [2, 1, 3, 4]  # newest first (the copy came later)
    assert TITLE_1 in page and "Le Courrier (démo)" in page
    # the linked commune as a chip opening its page, the person likewise
    assert re.search(r'href="/territoires/commune/35238\?lang=fr"[^>]*>Rennes</a>', page)
    assert re.search(rf'href="/personnes/{APPERE}\?lang=fr"[^>]*>Nathalie Appéré</a>', page)
    duplicate = re.search(r'data-item="2">.*?</li>', page, re.S)
    assert duplicate
    assert f'doublon de <a href="/veille/articles/1?lang=fr">{TITLE_1}</a>' in duplicate[0]
    assert page.count('class="scope endogenous">endogène<') == 3
    assert page.count('class="scope exogenous">exogène<') == 1
    assert "Ille-et-Vilaine" in page  # the home territory is named
    assert raw_tokens(page) == []


def test_reader_filters(client: TestClient) -> None:
    inside = client.get("/veille?territory=35&level=departement").text
    assert _item_ids(inside) == [2, 1, 3]  # Rennes and Saint-Armel are inside; Langon is not
    assert _item_ids(client.get(f"/veille?person={CHEREL}").text) == [3]
    assert _item_ids(client.get("/veille?topic=1").text) == [2, 1]
    assert _item_ids(client.get("/veille?scope=exogenous").text) == [4]
    assert _item_ids(client.get("/veille?days=7").text) == [2, 1, 3]
    assert client.get("/veille?territory=99999999").status_code == 404


def test_item_page_highlights_the_mentions(client: TestClient) -> None:
    page = client.get("/veille/articles/1").text
    assert f"<h1>{TITLE_1}</h1>" in page
    text = page[page.index('id="watch-text"') :]
    mark = re.search(
        rf'<mark class="mention person" data-type="person" data-code="{APPERE}" '
        r'title="Nathalie Appéré · score 0,91"><a href="/personnes/[^"]+">Nathalie Appéré</a>',
        text,
    )
    assert mark, text[:800]
    assert re.search(r'<a href="/territoires/epci/243500139\?lang=fr">Rennes Métropole</a>', text)
    assert 'id="watch-links"' in page and "0,95" in page
    duplicate = client.get("/veille/articles/2").text
    assert 'id="watch-duplicate"' in duplicate and "similarité 93" in duplicate
    assert raw_tokens(page) == []


def test_unknown_item_is_404(client: TestClient) -> None:
    response = client.get("/veille/articles/424242")
    assert response.status_code == 404
    assert "424242" in response.text


def test_english_pages(client: TestClient) -> None:
    page = client.get("/veille?lang=en").text
    assert "duplicate of" in page and "endogenous" in page and ">Watch<" in page
    item = client.get("/veille/articles/1?lang=en").text
    assert "Read at the source" in item and "score 0.91" in item
    assert "Topics" in client.get("/veille/sujets?lang=en").text


def test_topic_boards_and_sources(client: TestClient) -> None:
    boards = client.get("/veille/sujets").text
    assert "Ligne Rennes–Saint-Malo" in boards and "Saint-Malo&#34; AND (TER OR train" in boards
    board = boards[boards.index('data-topic="1"') :]
    assert _item_ids(board) == [2, 1]
    assert '<figure class="volume" data-peak="1">' in board  # one original a day, the copy left out
    assert board.count('<rect class="bar"') == 1
    listed = client.get("/veille/sources").text
    assert "Le Courrier (démo)" in listed and "collectée" in listed
    assert "délai dépassé" in listed  # the other source's last status, in French
    assert raw_tokens(boards) == [] and raw_tokens(listed) == []


def test_territory_person_and_dossier_sections(
    site: tuple[TestClient, int], client: TestClient
) -> None:
    dossier = site[1]
    territory = client.get("/territoires/departement/35").text
    section = territory[territory.index('id="veille"') :]
    assert _item_ids(section) == [1, 3]  # duplicates left out, communes inside included
    assert "/veille?territory=35&amp;level=departement" in section
    person = client.get(f"/personnes/{CHEREL}").text
    assert _item_ids(person[person.index('id="veille"') :]) == [3]
    page = client.get(f"/dossiers/{dossier}").text
    section = page[page.index('id="veille"') :]
    assert _item_ids(section) == [1, 3]
    assert "partie prenante : Nathalie Appéré" in section
    assert "partenaire : Saint-Armel" in section
    assert "cible du plan : Ludovic Cherel" in section  # the latest plan's target
    # a commune with no item says so
    empty = client.get("/territoires/commune/35047").text
    assert "Aucun article de veille ne le mentionne." in empty


def test_demo_feeds_are_served_in_demo_mode_only(
    mini_db_path: Path, tmp_path: Path, client: TestClient
) -> None:
    assert client.get("/demo/veille/feeds/bretagne-hebdo.xml").status_code == 404
    path = make_kb(mini_db_path, tmp_path)
    web = make_app(path, demo=True)
    with TestClient(web) as demo_client:
        feed = demo_client.get("/demo/veille/feeds/bretagne-hebdo.xml")
        assert feed.status_code == 200
        today = dt.date.today().isoformat()
        assert f"<updated>{today}T" in feed.text  # the newest item is dated today
        assert "http://testserver/demo/veille/articles/" in feed.text
        assert "Bretagne Hebdo (démo)" in feed.text
        assert demo_client.get("/demo/veille/../README.txt").status_code == 404
    web.state.territoria.db.close()


def _planted_burst(path: Path) -> None:
    """Forty days of two items a day, one in ten on the line, then four days of eight items
    a day on the line: a burst of the topic 'Ligne Rennes–Saint-Malo' ending today."""
    con = connect(path)
    try:
        con.execute(
            "INSERT INTO watch_source (id, kind, url, name, created_by, created_at) VALUES "
            "(1, 'feed', 'https://courrier.example/rss', 'Le Courrier (démo)', 'test', ?)",
            [NOW],
        )
        con.execute(
            "INSERT INTO watch_topic (id, name, query, created_by, created_at) VALUES "
            "(1, 'Ligne Rennes–Saint-Malo', 'ligne', 'test', ?)",
            [NOW],
        )
        rows, topic = [], []
        for n in range(80 + 32):
            usual = n < 80
            when = (
                NOW - dt.timedelta(days=44 - n // 2)
                if usual
                else NOW - dt.timedelta(days=(n - 80) // 8, hours=1)
            )
            on_line = not usual or n % 10 == 0
            title = f"Ligne Rennes–Saint-Malo, épisode {n}" if on_line else f"Brève {n}"
            rows.append([n + 1, f"https://courrier.example/{n}", title, when, NOW, f"h{n}"])
            if on_line:
                topic.append([n + 1, NOW])
        con.executemany(
            "INSERT INTO watch_item (id, source_id, kind, url, canonical_url, title, published, "
            "fetched_at, content_hash) VALUES (?, 1, 'article', ?, '', ?, ?, ?, ?)",
            rows,
        )
        con.executemany("INSERT INTO watch_item_topic VALUES (?, 1, ?)", topic)
    finally:
        con.close()


def test_signal_timeline_shows_the_burst(mini_db_path: Path, tmp_path: Path) -> None:
    path = make_kb(mini_db_path, tmp_path)
    _planted_burst(path)
    web = make_app(path)
    with TestClient(web) as client:
        login(client, "viewer")
        page = client.get("/veille/signaux").text
        assert 'id="signal-timeline"' in page and '<rect class="bar burst"' in page
        volumes = page[page.index('id="topic-volumes"') :]
        assert '<figure class="volume" data-peak="8">' in volumes
        section = page[page.index('data-kind="topic" data-key="1"') :]
        assert "le volume habituel sur le thème « Ligne Rennes–Saint-Malo »" in section
        assert "(32 articles," in section  # the four days of the burst
        assert re.search(r">Ligne Rennes–Saint-Malo, épisode (8\d|9\d|1\d\d)</a>", section)
        assert raw_tokens(page) == []
        english = client.get("/veille/signaux?lang=en").text
        assert "times the usual volume on Ligne Rennes–Saint-Malo" in english
        assert client.get("/veille/signaux?kind=nonsense").status_code == 422
        board = client.get("/veille/sujets").text
        assert '<figure class="volume" data-peak="8">' in board  # the burst's days
        assert board.count('<rect class="bar"') == 4 + 7  # four burst days, seven usual ones
    web.state.territoria.db.close()


def test_file_an_item_in_a_dossier(site: tuple[TestClient, int], client: TestClient) -> None:
    dossier = site[1]
    analyst = TestClient(client.app)
    token = login(analyst, "analyst")
    page = analyst.get("/veille/articles/3").text
    assert 'id="watch-file"' in page and "Desserte de Bruz — Bruz" in page
    form = {"dossier": str(dossier), "csrf_token": token}
    response = analyst.post("/veille/articles/3/dossier", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/dossiers/{dossier}"
    page = analyst.get(f"/dossiers/{dossier}").text
    assert (
        f'<a href="https://courrier.example/a3" rel="noopener noreferrer">Veille : {TITLE_3} '
        "(Le Courrier (démo))</a>"
    ) in page
    # no such dossier: the item's page again, with the error
    wrong = analyst.post("/veille/articles/3/dossier", data={**form, "dossier": "999"})
    assert wrong.status_code == 404 and 'role="alert"' in wrong.text and TITLE_3 in wrong.text
    # a viewer has no form, and may not file
    assert 'id="watch-file"' not in client.get("/veille/articles/3").text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/veille").text)
    assert csrf
    refused = client.post(
        "/veille/articles/3/dossier", data={"dossier": str(dossier), "csrf_token": csrf[1]}
    )
    assert refused.status_code == 403


def test_search_marks_the_words_found(client: TestClient) -> None:
    page = client.get("/veille/recherche?q=inaugurer école").text
    hits = page[page.index('id="search-hits"') :]
    assert _item_ids(hits) == [3]
    assert "<mark>inaugure</mark>" in hits and "<mark>école</mark>" in hits  # stems, accents
    assert raw_tokens(page) == []
    wrong = client.get("/veille/recherche?q=(train")
    assert (
        wrong.status_code == 422 and "position" in wrong.text and 'id="search-error"' in wrong.text
    )
