"""No artefact carries a plan: attention budgets per source calibrate broadcast relations."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import duckdb
import numpy as np
import pytest

from territoria.errors import ConfigurationError
from territoria.influence import from_edges, maximise
from territoria.influence._attention import attention_budget, calibrate
from territoria.influence.config import load_config
from territoria.influence.graph import InfluenceGraph
from territoria.influence.network import build_graph
from territoria.influence.planner import plan_project

MAYORS = 500
SENATORS = {"p-32acefe33f3392", "p-486e939613356d", "p-8b7fe71f39b72d", "p-fbf197855b5775"}
CHENUT = "p-63aa9c683a74e6"  # président du conseil départemental d'Ille-et-Vilaine


def _broadcast_graph() -> InfluenceGraph:
    """A senator with an edge to each of 500 mayors, each mayor with a weak edge to the
    decision-maker, and the decision-maker's deputy with a direct, stronger channel.

    Nodes: 0 the senator, 1 the deputy, 2 the decision-maker, 3 .. 502 the mayors. The mayors'
    edges are the ones the per-target cap leaves (a decision-maker's in-probabilities sum to
    at most 1 over 500 mayors and the deputy).
    """
    config = load_config()
    mayors = np.arange(3, 3 + MAYORS)
    src = np.concatenate([np.zeros(MAYORS, dtype=np.int64), mayors, [1]])
    dst = np.concatenate([mayors, np.full(MAYORS, 2), [2]])
    prob = np.concatenate(
        [
            np.full(MAYORS, config.probability("senator_to_elector")),
            np.full(MAYORS, 0.01),
            [0.1],
        ]
    )
    names = ["senator_to_elector", "mayor_to_executive", "deputy_to_executive"]
    types = np.concatenate([np.zeros(MAYORS), np.ones(MAYORS), [2]]).astype(np.int16)
    ids = ["senateur", "depute", "president"] + [f"maire-{i}" for i in range(MAYORS)]
    return from_edges(src, dst, prob, ids=ids, types=types, type_names=names)


def _best_of_two(graph: InfluenceGraph) -> str:
    plan = maximise(graph, targets={2: 1.0}, k=1, candidates=[0, 1], seed=7, mc_samples=2_000)
    return plan.seeds[0].id


def test_broadcast_source_wins_without_calibration() -> None:
    # the artefact: 500 weak channels add up to more than the deputy's direct one
    assert _best_of_two(_broadcast_graph()) == "senateur"


def test_deputy_outranks_broadcast_source_with_calibration() -> None:
    graph = calibrate(_broadcast_graph(), load_config())
    assert _best_of_two(graph) == "depute"
    # the senator's 500 edges now sum to its budget: one grand électeur moved on average
    senator = graph.prob[graph.indptr[0] : graph.indptr[1]]
    assert senator.sum() == pytest.approx(load_config().budget("senator_to_elector"))


def test_attention_budget_scales_only_sources_over_budget() -> None:
    # source 0 sends 4 x 0.5 of type 0 (sum 2 > budget 1) and one 0.5 of type 1 (no budget);
    # source 1 sends 2 x 0.3 of type 0 (sum 0.6, within budget)
    sources = np.array([0, 0, 0, 0, 0, 1, 1])
    types = np.array([0, 0, 0, 0, 1, 0, 0])
    prob = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.3, 0.3])
    out = attention_budget(sources, types, prob, np.array([1.0, math.inf]))
    assert out.tolist() == [0.25, 0.25, 0.25, 0.25, 0.5, 0.3, 0.3]


def test_attention_budget_is_configurable(tmp_path: Path) -> None:
    custom = tmp_path / "a.toml"
    custom.write_text("[attention]\nsenator_to_elector = 2.5\ndefault = inf\n")
    config = load_config(custom)
    assert config.budget("senator_to_elector") == 2.5
    assert config.budget("executive_to_member") == math.inf
    assert config.fingerprint() != load_config().fingerprint()
    bad = tmp_path / "bad.toml"
    bad.write_text("[attention]\ndeputy_to_mayor = -1\n")
    with pytest.raises(ConfigurationError, match="deputy_to_mayor"):
        load_config(bad)


def test_built_graph_respects_budgets(mini_db: duckdb.DuckDBPyConnection) -> None:
    config = load_config()
    unbounded = dataclasses.replace(config, attention={}, attention_default=math.inf)
    _, raw_edges = build_graph(mini_db, config=unbounded)
    _, edges = build_graph(mini_db, config=config)
    for table, within in ((raw_edges, False), (edges, True)):
        df = table.to_pandas()
        sums = df[df.type == "senator_to_elector"].groupby("source").probability.sum()
        # budgets hold before the per-target cap, which only lowers probabilities further
        assert bool(sums.max() <= config.budget("senator_to_elector") + 1e-9) is within


@pytest.mark.slow
def test_rennes_plans_not_both_carried_by_the_senators(
    full_db: duckdb.DuckDBPyConnection,
) -> None:
    roads = plan_project(
        full_db, code="35238", level="commune", theme="roads", k=4, seed=1,
        with_robustness=False, with_coalition=False,
    )  # fmt: skip
    schools = plan_project(
        full_db, code="35", level="departement", theme="secondary-schools", k=4, seed=1,
        with_robustness=False, with_coalition=False,
    )  # fmt: skip
    seeds = [{s["id"] for s in p["seeds"]} for p in (roads, schools)]
    # before the calibration the same four senators carried both plans
    assert len(seeds[0] & SENATORS) + len(seeds[1] & SENATORS) <= 2
    # the département president is no longer reached through hundreds of weak channels
    chenut = {t["id"]: t for t in schools["targets"]}[CHENUT]
    assert chenut["activation_probability"] < 0.138
