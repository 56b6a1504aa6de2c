"""Influence plans on the knowledge base: graph, plan, explanations, robustness, coalition."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from territoria.errors import ConfigurationError, InvalidPlanRequest, UnknownActor
from territoria.influence.config import load_config
from territoria.influence.network import export_graph, load_graph
from territoria.influence.planner import _similar_territories, plan_project


def test_graph_is_built_once_and_cached(mini_db: duckdb.DuckDBPyConnection) -> None:
    first = load_graph(mini_db)
    assert not first.cached
    assert first.graph.n_nodes > 1000
    second = load_graph(mini_db)
    assert second.cached
    assert second.graph.n_edges == first.graph.n_edges
    # Every in-probability sum respects the configured cap.
    sums = mini_db.execute(
        "SELECT max(s) FROM (SELECT target, sum(probability) AS s FROM influence_edge "
        "GROUP BY target)"
    ).fetchone()
    assert sums is not None and sums[0] <= 1.0 + 1e-9


def test_graph_rebuilds_when_config_changes(
    mini_db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_graph(mini_db)
    custom = tmp_path / "p.toml"
    custom.write_text("[probabilities]\nmember_to_executive = 0.5\n")
    bundle = load_graph(mini_db, config=load_config(custom))
    assert not bundle.cached


def test_config_rejects_probabilities_outside_unit_interval(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[probabilities]\nknows = 1.5\n")
    with pytest.raises(ConfigurationError, match=r"outside \[0, 1\]"):
        load_config(bad)


def test_graph_export(mini_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    bundle = load_graph(mini_db)
    export_graph(bundle, tmp_path)
    nodes = pq.read_table(tmp_path / "nodes.parquet")
    edges = pq.read_table(tmp_path / "edges.parquet")
    assert nodes.column_names == ["id", "name", "kind"]
    assert edges.column_names == ["source", "target", "probability", "type"]
    assert edges.num_rows == bundle.graph.n_edges
    ids = set(nodes.column("id").to_pylist())
    assert set(edges.column("source").to_pylist()) <= ids
    assert "cr-53" in ids


def test_regional_plan(mini_db: duckdb.DuckDBPyConnection) -> None:
    plan = plan_project(
        mini_db, code="53", level="region", theme="regional-trains", k=3, seed=7, mc_samples=10_000
    )
    assert len(plan["seeds"]) == 3
    target_ids = {t["id"] for t in plan["targets"]}
    assert not target_ids & {s["id"] for s in plan["seeds"]}
    gains = [s["marginal_gain"] for s in plan["seeds"]]
    assert sum(gains) == pytest.approx(plan["estimate"], rel=1e-6)
    lo, hi = plan["mc_ci95"]
    assert lo <= plan["mc_estimate"] <= hi
    assert plan["approx_ratio"] >= 1 - 1 / 2.718281828 - 0.1 - 1e-9
    assert plan["estimate"] <= plan["upper_bound"] + 1e-9
    first = plan["seeds"][0]
    assert first["action"].startswith("Rencontrer ")
    assert first["paths"] and first["paths"][0]["path"][0] == first["id"]
    assert first["paths"][0]["path"][-1] in target_ids
    assert all(0.0 <= s["robustness"] <= 1.0 for s in plan["seeds"])
    assert plan["coalition"] and plan["coalition"][0]["added_influence"] >= 0
    # one executive, one line: the mayor of Rennes also presides Rennes Métropole
    executives = [c["executive_id"] for c in plan["coalition"]]
    assert len(executives) == len(set(executives))


def test_same_seed_same_plan(mini_db: duckdb.DuckDBPyConnection) -> None:
    a = plan_project(
        mini_db,
        code="35238",
        theme="roads",
        k=2,
        seed=3,
        with_robustness=False,
        with_coalition=False,
    )
    b = plan_project(
        mini_db,
        code="35238",
        theme="roads",
        k=2,
        seed=3,
        with_robustness=False,
        with_coalition=False,
    )
    assert [s["id"] for s in a["seeds"]] == [s["id"] for s in b["seeds"]]
    assert a["estimate"] == b["estimate"]


def test_include_targets_and_explicit_targets(mini_db: duckdb.DuckDBPyConnection) -> None:
    president = mini_db.execute(
        "SELECT person_id FROM mandate WHERE organisation_id = 'cr-53' AND function_code = 'PRE'"
    ).fetchone()
    assert president is not None
    plan = plan_project(
        mini_db,
        targets={president[0]: 1.0},
        k=1,
        include_targets=True,
        seed=1,
        with_robustness=False,
    )
    # Engaging the decision-maker herself is the best single action.
    assert plan["seeds"][0]["id"] == president[0]


def test_bad_requests(mini_db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidPlanRequest):
        plan_project(mini_db, code="35238", theme="roads", k=0, seed=1)
    with pytest.raises(UnknownActor):
        plan_project(mini_db, targets={"p-nobody": 1.0}, k=1, seed=1)
    with pytest.raises(InvalidPlanRequest, match="no target"):
        plan_project(mini_db, k=1, seed=1)


def test_cli_plan_json(mini_db_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "kb.duckdb"
    db.write_bytes(mini_db_path.read_bytes())
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "territoria",
            "influence",
            "plan",
            "--territory",
            "35238",
            "--theme",
            "roads",
            "--k",
            "2",
            "--seed",
            "5",
            "--no-robustness",
            "--json",
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    for key in ("seeds", "estimate", "mc_estimate", "mc_ci95", "approx_ratio", "targets"):
        assert key in plan
    assert {"id", "name", "marginal_gain"} <= set(plan["seeds"][0])
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "territoria",
            "influence",
            "plan",
            "--territory",
            "35238",
            "--theme",
            "nope",
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "unknown theme" in bad.stderr and "Traceback" not in bad.stderr


def test_coalition_by_indicator_profile(mini_db: duckdb.DuckDBPyConnection) -> None:
    source = mini_db.execute(
        "INSERT INTO source (name, dataset, publisher, licence, retrieved_at, synthetic) "
        "VALUES ('test profile', 'x', 'tests', 'none', now(), true) RETURNING id"
    ).fetchone()
    assert source is not None
    # Communes get an indicator equal to their population: the closest profiles to Rennes are
    # the largest communes of the fixture.
    mini_db.execute(
        "INSERT INTO indicator_value SELECT level, code, 'pop_test', '2020', population, 'hab', ? "
        "FROM territory WHERE level = 'commune'",
        [source[0]],
    )
    plan = plan_project(
        mini_db,
        code="35238",
        theme="roads",
        k=2,
        seed=3,
        with_robustness=False,
        coalition_profile=["pop_test"],
    )
    assert plan["coalition"]
    nearest = _similar_territories(
        mini_db, level="commune", code="35238", indicators=["pop_test"], count=4
    )
    # The four communes closest to Rennes (excluded itself) by population.
    biggest = [
        r[0]
        for r in mini_db.execute(
            "SELECT code FROM territory WHERE level = 'commune' AND code <> '35238' "
            "ORDER BY population DESC LIMIT 4"
        ).fetchall()
    ]
    assert {r[1] for r in nearest} == set(biggest)
    with pytest.raises(InvalidPlanRequest, match="no values"):
        plan_project(
            mini_db,
            code="35238",
            theme="roads",
            k=1,
            seed=3,
            with_robustness=False,
            coalition_profile=["missing_indicator"],
        )


def test_plan_answers_direct_and_relays_with_explanations(
    mini_db: duckdb.DuckDBPyConnection,
) -> None:
    plan = plan_project(
        mini_db, code="53", level="region", theme="regional-trains", k=2, seed=4,
        with_robustness=False, with_coalition=False, mc_samples=4_000,
    )  # fmt: skip
    target_ids = {t["id"] for t in plan["targets"]}
    direct, relays = plan["answers"]["direct"], plan["answers"]["relays"]
    assert {s["id"] for s in direct["seeds"]} <= target_ids
    assert not {s["id"] for s in relays["seeds"]} & target_ids
    # the top-level plan is the relays answer
    assert [s["id"] for s in relays["seeds"]] == [s["id"] for s in plan["seeds"]]
    # meeting the decision-makers themselves moves more of them than any relay
    assert direct["mc_estimate"] > relays["mc_estimate"]
    for answer in (direct, relays):
        assert sum(s["value_share"] for s in answer["seeds"]) == pytest.approx(1.0)
        assert answer["guarantee_fr"].startswith("garantie : au moins ")
        assert answer["guarantee"].startswith("With probability")
    assert direct["candidates_count"] == len(target_ids)
    count = f"{relays['candidates_count']:,}".replace(",", "\u202f")
    assert f"parmi les {count} acteurs proposés" in plan["guarantee_fr"]
    # activation probabilities come from the Monte-Carlo check's own cascades
    moved = sum(t["plan_weight"] * t["activation_probability"] for t in plan["targets"])
    assert moved == pytest.approx(plan["mc_estimate"], rel=1e-9)
    assert sum(t["value_share"] for t in plan["targets"]) == pytest.approx(1.0)
    president = next(t for t in plan["targets"] if t["role"].startswith("président"))
    assert president["group"] is None
    assert "absente de la source" in president["majority_note"]


def test_a_parliamentarian_shown_as_mayor_too_is_flagged_not_silently_proposed() -> None:
    """Since 2017 a deputy or senator cannot be mayor, adjoint, president or vice-president
    (LO 141-1, LO 297): the sources keep both for 59 persons; the plan says one has ended."""
    from territoria.influence.planner import CUMUL_NOTE, _action_sentence, _cumul_note

    senator = {"role_key": "sénateur", "function": None}
    mayor = {"role_key": "conseiller municipal", "function": "maire"}
    councillor = {"role_key": "conseiller municipal", "function": None}
    mep = {"role_key": "député européen", "function": None}
    assert _cumul_note([senator, mayor]) == CUMUL_NOTE
    assert _cumul_note([senator, councillor]) == ""
    assert _cumul_note([mep, mayor]) == ""  # MEPs: another rule, not in LO 141-1
    actors = {"p-1": {"description": "sénatrice (56)", "cumul_note": CUMUL_NOTE}}
    text = _action_sentence({"id": "p-1", "name": "Muriel JOURDA"}, [], actors)
    assert text.startswith("Rencontrer Muriel JOURDA, sénatrice (56)")
    assert "LO 141-1" in text and "vérifier lequel" in text
