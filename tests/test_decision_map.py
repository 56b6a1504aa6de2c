"""Decision map: the competent bodies and decision-makers for themes and territories."""

from __future__ import annotations

import duckdb
import pytest

from territoria.errors import UnknownTerritory, UnknownTheme
from territoria.influence.decision import decision_map, themes

REQUIRED_THEMES = {
    "economic-development",
    "roads",
    "regional-trains",
    "higher-education",
    "competitiveness-poles",
}


def bodies(targets: list) -> set[str]:  # type: ignore[type-arg]
    return {t.body for t in targets}


def test_themes_have_stable_ids_and_legal_basis() -> None:
    found = {t.id: t for t in themes()}
    assert set(found) >= REQUIRED_THEMES
    assert all(t.law and t.bodies for t in found.values())
    assert dict(found["regional-trains"].bodies)["region"] > 0


def test_regional_trains_target_the_regional_executive(mini_db: duckdb.DuckDBPyConnection) -> None:
    targets = decision_map(mini_db, theme="regional-trains", code="53", level="region")
    top = targets[0]
    assert top.body == "Conseil régional de Bretagne"
    assert top.role == "président"
    assert "Conseil régional de Bretagne" in bodies(targets)
    # The State part goes to parliamentarians; no département or commune body is involved.
    assert {"Assemblée nationale", "Sénat"} & bodies(targets)
    assert not any("départemental" in b or "municipal" in b for b in bodies(targets))
    assert sum(t.weight for t in targets) == pytest.approx(4.0)


def test_roads_in_rennes_reach_departement_epci_and_commune(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    targets = decision_map(mini_db, theme="roads", code="35238")
    found = bodies(targets)
    assert "Conseil départemental d'Ille-et-Vilaine" in found
    assert "Conseil communautaire — Rennes Métropole" in found
    assert "Conseil municipal de Rennes" in found
    assert not any("régional" in b for b in found)
    # The mayor of Rennes presides Rennes Métropole: one person, both weights.
    mayor = mini_db.execute(
        "SELECT person_id FROM mandate WHERE organisation_id = 'cm-35238' AND function_code = 'MAI'"
    ).fetchone()
    assert mayor is not None
    weights = {t.id: t.weight for t in targets}
    assert weights[mayor[0]] > 1.0


def test_water_is_intercommunal(mini_db: duckdb.DuckDBPyConnection) -> None:
    found = bodies(decision_map(mini_db, theme="water", code="35238"))
    assert "Conseil communautaire — Rennes Métropole" in found
    assert not any("régional" in b or "départemental" in b for b in found)


def test_secondary_schools_split_region_and_departement(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    found = bodies(decision_map(mini_db, theme="secondary-schools", code="35", level="departement"))
    assert {"Conseil régional de Bretagne", "Conseil départemental d'Ille-et-Vilaine"} <= found


def test_unknown_theme_and_territory(mini_db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(UnknownTheme, match="regional-trains"):
        decision_map(mini_db, theme="space-program", code="35238")
    with pytest.raises(UnknownTerritory, match="territoria search"):
        decision_map(mini_db, theme="roads", code="99999")
