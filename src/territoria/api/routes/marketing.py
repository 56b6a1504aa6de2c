"""REST routes and pages of the good practices, learning from peers, the assets registry and
the strengths (see :mod:`territoria.marketing`): ``/api/v1/practices``, ``/api/v1/assets``,
``/api/v1/territories/{code}/lessons|strengths|assets``; pages ``/pratiques``,
``/pratiques/{id}``, ``/atouts``; the territory-page sections "Atouts et points forts" and
"S'inspirer des territoires comparables"."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from territoria.accounts import User
from territoria.api._deps import Cursor, State, field, require
from territoria.api._render import render
from territoria.api._sections import territory_section
from territoria.api.routes.territories import CodePath, LevelQuery, _level
from territoria.errors import TerritoriaError
from territoria.marketing import assets as lib_assets
from territoria.marketing import learn, practices, strengths
from territoria.marketing._data import themes
from territoria.marketing._entries import build

__all__ = ["api", "pages", "routers"]

api = APIRouter(prefix="/api/v1", tags=["marketing"], dependencies=[Depends(require("read"))])
pages = APIRouter(include_in_schema=False)
routers = (api, pages)

Reader = Annotated[User, Depends(require("read"))]
Writer = Annotated[User, Depends(require("act"))]
PracticeId = Annotated[int, PathParam(ge=1, le=2**53, description="Id of the practice.")]
AssetId = Annotated[int, PathParam(ge=1, le=2**53, description="Id of the asset.")]
ThemeQuery = Annotated[str | None, Query(max_length=80, description="Theme id or label.")]
PeersK = Annotated[int, Query(ge=1, le=50, description="Number of peers.")]
KindQuery = Annotated[str | None, Query(max_length=40, description="Asset kind.")]
#: Practices per page of /pratiques.
PAGE_SIZE: Final = 20
#: Assets shown in the territory-page section.
ASSETS_SHOWN: Final = 12
LEVELS: Final = {
    "commune": "Commune",
    "epci": "Intercommunalité",
    "departement": "Département",
    "region": "Région",
}


# ------------------------------------------------------------------------------------ REST


@api.get("/practices", summary="Search the good practices", response_model=practices.PracticeSearch)
def search(
    cur: Cursor,
    state: State,
    q: Annotated[str, Query(max_length=500, description="French words (all must occur).")] = "",
    theme: ThemeQuery = None,
    level: LevelQuery = None,
    limit: Annotated[int, Query(ge=1, le=practices.MAX_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> practices.PracticeSearch:
    """Full-text search (accents, plurals and stems ignored) with theme and level filters;
    an empty ``q`` lists the practices, latest first."""
    with field("theme"):
        return practices.search_practices(
            cur, q, theme=theme, level=_level(state, cur, level), limit=limit, offset=offset
        )


@api.get("/practices/{practice_id}", summary="A good practice", response_model=practices.Practice)
def practice(cur: Cursor, practice_id: PracticeId) -> practices.Practice:
    """Return one practice with its territory and source."""
    return practices.get_practice(cur, practice_id)


@api.post(
    "/practices", summary="Add a practice", response_model=practices.Practice, status_code=201
)
def add_practice(body: practices.PracticeIn, state: State, user: Writer) -> practices.Practice:
    """Add a practice by hand (its source names you)."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        return practices.add_practice(cur, body)


@api.put("/practices/{practice_id}", summary="Edit a practice", response_model=practices.Practice)
def edit_practice(
    practice_id: PracticeId, body: practices.PracticeIn, state: State, user: Writer
) -> practices.Practice:
    """Replace a practice's fields."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        return practices.update_practice(cur, practice_id, body)


@api.delete(
    "/practices/{practice_id}", summary="Delete a practice", response_model=practices.Practice
)
def delete_practice(practice_id: PracticeId, state: State, user: Writer) -> practices.Practice:
    """Soft-delete a practice; return what was deleted."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        return practices.delete_practice(cur, practice_id)


@api.get("/territories/{code}/lessons", summary="Learn from peers", response_model=learn.Lesson)
def lessons(
    cur: Cursor, state: State, code: CodePath, level: LevelQuery = None, k: PeersK = 10
) -> learn.Lesson:
    """Indicators where the territory lags its peers, the better-placed peers and their
    practices on the related themes (``lagging`` lists the indicators)."""
    return learn.learn_from_peers(cur, code, level=_level(state, cur, level), k=k)


