"""``territoria import naf2025``: INSEE's NAF 2025 structure and correspondence files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

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
    from territoria.sources.naf2025 import Naf2025Report

__all__ = ["import_naf2025_command", "register"]


def register(app: typer.Typer) -> None:
    """Add ``naf2025`` to the ``import`` command group."""
    app.command("naf2025")(import_naf2025_command)


def import_naf2025_command(
    structure: Annotated[
        Path,
        typer.Option(
            "--structure",
            help="INSEE's 'Structure NAF 2025' workbook (.xlsx, sheet 'NAF 2025') or a CSV "
            "export of that sheet, from https://www.insee.fr/fr/information/8617910.",
            metavar="FILE",
        ),
    ],
    correspondence: Annotated[
        Path,
        typer.Option(
            "--correspondence",
            help="INSEE's 'Correspondances NAF rév. 2 – NAF 2025' workbook (.xlsx, columns "
            "NAFold-code and NAFnew-code) or a CSV export of it, from the same page.",
            metavar="FILE",
        ),
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import the NAF 2025 nomenclature and its correspondence with the NAF rév. 2 (INSEE).

    Territoria does not ship the NAF 2025: download both files from INSEE's page and give
    them here. Every code is checked (its form, and that each correspondence code is a
    sous-classe of the structure or of the NAF rév. 2); an error names the file, sheet and row,
    and nothing is written. Re-running replaces the previous import in one transaction. Import
    SIRENE afterwards (or again) so that its NAF 2025 codes are checked and labelled.
    """
    from territoria.sources.naf2025 import import_naf2025

    ctx = context(db, quiet)
    with handle_errors(), step_progress(ctx.quiet) as progress:
        con = ctx.connect()
        try:
            report = import_naf2025(
                con, structure=structure, correspondence=correspondence, progress=progress
            )
        finally:
            con.close()
    if json_output:
        print_json(report.to_dict())
        return
    if not ctx.quiet:
        _print(report, ctx.db)


def _print(report: Naf2025Report, db: Path) -> None:
    levels = ", ".join(f"{n:,} {level}" for level, n in report.levels.items())
    console.print(f"NAF 2025 (INSEE) → {db}", highlight=False)
    console.print(f"structure: {report.subclasses:,} sous-classes ({levels})", highlight=False)
    console.print(
        f"correspondence: {report.pairs:,} pairs for {report.rev2_codes:,} NAF rév. 2 "
        f"sous-classes ({report.unique:,} unique, {report.multiple:,} multiple)",
        highlight=False,
    )
    if report.without_target:
        console.print(
            f"{len(report.without_target):,} NAF 2025 sous-classe(s) no NAF rév. 2 code goes "
            "to: " + ", ".join(report.without_target[:5]),
            style="dim",
            highlight=False,
        )
    if report.replaced_previous:
        console.print(f"replaced the previous import ({report.replaced_previous:,} codes)")
    if report.establishments_outside:
        console.print(
            f"{report.establishments_outside:,} establishments carry a NAF 2025 code not in "
            "this structure: import SIRENE again to check them",
            style="yellow",
            highlight=False,
        )
    console.print(f"done in {sum(report.timings.values()):.1f} s", style="dim")
