"""Watch digests: daily and weekly periods (nothing twice, nothing skipped, across restarts),
the French digest e-mail delivered to a real SMTP server, an empty period that sends nothing,
and the "watch-digest" job of a serving application posting a signed digest webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from territoria.alerts.delivery import deliver_pending
from territoria.alerts.digest import build_due_digests, period_end
from territoria.alerts.subscriptions import get_subscription, utc_now
from territoria.alerts.watch import WatchFilters, add_watch_subscription
from territoria.kb import connect
from territoria.kb.schedule import Scheduler, periodic_jobs
from test_alerts import (
    APPERE,
    JANZE,
    RENNES,
    Receiver,
    _Mailbox,
    _queue,
    add_item,
    add_source,
    add_topic,
    receiver,  # noqa: F401  (fixture)
    settings,
    smtp,  # noqa: F401  (fixture)
)
from test_api_helpers import login, make_app, make_kb

HOUR = 7  # digest periods end at 07:00 in Paris (06:00 UTC in winter)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_periods_end_at_the_digest_hour_in_paris() -> None:
    # 2 December 2026 is a Wednesday; Paris is UTC+1 in winter, UTC+2 in summer
    assert period_end("daily", at("2026-12-02 06:30"), hour=HOUR) == at("2026-12-02 06:00")
    assert period_end("daily", at("2026-12-02 05:59"), hour=HOUR) == at("2026-12-01 06:00")
    assert period_end("daily", at("2026-07-01 06:00"), hour=HOUR) == at("2026-07-01 05:00")
    assert period_end("weekly", at("2026-12-02 06:30"), hour=HOUR) == at("2026-11-30 06:00")
    # a Monday before the hour: the week before
    assert period_end("weekly", at("2026-11-30 05:00"), hour=HOUR) == at("2026-11-23 06:00")
    assert period_end("weekly", at("2026-11-30 06:00"), hour=HOUR) == at("2026-11-30 06:00")


def test_a_french_daily_digest_reaches_the_smtp_server_grouped_by_topic_and_territory(
    mini_db: duckdb.DuckDBPyConnection,
    smtp: tuple[_Mailbox, int],  # noqa: F811  (the fixture of test_alerts)
) -> None:
    box, port = smtp
    con = mini_db
    source = add_source(con)
    train = add_topic(con, "Ligne Rennes Saint-Malo", "train")
    sub = add_watch_subscription(
        con,
        owner="alice",
        channel="email",
        target="alice@rennes.fr",
        frequency="daily",
        filters=WatchFilters(territory=("departement", "35")),
        name="Ille-et-Vilaine",
    )
    first = add_item(con, source, "Nathalie Appéré défend la ligne Rennes Saint-Malo",
                     fetched_at=at("2026-11-24 09:00"), published=at("2026-11-24 08:00"),
                     territories=(RENNES,), persons=((APPERE, "Nathalie Appéré"),),
                     topics=(train,))  # fmt: skip
    add_item(con, source, "La ligne Rennes Saint-Malo (reprise)", fetched_at=at("2026-11-24 10:00"),
             territories=(RENNES,), topics=(train,), duplicate_of=first)  # fmt: skip
    add_item(con, source, "Rennes Saint-Malo : horaires d'hiver", fetched_at=at("2026-11-24 18:00"),
             territories=(RENNES,), topics=(train,))  # fmt: skip
    add_item(con, source, "Janzé inaugure sa médiathèque", fetched_at=at("2026-11-24 12:00"),
             territories=(JANZE,))  # fmt: skip
    add_item(con, source, "Le marché européen de l'énergie", fetched_at=at("2026-11-24 12:00"))
    add_item(con, source, "Rennes : article d'avant la période", fetched_at=at("2026-11-23 12:00"),
             territories=(RENNES,))  # fmt: skip

    report = build_due_digests(con, hour=HOUR, now=at("2026-11-25 08:00"))
    [digest] = report.digests
    assert (digest.period_start, digest.period_end) == (at("2026-11-24 06:00"),
                                                        at("2026-11-25 06:00"))  # fmt: skip
    assert digest.subject == "Veille du 25 novembre 2026 — 3 nouveaux articles"
    assert digest.items == 3 and digest.queued
    assert get_subscription(con, sub.id).last_digest_at == at("2026-11-25 06:00")

    sent = deliver_pending(con, settings=settings(port))
    assert sent.sent == 1
    [message] = box.messages
    assert message["Subject"] == "Veille du 25 novembre 2026 — 3 nouveaux articles"
    assert message["To"] == "alice@rennes.fr"
    text_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    # topic first, then territory; the items outside a topic after the topics
    assert text.index("Ligne Rennes Saint-Malo\n---") < text.index("Hors thèmes\n---")
    assert text.index("Hors thèmes") < text.index("Janzé inaugure sa médiathèque")
    assert "  - Nathalie Appéré défend la ligne Rennes Saint-Malo" in text
    assert "    Ouest-France (test) — 24 novembre 2026" in text
    assert "    Personnes : Nathalie Appéré" in text
    assert "(reprise)" not in text  # the duplicate is not sent
    assert "énergie" not in text and "avant la période" not in text
    assert "Période du 24 novembre 2026 au 25 novembre 2026" in text
    assert (
        '<h2 style="font-size:17px;border-bottom:1px solid #ccc">Ligne Rennes Saint-Malo</h2>'
        in html
    )
    assert "<h3" in html and ">Rennes</h3>" in html and ">Janzé</h3>" in html
    assert 'href="https://example.fr/articles/' in html
    assert "Territoires : Rennes (commune)" in html


def test_digest_periods_send_nothing_twice_and_skip_nothing_across_restarts(
    mini_db_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, path)
    con = connect(path)
    source = add_source(con)
    daily = add_watch_subscription(
        con, owner="alice", channel="email", target="a@x.fr", frequency="daily"
    )
    weekly = add_watch_subscription(
        con, owner="bob", channel="email", target="b@x.fr", frequency="weekly", language="en"
    )
    a = add_item(con, source, "A", fetched_at=at("2026-11-24 10:00"))
    b = add_item(con, source, "B", fetched_at=at("2026-11-24 20:00"))

    def digests(con: duckdb.DuckDBPyConnection, sub_id: int) -> list[list[int]]:
        rows = con.execute(
            "SELECT item_ids FROM alert_delivery WHERE subscription_id = ? AND kind = 'digest' "
            "ORDER BY id",
            [sub_id],
        ).fetchall()
        return [sorted(r[0]) for r in rows]

    first = build_due_digests(con, hour=HOUR, now=at("2026-11-25 08:00"), frequency="daily")
    assert [d.items for d in first.digests] == [2]
    again = build_due_digests(con, hour=HOUR, now=at("2026-11-25 09:00"), frequency="daily")
    assert again.digests == [] and again.not_due == 1
    # fetched before the period's end, stored after its digest was built: in the next one
    c = add_item(con, source, "C", fetched_at=at("2026-11-25 05:50"))
    d = add_item(con, source, "D", fetched_at=at("2026-11-25 12:00"))
    con.close()

    con = connect(path)  # a restart
    second = build_due_digests(con, hour=HOUR, now=at("2026-11-26 08:00"), frequency="daily")
    assert [(s.period_start, s.items) for s in second.digests] == [(at("2026-11-25 06:00"), 2)]
    assert digests(con, daily.id) == [[a, b], [c, d]]

    empty = build_due_digests(con, hour=HOUR, now=at("2026-11-27 08:00"), frequency="daily")
    assert [(s.items, s.queued, s.subject) for s in empty.digests] == [(0, False, None)]
    assert empty.notes == [
        "« Veille — a@x.fr » : aucun nouvel article pour la veille du 27 novembre 2026, rien envoyé"
    ]
    assert digests(con, daily.id) == [[a, b], [c, d]]
    assert get_subscription(con, daily.id).last_digest_at == at("2026-11-27 06:00")

    # the server is down three days: one digest covers them, from where the last one ended
    e = add_item(con, source, "E", fetched_at=at("2026-11-28 10:00"))
    f = add_item(con, source, "F", fetched_at=at("2026-11-29 10:00"))
    late = build_due_digests(con, hour=HOUR, now=at("2026-11-30 08:00"))
    by_sub = {s.subscription_id: s for s in late.digests}
    assert (by_sub[daily.id].period_start, by_sub[daily.id].period_end) == (
        at("2026-11-27 06:00"),
        at("2026-11-30 06:00"),
    )
    assert digests(con, daily.id) == [[a, b], [c, d], [e, f]]
    # the weekly digest: the week before Monday 30 November, in English
    assert by_sub[weekly.id].subject == ("Watch of the week of November 23, 2026 — 6 new items")
    assert digests(con, weekly.id) == [[a, b, c, d, e, f]]
    con.close()


# ------------------------------------------------------------------ the job of 'serve'


@pytest.fixture(scope="module")
def served(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path = make_kb(mini_db_path, tmp_path_factory.mktemp("digest_app"))
    application = make_app(path, watch_allow_private=True)
    yield application
    application.state.territoria.db.close()


def test_the_watch_digest_job_posts_a_signed_digest_webhook(
    served: Any,
    receiver: Receiver,  # noqa: F811  (the fixture of test_alerts)
) -> None:
    state = served.state.territoria
    with TestClient(served) as client:
        headers = {"X-CSRF-Token": login(client, "analyst")}
        body = {"channel": "webhook", "target": receiver.url, "frequency": "daily",
                "secret": "the-receiver-secret-0001", "territory": {"level": "epci",
                "code": "243500139"}}  # fmt: skip
        created = client.post("/api/v1/watch/alerts", json=body, headers=headers)
        assert created.status_code == 201, created.text
        end = period_end("daily", utc_now(), hour=state.settings.alerts_digest_hour)
        with state.db.writer(actor="test") as cur:
            source = add_source(cur)
            add_item(cur, source, "Rennes Métropole adopte son plan climat",
                     fetched_at=end - timedelta(hours=3), territories=(RENNES,))  # fmt: skip
            add_item(cur, source, "Janzé : hors de la métropole",
                     fetched_at=end - timedelta(hours=2), territories=(JANZE,))  # fmt: skip
        # the scheduler of 'serve' submits the job as soon as the digest is due
        periodic = [p for p in periodic_jobs() if p.kind == "watch-digest"]
        [job] = Scheduler(state.db, state.jobs, periodic=periodic).tick()
        assert job.kind == "watch-digest" and job.owner == "scheduler"
        deadline = time.monotonic() + 60
        while state.jobs.get(job.id).status in ("queued", "running"):
            assert time.monotonic() < deadline, "the digest job did not finish"
            time.sleep(0.1)
        done = state.jobs.get(job.id)
        assert done.status == "done", done.error
        assert done.result["digests"]["queued"] == 1
        assert done.result["delivery"]["sent"] == 1
        [(_, got, raw)] = receiver.received
        signature = hmac.new(b"the-receiver-secret-0001", raw, hashlib.sha256).hexdigest()
        assert got["X-Territoria-Signature"] == f"sha256={signature}"
        data = json.loads(raw)
        assert data["event"] == "watch.digest" and data["frequency"] == "daily"
        assert data["title"].endswith("— 1 nouvel article")
        assert [i["title"] for i in data["items"]] == ["Rennes Métropole adopte son plan climat"]
        assert data["groups"][0]["territories"][0]["territory"] == "Rennes"
        log = client.get("/api/v1/watch/deliveries").json()
        assert [(d["kind"], d["status"], d["attempts"]) for d in log] == [("digest", "sent", 1)]


def test_the_cli_builds_the_due_digest_sends_it_and_says_when_none_is_due(
    mini_db_path: Path,
    tmp_path: Path,
    smtp: tuple[_Mailbox, int],  # noqa: F811  (the fixture of test_alerts)
) -> None:
    from typer.testing import CliRunner

    from territoria.cli import app as cli_app

    box, port = smtp
    kb = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, kb)
    env = {
        "COLUMNS": "200",
        "TERRITORIA_SMTP_HOST": "127.0.0.1",
        "TERRITORIA_SMTP_PORT": str(port),
        "TERRITORIA_SMTP_STARTTLS": "false",
        "TERRITORIA_ALERTS_DIGEST_HOUR": str(HOUR),
    }

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli_app, ["watch", *args, "--db", str(kb)], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    run("alerts", "add", "--email", "elu@rennes.fr", "--frequency", "daily", "--name", "Rennes",
        "--territory", "35238", "--level", "commune")  # fmt: skip
    run("alerts", "add", "--email", "autre@rennes.fr", "--frequency", "weekly",
        "--territory", "35136")  # fmt: skip
    end = period_end("daily", utc_now(), hour=HOUR)
    con = connect(kb)
    try:
        add_item(con, add_source(con), "Rennes : le conseil municipal vote le budget",
                 fetched_at=end - timedelta(hours=1), territories=(RENNES,))  # fmt: skip
    finally:
        con.close()
    out = run("digest", "--send")
    assert "résumés : 1 prêt(s) à envoyer, 1 sans nouvel article, 0 pas encore dus" in out
    assert "aucun nouvel article pour la veille du" in out and "rien envoyé" in out
    assert "envois : 1 envoyé(s), 0 à réessayer, 0 en échec" in out
    [message] = box.messages
    assert message["Subject"].startswith("Veille du ")
    assert message["Subject"].endswith(" — 1 nouvel article")
    body = message.get_body(("plain",))
    assert body is not None
    assert "Rennes : le conseil municipal vote le budget" in body.get_content()
    again = run("digest", "--send")
    assert "résumés : 0 prêt(s) à envoyer, 0 sans nouvel article, 2 pas encore dus" in again
    assert len(box.messages) == 1


def test_the_digest_job_is_due_when_a_digest_or_a_sendable_message_is(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    from territoria.api.routes.watch_alerts import digest_due

    con = mini_db
    now = utc_now()
    without_smtp, with_smtp = digest_due(settings(0)), digest_due(settings(2525))
    assert without_smtp(con, now) == []
    add_watch_subscription(con, owner="a", channel="email", target="a@x.fr", frequency="daily")
    assert without_smtp(con, now) == [{}]  # its first digest
    build_due_digests(con, hour=settings().alerts_digest_hour, now=now)
    assert without_smtp(con, now) == []
    add_watch_subscription(con, owner="b", channel="email", target="b@x.fr")
    item = add_item(con, add_source(con), "Un article", fetched_at=now)
    assert _queue(con, [item]) == 1
    later = utc_now() + timedelta(seconds=1)
    assert without_smtp(con, later) == []  # an e-mail nobody can send yet
    assert with_smtp(con, later) == [{}]
