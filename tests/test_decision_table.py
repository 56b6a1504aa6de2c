"""The decision map's test table: 59 (sub-theme, territory) cases checked by hand against the
law (tests/data/decision_cases.toml, each with its reason), on the full-France knowledge base."""

from __future__ import annotations

import tomllib
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from territoria.influence.decision import Target, decision_map

CASES = tomllib.loads((Path(__file__).parent / "data" / "decision_cases.toml").read_text("utf-8"))
CASE_LIST: list[dict[str, Any]] = CASES["case"]


def by_body(targets: list[Target]) -> dict[str, float]:
    """Total weight of each organisation (its officials', or its own as a body target)."""
    out: dict[str, float] = defaultdict(float)
    for t in targets:
        out[t.body_id] += t.weight
    return dict(out)


def test_the_table_has_forty_cases_or_more() -> None:
    assert len(CASE_LIST) >= 40
    assert all(c.get("why") for c in CASE_LIST)


@pytest.mark.parametrize(
    "case", CASE_LIST, ids=[f"{c['subtheme']}-{c['code']}-{c.get('as_of', '')}" for c in CASE_LIST]
)
def test_decision_case(full_db: duckdb.DuckDBPyConnection, case: dict[str, Any]) -> None:
    as_of = date.fromisoformat(case["as_of"]) if "as_of" in case else None
    targets = decision_map(
        full_db, theme=case["subtheme"], code=case["code"], level=case.get("level"), as_of=as_of
    )
    weights = by_body(targets)
    first = max(weights, key=lambda b: weights[b])
    assert first == case["first"], (
        f"{case['why']}: {sorted(weights.items(), key=lambda kv: -kv[1])[:4]}"
    )
    for body in case.get("includes", []):
        assert body in weights, f"{body} missing: {case['why']}"
    for body in case.get("absent", []):
        assert body not in weights, f"{body} present: {case['why']}"
    if "weight" in case:
        assert weights[first] == pytest.approx(case["weight"])
    own = [t for t in targets if t.body_id == first]
    heaviest = max(own, key=lambda t: t.weight)
    if "kind" in case:
        assert {t.kind for t in own} == {case["kind"]}
    if case.get("kind") == "body":
        assert heaviest.id == first
    if "note" in case:
        assert case["note"] in heaviest.note
    if "basis" in case:
        assert case["basis"] in heaviest.basis


def test_a_body_without_officials_is_never_replaced(full_db: duckdb.DuckDBPyConnection) -> None:
    """Collèges in Lyon: the Métropole itself, with a French note; the Rhône never stands in."""
    targets = decision_map(full_db, theme="colleges", code="69123")
    metro = next(t for t in targets if t.id == "cd-69M")
    assert metro.kind == "body"
    assert metro.name == "Métropole de Lyon"
    assert metro.note == "aucun élu dans la source : l'institution elle-même est la cible"
    assert not any(t.body_id == "cd-69" for t in targets)


def test_a_departement_project_shares_the_college_weight_by_population(
    full_db: duckdb.DuckDBPyConnection,
) -> None:
    """Rhône (69): the Métropole de Lyon and the Conseil départemental share the collèges'
    weight in proportion to the population of their communes; the région gets none."""
    weights = by_body(decision_map(full_db, theme="colleges", code="69", level="departement"))
    pops = dict(
        full_db.execute(
            """
            SELECT CASE WHEN e.parent_code = '200046977' THEN 'cd-69M' ELSE 'cd-69' END,
                   sum(t.population)
            FROM membership d JOIN territory t ON t.level = 'commune' AND t.code = d.code
            LEFT JOIN membership e ON e.level = 'commune' AND e.code = d.code
                 AND e.parent_level = 'epci'
            WHERE d.level = 'commune' AND d.parent_level = 'departement' AND d.parent_code = '69'
            GROUP BY 1
            """
        ).fetchall()
    )
    share = pops["cd-69M"] / (pops["cd-69M"] + pops["cd-69"])
    assert weights["cd-69M"] == pytest.approx(3.0 * share)
    assert weights["cd-69"] == pytest.approx(3.0 * (1 - share))
    assert "cr-84" not in weights


def test_meps_share_an_eu_fund_equally(full_db: duckdb.DuckDBPyConnection) -> None:
    """The 81 MEPs (one national constituency since 2019, relays only: 0.25) each get 1/81."""
    meps = [t for t in decision_map(full_db, theme="feder", code="35238") if t.body_id == "pe"]
    assert len(meps) == 81
    assert {round(t.weight, 9) for t in meps} == {round(0.25 / 81, 9)}
