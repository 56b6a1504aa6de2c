"""Entity linking of watch items: mechanics on the mini knowledge base (Ille-et-Vilaine), and the
precision and recall floors on the labelled sets against the France knowledge base (slow)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territoria.kb import transaction
from territoria.sources.sirene import import_sirene
from territoria.watch._linking_eval import (
    baseline_mentions,
    entity_id,
    evaluate,
    linker_predictions,
    load_labelled,
)
from territoria.watch.linking import Linker, linker_for

LABELLED = Path(__file__).parent / "data" / "watch" / "linking"


@pytest.fixture(scope="module")
def linker(mini_kb: duckdb.DuckDBPyConnection) -> Linker:
    return linker_for(mini_kb)


def _links(linker: Linker, title: str, text: str) -> dict[str, tuple[str, float, int]]:
    """id → (mention, score, mentions) of the links of a text."""
    out = {}
    for link in linker.link(title, text):
        key = f"{link.level}:{link.code}" if link.type == "territory" else link.code
        out[key] = (link.mention, link.score, link.mentions)
    return out


def test_article_forms(linker: Linker) -> None:
    found = _links(
        linker,
        "",
        "Le marché du Rheu et celui de L'Hermitage ouvrent dimanche ; la fête de "
        "La Chapelle-des-Fougeretz suit, puis celle de l'Hermitage encore.",
    )
    assert found["commune:35240"][0] == "Rheu"  # "du Rheu": the mention starts after "du"
    assert found["commune:35131"][2] == 2  # L'Hermitage and l'Hermitage: one link, 2 mentions
    assert found["commune:35059"][0] == "La Chapelle-des-Fougeretz"


def test_hyphen_space_and_accent_variants(linker: Linker) -> None:
    for text in (
        "Réunion publique à Saint-Grégoire jeudi.",
        "Réunion publique à Saint Grégoire jeudi.",
        "Réunion publique à St-Grégoire jeudi.",
        "Réunion publique à SAINT-GREGOIRE jeudi.",
    ):
        assert "commune:35278" in _links(linker, "", text), text
    assert "commune:35051" in _links(linker, "", "Le club de Cesson Sevigne gagne.")


def test_lower_case_word_is_not_a_place(linker: Linker) -> None:
    assert "commune:35047" not in _links(linker, "", "Il a fait du bruz toute la nuit.")
    assert "commune:35047" in _links(linker, "", "Il a dormi à Bruz toute la nuit.")


def test_person_span_is_not_a_place(linker: Linker) -> None:
    found = _links(linker, "", "Le peintre Jean Rennes expose ses toiles à Bruz jusqu'en mars.")
    assert "commune:35238" not in found  # "Jean Rennes" is a PER span, not the city
    assert "commune:35047" in found


def test_offsets_point_at_the_mention(linker: Linker) -> None:
    title = "Rennes Métropole et Bruz"
    text = "Le Conseil départemental d'Ille-et-Vilaine finance la ligne entre Pacé et Betton."
    full = f"{title}\n\n{text}"
    links = linker.link(title, text)
    assert {link.code for link in links} >= {"243500139", "35047", "cd-35", "35210", "35024"}
    for link in links:
        assert link.start is not None and link.end is not None
        assert full[link.start : link.end] == link.mention
    # the longest match wins: "Rennes Métropole" is the EPCI, not the city of Rennes
    assert "35238" not in {link.code for link in links}


def test_councils_and_region(linker: Linker) -> None:
    found = _links(linker, "", "La Région Bretagne et le conseil départemental d'Ille-et-Vilaine.")
    assert found["cr-53"][0] == "Région Bretagne"
    assert "cd-35" in found


def test_homonymous_officials_by_their_mandate(linker: Linker) -> None:
    told = _links(linker, "", "Thierry Renoux, maire de Chavagne, a signé la convention.")
    alone = _links(linker, "", "Thierry Renoux a signé la convention.")
    assert "p-57b343c6658fdf" in told  # the mayor of Chavagne, not the other Thierry Renoux
    assert "p-df3e479cc2e8a7" not in told
    # with no context the score is lower (or there is no link at all: precision first)
    assert told["p-57b343c6658fdf"][1] > alone.get("p-57b343c6658fdf", ("", 0.0, 0))[1]
    other = _links(linker, "", "Philippe Denis, adjoint au maire du Rheu, présente le budget.")
    assert "p-30507d1d8543cc" in other and "p-28e196eb97721a" not in other


def test_larger_firms_of_sirene(mini_db: duckdb.DuckDBPyConnection) -> None:
    folder = Path(__file__).parent / "data" / "sirene"
    import_sirene(
        mini_db,
        establishments=folder / "StockEtablissement_utf8.csv",
        legal_units=folder / "StockUniteLegale_utf8.csv",
        history=folder / "StockEtablissementHistorique_utf8.csv",
        geolocation=folder
        / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv",
    )
    found = _links(
        linker_for(mini_db),
        "",
        "Epsilon Charcuterie recrute à Bruz ; Alpha Logiciel aussi. La préfecture et "
        "l'université ferment.",
    )
    assert found["siren-100000005"][0] == "Epsilon Charcuterie"  # 150 employees, SAS left out
    assert "siren-100000001" not in found  # 35 employees: below the gazetteer's bound of 50
    assert "siren-100000007" not in found and "siren-100000008" not in found  # common words


def test_civility_after_a_full_mention(linker: Linker) -> None:
    found = _links(
        linker, "", "Le député Thierry Benoit interpelle le gouvernement. M. Benoit attend."
    )
    assert found["p-05733650c1fe56"][2] == 2


def test_scores_in_unit_interval_and_ordered_by_doubt(linker: Linker) -> None:
    links = linker.link("", "À Bruz, à Vezin-le-Coquet et au Rheu, les marchés rouvrent.")
    assert links and all(0.0 < link.score <= 1.0 for link in links)
    by_code = {link.code: link.score for link in links}
    # a name written without its article ("Rheu") is less sure than a full name
    assert by_code["35240"] < by_code["35353"]


_PIECES = [
    "Rennes",
    "au Rheu",
    "Saint-Grégoire",
    "Thierry Benoit",
    "M. Benoit",
    "Région Bretagne",
    "Jean Rennes",
    "(35)",
    "l'Hermitage",
    "—",
    "ÉCOLE",
    "œuvre",
    "\n\n",
    "😀",
    "İ",
    "ß",
    ", ",
    " ",
    "de",
]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=25),
    st.text(max_size=40),
)
def test_any_text_gives_exact_offsets(linker: Linker, pieces: list[str], noise: str) -> None:
    title, text = noise, " ".join(pieces)
    full = f"{title}\n\n{text}"
    for link in linker.link(title, text):
        assert link.start is not None and link.end is not None
        assert full[link.start : link.end] == link.mention
        assert 0.0 < link.score <= 1.0 and link.mentions >= 1


def test_linker_kept_until_its_tables_change(mini_db: duckdb.DuckDBPyConnection) -> None:
    first = linker_for(mini_db)
    assert linker_for(mini_db) is first
    with transaction(mini_db) as con:  # the watch's own writes keep it
        con.execute("INSERT INTO watch_home VALUES ('commune', '35238', 'test', now())")
    assert linker_for(mini_db) is first
    with transaction(mini_db) as con:  # a renamed commune gives a new one
        con.execute("UPDATE territory SET name = 'Bruz-sur-Vilaine' WHERE code = '35047'")
    second = linker_for(mini_db)
    assert second is not first
    assert "commune:35047" in _links(second, "", "Marché à Bruz-sur-Vilaine.")


def test_in_memory_knowledge_base_not_kept(mini_kb: duckdb.DuckDBPyConnection) -> None:
    memory = duckdb.connect()
    mini_kb.execute("SELECT 1")  # the mini KB is a file: kept; an in-memory copy is not
    for table in ("territory", "membership", "organisation", "person", "mandate"):
        rows = mini_kb.execute(f"SELECT * FROM {table}").df()  # noqa: F841 - used by DuckDB
        memory.execute(f"CREATE TABLE {table} AS SELECT * FROM rows")
    for table in ("actor", "legal_unit"):
        columns = mini_kb.execute(f"DESCRIBE {table}").fetchall()
        spec = ", ".join(f'"{c[0]}" {c[1]}' for c in columns)
        memory.execute(f"CREATE TABLE {table} ({spec})")
    memory.execute("CREATE TABLE kb_state (id INTEGER, generation BIGINT)")
    first = linker_for(memory)
    assert linker_for(memory) is not first
    assert "commune:35047" in _links(first, "", "Marché à Bruz.")


# -- precision and recall on the labelled sets (France) ---------------------------------------


@pytest.fixture(scope="module")
def france_linker(full_db: duckdb.DuckDBPyConnection) -> Linker:
    return linker_for(full_db)


@pytest.mark.slow
def test_labelled_ids_exist(france_linker: Linker) -> None:
    gz = france_linker.gazetteer
    known = {entity_id(gz, i) for i in range(gz.size)}
    for name in ("labelled.txt", "heldout.txt"):
        texts = load_labelled(LABELLED / name)
        labels = {label for t in texts for _, _, label in t.gold}
        overseas = {"departement:974", "departement:972", "departement:971", "departement:973"}
        assert labels - known - {"NIL"} - overseas == set(), name


@pytest.mark.slow
def test_labelled_set_floors(france_linker: Linker) -> None:
    gz = france_linker.gazetteer
    texts = load_labelled(LABELLED / "labelled.txt")
    ev = evaluate(gz, texts, linker_predictions(france_linker))
    assert ev.texts >= 60 and ev.gold + ev.nil >= 200
    assert ev.ambiguous_gold * 3 >= ev.gold  # a third of the mentions are ambiguous
    assert ev.precision >= 0.95, ev.errors
    assert ev.recall >= 0.95, ev.errors
    assert ev.ambiguous_precision >= 0.95, ev.errors
    assert ev.ambiguous_recall >= 0.9, ev.errors
    base = evaluate(gz, texts, baseline_mentions(gz))
    assert ev.precision > base.precision + 0.2
    assert ev.ambiguous_recall > base.ambiguous_recall


@pytest.mark.slow
def test_heldout_set_floors(france_linker: Linker) -> None:
    gz = france_linker.gazetteer
    ev = evaluate(gz, load_labelled(LABELLED / "heldout.txt"), linker_predictions(france_linker))
    assert ev.precision >= 0.93, ev.errors
    assert ev.recall >= 0.93, ev.errors
    assert ev.ambiguous_precision >= 0.9, ev.errors
