"""Watch digests: the new items of a day or a week for each daily or weekly subscription.

Periods end at ``alerts_digest_hour`` (Europe/Paris) each day, on Mondays for weekly digests.
A subscription's digest is due when the last period end is after its ``last_digest_at``; the
digest then covers ``(last_digest_at, period end]`` (the period before it for a first digest),
so a server stopped for three days sends one digest of three days when it starts again, and
the next one starts where it ended. Items are selected by the time Territoria fetched them,
looking back ``LAG`` further to catch an item fetched just before a period end but stored just
after it; an item already sent in one of the subscription's digests is left out, so none is
sent twice. The digest (French by default: « Veille du 2 décembre 2026 — 12 nouveaux
articles ») groups items by topic, then by territory, each with its title, source, date,
linked territories and people, and its address; e-mails carry it as text and HTML, webhooks
as JSON. An empty period sends nothing: the period is recorded and the report says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import jinja2

from territoria._formats import long_date
from territoria.alerts.delivery import Message, queue_messages
from territoria.alerts.subscriptions import Subscription, list_subscriptions, utc_now
from territoria.alerts.watch import (
    ItemCard,
    Selection,
    WatchFilters,
    card_lines,
    item_cards,
    matching_items,
    words_of,
)
from territoria.errors import InvalidSubscription
from territoria.kb._transaction import transaction

__all__ = [
    "LAG",
    "DigestReport",
    "DigestSummary",
    "build_due_digests",
    "digests_due",
    "period_end",
    "render_alert_html",
]

log = logging.getLogger("territoria.alerts")

PARIS = ZoneInfo("Europe/Paris")
#: How far before a period's start items are looked for again (fetched, not yet stored).
LAG = timedelta(hours=1)
_LENGTH = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


def period_end(frequency: str, now: datetime, *, hour: int) -> datetime:
    """Return the end of the last complete digest period at ``now`` (UTC, naive): today or
    yesterday at ``hour`` in Paris (daily), the last Monday at ``hour`` (weekly)."""
    if frequency not in _LENGTH:
        msg = f"no digest for the frequency {frequency!r}: expected daily or weekly"
        raise InvalidSubscription(msg)
    local = now.replace(tzinfo=UTC).astimezone(PARIS)
    day = local.date() if local.hour >= hour else local.date() - timedelta(days=1)
    if frequency == "weekly":
        day -= timedelta(days=day.weekday())
    end = datetime.combine(day, time(hour), tzinfo=PARIS)
    return end.astimezone(UTC).replace(tzinfo=None)


def _local_day(value: datetime) -> date:
    return value.replace(tzinfo=UTC).astimezone(PARIS).date()


@dataclass(frozen=True)
class DigestSummary:
    """One subscription's digest: its period, how many items, whether a message was queued."""

    subscription_id: int
    name: str
    frequency: str
    period_start: datetime
    period_end: datetime
    items: int
    subject: str | None  # None: empty period, nothing sent
    queued: bool


@dataclass
class DigestReport:
    """What :func:`build_due_digests` did."""

    digests: list[DigestSummary] = field(default_factory=list)
    not_due: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def queued(self) -> int:
        """Digests queued for delivery."""
        return sum(1 for d in self.digests if d.queued)

    @property
    def empty(self) -> int:
        """Due digests whose period held no new item (nothing sent)."""
        return sum(1 for d in self.digests if d.items == 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "queued": self.queued,
            "empty": self.empty,
            "not_due": self.not_due,
            "digests": [
                {
                    **d.__dict__,
                    "period_start": d.period_start.isoformat(timespec="seconds"),
                    "period_end": d.period_end.isoformat(timespec="seconds"),
                }
                for d in self.digests
            ],
            "notes": list(self.notes),
        }


def digests_due(con: duckdb.DuckDBPyConnection, *, hour: int, now: datetime | None = None) -> int:
    """Return how many daily and weekly watch subscriptions have a digest due."""
    now = now or utc_now()
    row = con.execute(
        "SELECT count(*) FROM alert_subscription WHERE deleted_at IS NULL AND subject = 'watch' "
        "AND ((frequency = 'daily' AND coalesce(last_digest_at < ?, true)) "
        "OR (frequency = 'weekly' AND coalesce(last_digest_at < ?, true)))",
        [period_end("daily", now, hour=hour), period_end("weekly", now, hour=hour)],
    ).fetchone()
    return int(row[0]) if row else 0


def build_due_digests(
    con: duckdb.DuckDBPyConnection,
    *,
    hour: int,
    now: datetime | None = None,
    frequency: str | None = None,
) -> DigestReport:
    """Build the digests that are due and queue them for delivery (sending is
    :func:`territoria.alerts.delivery.deliver_pending`'s).

    Parameters
    ----------
    hour
        The hour (Europe/Paris) periods end at (setting ``alerts_digest_hour``).
    now
        The time (UTC, naive; default now).
    frequency
        Only the ``daily`` or the ``weekly`` subscriptions (default both).
    """
    now = now or utc_now()
    report = DigestReport()
    for freq in [frequency] if frequency else list(_LENGTH):
        end = period_end(freq, now, hour=hour)
        report.digests += _build(con, freq, end, report)
    for summary in report.digests:
        day = long_date(_local_day(summary.period_end), "fr")
        if summary.items == 0:
            note = f"« {summary.name} » : aucun nouvel article pour la veille du {day}, rien envoyé"
            log.info(
                "digest of subscription %d: no new item, nothing sent", summary.subscription_id
            )
        else:
            note = f"« {summary.name} » : {summary.subject}"
        report.notes.append(note)
    return report


