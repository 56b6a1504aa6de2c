"""Location quotients, specialisation indices and shift-share against hand computation."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from fractions import Fraction
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from territoria.analysis.specialisation import (
    gini_specialisation,
    herfindahl,
    krugman,
    location_quotients,
    sector_concentration,
    sector_matrix,
    shift_share,
    specialisation_profile,
)
from territoria.cli import app
from territoria.errors import InvalidAnalysisRequest, NoEstablishments, UnknownLevel
from territoria.kb import connect

A, B, C = "35238", "35051", "35002"  # Rennes, Cesson-Sévigné (Rennes Métropole); Amanlis
EPCI_A, EPCI_C = "243500139", "243500634"
NAF = {  # sous-classe -> (section, division, group)
    "62.01Z": ("J", "62", "62.0"),
    "10.13A": ("C", "10", "10.1"),
    "10.51A": ("C", "10", "10.5"),
    "47.11B": ("G", "47", "47.1"),
}
#: (commune, sous-classe, employment, created, closed or None)
ROWS = [
    (A, "62.01Z", 40.0, "2010-01-01", None),
    (A, "62.01Z", 20.0, "2018-01-01", None),
    (A, "10.13A", 20.0, "2000-01-01", None),
    (A, "10.13A", 30.0, "2005-01-01", "2017-06-30"),
    (A, "47.11B", 20.0, "2016-01-01", None),
    (B, "62.01Z", 10.0, "2019-01-01", None),
    (B, "10.51A", 60.0, "1999-01-01", None),
    (B, "47.11B", 30.0, "2000-01-01", None),
    (C, "10.13A", 20.0, "2001-01-01", None),
    (C, "47.11B", 30.0, "2012-01-01", None),
]


@pytest.fixture
def small(mini_db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Ten establishments in three communes, written straight into the tables."""
    mini_db.execute(
        "INSERT INTO source (id, name, dataset, publisher, licence, retrieved_at, reference_date, "
        "synthetic) VALUES (900, 'sirene', 'StockEtablissement', 'test', 'test', now(), "
        "'2025-01-01', false)"
    )
    for i, (commune, naf, employment, created, closed) in enumerate(ROWS):
        section, division, group = NAF[naf]
        mini_db.execute(
            "INSERT INTO establishment (siret, siren, commune, commune_raw, naf, naf_raw, "
            "naf_nomenclature, section, division, naf_group, headcount_band, employment, active, "
            "created, closed, source_id) VALUES (?, ?, ?, ?, ?, ?, 'NAFRev2', ?, ?, ?, '12', ?, ?, "
            "?, ?, 900)",
            [
                f"{i:014d}",
                f"{i:09d}",
                commune,
                commune,
                naf,
                naf,
                section,
                division,
                group,
                employment,
                closed is None,
                created,
                closed,
            ],
        )
    return mini_db


def lq_table(con: duckdb.DuckDBPyConnection, **options: object) -> dict[tuple[str, str], float]:
    rows = location_quotients(con, **options).fetchall()  # type: ignore[arg-type]
    return {(r[0], r[1]): r[8] for r in rows}


def test_location_quotients_by_hand(small: duckdb.DuckDBPyConnection) -> None:
    # Now: A = {62: 60, 10: 20, 47: 20}, B = {62: 10, 10: 60, 47: 30}, C = {10: 20, 47: 30};
    # nation = {62: 70, 10: 100, 47: 80}, 250 in all.
    lq = lq_table(small, level="commune", sector_level="division")
    assert lq[(A, "62")] == pytest.approx((60 / 100) / (70 / 250))
    assert lq[(A, "10")] == pytest.approx((20 / 100) / (100 / 250))
    assert lq[(C, "47")] == pytest.approx((30 / 50) / (80 / 250))
    assert (C, "62") not in lq  # absent sectors have no row: their LQ is 0
    assert len(lq) == 8
    # NAF groups split division 10 into 10.1 (A 20, C 20) and 10.5 (B 60).
    lq = lq_table(small, level="commune", sector_level="group")
    assert lq[(A, "10.1")] == pytest.approx((20 / 100) / (40 / 250))
    assert lq[(B, "10.5")] == pytest.approx((60 / 100) / (60 / 250))
    # Sections.
    lq = lq_table(small, level="commune", sector_level="section")
    assert lq[(A, "J")] == pytest.approx((60 / 100) / (70 / 250))
    # Establishment counts: A has 2 of the 3 active establishments in 62, 4 active in all, of 9.
    lq = lq_table(small, level="commune", sector_level="division", measure="establishments")
    assert lq[(A, "62")] == pytest.approx((2 / 4) / (3 / 9))
    # EPCI level.
    lq = lq_table(small, level="epci", sector_level="division")
    assert lq[(EPCI_A, "62")] == pytest.approx((70 / 200) / (70 / 250))
    assert lq[(EPCI_C, "10")] == pytest.approx((20 / 50) / (100 / 250))


def test_location_quotients_against_the_parent(small: duckdb.DuckDBPyConnection) -> None:
    # Rennes against Rennes Métropole = A + B = {62: 70, 10: 80, 47: 50}, 200 in all.
    rows = location_quotients(small, reference="epci", code=A).fetchall()
    lq = {r[1]: r for r in rows}
    assert lq["62"][4] == EPCI_A
    assert lq["62"][8] == pytest.approx((60 / 100) / (70 / 200))
    assert lq["47"][8] == pytest.approx((20 / 100) / (50 / 200))
    assert lq["62"][5:7] == (70.0, 200.0)


