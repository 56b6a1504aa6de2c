"""Crisis web pages and their REST companions: the crisis map, an incident's situation report
on screen and as PDF, the alert list and its dispatch (webhook to a real local receiver), the
delivery log; French by default, English on request, editors only for sending.

The incident is a flood over Rennes stored by ``territoria.crisis.incidents`` on the mini
knowledge base; its impact is ``territoria.crisis.impact``'s (real rows: the mayor, the town
hall, the population).
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from territoria.kb import connect
from test_alerts import receiver  # noqa: F401  (fixture)
from test_api_helpers import login, make_app, make_kb
from test_french_pages import raw_tokens
from test_situation_report import add_rennes_incident


@pytest.fixture(scope="module")
def kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kb(mini_db_path, tmp_path_factory.mktemp("crisis"))


@pytest.fixture(scope="module")
def incident(kb: Path) -> int:
    """An exercise flood over Rennes, stored by the incidents module; its id."""
    con = connect(kb)
    try:
        return add_rennes_incident(con, exercise=True)
    finally:
        con.close()


@pytest.fixture(scope="module")
def client(kb: Path, incident: int) -> Iterator[TestClient]:
    app = make_app(kb, watch_allow_private=True, alerts_webhook_timeout=5.0)
    with TestClient(app) as c:
        login(c, "admin")
        yield c
    app.state.territoria.db.close()


def _csrf(client: TestClient, path: str) -> str:
    page = client.get(path).text
    return page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def test_crisis_map_page_in_french_with_drawing_form(client: TestClient) -> None:
    page = client.get("/crise")
    assert page.status_code == 200
    assert "Carte de crise" in page.text and 'id="draw-start"' in page.text
    assert "Inondation" in page.text and "/static/js/crisis.js" in page.text
    assert raw_tokens(page.text) == []
    english = client.get("/crise?lang=en").text
    client.get("/crise?lang=fr")  # the choice is kept in a cookie: back to French
    assert "Crisis map" in english and "Draw a zone" in english


def test_incident_page_report_alert_list_in_french(client: TestClient, incident: int) -> None:
    page = client.get(f"/crise/incidents/{incident}")
    assert page.status_code == 200, page.text[:500]
    text = html.unescape(page.text)
    assert "EXERCICE — ceci n'est pas un événement réel" in text
    assert "Nathalie APPÉRÉ" in text and "ville.rennes@ville-rennes.fr" in text
    assert "Vigicrues" in text  # the flood checklist
    assert "Saint-Jacques-de-la-Lande" in text  # affected and isolated
    assert 'id="send-alert"' in text and "Envoyer l'alerte d'exercice" in text
    assert raw_tokens(text) == []
    english = html.unescape(client.get(f"/crise/incidents/{incident}?lang=en").text)
    client.get("/crise?lang=fr")
    assert "Officials to alert" in english and "EXERCISE — this is not a real event" in english


def test_report_pdf_route(client: TestClient, incident: int) -> None:
    response = client.get(f"/crise/incidents/{incident}/rapport.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "EXERCICE" in text and "Nathalie APPÉRÉ" in text


def test_layers_geojson(client: TestClient, incident: int) -> None:
    data = client.get(f"/api/v1/crisis/incidents/{incident}/layers").json()
    kinds = [f["properties"]["layer"] for f in data["features"]]
    names = {f["properties"].get("name") for f in data["features"]}
    assert kinds[0] == "zone" and {"Rennes", "Saint-Jacques-de-la-Lande"} <= names
    assert kinds.count("commune") == 6  # the communes the zone meets
    # no road network loaded: no commune is isolated (flooded is not isolated)
    assert not any(f["properties"].get("isolated") for f in data["features"])


def test_send_alert_by_webhook_and_log(
    client: TestClient,
    incident: int,
    receiver: Any,  # noqa: F811
) -> None:
    token = _csrf(client, "/crise")
    url = f"/api/v1/crisis/incidents/{incident}/alerts"
    dry = client.post(url, json={"to": [receiver.url], "dry_run": True},
                      headers={"X-CSRF-Token": token}).json()  # fmt: skip
    targets = [r["target"] for r in dry["recipients"]]
    assert "ville.rennes@ville-rennes.fr" in targets and targets[-1] == receiver.url
    assert len(set(targets)) == len(targets)  # the mayor and the EPCI president: one e-mail
    assert dry["queued"] == 0 and receiver.received == []
    sent = client.post(url, json={"to": [receiver.url]}, headers={"X-CSRF-Token": token})
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["subject"].startswith("[EXERCICE]") and body["queued"] == len(targets)
    assert body["delivery"]["sent"] == 1  # the webhook
    assert body["delivery"]["waiting"] == len(targets) - 1  # e-mails: no SMTP server set
    assert len(receiver.received) == 1
    log = client.get(url).json()
    assert sorted((d["channel"], d["status"]) for d in log) == [
        ("email", "pending")] * (len(targets) - 1) + [("webhook", "sent")]  # fmt: skip
    page = client.get(f"/crise/incidents/{incident}").text
    assert "Journal des envois" in page and "envoyé" in page and "en attente" in page
    bad = client.post(url, json={"to": ["pas une adresse"]}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 422 and "not an e-mail address" in bad.text


def test_viewer_cannot_send(kb: Path, incident: int) -> None:
    app = make_app(kb)
    with TestClient(app) as c:
        login(c, "viewer")
        page = c.get(f"/crise/incidents/{incident}").text
        assert 'id="send-alert"' not in page
        token = _csrf(c, "/crise")
        response = c.post(f"/api/v1/crisis/incidents/{incident}/alerts", json={},
                          headers={"X-CSRF-Token": token})  # fmt: skip
        assert response.status_code == 403
    app.state.territoria.db.close()


def test_unknown_incident_is_404(client: TestClient) -> None:
    assert client.get("/crise/incidents/999999").status_code == 404
    response = client.get("/api/v1/crisis/incidents/999999/layers")
    assert response.status_code == 404 and "999999" in response.json()["error"]["message"]