def _build(
    con: duckdb.DuckDBPyConnection, frequency: str, end: datetime, report: DigestReport
) -> list[DigestSummary]:
    """Build the due digests of one frequency, queue them and record their periods, in one
    transaction (the subscriptions are read inside it: two builders never send one twice)."""
    summaries = []
    with transaction(con):
        due = []
        for sub in list_subscriptions(con, subject="watch", frequency=frequency):
            if sub.last_digest_at is not None and sub.last_digest_at >= end:
                report.not_due += 1
            else:
                due.append(sub)
        starts = {s.id: s.last_digest_at or end - _LENGTH[frequency] for s in due}
        selected = matching_items(
            con,
            [
                Selection(s.id, WatchFilters.from_dict(s.filters), starts[s.id] - LAG, end, True)
                for s in due
            ],
        )
        cards = item_cards(con, sorted({i for ids in selected.values() for i in ids}))
        messages = {}
        for sub in due:
            found = [cards[i] for i in selected[sub.id] if i in cards]
            if found:
                messages[sub.id] = digest_message(sub, found, starts[sub.id], end)
        queue_messages(con, list(messages.values()))
        if due:
            con.execute(
                "UPDATE alert_subscription SET last_digest_at = ? WHERE list_contains(?, id)",
                [end, [s.id for s in due]],
            )
        for sub in due:
            message = messages.get(sub.id)
            summaries.append(
                DigestSummary(
                    sub.id,
                    sub.name,
                    frequency,
                    starts[sub.id],
                    end,
                    len(message.item_ids) if message else 0,
                    message.subject if message else None,
                    message is not None,
                )
            )
    return summaries


@dataclass(frozen=True)
class _Group:
    title: str
    territories: list[tuple[str, list[ItemCard]]]


def _groups(sub: Subscription, cards: Sequence[ItemCard]) -> list[_Group]:
    """Group the items by topic (the subscription's topics when it names some), then by the
    territory each item is best linked to; newest first inside a group."""
    words = words_of(sub.language)
    wanted = set(WatchFilters.from_dict(sub.filters).topic_ids)
    by_topic: dict[str, list[ItemCard]] = {}
    for card in cards:
        names = [t["name"] for t in card.topics if not wanted or t["id"] in wanted]
        for name in names or [words["no_topic"]]:
            by_topic.setdefault(name, []).append(card)
    groups = []
    for name in sorted(by_topic, key=lambda n: (n == words["no_topic"], n.casefold())):
        by_place: dict[str, list[ItemCard]] = {}
        for card in by_topic[name]:
            place = card.territories[0]["name"] if card.territories else words["no_territory"]
            by_place.setdefault(place, []).append(card)
        places = sorted(
            by_place.items(),
            key=lambda kv: (kv[0] == words["no_territory"], -len(kv[1]), kv[0].casefold()),
        )
        groups.append(
            _Group(
                name,
                [
                    (p, sorted(cs, key=lambda c: c.published or c.fetched_at, reverse=True))
                    for p, cs in places
                ],
            )
        )
    return groups


def digest_message(
    sub: Subscription, cards: Sequence[ItemCard], start: datetime, end: datetime
) -> Message:
    """The digest of ``cards`` for ``sub`` over ``(start, end]``: subject, text, HTML (e-mail)
    or JSON (webhook)."""
    lang = sub.language
    words = words_of(lang)
    first_day = _local_day(start) if sub.frequency == "weekly" else _local_day(end)
    count = words["one"] if len(cards) == 1 else words["many"].format(n=len(cards))
    title = words[sub.frequency].format(date=long_date(first_day, lang))
    subject = f"{title} — {count}"
    groups = _groups(sub, cards)
    footer = words["footer"].format(
        name=sub.name,
        start=long_date(_local_day(start), lang),
        end=long_date(_local_day(end), lang),
    )
    context = {
        "subject": subject,
        "groups": groups,
        "words": words,
        "lang": lang,
        "footer": footer,
        "lines": lambda c: card_lines(c, lang),
    }
    text = _environment().get_template("digest.txt").render(**context)
    html = None
    payload = None
    if sub.channel == "email":
        html = _environment().get_template("digest.html").render(**context)
    else:
        payload = json.dumps(
            {
                "event": "watch.digest",
                "subscription": {"id": sub.id, "name": sub.name},
                "frequency": sub.frequency,
                "title": subject,
                "period": {
                    "start": start.isoformat(timespec="seconds"),
                    "end": end.isoformat(timespec="seconds"),
                },
                "groups": [
                    {
                        "topic": g.title,
                        "territories": [
                            {"territory": p, "item_ids": [c.id for c in cs]}
                            for p, cs in g.territories
                        ],
                    }
                    for g in groups
                ],
                "items": [c.to_dict() for c in cards],
            },
            ensure_ascii=False,
        )
    return Message(
        subscription_id=sub.id,
        kind="digest",
        dedup_key=f"digest:{sub.frequency}:{end.isoformat(timespec='minutes')}",
        subject=subject,
        body_text=text,
        body_html=html,
        payload=payload,
        item_ids=tuple(c.id for c in cards),
    )


def render_alert_html(sub: Subscription, card: ItemCard) -> str:
    """The HTML of an immediate alert e-mail about one item."""
    lang = sub.language
    words = words_of(lang)
    return (
        _environment()
        .get_template("alert.html")
        .render(
            card=card, words=words, lang=lang, footer=words["alert_footer"].format(name=sub.name)
        )
    )


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("territoria.alerts", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["date"] = lambda card, lang: card.date(lang)
    return env
