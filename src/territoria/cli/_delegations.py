"""``territoria delegations ...``: the portfolios of vice-presidents and adjoints."""

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
)

delegations_app = typer.Typer(
    help="Delegations of vice-presidents and adjoints (they weight the decision map).",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    """Attach the delegations commands to the main app."""
    app.add_typer(delegations_app, name="delegations")


@delegations_app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: person_id or person, body, delegation, themes (sub-theme ids separated "
            "by ';')[, source, date]"
        ),
    ],
    source_name: Annotated[
        str | None, typer.Option(help="Name of this source (default: the file's name).")
    ] = None,
    publisher: Annotated[str, typer.Option()] = "user",
    licence: Annotated[str, typer.Option()] = "private",
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import delegations; any bad line rejects the whole file (exit 2), nothing is written.

    A person is a person id (p-…) or a name, resolved among the body's serving officials.
    Importing again under the same --source-name replaces its delegations. The decision map
    then gives the officials whose delegation names a project's sub-theme a larger share.
    """
    from territoria.influence.delegations import import_delegations

    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect()
        try:
            report = import_delegations(
                con, file, source_name=source_name, publisher=publisher, licence=licence
            )
        finally:
            con.close()
    if json_output:
        print_json(report.to_dict())
    elif not ctx.quiet:
        replaced = f" ({report.replaced} remplacées)" if report.replaced else ""
        console.print(
            f"{report.delegations} délégations importées pour {report.bodies} instances"
            f"{replaced} — source {report.source_name!r}",
            highlight=False,
        )


@delegations_app.command("list")
def list_command(
    body: Annotated[str | None, typer.Option(help="Organisation id (cm-35238 …).")] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List the imported delegations, of one body or all."""
    from territoria.influence.delegations import delegations

    ctx = context(db)
    with handle_errors():
        con = ctx.connect(read_only=True)
        try:
            found = delegations(con, body=body)
        finally:
            con.close()
    if json_output:
        print_json([d.to_dict() for d in found])
        return
    table = Table(title="Délégations")
    for col in ("instance", "élu", "délégation", "sous-thèmes", "date"):
        table.add_column(col, overflow="fold")
    for d in found:
        when = d.date.isoformat() if d.date else ""
        table.add_row(d.body, d.person, d.text, ", ".join(d.themes), when)
    console.print(table)
