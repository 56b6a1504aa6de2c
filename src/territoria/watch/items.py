"""Watch items as users read them: lists with filters, one item with its highlighted links,
the home territory and each item's scope.

Scope
-----
The watch is *endogenous* when it speaks of the home territory (set with :func:`set_home`),
*exogenous* otherwise. An item is endogenous when it links

- the home territory itself, or a territory inside it (a département home takes in its
  communes, EPCI, cantons and circonscriptions; an EPCI home its communes);
- a person holding a current mandate there: a mandate for a territory inside the home, or
  in a body (council) of a territory inside it (the mayor of a commune of a département
  home, a conseiller départemental of the home département), or for the canton or the
  circonscription that takes in the home or one of its communes (a commune's deputy and
  conseillers départementaux are its own representatives, though elected on a wider area);
- an organisation of a territory inside the home (its councils, the préfecture of a
  département home).

Otherwise a territory *containing* the home does not make an item endogenous: for a
commune's officer, an item about the région is regional context, read with the exogenous
watch, unless it also names a place, an official or a body of the commune; else every
regional or national dispatch would be endogenous and the split would say nothing. Poles
are not territorial: they do not decide the scope. Scope is computed in SQL when items are
read, so changing the home re-scopes every item; with no home set it is None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from territoria.errors import InvalidQuery, UnknownWatchItem
from territoria.kb.territories import _Result
from territoria.watch._model import Link

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "Home",
    "ItemList",
    "ItemSource",
    "ItemTopic",
    "ItemView",
    "Segment",
    "get_item",
    "home",
    "list_items",
    "parse_since",
    "set_home",
    "topic_id",
]

Scope = Literal["endogenous", "exogenous"]
#: French labels of the scopes (CLI and pages).
SCOPE_LABELS = {"endogenous": "endogène", "exogenous": "exogène", None: "—"}
MAX_LIMIT = 1000


class Home(_Result):
    """The home territory the scope is relative to."""

    level: str
    code: str
    name: str
    level_label: str = Field(description="The level in French (commune, département …).")
    set_by: str
    set_at: datetime


class ItemSource(_Result):
    """The watch source an item comes from."""

    id: int
    name: str
    kind: str


class ItemTopic(_Result):
    """A saved topic an item matches."""

    id: int
    name: str


class Segment(_Result):
    """A span of an item's text: plain (``link`` None) or a mention of ``links[link]``."""

    text: str
    link: int | None = None


class ItemView(_Result):
    """One watch item with its source, scope, topics and links (``links``: each link as
    :meth:`territoria.watch._model.Link.to_dict` gives it, plus ``start``/``end``, the first
    mention's offsets in ``title + "\\n\\n" + text``, ``mentions``, and for a territory
    ``level_label``, its level in French)."""

    id: int
    url: str
    canonical_url: str
    title: str
    published: datetime | None
    fetched_at: datetime
    kind: str
    source: ItemSource
    author: str | None = None
    language: str | None = None
    summary: str = ""
    duplicate_of: int | None = None
    duplicate_score: float | None = None
    scope: Scope | None = None
    topics: list[ItemTopic] = Field(default_factory=list)
    links: list[dict[str, Any]] = Field(default_factory=list)
    text: str | None = Field(default=None, description="The main text (one item only).")
    diff: str | None = None

    @property
    def scope_label(self) -> str:
        """The scope in French."""
        return SCOPE_LABELS[self.scope]

    def segments(self) -> list[Segment]:
        """The text cut into plain spans and mentions of the item's links, for a reader that
        highlights them: every occurrence (whole words) of each link's mention, the longest
        mention first where two overlap."""
        text = self.text or ""
        if not text:
            return []
        spans: list[tuple[int, int, int]] = []
        order = sorted(range(len(self.links)), key=lambda i: -len(self.links[i]["mention"]))
        taken = [False] * len(text)
        for index in order:
            mention = str(self.links[index]["mention"])
            if not mention.strip():
                continue
            pattern = re.compile(rf"(?<!\w){re.escape(mention)}(?!\w)")
            for match in pattern.finditer(text):
                start, end = match.span()
                if any(taken[start:end]):
                    continue
                taken[start:end] = [True] * (end - start)
                spans.append((start, end, index))
        spans.sort()
        out: list[Segment] = []
        position = 0
        for start, end, index in spans:
            if start > position:
                out.append(Segment(text=text[position:start]))
            out.append(Segment(text=text[start:end], link=index))
            position = end
        if position < len(text):
            out.append(Segment(text=text[position:]))
        return out


