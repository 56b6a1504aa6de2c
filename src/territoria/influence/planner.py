"""Influence and lobbying plans for a project: who decides, whom to engage, why, how sure.

``plan_project`` ties the pieces together: the decision map gives weighted targets, the
cached influence graph of the knowledge base carries the channels, :func:`maximise` chooses the
actors (RR sets + greedy coverage with OPIM-C bounds), a forward Monte-Carlo simulation checks
the estimate, and the plan is explained (most probable paths), stress-tested (re-plans under
perturbed probabilities) and completed with a coalition of territories sharing the stake.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import duckdb
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from territoria.errors import InvalidPlanRequest, UnknownActor
from territoria.influence._explain import (
    PARLIAMENT_ROLES,
    answer,
    target_activation,
    target_entries,
)
from territoria.influence._gain import added_influence, rank_co_signers
from territoria.influence._robustness import robustness
from territoria.influence._territories import _area_territories, _similar_territories
from territoria.influence.candidates import no_candidate_left
from territoria.influence.config import InfluenceConfig, load_config
from territoria.influence.decision import Target, decision_map, get_theme, resolve_territory
from territoria.influence.graph import InfluenceGraph
from territoria.influence.network import GraphBundle, load_graph
from territoria.influence.optimiser import PlanResult, maximise
from territoria.influence.stance import Stance, relay_costs, stance_weights, validate_stances
from territoria.kb.state_bodies import SERVICES

__all__ = ["coalition", "describe_actors", "explain_seeds", "plan_project", "robustness"]

Progress = Callable[[str, float], None]
# Paths less probable than this are not worth showing to a user.
MIN_PATH_PROBABILITY = 1e-6
SEED_KINDS = {
    "person",
    "company",
    "association",
    "federation",
    "university",
    "research_centre",
    "media",
    "other",
}


#: French names of actor kinds, in the plan's descriptions and action sentences.
KIND_LABELS = {
    "company": "entreprise",
    "association": "association",
    "federation": "fédération",
    "university": "enseignement supérieur",
    "research_centre": "centre de recherche",
    "media": "média",
    "conseil_municipal": "conseil municipal",
    "conseil_communautaire": "conseil communautaire",
    "conseil_departemental": "conseil départemental",
    "conseil_regional": "conseil régional",
    "groupe_parlementaire": "groupe parlementaire",
    **SERVICES,
}


def _noop(_step: str, _fraction: float) -> None:
    return None


def describe_actors(
    con: duckdb.DuckDBPyConnection, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Name and current mandates of each actor id, with a French description."""
    if not ids:
        return {}
    rows = con.execute(
        """
        SELECT m.person_id, p.first_name || ' ' || p.last_name, m.role,
               coalesce(m.function_label, m.function), o.name, o.kind, m.level, m.code,
               coalesce(m.role_label, m.role), m.group_name
        FROM mandate m JOIN person p ON p.id = m.person_id
        JOIN organisation o ON o.id = m.organisation_id
        WHERE m.person_id IN (SELECT unnest(?::VARCHAR[])) AND m.end_date IS NULL
        ORDER BY m.person_id, m.function IS NULL, m.organisation_id
        """,
        [list(ids)],
    ).fetchall()
    out: dict[str, dict[str, Any]] = {}
    for pid, name, role_key, function, org, kind, level, code, role, group in rows:
        entry = out.setdefault(
            str(pid), {"id": pid, "name": name, "mandates": [], "description": ""}
        )
        entry["mandates"].append(
            {
                "role": role,
                "role_key": role_key,
                "function": function,
                "body": org,
                "body_kind": kind,
                "level": level,
                "code": code,
                "group": group,
            }
        )
    for entry in out.values():
        parts = []
        for m in entry["mandates"]:
            if m["function"]:
                parts.append(f"{m['function']} ({m['body']})")
            elif m["role_key"] in PARLIAMENT_ROLES:
                parts.append(m["role"] + (f" ({m['code']})" if m["code"] else ""))
        if not parts and entry["mandates"]:
            first = entry["mandates"][0]
            parts.append(f"{first['role']} ({first['body']})")
        entry["description"] = ", ".join(parts[:3])
        entry["cumul_note"] = _cumul_note(entry["mandates"])
    missing = [i for i in ids if i not in out]
    if missing:
        for oid, name, kind, status in con.execute(
            "SELECT id, name, kind, status FROM organisation "
            "WHERE id IN (SELECT unnest(?::VARCHAR[])) "
            "UNION ALL SELECT id, name, kind, NULL FROM actor "
            "WHERE id IN (SELECT unnest(?::VARCHAR[]))",
            [missing, missing],
        ).fetchall():
            label = KIND_LABELS.get(str(kind), kind)
            if status == "statut_particulier":
                # the Métropole de Lyon, the Collectivité de Corse ... are not departmental
                # councils, whatever council kind their competences are filed under
                label = "collectivité à statut particulier"
            elif str(label).lower() in str(name).lower():
                label = ""  # "Préfecture d'Ille-et-Vilaine, préfecture"
            out[str(oid)] = {"id": oid, "name": name, "mandates": [], "description": label}
    return out


