"""HTML pages: sign-in, home, map explorer, territory and pole pages, influence planner, actions
log."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from territoria.accounts import User, authenticate, end_session, open_session
from territoria.api import _data
from territoria.api._deps import CurrentUser, Cursor, Lang, State, field, require
from territoria.api._geo import OVERSEAS_INSETS
from territoria.api._i18n import Translator
from territoria.api._plan_view import plan_context
from territoria.api._render import render
from territoria.api._sections import buttons_for, sections_for
from territoria.api._security import LOGIN_COOKIE, SESSION_COOKIE, client_address
from territoria.api.routes.influence import themes
from territoria.api.routes.watch_pages import WATCH_SHOWN
from territoria.errors import AuthenticationFailed, TerritoriaError
from territoria.influence import actions as action_log
from territoria.influence import agora
from territoria.kb import territories as kt
from territoria.kb.establishments import lycees
from territoria.kb.jobs import to_jsonable
from territoria.watch.related import items_for_territory

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(require("read"))]

_LEVEL_ORDER = ("region", "departement", "epci", "commune", "canton", "circonscription")
#: Lycées a territory page lists (all of a commune's; the first of a département's).
LYCEES_SHOWN = 60


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    state: State,
    tr: Lang,
    next_: Annotated[str | None, Query(alias="next", max_length=500)] = None,
) -> Response:
    """The sign-in form (the only page open without an account)."""
    return _login_form(request, state, tr, _safe_next(next_), error=None)


def _login_form(
    request: Request,
    state: Any,
    tr: Translator,
    target: str,
    *,
    error: str | None,
    status: int = 200,
) -> Response:
    cookie, token = state.codec.new_login_token()
    response = render(
        request,
        "login.html",
        {"next": target, "login_token": token, "error": error},
        tr=tr,
        status_code=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        cookie,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
    )
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    state: State,
    tr: Lang,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next_: Annotated[str, Form(alias="next", max_length=500)] = "/",
) -> Response:
    """Check the password (throttled), open a session and go where the user wanted.

    A failed sign-in only reads the knowledge base: it takes no write lock and leaves every
    cache as it was.
    """
    target = _safe_next(next_)
    peer = request.client.host if request.client else None
    address = client_address(
        peer, request.headers.get("x-forwarded-for"), state.settings.proxy_networks()
    )
    try:
        state.throttle.check(address, username)
        state.codec.check_login_token(request.cookies.get(LOGIN_COOKIE), csrf_token)
        with state.db.reader() as cur:
            user = authenticate(cur, username, password)
    except AuthenticationFailed as exc:
        state.throttle.failure(address, username)
        message = tr.gettext("Nom ou mot de passe incorrect.")
        if "expired" in str(exc):
            message = tr.gettext("Le formulaire a expiré : réessayez.")
        return _login_form(request, state, tr, target, error=message, status=401)
    except TerritoriaError as exc:  # too many attempts
        response = _login_form(
            request,
            state,
            tr,
            target,
            error=tr.gettext("Trop de tentatives : réessayez dans quelques minutes."),
            status=exc.http_status,
        )
        retry = getattr(exc, "retry_after", None)
        if retry:
            response.headers["Retry-After"] = str(retry)
        return response
    state.throttle.success(address, username)
    # a new session row: nothing cached derives from it, so the caches stay warm
    with state.db.writer(actor=f"web:{user.name}", invalidate=False) as cur:
        session_id, _session = open_session(
            cur,
            user.name,
            hours=state.settings.session_hours,
            address=address,
            user_agent=request.headers.get("user-agent"),
            password=password,
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=state.codec.max_age,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, state: State, user: CurrentUser) -> Response:
    """End the session at once (the form carries the CSRF token): its cookie, replayed, is
    refused."""
    session_id = getattr(request.state, "session_id", None)
    if session_id:
        with state.db.writer(actor=f"web:{user.name}") as cur:
            end_session(cur, session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, state: State, tr: Lang, cur: Cursor, user: Reader) -> Response:
    """Home: headline figures and the search box."""
    return render(request, "home.html", {"overview": kt.overview(cur)})


@router.get("/carte", response_class=HTMLResponse)
def map_page(
    request: Request,
    state: State,
    tr: Lang,
    cur: Cursor,
    user: Reader,
    level: Annotated[str, Query(max_length=40)] = "departement",
    parent: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9A-Za-z-]*$")] = None,
    parent_level: Annotated[str | None, Query(max_length=40)] = None,
    indicator: Annotated[str, Query(max_length=100)] = "population",
    method: Annotated[str, Query(pattern="^(quantiles|jenks|equal)$")] = "quantiles",
    classes: Annotated[int, Query(ge=2, le=9)] = 5,
    show_poles: Annotated[bool, Query(alias="poles")] = False,
) -> Response:
    """The map explorer: any level, coloured by any indicator, within France or a territory;
    with SIRENE establishments, a layer of the detected poles."""
    with field("level"):
        key = kt.check_level(cur, level)
    within = None
    if parent:
        with field("parent"):
            within = kt.resolve_parent(cur, parent, parent_level).to_dict()
    indicators = [i.to_dict() for i in _data.indicators(state.cache, cur)]
    regions = kt.list_territories(cur, level="region", limit=100).items
    departements = kt.list_territories(cur, level="departement", limit=200).items
    config = {
        "level": key,
        "parent": within,
        "indicator": indicator,
        "method": method,
        "classes": classes,
        "indicators": indicators,
        "poles": _data.has_establishments(state.cache, cur),
        "show_poles": show_poles,
        "insets": _insets(state, cur),
    }
    return render(
        request,
        "map.html",
        {
            "config": config,
            "levels": [lv for lv in _LEVEL_ORDER],
            "indicators": indicators,
            "regions": regions,
            "departements": departements,
            "within": within,
        },
    )


def _insets(state: Any, cur: Any) -> list[dict[str, Any]]:
    """The overseas départements of the knowledge base, framed by their bounding boxes."""
    found = []
    for code in OVERSEAS_INSETS:
        with contextlib.suppress(TerritoriaError):
            card = _data.territory(state.cache, cur, code, level="departement")
            if card.bbox:
                found.append({"code": card.code, "name": card.name, "bbox": card.bbox})
    return found


@router.get("/territoires/{code}", response_class=HTMLResponse)
def territory_short(
    cur: Cursor, user: Reader, code: Annotated[str, PathParam(max_length=20)]
) -> Response:
    """Redirect ``/territoires/CODE`` to the territory's canonical address."""
    found = kt.find_territory(cur, code)
    return RedirectResponse(f"/territoires/{found.level}/{found.code}", status_code=307)


