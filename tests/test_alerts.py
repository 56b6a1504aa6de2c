"""Alerts: subscriptions, immediate watch alerts, and their delivery to a real SMTP server
(aiosmtpd) and a real HTTP receiver, with retries, failures and the delivery log; the CLI and
the REST routes. Watch items are written with SQL (schema 0014), as the pipeline stores them."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import random
import shutil
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from territoria.alerts.delivery import deliver_pending, list_deliveries
from territoria.alerts.subscriptions import (
    add_subscription,
    list_subscriptions,
    remove_subscription,
    utc_now,
)
from territoria.alerts.watch import WatchFilters, add_watch_subscription, queue_immediate
from territoria.cli import app as cli_app
from territoria.errors import InvalidSubscription, UnknownSubscription, UnknownTerritory
from territoria.kb import connect, transaction
from territoria.settings import Settings

APPERE = "p-f32e7ff2540601"  # Nathalie Appéré, maire de Rennes
RENNES = ("commune", "35238", "Rennes")
JANZE = ("commune", "35136", "Janzé")  # Roche aux Fées Communauté, not Rennes Métropole
SECRET = "a-webhook-secret-of-the-receiver"


# ------------------------------------------------------------------ watch items by SQL


def add_source(con: duckdb.DuckDBPyConnection, name: str = "Ouest-France (test)") -> int:
    row = con.execute(
        "INSERT INTO watch_source (kind, url, name, created_by, created_at) "
        "VALUES ('feed', 'https://example.fr/rss', ?, 'test', ?) RETURNING id",
        [name, utc_now()],
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_topic(con: duckdb.DuckDBPyConnection, name: str, query: str) -> int:
    row = con.execute(
        "INSERT INTO watch_topic (name, query, created_by, created_at) VALUES (?, ?, 'test', ?) "
        "RETURNING id",
        [name, query, utc_now()],
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_item(
    con: duckdb.DuckDBPyConnection,
    source_id: int,
    title: str,
    *,
    fetched_at: datetime | None = None,
    territories: tuple[tuple[str, str, str], ...] = (),
    persons: tuple[tuple[str, str], ...] = (),
    topics: tuple[int, ...] = (),
    duplicate_of: int | None = None,
    published: datetime | None = None,
) -> int:
    """Store an item with its links and topics as the ingest pipeline would."""
    fetched = fetched_at or utc_now()
    slug = hashlib.sha1(title.encode()).hexdigest()[:10]
    url = f"https://example.fr/articles/{slug}"
    row = con.execute(
        "INSERT INTO watch_item (source_id, kind, url, canonical_url, title, text, published, "
        "fetched_at, content_hash, duplicate_of, duplicate_score) "
        "VALUES (?, 'article', ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [
            source_id,
            url,
            url,
            title,
            f"{title}. Texte.",
            published,
            fetched,
            slug,
            duplicate_of,
            1.0 if duplicate_of else None,
        ],
    ).fetchone()
    assert row is not None
    item_id = int(row[0])
    for n, (level, code, name) in enumerate(territories):
        con.execute(
            "INSERT INTO watch_link (item_id, type, level, code, name, score, mention, "
            "start_char, end_char) VALUES (?, 'territory', ?, ?, ?, ?, ?, ?, ?)",
            [item_id, level, code, name, 0.9 - n * 0.1, name, n * 10, n * 10 + len(name)],
        )
    for code, name in persons:
        con.execute(
            "INSERT INTO watch_link (item_id, type, code, name, score, mention) "
            "VALUES (?, 'person', ?, ?, 0.8, ?)",
            [item_id, code, name, name],
        )
    for topic_id in topics:
        con.execute(
            "INSERT INTO watch_item_topic (item_id, topic_id, matched_at) VALUES (?, ?, ?)",
            [item_id, topic_id, fetched],
        )
    return item_id


# ------------------------------------------------------------------ real servers


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


class _Controller(Controller):
    """aiosmtpd's controller on a port the system chooses (port 0)."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp() -> Iterator[tuple[_Mailbox, int]]:
    """A real SMTP server on 127.0.0.1 collecting the messages it receives."""
    box = _Mailbox()
    controller = _Controller(box, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield box, int(controller.port)
    finally:
        controller.stop()


class Receiver:
    """A real HTTP server on 127.0.0.1: answers each POST with the next scripted status."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.received.append((self.path, dict(self.headers), body))
                code = receiver.script.pop(0) if receiver.script else 200
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if code < 400 else b"refused by the test receiver")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    try:
        yield made
    finally:
        made.close()


def settings(smtp_port: int = 0, **extra: Any) -> Settings:
    """Settings for the real local servers, passed explicitly (nothing global changes)."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1" if smtp_port else "",
        "smtp_port": smtp_port or 25,
        "smtp_starttls": False,
        "smtp_from": "veille@territoria.test",
        "smtp_timeout": 5.0,
        "watch_allow_private": True,
        "alerts_webhook_timeout": 5.0,
        "alerts_retry_seconds": 60.0,
        "alerts_max_attempts": 3,
    }
    values.update(extra)
    return Settings(**values)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ subscriptions


