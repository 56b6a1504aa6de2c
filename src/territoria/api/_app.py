"""The FastAPI application factory, its error handlers and security headers."""

from __future__ import annotations

import importlib
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import anyio.to_thread
import duckdb
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import territoria
from territoria.api._cache import KBCache
from territoria.api._deps import AppState, require
from territoria.api._geo import GeometryCache
from territoria.api._i18n import LANGUAGES
from territoria.api._render import render
from territoria.api._security import LANGUAGE_COOKIE, LoginThrottle, SessionCodec
from territoria.api._settings import WebSettings
from territoria.api.routes import (
    admin,
    audit,
    dossier_pages,
    dossiers,
    economy,
    establishments,
    indicators,
    influence,
    pages,
    people,
    territories,
    watch_alerts,
    watch_items,
    watch_pages,
    watch_sources,
    watch_topics,
)
from territoria.api.routes import state as state_routes
from territoria.errors import AuthenticationFailed, TerritoriaError
from territoria.kb import Database
from territoria.kb.jobs import JobRunner, error_code
from territoria.kb.people import search_persons
from territoria.kb.schedule import Scheduler, register_periodic
from territoria.watch.fetch import due_fetches, fetch_work

__all__ = ["create_app"]

log = logging.getLogger("territoria.api")

_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: https://tile.openstreetmap.org; connect-src 'self'; "
    "font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/openapi.json"