@router.get("/territoires/{level}/{code}", response_class=HTMLResponse)
def territory_page(
    request: Request,
    state: State,
    tr: Lang,
    cur: Cursor,
    user: Reader,
    level: Annotated[str, PathParam(max_length=40)],
    code: Annotated[str, PathParam(max_length=20)],
) -> Response:
    """A territory's page: figures and sources, parents, map, officials, contact, charts."""
    with field("level"):
        key = kt.check_level(cur, level)
    territory = _data.territory(state.cache, cur, code, level=key)
    profile = _data.profile(state.cache, cur, territory.code, level=territory.level)
    context = {
        "t": territory,
        "crumbs": territory.parents,
        "children": territory.children,
        "profile": profile,
        "economy": _data.has_establishments(state.cache, cur),
        "lycees": state.cache.get(
            ("lycees", territory.level, territory.code),
            lambda: lycees(cur, territory.level, territory.code, limit=LYCEES_SHOWN),
        ),
        "page_data": {
            "level": territory.level,
            "code": territory.code,
            "name": territory.name,
            "population": territory.population,
            "indicators": profile["indicators"],
        },
        "watch": items_for_territory(cur, territory.level, territory.code, limit=WATCH_SHOWN),
        "watch_more": f"/veille?territory={territory.code}&level={territory.level}",
        "sections": sections_for(cur, state.cache, territory, tr.language),
        "buttons": buttons_for(territory),
    }
    return render(request, "territory.html", context)


