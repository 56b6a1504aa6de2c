"""The people directory on the web: person search and record, the person page, the top bar's
search, and the forms that take actors by name."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from territoria.influence.actions import add_action
from territoria.kb import connect
from test_api_helpers import login, make_app, make_kb

APPERE = "p-f32e7ff2540601"


@pytest.fixture(scope="module")
def kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web test KB with Françoise Gatel's senate mandate flagged (day and month swapped in
    the source), her e-mail, an action and a saved plan involving her."""
    path = make_kb(mini_db_path, tmp_path_factory.mktemp("people"))
    con = connect(path)
    try:
        gatel = con.execute("SELECT id FROM person WHERE name_norm = 'francoise gatel'").fetchone()
        assert gatel is not None
        senate = con.execute("SELECT id FROM source WHERE dataset = 'senateurs.csv'").fetchone()
        assert senate is not None
        con.execute(
            "UPDATE mandate SET date_flag = 'day_month_swapped', start_date = DATE '2021-07-02', "
            "start_date_source = '2021-02-07' WHERE person_id = ? AND role = 'sénateur'",
            [gatel[0]],
        )
        con.execute(
            "INSERT INTO contact (level, code, kind, email, source_id) "
            "VALUES ('person', ?, 'email', 'f.gatel@senat.fr', ?)",
            [gatel[0], senate[0]],
        )
        con.execute(
            "UPDATE mandate SET role_label = 'conseillère communautaire', function_label = "
            "'présidente' WHERE person_id = ? AND function = 'président'",
            [APPERE],
        )
        add_action(
            con, when=date(2026, 5, 4), type="meeting", subject="Ligne Rennes–Châteaubriant",
            actors=[gatel[0]],
        )  # fmt: skip
        con.execute(
            "INSERT INTO job (id, kind, owner, params, status, created_at, result) VALUES "
            "('plan-1', 'plan', 'analyst', ?, 'done', TIMESTAMP '2026-05-05 10:00', ?)",
            [
                json.dumps({"code": "53", "level": "region", "theme": "regional-trains"}),
                json.dumps({"seeds": [], "targets": [{"id": gatel[0], "weight": 1.0}]}),
            ],
        )
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def app(kb: Path) -> Iterator[Any]:
    application = make_app(kb)
    yield application
    application.state.territoria.db.close()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        login(c, "viewer")
        yield c


def _text(html: str) -> str:
    """The visible text of a page's main part, spaces collapsed."""
    main = html[html.index("<main") : html.index("</main>")]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", main)))


def _gatel(client: TestClient) -> str:
    return str(client.get("/api/v1/persons", params={"q": "gatel"}).json()["items"][0]["id"])


def test_person_search_api(client: TestClient) -> None:
    found = client.get("/api/v1/persons", params={"q": "appere", "limit": 3})
    assert found.status_code == 200
    first = found.json()["items"][0]
    assert (first["id"], first["birth_year"]) == (APPERE, 1975)
    assert first["name"].casefold() == "nathalie appéré"
    assert {"label", "body", "territory", "level", "code"} <= set(first["titles"][0])
    assert {t["code"] for t in first["titles"]} == {"35238", "243500139"}
    assert found.json()["total"] == len(found.json()["items"]) <= 3
    assert client.get("/api/v1/persons").status_code == 422  # q is required
    assert client.get("/api/v1/persons", params={"q": "x", "limit": 0}).status_code == 422


def test_person_record_api(client: TestClient) -> None:
    record = client.get(f"/api/v1/persons/{APPERE}")
    assert record.status_code == 200
    data = record.json()
    assert data["birth_date"] == "1975-08-07"
    mayor = next(m for m in data["current"] if m["level"] == "commune")
    assert (mayor["code"], mayor["body"], mayor["source"]) == (
        "35238",
        "Conseil municipal de Rennes",
        "elus_municipaux.csv",
    )
    missing = client.get("/api/v1/persons/p-000000000000")
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["code"] == "unknown_person" and "p-000000000000" in error["message"]
    assert client.get("/api/v1/persons/not-an-id").status_code == 422