def test_subscriptions_are_checked_owned_and_removed_softly(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    con = mini_db
    topic = add_topic(con, "Ligne Rennes Saint-Malo", '"Rennes Saint-Malo"')
    mail = add_watch_subscription(
        con,
        owner="alice",
        channel="email",
        target=" alice@rennes.fr ",
        frequency="daily",
        filters=WatchFilters((topic,), ("departement", "35"), APPERE, None),
    )
    assert mail.target == "alice@rennes.fr"
    assert mail.filters == {
        "topic_ids": [topic],
        "territory": {"level": "departement", "code": "35"},
        "person_id": APPERE,
    }
    hook = add_watch_subscription(
        con, owner="bob", channel="webhook", target="https://hooks.example.fr/t"
    )
    assert hook.secret is not None and len(hook.secret) >= 32  # generated, shown once
    assert hook.to_dict()["signed"] is True and "secret" not in hook.to_dict()

    for bad in (
        {"channel": "email", "target": "alice at rennes"},
        {"channel": "webhook", "target": "ftp://hooks.example.fr/"},
        {"channel": "webhook", "target": "https://user:pw@hooks.example.fr/"},
        {"channel": "sms", "target": "0600000000"},
        {"channel": "email", "target": "a@b.fr", "frequency": "hourly"},
        {"channel": "email", "target": "a@b.fr", "language": "de"},
    ):
        with pytest.raises(InvalidSubscription):
            add_subscription(con, owner="alice", subject="watch", **bad)
    with pytest.raises(InvalidSubscription, match=r"unknown watch topic\(s\) \[999\]"):
        add_watch_subscription(
            con, owner="alice", channel="email", target="a@b.fr", filters=WatchFilters((999,))
        )
    with pytest.raises(UnknownTerritory):
        add_watch_subscription(
            con,
            owner="alice",
            channel="email",
            target="a@b.fr",
            filters=WatchFilters(territory=("commune", "99998")),
        )
    with pytest.raises(InvalidSubscription, match="unknown person"):
        add_watch_subscription(
            con, owner="alice", channel="email", target="a@b.fr",
            filters=WatchFilters(person_id="p-0000"),
        )  # fmt: skip

    assert [s.id for s in list_subscriptions(con, owner="alice")] == [mail.id]
    assert [s.id for s in list_subscriptions(con)] == [mail.id, hook.id]
    with pytest.raises(UnknownSubscription):  # bob cannot touch alice's
        remove_subscription(con, mail.id, user="bob")
    removed = remove_subscription(con, mail.id, user="alice")
    assert removed.deleted_at is not None
    assert list_subscriptions(con, owner="alice") == []
    assert [s.id for s in list_subscriptions(con, owner="alice", deleted=True)] == [mail.id]
    with pytest.raises(UnknownSubscription, match="already removed"):
        remove_subscription(con, mail.id, user="alice")
    events = con.execute(
        "SELECT event, target FROM audit_log WHERE event LIKE 'alert.%' ORDER BY id"
    ).fetchall()
    assert events == [
        ("alert.subscribe", str(mail.id)),
        ("alert.subscribe", str(hook.id)),
        ("alert.unsubscribe", str(mail.id)),
    ]


# ------------------------------------------------------------------ immediate alerts


def _queue(con: duckdb.DuckDBPyConnection, ids: list[int]) -> int:
    with transaction(con):  # as the ingest pipeline calls it: inside its transaction
        return queue_immediate(con, ids)


def test_immediate_alerts_follow_the_filters_once_per_item_and_never_for_a_duplicate(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    con = mini_db
    source = add_source(con)
    train = add_topic(con, "Ligne Rennes Saint-Malo", "train")
    everything = add_watch_subscription(con, owner="a", channel="email", target="a@x.fr")
    in_35 = add_watch_subscription(
        con, owner="b", channel="email", target="b@x.fr",
        filters=WatchFilters(territory=("departement", "35")),
    )  # fmt: skip
    metropole = add_watch_subscription(
        con, owner="c", channel="email", target="c@x.fr",
        filters=WatchFilters(territory=("epci", "243500139")),
    )  # fmt: skip
    mayor_train = add_watch_subscription(
        con, owner="d", channel="email", target="d@x.fr",
        filters=WatchFilters((train,), person_id=APPERE),
    )  # fmt: skip
    add_watch_subscription(
        con, owner="e", channel="email", target="e@x.fr", frequency="daily"
    )  # digests are not immediate

    rennes = add_item(con, source, "Nathalie Appéré défend la ligne Rennes Saint-Malo",
                      territories=(RENNES,), persons=((APPERE, "Nathalie Appéré"),),
                      topics=(train,))  # fmt: skip
    copy = add_item(con, source, "La ligne Rennes Saint-Malo (reprise)",
                    territories=(RENNES,), persons=((APPERE, "Nathalie Appéré"),),
                    topics=(train,), duplicate_of=rennes)  # fmt: skip
    janze = add_item(con, source, "Janzé inaugure sa médiathèque", territories=(JANZE,))
    nowhere = add_item(con, source, "Le marché de l'énergie en Europe")

    assert _queue(con, [rennes, copy, janze, nowhere]) == 3 + 2 + 1 + 1
    by_sub = con.execute(
        "SELECT subscription_id, list(item_ids[1] ORDER BY id) FROM alert_delivery "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert by_sub == [
        (everything.id, [rennes, janze, nowhere]),
        (in_35.id, [rennes, janze]),  # communes of the département, by membership
        (metropole.id, [rennes]),  # Janzé is in another EPCI
        (mayor_train.id, [rennes]),
    ]
    # the ingest of the same items again, or of the duplicate alone: nothing new
    assert _queue(con, [rennes, copy, janze, nowhere]) == 0
    later_copy = add_item(con, source, "Rennes Saint-Malo : la ligne (troisième reprise)",
                          territories=(RENNES,), duplicate_of=rennes)  # fmt: skip
    assert _queue(con, [later_copy]) == 0
    alert = con.execute(
        "SELECT subject, body_text, body_html, status FROM alert_delivery "
        "WHERE subscription_id = ? AND item_ids = [?]",
        [metropole.id, rennes],
    ).fetchone()
    assert alert is not None
    subject, text, html, status = alert
    assert subject == "Alerte veille — Nathalie Appéré défend la ligne Rennes Saint-Malo"
    assert "Territoires : Rennes (commune)" in text
    assert "Personnes : Nathalie Appéré" in text
    assert "Thèmes : Ligne Rennes Saint-Malo" in text
    assert "Ouest-France (test)" in text
    assert 'href="https://example.fr/articles/' in html and status == "pending"


def test_scope_filter_follows_the_home_territory(mini_db: duckdb.DuckDBPyConnection) -> None:
    from territoria.watch.items import set_home

    con = mini_db
    source = add_source(con)
    inside = add_watch_subscription(
        con, owner="a", channel="email", target="a@x.fr",
        filters=WatchFilters(scope="endogenous"),
    )  # fmt: skip
    outside = add_watch_subscription(
        con, owner="b", channel="email", target="b@x.fr",
        filters=WatchFilters(scope="exogenous"),
    )  # fmt: skip
    first = add_item(con, source, "Rennes : le budget 2027", territories=(RENNES,))
    assert _queue(con, [first]) == 0  # no home territory: no item has a scope
    set_home(con, "epci", "243500139")
    second = add_item(con, source, "Rennes : le budget voté", territories=(RENNES,))
    third = add_item(con, source, "Janzé : le budget voté", territories=(JANZE,))
    assert _queue(con, [second, third]) == 2
    rows = con.execute(
        "SELECT subscription_id, item_ids FROM alert_delivery ORDER BY subscription_id"
    ).fetchall()
    assert rows == [(inside.id, [second]), (outside.id, [third])]


# ------------------------------------------------------------------ delivery


def _one_alert(con: duckdb.DuckDBPyConnection, channel: str, target: str, **kw: Any) -> int:
    sub = add_watch_subscription(con, owner="alice", channel=channel, target=target, **kw)
    item = add_item(con, add_source(con), "Rennes Métropole vote le plan vélo",
                    territories=(RENNES,), persons=((APPERE, "Nathalie Appéré"),))  # fmt: skip
    assert _queue(con, [item]) == 1
    return sub.id


def test_an_alert_e_mail_reaches_the_smtp_server_as_text_and_html(
    mini_db: duckdb.DuckDBPyConnection, smtp: tuple[_Mailbox, int]
) -> None:
    box, port = smtp
    _one_alert(mini_db, "email", "alice@rennes.fr")
    report = deliver_pending(mini_db, settings=settings(port))
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    assert box.recipients == [["alice@rennes.fr"]]
    message = box.messages[0]
    assert message["Subject"] == "Alerte veille — Rennes Métropole vote le plan vélo"
    assert message["From"] == "veille@territoria.test"
    assert message["Message-ID"].endswith("@territoria.test>") and message["Date"]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "Personnes : Nathalie Appéré" in text.get_content()
    assert '<a href="https://example.fr/articles/' in html.get_content()
    [logged] = list_deliveries(mini_db)
    assert (logged.status, logged.attempts, logged.last_error) == ("sent", 1, None)
    assert logged.sent_at is not None
    # sent once: a second run has nothing to do
    assert deliver_pending(mini_db, settings=settings(port)).outcomes == []
    assert len(box.messages) == 1


def test_a_webhook_gets_the_json_with_a_valid_signature(
    mini_db: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    sub_id = _one_alert(mini_db, "webhook", receiver.url, secret=SECRET)
    report = deliver_pending(mini_db, settings=settings())
    assert report.sent == 1 and report.outcomes[0].response_status == 200
    [(path, headers, body)] = receiver.received
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert path == "/hook" and headers["X-Territoria-Signature"] == expected
    assert headers["Content-Type"].startswith("application/json")
    data = json.loads(body)
    assert data["event"] == "watch.item" and data["subscription"]["id"] == sub_id
    assert data["item"]["title"] == "Rennes Métropole vote le plan vélo"
    assert {"type": "territory", "level": "commune", "code": "35238", "name": "Rennes",
            "score": 0.9} in data["item"]["links"]  # fmt: skip
    assert {"type": "person", "id": APPERE, "name": "Nathalie Appéré", "score": 0.8} in data[
        "item"
    ]["links"]


def test_a_webhook_answering_500_is_retried_later_then_sent(
    mini_db: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    _one_alert(mini_db, "webhook", receiver.url)
    receiver.script = [500]
    start = utc_now() + timedelta(seconds=1)
    first = deliver_pending(mini_db, settings=settings(), now=start, rng=random.Random(1))
    assert (first.sent, first.retrying) == (0, 1)
    [logged] = list_deliveries(mini_db)
    assert (logged.status, logged.attempts, logged.response_status) == ("retrying", 1, 500)
    assert logged.last_error is not None and "HTTP 500" in logged.last_error
    assert logged.next_attempt_at is not None
    wait = logged.next_attempt_at - start
    assert timedelta(seconds=60) <= wait < timedelta(seconds=90)  # base delay with jitter
    # not due yet: nothing is sent
    early = deliver_pending(mini_db, settings=settings(), now=start + timedelta(seconds=30))
    assert early.outcomes == [] and len(receiver.received) == 1
    second = deliver_pending(mini_db, settings=settings(), now=logged.next_attempt_at)
    assert second.sent == 1 and len(receiver.received) == 2
    [logged] = list_deliveries(mini_db)
    assert (logged.status, logged.attempts, logged.response_status) == ("sent", 2, 200)


def test_a_webhook_answering_400_fails_at_once_and_429_is_retried(
    mini_db: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    _one_alert(mini_db, "webhook", receiver.url)
    receiver.script = [400]
    report = deliver_pending(mini_db, settings=settings())
    assert (report.sent, report.retrying, report.failed) == (0, 0, 1)
    [logged] = list_deliveries(mini_db, status="failed")
    assert logged.attempts == 1 and logged.response_status == 400
    assert logged.last_error is not None and "refused by the test receiver" in logged.last_error
    assert logged.next_attempt_at is None
    later = deliver_pending(mini_db, settings=settings(), now=utc_now() + timedelta(days=1))
    assert later.outcomes == [] and len(receiver.received) == 1

    item = add_item(mini_db, add_source(mini_db), "Un autre article")
    assert _queue(mini_db, [item]) == 1
    receiver.script = [429]
    assert deliver_pending(mini_db, settings=settings()).retrying == 1
    newest = list_deliveries(mini_db)[0]
    assert (newest.status, newest.response_status, newest.item_ids) == ("retrying", 429, [item])


def test_smtp_down_means_retrying_then_failed_after_the_last_attempt(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    _one_alert(mini_db, "email", "alice@rennes.fr")
    down = settings(closed_port(), alerts_max_attempts=3)
    now = utc_now() + timedelta(seconds=1)
    statuses = []
    for _ in range(3):
        report = deliver_pending(mini_db, settings=down, now=now)
        [outcome] = report.outcomes
        statuses.append((outcome.status, outcome.attempts))
        now = (outcome.next_attempt_at or now) + timedelta(seconds=1)
    assert statuses == [("retrying", 1), ("retrying", 2), ("failed", 3)]
    [logged] = list_deliveries(mini_db)
    assert logged.last_error is not None and "est injoignable" in logged.last_error
    assert "abandon après 3 essais" in logged.last_error


def test_without_an_smtp_server_e_mails_wait(mini_db: duckdb.DuckDBPyConnection) -> None:
    _one_alert(mini_db, "email", "alice@rennes.fr")
    report = deliver_pending(mini_db, settings=settings(0))
    assert report.outcomes == [] and report.waiting == 1
    assert "TERRITORIA_SMTP_HOST" in report.notes[0]
    assert list_deliveries(mini_db)[0].status == "pending"


def test_a_webhook_to_a_private_address_is_refused_without_the_setting(
    mini_db: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    _one_alert(mini_db, "webhook", receiver.url)
    report = deliver_pending(mini_db, settings=settings(watch_allow_private=False))
    assert report.failed == 1 and receiver.received == []
    error = list_deliveries(mini_db)[0].last_error
    assert error is not None and "adresse de bouclage 127.0.0.1 : refusée" in error


def test_removing_a_subscription_drops_its_unsent_messages(
    mini_db: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    sub_id = _one_alert(mini_db, "webhook", receiver.url)
    remove_subscription(mini_db, sub_id, user="alice")
    assert deliver_pending(mini_db, settings=settings()).outcomes == []
    [logged] = list_deliveries(mini_db)
    assert (logged.status, logged.last_error) == ("failed", "abonnement supprimé")
    assert receiver.received == []


# ------------------------------------------------------------------ CLI


def test_the_cli_adds_lists_sends_shows_the_log_and_removes(
    mini_db_path: Path, tmp_path: Path, smtp: tuple[_Mailbox, int]
) -> None:
    box, port = smtp
    kb = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, kb)
    runner = CliRunner()
    env = {"COLUMNS": "250", "TERRITORIA_SMTP_HOST": "127.0.0.1",
           "TERRITORIA_SMTP_PORT": str(port), "TERRITORIA_SMTP_STARTTLS": "false"}  # fmt: skip

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli_app, ["watch", *args, "--db", str(kb)], env=env)
        assert result.exit_code == code, result.output
        return result.output

    out = run("alerts", "add", "--email", "elu@rennes.fr", "--territory", "35",
              "--level", "departement", "--name", "Veille Ille-et-Vilaine")  # fmt: skip
    assert "abonnement 1 créé : « Veille Ille-et-Vilaine », e-mail vers elu@rennes.fr" in out
    assert "fréquence immédiate" in out
    hook = json.loads(run("alerts", "add", "--webhook", "https://hooks.example.fr/x",
                          "--frequency", "daily", "--json"))  # fmt: skip
    assert hook["frequency"] == "daily" and len(hook["secret"]) >= 32
    bad = run("alerts", "add", "--email", "pas-une-adresse", code=2)
    assert "is not an e-mail address" in bad
    both = run("alerts", "add", "--email", "a@b.fr", "--webhook", "https://x.fr", code=2)
    assert "give one of --email ADDRESS or --webhook URL" in both
    listed = run("alerts", "list")
    assert "Veille Ille-et-Vilaine" in listed and "dans Ille-et-Vilaine (département, 35)" in listed
    assert "quotidienne" in listed

    con = connect(kb)
    try:
        item = add_item(con, add_source(con), "Le département vote son budget",
                        territories=(RENNES,))  # fmt: skip
        assert _queue(con, [item]) == 1
    finally:
        con.close()
    sent = run("alerts", "send")
    assert "envois : 1 envoyé(s), 0 à réessayer, 0 en échec" in sent
    assert box.messages[0]["Subject"] == "Alerte veille — Le département vote son budget"
    log = json.loads(run("alerts", "deliveries", "--json"))
    assert [(d["subscription_id"], d["status"], d["attempts"]) for d in log] == [(1, "sent", 1)]
    table = run("alerts", "deliveries", "--status", "sent")
    assert "Journal des envois" in table and "envoyé" in table
    assert "abonnement 1 supprimé" in run("alerts", "remove", "1")
    assert "alert subscription 1 is already removed" in run("alerts", "remove", "1", code=2)
    assert [s["id"] for s in json.loads(run("alerts", "list", "--json"))] == [hook["id"]]


# ------------------------------------------------------------------ REST API


@pytest.fixture(scope="module")
def web(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from test_api_helpers import login, make_app, make_kb

    application = make_app(make_kb(mini_db_path, tmp_path_factory.mktemp("alerts_api")))
    clients = {}
    for name in ("analyst", "viewer", "admin"):
        client = TestClient(application)
        client.__enter__()
        clients[name] = (client, {"X-CSRF-Token": login(client, name)})
    yield clients
    for client, _ in clients.values():
        client.__exit__(None, None, None)
    application.state.territoria.db.close()


def test_the_api_subscribes_lists_its_own_and_removes(web: dict[str, Any]) -> None:
    analyst, a_headers = web["analyst"]
    viewer, v_headers = web["viewer"]
    admin, _ = web["admin"]
    body = {"channel": "email", "target": "analyste@rennes.fr", "frequency": "weekly",
            "territory": {"level": "epci", "code": "243500139"}, "person_id": APPERE,
            "name": "Métropole"}  # fmt: skip
    created = analyst.post("/api/v1/watch/alerts", json=body, headers=a_headers)
    assert created.status_code == 201, created.text
    mine = created.json()
    assert mine["owner"] == "analyst" and mine["frequency"] == "weekly"
    assert mine["filters"] == {
        "territory": {"level": "epci", "code": "243500139"},
        "person_id": APPERE,
    }
    assert mine["secret"] is None and mine["signed"] is False
    hook = viewer.post(
        "/api/v1/watch/alerts",
        json={"channel": "webhook", "target": "https://hooks.example.fr/v"},
        headers=v_headers,
    )
    assert hook.status_code == 201 and len(hook.json()["secret"]) >= 32

    # each user sees their own; the secret is never listed
    assert [s["id"] for s in analyst.get("/api/v1/watch/alerts").json()] == [mine["id"]]
    listed = viewer.get("/api/v1/watch/alerts").json()
    assert [s["id"] for s in listed] == [hook.json()["id"]] and "secret" not in listed[0]
    assert viewer.get("/api/v1/watch/alerts?all=true").json() == listed  # not an admin
    assert len(admin.get("/api/v1/watch/alerts?all=true").json()) == 2

    refused = viewer.delete(f"/api/v1/watch/alerts/{mine['id']}", headers=v_headers)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "unknown_subscription"
    bad = analyst.post(
        "/api/v1/watch/alerts",
        json={"channel": "email", "target": "pas une adresse"},
        headers=a_headers,
    )
    assert bad.status_code == 422 and "is not an e-mail address" in bad.json()["error"]["message"]
    unknown = analyst.post(
        "/api/v1/watch/alerts",
        json={"channel": "email", "target": "a@b.fr", "territory": {"level": "commune",
              "code": "99998"}},
        headers=a_headers,
    )  # fmt: skip
    assert unknown.status_code == 404
    no_csrf = analyst.post("/api/v1/watch/alerts", json=body)
    assert no_csrf.status_code == 403

    gone = analyst.delete(f"/api/v1/watch/alerts/{mine['id']}", headers=a_headers)
    assert gone.status_code == 204
    assert analyst.get("/api/v1/watch/alerts").json() == []
    assert analyst.get("/api/v1/watch/deliveries").json() == []
    assert analyst.get("/api/v1/watch/deliveries?status=lost").status_code == 422


# ------------------------------------------------------------------ with the ingest pipeline


def test_an_item_ingested_by_the_watch_pipeline_is_alerted_once_by_e_mail(
    mini_db: duckdb.DuckDBPyConnection, smtp: tuple[_Mailbox, int]
) -> None:
    from territoria.watch._model import Document
    from territoria.watch.pipeline import ingest

    box, port = smtp
    con = mini_db
    source = add_source(con, "Dossier de presse (test)")
    sub = add_watch_subscription(
        con, owner="alice", channel="email", target="alice@rennes.fr",
        filters=WatchFilters(territory=("departement", "35")),
    )  # fmt: skip
    text = (
        "Le budget du tramway adopté. Le conseil municipal de Rennes a voté mardi le budget "
        "de la ligne de tramway. La maire Nathalie Appéré a salué un vote historique pour "
        "l'Ille-et-Vilaine."
    )
    doc = Document(source_id=source, kind="document", url="https://example.fr/tram.txt",
                   fetched_at=utc_now(), body=text.encode(), content_type="text/plain")  # fmt: skip
    report = ingest(con, [doc])
    assert report.new == 1 and report.alerts == 1
    again = ingest(con, [doc])  # the same document again: no new item, no new alert
    assert again.new == 0 and again.alerts == 0
    sent = deliver_pending(con, settings=settings(port))
    assert sent.sent == 1 and len(box.messages) == 1
    body = box.messages[0].get_body(("plain",))
    assert body is not None
    content = body.get_content()
    assert "Territoires : Ille-et-Vilaine (département)" in content
    assert "Personnes : Nathalie Appéré" in content
    assert [d.subscription_id for d in list_deliveries(con)] == [sub.id]


def test_queueing_keeps_one_message_per_key_and_escapes_titles_in_html(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    from territoria.alerts.delivery import Message, queue_messages

    con = mini_db
    sub = add_watch_subscription(con, owner="a", channel="email", target="a@x.fr")
    same = [Message(sub.id, "alert", "test:1", f"Objet {n}", "texte") for n in range(3)]
    with transaction(con):
        assert queue_messages(con, same) == 1
        assert queue_messages(con, same) == 0
    assert [d.subject for d in list_deliveries(con)] == ["Objet 0"]
    crafted = add_item(con, add_source(con), "<script>alert(1)</script>\nBcc: x@evil.fr")
    assert _queue(con, [crafted]) == 1
    row = con.execute(
        "SELECT subject, body_html FROM alert_delivery WHERE item_ids = [?]", [crafted]
    ).fetchone()
    assert row is not None
    assert row[0] == "Alerte veille — <script>alert(1)</script> Bcc: x@evil.fr"  # one line
    assert "<script>" not in row[1] and "&lt;script&gt;alert(1)&lt;/script&gt;" in row[1]


def test_backoff_doubles_from_the_base_delay_with_jitter_up_to_six_hours() -> None:
    from territoria.alerts.delivery import backoff

    rng = random.Random(3)
    waits = [backoff(n, base_seconds=60, rng=rng).total_seconds() for n in range(1, 12)]
    for n, wait in enumerate(waits, start=1):
        floor = min(60 * 2 ** (n - 1), 6 * 3600)
        assert floor <= wait < floor * 1.5, (n, wait)
    assert (
        len({round(w / min(60 * 2 ** (n - 1), 21600), 3) for n, w in enumerate(waits, start=1)}) > 1
    )  # fmt: skip  (the jitter varies)


def test_no_smtp_password_goes_out_in_clear(
    mini_db: duckdb.DuckDBPyConnection, smtp: tuple[_Mailbox, int]
) -> None:
    box, port = smtp  # the test server offers neither STARTTLS nor SSL
    _one_alert(mini_db, "email", "alice@rennes.fr")
    login = settings(port, smtp_user="veille", smtp_password="secret-password")
    report = deliver_pending(mini_db, settings=login)
    assert report.retrying == 1 and box.messages == []
    error = list_deliveries(mini_db)[0].last_error
    assert error is not None and "n'offre ni STARTTLS ni SSL" in error