@router.get("/influence", response_class=HTMLResponse)
def influence_page(
    request: Request,
    state: State,
    tr: Lang,
    cur: Cursor,
    user: Reader,
    code: Annotated[str | None, Query(max_length=20)] = None,
    level: Annotated[str | None, Query(max_length=40)] = None,
    theme: Annotated[str | None, Query(max_length=80)] = None,
    candidates: Annotated[
        str | None, Query(max_length=210, pattern=r"^(all|pole:[^/]+-[0-9A-Za-z]{5})$")
    ] = None,
    plan: Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")] = None,
) -> Response:
    """The influence planner: territory and theme (or targets), k or budget, then the plan;
    ``candidates=pole:ID`` restricts the plan to a pole's firms and knowledge actors;
    ``plan=ID`` shows that plan (its progress, or the finished plan)."""
    pole = None
    if candidates and candidates.startswith("pole:"):
        with field("candidates"):
            pole = _data.pole(state.cache, cur, candidates.removeprefix("pole:"))
    territory = None
    if code:
        try:
            territory = kt.find_territory(cur, code, level=level)
        except TerritoriaError:
            territory = None
    context = {
        "territory": territory,
        "themes": [t.to_dict() for t in themes()],
        "planner_ready": True,
        "can_plan": user.can("plan"),
        "plans": [
            _with_territory(state, cur, j.to_dict(with_result=False))
            for j in state.jobs.list("plan", limit=10)
        ],
        "theme": theme,
        "pole": pole,
        **plan_context(tr, state.jobs.get(plan).to_dict() if plan else None),
    }
    return render(request, "influence.html", context)


@router.get("/influence/plans/{plan_id}", response_class=HTMLResponse)
def influence_plan_fragment(
    request: Request,
    state: State,
    tr: Lang,
    user: Reader,
    plan_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")],
) -> Response:
    """A finished plan as the planner page shows it (the page's script inserts it)."""
    job = state.jobs.get(plan_id).to_dict()
    context = {**plan_context(tr, job), "plan": job.get("result") or {}}
    return render(request, "_plan_result.html", context)


def _with_territory(state: Any, cur: Any, job: dict[str, Any]) -> dict[str, Any]:
    """A recent plan with its territory (level and name, not a raw code)."""
    params = job.get("params") or {}
    job["territory"] = None
    # a territory removed since keeps its code
    with contextlib.suppress(TerritoriaError):
        if params.get("code"):
            job["territory"] = _data.territory(
                state.cache, cur, params["code"], level=params.get("level")
            ).to_dict()
    return job


@router.get("/poles/{pole_id}", response_class=HTMLResponse)
def pole_page(
    request: Request,
    state: State,
    tr: Lang,
    cur: Cursor,
    user: Reader,
    pole_id: Annotated[str, PathParam(max_length=200)],
) -> Response:
    """A pole's page: label, sectors, communes, firms, knowledge and public actors, footprint
    on a small map, and a link to plan an influence action with its actors."""
    pole = _data.pole(state.cache, cur, pole_id)
    page_data = {
        "id": pole["id"],
        "label": pole["label"],
        "emerging": pole["emerging"],
        "hull": pole["hull"],
        "centre": pole["centre"],
        "synthetic": pole["synthetic"],
    }
    return render(request, "pole.html", {"pole": pole, "page_data": page_data})


@router.get("/actions", response_class=HTMLResponse)
def actions_page(
    request: Request,
    state: State,
    tr: Lang,
    cur: Cursor,
    user: Reader,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
) -> Response:
    """The actions log: logged actions, a form to add one, the annual register report."""
    actions = to_jsonable(action_log.list_actions(cur, year=year))
    context = {"actions": actions, "error": None, "year": year, "can_act": user.can("act")}
    context["register"] = {"types": agora.ACTION_TYPES, "decisions": agora.DECISION_TYPES}
    return render(request, "actions.html", context)
