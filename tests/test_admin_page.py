"""The accounts administration page and its REST twin: admins only, CSRF-protected forms,
every change ends the user's sessions and tokens, the last administrator stays."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from territoria.kb.audit import AuditEntry, list_audit
from test_api_helpers import PASSWORDS, login, make_app, make_kb

PAGE = "/admin/comptes"


@pytest.fixture(scope="module")
def base_kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kb(mini_db_path, tmp_path_factory.mktemp("admin"))


@pytest.fixture
def app(base_kb: Path, tmp_path: Path) -> Iterator[FastAPI]:
    """The application on a private copy of the knowledge base (tests change accounts)."""
    path = tmp_path / "web.duckdb"
    shutil.copyfile(base_kb, path)
    application = make_app(path)
    yield application
    application.state.territoria.db.close()


@pytest.fixture
def admin(app: FastAPI) -> Iterator[tuple[TestClient, str]]:
    """A client signed in as the administrator, and its CSRF token."""
    with TestClient(app) as client:
        yield client, login(client, "admin")


def _rows(html: str) -> dict[str, str]:
    """The accounts table: user name -> the text of its row."""
    rows = re.findall(r'<tr data-user="([^"]+)">(.*?)</tr>', html, flags=re.S)
    shown = {name: re.sub(r"<select.*?</select>", " ", row, flags=re.S) for name, row in rows}
    return {name: unescape(re.sub(r"<[^>]+>", " ", row)) for name, row in shown.items()}


def test_only_admins_reach_the_page(app: FastAPI) -> None:
    with TestClient(app) as client:
        login(client, "viewer")
        assert client.get(PAGE).status_code == 403
        assert client.get("/api/v1/admin/users").status_code == 403
        assert "Comptes" not in client.get("/").text.split("<main")[0]
    with TestClient(app) as client:
        login(client, "analyst")
        denied = client.get("/api/v1/admin/users")
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "permission_denied"


def test_the_page_lists_the_users_with_role_and_last_sign_in(
    admin: tuple[TestClient, str],
) -> None:
    client, _ = admin
    page = client.get(PAGE)
    assert page.status_code == 200
    rows = _rows(page.text)
    assert sorted(rows) == ["admin", "analyst", "viewer"]
    assert "administrateur" in rows["admin"] and "analyste" in rows["analyst"]
    assert "lecteur" in rows["viewer"]
    assert "jamais" in rows["viewer"] and "UTC" in rows["admin"]  # admin just signed in
    english = client.get(PAGE + "?lang=en")
    assert "Last sign-in" in english.text and "never" in _rows(english.text)["viewer"]
    listed = {a["name"]: a for a in client.get("/api/v1/admin/users").json()}
    assert listed["admin"]["sessions"] == 1 and listed["admin"]["last_sign_in_at"]
    assert listed["viewer"]["last_sign_in_at"] is None


def test_forms_need_the_csrf_token(admin: tuple[TestClient, str]) -> None:
    client, _ = admin
    refused = client.post(f"{PAGE}/viewer/role", data={"role": "admin"})
    assert refused.status_code == 403
    assert "administrateur" not in _rows(client.get(PAGE).text)["viewer"]


def test_role_change_from_the_page_ends_the_users_session(
    app: FastAPI, admin: tuple[TestClient, str]
) -> None:
    client, csrf = admin
    with TestClient(app) as analyst:
        login(analyst, "analyst")
        assert analyst.get("/api/v1/me").status_code == 200
        changed = client.post(
            f"{PAGE}/analyst/role",
            data={"role": "viewer", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert changed.status_code == 303
        page = client.get(changed.headers["location"])
        assert "Rôle de analyst changé" in page.text
        assert "lecteur" in _rows(page.text)["analyst"]
        assert analyst.get("/api/v1/me").status_code == 401
    entry = list_audit_rows(app, "user.role")[0]
    assert (entry.actor, entry.target) == ("web:admin", "analyst")
    assert entry.detail is not None and entry.detail["to"] == "viewer"


def list_audit_rows(app: FastAPI, event: str) -> list[AuditEntry]:
    with app.state.territoria.db.reader() as cur:
        return list_audit(cur, event=event)


def test_password_reset_is_shown_once_and_ends_sessions(
    app: FastAPI, admin: tuple[TestClient, str]
) -> None:
    client, csrf = admin
    with TestClient(app) as viewer:
        login(viewer, "viewer")
        reset = client.post(f"{PAGE}/viewer/mot-de-passe", data={"csrf_token": csrf})
        assert reset.status_code == 200
        found = re.search(r'<code id="password-value">([^<]+)</code>', reset.text)
        assert found
        assert viewer.get("/api/v1/me").status_code == 401
        login(viewer, "viewer", found.group(1))
        assert viewer.get("/api/v1/me").json()["name"] == "viewer"
    assert 'id="password-value"' not in client.get(PAGE).text
    with TestClient(app) as stale:
        token = re.search(r'name="csrf_token" value="([^"]+)"', stale.get("/login").text)
        assert token
        old = stale.post(
            "/login",
            data={"username": "viewer", "password": PASSWORDS["viewer"], "csrf_token": token[1]},
            follow_redirects=False,
        )
        assert old.status_code == 401


def test_revocation_ends_sessions_and_tokens(app: FastAPI, admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    with TestClient(app) as viewer:
        login(viewer, "viewer")
        done = client.post(f"{PAGE}/viewer/revocation", data={"csrf_token": csrf})
        assert done.status_code == 200
        assert "Sessions et jetons d'API de viewer révoqués" in unescape(done.text)
        assert viewer.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me").status_code == 200  # the admin's own session goes on


def test_the_last_admin_cannot_be_demoted_or_removed(admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    demoted = client.post(f"{PAGE}/admin/role", data={"role": "viewer", "csrf_token": csrf})
    assert demoted.status_code == 409
    assert "dernier compte administrateur" in demoted.text
    assert "administrateur" in _rows(demoted.text)["admin"]
    removed = client.delete("/api/v1/admin/users/admin", headers={"X-CSRF-Token": csrf})
    assert removed.status_code == 409
    error = removed.json()["error"]
    assert error["code"] == "last_admin" and "last administrator" in error["message"]
    api_demoted = client.put(
        "/api/v1/admin/users/admin/role", json={"role": "analyst"}, headers={"X-CSRF-Token": csrf}
    )
    assert api_demoted.status_code == 409
    assert client.get("/api/v1/me").json()["role"] == "admin"


def test_create_then_remove_an_account(app: FastAPI, admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    created = client.post(PAGE, data={"name": "claire", "role": "analyst", "csrf_token": csrf})
    assert created.status_code == 200
    password = re.search(r'<code id="password-value">([^<]+)</code>', created.text)
    assert password and "analyste" in _rows(created.text)["claire"]
    with TestClient(app) as claire:
        login(claire, "claire", password.group(1))
        assert claire.get("/api/v1/me").json()["role"] == "analyst"
        unconfirmed = client.post(f"{PAGE}/claire/suppression", data={"csrf_token": csrf})
        assert unconfirmed.status_code == 422 and "claire" in _rows(unconfirmed.text)
        removed = client.post(
            f"{PAGE}/claire/suppression",
            data={"csrf_token": csrf, "confirm": "claire"},
            follow_redirects=False,
        )
        assert removed.status_code == 303
        page = client.get(removed.headers["location"])
        assert "Compte claire supprimé" in page.text and "claire" not in _rows(page.text)
        assert claire.get("/api/v1/me").status_code == 401
    duplicate = client.post(PAGE, data={"name": "viewer", "role": "viewer", "csrf_token": csrf})
    assert duplicate.status_code == 409 and "Le compte viewer existe déjà" in duplicate.text
    events = [e.event for e in list_audit_rows(app, "user.")]
    assert events[:2] == ["user.remove", "user.add"]
