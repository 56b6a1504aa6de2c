"""Watch alerts: which watch items a subscription's filters select, and the immediate alerts.

A watch subscription's filters (all optional, all required to hold together):

- ``topic_ids``: the item matches at least one of these saved topics;
- ``territory`` (``level``, ``code``): the item is linked to that territory or to one inside
  it (a département's communes and EPCI, by the knowledge base's ``membership``);
- ``person_id``: the item is linked to that person;
- ``scope``: ``endogenous`` or ``exogenous`` relative to the home territory (as
  :mod:`territoria.watch.items` computes it; no home set: no item has a scope).

:func:`queue_immediate` is called by the ingest pipeline inside its transaction with the new
items; it queues one message per immediate subscription and original item (key ``item:<id>``,
so queueing twice sends once). A duplicate (``duplicate_of`` set) is never alerted nor put in a
digest: the item it repeats was.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from territoria._formats import long_date
from territoria.alerts.delivery import Message, queue_messages
from territoria.alerts.subscriptions import Subscription, add_subscription, list_subscriptions
from territoria.errors import InvalidSubscription

__all__ = [
    "SCOPES",
    "WORDS",
    "ItemCard",
    "WatchFilters",
    "add_watch_subscription",
    "item_cards",
    "matching_items",
    "queue_immediate",
    "words_of",
]

SCOPES = ("endogenous", "exogenous")


@dataclass(frozen=True)
class WatchFilters:
    """What a watch subscription selects (see the module's docstring)."""

    topic_ids: tuple[int, ...] = ()
    territory: tuple[str, str] | None = None  # (level, code)
    person_id: str | None = None
    scope: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WatchFilters:
        """Read the filters as :meth:`to_dict` writes them."""
        territory = data.get("territory")
        return cls(
            topic_ids=tuple(int(t) for t in data.get("topic_ids") or ()),
            territory=(str(territory["level"]), str(territory["code"])) if territory else None,
            person_id=data.get("person_id"),
            scope=data.get("scope"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored in ``alert_subscription.filters`` (empty filters left out)."""
        out: dict[str, Any] = {}
        if self.topic_ids:
            out["topic_ids"] = sorted(set(self.topic_ids))
        if self.territory:
            out["territory"] = {"level": self.territory[0], "code": self.territory[1]}
        if self.person_id:
            out["person_id"] = self.person_id
        if self.scope:
            out["scope"] = self.scope
        return out

    def check(self, con: duckdb.DuckDBPyConnection) -> WatchFilters:
        """Return the filters once their topics, territory and person are known to exist.

        Raises
        ------
        InvalidSubscription
            An unknown topic, person or scope.
        UnknownTerritory, UnknownLevel
            An unknown territory.
        """
        from territoria.kb.territories import find_territory

        if self.topic_ids:
            known = {
                int(r[0])
                for r in con.execute(
                    "SELECT id FROM watch_topic WHERE deleted_at IS NULL AND list_contains(?, id)",
                    [list(self.topic_ids)],
                ).fetchall()
            }
            missing = sorted(set(self.topic_ids) - known)
            if missing:
                msg = f"unknown watch topic(s) {missing}: 'territoria watch topics list' shows them"
                raise InvalidSubscription(msg)
        territory = self.territory
        if territory is not None:
            found = find_territory(con, territory[1], level=territory[0] or None)
            territory = (found.level, found.code)
        if self.person_id is not None:
            row = con.execute("SELECT 1 FROM person WHERE id = ?", [self.person_id]).fetchone()
            if row is None:
                msg = f"unknown person {self.person_id!r}: 'territoria people search' finds the id"
                raise InvalidSubscription(msg)
        if self.scope is not None and self.scope not in SCOPES:
            msg = f"unknown scope {self.scope!r}: expected endogenous or exogenous"
            raise InvalidSubscription(msg)
        return WatchFilters(self.topic_ids, territory, self.person_id, self.scope)


def add_watch_subscription(
    con: duckdb.DuckDBPyConnection,
    *,
    owner: str,
    channel: str,
    target: str,
    frequency: str = "immediate",
    filters: WatchFilters | None = None,
    secret: str | None = None,
    language: str = "fr",
    name: str | None = None,
) -> Subscription:
    """Subscribe ``owner`` to watch items matching ``filters`` (none: every new item).

    Raises
    ------
    InvalidSubscription, UnknownTerritory
        Nothing is written.
    """
    checked = (filters or WatchFilters()).check(con)
    return add_subscription(
        con,
        owner=owner,
        subject="watch",
        channel=channel,
        target=target,
        frequency=frequency,
        filters=checked.to_dict(),
        secret=secret,
        language=language,
        name=name or f"Veille — {target.strip()}",
    )


def matching_items(
    con: duckdb.DuckDBPyConnection,
    filters: WatchFilters,
    *,
    item_ids: Sequence[int] | None = None,
    fetched_after: datetime | None = None,
    fetched_until: datetime | None = None,
    not_in_digest_of: int | None = None,
) -> list[int]:
    """Return the ids of the live original items (not duplicates) that the filters select,
    oldest first, among ``item_ids`` and/or those fetched in ``(fetched_after,
    fetched_until]``, leaving out those already in a digest of subscription
    ``not_in_digest_of``.

    The territory, person and scope conditions are the watch reader's own
    (:func:`territoria.watch.items.list_items`), so an alert selects what the reader shows.
    A scope filter while no home territory is set selects nothing.
    """
    from territoria.watch import items as reader

    where, params = reader._filters(
        topic=None,
        territory=filters.territory,
        person=filters.person_id,
        since=None,
        scope=filters.scope,
        include_duplicates=False,
    )
    clauses = [where]
    if item_ids is not None:
        clauses.append("list_contains(?, w.id)")
        params.append(list(item_ids))
    if fetched_after is not None:
        clauses.append("w.fetched_at > ?")
        params.append(fetched_after)
    if fetched_until is not None:
        clauses.append("w.fetched_at <= ?")
        params.append(fetched_until)
    if not_in_digest_of is not None:
        clauses.append(
            "NOT EXISTS (SELECT 1 FROM alert_delivery d WHERE d.subscription_id = ? "
            "AND d.kind = 'digest' AND list_contains(d.item_ids, w.id))"
        )
        params.append(not_in_digest_of)
    if filters.topic_ids:
        clauses.append(
            "EXISTS (SELECT 1 FROM watch_item_topic t WHERE t.item_id = w.id "
            "AND list_contains(?, t.topic_id))"
        )
        params.append(list(filters.topic_ids))
    rows = con.execute(
        f"WITH {reader._ENDOGENOUS} SELECT w.id FROM watch_item w "
        f"WHERE {' AND '.join(clauses)} ORDER BY w.fetched_at, w.id",
        params,
    ).fetchall()
    return [int(r[0]) for r in rows]


@dataclass(frozen=True)
class ItemCard:
    """What an alert or a digest says of one item."""

    id: int
    title: str
    url: str
    source: str
    published: datetime | None
    fetched_at: datetime
    #: level, label (French), label_en, code, name, score
    territories: list[dict[str, Any]] = field(default_factory=list)
    persons: list[dict[str, Any]] = field(default_factory=list)  # id, name
    topics: list[dict[str, Any]] = field(default_factory=list)  # id, name

    def date(self, language: str) -> str:
        """The item's date in words (published, else fetched)."""
        return long_date(self.published or self.fetched_at, language)

    def to_dict(self) -> dict[str, Any]:
        """The webhook's JSON of the item."""
        links: list[dict[str, Any]] = [
            {
                "type": "territory",
                "level": t["level"],
                "code": t["code"],
                "name": t["name"],
                "score": t["score"],
            }
            for t in self.territories
        ]
        links += [
            {"type": "person", "id": p["id"], "name": p["name"], "score": p["score"]}
            for p in self.persons
        ]
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "source": self.source,
            "published": self.published.isoformat(timespec="seconds") if self.published else None,
            "fetched_at": self.fetched_at.isoformat(timespec="seconds"),
            "topics": self.topics,
            "links": links,
        }


def item_cards(con: duckdb.DuckDBPyConnection, item_ids: Sequence[int]) -> dict[int, ItemCard]:
    """Return the cards of the items, by id: title, source, date, linked territories (best
    score first, with their level's French label) and people, topics."""
    if not item_ids:
        return {}
    ids = list(item_ids)
    rows = con.execute(
        "SELECT i.id, i.title, i.url, coalesce(s.name, ''), i.published, i.fetched_at "
        "FROM watch_item i LEFT JOIN watch_source s ON s.id = i.source_id "
        "WHERE list_contains(?, i.id)",
        [ids],
    ).fetchall()
    links = con.execute(
        "SELECT l.item_id, l.type, l.level, coalesce(v.label_fr, l.level), "
        "coalesce(v.label_en, l.level), l.code, l.name, l.score FROM watch_link l "
        "LEFT JOIN level v ON v.level = l.level "
        "WHERE list_contains(?, l.item_id) AND l.type IN ('territory', 'person') "
        "ORDER BY l.item_id, l.score DESC, l.start_char NULLS LAST, l.code",
        [ids],
    ).fetchall()
    topics = con.execute(
        "SELECT DISTINCT it.item_id, t.id, t.name FROM watch_item_topic it "
        "JOIN watch_topic t ON t.id = it.topic_id WHERE list_contains(?, it.item_id) "
        "AND t.deleted_at IS NULL ORDER BY it.item_id, t.name",
        [ids],
    ).fetchall()
    cards = {int(r[0]): ItemCard(int(r[0]), r[1] or r[2], r[2], r[3], r[4], r[5]) for r in rows}
    for item_id, kind, level, label, label_en, code, name, score in links:
        card = cards.get(int(item_id))
        if card is None:
            continue
        if kind == "territory":
            card.territories.append(
                {
                    "level": level,
                    "label": label,
                    "label_en": label_en,
                    "code": code,
                    "name": name,
                    "score": round(float(score), 3),
                }
            )
        else:
            card.persons.append({"id": code, "name": name, "score": round(float(score), 3)})
    for item_id, topic_id, name in topics:
        if int(item_id) in cards:
            cards[int(item_id)].topics.append({"id": int(topic_id), "name": name})
    return cards


#: The words of alerts and digests, by language.
WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "subject": "Alerte veille — {title}",
        "daily": "Veille du {date}",
        "weekly": "Veille de la semaine du {date}",
        "one": "1 nouvel article",
        "many": "{n} nouveaux articles",
        "no_topic": "Hors thèmes",
        "no_territory": "Sans territoire",
        "source": "Source",
        "territories": "Territoires",
        "persons": "Personnes",
        "topics": "Thèmes",
        "sep": " : ",
        "footer": "Abonnement « {name} » — Territoria. Période du {start} au {end}.",
        "alert_footer": "Abonnement « {name} » — Territoria",
    },
    "en": {
        "subject": "Watch alert — {title}",
        "daily": "Watch of {date}",
        "weekly": "Watch of the week of {date}",
        "one": "1 new item",
        "many": "{n} new items",
        "no_topic": "Outside the topics",
        "no_territory": "No territory",
        "source": "Source",
        "territories": "Territories",
        "persons": "People",
        "topics": "Topics",
        "sep": ": ",
        "footer": "Subscription “{name}” — Territoria. Period from {start} to {end}.",
        "alert_footer": "Subscription “{name}” — Territoria",
    },
}


