"""Export of a level's territories as GeoJSON, GeoPackage and GeoParquet, read back by GeoPandas."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from territoria.cli import app
from territoria.errors import (
    EmptyKnowledgeBase,
    ExportError,
    UnknownIndicator,
    UnknownLevel,
    UnknownPeriod,
)
from territoria.export import export_level
from territoria.kb import connect
from territoria.sources.indicators import import_indicators

DATA = Path(__file__).parent / "data" / "indicators"
SUFFIX = {"geojson": ".geojson", "gpkg": ".gpkg", "parquet": ".parquet"}
#: Indicators of the fixture at commune level: the wide census file and the long counts.
COMMUNE_INDICATORS = {
    "P_POP", "P_POP0014", "P_POP65P", "C_ACT1564", "P_CHOM1564", "ETAB_ACTIFS", "TX_CHOMAGE",
}  # fmt: skip


@pytest.fixture(scope="module")
def kb_path(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini knowledge base with INSEE-style indicators for Rennes-area communes."""
    path = tmp_path_factory.mktemp("export") / "kb.duckdb"
    shutil.copyfile(mini_db_path, path)
    con = connect(path)
    import_indicators(
        con,
        DATA / "base_cc_evol_struct_pop_rennes.csv",
        wide=True,
        source_name="insee-rp",
        publisher="INSEE",
        licence="Licence Ouverte 2.0",
    )
    import_indicators(
        con,
        DATA / "indicators_long_rennes.csv",
        source_name="counts",
        publisher="INSEE",
        licence="Licence Ouverte 2.0",
    )
    con.close()
    return path


@pytest.fixture
def kb(kb_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(kb_path, read_only=True)
    yield con
    con.close()


def read(path: Path) -> gpd.GeoDataFrame:
    return gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path, layer=0)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "parquet"])
