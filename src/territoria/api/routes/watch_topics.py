"""REST routes of watch topics, full-text search and signals under ``/api/v1/watch`` (see
:mod:`territoria.watch.topics`, :mod:`territoria.watch.search`, :mod:`territoria.watch.signals`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from territoria.accounts import User
from territoria.api._deps import Cursor, State, field, require
from territoria.api.routes.territories import LevelQuery, _level
from territoria.watch import search as search_lib
from territoria.watch import signals as signals_lib
from territoria.watch import topics as topics_lib

router = APIRouter(prefix="/api/v1/watch", tags=["watch"], dependencies=[Depends(require("read"))])

Writer = Annotated[User, Depends(require("act"))]
TopicId = Annotated[int, PathParam(ge=1, le=2**53, description="Id of the topic.")]
CodeQuery = Annotated[
    str | None,
    Query(
        description="Only items linked to this territory or one inside it (a département "
        "takes in its communes and EPCI).",
        max_length=20,
        pattern=r"^[0-9A-Za-z-]+$",
    ),
]


class TopicTerritory(BaseModel):
    """A topic's territory filter."""

    level: str
    code: str
    name: str | None


class TopicPerson(BaseModel):
    """A topic's person filter."""

    id: str
    name: str | None


class TopicOut(BaseModel):
    """A saved topic and how many live items it holds."""

    id: int
    name: str
    query: str
    territory: TopicTerritory | None
    person: TopicPerson | None
    tags: list[str]
    items: int
    created_by: str
    created_at: str
    deleted_at: str | None


class TopicIn(BaseModel):
    """A new topic: a Boolean query with optional territory and person filters."""

    name: str = Field(min_length=1, max_length=200)
    query: str = Field(
        min_length=1,
        max_length=2000,
        description='"ligne Rennes Saint-Malo" AND (TER OR train) NOT bus',
    )
    territory: str | None = Field(default=None, max_length=20, pattern=r"^[0-9A-Za-z-]+$")
    level: str | None = Field(default=None, max_length=40)
    person: str | None = Field(default=None, max_length=200, description="p-… or a whole name.")
    tags: list[str] = Field(default_factory=list, max_length=50)


class HitOut(BaseModel):
    """An item found, with its score and a snippet (offsets of the words found)."""

    id: int
    url: str
    title: str
    published: str | None
    source: str | None
    duplicate_of: int | None
    score: float
    snippet: str
    highlights: list[list[int]]
    title_highlights: list[list[int]]


class SearchOut(BaseModel):
    """A page of search results, best first, and the total."""

    query: str
    total: int
    offset: int
    limit: int
    unindexed: int = Field(description="Live items the index lacks (watch reindex).")
    stems: list[str] = Field(description="The French stems the query ranks by.")
    hits: list[HitOut]


class SignalItemOut(BaseModel):
    """An item behind a signal."""

    id: int
    title: str
    url: str
    day: str


class SignalOut(BaseModel):
    """A burst (topic, territory, person) or a term emerging in a territory."""

    kind: Literal["topic", "territory", "person", "term"]
    key: str
    label: str
    level: str | None
    territory: str | None
    territory_code: str | None
    start: str
    end: str
    weight: float
    usual: float
    observed: float
    ratio: float | None
    item_count: int
    earlier: int = Field(description="Terms: the earlier items of the territory citing it.")
    ongoing: bool
    summary: str = Field(description="One French sentence.")
    items: list[SignalItemOut]


class SignalsOut(BaseModel):
    """The signals of a period."""

    start: str | None
    end: str | None
    items: int
    signals: list[SignalOut]


@router.get("/topics", summary="Watch topics", response_model=list[TopicOut])
def topics(
    cur: Cursor,
    deleted: Annotated[bool, Query(description="List the removed ones instead.")] = False,
) -> list[TopicOut]:
    """Return the topics by name, with their filters and item counts."""
    return [
        TopicOut.model_validate(t.to_dict()) for t in topics_lib.list_topics(cur, deleted=deleted)
    ]


@router.post(
    "/topics",
    status_code=status.HTTP_201_CREATED,
    summary="Save a topic",
    response_model=TopicOut,
)
def add_topic(body: TopicIn, state: State, user: Writer) -> TopicOut:
    """Save a topic and file the items already there that it matches (422 with the position
    when the query does not parse)."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        place = None
        if body.territory is not None:
            place = (_level(state, cur, body.level), body.territory)
        with field("query"):
            topic = topics_lib.add_topic(
                cur, body.name, body.query, territory=place, person=body.person, tags=body.tags
            )
    return TopicOut.model_validate(topic.to_dict())


@router.delete(
    "/topics/{topic_id}", status_code=status.HTTP_200_OK, summary="Remove a topic",
    response_model=TopicOut,
)  # fmt: skip
def remove_topic(topic_id: TopicId, state: State, user: Writer) -> TopicOut:
    """Remove a topic softly (kept as removed, with its items; audited)."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        topic = topics_lib.remove_topic(cur, topic_id)
    return TopicOut.model_validate(topic.to_dict())


@router.get("/search", summary="Full-text search of the watch", response_model=SearchOut)
def search(
    cur: Cursor,
    state: State,
    q: Annotated[
        str, Query(min_length=1, max_length=2000, description='Words, "phrases", AND/OR/NOT.')
    ],
    territory: CodeQuery = None,
    level: LevelQuery = None,
    person: Annotated[str | None, Query(description="A person's id (p-…).", max_length=40)] = None,
    since: Annotated[
        dt.datetime | None, Query(description="Published at or after (ISO 8601; naive: UTC).")
    ] = None,
    duplicates: Annotated[bool, Query(description="Also the repeated stories.")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> SearchOut:
    """Search the items in French (accents ignored, stems), best BM25 score first, with
    snippets; 422 with the position when the query does not parse."""
    place = (_level(state, cur, level), territory) if territory is not None else None
    with field("q"):
        result = search_lib.search(
            cur,
            q,
            territory=place,
            person=person,
            since=since,
            include_duplicates=duplicates,
            limit=limit,
            offset=offset,
        )
    return SearchOut.model_validate(result.to_dict())


@router.get("/signals", summary="Bursts and emerging terms", response_model=SignalsOut)
def signals(
    cur: Cursor,
    since: Annotated[dt.date | None, Query(description="Start of the period.")] = None,
    until: Annotated[
        dt.date | None, Query(description="End of the period (default: the latest item's day).")
    ] = None,
    kind: Annotated[
        list[Literal["topic", "territory", "person", "term"]] | None,
        Query(description="Kinds of signal (repeat; default all)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> SignalsOut:
    """Return the bursts of topics, territories and persons and the terms emerging in a
    territory, latest first, each with the items behind it and a French summary."""
    result = signals_lib.signals(
        cur, since=since, until=until, kinds=kind or signals_lib.KINDS, limit=limit
    )
    return SignalsOut.model_validate(result.to_dict())
