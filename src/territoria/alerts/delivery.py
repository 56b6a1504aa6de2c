"""The delivery log: every message to send, its attempts, and what became of it.

Subjects queue messages (:func:`queue_messages`) inside their own transaction; one message
per subscription and ``dedup_key``, so queueing the same alert twice sends it once.
:func:`deliver_pending` sends the messages that are due — e-mails through SMTP, webhooks as a
signed JSON POST — with all network I/O outside DuckDB transactions: it claims a batch in a
short transaction (pushing its ``next_attempt_at`` forward, so that a second deliverer running
at the same time leaves it alone), sends, then records each outcome in its own short
transaction. A temporary failure (SMTP down, 429, 5xx, a timeout) is retried later with
exponential backoff and jitter until ``alerts_max_attempts``; a permanent one (4xx other than
429, an address refused, a target the SSRF rule forbids) fails at once. A process stopped
between sending and recording leaves the claimed messages to be sent again once their claim
lapses: delivery is at least once, never silently dropped.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
from pydantic import BaseModel, ConfigDict

from territoria.alerts.subscriptions import utc_now
from territoria.errors import DeliveryFailed, InvalidSubscription
from territoria.kb._transaction import transaction
from territoria.settings import Settings

__all__ = [
    "STATUSES",
    "Delivery",
    "DeliveryOutcome",
    "DeliveryReport",
    "Message",
    "Writer",
    "backoff",
    "deliver_pending",
    "due_messages",
    "list_deliveries",
    "queue_messages",
]

log = logging.getLogger("territoria.alerts")

STATUSES = ("pending", "retrying", "sent", "failed")
#: How long a claimed batch is left alone by other deliverers (longer than any send lasts).
CLAIM = timedelta(minutes=10)
#: Longest delay between two attempts of one message.
MAX_DELAY = timedelta(hours=6)
#: Messages one call sends at most (the rest wait for the next call).
BATCH = 200

#: Opens a cursor to write with (``Database.writer``); None: write on the given connection.
Writer = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


@dataclass(frozen=True)
class Message:
    """A message to queue for one subscription."""

    subscription_id: int
    kind: str  # 'alert' or 'digest'
    dedup_key: str  # one message per subscription and key: 'item:42', 'digest:daily:…'
    subject: str
    body_text: str
    body_html: str | None = None
    payload: str | None = None  # the webhook's JSON body
    item_ids: tuple[int, ...] = ()


class Delivery(BaseModel):
    """One message of the log and what became of it."""

    model_config = ConfigDict(frozen=True)

    id: int
    subscription_id: int
    owner: str
    channel: str
    target: str
    kind: str
    dedup_key: str
    subject: str
    item_ids: list[int]
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    response_status: int | None
    created_at: datetime
    sent_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (times as ISO text)."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one attempt of :func:`deliver_pending` did to one message."""

    delivery_id: int
    channel: str
    target: str
    status: str  # sent, retrying, failed
    attempts: int
    error: str | None = None
    response_status: int | None = None
    next_attempt_at: datetime | None = None  # retrying: when


