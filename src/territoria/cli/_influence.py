"""``territoria influence ...`` and ``territoria relations ...`` (``territoria actions ...``
lives in :mod:`territoria.cli._actions`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from territoria.cli._common import (
    DbOption,
    QuietOption,
    chosen_level,
    console,
    context,
    handle_errors,
    print_json,
    step_progress,
)
from territoria.errors import InvalidPlanRequest

influence = typer.Typer(
    help="Influence graph, decision map and lobbying plans.", no_args_is_help=True
)
graph_app = typer.Typer(help="The influence graph of the knowledge base.", no_args_is_help=True)
relations = typer.Typer(help="Relations between actors (your own network).", no_args_is_help=True)
influence.add_typer(graph_app, name="graph")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    """Attach the influence, relations and actions commands to the main app."""
    from territoria.cli._actions import actions

    app.add_typer(influence, name="influence")
    app.add_typer(relations, name="relations")
    app.add_typer(actions, name="actions")


@influence.command("themes")
def themes_command(json_output: JsonOption = False) -> None:
    """List the decision-map themes and their sub-themes (stable ids, both accepted by
    'influence plan --theme'), the competent bodies (weights) and the law in force."""
    from territoria.influence._competences import BODY_LABELS
    from territoria.influence.decision import themes

    found = themes()
    if json_output:
        print_json([t.to_dict() for t in found])
        return
    table = Table(title="Thèmes et sous-thèmes de la carte de décision")
    for col in ("id", "thème", "instances compétentes (poids)", "fondement"):
        table.add_column(col, overflow="fold")
    for t in found:
        table.add_row(t.id, t.label_fr, "", t.law, style="bold")
        for s in t.subthemes:
            bodies = ", ".join(f"{BODY_LABELS.get(lv, lv)} ({w:g})" for lv, w in s.bodies)
            table.add_row(f"  {s.id}", s.label_fr, bodies, s.law)
    console.print(table)


@graph_app.command("build")
def graph_build(
    config: Annotated[Path | None, typer.Option(help="Probabilities TOML file.")] = None,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """(Re)build the influence graph of the knowledge base and cache it there."""
    from territoria.influence.config import load_config
    from territoria.influence.network import load_graph

    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect()
        try:
            bundle = load_graph(con, config=load_config(config), rebuild=True)
        finally:
            con.close()
    if not ctx.quiet:
        console.print(
            f"influence graph: {bundle.graph.n_nodes:,} nodes, {bundle.graph.n_edges:,} edges, "
            f"built in {bundle.seconds:.1f} s"
        )


@graph_app.command("export")
def graph_export(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")],
    fmt: Annotated[str, typer.Option("--format", help="Only 'parquet'.")] = "parquet",
    config: Annotated[Path | None, typer.Option(help="Probabilities TOML file.")] = None,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Write nodes.parquet (id, name, kind) and edges.parquet (source, target, probability,
    type) into a folder."""
    from territoria.influence.config import load_config
    from territoria.influence.network import export_graph, load_graph

    ctx = context(db, quiet)
    with handle_errors():
        cfg = load_config(config)
        con = ctx.connect()
        try:
            bundle = load_graph(con, config=cfg)
        finally:
            con.close()
        written = export_graph(bundle, out, fmt=fmt)
    if not ctx.quiet:
        for path in written:
            console.print(str(path))


def _parse_targets(values: list[str] | None) -> dict[str, float]:
    targets: dict[str, float] = {}
    for value in values or []:
        pid, _, weight = value.rpartition(":")
        if not pid:
            pid, weight = value, "1"
        try:
            w = float(weight)
        except ValueError:
            msg = f"--target {value!r}: expected ID:WEIGHT with a number as weight"
            raise InvalidPlanRequest(msg) from None
        targets[pid] = targets.get(pid, 0.0) + w
    return targets