def _error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _page_error(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


async def _territoria_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TerritoriaError)
    status = exc.http_status
    if isinstance(exc, AuthenticationFailed) and not _is_api(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    details: dict[str, Any] = {}
    if hasattr(exc, "field"):
        details["field"] = exc.field
    problems = getattr(exc, "problems", None)
    if problems:
        details["problems"] = list(problems)[:50]
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry = getattr(exc, "retry_after", None)
    if retry:
        headers["Retry-After"] = str(retry)
    if status >= 500:
        log.warning("%s: %s", type(exc).__name__, exc)
    if _is_api(request):
        return JSONResponse(
            _error_body(error_code(exc), str(exc), details or None), status, headers=headers
        )
    return _page_error(request, status, str(exc))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body")]
        problems.append({"field": ".".join(loc) or "body", "message": err.get("msg", "")})
    fields = ", ".join(dict.fromkeys(p["field"] for p in problems))
    message = f"invalid parameter {fields}: " + "; ".join(
        f"{p['field']}: {p['message']}" for p in problems
    )
    if _is_api(request):
        return JSONResponse(
            _error_body(
                "invalid_parameter",
                message,
                {"field": problems[0]["field"] if problems else None, "problems": problems},
            ),
            422,
        )
    return _page_error(request, 422, message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    messages = {404: "not found", 405: "method not allowed"}
    message = str(exc.detail) if exc.detail else messages.get(exc.status_code, "error")
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    if _is_api(request) or exc.status_code == 405:
        return JSONResponse(
            _error_body(code, message), exc.status_code, headers=getattr(exc, "headers", None)
        )
    return _page_error(request, exc.status_code, message)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    reference = uuid.uuid4().hex[:12]
    log.error(
        "internal error %s on %s %s", reference, request.method, request.url.path, exc_info=exc
    )
    message = f"internal error (reference {reference}): the administrator can find it in the log"
    if isinstance(exc, duckdb.Error):
        message = (
            f"database error (reference {reference}): the administrator can find it in the log"
        )
    if _is_api(request):
        return JSONResponse(_error_body("internal_error", message, {"reference": reference}), 500)
    return _page_error(request, 500, message)


class SecurityHeaders:
    """ASGI middleware: security headers on every response; remembers ``?lang=`` in a cookie.

    A plain ASGI middleware rather than ``@app.middleware("http")``, which costs a task and
    a stream per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        lang = (query.get("lang") or [None])[0]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", _CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                if not path.startswith("/static/"):
                    headers.setdefault("Cache-Control", "no-store")
                if lang in LANGUAGES:
                    headers.append(
                        "Set-Cookie",
                        f"{LANGUAGE_COOKIE}={lang}; Max-Age=31536000; Path=/; HttpOnly; "
                        "SameSite=lax",
                    )
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("territoria.api") / name))


# Benchmarking and marketing (peers, comparison, composite indices, practices, assets, portraits),
# networks and crisis: one module each under api/routes/.
_OPTIONAL_ROUTES = (
    "peers",
    "composite",
    "marketing",
    "portrait",
    "economy_v2",
    "networks",
    "incidents",
    "crisis_pages",
)


def create_app(
    settings: WebSettings | None = None,
    *,
    database: Database | None = None,
) -> FastAPI:
    """Build the web application: REST API under ``/api/v1`` and HTML pages.

    Parameters
    ----------
    settings
        Web settings (default: read from ``TERRITORIA_*`` environment variables).
    database
        An already open knowledge base (default: open ``settings.db`` read-write).

    Raises
    ------
    ConfigurationError
        When ``TERRITORIA_SECRET_KEY`` is unset or short outside demo mode.
    DatabaseError
        When the knowledge base cannot be opened for writing (e.g. used by another process).
    """
    settings = settings or WebSettings()
    secret = settings.signing_key()
    db = database or Database.open(
        settings.db, threads=settings.threads, memory_limit=settings.memory_limit
    )
    templates = Jinja2Templates(directory=str(_package_dir("templates")))
    state = AppState(
        settings=settings,
        db=db,
        geometry=GeometryCache(db.reader),
        cache=KBCache(db),
        maps=KBCache(db, size=300),
        jobs=JobRunner(db, {}, workers=settings.plan_workers, per_user=settings.jobs_per_user),
        throttle=LoginThrottle(
            attempts=settings.login_attempts, window=settings.login_window_seconds
        ),
        codec=SessionCodec(secret, max_age=int(settings.session_hours * 3600)),
        templates=templates,
    )

    state.jobs.register("plan", influence.plan_work(state))
    state.jobs.register("watch-digest", watch_alerts.digest_work(state))
    state.jobs.register("watch-fetch", fetch_work(db, settings))
    register_periodic("watch-fetch", "watch-fetch", due_fetches)
    register_periodic("watch-digest", "watch-digest", watch_alerts.digest_due(settings))
    scheduler = Scheduler(db, state.jobs, every=settings.watch_schedule_seconds)
    ready_once = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.route_threads
        if settings.warm_cache:
            threading.Thread(
                target=_warm, args=(state,), name="territoria-warm", daemon=True
            ).start()
        requeued = await anyio.to_thread.run_sync(state.jobs.start)
        if requeued:
            log.info("%d plan(s) interrupted by the last stop queued again", requeued)
        scheduler.start()  # periodic jobs (watch fetches, digests) once the runner runs
        yield
        scheduler.stop()
        state.jobs.shutdown()
        if database is None:
            db.close()
        else:  # the caller closes it; the file must hold every committed write already
            db.checkpoint()

    app = FastAPI(
        title="Territoria",
        version=territoria.__version__,
        description="Territorial intelligence for French territories: knowledge base, maps, "
        "influence planning. Authenticate with the session cookie of the web pages or "
        "'Authorization: Bearer TOKEN' ('territoria users token NAME').",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.territoria = state
    app.add_exception_handler(TerritoriaError, _territoria_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(_package_dir("static"))), name="static")
    app.include_router(territories.router)
    app.include_router(economy.router)
    app.include_router(influence.router)
    app.include_router(pages.router)
    app.include_router(admin.router)
    app.include_router(audit.router)
    app.include_router(indicators.router)
    app.include_router(establishments.router)
    app.include_router(people.router)
    app.include_router(state_routes.router)
    app.include_router(people.pages)
    app.include_router(dossiers.router)
    app.include_router(dossier_pages.router)
    app.include_router(watch_alerts.router)
    app.include_router(watch_sources.router)
    app.include_router(watch_items.router)
    app.include_router(watch_topics.router)
    app.include_router(watch_pages.router)
    if settings.demo:  # the watch's demo feeds, for 'territoria watch demo' and the reader
        app.include_router(watch_pages.demo_router)
    # Route modules of later capabilities register themselves when present (each exposes
    # `routers`, a tuple of APIRouter); a module that is not there yet is skipped.
    for name in _OPTIONAL_ROUTES:
        try:
            module = importlib.import_module(f"territoria.api.routes.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"territoria.api.routes.{name}":
                raise
            continue
        for router in module.routers:
            app.include_router(router)
        register_jobs = getattr(module, "register_jobs", None)
        if register_jobs is not None:  # its job kinds, before the runner resumes queued jobs
            register_jobs(state)

    read = [Depends(require("read"))]

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        """200 while the process lives (for a supervisor's liveness probe); holds no data."""
        return JSONResponse({"status": "alive"})

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        """503 until the warm-up (profile lookups in memory, jobs started) is done, then 200.

        Map geometries are warmed afterwards, in the background: a map asked for meanwhile
        computes its own level.
        """
        # once ready, stay ready: a write that reloads the profile lookups (any import) must
        # not take the server out of a load balancer's rotation, profiles come from queries
        ready = ready_once.is_set() or (db.warm and state.jobs.started)
        if ready:
            ready_once.set()
        return JSONResponse(
            {"status": "ready" if ready else "warming up"},
            status_code=200 if ready else 503,
            headers=None if ready else {"Retry-After": "1"},
        )

    @app.get("/openapi.json", include_in_schema=False, dependencies=read)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/api/docs", include_in_schema=False, dependencies=read)
    def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Territoria API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )
        # Swagger UI starts from an inline script: allow it on this page only
        page.headers["Content-Security-Policy"] = _CSP.replace(
            "script-src 'self'", "script-src 'self' 'unsafe-inline'"
        )
        return page

    return app


def _warm(state: AppState) -> None:
    # on a few cores, warming maps while the profile lookups load would delay readiness
    deadline = time.monotonic() + 120
    while not state.db.warm and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        state.geometry.warm()
    except Exception:  # warming is an optimisation: requests compute what they need
        log.exception("precomputing map geometries failed")
    try:
        with state.db.shared() as shared:  # the people directory's index of names
            search_persons(shared, "warm", limit=1)
    except TerritoriaError:  # an empty knowledge base: no person to index yet
        pass
    except Exception:  # as above: the first person search builds the index
        log.exception("indexing the names of persons failed")