def test_specialisation_indices_by_hand() -> None:
    shares = np.array([0.6, 0.2, 0.2])  # Rennes: 62, 10, 47
    reference = np.array([70, 100, 80]) / 250
    assert krugman(shares, reference)[0] == pytest.approx(0.32 + 0.2 + 0.12)
    assert herfindahl(shares)[0] == pytest.approx(0.36 + 0.04 + 0.04)
    # Sorted by LQ: 10 (0.5), 47 (0.625), 62 (2.14); cumulated shares 0.2, 0.4, 1.0.
    area = 0.4 * (0.2 + 0) + 0.32 * (0.4 + 0.2) + 0.28 * (1.0 + 0.4)
    assert gini_specialisation(shares, reference)[0] == pytest.approx(1 - area)
    assert gini_specialisation(reference, reference)[0] == pytest.approx(0.0)
    assert krugman(reference, reference)[0] == pytest.approx(0.0)
    one = np.array([0.0, 0.0, 1.0])
    assert herfindahl(one)[0] == 1.0
    assert gini_specialisation(np.array([1.0, 0.0]), np.array([0.001, 0.999]))[0] == (
        pytest.approx(0.999)
    )


def test_shift_share_by_hand_adds_up_exactly(small: duckdb.DuckDBPyConnection) -> None:
    start = dt.date(2015, 1, 1)
    result = shift_share(small, A, level="commune", start=start, sector_level="division")
    # In 2015: A = {62: 40, 10: 50 (20 + 30 closed in 2017)}, nation = {62: 40, 10: 130, 47: 60}.
    e0 = {"62": 40, "10": 50, "47": 0}
    e1 = {"62": 60, "10": 20, "47": 20}
    n0 = {"62": 40, "10": 130, "47": 60}
    n1 = {"62": 70, "10": 100, "47": 80}
    g = Fraction(sum(n1.values()), sum(n0.values())) - 1
    by_sector = {r["sector"]: r for r in result["sectors"]}
    for s in e0:
        gs = Fraction(n1[s], n0[s]) - 1
        national = e0[s] * g
        mix = e0[s] * (gs - g)
        regional = (e1[s] - e0[s]) - national - mix
        row = by_sector[s]
        assert row["national"] == pytest.approx(float(national), abs=1e-9)
        assert row["industry_mix"] == pytest.approx(float(mix), abs=1e-9)
        assert row["regional"] == pytest.approx(float(regional), abs=1e-9)
        assert row["national"] + row["industry_mix"] + row["regional"] == pytest.approx(
            row["change"], abs=1e-12
        )
    # 62: the regional shift is the sector's growth gap: 40 * (0.5 - 0.75) = -10.
    assert by_sector["62"]["regional"] == pytest.approx(-10.0)
    totals = result["totals"]
    assert totals["change"] == 100 - 90
    assert totals["national"] + totals["industry_mix"] + totals["regional"] == pytest.approx(
        totals["change"], abs=1e-12
    )
    assert result["national_growth"] == pytest.approx(float(g))


def test_profile(small: duckdb.DuckDBPyConnection) -> None:
    profile = specialisation_profile(small, A, level="commune", since=dt.date(2015, 1, 1)).to_dict()
    assert profile["territory"]["name"] == "Rennes"
    assert profile["totals"]["value"] == 100.0 and profile["totals"]["establishments"] == 4
    assert profile["indices"]["krugman"] == pytest.approx(0.64)
    assert profile["indices"]["herfindahl"] == pytest.approx(0.44)
    assert profile["specialised"][0]["sector"] == "62"
    assert (
        profile["specialised"][0]["label"]
        == "Programmation, conseil et autres activités informatiques"
    )
    assert profile["shift_share"]["totals"]["change"] == 10.0
    assert profile["synthetic"] is False and profile["notice"] is None
    json.dumps(profile)
    epci = specialisation_profile(small, EPCI_A, level="epci").to_dict()
    assert epci["totals"]["value"] == 200.0


def test_bad_requests(small: duckdb.DuckDBPyConnection, mini_db_path: Path) -> None:
    with pytest.raises(InvalidAnalysisRequest, match="NAF level"):
        location_quotients(small, sector_level="chapter")
    with pytest.raises(InvalidAnalysisRequest, match="measure"):
        location_quotients(small, measure="turnover")
    with pytest.raises(UnknownLevel):
        location_quotients(small, level="arrondissement_municipal")
    con = connect(mini_db_path, read_only=True)
    with pytest.raises(NoEstablishments, match="import sirene"):
        location_quotients(con)
    con.close()


def test_matrix_and_concentration(small: duckdb.DuckDBPyConnection) -> None:
    m = sector_matrix(small, level="commune", sector_level="division")
    assert list(m.sectors) == ["10", "47", "62"]
    assert m.values.sum() == 250.0 and m.counts.sum() == 9
    concentration = sector_concentration(small, matrix=m, min_establishments=1)
    assert set(concentration) == {"10", "47", "62"}
    for entry in concentration.values():
        assert -1.0 <= entry["excess"] <= 1.0 and 0.0 <= entry["gini"] <= 1.0


def test_cli_profile(small: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    small.execute("CHECKPOINT")
    path = small.execute("SELECT path FROM duckdb_databases() WHERE NOT internal").fetchone()
    assert path is not None
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(path[0], db)
    runner = CliRunner()
    result = runner.invoke(app, ["economy", "profile", A, "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["indices"]["herfindahl"] == pytest.approx(0.44)
    result = runner.invoke(app, ["economy", "profile", A, "--db", str(db), "--measure", "euros"])
    assert result.exit_code == 2 and "unknown measure" in result.output
    result = runner.invoke(app, ["economy", "profile", "99999", "--db", str(db)])
    assert result.exit_code == 2 and "99999" in result.output