@api.get(
    "/territories/{code}/strengths",
    summary="Strengths from the data",
    response_model=list[strengths.Strength],
)
def territory_strengths(
    cur: Cursor,
    state: State,
    code: CodePath,
    level: LevelQuery = None,
    poles: Annotated[bool, Query(description="Detect the poles (seconds).")] = False,
) -> list[strengths.Strength]:
    """Growth, ranks among its peers, sector specialisations and (``poles``) poles."""
    return strengths.strengths(cur, code, level=_level(state, cur, level), poles=poles)


@api.get(
    "/territories/{code}/assets",
    summary="Assets of a territory",
    response_model=list[lib_assets.Asset],
)
def territory_assets(
    cur: Cursor, state: State, code: CodePath, level: LevelQuery = None, kind: KindQuery = None
) -> list[lib_assets.Asset]:
    """Registered assets of the territory and those inside it, then its lycées."""
    return lib_assets.list_assets(cur, code, _level(state, cur, level), kind=kind)


@api.get("/assets", summary="The assets registry", response_model=list[lib_assets.Asset])
def registry(cur: Cursor, kind: KindQuery = None) -> list[lib_assets.Asset]:
    """The registered assets (newest first), optionally of one kind."""
    return lib_assets.list_registry(cur, kind=kind)


@api.post("/assets", summary="Add an asset", response_model=lib_assets.Asset, status_code=201)
def add_asset(body: lib_assets.AssetIn, state: State, user: Writer) -> lib_assets.Asset:
    """Add an asset by hand (its source names you)."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        return lib_assets.add_asset(cur, body)


@api.put("/assets/{asset_id}", summary="Edit an asset", response_model=lib_assets.Asset)
def edit_asset(
    asset_id: AssetId, body: lib_assets.AssetIn, state: State, user: Writer
) -> lib_assets.Asset:
    """Replace a registered asset's fields."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        return lib_assets.update_asset(cur, asset_id, body)


@api.delete("/assets/{asset_id}", summary="Delete an asset", response_model=lib_assets.Asset)
def delete_asset(asset_id: AssetId, state: State, user: Writer) -> lib_assets.Asset:
    """Soft-delete a registered asset (lycées come from their import)."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        return lib_assets.delete_asset(cur, asset_id)


# ----------------------------------------------------------------------------------- pages


def _back(request: Request, path: str) -> Response:
    lang = request.query_params.get("lang")
    return RedirectResponse(path + (f"?lang={lang}" if lang else ""), status_code=303)


@pages.get("/pratiques", response_class=HTMLResponse)
def practices_page(
    request: Request,
    cur: Cursor,
    user: Reader,
    q: Annotated[str, Query(max_length=500)] = "",
    theme: Annotated[str, Query(max_length=80)] = "",
    level: Annotated[str, Query(max_length=40)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The catalogue: French full-text search with theme and level filters, hits
    highlighted."""
    error = None
    try:
        found = practices.search_practices(
            cur, q, theme=theme or None, level=level or None, limit=PAGE_SIZE, offset=offset
        )
    except TerritoriaError as exc:
        if exc.http_status >= 500:
            raise
        error, found = str(exc), practices.search_practices(cur, "", limit=PAGE_SIZE)
    context = {
        "found": found.model_dump(),
        "themes": themes(),
        "levels": LEVELS,
        "f": {"q": q, "theme": theme, "level": level},
        "offset": offset,
        "page_size": PAGE_SIZE,
        "error": error,
        "can_act": user.can("act"),
    }
    return render(request, "practices.html", context)


@pages.get("/pratiques/{practice_id}", response_class=HTMLResponse)
def practice_page(request: Request, cur: Cursor, user: Reader, practice_id: PracticeId) -> Response:
    """One practice: description, results, contact, territory and source."""
    found = practices.get_practice(cur, practice_id)
    return render(request, "practice.html", {"p": found.model_dump(), "can_act": user.can("act")})


