"""``territoria index ...``: composite indices with rank intervals and Sobol' sensitivity."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from territoria.cli._common import DbOption, QuietOption, console, open_kb, print_json

index_app = typer.Typer(
    help="Composite indices (JRC/OECD handbook, COINr's pipeline): build, show, list, delete.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    """Attach the index commands to the main app."""
    app.add_typer(index_app, name="index")


def _print(result: object, top: int, json_output: bool) -> None:
    from territoria.kb.jobs import to_jsonable

    if json_output:
        print_json(to_jsonable(result))
        return
    from territoria.analysis.composite import IndexResult

    assert isinstance(result, IndexResult)
    table = Table(
        title=f"{result.name} — {result.level}, {result.ranked} territoires, {result.runs} tirages"
    )
    for col in ("rang", "code", "nom", "score", "rang médian", "intervalle 5–95 %"):
        table.add_column(col)
    for s in result.scores[:top]:
        interval = f"{s.rank_interval[0]}–{s.rank_interval[1]}" if s.rank_interval else "—"
        median = f"{s.median_rank:g}" if s.median_rank is not None else "—"
        score = f"{s.score:.2f}" if s.score is not None else "—"
        table.add_row(str(s.rank), s.code, s.name, score, median, interval)
    console.print(table)
    for i in result.indicators:
        sign = "+" if i.polarity > 0 else "−"
        console.print(
            f"  {i.code} ({sign}, poids {i.weight:.3f}, {i.period}, {i.treatment}) — {i.source}",
            highlight=False,
        )
    for sens in result.sensitivity:
        console.print(
            f"  Sobol' {sens.input}: premier ordre {sens.first_order:.3f}, total {sens.total:.3f}",
            highlight=False,
        )


@index_app.command("build")
def build_command(
    name: Annotated[str, typer.Argument(help="Name of the index (saved; build again to refresh).")],
    level: Annotated[
        str | None, typer.Option(help="Level ranked: commune, epci, departement …")
    ] = None,
    indicators: Annotated[
        str | None, typer.Option(help="Indicators with polarity: A:+,B:- (+ higher is better).")
    ] = None,
    weights: Annotated[str | None, typer.Option(help="A:0.5,B:0.5 (must sum to 1).")] = None,
    pillars: Annotated[
        str | None,
        typer.Option(help="Two levels: 'Jeunesse=A,B;Logement=C' (pillars weigh the same)."),
    ] = None,
    rescale_weights: Annotated[bool, typer.Option(help="Divide the weights by their sum.")] = False,
    weighting: Annotated[str, typer.Option(help="equal, user or pca.")] = "equal",
    normalise: Annotated[str, typer.Option(help="minmax (0–100), zscore or rank.")] = "minmax",
    aggregate: Annotated[str, typer.Option(help="arithmetic or geometric.")] = "arithmetic",
    impute: Annotated[str, typer.Option(help="none, mean or median of the level.")] = "none",
    impute_by: Annotated[
        str | None, typer.Option(help="Impute within each departement, region (or epci).")
    ] = None,
    treat: Annotated[bool, typer.Option(help="COINr's outlier rule (winsorise, else log).")] = True,
    runs: Annotated[int, typer.Option(help="Monte-Carlo runs at least (0: none).")] = 1000,
    noise: Annotated[float, typer.Option(help="Relative weight noise of the runs.")] = 0.25,
    seed: Annotated[int, typer.Option(help="Seed of the runs.")] = 1,
    period: Annotated[str | None, typer.Option(help="One period for every indicator.")] = None,
    min_coverage: Annotated[
        float, typer.Option(help="Least share of territories with a value.")
    ] = 0.5,
    min_share: Annotated[
        float, typer.Option(help="Least share of the indicators a territory needs to be ranked.")
    ] = 0.5,
    top: Annotated[int, typer.Option(help="Rows shown (the JSON has them all).")] = 20,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Build an index and save it; without --indicators, rebuild the saved definition NAME.

    Each territory gets its score, rank, median rank and 5th–95th percentile rank interval over
    the Monte-Carlo runs (weights ± noise, normalisation, aggregation, imputation), and each of
    those choices its Sobol' first-order and total index on the mean absolute rank shift.
    """
    from territoria.analysis.composite import (
        Method,
        build_index,
        parse_indicators,
        parse_pillars,
        parse_weights,
    )

    with open_kb(db, quiet) as con:
        method = None
        if indicators is not None:
            codes, polarity = parse_indicators(indicators)
            method = Method(
                indicators=codes,
                polarity=polarity,
                weighting="user" if weights else weighting,
                weights=parse_weights(weights) if weights else None,
                rescale_weights=rescale_weights,
                normalisation=normalise,
                aggregation=aggregate,
                imputation=impute,
                impute_by=impute_by,
                treat_outliers=treat,
                runs=runs,
                noise=noise,
                seed=seed,
                min_coverage=min_coverage,
                min_share=min_share,
                pillars=parse_pillars(pillars) if pillars else None,
            )
        result = build_index(con, name, level=level, method=method, period=period)
    _print(result, top, json_output)


@index_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="Name of a saved index.")],
    top: Annotated[int, typer.Option(help="Rows shown (the JSON has them all).")] = 20,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Show the latest build of a saved index, with its method and sources."""
    from territoria.analysis.composite import show_index

    with open_kb(db, quiet, read_only=True) as con:
        result = show_index(con, name)
    _print(result, top, json_output)


@index_app.command("list")
def list_command(
    json_output: JsonOption = False, db: DbOption = None, quiet: QuietOption = False
) -> None:
    """List the saved indices."""
    from territoria.analysis.composite import list_indices
    from territoria.kb.jobs import to_jsonable

    with open_kb(db, quiet, read_only=True) as con:
        items = list_indices(con)
    if json_output:
        print_json(to_jsonable(items))
        return
    for i in items:
        built = i.built_at.strftime("%Y-%m-%d %H:%M") if i.built_at else "jamais construit"
        console.print(f"{i.name} — {i.level}, {', '.join(i.indicators)} ({built})", highlight=False)


@index_app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="Name of a saved index.")],
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Delete a saved index (soft: its builds stay in the knowledge base, audited)."""
    from territoria.analysis.composite import delete_index

    with open_kb(db, quiet) as con:
        delete_index(con, name)
    if not quiet:
        console.print(f"indice {name!r} supprimé", highlight=False)


__all__ = ["register"]
