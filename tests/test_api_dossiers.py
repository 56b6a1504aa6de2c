"""Dossiers through the web application: the REST API (items, plan versions as persisted
jobs, exports, permissions, soft deletion), a restart, and the French pages."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from territoria.accounts import add_user
from territoria.influence.decision import get_theme
from territoria.kb import connect
from test_api_helpers import login, make_app, make_kb
from test_french_pages import raw_tokens, visible_text

BOB_PASSWORD = "bob-dossiers-5521-y"
APPERE = "p-f32e7ff2540601"
CR53 = "cr-53"

Client = tuple[TestClient, dict[str, str]]


@pytest.fixture(scope="module")
def kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = make_kb(mini_db_path, tmp_path_factory.mktemp("dossiers"))
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


@pytest.fixture(scope="module")
def clients(app: Any) -> Iterator[dict[str, Client]]:
    # one application lifetime for the module: leaving a client stops the plan workers
    made: dict[str, Client] = {}
    logins = (("analyst", None), ("bob", BOB_PASSWORD), ("viewer", None), ("admin", None))
    for name, password in logins:
        client = TestClient(app)
        client.__enter__()
        made[name] = (client, {"X-CSRF-Token": login(client, name, password)})
    yield made
    for client, _ in made.values():
        client.__exit__(None, None, None)


def _create(client: TestClient, headers: dict[str, str], title: str) -> int:
    body = {"title": title, "theme": "roads", "code": "35238", "objective": "Piétonniser"}
    created = client.post("/api/v1/dossiers", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _plan_done(client: TestClient, dossier_id: int, timeout: float = 120) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        version = client.get(f"/api/v1/dossiers/{dossier_id}/plans").json()[-1]
        if version["status"] not in ("queued", "running"):
            return dict(version)
        time.sleep(0.2)
    raise AssertionError("the plan version did not finish")


def test_a_dossier_through_the_api_from_stances_to_exports(clients: dict[str, Client]) -> None:
    client, headers = clients["analyst"]
    dossier_id = _create(client, headers, "Boulevard de la Liberté")
    base = f"/api/v1/dossiers/{dossier_id}"
    stance = {"actor": APPERE, "position": "oppose", "salience": 0.8, "source": "Ouest-France",
              "date": "2026-04-02", "camp": "majorite"}  # fmt: skip
    assert client.post(f"{base}/stakeholders", json=stance, headers=headers).status_code == 201
    bad = client.post(f"{base}/stakeholders", json=stance | {"salience": 1.5}, headers=headers)
    assert bad.status_code == 422
    unknown = client.post(f"{base}/stakeholders", json=stance | {"actor": "p-x"}, headers=headers)
    assert unknown.status_code == 404 and "unknown actor 'p-x'" in unknown.text
    event = {"date": "2027-02-03", "label": "Conseil municipal", "kind": "deliberation"}
    assert client.post(f"{base}/events", json=event, headers=headers).status_code == 201
    action = client.post(
        "/api/v1/actions",
        json={"date": "2026-05-04", "type": "meeting", "subject": "Rendez-vous en mairie",
              "actors": [APPERE]},
        headers=headers,
    ).json()["id"]  # fmt: skip
    assert client.post(f"{base}/actions", json={"action_id": action}, headers=headers).is_success

    submitted = client.post(f"{base}/plans", json={"k": 3, "seed": 11}, headers=headers)
    assert submitted.status_code == 202 and submitted.json()["status"] == "queued"
    version = _plan_done(client, dossier_id)
    assert version["status"] == "done" and len(version["seeds"]) == 3
    # the version is a plan job of /influence/plans, run with the dossier's stances
    job = client.get(f"/api/v1/influence/plans/{version['job_id']}").json()
    assert job["params"]["dossier_id"] == dossier_id
    assert job["params"]["stances"][APPERE]["position"] == "oppose"
    assert [s["id"] for s in job["result"]["seeds"]] == [s["id"] for s in version["seeds"]]

    dossier = client.get(base).json()
    assert [a["subject"] for a in dossier["actions"]] == ["Rendez-vous en mairie"]
    assert dossier["stakeholders"][0]["stance"]["position_label"] == "opposé"
    kinds = [t["kind"] for t in client.get(f"{base}/timeline").json()]
    assert sorted(kinds) == ["action", "event", "plan"]

    exported = client.get(f"{base}/export", params={"format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["position"] for r in rows if r["rubrique"] == "partie prenante"] == ["opposé"]
    pdf = client.get(f"{base}/export", params={"format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Boulevard de la Liberté" in text and "Nathalie APPÉRÉ" in text


def test_permissions_and_soft_deletion(clients: dict[str, Client]) -> None:
    analyst, a_headers = clients["analyst"]
    bob, b_headers = clients["bob"]
    viewer, v_headers = clients["viewer"]
    dossier_id = _create(analyst, a_headers, "Contournement de Janzé")
    base = f"/api/v1/dossiers/{dossier_id}"
    assert viewer.get(base).json()["title"] == "Contournement de Janzé"  # viewers read
    refused = viewer.post(f"{base}/notes", json={"text": "x"}, headers=v_headers)
    assert refused.status_code == 403
    # bob may add to the dossier, not delete it
    note = bob.post(f"{base}/notes", json={"text": "Vu en commission"}, headers=b_headers)
    assert note.status_code == 201
    assert bob.delete(base, headers=b_headers).status_code == 403
    # the analyst owns it: deleting it is soft, and restore brings it back
    assert analyst.delete(base, headers=a_headers).status_code == 204
    assert dossier_id not in [x["id"] for x in analyst.get("/api/v1/dossiers").json()]
    bin_ = analyst.get("/api/v1/dossiers", params={"deleted": True}).json()
    assert [(x["id"], x["deleted_by"]) for x in bin_] == [(dossier_id, "analyst")]
    restored = analyst.post(f"{base}/restore", headers=a_headers).json()
    assert restored["deleted_at"] is None
    assert [n["text"] for n in restored["notes"]] == ["Vu en commission"]
    # an item: bob deletes his note, the analyst restores it
    note_id = note.json()["id"]
    assert bob.delete(f"{base}/notes/{note_id}", headers=b_headers).status_code == 204
    assert analyst.get(base).json()["notes"] == []
    back = analyst.post(f"{base}/notes/{note_id}/restore", headers=a_headers)
    assert [n["id"] for n in back.json()["notes"]] == [note_id]
    unknown_theme = analyst.post(
        "/api/v1/dossiers", json={"title": "x", "theme": "voirie", "code": "35238"},
        headers=a_headers,
    )  # fmt: skip
    assert unknown_theme.status_code == 404 and "unknown theme 'voirie'" in unknown_theme.text


def test_a_dossier_and_its_plan_version_survive_a_restart(
    mini_db_path: Path, tmp_path: Path
) -> None:
    path = make_kb(mini_db_path, tmp_path)
    first = make_app(path)
    with TestClient(first) as client:
        headers = {"X-CSRF-Token": login(client, "analyst")}
        dossier_id = _create(client, headers, "Rocade nord")
        stance = {"actor": CR53, "position": "soutien", "salience": 0.5}
        client.post(f"/api/v1/dossiers/{dossier_id}/stakeholders", json=stance, headers=headers)
        client.post(f"/api/v1/dossiers/{dossier_id}/plans", json={"k": 2, "seed": 4},
                    headers=headers)  # fmt: skip
        version = _plan_done(client, dossier_id)
    first.state.territoria.db.close()
    second = make_app(path)  # a new application on the same file
    try:
        with TestClient(second) as client:
            login(client, "viewer")
            dossier = client.get(f"/api/v1/dossiers/{dossier_id}").json()
    finally:
        second.state.territoria.db.close()
    assert dossier["title"] == "Rocade nord"
    assert dossier["stakeholders"][0]["stance"]["position"] == "soutien"
    assert [(p["job_id"], p["status"], p["seeds"]) for p in dossier["plans"]] == [
        (version["job_id"], "done", version["seeds"])
    ]


def test_the_french_pages_show_stances_and_a_timeline_in_date_order(
    clients: dict[str, Client],
) -> None:
    client, headers = clients["analyst"]
    token = headers["X-CSRF-Token"]
    created = client.post(
        "/dossiers",
        data={"csrf_token": token, "title": "Collège de Bruz", "theme": "colleges",
              "code": "35047"},
        follow_redirects=False,
    )  # fmt: skip
    assert created.status_code == 303
    page_url = created.headers["location"]
    dossier_id = int(page_url.rsplit("/", 1)[1])
    form = {"csrf_token": token, "actor": "Nathalie Appéré", "position": "oppose",
            "salience": "0.7", "source": "presse", "date": "2026-03-02"}  # fmt: skip
    posted = client.post(f"/dossiers/{dossier_id}/parties-prenantes", data=form,
                         follow_redirects=False)  # fmt: skip
    assert posted.status_code == 303
    step = {"csrf_token": token, "label": "Écrire à la présidente", "due": "2026-01-10"}
    assert client.post(f"/dossiers/{dossier_id}/etapes", data=step).status_code == 200
    event = {"csrf_token": token, "date": "2025-12-01", "label": "Commission permanente"}
    assert client.post(f"/dossiers/{dossier_id}/calendrier", data=event).status_code == 200
    planned = client.post(f"/dossiers/{dossier_id}/plans", data={"csrf_token": token, "k": "2"})
    assert planned.status_code == 200
    version = _plan_done(client, dossier_id)
    assert version["status"] == "done"
    # a form without its CSRF token is refused
    no_csrf = client.post(f"/dossiers/{dossier_id}/notes", data={"text": "x"})
    assert no_csrf.status_code == 403

    page = client.get(page_url)
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "opposé" in text and "Nathalie APPÉRÉ" in text and "70 %" in text
    assert "maire, Conseil municipal de Rennes" in text  # her title, in her gender
    dates = re.findall(r'<li data-kind="\w+" data-date="([0-9-]+)"', page.text)
    assert dates[:2] == ["2025-12-01", "2026-01-10"] and dates == sorted(dates)
    assert raw_tokens(page.text) == []
    assert f'href="/api/v1/dossiers/{dossier_id}/export?format=pdf"' in page.text
    # the plan version links to the planner's page of its job, and names its seeds
    assert f'href="/influence?plan={version["job_id"]}&amp;lang=fr"' in page.text
    assert version["seeds"][0]["name"] in text

    listing = client.get("/dossiers")
    assert "Collège de Bruz" in visible_text(listing.text)
    assert raw_tokens(listing.text) == []
    english = client.get(page_url, params={"lang": "en"})
    assert "opposed" in visible_text(english.text) and "Timeline" in english.text
    assert get_theme("colleges").label_en in visible_text(english.text)  # the theme in English

    wrong = client.post(f"/dossiers/{dossier_id}/etapes",
                        data={"csrf_token": token, "label": "x", "due": "2026-02-30"})  # fmt: skip
    assert wrong.status_code == 422
    assert "is not a date" in visible_text(wrong.text)


def test_the_journal_names_the_dossiers_writes_in_french(clients: dict[str, Client]) -> None:
    analyst, headers = clients["analyst"]
    dossier_id = _create(analyst, headers, "Halte ferroviaire de Cesson")
    stance = {"actor": CR53, "position": "indecis", "salience": 0.4}
    analyst.post(f"/api/v1/dossiers/{dossier_id}/stakeholders", json=stance, headers=headers)
    admin, _ = clients["admin"]
    journal = visible_text(admin.get("/journal").text)
    assert "Dossier ouvert" in journal
    assert "Dossier : ajout (position d'une partie prenante)" in journal
    assert "importance : 0.4" in journal
    assert raw_tokens(admin.get("/journal").text) == []