def test_api_needs_an_account(app: Any) -> None:
    with TestClient(app) as anonymous:
        assert anonymous.get("/api/v1/persons", params={"q": "appere"}).status_code == 401
        page = anonymous.get(f"/personnes/{APPERE}", follow_redirects=False)
        assert page.status_code == 303 and "/login" in page.headers["location"]


def test_top_bar_search_groups_territories_and_persons(client: TestClient) -> None:
    rennes = client.get("/api/v1/search", params={"q": "rennes"}).json()
    assert rennes["territories"][0]["code"] == "35238"
    appere = client.get("/api/v1/search", params={"q": "appere"}).json()
    assert appere["persons"][0]["id"] == APPERE
    home = client.get("/").text
    assert "Rechercher un territoire ou une personne" in home
    assert "/static/js/app.js" in home
    script = client.get("/static/js/app.js").text
    assert "/api/v1/search?" in script and "/personnes/" in script


def test_person_page(client: TestClient) -> None:
    page = client.get(f"/personnes/{APPERE}")
    assert page.status_code == 200
    text = _text(page.text)
    assert "née le 7 août 1975" in text
    assert "Mandats en cours (2)" in text
    assert "Conseil municipal de Rennes" in text
    assert 'href="/territoires/commune/35238"' in page.text
    assert 'href="/territoires/epci/243500139"' in page.text
    assert "elus_municipaux.csv 1.1.0" in text  # where each mandate comes from
    assert "présidente (conseillère communautaire)" in text  # titles in her gender
    assert "président " not in text
    assert "Aucune action consignée avec cette personne." in text
    english = _text(client.get(f"/personnes/{APPERE}", params={"lang": "en"}).text)
    assert "Current mandates (2)" in english and "born on 7 August 1975" in english
    assert client.get("/personnes/p-000000000000").status_code == 404


def test_person_page_flags_contacts_actions_plans(client: TestClient) -> None:
    text = _text(client.get(f"/personnes/{_gatel(client)}").text)
    assert (
        "2 juillet 2021 date corrigée : jour et mois inversés dans la source (2021-02-07)" in text
    )
    assert "f.gatel@senat.fr" in text and "senateurs.csv" in text
    assert "Réunion : Ligne Rennes–Châteaubriant" in text
    assert "décideur visé" in text and "Terminé" in text
    for raw in ("meeting", "day_month_swapped", "done", "unknown"):
        assert raw not in text


def test_forms_take_actors_by_name(client: TestClient, app: Any) -> None:
    with TestClient(app) as analyst:
        login(analyst, "analyst")
        actions = analyst.get("/actions").text
        influence = analyst.get("/influence").text
    assert 'id="action-actor-search"' in actions and 'type="hidden" id="action-actors"' in actions
    assert "identifiants, séparés par des virgules" not in actions
    assert 'id="plan-target-search"' in influence and "identifiant:poids" not in influence
    assert "attachPersonSearch" in client.get("/static/js/actions.js").text
    assert "attachPersonSearch" in client.get("/static/js/influence.js").text
    # what the pickers ask: a name gives the person, the chosen suggestion's id gives her again
    hit = client.get("/api/v1/persons", params={"q": "Appéré", "limit": 8}).json()["items"][0]
    assert hit["id"] == APPERE
    again = client.get("/api/v1/persons", params={"q": hit["id"]}).json()["items"]
    assert [h["id"] for h in again] == [APPERE]


def test_person_pages_show_no_raw_keys(client: TestClient) -> None:
    from test_french_pages import raw_tokens

    for person_id in (APPERE, _gatel(client)):
        page = client.get(f"/personnes/{person_id}")
        assert page.status_code == 200
        assert raw_tokens(page.text) == [], person_id
