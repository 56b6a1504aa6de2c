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
    "Selection",
    "WatchFilters",
    "add_watch_subscription",
    "describe_filters",
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


def describe_filters(con: duckdb.DuckDBPyConnection, filters: WatchFilters) -> str:
    """Say in French what the filters select: « thèmes Ligne Rennes Saint-Malo ; dans
    Ille-et-Vilaine (département) ; Nathalie Appéré ; endogène », or « tous les articles »."""
    parts = []
    if filters.topic_ids:
        rows = con.execute(
            "SELECT name FROM watch_topic WHERE list_contains(?, id) ORDER BY name",
            [list(filters.topic_ids)],
        ).fetchall()
        parts.append("thèmes " + ", ".join(r[0] for r in rows))
    if filters.territory is not None:
        level, code = filters.territory
        row = con.execute(
            "SELECT t.name, coalesce(v.label_fr, t.level) FROM territory t "
            "LEFT JOIN level v ON v.level = t.level WHERE t.level = ? AND t.code = ?",
            [level, code],
        ).fetchone()
        parts.append(f"dans {row[0]} ({row[1]}, {code})" if row else f"dans {code}")
    if filters.person_id is not None:
        row = con.execute(
            "SELECT first_name || ' ' || last_name FROM person WHERE id = ?", [filters.person_id]
        ).fetchone()
        parts.append(row[0] if row else filters.person_id)
    if filters.scope is not None:
        from territoria.watch.items import SCOPE_LABELS

        parts.append(SCOPE_LABELS.get(filters.scope, filters.scope))
    return " ; ".join(parts) or "tous les articles"


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


@dataclass(frozen=True)
class Selection:
    """What one subscription selects: its filters, and for a digest its period (items fetched
    in ``(after, until]``, none already in one of its digests)."""

    subscription_id: int
    filters: WatchFilters
    after: datetime | None = None
    until: datetime | None = None
    digest: bool = False


def matching_items(
    con: duckdb.DuckDBPyConnection,
    selections: Sequence[Selection],
    *,
    item_ids: Sequence[int] | None = None,
) -> dict[int, list[int]]:
    """Return, for each subscription, the ids of the live original items (not duplicates) it
    selects, oldest first (among ``item_ids`` when given): one query for all subscriptions.

    An item is inside a territory when it links that territory or one the knowledge base's
    ``membership`` places inside it (a département holds its communes and EPCI), as the
    watch reader's territory filter has it; the scope is the reader's own
    (:mod:`territoria.watch.items`); a scope filter while no home territory is set selects
    nothing.
    """
    from territoria.watch import items as reader

    out: dict[int, list[int]] = {s.subscription_id: [] for s in selections}
    if not selections or (item_ids is not None and not item_ids):
        return out
    f = [s.filters for s in selections]
    params: list[Any] = [
        [s.subscription_id for s in selections],
        [list(x.topic_ids) for x in f],
        [x.territory[0] if x.territory else None for x in f],
        [x.territory[1] if x.territory else None for x in f],
        [x.person_id for x in f],
        [x.scope for x in f],
        [s.after for s in selections],
        [s.until for s in selections],
        [s.digest for s in selections],
        list(item_ids) if item_ids is not None else None,
    ]
    rows = con.execute(
        f"WITH {reader._ENDOGENOUS}, "
        "sub AS (SELECT unnest(?::BIGINT[]) AS id, unnest(?::BIGINT[][]) AS topics, "
        "  unnest(?::VARCHAR[]) AS t_level, unnest(?::VARCHAR[]) AS t_code, "
        "  unnest(?::VARCHAR[]) AS person, unnest(?::VARCHAR[]) AS scope, "
        "  unnest(?::TIMESTAMP[]) AS after, unnest(?::TIMESTAMP[]) AS until, "
        "  unnest(?::BOOLEAN[]) AS digest), "
        "w AS (SELECT w.id, w.fetched_at, " + reader._SCOPE + " AS scope FROM watch_item w "
        "  WHERE w.deleted_at IS NULL AND w.duplicate_of IS NULL "
        "  AND (?::BIGINT[] IS NULL OR list_contains(?::BIGINT[], w.id)) "
        "  AND w.fetched_at > (SELECT CASE WHEN bool_or(after IS NULL) THEN '-infinity'::TIMESTAMP "
        "  ELSE min(after) END FROM sub)), "
        # each item with the territories it links and every territory these lie in
        "place AS (SELECT l.item_id, l.level, l.code FROM watch_link l JOIN w ON w.id = l.item_id "
        "  WHERE l.type = 'territory' "
        "  UNION SELECT l.item_id, m.parent_level, m.parent_code FROM watch_link l "
        "  JOIN w ON w.id = l.item_id JOIN membership m ON m.level = l.level AND m.code = l.code "
        "  WHERE l.type = 'territory') "
        "SELECT sub.id, w.id FROM sub JOIN w ON (sub.after IS NULL OR w.fetched_at > sub.after) "
        "  AND (sub.until IS NULL OR w.fetched_at <= sub.until) "
        "  AND (sub.scope IS NULL OR w.scope = sub.scope) "
        "WHERE (sub.t_code IS NULL OR EXISTS (SELECT 1 FROM place p WHERE p.item_id = w.id "
        "  AND p.level = sub.t_level AND p.code = sub.t_code)) "
        "AND (sub.person IS NULL OR EXISTS (SELECT 1 FROM watch_link l WHERE l.item_id = w.id "
        "  AND l.type = 'person' AND l.code = sub.person)) "
        "AND (len(sub.topics) = 0 OR EXISTS (SELECT 1 FROM watch_item_topic t "
        "  WHERE t.item_id = w.id AND list_contains(sub.topics, t.topic_id))) "
        "AND (NOT sub.digest OR NOT EXISTS (SELECT 1 FROM alert_delivery d "
        "  WHERE d.subscription_id = sub.id AND d.kind = 'digest' "
        "  AND list_contains(d.item_ids, w.id))) "
        "ORDER BY sub.id, w.fetched_at, w.id",
        [*params[:9], params[9], params[9]],
    ).fetchall()
    for sub_id, item_id in rows:
        out[int(sub_id)].append(int(item_id))
    return out


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
    selected = matching_items(
        con,
        [Selection(sub.id, WatchFilters.from_dict(sub.filters)) for sub in subs],
        item_ids=item_ids,
    )
    cards = item_cards(con, sorted({i for ids in selected.values() for i in ids}))
    messages = [_alert(sub, cards[i]) for sub in subs for i in selected[sub.id] if i in cards]
    return queue_messages(con, messages)