class ItemList(_Result):
    """A page of items, latest first, with the total the filters select."""

    items: list[ItemView]
    total: int
    limit: int
    offset: int
    home: Home | None = None


# --- home ----------------------------------------------------------------------------------


def home(con: duckdb.DuckDBPyConnection) -> Home | None:
    """Return the home territory, or None when none is set."""
    row = con.execute(
        "SELECT h.level, h.code, coalesce(t.name, h.code), coalesce(l.label_fr, h.level), "
        "h.set_by, h.set_at FROM watch_home h "
        "LEFT JOIN territory t ON t.level = h.level AND t.code = h.code "
        "LEFT JOIN level l ON l.level = h.level ORDER BY h.set_at DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return Home(
        level=row[0],
        code=row[1],
        name=row[2],
        level_label=row[3],
        set_by=row[4],
        set_at=row[5].replace(tzinfo=UTC),
    )


def set_home(con: duckdb.DuckDBPyConnection, level: str | None, code: str) -> Home:
    """Set the home territory (audited); every item's scope follows at once.

    Raises
    ------
    UnknownTerritory, UnknownLevel
        No territory has this code at this level.
    """
    from territoria.kb import transaction
    from territoria.kb.audit import current_actor, record
    from territoria.kb.territories import find_territory

    found = find_territory(con, code, level=level)
    now = datetime.now(UTC).replace(tzinfo=None)
    with transaction(con):
        before = home(con)
        con.execute("DELETE FROM watch_home")
        con.execute(
            "INSERT INTO watch_home (level, code, set_by, set_at) VALUES (?, ?, ?, ?)",
            [found.level, found.code, current_actor(), now],
        )
        record(
            con,
            "watch.home",
            target=f"{found.level}:{found.code}",
            detail={"before": f"{before.level}:{before.code}" if before else None},
        )
    kept = home(con)
    assert kept is not None
    return kept


def parse_since(text: str) -> datetime:
    """Read a ``--since`` value: ``2026-12-01``, ``2026-12-01T08:00``, ``1er décembre 2026``
    (a date is midnight in Paris); the result is aware (UTC).

    Raises
    ------
    InvalidQuery
    """
    from territoria.watch._dates import parse_date

    found = parse_date(text)
    if found is None:
        msg = f"since {text!r} is not a date: write 2026-12-01 or '1er décembre 2026'"
        raise InvalidQuery(msg)
    return found


def topic_id(con: duckdb.DuckDBPyConnection, value: str | int) -> int:
    """The id of a live topic given by its id or its name (case and accents as written).

    Raises
    ------
    UnknownWatchTopic
    """
    from territoria.errors import UnknownWatchTopic

    text = str(value).strip()
    row = con.execute(
        "SELECT id FROM watch_topic WHERE deleted_at IS NULL AND "
        "(CAST(id AS VARCHAR) = ? OR lower(name) = lower(?)) ORDER BY id LIMIT 1",
        [text, text],
    ).fetchone()
    if row is None:
        msg = f"no watch topic {text!r}: list them with 'territoria watch topics list'"
        raise UnknownWatchTopic(msg)
    return int(row[0])


# --- reading -------------------------------------------------------------------------------

