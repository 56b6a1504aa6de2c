"""The actions log through the web application: who may delete what, undo, audit, CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from territoria.accounts import add_user
from territoria.kb import connect
from test_api_helpers import login, make_app, make_kb

BOB_PASSWORD = "bob-lobbying-9271-x"
CR53 = "cr-53"


@pytest.fixture(scope="module")
def kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = make_kb(mini_db_path, tmp_path_factory.mktemp("actions"))
    con = connect(path)
    try:
        add_user(con, "bob", role="analyst", password=BOB_PASSWORD)
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def app(kb: Path) -> Iterator[Any]:
    application = make_app(kb)
    yield application
    application.state.territoria.db.close()


def _client(app: Any, name: str, password: str | None = None) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(app)
    client.__enter__()
    return client, {"X-CSRF-Token": login(client, name, password)}


@pytest.fixture
def clients(app: Any) -> Iterator[dict[str, tuple[TestClient, dict[str, str]]]]:
    made = {
        "analyst": _client(app, "analyst"),
        "bob": _client(app, "bob", BOB_PASSWORD),
        "admin": _client(app, "admin"),
        "viewer": _client(app, "viewer"),
    }
    yield made
    for client, _ in made.values():
        client.__exit__(None, None, None)


def _log(http: TestClient, headers: dict[str, str], subject: str, **extra: Any) -> int:
    body = {"date": "2026-05-12", "type": "meeting", "subject": subject, "actors": [CR53]}
    created = http.post("/api/v1/actions", json=body | extra, headers=headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _report_subjects(client: TestClient) -> set[str]:
    text = client.get("/api/v1/actions/report", params={"year": 2026, "format": "csv"}).text
    return {row["objet"] for row in csv.DictReader(io.StringIO(text))}


def test_analysts_delete_only_their_own_actions(
    clients: dict[str, tuple[TestClient, dict[str, str]]],
) -> None:
    analyst, a_headers = clients["analyst"]
    bob, b_headers = clients["bob"]
    admin, admin_headers = clients["admin"]
    theirs = _log(analyst, a_headers, "Contournement de Ploërmel")
    listed = {a["id"]: a for a in bob.get("/api/v1/actions").json()}
    assert listed[theirs]["created_by"] == "analyst"
    # Bob may not delete the analyst's action: 403 with a message naming its author.
    refused = bob.delete(f"/api/v1/actions/{theirs}", headers=b_headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        f"action {theirs} was logged by 'analyst': only its author or an administrator may "
        "delete it"
    )
    assert theirs in {a["id"] for a in bob.get("/api/v1/actions").json()}
    # Bob deletes his own; the analyst's is deleted by the administrator.
    his = _log(bob, b_headers, "Desserte fret de Lorient")
    assert bob.delete(f"/api/v1/actions/{his}", headers=b_headers).status_code == 204
    assert admin.delete(f"/api/v1/actions/{theirs}", headers=admin_headers).status_code == 204
    ids = {a["id"] for a in analyst.get("/api/v1/actions").json()}
    assert theirs not in ids and his not in ids
    assert not {"Contournement de Ploërmel", "Desserte fret de Lorient"} & _report_subjects(bob)
    binned = {a["id"]: a["deleted_by"] for a in bob.get("/api/v1/actions?deleted=true").json()}
    assert binned[theirs] == "admin" and binned[his] == "bob"
    # The author restores her action although the admin deleted it; Bob cannot restore it.
    assert bob.post(f"/api/v1/actions/{theirs}/restore", headers=b_headers).status_code == 403
    restored = analyst.post(f"/api/v1/actions/{theirs}/restore", headers=a_headers)
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None
    assert "Contournement de Ploërmel" in _report_subjects(analyst)
    # The audit log names each web user and what they did.
    audit = admin.get("/api/v1/audit", params={"event": "action.", "limit": 5}).json()
    assert [(e["actor"], e["event"], e["target"]) for e in audit] == [
        ("web:analyst", "action.restore", str(theirs)),
        ("web:admin", "action.delete", str(theirs)),
        ("web:bob", "action.delete", str(his)),
        ("web:bob", "action.create", str(his)),
        ("web:analyst", "action.create", str(theirs)),
    ]


def test_viewers_cannot_touch_the_log_and_missing_actions_are_404(
    clients: dict[str, tuple[TestClient, dict[str, str]]],
) -> None:
    viewer, v_headers = clients["viewer"]
    analyst, a_headers = clients["analyst"]
    action_id = _log(analyst, a_headers, "Schéma régional des mobilités")
    assert viewer.delete(f"/api/v1/actions/{action_id}", headers=v_headers).status_code == 403
    assert analyst.delete("/api/v1/actions/99999", headers=a_headers).status_code == 404
    assert analyst.delete(f"/api/v1/actions/{action_id}", headers=a_headers).status_code == 204
    again = analyst.delete(f"/api/v1/actions/{action_id}", headers=a_headers)
    assert again.status_code == 404 and "already deleted" in again.json()["error"]["message"]
    huge = analyst.delete("/api/v1/actions/" + "9" * 30, headers=a_headers)
    assert huge.status_code == 422 and huge.json()["error"]["details"]["field"] == "action_id"


def test_actions_page_offers_delete_only_where_allowed_and_asks_first(
    clients: dict[str, tuple[TestClient, dict[str, str]]],
) -> None:
    analyst, a_headers = clients["analyst"]
    bob, _ = clients["bob"]
    admin, _ = clients["admin"]
    action_id = _log(analyst, a_headers, "Pacte pour la ruralité")
    marker = f'data-delete="{action_id}"'
    mine = analyst.get("/actions").text
    assert marker in mine
    button = mine.split(marker)[1].split(">")[0]
    assert "Supprimer l&#39;action « Pacte pour la ruralité » ? Elle pourra être restaurée." in (
        button
    )
    assert marker not in bob.get("/actions").text
    assert marker in admin.get("/actions").text
    english = analyst.get("/actions", params={"lang": "en"}).text
    assert "Delete the action “Pacte pour la ruralité”? It can be restored." in english


def test_hatvp_csv_from_the_web_is_neutralised(
    clients: dict[str, tuple[TestClient, dict[str, str]]],
) -> None:
    analyst, headers = clients["analyst"]
    _log(analyst, headers, '=HYPERLINK("http://x")', cost_eur=150)
    assert '\'=HYPERLINK("http://x")' in _report_subjects(analyst)
    assert '=HYPERLINK("http://x")' not in _report_subjects(analyst)


def test_actions_list_their_actors_by_name(
    clients: dict[str, tuple[TestClient, dict[str, str]]],
) -> None:
    client, headers = clients["analyst"]
    hits = client.get("/api/v1/persons", params={"q": "Chesnais-Girard"}).json()
    person, name = hits["items"][0]["id"], hits["items"][0]["name"]
    assert name == "Loïg CHESNAIS-GIRARD"
    action = _log(client, headers, "Réunion TER Rennes–Saint-Malo", actors=[CR53, person])
    listed = client.get("/api/v1/actions").json()
    found = next(a for a in listed if a["id"] == action)
    assert dict(zip(found["actors"], found["actor_names"], strict=True)) == {
        CR53: "Conseil régional de Bretagne",
        person: name,
    }
    page = client.get("/actions").text
    assert f'<a href="/personnes/{person}?lang=fr">{name}</a>' in page


def test_exercise_figures_and_clients_reach_the_register_report(
    clients: dict[str, tuple[TestClient, dict[str, str]]],
) -> None:
    analyst, headers = clients["analyst"]
    viewer, v_headers = clients["viewer"]
    put = analyst.put(
        "/api/v1/actions/exercises/2025",
        json={
            "spend": 60_000,
            "staff": 2,
            "fte": 1.2,
            "clients": [{"name": "Fédération des transports", "identifier": "775663438"}],
        },
        headers=headers,
    )
    assert put.status_code == 200, put.text
    assert put.json()["spend_eur"] == 60_000 and put.json()["declared"] is True
    shown = viewer.get("/api/v1/actions/exercises/2025").json()
    assert shown["clients"] == [{"name": "Fédération des transports", "identifier": "775663438"}]
    assert (
        viewer.put("/api/v1/actions/exercises/2025", json={}, headers=v_headers).status_code == 403
    )
    bad = analyst.put("/api/v1/actions/exercises/2025", json={"spend": "beaucoup"}, headers=headers)
    assert bad.status_code == 422 and "beaucoup" in bad.json()["error"]["message"]
    _log(
        analyst,
        headers,
        "Fret ferroviaire breton",
        date="2025-10-02",
        type="call",
        client="Fédération des transports",
    )
    report = analyst.get("/api/v1/actions/report", params={"year": 2025}).json()
    exercise = report["exercices"][0]["publicationCourante"]
    assert exercise["montantDepense"] == "> = 50 000 euros et < 75 000 euros"
    assert (exercise["nombreSalaries"], exercise["nombrePersonnes"]) == (1.2, 2)
    action = exercise["activites"][0]["publicationCourante"]["actionsRepresentationInteret"][0]
    # a call is a meeting at a distance in the register's words, done for the client
    assert action["actionsMenees"] == [
        "Organiser des discussions informelles ou des réunions en tête-à-tête"
    ]
    assert action["tiers"] == ["Fédération des transports"]
    listed = analyst.get("/api/v1/actions", params={"year": 2025}).json()
    assert (listed[0]["type"], listed[0]["type_detail"], listed[0]["client"]) == (
        "meeting",
        "Téléphoner",
        "Fédération des transports",
    )


def test_actions_page_offers_the_registers_types_and_a_client_field(
    clients: dict[str, tuple[TestClient, dict[str, str]]],
) -> None:
    analyst, headers = clients["analyst"]
    _log(analyst, headers, "Schéma régional des mobilités", client="Ville de Vitré")
    page = analyst.get("/actions").text
    form = page.split('id="action-type"')[1].split("</select>")[0]
    assert '<option value="third_party_meeting">Convenir pour un tiers d&#39;une entrevue' in form
    assert "Téléphoner" not in form and "Répondre à une consultation publique" not in form
    assert 'id="action-client"' in page
    assert "<td>Ville de Vitré</td>" in page
    decisions = page.split('id="action-decision-type"')[1].split("</select>")[0]
    assert '<option value="other" selected>Autres décisions publiques</option>' in decisions