#: Said of a person the sources show as parliamentarian and local executive at once.
CUMUL_NOTE = (
    "mandats incompatibles dans la source : un mandat parlementaire et une fonction exécutive "
    "locale (code électoral LO 141-1 pour les députés, LO 297 pour les sénateurs) ; l'un a "
    "pris fin dans les 30 jours (LO 151-1) : vérifier lequel avant de solliciter"
)


def _cumul_note(mandates: Sequence[Mapping[str, Any]]) -> str:
    """:data:`CUMUL_NOTE` when a deputy or senator also holds a mayor's, adjoint's,
    president's or vice-president's function in the sources (forbidden since 2017)."""
    national = any(m["role_key"] in ("député", "sénateur") for m in mandates)
    local = any(m["function"] and m["role_key"] not in PARLIAMENT_ROLES for m in mandates)
    return CUMUL_NOTE if national and local else ""


def _log_matrix(graph: InfluenceGraph) -> csr_matrix:
    weights = -np.log(np.clip(graph.prob, 1e-300, 1.0))
    # zero-weight edges (p = 1) would vanish from a sparse matrix: keep them tiny instead
    weights = np.maximum(weights, 1e-12)
    return csr_matrix((weights, graph.indices, graph.indptr), shape=(graph.n_nodes, graph.n_nodes))


def explain_seeds(
    graph: InfluenceGraph,
    seeds: Sequence[int],
    targets: Mapping[int, float],
    *,
    per_seed: int = 3,
) -> list[list[dict[str, Any]]]:
    """For each seed, its most probable paths to the targets it reaches (best first).

    A path's probability is the product of its edge probabilities (Dijkstra on ``-log p``).
    """
    if not seeds:
        return []
    matrix = _log_matrix(graph)
    limit = -math.log(MIN_PATH_PROBABILITY)
    dist, pred = dijkstra(
        matrix, directed=True, indices=list(seeds), limit=limit, return_predecessors=True
    )
    tidx = np.array(list(targets), dtype=np.int64)
    tw = np.array([targets[int(t)] for t in tidx])
    names = graph.names or graph.ids
    out: list[list[dict[str, Any]]] = []
    for row, seed in enumerate(seeds):
        d = dist[row, tidx]
        ok = np.isfinite(d) & (tidx != seed)
        if not ok.any():
            out.append([])
            continue
        score = np.where(ok, tw * np.exp(-np.where(ok, d, 0.0)), -1.0)
        order = np.argsort(-score)[:per_seed]
        paths = []
        for j in order:
            if score[j] <= 0:
                continue
            node, chain = int(tidx[j]), []
            while node != seed and node >= 0:
                chain.append(node)
                node = int(pred[row, node])
            chain.append(int(seed))
            chain.reverse()
            paths.append(
                {
                    "target": graph.ids[int(tidx[j])],
                    "target_name": names[int(tidx[j])],
                    "probability": float(math.exp(-d[j])),
                    "path": [graph.ids[i] for i in chain],
                    "path_names": [names[i] for i in chain],
                }
            )
        out.append(paths)
    return out