#: Territories inside the home (the home included), the items linked there or to a person or
#: a body of it: the endogenous items (see the module's docstring).
_ENDOGENOUS = """
    home AS (SELECT level, code FROM watch_home ORDER BY set_at DESC LIMIT 1),
    inside AS (
        SELECT level, code FROM home
        UNION SELECT m.level, m.code FROM membership m
            JOIN home h ON m.parent_level = h.level AND m.parent_code = h.code
    ),
    constituencies AS (
        SELECT m.parent_level AS level, m.parent_code AS code FROM membership m
            JOIN inside i ON m.level = i.level AND m.code = i.code
            WHERE m.parent_level IN ('canton', 'circonscription')
    ),
    endogenous AS (
        SELECT l.item_id FROM watch_link l
            JOIN inside i ON l.type = 'territory' AND l.level = i.level AND l.code = i.code
        UNION SELECT l.item_id FROM watch_link l
            JOIN organisation o ON l.type = 'organisation' AND o.id = l.code
            JOIN inside i ON o.level = i.level AND o.code = i.code
        UNION SELECT l.item_id FROM watch_link l
            JOIN mandate m ON l.type = 'person' AND m.person_id = l.code
                AND (m.end_date IS NULL OR m.end_date >= current_date)
            LEFT JOIN organisation o ON o.id = m.organisation_id
            JOIN inside i ON (m.level = i.level AND m.code = i.code)
                OR (o.level = i.level AND o.code = i.code)
        UNION SELECT l.item_id FROM watch_link l
            JOIN mandate m ON l.type = 'person' AND m.person_id = l.code
                AND (m.end_date IS NULL OR m.end_date >= current_date)
            JOIN constituencies c ON m.level = c.level AND m.code = c.code
    )
"""
_SCOPE = (
    "CASE WHEN NOT EXISTS (SELECT 1 FROM home) THEN NULL "
    "WHEN w.id IN (SELECT item_id FROM endogenous) THEN 'endogenous' ELSE 'exogenous' END"
)
_COLUMNS = (
    "w.id, w.url, w.canonical_url, w.title, w.published, w.fetched_at, w.kind, w.source_id, "
    "coalesce(s.name, ''), coalesce(s.kind, ''), w.author, w.language, w.summary, "
    f"w.duplicate_of, w.duplicate_score, {_SCOPE} AS scope"
)


#: Items linked to a territory (level ?, code ?) or one inside it, or to a body (council,
#: State service) of such a territory.
_TERRITORY = """w.id IN (
    SELECT l.item_id FROM watch_link l WHERE l.type = 'territory' AND (
        (l.level = ? AND l.code = ?) OR (l.level, l.code) IN (SELECT (m.level, m.code)
            FROM membership m WHERE m.parent_level = ? AND m.parent_code = ?))
    UNION SELECT l.item_id FROM watch_link l JOIN organisation o
        ON l.type = 'organisation' AND o.id = l.code WHERE
        (o.level = ? AND o.code = ?) OR (o.level, o.code) IN (SELECT (m.level, m.code)
            FROM membership m WHERE m.parent_level = ? AND m.parent_code = ?))"""


def _filters(
    *,
    topic: int | None,
    territory: tuple[str, str] | None,
    person: str | None,
    since: datetime | None,
    scope: str | None,
    include_duplicates: bool,
) -> tuple[str, list[Any]]:
    where = ["w.deleted_at IS NULL"]
    params: list[Any] = []
    if topic is not None:
        where.append("w.id IN (SELECT item_id FROM watch_item_topic WHERE topic_id = ?)")
        params.append(topic)
    if territory is not None:
        where.append(_TERRITORY)
        params += [territory[0], territory[1], territory[0], territory[1]] * 2
    if person is not None:
        where.append("w.id IN (SELECT item_id FROM watch_link WHERE type = 'person' AND code = ?)")
        params.append(person)
    if since is not None:
        where.append("coalesce(w.published, w.fetched_at) >= ?")
        params.append(since.astimezone(UTC).replace(tzinfo=None) if since.tzinfo else since)
    if scope is not None:
        where.append(f"({_SCOPE}) = ?")
        params.append(scope)
    if not include_duplicates:
        where.append("w.duplicate_of IS NULL")
    return " AND ".join(where), params


