"""Application state and the FastAPI dependencies every route shares (user, cursor, language)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import duckdb
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from territoria.accounts import User
from territoria.api import _data
from territoria.api._cache import KBCache
from territoria.api._geo import GeometryCache
from territoria.api._i18n import Translator
from territoria.api._render import request_translator
from territoria.api._security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    LoginThrottle,
    SessionCodec,
    same_token,
)
from territoria.api._settings import WebSettings
from territoria.errors import AuthenticationFailed, PermissionDenied, TerritoriaError
from territoria.influence.network import SERVED_GRAPHS, GraphMemo
from territoria.kb._database import Database
from territoria.kb.jobs import JobRunner

__all__ = [
    "AppState",
    "CurrentUser",
    "Cursor",
    "Lang",
    "State",
    "field",
    "require",
]

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class AppState:
    """What the application holds for its lifetime."""

    settings: WebSettings
    db: Database
    geometry: GeometryCache
    cache: KBCache
    maps: KBCache
    jobs: JobRunner
    throttle: LoginThrottle
    codec: SessionCodec
    templates: Jinja2Templates
    #: the influence graph in memory, reloaded when its fingerprint changes (plans)
    graphs: GraphMemo = dataclasses.field(default_factory=lambda: SERVED_GRAPHS)


async def get_state(request: Request) -> AppState:
    """Return the application's state."""
    state: AppState = request.app.state.territoria
    return state


State = Annotated[AppState, Depends(get_state)]


async def get_cursor(state: State) -> AsyncIterator[duckdb.DuckDBPyConnection]:
    """Yield a read cursor for the request (cheap: no thread hop to open it)."""
    with state.db.reader() as cur:
        yield cur


Cursor = Annotated[duckdb.DuckDBPyConnection, Depends(get_cursor)]


async def get_language(request: Request, state: State) -> Translator:
    """Return the translator of the request: ``?lang=``, then the cookie, then the default."""
    return request_translator(request, state.settings.language)


Lang = Annotated[Translator, Depends(get_language)]


async def _csrf_from_request(request: Request) -> str | None:
    token = request.headers.get(CSRF_HEADER)
    if token:
        return token
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def get_user_dep(request: Request, state: State) -> User:
    """Return the signed-in user (session cookie or API token); check CSRF on writes.

    Raises
    ------
    AuthenticationFailed
        No valid credential (the API answers 401, pages redirect to the sign-in page).
    PermissionDenied
        A state-changing request with a session cookie but without its CSRF token.
    """
    cached: User | None = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        with state.db.reader() as cur:
            user = _data.token_user(state.cache, cur, header[7:].strip())
        request.state.user = user
        request.state.csrf = None
        return user
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise AuthenticationFailed("sign in first (or send 'Authorization: Bearer TOKEN')")
    with state.db.reader() as cur:
        session = _data.session(state.cache, cur, session_id)
    if not session.active():
        raise AuthenticationFailed(
            "your session has ended (signed out, expired, or the account changed): sign in again"
        )
    user = session.user
    csrf = state.codec.csrf_token(session_id)
    if request.method in _UNSAFE and not same_token(await _csrf_from_request(request), csrf):
        msg = "missing or wrong CSRF token: reload the page and try again"
        raise PermissionDenied(msg)
    request.state.user = user
    request.state.csrf = csrf
    request.state.session_id = session_id
    return user


CurrentUser = Annotated[User, Depends(get_user_dep)]


def require(permission: str) -> Callable[..., Any]:
    """Return a dependency that demands ``permission`` (read, plan, act, admin) of the user."""

    async def check(user: CurrentUser) -> User:
        if not user.can(permission):
            msg = f"your role {user.role!r} does not allow this ({permission!r} is needed)"
            raise PermissionDenied(msg)
        return user

    check.__name__ = f"require_{permission}"
    return check


@contextlib.contextmanager
def field(name: str) -> Iterator[None]:
    """Name the request field at fault in 422 errors raised inside the block."""
    try:
        yield
    except TerritoriaError as exc:
        if exc.http_status == 422 and not hasattr(exc, "field"):
            exc.field = name  # type: ignore[attr-defined]
        raise