def coalition(
    con: duckdb.DuckDBPyConnection,
    graph: InfluenceGraph,
    seeds: Sequence[int],
    targets: Mapping[int, float],
    *,
    level: str,
    code: str,
    seed: int,
    samples: int = 20_000,
    limit: int = 15,
    profile: Sequence[str] | None = None,
    model: str = "ic",
) -> list[dict[str, Any]]:
    """Territories sharing the project's stake, ranked by the influence their executives add.

    Candidates are the communes and EPCI of the project's area (for a commune: the communes of
    its EPCI) or, with ``profile``, the territories of the same level whose values of those
    indicators are closest to the project territory's (z-scored Euclidean distance). The
    gain of a territory is the expected weighted targets its executive (mayor or president)
    reaches beyond the plan's seeds, estimated on fresh RR sets.
    """
    if profile:
        rows = _similar_territories(con, level=level, code=code, indicators=profile)
    else:
        rows = _area_territories(con, level=level, code=code)
    if not rows:
        return []
    gain = added_influence(graph, seeds, targets, seed=seed, samples=samples, model=model)
    seed_mask = np.zeros(graph.n_nodes, dtype=bool)
    seed_mask[list(seeds)] = True
    index = graph.positions
    names = graph.names or graph.ids
    out = []
    by_executive: dict[str, dict[str, Any]] = {}
    for t_level, t_code, t_name, pid in rows:
        i = index.get(str(pid))
        if i is None or seed_mask[i]:
            continue
        kept = by_executive.get(str(pid))
        if kept is not None:
            # one person, one ask: the mayor of Rennes presides Rennes Métropole too
            kept["also_executive_of"].append({"level": t_level, "code": t_code, "name": t_name})
            continue
        entry = {
            "level": t_level,
            "code": t_code,
            "name": t_name,
            "executive_id": pid,
            "executive_name": names[i],
            "added_influence": float(gain[i]),
            "also_executive_of": [],
        }
        by_executive[str(pid)] = entry
        out.append(entry)
    out.sort(key=lambda r: -float(r["added_influence"]))
    return out[:limit]


def _answers(
    graph: InfluenceGraph,
    result: PlanResult,
    tmap: Mapping[int, float],
    mask: NDArray[np.bool_],
    *,
    include_targets: bool,
    solve: Callable[[NDArray[np.bool_]], PlanResult],
    mc_samples: int,
) -> dict[str, dict[str, Any]]:
    """The plan's answers: ``main`` (the plan itself, with its value shares), ``direct`` (the
    targets as candidates) and, when the plan's candidates include the targets, ``relays``
    (the candidates without them; otherwise the plan itself is the relays answer)."""
    nodes = list(tmap)

    def one(plan: PlanResult, allowed: NDArray[np.bool_]) -> dict[str, Any]:
        # the Monte-Carlo check's own cascades tracked the targets: no second run
        activation = plan.target_activation
        if not set(nodes) <= activation.keys():
            activation = target_activation(
                graph,
                [s.index for s in plan.seeds],
                nodes,
                model="lt" if plan.model == "lt" else "ic",
                samples=mc_samples,
                seed=plan.seed,
            )
        return answer(
            plan,
            candidates_count=int(np.count_nonzero(allowed)),
            activation=activation,
            graph=graph,
        )

    main = one(result, mask)
    main["value_shares"] = {s["id"]: s["value_share"] for s in main["seeds"]}
    direct_mask = np.zeros(graph.n_nodes, dtype=bool)
    direct_mask[nodes] = True
    relays_mask = mask.copy()
    relays_mask[nodes] = False
    out = {"main": main, "direct": one(solve(direct_mask), direct_mask)}
    if include_targets:
        out["relays"] = one(solve(relays_mask), relays_mask)
    return out