def _links(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    rows = con.execute(
        "SELECT item_id, type, code, name, score, mention, level, start_char, end_char, mentions "
        "FROM watch_link WHERE item_id IN (SELECT unnest(?::BIGINT[])) "
        "ORDER BY item_id, score DESC, start_char NULLS LAST, type, code",
        [list(ids)],
    ).fetchall()
    labels = dict(con.execute("SELECT level, label_fr FROM level").fetchall())
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        link = Link(
            type=r[1],
            code=r[2],
            name=r[3],
            score=r[4],
            mention=r[5],
            level=r[6],
            start=r[7],
            end=r[8],
            mentions=r[9],
        )
        data = {**link.to_dict(), "start": link.start, "end": link.end, "mentions": link.mentions}
        if link.level is not None:
            data["level_label"] = labels.get(link.level, link.level)
        out.setdefault(int(r[0]), []).append(data)
    return out


def _topics(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> dict[int, list[ItemTopic]]:
    rows = con.execute(
        "SELECT DISTINCT it.item_id, t.id, t.name FROM watch_item_topic it "
        "JOIN watch_topic t ON t.id = it.topic_id AND t.deleted_at IS NULL "
        "WHERE it.item_id IN (SELECT unnest(?::BIGINT[])) ORDER BY it.item_id, t.name",
        [list(ids)],
    ).fetchall()
    out: dict[int, list[ItemTopic]] = {}
    for item_id, topic_id, name in rows:
        out.setdefault(int(item_id), []).append(ItemTopic(id=topic_id, name=name))
    return out


def _views(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> list[ItemView]:
    ids = [int(r[0]) for r in rows]
    links = _links(con, ids) if ids else {}
    topics = _topics(con, ids) if ids else {}
    return [
        ItemView(
            id=r[0],
            url=r[1],
            canonical_url=r[2],
            title=r[3],
            published=r[4].replace(tzinfo=UTC) if r[4] else None,
            fetched_at=r[5].replace(tzinfo=UTC),
            kind=r[6],
            source=ItemSource(id=r[7], name=r[8], kind=r[9]),
            author=r[10],
            language=r[11],
            summary=r[12],
            duplicate_of=r[13],
            duplicate_score=r[14],
            scope=r[15],
            topics=topics.get(int(r[0]), []),
            links=links.get(int(r[0]), []),
        )
        for r in rows
    ]


def list_items(
    con: duckdb.DuckDBPyConnection,
    *,
    topic: int | None = None,
    territory: tuple[str, str] | None = None,
    person: str | None = None,
    since: datetime | None = None,
    scope: str | None = None,
    include_duplicates: bool = True,
    limit: int = 50,
    offset: int = 0,
) -> ItemList:
    """Return the live items the filters select, latest first (by published date, else
    the date fetched).

    Parameters
    ----------
    topic
        Only the items filed under this saved topic.
    territory
        ``(level, code)``: only the items linked to this territory or to a territory inside
        it (a département takes in its communes and EPCI), or to a body of one of them
        (the conseil départemental, a conseil municipal).
    person
        Only the items linked to this person (``p-…``).
    since
        Only the items published (or, stating no date, fetched) at or after this moment (a
        naive datetime is UTC).
    scope
        ``endogenous`` or ``exogenous`` (relative to the home territory).
    include_duplicates
        Keep the items that repeat an earlier one.
    limit, offset
        The page (``limit`` from 1 to 1,000).

    Raises
    ------
    InvalidQuery
        A scope other than endogenous/exogenous, or a scope filter with no home territory.
    """
    if scope is not None and scope not in ("endogenous", "exogenous"):
        msg = f"scope {scope!r} is not endogenous or exogenous"
        raise InvalidQuery(msg)
    current = home(con)
    if scope is not None and current is None:
        msg = (
            f"no home territory, so no item is {scope}: set it with "
            "'territoria watch home CODE --level LEVEL'"
        )
        raise InvalidQuery(msg)
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, int(offset))
    where, params = _filters(
        topic=topic,
        territory=territory,
        person=person,
        since=since,
        scope=scope,
        include_duplicates=include_duplicates,
    )
    base = f"WITH {_ENDOGENOUS} SELECT {{cols}} FROM watch_item w "
    base += "LEFT JOIN watch_source s ON s.id = w.source_id WHERE " + where
    total = con.execute(base.format(cols="count(*)"), params).fetchone()
    rows = con.execute(
        base.format(cols=_COLUMNS)
        + " ORDER BY coalesce(w.published, w.fetched_at) DESC, w.id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return ItemList(
        items=_views(con, rows),
        total=int(total[0]) if total else 0,
        limit=limit,
        offset=offset,
        home=current,
    )


def get_item(con: duckdb.DuckDBPyConnection, item_id: int) -> ItemView:
    """Return one live item with its text, links, topics and scope.

    Raises
    ------
    UnknownWatchItem
    """
    rows = con.execute(
        f"WITH {_ENDOGENOUS} SELECT {_COLUMNS}, w.text, w.diff FROM watch_item w "
        "LEFT JOIN watch_source s ON s.id = w.source_id "
        "WHERE w.id = ? AND w.deleted_at IS NULL",
        [item_id],
    ).fetchall()
    if not rows:
        msg = f"no watch item {item_id!r}: list them with 'territoria watch items'"
        raise UnknownWatchItem(msg)
    view = _views(con, [rows[0][:-2]])[0]
    return view.model_copy(update={"text": rows[0][-2], "diff": rows[0][-1]})
