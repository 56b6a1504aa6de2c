"""Who a plan may engage: one's own network, or the officials of a territory."""

from __future__ import annotations

import duckdb
import pytest

from territoria.analysis.profile import profile
from territoria.errors import InvalidPlanRequest, UnknownTerritory
from territoria.influence.candidates import network_candidates, official_candidates


def test_officials_of_rennes_include_its_mayor(mini_kb: duckdb.DuckDBPyConnection) -> None:
    mayor = next(o for o in profile(mini_kb, "35238").officials if o.function_code == "MAI")
    found = official_candidates(mini_kb, "35238")
    assert mayor.person_id in found
    # the métropole's officials cover its communes: more than the city's alone
    assert set(found) < set(official_candidates(mini_kb, "243500139", "epci"))
    with pytest.raises(UnknownTerritory):
        official_candidates(mini_kb, "00000")


def test_empty_network_says_how_to_fill_it(mini_kb: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidPlanRequest, match="territoria actions add"):
        network_candidates(mini_kb)


def test_network_is_the_actors_met(mini_db: duckdb.DuckDBPyConnection) -> None:
    columns = [r[0] for r in mini_db.execute("DESCRIBE relation").fetchall()]
    row = dict.fromkeys(columns)
    source = mini_db.execute("SELECT min(id) FROM source").fetchone()
    assert source is not None
    row.update(
        source_actor="self", target_actor="p-x", type="knows", strength=0.5, source_id=source[0]
    )
    row = {k: v for k, v in row.items() if v is not None}
    mini_db.execute(
        f"INSERT INTO relation ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
        list(row.values()),
    )
    assert network_candidates(mini_db) == ["p-x"]