def _action_sentence(
    seed: dict[str, Any], paths: list[dict[str, Any]], actors: dict[str, dict[str, Any]]
) -> str:
    who = actors.get(seed["id"], {})
    desc = who.get("description") or ""
    text = f"Rencontrer {seed['name']}" + (f", {desc}" if desc else "")
    if paths:
        relays = []
        for p in paths[:2]:
            t = actors.get(p["target"], {})
            tdesc = t.get("description")
            relays.append(p["target_name"] + (f", {tdesc}" if tdesc else ""))
        text += " : relais vers " + " ; ".join(relays)
    if who.get("cumul_note"):
        text += f" — attention, {who['cumul_note']}"
    return text


def plan_project(
    con: duckdb.DuckDBPyConnection,
    *,
    code: str | None = None,
    level: str | None = None,
    theme: str | None = None,
    targets: Mapping[str, float] | None = None,
    k: int | None = None,
    budget: float | None = None,
    costs: Mapping[str, float] | None = None,
    candidates: Sequence[str] | None = None,
    include_targets: bool | None = None,
    model: str = "ic",
    epsilon: float = 0.1,
    delta: float = 0.01,
    seed: int | None = None,
    mc_samples: int = 10_000,
    min_rr_sets: int = 10_000,
    with_robustness: bool = True,
    with_coalition: bool = True,
    coalition_profile: Sequence[str] | None = None,
    co_signers: Sequence[str] | None = None,
    config: InfluenceConfig | None = None,
    bundle: GraphBundle | None = None,
    progress: Progress | None = None,
    stances: Mapping[str, Stance] | None = None,
) -> dict[str, Any]:
    """Plan the actors to engage for a project and explain the plan.

    Parameters
    ----------
    con
        Knowledge base.
    code, level, theme
        The project's territory and theme (see ``territoria influence themes``); the decision
        map turns them into weighted targets.
    targets
        Explicit decision-makers ``{actor id: weight}`` (instead of, or added to, the theme's).
    k, budget, costs
        Number of actors to engage, or a budget with a cost per actor id (default cost 1).
    candidates
        Actor ids allowed as seeds (our own network, the territory's officials ...); by
        default every person or non-council organisation except the targets.
    include_targets
        Let targets be chosen as seeds too.
    co_signers
        Actor ids who could sign the project with us (a pole's firms and knowledge actors,
        see :func:`territoria.influence.poles.pole_candidates`): those not chosen as seeds are
        ranked by the influence they would add (``co_signers`` in the result).
    stances
        Known stances ``{actor id: Stance}`` of stakeholders (see
        :mod:`territoria.influence.stance`).
    model, epsilon, delta, seed, mc_samples, min_rr_sets
        Passed to :func:`territoria.influence.maximise`; starting from at least
        ``min_rr_sets`` RR sets per collection makes the greedy choice less noisy than
        stopping as soon as the guarantee is certified (the guarantee holds either way).

    Returns
    -------
    dict
        ``seeds`` (ordered: id, name, marginal_gain, description, paths, action, robustness),
        ``estimate``, ``upper_bound``, ``approx_ratio``, ``mc_estimate``, ``mc_ci95``,
        ``targets`` (id, weight, name, role, body), ``actions`` (plain French), ``coalition``,
        ``co_signers`` (id, name, kind, added_influence),
        ``guarantee``, ``graph`` (nodes, edges, cached, built_at), ``timings``.
        Explanations: ``seeds[i].value_share`` (share of the estimate the seed carries, see
        :mod:`territoria.influence._explain`), ``targets[j].activation_probability`` (Monte
        Carlo), ``plan_weight`` (the weight once the stance is known), ``stance``, ``group``
        (parliamentarians) or ``majority_note`` (council members); ``guarantee_fr`` (plain
        French, scoped to the ``candidates_count`` actors the plan could choose from).
        ``answers``: ``direct`` (meet the decision-makers themselves: the targets are the
        candidates) and ``relays`` (who moves them: the candidates without the targets), each
        with ``seeds``, ``estimate``, ``mc_estimate``, ``mc_ci95``, ``guarantee``,
        ``guarantee_fr``, ``candidates_count`` and ``activation`` per target. For backward
        compatibility the top-level plan is the relays answer (with ``include_targets``: the
        plan over the candidates and the targets together).
    """
    report = progress or _noop
    stances = validate_stances(stances)
    config = config or load_config()
    if include_targets is None:
        include_targets = config.include_targets
    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    report("graph", 0.0)
    bundle = bundle or load_graph(con, config=config)
    graph = bundle.graph
    timings["graph"] = time.perf_counter() - t0
    index = graph.positions
    target_list: list[Target] = []
    territory = None
    theme_info = None
    if theme is not None:
        if code is None:
            msg = "a theme needs a territory: give --territory CODE"
            raise InvalidPlanRequest(msg)
        theme_info = get_theme(theme)
        territory = resolve_territory(con, code, level)
        target_list = decision_map(con, theme=theme, code=code, level=level)
    elif code is not None:
        territory = resolve_territory(con, code, level)
    for pid, weight in (targets or {}).items():
        if not (isinstance(weight, int | float) and weight > 0):
            msg = f"target {pid!r} has weight {weight!r}: weights must be positive numbers"
            raise InvalidPlanRequest(msg)
        target_list.append(Target(pid, float(weight)))
    if not target_list:
        msg = "no target: give a theme and a territory, or explicit targets (--target ID:WEIGHT)"
        raise InvalidPlanRequest(msg)
    tmap: dict[int, float] = {}
    for t in target_list:
        if t.id not in index:
            msg = (
                f"unknown actor {t.id!r} as target: it is not in the influence graph "
                "(use a person id such as 'p-…' from 'territoria profile --json')"
            )
            raise UnknownActor(msg)
        tmap[index[t.id]] = tmap.get(index[t.id], 0.0) + t.weight
    plan_weights = stance_weights({graph.ids[i]: w for i, w in tmap.items()}, stances)
    if not any(w > 0 for w in plan_weights.values()):
        msg = (
            "every decision-maker of the plan already supports the project (or has salience 0): "
            "there is nobody to move; check the stakeholders' stances"
        )
        raise InvalidPlanRequest(msg)
    tmap = {index[pid]: w for pid, w in plan_weights.items()}
    if budget is not None:
        costs = relay_costs(costs, stances)
    mask = np.array([kind in SEED_KINDS for kind in bundle.kinds], dtype=bool)
    if candidates is not None:
        allowed = np.zeros(graph.n_nodes, dtype=bool)
        for pid in candidates:
            if pid not in index:
                msg = f"unknown candidate actor {pid!r}: it is not in the influence graph"
                raise UnknownActor(msg)
            allowed[index[pid]] = True
        mask &= allowed
    if not include_targets:
        mask[list(tmap)] = False
    if candidates is not None and not mask.any():
        raise InvalidPlanRequest(no_candidate_left(candidates))
    cost_arr = None
    if costs:
        cost_arr = np.ones(graph.n_nodes)
        for pid, c in costs.items():
            if pid in index:
                cost_arr[index[pid]] = float(c)
    report("optimise", 0.2)
    t1 = time.perf_counter()

    def solve(allowed: NDArray[np.bool_]) -> PlanResult:
        return maximise(
            graph,
            targets=tmap,
            k=k,
            budget=budget,
            costs=cost_arr,
            candidates=allowed,
            model="lt" if model == "lt" else "ic",
            epsilon=epsilon,
            delta=delta,
            seed=seed,
            mc_samples=mc_samples,
            min_rr_sets=min_rr_sets,
        )

    result = solve(mask)
    timings["optimise_and_check"] = time.perf_counter() - t1
    t6 = time.perf_counter()
    answers = _answers(
        graph, result, tmap, mask, include_targets=include_targets, solve=solve,
        mc_samples=mc_samples,
    )  # fmt: skip
    timings["answers"] = time.perf_counter() - t6
    report("explain", 0.5)
    t2 = time.perf_counter()
    seed_idx = [s.index for s in result.seeds]
    paths = explain_seeds(graph, seed_idx, tmap)
    timings["explain"] = time.perf_counter() - t2
    keep: dict[str, float] = {}
    if with_robustness and config.replans > 0:
        t3 = time.perf_counter()
        keep = robustness(
            graph,
            seed_idx,
            targets=tmap,
            k=k,
            budget=budget,
            costs=cost_arr,
            candidates=mask,
            sigma=config.sigma,
            replans=config.replans,
            rr_sets=result.selection_rr_sets,
            seed=seed,
            model=result.model,
            progress=lambda s, f: report(s, 0.55 + 0.35 * f),
        )
        timings["robustness"] = time.perf_counter() - t3
    coal: list[dict[str, Any]] = []
    if with_coalition and territory is not None:
        report("coalition", 0.92)
        t4 = time.perf_counter()
        coal = coalition(
            con,
            graph,
            seed_idx,
            tmap,
            level=territory[0],
            code=territory[1],
            seed=seed,
            profile=coalition_profile,
            model=result.model,
        )
        timings["coalition"] = time.perf_counter() - t4
    signers: list[dict[str, Any]] = []
    if co_signers:
        report("co-signers", 0.96)
        t5 = time.perf_counter()
        signers = rank_co_signers(
            graph,
            seed_idx,
            tmap,
            list(co_signers),
            seed=seed,
            kinds=bundle.kinds,
            model=result.model,
        )
        timings["co_signers"] = time.perf_counter() - t5
    ids = [s.id for s in result.seeds] + [t.id for t in target_list]
    ids += [s["id"] for a in answers.values() for s in a["seeds"]]
    for p in paths:
        for path in p:
            ids.extend(path["path"])
    actors = describe_actors(con, sorted(set(ids)))
    seeds_out = []
    for s, p in zip(result.seeds, paths, strict=True):
        entry = {
            "id": s.id,
            "name": s.name,
            "marginal_gain": s.marginal_gain,
            "cost": s.cost,
            "description": actors.get(s.id, {}).get("description", ""),
            "cumul_note": actors.get(s.id, {}).get("cumul_note", ""),
            "paths": p,
            "robustness": keep.get(s.id),
        }
        entry["action"] = _action_sentence(entry, p, actors)
        seeds_out.append(entry)
    main = answers.pop("main")
    shares = main.pop("value_shares")
    for entry in seeds_out:
        entry["value_share"] = shares[entry["id"]]
    main["seeds"] = seeds_out
    answers.setdefault("relays", main)
    for other in answers.values():
        for entry in other["seeds"]:
            entry.setdefault("description", actors.get(entry["id"], {}).get("description", ""))
    merged: dict[str, Target] = {}
    for t in target_list:
        if t.id in merged:
            merged[t.id].weight += t.weight
        else:
            # keep kind, note, body_id and basis of the decision map's target
            merged[t.id] = dataclasses.replace(
                t, name=t.name or actors.get(t.id, {}).get("name", ""), reasons=[]
            )
    report("done", 1.0)
    timings["total"] = time.perf_counter() - t0
    base = result.to_dict()
    base.update(
        {
            "seeds": seeds_out,
            "targets": target_entries(
                [t.to_dict() for t in merged.values()],
                plan_weights=plan_weights,
                activation=main["activation"],
                stances=stances,
                actors=actors,
            ),
            "answers": answers,
            "guarantee_fr": main["guarantee_fr"],
            "candidates_count": main["candidates_count"],
            "actions": [s["action"] for s in seeds_out],
            "coalition": coal,
            "co_signers": signers,
            "lower_bound": result.lower_bound,
            "certified": result.certified,
            "seed": result.seed,
            "k": result.k,
            "budget": result.budget,
            "total_cost": result.total_cost,
            "mc_seconds": result.mc_seconds,
            "project": {
                "theme": theme,
                "theme_label": theme_info.label_fr if theme_info else None,
                "law": theme_info.law if theme_info else None,
                "territory": {"level": territory[0], "code": territory[1], "name": territory[2]}
                if territory
                else None,
            },
            "robustness_settings": {"sigma": config.sigma, "replans": config.replans},
            "graph": {
                "nodes": graph.n_nodes,
                "edges": graph.n_edges,
                "cached": bundle.cached,
                "fingerprint": bundle.fingerprint,
                "config": list(config.origin),
            },
            "timings": timings,
        }
    )
    return base
