"""REST routes of watch items and the home territory (see :mod:`territoria.watch.items`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from territoria.accounts import User
from territoria.api._deps import Cursor, State, field, require
from territoria.api.routes.territories import LevelQuery, _level
from territoria.kb.territories import find_territory
from territoria.watch.items import Home, ItemList, ItemView, Segment, get_item, home, list_items
from territoria.watch.items import set_home as set_home_lib

router = APIRouter(prefix="/api/v1/watch", tags=["watch"], dependencies=[Depends(require("read"))])

Writer = Annotated[User, Depends(require("act"))]
ItemId = Annotated[int, PathParam(ge=1, le=2**53, description="Id of the item.")]


class ItemDetail(ItemView):
    """One item with its text cut into plain spans and highlighted mentions."""

    spans: list[Segment] = Field(
        default_factory=list, description="The text as plain spans and linked mentions."
    )


class HomeIn(BaseModel):
    """The home territory to set."""

    code: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z-]+$")
    level: str | None = Field(default=None, max_length=40, description="commune, epci …")


@router.get("/items", summary="Watch items, latest first", response_model=ItemList)
def items(
    cur: Cursor,
    state: State,
    topic: Annotated[int | None, Query(ge=1, le=2**53, description="A topic's id.")] = None,
    territory: Annotated[
        str | None,
        Query(
            description="Items linked to this territory or one inside it (a département "
            "takes in its communes and EPCI).",
            max_length=20,
            pattern=r"^[0-9A-Za-z-]+$",
        ),
    ] = None,
    level: LevelQuery = None,
    person: Annotated[str | None, Query(description="A person's id (p-…).", max_length=40)] = None,
    since: Annotated[
        datetime | None, Query(description="Published at or after (ISO 8601; naive: UTC).")
    ] = None,
    scope: Annotated[
        Literal["endogenous", "exogenous"] | None,
        Query(description="Relative to the home territory (GET /watch/home)."),
    ] = None,
    duplicates: Annotated[bool, Query(description="Keep the repeated stories.")] = True,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ItemList:
    """Return a page of items with their source, scope, topics and links to the knowledge
    base, and the total the filters select."""
    area = None
    if territory is not None:
        with field("territory"):
            found = find_territory(cur, territory, level=_level(state, cur, level))
        area = (found.level, found.code)
    with field("scope"):
        return list_items(
            cur,
            topic=topic,
            territory=area,
            person=person,
            since=since,
            scope=scope,
            include_duplicates=duplicates,
            limit=limit,
            offset=offset,
        )


@router.get("/items/{item_id}", summary="A watch item", response_model=ItemDetail)
def item(cur: Cursor, item_id: ItemId) -> ItemDetail:
    """Return one item with its text, its links and the text's segments to highlight."""
    view = get_item(cur, item_id)
    return ItemDetail(**view.model_dump(), spans=view.segments())


@router.get("/home", summary="The home territory", response_model=Home | None)
def get_home(cur: Cursor) -> Home | None:
    """Return the home territory the scope of items is relative to (null: none set)."""
    return home(cur)


@router.put("/home", summary="Set the home territory", response_model=Home)
def put_home(body: HomeIn, state: State, user: Writer) -> Home:
    """Set the home territory; every item's scope follows at once."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        with field("level"):
            level = _level(state, cur, body.level)
        with field("code"):
            return set_home_lib(cur, level, body.code)