def words_of(language: str) -> dict[str, str]:
    """The words of ``language`` (French for a language without its own)."""
    return WORDS.get(language, WORDS["fr"])


def card_lines(card: ItemCard, language: str) -> list[str]:
    """The plain-text lines of an item: title, source and date, address, its links."""
    words = words_of(language)
    sep = words["sep"]
    label = "label" if language == "fr" else "label_en"
    lines = [card.title, f"{card.source} — {card.date(language)}", card.url]
    if card.territories:
        names = ", ".join(f"{t['name']} ({t[label]})" for t in card.territories)
        lines.append(f"{words['territories']}{sep}{names}")
    if card.persons:
        lines.append(f"{words['persons']}{sep}" + ", ".join(p["name"] for p in card.persons))
    if card.topics:
        lines.append(f"{words['topics']}{sep}" + ", ".join(t["name"] for t in card.topics))
    return lines


def _alert(sub: Subscription, card: ItemCard) -> Message:
    from territoria.alerts.digest import render_alert_html

    words = words_of(sub.language)
    footer = words["alert_footer"].format(name=sub.name)
    text = "\n".join([*card_lines(card, sub.language), "", footer])
    payload = {
        "event": "watch.item",
        "subscription": {"id": sub.id, "name": sub.name},
        "item": card.to_dict(),
    }
    return Message(
        subscription_id=sub.id,
        kind="alert",
        dedup_key=f"item:{card.id}",
        subject=" ".join(words["subject"].format(title=card.title).split())[:250],
        body_text=text + "\n",
        body_html=render_alert_html(sub, card) if sub.channel == "email" else None,
        payload=json.dumps(payload, ensure_ascii=False) if sub.channel == "webhook" else None,
        item_ids=(card.id,),
    )


def queue_immediate(con: duckdb.DuckDBPyConnection, item_ids: Sequence[int]) -> int:
    """Queue an alert per immediate watch subscription and new item it selects; return how
    many were queued (run it inside the ingest's transaction).

    A duplicate item is never alerted: the item it repeats was, when it matched.
    """
    if not item_ids:
        return 0
    subs = list_subscriptions(con, subject="watch", frequency="immediate")
    if not subs:
        return 0
    messages: list[Message] = []
    cards: dict[int, ItemCard] = {}
    for sub in subs:
        selected = matching_items(con, WatchFilters.from_dict(sub.filters), item_ids=item_ids)
        missing = [i for i in selected if i not in cards]
        cards.update(item_cards(con, missing))
        messages += [_alert(sub, cards[i]) for i in selected if i in cards]
    return queue_messages(con, messages)
