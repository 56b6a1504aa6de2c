"""Accounts in the web application: every route needs one, server-side sessions, CSRF, tokens,
roles, revocation, sign-in throttling and proxy headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from territoria.accounts import issue_token, set_password, set_role
from territoria.api import WebSettings, create_app
from territoria.api._security import LoginThrottle, client_address
from territoria.api._settings import parse_networks
from territoria.errors import ConfigurationError, TooManyAttempts
from test_api_helpers import PASSWORDS, SECRET, login, login_form_token, make_app, make_kb

PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/healthz"), ("GET", "/readyz")}
SAMPLES = {
    "code": "35238",
    "level": "commune",
    "plan_id": "0" * 32,
    "action_id": "1",
    "year": "2026",
    "pole_id": "g01-35238",
    "name": "viewer",
    "person_id": "p-f32e7ff2540601",
    "dossier_id": "1",
    "kind": "steps",
    "item_id": "1",
    "source_id": "1",
    "topic_id": "1",
    "subscription_id": "1",
    "job_id": "0123456789abcdef",
    "incident_id": "1",
    "practice_id": "1",
    "asset_id": "1",
    "network_id": "1",
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
    session = client.cookies["territoria_session"]
    out = client.post("/logout", data={"csrf_token": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/carte", follow_redirects=False).status_code == 303
    # the cookie, replayed after signing out, opens nothing
    client.cookies.set("territoria_session", session)
    replayed = client.get("/api/v1/me")
    assert replayed.status_code == 401
    assert "session has ended" in replayed.json()["error"]["message"]
    page = client.get("/carte", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")


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


def _sign_in(client: TestClient, name: str, password: str, **headers: str) -> int:
    token = login_form_token(client)
    response = client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )
    return response.status_code


def test_wrong_password_then_rate_limit(kb: Path) -> None:
    app = make_app(kb, login_attempts=3)
    now = [1000.0]
    app.state.territoria.throttle = LoginThrottle(attempts=3, window=300, clock=lambda: now[0])
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
        assert blocked.headers["retry-after"] == "1"
        assert "Trop de tentatives" in blocked.text
        now[0] += 1.5  # the backoff is over: the right password opens a session
        assert _sign_in(client, "admin", PASSWORDS["admin"]) == 303
    app.state.territoria.db.close()


def test_failed_sign_ins_from_one_address_do_not_lock_the_user_out(kb: Path) -> None:
    app = make_app(kb)
    with TestClient(app, client=("203.0.113.5", 4000)) as attacker:
        for _ in range(5):
            assert _sign_in(attacker, "admin", "guessing the password") == 401
        assert _sign_in(attacker, "admin", PASSWORDS["admin"]) == 429
        # other user names from that address still get their free attempts
        assert _sign_in(attacker, "viewer", PASSWORDS["viewer"]) == 303
    with TestClient(app, client=("198.51.100.7", 4000)) as real_user:
        assert _sign_in(real_user, "admin", PASSWORDS["admin"]) == 303
        assert real_user.get("/api/v1/me").json()["name"] == "admin"
    app.state.territoria.db.close()


def test_a_failed_sign_in_writes_nothing_and_keeps_the_caches(app: FastAPI) -> None:
    state = app.state.territoria
    computed: list[str] = []

    def compute() -> str:
        computed.append("map")
        return "cached map"

    with TestClient(app) as client:
        state.maps.get(("probe",), compute)
        with state.db.reader() as cur:
            before = cur.execute(
                "SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM app_session)"
            ).fetchone()
        generation = state.db.generation
        for _ in range(3):
            assert _sign_in(client, "admin", "not the password") == 401
        assert state.db.generation == generation
        assert state.maps.get(("probe",), compute) == "cached map"
        assert computed == ["map"]  # not computed again: the cache was kept
        with state.db.reader() as cur:
            after = cur.execute(
                "SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM app_session)"
            ).fetchone()
        assert after == before


def test_forwarded_for_is_ignored_from_an_untrusted_peer(kb: Path) -> None:
    app = make_app(kb)  # no trusted proxies: the header is anyone's say-so
    with TestClient(app, client=("203.0.113.9", 4000)) as client:
        for i in range(5):
            forged = {"X-Forwarded-For": f"192.0.2.{i + 1}"}
            assert _sign_in(client, "analyst", "guessing the password", **forged) == 401
        fresh = {"X-Forwarded-For": "192.0.2.200"}
        assert _sign_in(client, "analyst", PASSWORDS["analyst"], **fresh) == 429
    with app.state.territoria.db.reader() as cur:
        seen = cur.execute("SELECT DISTINCT address FROM app_session").fetchall()
    assert ("192.0.2.200",) not in seen
    app.state.territoria.db.close()


def test_forwarded_for_is_honoured_from_a_trusted_proxy(kb: Path) -> None:
    app = make_app(kb, trusted_proxies="10.0.0.0/8, 127.0.0.1")
    with TestClient(app, client=("10.0.0.2", 4000)) as proxy:
        attacker = {"X-Forwarded-For": "203.0.113.66"}
        for _ in range(5):
            assert _sign_in(proxy, "analyst", "guessing the password", **attacker) == 401
        assert _sign_in(proxy, "analyst", PASSWORDS["analyst"], **attacker) == 429
        real_user = {"X-Forwarded-For": "198.51.100.20, 10.0.0.7"}
        assert _sign_in(proxy, "analyst", PASSWORDS["analyst"], **real_user) == 303
    with app.state.territoria.db.reader() as cur:
        row = cur.execute(
            "SELECT address FROM app_session WHERE user_name = 'analyst' "
            "ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
    assert row == ("198.51.100.20",)
    app.state.territoria.db.close()


def test_client_address() -> None:
    trusted = parse_networks("10.0.0.0/8,::1")
    assert client_address("203.0.113.5", "198.51.100.1", trusted) == "203.0.113.5"
    assert client_address("10.0.0.2", "198.51.100.1", trusted) == "198.51.100.1"
    # a client cannot hide behind a forged left-most entry: the right-most untrusted one counts
    chain = "192.0.2.99, 198.51.100.1, 10.0.0.9"
    assert client_address("10.0.0.2", chain, trusted) == "198.51.100.1"
    assert client_address("10.0.0.2", "not-an-address", trusted) == "10.0.0.2"
    assert client_address("::1", "2001:db8::5", trusted) == "2001:db8::5"
    assert client_address("10.0.0.2", "198.51.100.1", ()) == "10.0.0.2"
    with pytest.raises(ConfigurationError, match=r"'10\.0\.0\.300'"):
        parse_networks("10.0.0.300")
    with pytest.raises(ValueError, match="TERRITORIA_TRUSTED_PROXIES"):
        WebSettings(trusted_proxies="proxy.example")


def test_throttle_backs_off_per_address_and_user_and_caps_an_address() -> None:
    now = [0.0]
    throttle = LoginThrottle(attempts=2, window=60, address_attempts=6, clock=lambda: now[0])

    def waits(address: str, name: str) -> int:
        try:
            throttle.check(address, name)
        except TooManyAttempts as exc:
            return int(exc.retry_after)  # type: ignore[attr-defined]
        return 0

    delays = []
    for _ in range(5):
        throttle.failure("a", "alice")
        delays.append(waits("a", "alice"))
        now[0] += delays[-1]
    assert delays == [0, 1, 2, 4, 8]  # two free failures, then each wait doubles
    assert waits("b", "alice") == 0  # never per user alone
    throttle.failure("a", "bob")
    # six failures from "a" within the window (at 0 s to 15 s): until the first is forgotten
    assert now[0] == 15 and waits("a", "carol") == 45
    now[0] += 61
    assert waits("a", "carol") == 0 and waits("a", "alice") == 0  # all forgotten
    throttle.failure("a", "alice")
    assert waits("a", "alice") == 0  # the count started again
    throttle.success("a", "alice")


def test_api_writes_with_a_session_need_the_csrf_header(client: TestClient) -> None:
    csrf = login(client, "analyst")
    body = {"code": "35238", "level": "commune", "theme": "economic-development", "k": 2}
    refused = client.post("/api/v1/influence/plans", json=body)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    accepted = client.post("/api/v1/influence/plans", json=body, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 202


def test_bearer_token(app: FastAPI, client: TestClient) -> None:
    with app.state.territoria.db.writer() as cur:
        token = issue_token(cur, "viewer")
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["name"] == "viewer" and me.json()["role"] == "viewer"
    wrong = client.get("/api/v1/me", headers={"Authorization": "Bearer trt_nope"})
    assert wrong.status_code == 401
    assert "invalid API token" in wrong.json()["error"]["message"]
    # a viewer's token cannot start plans (and needs no CSRF token: no cookie involved)
    denied = client.post(
        "/api/v1/influence/plans",
        json={"code": "35238", "theme": "roads", "k": 1},
        headers=headers,
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"


def test_viewer_cannot_write_actions(client: TestClient) -> None:
    csrf = login(client, "viewer")
    response = client.post(
        "/api/v1/actions",
        json={"date": "2026-05-01", "type": "meeting", "subject": "Train de nuit"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 403
    assert "viewer" in response.json()["error"]["message"]


def test_password_change_ends_the_session_and_the_tokens(app: FastAPI, client: TestClient) -> None:
    state = app.state.territoria
    login(client, "admin")
    with state.db.writer() as cur:
        token = issue_token(cur, "admin")
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    with state.db.writer() as cur:
        set_password(cur, "admin", "a completely new password")
    ended = client.get("/api/v1/me")
    assert ended.status_code == 401
    assert "session has ended" in ended.json()["error"]["message"]
    old_token = client.get("/api/v1/me", headers=bearer)
    assert old_token.status_code == 401
    assert "invalid API token" in old_token.json()["error"]["message"]
    with state.db.writer() as cur:
        set_password(cur, "admin", PASSWORDS["admin"])


def test_role_change_ends_the_session(app: FastAPI, client: TestClient) -> None:
    state = app.state.territoria
    login(client, "analyst")
    assert client.get("/api/v1/me").json()["role"] == "analyst"
    with state.db.writer() as cur:
        set_role(cur, "analyst", "viewer")
    assert client.get("/api/v1/me").status_code == 401
    login(client, "analyst")
    assert client.get("/api/v1/me").json()["role"] == "viewer"
    with state.db.writer() as cur:
        set_role(cur, "analyst", "analyst")


def test_an_expired_session_ends_at_once(app: FastAPI, client: TestClient) -> None:
    state = app.state.territoria
    login(client, "viewer")
    assert client.get("/api/v1/me").status_code == 200
    with state.db.writer() as cur:
        cur.execute("UPDATE app_session SET expires_at = created_at WHERE user_name = 'viewer'")
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=%2F"


def test_the_session_cookie_holds_only_a_random_id(app: FastAPI, client: TestClient) -> None:
    login(client, "viewer")
    cookie = client.cookies["territoria_session"]
    assert len(cookie) == 43 and "viewer" not in cookie and "." not in cookie
    with app.state.territoria.db.reader() as cur:
        stored = cur.execute("SELECT id_hash FROM app_session").fetchall()
    assert stored and all(cookie not in row[0] for row in stored)


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