def _read_costs(path: Path | None) -> dict[str, float] | None:
    if path is None:
        return None
    import csv

    costs = {}
    with path.open(encoding="utf-8") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=2):
            try:
                costs[row["actor"]] = float(row["cost"])
            except (KeyError, ValueError, TypeError):
                msg = f"{str(path)!r} line {n}: expected columns actor,cost with a number"
                raise InvalidPlanRequest(msg) from None
    return costs


def _pole_actors(con: Any, mode: str, option: str) -> Any:
    """Register the actors of the pole named by ``pole:ID`` and return them (``PoleActors``)."""
    pole_id = mode.removeprefix("pole:").strip()
    if not pole_id:
        msg = (
            f"{option} {mode!r}: give the pole id, e.g. pole:g03-35028 ('territoria poles detect')"
        )
        raise InvalidPlanRequest(msg)
    from territoria.influence.poles import pole_candidates

    return pole_candidates(con, pole_id)


def _print_answer(title: str, answer: dict[str, Any]) -> None:
    """One answer of a plan (direct or relays): its actors, estimate and guarantee."""
    lo, hi = answer["mc_ci95"]
    console.print(f"[bold]{title}[/]")
    for i, s in enumerate(answer["seeds"], start=1):
        share = s.get("value_share")
        part = "" if share is None else f" — {share:.0%} de la valeur"
        desc = s.get("description") or ""
        console.print(f"  {i}. {s['name']}" + (f", {desc}" if desc else "") + part, highlight=False)
    console.print(
        f"  influence estimée {answer['estimate']:.3f} (Monte-Carlo {answer['mc_estimate']:.3f}, "
        f"IC 95 % [{lo:.3f} ; {hi:.3f}])"
    )
    if answer.get("guarantee_fr"):
        console.print(f"  [dim]{answer['guarantee_fr']}[/]")


def _print_plan(plan: dict[str, Any]) -> None:
    from territoria.api._plan_view import FRAGILE_BELOW

    project = plan.get("project") or {}
    terr = project.get("territory") or {}
    if project.get("theme"):
        console.print(
            f"[bold]{project.get('theme_label')}[/] — {terr.get('name')} ({terr.get('code')})"
        )
        console.print(f"[dim]{project.get('law')}[/]")
    dtab = Table(title="Décideurs du projet")
    for col in ("décideur", "fonction", "poids", "probabilité d'être atteint", "note"):
        dtab.add_column(col, overflow="fold")
    for t in sorted(plan["targets"], key=lambda t: -float(t["weight"]))[:12]:
        act = t.get("activation_probability")
        stance = t.get("stance") or {}
        note = t.get("note") or ""
        if stance:
            note = f"position : {stance.get('label') or stance.get('position')}" + (
                f" ; {note}" if note else ""
            )
        dtab.add_row(
            t.get("name") or t["id"],
            " — ".join(x for x in (t.get("role"), t.get("body")) if x),
            f"{float(t['weight']):.2f}",
            "—" if act is None else f"{act:.1%}",
            note,
        )
    if len(plan["targets"]) > 12:
        dtab.caption = f"{len(plan['targets']) - 12} autres décideurs (--json pour la liste)"
    console.print(dtab)
    table = Table(title="Relais : qui faire agir auprès des décideurs (ordre d'engagement)")
    for col in ("#", "acteur", "mandats", "part de la valeur", "robustesse"):
        table.add_column(col, overflow="fold")
    fragile = []
    for i, s in enumerate(plan["seeds"], start=1):
        rob = s.get("robustness")
        share = s.get("value_share")
        label = "—" if rob is None else f"{rob:.0%}"
        if rob is not None and rob < FRAGILE_BELOW:
            label += " (choix fragile)"
            fragile.append(s["name"])
        table.add_row(
            str(i),
            s["name"],
            s.get("description", ""),
            "—" if share is None else f"{share:.0%}",
            label,
        )
    console.print(table)
    for i, s in enumerate(plan["seeds"], start=1):
        console.print(f"{i}. {s['action']}", highlight=False)
    if fragile:
        console.print(
            "[yellow]choix fragiles[/] (retenus dans moins de "
            f"{FRAGILE_BELOW:.0%} des re-calculs aux probabilités perturbées) : "
            + ", ".join(fragile),
            highlight=False,
        )
    lo, hi = plan["mc_ci95"]
    elo, ehi = plan.get("estimate_ci95") or (plan["estimate"], plan["estimate"])
    console.print(
        f"influence estimée {plan['estimate']:.3f} (IC 95 % [{elo:.3f} ; {ehi:.3f}] ; "
        f"contrôle Monte-Carlo {plan['mc_estimate']:.3f}, IC 95 % [{lo:.3f} ; {hi:.3f}]) "
        "sur un poids total de décideurs "
        f"{sum(t['weight'] for t in plan['targets']):.2f} ; borne supérieure de l'optimum "
        f"{plan['upper_bound']:.3f}"
    )
    console.print(f"[dim]{plan.get('guarantee_fr') or plan['guarantee']}[/]")
    answers = plan.get("answers") or {}
    if answers.get("direct"):
        _print_answer("Réponse directe : rencontrer les décideurs eux-mêmes", answers["direct"])
    if plan.get("coalition"):
        ctab = Table(title="Coalition: territoires partageant l'enjeu")
        for col in ("territoire", "exécutif", "influence ajoutée"):
            ctab.add_column(col)
        for c in plan["coalition"][:10]:
            ctab.add_row(
                f"{c['name']} ({c['level']} {c['code']})",
                c["executive_name"],
                f"{c['added_influence']:.3f}",
            )
        console.print(ctab)
    if plan.get("co_signers"):
        stab = Table(title="Co-signataires : acteurs du pôle qui ajoutent le plus d'influence")
        for col in ("acteur", "type", "influence ajoutée"):
            stab.add_column(col)
        from territoria.influence.planner import KIND_LABELS

        for c in plan["co_signers"][:10]:
            kind = KIND_LABELS.get(c.get("kind") or "", c.get("kind") or "")
            stab.add_row(f"{c['name']} ({c['id']})", kind, f"{c['added_influence']:.3f}")
        console.print(stab)