@dataclass
class DeliveryReport:
    """What a call of :func:`deliver_pending` sent, will retry, and gave up."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    waiting: int = 0  # due but not attempted (no SMTP server configured)
    outcomes: list[DeliveryOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "waiting": self.waiting,
            "outcomes": [o.__dict__ for o in self.outcomes],
            "notes": list(self.notes),
        }


def queue_messages(con: duckdb.DuckDBPyConnection, messages: Sequence[Message]) -> int:
    """Queue messages (call it inside the caller's transaction); return how many were new.

    A message whose subscription already has one with the same ``dedup_key`` (sent or not)
    is left out, as is a second one with the same key in ``messages``.
    """
    if not messages:
        return 0
    now = utc_now()
    columns = [
        [m.subscription_id for m in messages],
        [m.kind for m in messages],
        [m.dedup_key for m in messages],
        [m.subject for m in messages],
        [m.body_text for m in messages],
        [m.body_html for m in messages],
        [m.payload for m in messages],
        [list(m.item_ids) for m in messages],
    ]
    row = con.execute(
        "WITH q AS (SELECT unnest(range(?)) AS n, unnest(?::BIGINT[]) AS subscription_id, "
        "unnest(?::VARCHAR[]) AS kind, unnest(?::VARCHAR[]) AS dedup_key, "
        "unnest(?::VARCHAR[]) AS subject, unnest(?::VARCHAR[]) AS body_text, "
        "unnest(?::VARCHAR[]) AS body_html, unnest(?::VARCHAR[]) AS payload, "
        "unnest(?::BIGINT[][]) AS item_ids) "
        "INSERT INTO alert_delivery (subscription_id, kind, dedup_key, subject, body_text, "
        "body_html, payload, item_ids, status, attempts, next_attempt_at, created_at) "
        "SELECT subscription_id, kind, dedup_key, subject, body_text, body_html, payload, "
        "item_ids, 'pending', 0, ?, ? FROM q "
        "WHERE NOT EXISTS (SELECT 1 FROM alert_delivery d "
        "  WHERE d.subscription_id = q.subscription_id AND d.dedup_key = q.dedup_key) "
        "QUALIFY row_number() OVER (PARTITION BY subscription_id, dedup_key ORDER BY n) = 1 "
        "ORDER BY n",
        [len(messages), *columns, now, now],
    ).fetchone()
    return int(row[0]) if row else 0


def backoff(attempts: int, *, base_seconds: float, rng: random.Random | None = None) -> timedelta:
    """Return the wait before the next attempt after ``attempts`` failed ones: ``base × 2^(n−1)``
    capped at six hours, times a random factor in [1, 1.5) so that the messages a dead server
    held do not all come back at the same second."""
    factor = 1.0 + 0.5 * (rng or random).random()
    seconds = min(base_seconds * 2 ** max(attempts - 1, 0), MAX_DELAY.total_seconds())
    return timedelta(seconds=seconds * factor)


@contextlib.contextmanager
def _writing(
    con: duckdb.DuckDBPyConnection, writer: Writer | None
) -> Iterator[duckdb.DuckDBPyConnection]:
    if writer is None:
        with transaction(con):
            yield con
        return
    with writer() as cur, transaction(cur):
        yield cur


_CLAIM_SQL = (
    "UPDATE alert_delivery SET next_attempt_at = ? WHERE id IN ("
    "  SELECT d.id FROM alert_delivery d JOIN alert_subscription s ON s.id = d.subscription_id "
    "  WHERE d.status IN ('pending', 'retrying') AND d.next_attempt_at <= ? "
    "  AND s.deleted_at IS NULL AND (? OR s.channel <> 'email') "
    "  ORDER BY d.next_attempt_at, d.id LIMIT ?) "
    "RETURNING id"
)
_CLAIMED_SQL = (
    "SELECT d.id, s.channel, s.target, s.secret, d.subject, d.body_text, d.body_html, "
    "d.payload, d.attempts FROM alert_delivery d JOIN alert_subscription s "
    "ON s.id = d.subscription_id WHERE list_contains(?, d.id) ORDER BY d.next_attempt_at, d.id"
)


def due_messages(
    con: duckdb.DuckDBPyConnection,
    *,
    now: datetime | None = None,
    channels: Sequence[str] = ("email", "webhook"),
) -> int:
    """Return how many messages on ``channels`` are due (pending or retrying, their time come,
    their subscription live)."""
    row = con.execute(
        "SELECT count(*) FROM alert_delivery d JOIN alert_subscription s "
        "ON s.id = d.subscription_id WHERE list_contains(?, s.channel) AND s.deleted_at IS NULL "
        "AND d.status IN ('pending', 'retrying') AND d.next_attempt_at <= ?",
        [list(channels), now or utc_now()],
    ).fetchone()
    return int(row[0]) if row else 0


def deliver_pending(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    now: datetime | None = None,
    writer: Writer | None = None,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """Send the pending and retrying messages that are due; return what happened to each.

    Parameters
    ----------
    con
        The knowledge base (read from; written to unless ``writer`` is given).
    settings
        SMTP (``smtp_*``), webhook timeout, attempts and retry delay, and
        ``watch_allow_private`` (webhooks to private addresses).
    now
        The time the attempts are made at (UTC, naive; default: now): a message is due when
        its ``next_attempt_at`` is not after it.
    writer
        Opens a cursor to record outcomes with (a serving process's ``Database.writer``, so
        that its write lock is held for each short update only, never while sending).
    rng
        Randomness of the backoff jitter (tests pass a seeded one).
    """
    now = now or utc_now()
    report = DeliveryReport()
    smtp_ready = bool(settings.smtp_host)
    with _writing(con, writer) as cur:
        found = cur.execute(_CLAIM_SQL, [now + CLAIM, now, smtp_ready, BATCH]).fetchall()
    claimed = [int(r[0]) for r in found]
    if not smtp_ready:
        report.waiting = due_messages(con, now=now, channels=("email",))
        if report.waiting:
            report.notes.append(
                f"{report.waiting} e-mail(s) en attente : aucun serveur SMTP n'est réglé "
                "(TERRITORIA_SMTP_HOST et les autres réglages TERRITORIA_SMTP_*)"
            )
    if not claimed:
        return report
    rows = con.execute(_CLAIMED_SQL, [claimed]).fetchall()
    for row in rows:
        outcome = _attempt(row, settings=settings, now=now, rng=rng)
        with _writing(con, writer) as cur:
            _record(cur, outcome, now=now)
        report.outcomes.append(outcome)
        if outcome.status == "sent":
            report.sent += 1
        elif outcome.status == "retrying":
            report.retrying += 1
        else:
            report.failed += 1
            log.warning(
                "alert %d to %s failed: %s", outcome.delivery_id, outcome.target, outcome.error
            )
    return report


def _attempt(
    row: tuple[Any, ...], *, settings: Settings, now: datetime, rng: random.Random | None
) -> DeliveryOutcome:
    """Send one claimed message (no transaction is open) and say what became of it."""
    from territoria.alerts import _smtp, _webhook

    delivery_id, channel, target, secret, subject, text, html, payload, attempts = row
    attempts = int(attempts) + 1
    status_code: int | None = None
    try:
        if channel == "email":
            _smtp.send_email(settings, to=target, subject=subject, text=text, html=html)
        elif channel == "webhook":
            status_code = _webhook.post_json(
                settings, url=target, body=(payload or "{}").encode(), secret=secret
            )
        else:
            msg = f"canal inconnu {channel!r}"
            raise InvalidSubscription(msg)
    except DeliveryFailed as exc:
        if exc.permanent or attempts >= settings.alerts_max_attempts:
            error = str(exc) if exc.permanent else f"{exc} (abandon après {attempts} essais)"
            return DeliveryOutcome(
                delivery_id, channel, target, "failed", attempts, error, exc.status
            )
        wait = backoff(attempts, base_seconds=settings.alerts_retry_seconds, rng=rng)
        return DeliveryOutcome(
            delivery_id, channel, target, "retrying", attempts, str(exc), exc.status, now + wait
        )
    except InvalidSubscription as exc:
        return DeliveryOutcome(delivery_id, channel, target, "failed", attempts, error=str(exc))
    return DeliveryOutcome(
        delivery_id, channel, target, "sent", attempts, response_status=status_code
    )


def _record(cur: duckdb.DuckDBPyConnection, outcome: DeliveryOutcome, *, now: datetime) -> None:
    cur.execute(
        "UPDATE alert_delivery SET status = ?, attempts = ?, last_error = ?, "
        "response_status = ?, next_attempt_at = ?, "
        "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
        [
            outcome.status,
            outcome.attempts,
            outcome.error,
            outcome.response_status,
            outcome.next_attempt_at,
            outcome.status,
            now,
            outcome.delivery_id,
        ],
    )


_LOG_COLUMNS = (
    "d.id",
    "d.subscription_id",
    "s.owner",
    "s.channel",
    "s.target",
    "d.kind",
    "d.dedup_key",
    "d.subject",
    "d.item_ids",
    "d.status",
    "d.attempts",
    "d.next_attempt_at",
    "d.last_error",
    "d.response_status",
    "d.created_at",
    "d.sent_at",
)


def list_deliveries(
    con: duckdb.DuckDBPyConnection,
    *,
    owner: str | None = None,
    status: str | None = None,
    subscription_id: int | None = None,
    dedup_prefix: str | None = None,
    limit: int = 100,
) -> list[Delivery]:
    """Return the delivery log, newest first: ``owner``'s messages (None: everyone's), of a
    status, a subscription and a key prefix (a crisis's ``incident:42:``) when given.

    Raises
    ------
    InvalidSubscription
        An unknown status.
    """
    if status is not None and status not in STATUSES:
        msg = f"unknown delivery status {status!r}: expected one of {', '.join(STATUSES)}"
        raise InvalidSubscription(msg)
    columns = ", ".join(_LOG_COLUMNS)
    params = [owner, owner, status, status, subscription_id, subscription_id]
    params += [dedup_prefix, dedup_prefix, max(1, min(limit, 10000))]
    rows = con.execute(
        f"SELECT {columns} FROM alert_delivery d "
        "JOIN alert_subscription s ON s.id = d.subscription_id "
        "WHERE (? IS NULL OR s.owner = ?) AND (? IS NULL OR d.status = ?) "
        "AND (? IS NULL OR d.subscription_id = ?) AND (? IS NULL OR starts_with(d.dedup_key, ?)) "
        "ORDER BY d.id DESC LIMIT ?",
        params,
    ).fetchall()
    names = [c.split(".")[1] for c in _LOG_COLUMNS]
    return [Delivery.model_validate(dict(zip(names, r, strict=True))) for r in rows]
