"""Saved watch topics: a Boolean query, optional territory and person filters, tags.

:func:`classify` files new items under the topics they match (ingest calls it inside its
transaction, after the items and their links are written); :func:`add_topic` files the items
already there under a new topic. Matching runs in SQL over the search index
(:mod:`territoria.watch.search`): one statement per batch of items for all topics at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from territoria.errors import InvalidWatchTopic, UnknownWatchTopic
from territoria.kb.audit import current_actor, record
from territoria.watch.query import And, Filter, Node, all_stems, match_sql, parse, places_sql
from territoria.watch.search import compact, index_items, missing_items, needs_compaction

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "Topic",
    "add_topic",
    "classify",
    "get_topic",
    "list_topics",
    "reclassify",
    "remove_topic",
    "topic_node",
]

#: Topics matched per SQL statement in :func:`classify`.
TOPICS_PER_STATEMENT = 64
MAX_NAME = 200
MAX_QUERY = 2000


@dataclass(frozen=True)
class Topic:
    """A saved topic with how many live items it holds."""

    id: int
    name: str
    query: str
    territory_level: str | None
    territory_code: str | None
    territory_name: str | None
    person_id: str | None
    person_name: str | None
    tags: list[str]
    created_by: str
    created_at: dt.datetime
    items: int = 0
    deleted_at: dt.datetime | None = None
    deleted_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (times as ISO text)."""
        territory = None
        if self.territory_code:
            territory = {
                "level": self.territory_level,
                "code": self.territory_code,
                "name": self.territory_name,
            }
        person = {"id": self.person_id, "name": self.person_name} if self.person_id else None
        return {
            "id": self.id,
            "name": self.name,
            "query": self.query,
            "territory": territory,
            "person": person,
            "tags": list(self.tags),
            "items": self.items,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "deleted_at": self.deleted_at.isoformat(timespec="seconds")
            if self.deleted_at
            else None,
        }


def _now() -> dt.datetime:
    return dt.datetime.now(tz=dt.UTC).replace(tzinfo=None)


def topic_node(query: str, territory: tuple[str, str] | None, person_id: str | None) -> Node:
    """The tree a topic matches with: its query AND its territory AND its person filters."""
    node = parse(query)
    extra: list[Node] = []
    if territory is not None:
        extra.append(Filter("territory", territory[1], territory[0]))
    if person_id is not None:
        extra.append(Filter("person", person_id))
    if not extra:
        return node
    operands = (*(node.operands if isinstance(node, And) else (node,)), *extra)
    return And(operands)


_SELECT = (
    "SELECT t.id, t.name, t.query, t.territory_level, t.territory_code, tr.name, t.person_id, "
    "CASE WHEN p.id IS NULL THEN NULL ELSE p.first_name || ' ' || p.last_name END, t.tags, "
    "t.created_by, t.created_at, "
    "(SELECT count(DISTINCT it.item_id) FROM watch_item_topic it JOIN watch_item i "
    " ON i.id = it.item_id WHERE it.topic_id = t.id AND i.deleted_at IS NULL), "
    "t.deleted_at, t.deleted_by "
    "FROM watch_topic t "
    "LEFT JOIN territory tr ON tr.level = t.territory_level AND tr.code = t.territory_code "
    "LEFT JOIN person p ON p.id = t.person_id "
)


def _topic(row: tuple[Any, ...]) -> Topic:
    return Topic(
        id=int(row[0]),
        name=row[1],
        query=row[2],
        territory_level=row[3],
        territory_code=row[4],
        territory_name=row[5],
        person_id=row[6],
        person_name=row[7],
        tags=list(row[8] or []),
        created_by=row[9],
        created_at=row[10],
        items=int(row[11] or 0),
        deleted_at=row[12],
        deleted_by=row[13],
    )


def list_topics(con: duckdb.DuckDBPyConnection, *, deleted: bool = False) -> list[Topic]:
    """The live topics (``deleted``: the removed ones), by name, with their item counts."""
    where = "WHERE t.deleted_at IS NOT NULL" if deleted else "WHERE t.deleted_at IS NULL"
    rows = con.execute(_SELECT + where + " ORDER BY lower(t.name), t.id").fetchall()
    return [_topic(r) for r in rows]


