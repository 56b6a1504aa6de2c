"""``territoria peers CODE`` (the most similar territories of its level) and ``territoria
compare CODE --with A,B`` (side by side, with ranks, references, series and flags)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from territoria.cli._common import (
    DbOption,
    QuietOption,
    chosen_level,
    console,
    open_kb,
    print_json,
)
from territoria.errors import InvalidComparison

if TYPE_CHECKING:
    from territoria.analysis.compare import Comparison
    from territoria.analysis.peers import PeersResult

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
LevelOption = Annotated[
    str | None,
    typer.Option(help="Level of the territory (default: the first level holding the code)."),
]
IndicatorsOption = Annotated[
    str | None,
    typer.Option(
        help="Comma-separated indicator codes (default: population, density, age and housing "
        "shares; see 'territoria indicators list --level LEVEL')."
    ),
]


def register(app: typer.Typer) -> None:
    """Add ``peers`` and ``compare`` to the command-line application."""
    app.command("peers")(peers_command)
    app.command("compare")(compare_command)


def _codes(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [c.strip() for c in value.split(",") if c.strip()] or None


def _band(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value.split(","))
    except ValueError:
        msg = f"--population-band {value!r}: give two ratios such as 0.5,2"
        raise InvalidComparison(msg) from None
    return low, high


def peers_command(
    code: Annotated[str, typer.Argument(help="Territory code (75056, 200046977, 53 ...).")],
    level: LevelOption = None,
    k: Annotated[int, typer.Option("--k", help="Number of peers (1 to 100).")] = 10,
    indicators: IndicatorsOption = None,
    method: Annotated[
        str, typer.Option(help="euclidean (z-scores) or mahalanobis (shrunk covariance).")
    ] = "euclidean",
    region: Annotated[
        str, typer.Option(help="any, same (its own région only) or other (other régions).")
    ] = "any",
    population_band: Annotated[
        str | None,
        typer.Option(help="Keep peers whose population is LOW,HIGH times its own (0.5,2)."),
    ] = None,
    bootstrap: Annotated[int, typer.Option(help="Resamples of the stability score.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the resamples.")] = 0,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """The k territories of the same level most similar to CODE, each with its distance,
    each indicator's share of that distance and its stability (share of bootstrap
    resamples of the indicators in which it stays a peer)."""
    from territoria.analysis.peers import find_peers

    with open_kb(db, quiet, read_only=True) as con:
        result = find_peers(
            con,
            code,
            level=chosen_level(con, code, level),
            k=k,
            indicators=_codes(indicators),
            method=method,  # type: ignore[arg-type]  # checked by find_peers
            region=region,  # type: ignore[arg-type]
            population_band=_band(population_band),
            bootstrap=bootstrap,
            seed=seed,
        )
    if json_output:
        print_json(result.to_dict())
        return
    _print_peers(result)


def _print_peers(result: PeersResult) -> None:
    labels = {i.code: i.label for i in result.indicators}
    table = Table(title=f"Territoires comparables à {result.name} ({result.code}, {result.level})")
    for column in ("rang", "code", "nom", "distance", "indicateurs qui l'éloignent", "stabilité"):
        table.add_column(column, overflow="fold")
    for n, peer in enumerate(result.peers, 1):
        top = sorted(peer.contributions.items(), key=lambda kv: -kv[1])[:3]
        table.add_row(
            str(n),
            peer.code,
            peer.name,
            f"{peer.distance:.2f}",
            ", ".join(f"{labels[c]} {s:.0%}" for c, s in top),
            f"{peer.stability:.0%}",
        )
    console.print(table)
    for info in result.indicators:
        synthetic = " (synthétique)" if info.synthetic else ""
        console.print(
            f"  {info.code}: {info.label}, {info.period or '—'} — {info.source}{synthetic}",
            highlight=False,
        )
    console.print(result.explanation, highlight=False, soft_wrap=True)


def compare_command(
    code: Annotated[str, typer.Argument(help="Territory code.")],
    with_: Annotated[
        str, typer.Option("--with", help="Comma-separated codes of up to 10 territories.")
    ],
    level: LevelOption = None,
    indicators: IndicatorsOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write FILE.csv or FILE.xlsx.")
    ] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """CODE and up to 10 territories of its level side by side: values, percentile ranks at
    the level, national and regional medians, series where several years are held, and
    flags on small numbers and missing values."""
    from territoria.analysis.compare import compare, write_comparison

    with open_kb(db, quiet, read_only=True) as con:
        result = compare(
            con,
            code,
            _codes(with_) or [],
            level=chosen_level(con, code, level),
            indicators=_codes(indicators),
        )
        if output is not None:
            write_comparison(result, output)
    if json_output:
        print_json(result.to_dict())
    elif output is None:
        _print_comparison(result)
    if output is not None and not quiet:
        console.print(f"written: {output}", highlight=False)


def _print_comparison(result: Comparison) -> None:
    from territoria._formats import number

    table = Table(title=f"Comparaison ({result.level})")
    table.add_column("indicateur", overflow="fold")
    for t in result.territories:
        table.add_column(f"{t.name} ({t.code})", overflow="fold")
    table.add_column("médiane nationale")
    for ref in result.references:
        cells = []
        for t in result.territories:
            v = t.values[ref.indicator]
            text = "—" if v.value is None else number(v.value, "fr", _digits(v.value))
            if v.percentile is not None:
                text += f" ({v.percentile:.0f}e centile)"
            if "missing" not in v.flags and v.flags:
                text += " ⚠"
            cells.append(text)
        national = "—" if ref.national_median is None else number(ref.national_median, "fr", 1)
        table.add_row(f"{ref.label} ({ref.period or '—'})", *cells, national)
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)
    console.print("⚠ : petits effectifs (population < 2 000 ou effectif < 20)", highlight=False)


def _digits(value: float) -> int:
    return 0 if abs(value) >= 100 or float(value).is_integer() else 1