@influence.command("plan")
def plan_command(
    territory: Annotated[str | None, typer.Option("--territory", help="Territory code.")] = None,
    level: Annotated[str | None, typer.Option(help="Level of the territory code.")] = None,
    theme: Annotated[
        str | None,
        typer.Option(
            help="Theme or sub-theme id (territoria influence themes); a theme means its "
            "sub-themes combined."
        ),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", help="Explicit decision-maker ID:WEIGHT (repeatable)."),
    ] = None,
    k: Annotated[int | None, typer.Option("--k", help="Number of actors to engage.")] = None,
    budget: Annotated[float | None, typer.Option(help="Budget (with --costs).")] = None,
    costs: Annotated[Path | None, typer.Option(help="CSV actor,cost (default cost 1).")] = None,
    candidates: Annotated[
        str,
        typer.Option(
            help="Who may be engaged: all, network (actors we met), officials (of the territory) "
            "or pole:ID (the firms and knowledge actors of a pole, see 'territoria poles detect')."
        ),
    ] = "all",
    co_signers: Annotated[
        str | None,
        typer.Option(
            "--co-signers",
            help="pole:ID — rank the pole's firms and knowledge actors as co-signers of the "
            "project (default with --candidates pole:ID: that pole).",
        ),
    ] = None,
    include_targets: Annotated[
        bool, typer.Option("--include-targets", help="Let decision-makers themselves be chosen.")
    ] = False,
    model: Annotated[str, typer.Option(help="ic (independent cascade) or lt.")] = "ic",
    epsilon: Annotated[float, typer.Option(help="Approximation slack ε.")] = 0.1,
    delta: Annotated[float, typer.Option(help="Failure probability δ.")] = 0.01,
    seed: Annotated[int | None, typer.Option(help="Random seed (reproducible runs).")] = None,
    min_rr_sets: Annotated[
        int,
        typer.Option(
            "--min-rr-sets",
            min=0,
            help="RR sets per collection to start from: more makes the choice less noisy "
            "(0: stop at the first certified round).",
        ),
    ] = 10_000,
    robustness: Annotated[bool, typer.Option(help="Re-plan under perturbed probabilities.")] = True,
    coalition: Annotated[bool, typer.Option(help="Rank territories sharing the stake.")] = True,
    coalition_profile: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated indicators: the coalition is drawn from the territories with the "
            "closest values instead of the project's area."
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Probabilities TOML file.")] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Plan whom to engage for a project (theme + territory, or explicit targets)."""
    from territoria.cli._remote import current_session
    from territoria.influence.candidates import candidates_for
    from territoria.influence.config import load_config
    from territoria.influence.network import SERVED_GRAPHS
    from territoria.influence.planner import plan_project

    ctx = context(db, quiet)
    with handle_errors(), step_progress(ctx.quiet or json_output) as progress:
        if model not in ("ic", "lt"):
            msg = f"--model {model!r}: use ic or lt"
            raise InvalidPlanRequest(msg)
        if k is None and budget is None:
            k = 10
        if k is not None and k <= 0:
            msg = f"--k {k!r}: the number of actors must be at least 1"
            raise InvalidPlanRequest(msg)
        if co_signers is not None and not co_signers.startswith("pole:"):
            msg = f"--co-signers {co_signers!r}: use pole:ID"
            raise InvalidPlanRequest(msg)
        cfg = load_config(config)
        con = ctx.connect()
        try:
            level = chosen_level(con, territory, level) if territory else level
            poles = []
            if candidates.startswith("pole:"):
                poles.append(_pole_actors(con, candidates, "--candidates"))
                allowed: Sequence[str] | None = list(poles[0].actors)
            else:
                allowed = candidates_for(con, candidates, code=territory, level=level)
            if co_signers and co_signers != candidates:
                poles.append(_pole_actors(con, co_signers, "--co-signers"))
            # the pole's actors not chosen as seeds are ranked as co-signers by default
            signers = poles[-1].actors if poles else None
            plan = plan_project(
                con,
                # run by 'territoria serve': its graph in memory
                bundle=SERVED_GRAPHS.load(con, config=cfg) if current_session() else None,
                code=territory,
                level=level,
                theme=theme,
                targets=_parse_targets(target),
                k=k,
                budget=budget,
                costs=_read_costs(costs),
                candidates=allowed,
                co_signers=signers,
                include_targets=include_targets,
                model=model,
                epsilon=epsilon,
                delta=delta,
                seed=seed,
                min_rr_sets=min_rr_sets,
                with_robustness=robustness,
                with_coalition=coalition,
                config=cfg,
                progress=lambda step, _f: progress(step),
            )
        finally:
            con.close()
    if poles:
        plan["pole_actors"] = [p.to_dict() for p in poles]
    if json_output:
        print_json(plan)
        return
    if any(p.synthetic for p in poles) and not ctx.quiet:
        console.print(
            "[bold yellow]SYNTHETIC DATA[/] — the pole's firms and knowledge actors are generated, "
            "not real establishments"
        )
    _print_plan(plan)


@influence.command("explain")
def explain_command(
    actor: Annotated[str, typer.Option(help="Actor id (e.g. p-… from a plan).")],
    territory: Annotated[str | None, typer.Option("--territory")] = None,
    level: Annotated[str | None, typer.Option()] = None,
    theme: Annotated[str | None, typer.Option()] = None,
    target: Annotated[list[str] | None, typer.Option("--target")] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show the most probable influence paths from one actor to a project's decision-makers."""
    from territoria.errors import UnknownActor
    from territoria.influence.decision import decision_map
    from territoria.influence.network import load_graph
    from territoria.influence.planner import explain_seeds

    ctx = context(db)
    with handle_errors():
        con = ctx.connect()
        try:
            bundle = load_graph(con)
            index = {pid: i for i, pid in enumerate(bundle.graph.ids)}
            targets = _parse_targets(target)
            if theme and territory:
                level = chosen_level(con, territory, level)
                for t in decision_map(con, theme=theme, code=territory, level=level):
                    targets[t.id] = targets.get(t.id, 0.0) + t.weight
            if not targets:
                msg = "give --theme and --territory, or --target ID:WEIGHT"
                raise InvalidPlanRequest(msg)
            if actor not in index:
                msg = f"unknown actor {actor!r}: not in the influence graph"
                raise UnknownActor(msg)
            tmap = {index[t]: w for t, w in targets.items() if t in index}
            paths = explain_seeds(bundle.graph, [index[actor]], tmap, per_seed=10)[0]
        finally:
            con.close()
    if json_output:
        print_json({"actor": actor, "paths": paths})
        return
    for p in paths:
        console.print(f"{p['probability']:.4f}  " + " → ".join(p["path_names"]))
    if not paths:
        console.print("aucun chemin d'influence vers les décideurs")


@influence.command("maximise")
def maximise_command(
    edges: Annotated[Path, typer.Option(help="Edge list: SNAP 'source target [p]' or CSV.")],
    k: Annotated[int, typer.Option("--k", help="Number of seeds.")],
    model: Annotated[str, typer.Option(help="ic or lt.")] = "ic",
    weighted_cascade: Annotated[
        bool, typer.Option("--weighted-cascade", help="p(u→v) = 1 / in-degree(v).")
    ] = False,
    epsilon: Annotated[float, typer.Option()] = 0.1,
    delta: Annotated[float, typer.Option()] = 0.01,
    seed: Annotated[int | None, typer.Option()] = None,
    min_rr_sets: Annotated[
        int,
        typer.Option(
            help="RR sets per collection to start from (0: stop at the first certified round)."
        ),
    ] = 10_000,
    json_output: JsonOption = False,
) -> None:
    """Classical influence maximisation on any directed graph (every node a target)."""
    from territoria.influence.optimiser import maximise_edge_list

    with handle_errors():
        if model not in ("ic", "lt"):
            msg = f"--model {model!r}: use ic or lt"
            raise InvalidPlanRequest(msg)
        result = maximise_edge_list(
            edges,
            k=k,
            model=model,  # type: ignore[arg-type]
            weighted_cascade=weighted_cascade,
            epsilon=epsilon,
            delta=delta,
            seed=seed,
            min_rr_sets=min_rr_sets,
        )
    data = result.to_dict()
    if json_output:
        print_json(data)
        return
    table = Table(title=f"{k} seeds ({model.upper()})")
    table.add_column("#")
    table.add_column("node")
    table.add_column("marginal gain", justify="right")
    for i, s in enumerate(data["seeds"], start=1):
        table.add_row(str(i), s["id"], f"{s['marginal_gain']:.2f}")
    console.print(table)
    lo, hi = data["mc_ci95"]
    console.print(
        f"spread {data['estimate']:.1f} (MC {data['mc_estimate']:.1f} "
        f"[{lo:.1f}, {hi:.1f}]), ratio ≥ {data['approx_ratio']:.3f}, "
        f"{data['rr_sets']:,} RR sets, {data['seconds']:.2f} s"
    )


@relations.command("import")
def relations_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: source_actor,target_actor,type,strength"
            "[,date,origin,source_name,target_name,...]"
        ),
    ],
    source_name: Annotated[str, typer.Option(help="Name of this source (provenance).")],
    publisher: Annotated[str, typer.Option()] = "user",
    licence: Annotated[str, typer.Option()] = "private",
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import relations between actors; any bad line rejects the whole file (exit 2).

    Importing again under the same --source-name replaces its relations; actors it created
    that logged actions reference are kept, and listed.
    """
    from territoria.influence.relations import import_relations

    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect()
        try:
            report = import_relations(
                con, file, source_name=source_name, publisher=publisher, licence=licence
            )
        finally:
            con.close()
    if json_output:
        print_json(report.to_dict())
    elif not ctx.quiet:
        console.print(f"{report.relations} relations, {report.actors_created} new actors")
        if report.kept_actors:
            console.print(
                f"kept {len(report.kept_actors)} actors referenced by logged actions: "
                f"{', '.join(report.kept_actors)}",
                highlight=False,
            )
