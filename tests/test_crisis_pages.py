"""Crisis web pages and their REST companions: the crisis map, an incident's situation report
on screen and as PDF, the alert list and its dispatch (webhook to a real local receiver), the
delivery log; French by default, English on request, editors only for sending.

The impact comes from ``territoria.crisis.impact`` when that module exists; until then a
stand-in module returns the hand-built Rennes impact of test_situation_report (real rows of
the mini knowledge base: the mayor, the town hall, the population).
"""

from __future__ import annotations

import html
import io
import sys
import types
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
from test_situation_report import rennes_impact

INCIDENT = 7


@pytest.fixture(scope="module")
def kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kb(mini_db_path, tmp_path_factory.mktemp("crisis"))


@pytest.fixture(scope="module")
def stand_in(kb: Path) -> Iterator[None]:
    """``territoria.crisis.impact`` answering incident 7 (an exercise flood over Rennes)."""
    try:
        import territoria.crisis.impact  # noqa: F401

        yield  # the real module: the test data must then be a real incident (see report)
        return
    except ImportError:
        pass
    con = connect(kb, read_only=True)
    made = rennes_impact(con, exercise=True)
    con.close()

    def impact(con: Any, incident_id: int, *, network_id: int | None = None) -> Any:
        from territoria.errors import UnknownTerritory

        if incident_id != INCIDENT:
            msg = f"no incident {incident_id}"
            raise UnknownTerritory(msg)
        return made

    package = types.ModuleType("territoria.crisis")
    module = types.ModuleType("territoria.crisis.impact")
    module.impact = impact  # type: ignore[attr-defined]
    package.impact = module  # type: ignore[attr-defined]
    saved = {k: sys.modules.get(k) for k in ("territoria.crisis", "territoria.crisis.impact")}
    sys.modules["territoria.crisis"] = package
    sys.modules["territoria.crisis.impact"] = module
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


@pytest.fixture(scope="module")
def client(kb: Path, stand_in: None) -> Iterator[TestClient]:
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


def test_incident_page_report_alert_list_in_french(client: TestClient) -> None:
    page = client.get(f"/crise/incidents/{INCIDENT}")
    assert page.status_code == 200, page.text[:500]
    text = html.unescape(page.text)
    assert "EXERCICE — ceci n'est pas un événement réel" in text
    assert "Nathalie APPÉRÉ" in text and "ville.rennes@ville-rennes.fr" in text
    assert "Vigicrues" in text  # the flood checklist
    assert "Saint-Jacques-de-la-Lande" in text  # affected and isolated
    assert 'id="send-alert"' in text and "Envoyer l'alerte d'exercice" in text
    assert raw_tokens(text) == []
    english = html.unescape(client.get(f"/crise/incidents/{INCIDENT}?lang=en").text)
    client.get("/crise?lang=fr")
    assert "Officials to alert" in english and "EXERCISE — this is not a real event" in english


def test_report_pdf_route(client: TestClient) -> None:
    response = client.get(f"/crise/incidents/{INCIDENT}/rapport.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "EXERCICE" in text and "Nathalie APPÉRÉ" in text


def test_layers_geojson(client: TestClient) -> None:
    data = client.get(f"/api/v1/crisis/incidents/{INCIDENT}/layers").json()
    kinds = [f["properties"]["layer"] for f in data["features"]]
    assert kinds[0] == "zone" and kinds.count("commune") == 2
    isolated = [
        f["properties"]["name"] for f in data["features"] if f["properties"].get("isolated")
    ]
    assert isolated == ["Saint-Jacques-de-la-Lande"]


def test_send_alert_by_webhook_and_log(client: TestClient, receiver: Any) -> None:  # noqa: F811
    token = _csrf(client, "/crise")
    url = f"/api/v1/crisis/incidents/{INCIDENT}/alerts"
    dry = client.post(url, json={"to": [receiver.url], "dry_run": True},
                      headers={"X-CSRF-Token": token}).json()  # fmt: skip
    assert [r["target"] for r in dry["recipients"]] == [
        "ville.rennes@ville-rennes.fr", receiver.url]  # fmt: skip
    assert dry["queued"] == 0 and receiver.received == []
    sent = client.post(url, json={"to": [receiver.url]}, headers={"X-CSRF-Token": token})
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["subject"].startswith("[EXERCICE]") and body["queued"] == 2
    assert body["delivery"]["sent"] == 1 and body["delivery"]["waiting"] == 1  # no SMTP set
    assert len(receiver.received) == 1
    log = client.get(url).json()
    assert {(d["channel"], d["status"]) for d in log} == {("webhook", "sent"), ("email", "pending")}
    page = client.get(f"/crise/incidents/{INCIDENT}").text
    assert "Journal des envois" in page and "envoyé" in page and "en attente" in page
    bad = client.post(url, json={"to": ["pas une adresse"]}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 422 and "not an e-mail address" in bad.text


def test_viewer_cannot_send(kb: Path, stand_in: None) -> None:
    app = make_app(kb)
    with TestClient(app) as c:
        login(c, "viewer")
        page = c.get(f"/crise/incidents/{INCIDENT}").text
        assert 'id="send-alert"' not in page
        token = _csrf(c, "/crise")
        response = c.post(f"/api/v1/crisis/incidents/{INCIDENT}/alerts", json={},
                          headers={"X-CSRF-Token": token})  # fmt: skip
        assert response.status_code == 403
    app.state.territoria.db.close()
