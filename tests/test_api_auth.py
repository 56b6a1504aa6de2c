"""Accounts in the web application: every route needs one, sessions, CSRF, tokens, roles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from territoria.accounts import issue_token, set_password
from territoria.api import WebSettings, create_app
from territoria.errors import ConfigurationError
from territoria.kb import connect
from test_api_helpers import PASSWORDS, SECRET, login, login_form_token, make_app, make_kb

PUBLIC = {("GET", "/login"), ("POST", "/login")}
SAMPLES = {
    "code": "35238",
    "level": "commune",
    "plan_id": "0" * 32,
    "action_id": "1",
    "pole_id": "g01-35238",
}


@pytest.fixture(scope="module")
def kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kb(mini_db_path, tmp_path_factory.mktemp("auth"))


@pytest.fixture
def app(kb: Path) -> Iterator[FastAPI]:
    application = make_app(kb)
    yield application
    application.state.territoria.db.close()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, concrete path) of the application, included routers flattened."""
    found = []
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.route, APIRoute):
            continue  # the static files mount
        for method in sorted(context.methods or ()):
            if method == "HEAD":
                continue
            path = context.path
            for name, value in SAMPLES.items():
                path = path.replace("{" + name + "}", value)
            assert "{" not in path, f"no sample value for a parameter of {context.path}"
            found.append((method, path))
    return found


def test_every_route_requires_an_account(app: FastAPI, client: TestClient) -> None:
    routes = _routes(app)
    assert len(routes) >= 25
    checked = 0
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        response = client.request(method, path, follow_redirects=False)
        if path.startswith("/api/") or path == "/openapi.json":
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["error"]["code"] == "authentication_failed"
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login?next=")
        checked += 1
    assert checked == len(routes) - len(PUBLIC)


def test_static_assets_are_public_but_hold_no_data(client: TestClient) -> None:
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/static/vendor/leaflet/LICENSE.txt").status_code == 200


def test_login_then_pages_and_logout(client: TestClient) -> None:
    token = login_form_token(client, "/login?next=/carte")
    response = client.post(
        "/login",
        data={
            "username": "viewer",
            "password": PASSWORDS["viewer"],
            "csrf_token": token,
            "next": "/carte",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/carte"
    cookie = response.headers["set-cookie"]
    assert "territoria_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/carte")
    assert page.status_code == 200
    assert "viewer" in page.text
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert csrf
    # logging out needs the CSRF token
    assert client.post("/logout", follow_redirects=False).status_code == 403
    out = client.post("/logout", data={"csrf_token": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/carte", follow_redirects=False).status_code == 303


def test_open_redirects_are_refused(client: TestClient) -> None:
    token = login_form_token(client)
    response = client.post(
        "/login",
        data={
            "username": "viewer",
            "password": PASSWORDS["viewer"],
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_login_form_needs_its_csrf_token(client: TestClient) -> None:
    client.get("/login")
    response = client.post(
        "/login",
        data={"username": "viewer", "password": PASSWORDS["viewer"], "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert "territoria_session" not in response.headers.get("set-cookie", "")


def test_wrong_password_then_rate_limit(kb: Path) -> None:
    app = make_app(kb, login_attempts=3)
    with TestClient(app) as client:
        for _ in range(3):
            token = login_form_token(client)
            response = client.post(
                "/login",
                data={"username": "admin", "password": "not the password", "csrf_token": token},
            )
            assert response.status_code == 401
            assert "Nom ou mot de passe incorrect" in response.text
        token = login_form_token(client)
        blocked = client.post(
            "/login",
            data={"username": "admin", "password": PASSWORDS["admin"], "csrf_token": token},
            follow_redirects=False,
        )
        assert blocked.status_code == 429
        assert "Trop de tentatives" in blocked.text
    app.state.territoria.db.close()


def test_api_writes_with_a_session_need_the_csrf_header(client: TestClient) -> None:
    csrf = login(client, "analyst")
    body = {"code": "35238", "level": "commune", "theme": "economic-development", "k": 2}
    refused = client.post("/api/v1/influence/plans", json=body)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    accepted = client.post("/api/v1/influence/plans", json=body, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 202


def test_bearer_token(kb: Path, client: TestClient) -> None:
    con = connect(kb)
    token = issue_token(con, "viewer")
    con.close()
    # the app holds the database: the token was written before the app opened it
    headers = {"Authorization": f"Bearer {token}"}
    app = make_app(kb)
    with TestClient(app) as c:
        me = c.get("/api/v1/me", headers=headers)
        assert me.status_code == 200
        assert me.json()["name"] == "viewer" and me.json()["role"] == "viewer"
        wrong = c.get("/api/v1/me", headers={"Authorization": "Bearer trt_nope"})
        assert wrong.status_code == 401
        assert "invalid API token" in wrong.json()["error"]["message"]
        # a viewer's token cannot start plans (and needs no CSRF token: no cookie involved)
        denied = c.post(
            "/api/v1/influence/plans",
            json={"code": "35238", "theme": "roads", "k": 1},
            headers=headers,
        )
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "permission_denied"
    app.state.territoria.db.close()


def test_viewer_cannot_write_actions(client: TestClient) -> None:
    csrf = login(client, "viewer")
    response = client.post(
        "/api/v1/actions",
        json={"date": "2026-05-01", "type": "meeting", "subject": "Train de nuit"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 403
    assert "viewer" in response.json()["error"]["message"]


def test_password_change_ends_the_session(app: FastAPI, client: TestClient) -> None:
    login(client, "admin")
    assert client.get("/api/v1/me").status_code == 200
    with app.state.territoria.db.writer() as cur:
        set_password(cur, "admin", "a completely new password")
    ended = client.get("/api/v1/me")
    assert ended.status_code == 401
    assert "session has ended" in ended.json()["error"]["message"]
    with app.state.territoria.db.writer() as cur:
        set_password(cur, "admin", PASSWORDS["admin"])


def test_forged_session_cookie_is_refused(client: TestClient) -> None:
    client.cookies.set("territoria_session", "eyJ1IjoiYWRtaW4ifQ.forged.signature")
    assert client.get("/api/v1/me").status_code == 401


def test_secret_key_is_required_outside_demo_mode(kb: Path) -> None:
    with pytest.raises(ConfigurationError, match="TERRITORIA_SECRET_KEY is not set"):
        create_app(WebSettings(db=kb, secret_key="", warm_cache=False))
    with pytest.raises(ConfigurationError, match="too short"):
        create_app(WebSettings(db=kb, secret_key="short", warm_cache=False))
    assert len(WebSettings(db=kb, demo=True).signing_key()) >= 32
    assert WebSettings(db=kb, secret_key=SECRET).signing_key() == SECRET


def test_security_headers(client: TestClient) -> None:
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
