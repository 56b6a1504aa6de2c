"""The people directory on the web: person search, a person's record and page, and the top
bar's search of persons and territories together."""

from __future__ import annotations

from typing import Annotated

import duckdb
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from territoria.accounts import User
from territoria.api._deps import AppState, Cursor, Lang, State, field, require
from territoria.api._models import SearchItem
from territoria.api._render import render
from territoria.api.routes.watch_pages import WATCH_SHOWN
from territoria.kb.people import PersonHit, PersonPage, person, search_persons
from territoria.kb.search import search
from territoria.watch.related import items_for_person

router = APIRouter(prefix="/api/v1", tags=["people"], dependencies=[Depends(require("read"))])
pages = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(require("read"))]

PersonId = Annotated[
    str,
    PathParam(
        description="Person id as search gives it (p-41cd3df91ee6fe).",
        min_length=3,
        max_length=40,
        pattern=r"^p-[0-9a-z]+$",
    ),
]
NameQuery = Annotated[
    str,
    Query(
        alias="q",
        min_length=1,
        max_length=200,
        description="Name or part of one, any case, accents, order; typos tolerated.",
    ),
]


class PersonSearchPage(BaseModel):
    """Persons found by ``q``, best first."""

    total: int
    items: list[PersonHit]


class CombinedSearch(BaseModel):
    """What the top bar proposes for ``q``: territories and persons, each best first."""

    territories: list[SearchItem]
    persons: list[PersonHit]


@router.get("/persons", summary="Search elected officials by name", response_model=PersonSearchPage)
def persons(
    state: State,
    text: NameQuery,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> PersonSearchPage:
    """Find persons by name (``appere``, ``Gatel``, ``dadkha forough``): the whole name first,
    then the weight of their current mandates; each with her main current titles."""
    # the shared cursor keeps the in-memory index of names across requests
    with state.db.shared() as shared, field("q"):
        hits = search_persons(shared, text, limit=limit)
    return PersonSearchPage(total=len(hits), items=hits)


@router.get(
    "/persons/{person_id}",
    summary="One person: mandates, contacts, merges, actions and plans",
    response_model=PersonPage,
)
def person_record(cur: Cursor, state: State, person_id: PersonId) -> PersonPage:
    """Return a person's current and past mandates (bodies, territories, titles in her
    gender, flagged dates, sources), contacts, merged variants, actions and plans."""
    return _person(state, cur, person_id)


def _person(state: AppState, cur: duckdb.DuckDBPyConnection, person_id: str) -> PersonPage:
    # cached until the next write (an import, an action logged): a record is six queries
    return state.cache.get(("person", person_id), lambda: person(cur, person_id))


@router.get(
    "/search",
    summary="Territories and persons matching a name (the top bar)",
    response_model=CombinedSearch,
)
def search_all(
    state: State,
    text: NameQuery,
    limit: Annotated[int, Query(ge=1, le=50, description="Most hits of each kind.")] = 6,
) -> CombinedSearch:
    """Search territories (name or code) and persons (name) at once."""
    with state.db.shared() as shared, field("q"):
        places = search(shared, text, limit=limit)
        people = search_persons(shared, text, limit=limit)
    return CombinedSearch(territories=[SearchItem.of(h) for h in places], persons=people)


@pages.get("/personnes/{person_id}", response_class=HTMLResponse)
def person_page(
    request: Request, state: State, tr: Lang, cur: Cursor, user: Reader, person_id: PersonId
) -> Response:
    """A person's page: mandates current and past with links to their territories, titles in
    her gender, group and party, contacts, actions and plans, and where each fact comes from."""
    context = {
        "p": _person(state, cur, person_id),
        "watch": items_for_person(cur, person_id, limit=WATCH_SHOWN),
        "watch_more": f"/veille?person={person_id}",
    }
    return render(request, "person.html", context)
