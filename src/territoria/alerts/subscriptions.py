"""Alert subscriptions: who is told what, on which channel, and how often.

A subscription belongs to one user (its ``owner``) and one subject (``watch`` now, ``crisis``
next); it sends to an e-mail address or a webhook URL, at once (``immediate``) or as a
``daily`` or ``weekly`` digest, with filters that its subject interprets (the watch's topics,
territory, person and scope: :mod:`territoria.alerts.watch`). Webhooks sign their body with
the subscription's secret (HMAC-SHA256). Removing is soft and audited; users see their own
subscriptions, administrators all of them.

This module knows nothing of the watch: subjects validate and match their own filters.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import duckdb
from pydantic import BaseModel, ConfigDict, Field, computed_field

from territoria.errors import InvalidSubscription, UnknownSubscription
from territoria.kb._transaction import transaction
from territoria.kb.audit import record

__all__ = [
    "CHANNELS",
    "FREQUENCIES",
    "LANGUAGES",
    "SUBJECTS",
    "Channel",
    "Frequency",
    "Subscription",
    "add_subscription",
    "get_subscription",
    "list_subscriptions",
    "remove_subscription",
    "utc_now",
]

Channel = Literal["email", "webhook"]
Frequency = Literal["immediate", "daily", "weekly"]
SUBJECTS = ("watch", "crisis")
CHANNELS: tuple[Channel, ...] = ("email", "webhook")
FREQUENCIES: tuple[Frequency, ...] = ("immediate", "daily", "weekly")
LANGUAGES = ("fr", "en")

# one address, no display name: local part and a dotted domain, as mail servers accept them
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_COLUMNS = (
    "id, owner, name, subject, channel, target, frequency, filters, secret, language, "
    "last_digest_at, created_by, created_at, deleted_at, deleted_by"
)


def utc_now() -> datetime:
    """Return the current time in UTC, naive (as the knowledge base stores times)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Subscription(BaseModel):
    """One alert subscription (the webhook secret is never serialised: ``signed`` says
    whether there is one)."""

    model_config = ConfigDict(frozen=True)

    id: int
    owner: str
    name: str
    subject: str
    channel: Channel
    target: str
    frequency: Frequency
    filters: dict[str, Any]
    language: str
    last_digest_at: datetime | None
    created_by: str
    created_at: datetime
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    secret: str | None = Field(default=None, exclude=True, repr=False)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def signed(self) -> bool:
        """Whether webhook bodies are signed (the subscription has a secret)."""
        return self.secret is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, without the secret."""
        return self.model_dump(mode="json")


_FIELDS = tuple(c.strip() for c in _COLUMNS.split(","))


def _from_row(row: tuple[Any, ...]) -> Subscription:
    data = dict(zip(_FIELDS, row, strict=True))
    data["filters"] = json.loads(data["filters"] or "{}")
    return Subscription.model_validate(data)


def check_target(channel: str, target: str) -> str:
    """Return the target cleaned, or raise :class:`InvalidSubscription`: an e-mail address for
    ``email``, an ``http(s)`` URL with a host for ``webhook`` (where it may point, the delivery
    checks each time: :mod:`territoria.alerts._webhook`)."""
    target = target.strip()
    if channel == "email":
        if len(target) > 254 or not _EMAIL.match(target):
            msg = f"{target!r} is not an e-mail address (expected name@example.fr)"
            raise InvalidSubscription(msg)
        return target
    if channel == "webhook":
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(target) > 2000:
            msg = f"{target!r} is not a webhook address: expected an http(s) URL with a host"
            raise InvalidSubscription(msg)
        if parts.username or parts.password:
            msg = f"{target!r}: put no credentials in a webhook URL, the secret signs the body"
            raise InvalidSubscription(msg)
        return target
    msg = f"unknown channel {channel!r}: expected one of {', '.join(CHANNELS)}"
    raise InvalidSubscription(msg)


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        msg = f"unknown {what} {value!r}: expected one of {', '.join(allowed)}"
        raise InvalidSubscription(msg)
    return value


def add_subscription(
    con: duckdb.DuckDBPyConnection,
    *,
    owner: str,
    subject: str,
    channel: str,
    target: str,
    frequency: str = "immediate",
    filters: Mapping[str, Any] | None = None,
    secret: str | None = None,
    language: str = "fr",
    name: str | None = None,
) -> Subscription:
    """Subscribe ``owner`` to alerts; return the subscription (with its secret, once).

    A webhook without a secret gets a random one: the receiver needs it to check the
    ``X-Territoria-Signature`` header. ``filters`` are stored as given: the subject's own
    module validates them first (:func:`territoria.alerts.watch.add_watch_subscription`).

    Raises
    ------
    InvalidSubscription
        A bad channel, target, frequency, subject or language; nothing is written.
    """
    _choice(subject, SUBJECTS, "subject")
    _choice(channel, CHANNELS, "channel")
    _choice(frequency, FREQUENCIES, "frequency")
    _choice(language, LANGUAGES, "language")
    target = check_target(channel, target)
    if channel == "webhook":
        secret = secret or secrets.token_urlsafe(32)
        if len(secret) < 16:
            msg = "a webhook secret needs at least 16 characters (or none: one is generated)"
            raise InvalidSubscription(msg)
    elif secret:
        msg = "only webhooks take a secret (it signs the body they receive)"
        raise InvalidSubscription(msg)
    label = (name or "").strip() or f"{subject} → {target}"
    if len(label) > 200 or not owner.strip():
        msg = "a subscription needs an owner and a name of at most 200 characters"
        raise InvalidSubscription(msg)
    now = utc_now()
    with transaction(con):
        row = con.execute(
            "INSERT INTO alert_subscription (owner, name, subject, channel, target, frequency, "
            "filters, secret, language, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                owner,
                label,
                subject,
                channel,
                target,
                frequency,
                json.dumps(dict(filters or {}), ensure_ascii=False, sort_keys=True),
                secret,
                language,
                owner,
                now,
            ],
        ).fetchone()
        assert row is not None
        sub_id = int(row[0])
        detail = {"name": label, "channel": channel, "target": target, "frequency": frequency}
        record(con, "alert.subscribe", target=str(sub_id), detail=detail)
    return get_subscription(con, sub_id)


def get_subscription(
    con: duckdb.DuckDBPyConnection, subscription_id: int, *, owner: str | None = None
) -> Subscription:
    """Return a subscription (removed ones too); with ``owner``, only one of theirs.

    Raises
    ------
    UnknownSubscription
        No such subscription, or it belongs to someone else (not told apart: 404 either way).
    """
    row = con.execute(
        f"SELECT {_COLUMNS} FROM alert_subscription WHERE id = ?", [subscription_id]
    ).fetchone()
    if row is None or (owner is not None and row[1] != owner):
        msg = (
            f"no alert subscription {subscription_id!r} of yours: "
            "'territoria watch alerts list' shows them"
        )
        raise UnknownSubscription(msg)
    return _from_row(row)


def list_subscriptions(
    con: duckdb.DuckDBPyConnection,
    *,
    owner: str | None = None,
    subject: str | None = None,
    frequency: str | None = None,
    deleted: bool = False,
) -> list[Subscription]:
    """Return subscriptions, oldest first: ``owner``'s (None: everyone's), of a subject and
    a frequency when given; the removed ones instead with ``deleted``."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM alert_subscription "
        "WHERE (? IS NULL OR owner = ?) AND (? IS NULL OR subject = ?) "
        "AND (? IS NULL OR frequency = ?) AND (deleted_at IS NOT NULL) = ? ORDER BY id",
        [owner, owner, subject, subject, frequency, frequency, deleted],
    ).fetchall()
    return [_from_row(r) for r in rows]


def remove_subscription(
    con: duckdb.DuckDBPyConnection, subscription_id: int, *, user: str, admin: bool = False
) -> Subscription:
    """Remove a subscription softly (its owner, or an administrator); its messages not yet
    sent are dropped from the queue (marked failed: 'abonnement supprimé', as the log shows it).

    Raises
    ------
    UnknownSubscription
        No live subscription of ``user``'s (any user's for an administrator) has this id.
    """
    with transaction(con):
        sub = get_subscription(con, subscription_id, owner=None if admin else user)
        if sub.deleted_at is not None:
            msg = f"alert subscription {subscription_id} is already removed"
            raise UnknownSubscription(msg)
        now = utc_now()
        con.execute(
            "UPDATE alert_subscription SET deleted_at = ?, deleted_by = ? WHERE id = ?",
            [now, user, subscription_id],
        )
        con.execute(
            "UPDATE alert_delivery SET status = 'failed', last_error = 'abonnement supprimé', "
            "next_attempt_at = NULL WHERE subscription_id = ? AND status IN ('pending', "
            "'retrying')",
            [subscription_id],
        )
        record(con, "alert.unsubscribe", target=str(subscription_id), detail={"name": sub.name})
    return get_subscription(con, subscription_id)
