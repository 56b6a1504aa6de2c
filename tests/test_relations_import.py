"""Relations import: re-imports keep the actors logged actions reference; bad files are refused."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import SourceError, ValidationError
from territoria.influence.actions import add_action, list_actions
from territoria.influence.relations import import_relations
from territoria.kb import connect
from territoria.kb.audit import list_audit

runner = CliRunner()
HEADER = "source_actor,target_actor,type,strength,source_name,source_kind\n"
FIRMS = [f"fz-{c}" for c in "abcdefgh"]


def _network(path: Path, firms: list[str], *, name: str = "Firme") -> Path:
    lines = [f"{f},cr-53,partner,0.5,{name} {f[-1].upper()},company\n" for f in firms]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def _actors(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute("SELECT id, name FROM actor WHERE id LIKE 'fz-%' ORDER BY id").fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def _dangling(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(
        "SELECT count(*) FROM action_actor WHERE actor_id NOT IN (SELECT id FROM actor "
        "UNION ALL SELECT id FROM person UNION ALL SELECT id FROM organisation)"
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def db(mini_db_path: Path, tmp_path: Path) -> Path:
    """A copy of the mini knowledge base for the CLI (``mini_db`` holds ``tmp_path/kb.duckdb``)."""
    path = tmp_path / "cli" / "kb.duckdb"
    path.parent.mkdir()
    path.write_bytes(mini_db_path.read_bytes())
    return path


def test_reimport_keeps_actors_that_actions_reference(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    import_relations(mini_db, _network(tmp_path / "v1.csv", FIRMS), source_name="zone")
    met = FIRMS[:6]
    for firm in met:
        add_action(mini_db, when=date(2026, 2, 1), type="meeting", subject="ZA", actors=[firm])
    # the new file drops every firm met but fz-a, and the two never met
    report = import_relations(
        mini_db,
        _network(tmp_path / "v2.csv", ["fz-a", "fz-z"], name="Nouvelle"),
        source_name="zone",
    )
    assert report.kept_actors == ["fz-b", "fz-c", "fz-d", "fz-e", "fz-f"]
    assert report.relations == 2 and report.replaced_relations == 8
    assert _dangling(mini_db) == 0
    actors = _actors(mini_db)
    assert sorted(actors) == ["fz-a", "fz-b", "fz-c", "fz-d", "fz-e", "fz-f", "fz-z"]
    assert actors["fz-a"] == "Nouvelle A"  # defined again by the file: updated
    assert actors["fz-b"] == "Firme B"  # kept as it was
    # every actor points to the one source row left, which says which were kept
    rows = mini_db.execute(
        "SELECT s.id, s.note FROM source s WHERE s.name = 'zone' AND s.dataset = 'relations'"
    ).fetchall()
    assert len(rows) == 1 and rows[0][0] == report.source_id
    assert rows[0][1] == (
        "kept 5 actor(s) referenced by logged actions and no longer in the file: "
        "fz-b, fz-c, fz-d, fz-e, fz-f"
    )
    orphans = mini_db.execute(
        "SELECT count(*) FROM actor WHERE source_id NOT IN (SELECT id FROM source)"
    ).fetchone()
    assert orphans == (0,)
    assert len(list_actions(mini_db)) == 6
    audit = list_audit(mini_db, event="import.relations")
    assert [e.target for e in audit] == ["zone", "zone"]
    assert audit[0].detail is not None
    assert audit[0].detail["kept_actors"] == report.kept_actors
    assert audit[0].detail["relations"] == 2


def test_cli_says_which_actors_it_kept(db: Path, tmp_path: Path) -> None:
    con = connect(db)
    try:
        import_relations(con, _network(tmp_path / "v1.csv", FIRMS), source_name="zone")
        for firm in FIRMS[:6]:
            add_action(con, when=date(2026, 2, 1), type="meeting", subject="ZA", actors=[firm])
    finally:
        con.close()
    other = _network(tmp_path / "v2.csv", ["fz-y", "fz-z"])
    result = runner.invoke(
        app, ["relations", "import", str(other), "--source-name", "zone", "--db", str(db)]
    )
    assert result.exit_code == 0, result.stderr
    assert "2 relations, 2 new actors" in result.stdout
    assert (
        "kept 6 actors referenced by logged actions: fz-a, fz-b, fz-c, fz-d, fz-e, fz-f"
        in result.stdout
    )


def _refused(db: Path, path: Path) -> tuple[int, str]:
    result = runner.invoke(
        app, ["relations", "import", str(path), "--source-name", "zone", "--db", str(db)]
    )
    return result.exit_code, result.stderr


def test_header_only_file_is_refused(
    mini_db: duckdb.DuckDBPyConnection, db: Path, tmp_path: Path
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(HEADER, encoding="utf-8")
    with pytest.raises(ValidationError, match="has a header but no relation line"):
        import_relations(mini_db, path, source_name="zone")
    assert mini_db.execute("SELECT count(*) FROM source WHERE name = 'zone'").fetchone() == (0,)
    code, err = _refused(db, path)
    assert code == 2
    assert "'empty.csv' has a header but no relation line: nothing was imported" in err
    assert "Traceback" not in err


def test_unbalanced_quote_is_refused_with_its_line(
    mini_db: duckdb.DuckDBPyConnection, db: Path, tmp_path: Path
) -> None:
    path = tmp_path / "quote.csv"
    path.write_text(
        HEADER + "fz-b,cr-53,partner,0.5,Firme B,company\n"
        '"fz-a,cr-53,partner,0.5,Firme A,company\n'
        "fz-c,cr-53,partner,0.5,Firme C,company\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match="line 3: Value with unterminated quote found"):
        import_relations(mini_db, path, source_name="zone")
    assert _actors(mini_db) == {}
    code, err = _refused(db, path)
    assert code == 2
    assert "cannot read 'quote.csv' as CSV: line 3" in err
    assert "every quote" in err
    con = connect(db, read_only=True)
    try:
        assert _actors(con) == {}
    finally:
        con.close()


def test_quote_inside_an_id_is_refused(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text(HEADER + 'fz"a,cr-53,partner,0.5,Firme A,company\n', encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        import_relations(mini_db, path, source_name="zone")
    assert err.value.problems == [
        "line 2: actor id 'fz\"a' holds a quote (\"): check the quoting of the line"
    ]


def test_empty_cells_are_problems_not_crashes(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "holes.csv"
    path.write_text(HEADER + ",cr-53,partner,0.5,,\nfz-a,cr-53,,0.5,Firme A,company\n")
    with pytest.raises(ValidationError) as err:
        import_relations(mini_db, path, source_name="zone")
    assert err.value.problems == [
        "line 2: empty source_actor",
        "line 3: empty relation type: use one of member_of, presides, works_with, "
        "supplies, funds, partner, knows, engaged, other",
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.csv", "does not exist: check the path"),
        (lambda p: p, "is a folder: give the CSV file itself"),
        (lambda p: (p / "zero.csv", (p / "zero.csv").write_text(""))[0], "'zero.csv' is empty"),
    ],
    ids=["missing", "folder", "empty"],
)
def test_bad_paths_exit_2(db: Path, tmp_path: Path, make: object, message: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    code, err = _refused(db, make(folder))  # type: ignore[operator]
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_reimport_may_use_its_actors_without_naming_them_again(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    import_relations(mini_db, _network(tmp_path / "v1.csv", ["fz-a", "fz-b"]), source_name="zone")
    again = tmp_path / "v2.csv"
    again.write_text(HEADER + "fz-a,cr-53,knows,0.4,,\n", encoding="utf-8")
    report = import_relations(mini_db, again, source_name="zone")
    assert report.kept_actors == [] and report.actors_created == 0
    assert _actors(mini_db) == {"fz-a": "Firme A"}  # fz-b, no longer used, is gone
    rows = mini_db.execute(
        "SELECT r.source_actor, a.source_id FROM relation r JOIN actor a ON a.id = r.source_actor "
        "WHERE r.source_id = ?",
        [report.source_id],
    ).fetchall()
    assert rows == [("fz-a", report.source_id)]
