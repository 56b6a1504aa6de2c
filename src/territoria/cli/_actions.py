"""``territoria actions ...``: the lobbying actions log and the annual HATVP report."""

from __future__ import annotations

import sys
from datetime import date
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
    parse_date_option,
    print_json,
)

actions = typer.Typer(
    help="Lobbying actions log and the annual HATVP report.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@actions.command("add")
def actions_add(
    subject: Annotated[str, typer.Option(help="Subject of the action.")],
    actor: Annotated[list[str], typer.Option("--actor", help="Actor met (repeatable).")],
    type_: Annotated[
        str,
        typer.Option("--type", help="meeting, letter, email, call, event, petition, consultation"),
    ] = "meeting",
    when: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default today)")] = None,
    policy_area: Annotated[list[str] | None, typer.Option("--policy-area")] = None,
    decision_type: Annotated[
        str, typer.Option(help="legislative, regulatory, individual, contract, other")
    ] = "other",
    decision: Annotated[str, typer.Option(help="The public decision targeted.")] = "",
    hours: Annotated[float, typer.Option()] = 0.0,
    cost: Annotated[float, typer.Option(help="Money spent (EUR).")] = 0.0,
    outcome: Annotated[str, typer.Option(help="positive, neutral, negative, unknown")] = "unknown",
    notes: Annotated[str, typer.Option()] = "",
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Log an action (meeting, letter ...) with the actors met."""
    from territoria.influence.actions import add_action

    ctx = context(db, quiet)
    with handle_errors():
        day = parse_date_option(when, "--date") or date.today()
        con = ctx.connect()
        try:
            action_id = add_action(
                con,
                when=day,
                type=type_,
                subject=subject,
                actors=actor,
                policy_areas=policy_area,
                decision_type=decision_type,
                decision_targeted=decision,
                hours=hours,
                cost_eur=cost,
                outcome=outcome,
                notes=notes,
            )
        finally:
            con.close()
    if not ctx.quiet:
        console.print(f"action {action_id} recorded")


@actions.command("list")
def actions_list(
    year: Annotated[int | None, typer.Option()] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List the logged actions."""
    from territoria.influence.actions import list_actions

    ctx = context(db)
    with handle_errors():
        con = ctx.connect()
        try:
            items = list_actions(con, year=year)
        finally:
            con.close()
    if json_output:
        print_json(items)
        return
    table = Table(title="Actions")
    for col in ("id", "date", "type", "objet", "acteurs", "issue"):
        table.add_column(col)
    for a in items:
        table.add_row(
            str(a["id"]), a["date"], a["type"], a["subject"], ", ".join(a["actors"]), a["outcome"]
        )
    console.print(table)


@actions.command("remove")
def actions_remove(action_id: int, db: DbOption = None) -> None:
    """Delete a logged action."""
    from territoria.influence.actions import delete_action

    ctx = context(db)
    with handle_errors():
        con = ctx.connect()
        try:
            delete_action(con, action_id)
        finally:
            con.close()


@actions.command("report")
def actions_report(
    year: Annotated[int, typer.Option(help="Year of the report.")],
    fmt: Annotated[str, typer.Option("--format", help="hatvp-json or csv")] = "hatvp-json",
    out: Annotated[Path | None, typer.Option("-o", help="Output file (default stdout).")] = None,
    db: DbOption = None,
) -> None:
    """The annual HATVP activity report content for a year."""
    from territoria.influence.actions import register_report

    ctx = context(db)
    with handle_errors():
        con = ctx.connect()
        try:
            text = register_report(con, year=year, fmt=fmt)
        finally:
            con.close()
        if out:
            out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