def get_topic(con: duckdb.DuckDBPyConnection, topic_id: int) -> Topic:
    """The live topic ``topic_id``.

    Raises
    ------
    UnknownWatchTopic
    """
    row = con.execute(
        _SELECT + "WHERE t.id = ? AND t.deleted_at IS NULL", [int(topic_id)]
    ).fetchone()
    if row is None:
        msg = f"aucun thème de veille n° {topic_id!r} : voir 'territoria watch topics list'"
        raise UnknownWatchTopic(msg)
    return _topic(row)


def _clean(name: str, query: str, tags: Sequence[str]) -> tuple[str, str, list[str]]:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        msg = f"le nom d'un thème doit compter de 1 à {MAX_NAME} caractères (reçu {name!r})"
        raise InvalidWatchTopic(msg)
    query = (query or "").strip()
    if len(query) > MAX_QUERY:
        msg = f"la requête compte {len(query)} caractères : la garder sous {MAX_QUERY}"
        raise InvalidWatchTopic(msg)
    clean_tags = sorted({t.strip() for t in tags if t and t.strip()})
    return name, query, clean_tags


def add_topic(
    con: duckdb.DuckDBPyConnection,
    name: str,
    query: str,
    *,
    territory: tuple[str | None, str] | None = None,
    person: str | None = None,
    tags: Sequence[str] = (),
) -> Topic:
    """Save a topic and file the items already there that it matches.

    Parameters
    ----------
    name
        What the topic is called (``Ligne Rennes–Saint-Malo``).
    query
        Its Boolean query (see :mod:`territoria.watch.query`).
    territory
        ``(level, code)``: only items linked to this territory or to one inside it; a
        ``None`` level takes the first level holding the code.
    person
        A person id (``p-…``) or a whole name: only items linked to this person.
    tags
        Free labels.

    Raises
    ------
    InvalidWatchQuery, InvalidWatchTopic, UnknownTerritory, UnknownPerson, AmbiguousPerson
        Nothing is written.
    """
    from territoria.kb import transaction
    from territoria.kb.people import resolve_person
    from territoria.kb.territories import find_territory

    name, query, clean_tags = _clean(name, query, tags)
    place: tuple[str, str] | None = None
    detail: dict[str, Any] = {"name": name, "query": query}
    if territory is not None:
        card = find_territory(con, territory[1], level=territory[0])
        place = (card.level, card.code)
        detail["territory"] = f"{card.name} ({card.code})"
    person_id = None
    if person is not None:
        found = resolve_person(con, person)
        person_id = found.id
        detail["person"] = f"{found.name} ({found.id})"
    topic_node(query, place, person_id)  # refuse a query that does not parse, before writing
    with transaction(con):
        row = con.execute(
            "INSERT INTO watch_topic (name, query, territory_level, territory_code, person_id, "
            "tags, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                name,
                query,
                place[0] if place else None,
                place[1] if place else None,
                person_id,
                clean_tags,
                current_actor(),
                _now(),
            ],
        ).fetchone()
        assert row is not None
        topic_id = int(row[0])
        detail["items"] = reclassify(con, topic_id)
        record(con, "watch.topic.add", target=str(topic_id), detail=detail)
    return get_topic(con, topic_id)


def remove_topic(con: duckdb.DuckDBPyConnection, topic_id: int) -> Topic:
    """Remove a topic (soft: it is kept, marked deleted, with its filed items); return it.

    Raises
    ------
    UnknownWatchTopic
    """
    from territoria.kb import transaction

    topic = get_topic(con, topic_id)
    with transaction(con):
        con.execute(
            "UPDATE watch_topic SET deleted_at = ?, deleted_by = ? WHERE id = ?",
            [_now(), current_actor(), topic.id],
        )
        record(con, "watch.topic.remove", target=str(topic.id), detail={"name": topic.name})
    row = con.execute(_SELECT + "WHERE t.id = ?", [topic.id]).fetchone()
    assert row is not None
    return _topic(row)


