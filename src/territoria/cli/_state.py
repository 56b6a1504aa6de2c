"""``territoria state list``: the State's services of a territory (préfecture, rectorat …)."""

from __future__ import annotations

from typing import Annotated

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
)

state = typer.Typer(
    help="The State's services and agencies: préfectures, rectorats, ARS, agences de l'eau, "
    "DREAL, ADEME, Bpifrance, ANCT, SNCF Réseau, IDFM, European Commission.",
    no_args_is_help=True,
)


@state.command("list")
def state_list(
    territory: Annotated[
        str,
        typer.Option(
            "--territory",
            "-t",
            help="Official code: 35238 (commune), 243500139 (EPCI), 35 (département), 53.",
        ),
    ],
    level: Annotated[
        str | None,
        typer.Option(
            "--level",
            "-l",
            help="Level of an ambiguous code (53: departement or region).",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """List the State's services competent for a territory: the préfecture first, then the
    préfecture de région, rectorat, ARS, agence de l'eau, DREAL …, with their seat, their
    address where the package documents it, and the offices to meet (offices, not names)."""
    from territoria.kb.state_bodies import BASIS_SECONDARY, state_bodies
    from territoria.kb.territories import find_territory

    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect(read_only=True)
        try:
            found = find_territory(con, territory, level=chosen_level(con, territory, level))
            result = state_bodies(con, found.level, found.code)
        finally:
            con.close()
    if json_output:
        print_json(result.to_dict())
        return
    table = Table(title=f"Services de l'État — {found.name} ({found.code})", title_justify="left")
    for column in ("service", "nom", "siège", "fonctions à rencontrer"):
        table.add_column(column)
    for body in result.bodies:
        seat = body.address.replace("\n", ", ") if body.address else (body.seat_name or "—")
        name = body.name
        if body.scope_note and BASIS_SECONDARY in body.scope_note:
            name += f"\n({BASIS_SECONDARY})"
        table.add_row(body.service, name, seat, "\n".join(o.office for o in body.offices))
    console.print(table)
    if not result.bodies:
        console.print("aucun service de l'État : lancez 'territoria import france'")


def register(app: typer.Typer) -> None:
    """Add ``state`` to the command-line application."""
    app.add_typer(state, name="state")
