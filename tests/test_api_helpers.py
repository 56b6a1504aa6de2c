"""Helpers shared by the web application's tests (knowledge bases, apps, sign-in).

Not fixtures: each test module wraps them in its own fixtures, so that the shared conftest
stays untouched.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from territoria.accounts import add_user
from territoria.api import Database, WebSettings, create_app
from territoria.kb import connect
from territoria.sources.indicators import import_indicators
from territoria.sources.sirene import import_sirene
from territoria.synth import synth_sirene

DATA = Path(__file__).parent / "data"
SECRET = "test-secret-key-that-is-long-enough-0123456789"
CRAFTED_NAME = "<script>alert(1)</script>"
CRAFTED_CODE = "99999"
PASSWORDS = {
    "admin": "admin-password-123",
    "analyst": "analyst-password-123",
    "viewer": "viewer-password-123",
}


def make_kb(mini_db_path: Path, folder: Path) -> Path:
    """Copy the mini knowledge base, add indicators, a crafted territory and three accounts."""
    path = folder / "web.duckdb"
    shutil.copyfile(mini_db_path, path)
    con = connect(path)
    try:
        import_indicators(
            con,
            DATA / "indicators" / "indicators_long_rennes.csv",
            source_name="test indicators",
            publisher="Territoria tests",
            licence="CC0",
            synthetic=True,
        )
        # a commune whose name is an attack: every page and API must escape it
        con.execute(
            "INSERT INTO territory (level, code, name, name_norm, population, population_year, "
            "area_km2, density, source_id) "
            "SELECT 'commune', ?, ?, 'script alert 1 script', 12, 2017, 1.5, 8.0, min(id) "
            "FROM source",
            [CRAFTED_CODE, CRAFTED_NAME],
        )
        con.execute(
            "INSERT INTO membership (level, code, parent_level, parent_code, method, source_id) "
            "SELECT 'commune', ?, 'departement', '35', 'source', min(id) FROM source",
            [CRAFTED_CODE],
        )
        for role, password in PASSWORDS.items():
            add_user(con, role, role=role, password=password)
    finally:
        con.close()
    return path


def add_synthetic_sirene(path: Path, folder: Path, *, seed: int = 10) -> Path:
    """Import a synthetic SIRENE région (three planted poles) into the knowledge base at
    ``path``; the files are written under ``folder``."""
    con = connect(path)
    try:
        files = folder / "sirene"
        synth_sirene(con, files, seed=seed, rows=15000, planted=3)
        import_sirene(
            con,
            establishments=files / "StockEtablissement_utf8.csv",
            legal_units=files / "StockUniteLegale_utf8.csv",
            geolocation=files
            / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv",
            history=files / "StockEtablissementHistorique_utf8.csv",
        )
    finally:
        con.close()
    return path


def make_app(path: Path, **settings: object) -> FastAPI:
    """Build the application on the knowledge base at ``path`` (no background warming)."""
    options: dict[str, object] = {
        "db": path,
        "secret_key": SECRET,
        "warm_cache": False,
        "login_attempts": 5,
    }
    options.update(settings)
    web = WebSettings(**options)  # type: ignore[arg-type]
    return create_app(web, database=Database.open(path))


def login_form_token(client: TestClient, url: str = "/login") -> str:
    """Open the sign-in page and return its CSRF token."""
    page = client.get(url)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def login(client: TestClient, name: str, password: str | None = None) -> str:
    """Sign in through the form; return the session's CSRF token (from a page's meta tag)."""
    token = login_form_token(client)
    response = client.post(
        "/login",
        data={
            "username": name,
            "password": password or PASSWORDS[name],
            "csrf_token": token,
            "next": "/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]
    home = client.get("/")
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', home.text)
    assert found
    return found.group(1)