def _live_topics(
    con: duckdb.DuckDBPyConnection, topic_id: int | None = None
) -> list[tuple[int, Node]]:
    rows = con.execute(
        "SELECT id, query, territory_level, territory_code, person_id FROM watch_topic "
        "WHERE deleted_at IS NULL AND (? IS NULL OR id = ?) ORDER BY id",
        [topic_id, topic_id],
    ).fetchall()
    out = []
    for tid, query, level, code, person_id in rows:
        place = (level, code) if code else None
        out.append((int(tid), topic_node(query, place, person_id)))
    return out


def _file(
    con: duckdb.DuckDBPyConnection, topics: list[tuple[int, Node]], item_ids: list[int] | None
) -> int:
    """Insert the (item, topic) rows the items match (``None``: every live item)."""
    written = 0
    now = _now()
    scope, scope_params = "true", []
    if item_ids:
        # the range lets the scans skip the row groups of older items (zone maps)
        scope = "item_id BETWEEN ? AND ? AND item_id IN (SELECT unnest(?::BIGINT[]))"
        scope_params = [min(item_ids), max(item_ids), item_ids]
    for start in range(0, len(topics), TOPICS_PER_STATEMENT):
        chunk = topics[start : start + TOPICS_PER_STATEMENT]
        stems = sorted({s for _, node in chunk for s in all_stems(node)})
        selects, params = [], []
        for topic_id, node in chunk:
            # a batch's territories and those they lie in; a whole reclassification walks down
            cond, p = match_sql(node, terms="hits", places="places" if item_ids else None)
            selects.append(f"SELECT d.item_id, {topic_id} AS topic_id FROM docs d WHERE {cond}")
            params.extend(p)
        marks = ", ".join("?" * len(stems)) or "NULL"
        row = con.execute(
            f"WITH hits AS MATERIALIZED (SELECT * FROM watch_term WHERE {scope} "
            f" AND term IN ({marks})), "
            f"docs AS MATERIALIZED (SELECT item_id FROM watch_doc WHERE {scope}), "
            f"places AS MATERIALIZED ({places_sql(scope) if item_ids else 'SELECT 1'}) "
            "INSERT INTO watch_item_topic SELECT item_id, topic_id, ?::TIMESTAMP FROM ("
            "SELECT m.item_id, m.topic_id FROM ("
            + " UNION ALL ".join(selects)
            + ") m JOIN watch_item i ON i.id = m.item_id WHERE i.deleted_at IS NULL "
            f"EXCEPT SELECT item_id, topic_id FROM watch_item_topic WHERE {scope})",
            [
                *scope_params,
                *stems,
                *scope_params,
                *(scope_params if item_ids else []),
                now,
                *params,
                *scope_params,
            ],
        ).fetchone()
        written += int(row[0]) if row else 0
    return written


def classify(con: duckdb.DuckDBPyConnection, item_ids: Sequence[int]) -> int:
    """File the items under the live topics they match; return the rows written.

    The items are indexed for search first (:func:`territoria.watch.search.index_items`), in
    the caller's transaction: ingest calls this inside its own, after the items and their
    links are inserted, so the topics' territory and person filters see the links. When the
    items indexed since the index was last put in stem order outnumber a quarter of it, the
    index is rewritten in that order (:func:`territoria.watch.search.compact`: seconds per
    hundred thousand items, once per such growth).
    """
    ids = sorted({int(i) for i in item_ids})
    if not ids:
        return 0
    if index_items(con, ids) and needs_compaction(con):
        compact(con)
    return _file(con, _live_topics(con), ids)


def reclassify(con: duckdb.DuckDBPyConnection, topic_id: int) -> int:
    """File every live item the topic matches (call it inside a transaction: :func:`add_topic`
    does); return the rows written. Items the index lacks are indexed first."""
    index_items(con, missing_items(con))
    return _file(con, _live_topics(con, topic_id), None)
