"""The Python entry point: ``territoria.open``, territories, GeoDataFrames, search."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import geopandas
import pytest
import shapely

import territoria
from territoria.errors import DatabaseError, UnknownLevel, UnknownTerritory

RENNES, RENNES_METROPOLE = "35238", "243500139"


@pytest.fixture
def kb(mini_kb_path: Path) -> Iterator[territoria.KnowledgeBase]:
    with territoria.open(mini_kb_path) as opened:
        yield opened


def test_public_surface() -> None:
    assert {"open", "KnowledgeBase", "Territory", "SearchHit", "__version__"} <= set(
        territoria.__all__
    )


def test_territory_identity_profile_and_geometry(kb: territoria.KnowledgeBase) -> None:
    rennes = kb.territory(RENNES)
    assert (rennes.code, rennes.level, rennes.name) == (RENNES, "commune", "Rennes")
    assert rennes.population == 216_815
    data = rennes.profile()
    assert data.parents[0].code == RENNES_METROPOLE
    assert data.population == 216_815 and data.name == "Rennes"
    geometry = rennes.geometry
    assert geometry is not None
    assert geometry.geom_type in {"Polygon", "MultiPolygon"}
    # The town hall (place de la Mairie) lies inside; Cesson-Sévigné's does not.
    assert geometry.contains(shapely.Point(-1.6795, 48.1115))
    assert not geometry.contains(shapely.Point(-1.6030, 48.1210))
    assert data.point is not None
    assert geometry.contains(shapely.Point(data.point.lon, data.point.lat))
    assert rennes == kb.territory(RENNES, level="commune")
    assert "Rennes" in repr(rennes)


def test_ambiguous_and_unknown_codes(kb: territoria.KnowledgeBase) -> None:
    assert kb.territory("35").level == "departement"
    assert kb.territory("53", level="region").name == "Bretagne"
    with pytest.raises(UnknownTerritory, match="territoria search"):
        kb.territory("00000")


def test_territories_geodataframe(kb: territoria.KnowledgeBase) -> None:
    epci = kb.territories(level="epci")
    assert isinstance(epci, geopandas.GeoDataFrame)
    assert list(epci.columns) == ["code", "name", "population", "area_km2", "density", "geometry"]
    assert epci.crs is not None and epci.crs.to_epsg() == 4326
    metropole = epci.set_index("code").loc[RENNES_METROPOLE]
    assert metropole["name"] == "Rennes Métropole"
    assert metropole["population"] == 447_429
    assert metropole["area_km2"] == pytest.approx(705, rel=0.02)  # INSEE: 704.9 km²
    # The métropole's polygon covers Rennes.
    assert metropole.geometry.covers(kb.territory(RENNES).geometry.representative_point())
    communes = kb.territories("commune")
    assert len(communes) == 59
    assert communes.geometry.notna().all()
    with pytest.raises(UnknownLevel):
        kb.territories("province")


def test_territories_without_geometry(mini_db: duckdb.DuckDBPyConnection) -> None:
    source = mini_db.execute("SELECT min(id) FROM source").fetchone()
    assert source is not None
    mini_db.execute(
        "INSERT INTO territory (level, code, name, name_norm, population, source_id) "
        "VALUES ('zone', 'Z1', 'Zone d''activités', 'zone d activites', 120, ?)",
        [source[0]],
    )
    kb = territoria.KnowledgeBase(mini_db, "mini")
    zones = kb.territories("zone")
    assert zones["code"].tolist() == ["Z1"]
    assert zones.geometry.isna().all()
    assert kb.territory("Z1").geometry is None


def test_search_through_the_knowledge_base(kb: territoria.KnowledgeBase) -> None:
    assert kb.search("renes")[0].code == RENNES
    assert kb.search("rennes", level="epci")[0].code == RENNES_METROPOLE
    assert len(kb.search("saint", limit=2)) == 2


def test_close_and_errors(mini_kb_path: Path, tmp_path: Path) -> None:
    kb = territoria.open(mini_kb_path)
    kb.close()
    kb.close()  # harmless
    assert "closed" in repr(kb)
    with pytest.raises(ValueError, match="closed"):
        kb.territory(RENNES)
    with pytest.raises(DatabaseError, match="territoria import france"):
        territoria.open(tmp_path / "missing.duckdb")


# --------------------------------------------------------------------------- all of France


@pytest.mark.slow
def test_full_france_search_and_populations(full_db_path: Path) -> None:
    with territoria.open(full_db_path) as kb:
        for text in ("saint etienne", "St-Étienne", "SAINT-ETIENNE", "42218", "st etienne"):
            hit = kb.search(text)[0]
            assert (hit.level, hit.code, hit.name) == ("commune", "42218", "Saint-Étienne"), text
        assert kb.search("marseile")[0].code == "13055"
        assert kb.search("renn")[0].code == RENNES
        assert [h.level for h in kb.search("53")[:2]] == ["departement", "region"]
        populations = {code: kb.profile(code).population for code in ("75056", "69123", RENNES)}
        assert populations == {"75056": 2_187_526, "69123": 516_092, RENNES: 216_815}
        bretagne = kb.profile("53", level="region")
        assert bretagne.communes_count == 1_202
        assert bretagne.population == 3_318_904
        assert len(kb.territories("region")) == 18