def test_communes_read_back(kb: duckdb.DuckDBPyConnection, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"communes{SUFFIX[fmt]}"
    assert export_level(kb, "commune", fmt=fmt, out=out, indicators=["P_POP", "ETAB_ACTIFS"]) == out  # type: ignore[arg-type]
    frame = read(out)
    assert len(frame) == 59
    assert frame.crs is not None and frame.crs.to_epsg() == 4326
    assert frame.geometry.notna().all()
    rennes = frame.set_index("code").loc["35238"]
    assert rennes["name"] == "Rennes"
    assert rennes["population"] == 216815
    assert rennes["population_year"] == 2017
    assert rennes["area_km2"] == pytest.approx(50.4, abs=0.1)
    assert rennes["density"] == pytest.approx(216815 / rennes["area_km2"])
    assert (rennes["epci_code"], rennes["departement_code"], rennes["region_code"]) == (
        "243500139",
        "35",
        "53",
    )
    # latest period by default, and the period travels with the value
    assert (rennes["P_POP"], rennes["P_POP_period"]) == (225081, "2021")
    assert (rennes["ETAB_ACTIFS"], rennes["ETAB_ACTIFS_period"]) == (32010, "2023")
    # longitude, latitude order: Rennes town centre is inside its commune
    assert rennes.geometry.contains(shapely.Point(-1.6794, 48.1113))
    # communes without a value get an empty cell, not zero
    assert pd.isna(frame.set_index("code").loc["35245", "P_POP"])


def test_geojson_follows_rfc_7946(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "epci.geojson"
    export_level(kb, "epci", fmt="geojson", out=out)
    document = json.loads(out.read_text())
    assert "crs" not in document  # RFC 7946: WGS84 is implied, no crs member
    assert len(document["features"]) == 2
    for feature in document["features"]:
        geometry = shapely.geometry.shape(feature["geometry"])
        for polygon in shapely.get_parts(geometry):
            assert polygon.exterior.is_ccw  # right-hand rule: exterior rings counter-clockwise
        coordinates = shapely.get_coordinates(geometry)
        assert (coordinates.round(7) == coordinates).all()  # 7 decimals, about 1 cm
        assert ((coordinates[:, 0] > -5) & (coordinates[:, 0] < 0)).all()  # longitude first


def test_geopackage_layer_and_geoparquet_metadata(
    kb: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    gpkg = tmp_path / "cantons.gpkg"
    export_level(kb, "canton", fmt="gpkg", out=gpkg)
    assert pyogrio.list_layers(gpkg).tolist() == [["canton", "MultiPolygon"]]
    cantons = read(gpkg)
    assert len(cantons) == 30 and set(cantons["departement_code"]) == {"35"}
    parquet = tmp_path / "departements.parquet"
    export_level(kb, "departement", fmt="parquet", out=parquet)
    geo = json.loads(pq.read_schema(parquet).metadata[b"geo"])
    assert geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    frame = read(parquet)
    assert frame.loc[0, "code"] == "35" and frame.loc[0, "region_code"] == "53"
    assert "epci_code" not in frame.columns  # not a parent of a département


def test_chosen_period(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "communes.parquet"
    export_level(kb, "commune", fmt="parquet", out=out, indicators=["P_POP"], period="2015")
    rennes = read(out).set_index("code").loc["35238"]
    assert (rennes["P_POP"], rennes["P_POP_period"]) == (216268, "2015")


def test_clear_errors(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "x.geojson"
    with pytest.raises(UnknownLevel, match="unknown level 'comune': use one of commune"):
        export_level(kb, "comune", fmt="geojson", out=out)
    with pytest.raises(EmptyKnowledgeBase, match="no territory of level 'zone'"):
        export_level(kb, "zone", fmt="geojson", out=out)
    with pytest.raises(
        UnknownIndicator, match=r"unknown indicator 'P_POPP' \(indicators at this level: .*P_POP"
    ):
        export_level(kb, "commune", fmt="geojson", out=out, indicators=["P_POPP"])
    with pytest.raises(UnknownIndicator, match=r"no value at level 'epci' \(it has at: commune\)"):
        export_level(kb, "epci", fmt="geojson", out=out, indicators=["P_POP"])
    with pytest.raises(UnknownPeriod, match="its periods are 2021, 2015"):
        export_level(kb, "commune", fmt="geojson", out=out, indicators=["P_POP"], period="2019")
    with pytest.raises(ExportError, match="unknown export format 'shp'"):
        export_level(kb, "commune", fmt="shp", out=out)  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="does not exist"):
        export_level(kb, "commune", fmt="geojson", out=tmp_path / "no" / "x.geojson")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_file(
    kb: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "communes.parquet"
    export_level(kb, "commune", fmt="parquet", out=out)
    before = out.read_bytes()

    def broken(self: gpd.GeoDataFrame, path: Path, **_: object) -> None:
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", broken)
    with pytest.raises(ExportError, match="No space left on device"):
        export_level(kb, "commune", fmt="parquet", out=out, indicators=["P_POP"])
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["communes.parquet"]  # no temporary left


def test_cli_export(kb_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "epci.gpkg"
    result = runner.invoke(
        app, ["export", "epci", "-o", str(out), "--indicator", "ETAB_ACTIFS", "--db", str(kb_path)]
    )
    assert result.exit_code == 0, result.stderr
    assert "wrote" in result.stdout
    frame = read(out).set_index("code")
    assert frame.loc["243500139", "ETAB_ACTIFS"] == 48720
    result = runner.invoke(
        app, ["export", "commune", "-o", str(tmp_path / "c.txt"), "--db", str(kb_path)]
    )
    assert result.exit_code == 2
    assert "pass --format" in result.stderr
    result = runner.invoke(
        app,
        [
            "export",
            "commune",
            "-f",
            "geojson",
            "-o",
            str(tmp_path / "c.txt"),
            "--indicator",
            "NOPE",
            "--db",
            str(kb_path),
        ],
    )
    assert result.exit_code == 2
    assert "unknown indicator 'NOPE'" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_indicator_in_a_workbook(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "communes.xlsx"
    export_level(kb, "commune", fmt="xlsx", out=out, indicators="all")
    sheets = pd.read_excel(out, sheet_name=None, dtype={"code": str, "epci_code": str})
    assert list(sheets) == ["commune", "indicateurs"]
    communes = sheets["commune"].set_index("code")
    assert len(communes) == 59 and "geometry" not in communes.columns
    rennes = communes.loc["35238"]
    assert rennes["name"] == "Rennes" and rennes["epci_code"] == "243500139"
    assert rennes["P_POP"] == 225081
    assert "P_POP_period" not in communes.columns  # the period is in the sheet "indicateurs"
    assert rennes["ETAB_ACTIFS"] == 32010
    # one row per indicator column: what it is, its unit, period, source and coverage
    meta = sheets["indicateurs"].set_index("colonne")
    assert set(meta.index) >= COMMUNE_INDICATORS
    etab = meta.loc["ETAB_ACTIFS"]
    assert etab["libellé"] == "Établissements actifs (SIRENE)"
    assert etab["unité"] == "établissements" and str(etab["période"]) == "2023"
    assert etab["source"] == "counts" and etab["territoires renseignés"] >= 1
    assert meta.loc["P_POP", "source"] == "insee-rp" and str(meta.loc["P_POP", "période"]) == "2021"


def test_every_indicator_described_in_gis_files(
    kb: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    gpkg = tmp_path / "communes.gpkg"
    export_level(kb, "commune", fmt="gpkg", out=gpkg, indicators="all")
    assert pyogrio.list_layers(gpkg).tolist() == [["commune", "MultiPolygon"], ["indicators", None]]
    table = pyogrio.read_dataframe(gpkg, layer="indicators").set_index("column")
    assert table.loc["ETAB_ACTIFS", "unit"] == "établissements"
    assert table.loc["ETAB_ACTIFS", "period"] == "2023"
    assert read(gpkg).set_index("code").loc["35238", "P_POP"] == 225081
    parquet = tmp_path / "communes.parquet"
    export_level(kb, "commune", fmt="parquet", out=parquet, indicators="all")
    metadata = pq.read_schema(parquet).metadata
    assert json.loads(metadata[b"geo"])["primary_column"] == "geometry"  # still GeoParquet
    described = {c["column"]: c for c in json.loads(metadata[b"territoria"])["indicators"]}
    assert set(described) == COMMUNE_INDICATORS
    assert described["P_POP"]["period"] == "2021" and described["P_POP"]["source"] == "insee-rp"
    frame = read(parquet).set_index("code")
    assert frame.loc["35238", "ETAB_ACTIFS"] == 32010
    assert frame.loc["35238"].geometry.contains(shapely.Point(-1.6794, 48.1113))


def test_csv_export_without_geometry(kb: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "communes.csv"
    export_level(kb, "commune", fmt="csv", out=out, indicators="all")
    frame = pd.read_csv(out, dtype={"code": str}).set_index("code")
    assert "geometry" not in frame.columns and len(frame) == 59
    assert frame.loc["35238", "P_POP"] == 225081 and frame.loc["35238", "population"] == 216815
    assert set(frame.columns) >= COMMUNE_INDICATORS


def test_cli_export_every_indicator(kb_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "communes.xlsx"
    result = CliRunner().invoke(
        app, ["export", "commune", "-o", str(out), "--indicators", "--db", str(kb_path)]
    )
    assert result.exit_code == 0, result.stderr
    assert "wrote" in result.stdout and "xlsx" in result.stdout
    meta = pd.read_excel(out, sheet_name="indicateurs").set_index("colonne")
    assert set(meta.index) >= COMMUNE_INDICATORS
    assert str(meta.loc["ETAB_ACTIFS", "période"]) == "2023"
    result = CliRunner().invoke(
        app,
        ["export", "commune", "-o", str(out), "--indicators", "-i", "P_POP", "--db", str(kb_path)],
    )
    assert result.exit_code == 2 and "not both" in result.stderr
