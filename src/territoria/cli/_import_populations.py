"""``territoria import populations``: the population series of @etalab/decoupage-administratif."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from territoria.cli._common import (
    DbOption,
    QuietOption,
    console,
    context,
    handle_errors,
    print_json,
    step_progress,
)

if TYPE_CHECKING:
    from territoria.sources.populations import PopulationsReport


def register(app: typer.Typer) -> None:
    """Add ``populations`` to the ``import`` command group."""
    app.command("populations")(import_populations_command)


def import_populations_command(
    origins: Annotated[
        list[Path] | None,
        typer.Option(
            "--from",
            help="A .tgz edition of @etalab/decoupage-administratif (as 'npm pack' writes it) "
            "or a folder of them; repeatable. Default: download the editions from the npm "
            "registry into the cache folder.",
            metavar="PATH",
            show_default=False,
        ),
    ] = None,
    versions: Annotated[
        list[str] | None,
        typer.Option(
            "--version",
            help="An edition to download (e.g. 6.0.0); repeatable. Default: 6.0.0, 4.1.0, "
            "4.0.0, 2.3.1, 1.1.1 and 0.8.0, one edition per population year (2023, 2022, "
            "2021, 2020, 2019, 2016) on INSEE's geography of that year.",
            metavar="VERSION",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import INSEE's legal populations, one year per edition of @etalab/decoupage-administratif.

    Every commune and arrondissement municipal gets a population series (indicator
    'population', one value per year with its edition as source); EPCI, départements and
    régions get the sums of their communes in each edition, and a commune formed since by a
    merger the sum of the communes it absorbed. Units the knowledge base does not hold (the
    overseas collectivités), communes without a figure and incomplete sums are counted in the
    report. Re-running replaces the previous decoupage-administratif values in one
    transaction: if a file cannot be read or its layout changed, nothing is written.
    """
    from territoria.sources.populations import import_populations

    ctx = context(db, quiet)
    with handle_errors(), step_progress(ctx.quiet) as progress:
        con = ctx.connect()
        try:
            report = import_populations(
                con,
                origins=origins or [],
                versions=versions or [],
                cache_dir=ctx.settings.cache_dir,
                progress=progress,
            )
        finally:
            con.close()
    if json_output:
        print_json(report.to_dict())
        return
    if not ctx.quiet:
        _print(report, ctx.db)


def _print(report: PopulationsReport, db: Path) -> None:
    table = Table(title=f"@etalab/decoupage-administratif → {db}")
    # outside: units the KB does not hold; missing: KB communes without a value; partial: sums
    # skipped because a member commune has no figure
    for column in ("edition", "year", "communes", "EPCI", "dép.", "rég.", "outside"):
        table.add_column(column, justify="left" if column == "edition" else "right")
    table.add_column("missing", justify="right")
    table.add_column("partial", justify="right")
    for e in report.editions:
        values = e.values
        table.add_row(
            e.version,
            str(e.year),
            f"{values.get('commune', 0):,}",
            f"{values.get('epci', 0):,}",
            f"{values.get('departement', 0):,}",
            f"{values.get('region', 0):,}",
            f"{sum(e.not_in_kb.values()):,}",
            f"{e.kb_communes_missing:,}",
            f"{sum(e.incomplete.values()):,}",
        )
    console.print(table)
    for e in report.editions:
        notes = []
        if e.mayotte_year and e.mayotte_year != e.year:
            notes.append(f"Mayotte under {e.mayotte_year}")
        if e.not_in_kb_examples:
            notes.append("communes not in the KB, e.g. " + ", ".join(e.not_in_kb_examples[:3]))
        if e.rebased:
            notes.append(f"{e.rebased:,} communes merged since given the sum of their parts")
        if e.without_population:
            notes.append(f"{e.without_population:,} without population")
        if e.name_mismatches:
            notes.append(f"{e.name_mismatches:,} named otherwise than in the KB")
        if e.superseded or e.kept_other:
            notes.append(
                f"{e.superseded:,} given by a later edition, {e.kept_other:,} kept from "
                "another source"
            )
        samples = ", ".join(
            f"{s['name']} {s['population']:,} ({s['year']})"
            for s in e.samples
            if s["population"] is not None
        )
        if samples:
            notes.append(samples)
        console.print(f"{e.version}: " + "; ".join(notes), highlight=False, style="dim")
    console.print(
        f"{report.rows:,} values for the years {', '.join(map(str, report.years))}"
        + (f"; replaced {report.replaced_previous:,}" if report.replaced_previous else "")
        + f" — done in {sum(report.timings.values()):.1f} s",
        highlight=False,
    )