@pages.get("/atouts", response_class=HTMLResponse)
def assets_page(
    request: Request,
    cur: Cursor,
    user: Reader,
    code: Annotated[str, Query(max_length=20, pattern=r"^[0-9A-Za-z-]*$")] = "",
    level: Annotated[str, Query(max_length=40)] = "",
    kind: Annotated[str, Query(max_length=40)] = "",
    error: str | None = None,
) -> Response:
    """The assets registry, filtered by territory (with what lies inside it) and kind; an
    add form for editors."""
    problem, place = error, None
    try:
        if code:
            found = lib_assets.list_assets(cur, code, level or None, kind=kind or None)
            place = found[0].territory if found else code
        else:
            found = lib_assets.list_registry(cur, kind=kind or None)
    except TerritoriaError as exc:
        if exc.http_status >= 500:
            raise
        problem, found = str(exc), []
    context = {
        "assets": [a.model_dump() for a in found],
        "kinds": lib_assets.KINDS,
        "levels": LEVELS,
        "f": {"code": code, "level": level, "kind": kind},
        "place": place,
        "error": problem,
        "can_act": user.can("act"),
    }
    status = 200 if problem is None else 422
    return render(request, "assets.html", context, status_code=status)


@pages.post("/atouts", response_class=HTMLResponse)
def add_asset_form(
    request: Request,
    state: State,
    user: Writer,
    name: Annotated[str, Form(max_length=300)],
    kind: Annotated[str, Form(max_length=40)],
    code: Annotated[str, Form(max_length=20)],
    level: Annotated[str, Form(max_length=40)] = "",
    label: Annotated[str, Form(max_length=100)] = "",
    description: Annotated[str, Form(max_length=10_000)] = "",
    date: Annotated[str, Form(max_length=10)] = "",
    reference: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Add an asset from the registry's form, then show its territory's assets."""
    try:
        with state.db.writer(actor=f"web:{user.name}") as cur:
            entry = build(
                lib_assets.AssetIn,
                name=name,
                kind=kind,
                code=code.strip(),
                level=level or None,
                label=label,
                description=description,
                date=date,
                reference=reference,
            )
            added = lib_assets.add_asset(cur, entry)
    except TerritoriaError as exc:
        if exc.http_status >= 500:
            raise
        with state.db.reader() as cur:
            return assets_page(request, cur, user, error=str(exc))
    return _back(request, f"/atouts?code={added.code}&level={added.level}")


# ------------------------------------------------------------------ territory-page sections


def _peers(cur: Any, cache: Any, territory: Any) -> list[learn.PeerRef] | None:
    """The territory's peers, found once for both sections (None: too few data)."""

    def find() -> list[learn.PeerRef] | None:
        try:
            return learn.peers_of(cur, territory.code, territory.level, 10)
        except TerritoriaError:  # e.g. Mayotte holds none of the peers' indicators
            return None

    found: list[learn.PeerRef] | None = cache.get(
        ("marketing-peers", territory.level, territory.code), find
    )
    return found


def _strengths_value(cur: Any, cache: Any, territory: Any) -> dict[str, Any]:
    peers = _peers(cur, cache, territory)
    found = strengths.strengths(
        cur, territory.code, level=territory.level, poles=False, peers=peers or []
    )
    items = lib_assets.list_assets(cur, territory.code, territory.level)
    return {
        "strengths": [s.model_dump() for s in found],
        "assets": [a.model_dump() for a in items[:ASSETS_SHOWN]],
        "assets_total": len(items),
        "more": f"/atouts?code={territory.code}&level={territory.level}",
    }


@territory_section("atouts", order=40, template="_territory_strengths.html")
def _strengths_section(cur: Any, cache: Any, territory: Any, lang: str) -> Any:
    value = cache.get(
        ("marketing-strengths", territory.level, territory.code),
        lambda: _strengths_value(cur, cache, territory),
    )
    return value if value["strengths"] or value["assets"] else None


def _lesson_value(cur: Any, cache: Any, territory: Any) -> dict[str, Any] | None:
    peers = _peers(cur, cache, territory)
    if not peers:
        return None
    lesson = learn.learn_from_peers(cur, territory.code, level=territory.level, peers=peers)
    return lesson.model_dump()


@territory_section("inspirer", order=45, template="_territory_lessons.html")
def _lessons_section(cur: Any, cache: Any, territory: Any, lang: str) -> Any:
    return cache.get(
        ("marketing-lessons", territory.level, territory.code),
        lambda: _lesson_value(cur, cache, territory),
    )
