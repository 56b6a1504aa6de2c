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
    err_console,
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
    actor: Annotated[
        list[str],
        typer.Option(
            "--actor",
            help="Actor met (repeatable): a person's id or name ('Nathalie Appéré'), a council "
            "('cr-53') or an imported actor's id.",
        ),
    ],
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
    from territoria.kb.people import actor_id

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
                actors=[actor_id(con, a) for a in actor],
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
    year: Annotated[int | None, typer.Option(min=1990, max=2100)] = None,
    deleted: Annotated[
        bool, typer.Option("--deleted", help="List the deleted actions (to undo one) instead.")
    ] = False,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List the logged actions (newest first), with who logged them."""
    from territoria.influence.actions import list_actions

    ctx = context(db)
    with handle_errors():
        con = ctx.connect()
        try:
            items = list_actions(con, year=year, deleted=deleted)
        finally:
            con.close()
    if json_output:
        print_json([a.to_dict() for a in items])
        return
    table = Table(title="Deleted actions" if deleted else "Actions")
    columns = ["id", "date", "type", "subject", "actors", "outcome", "logged by"]
    if deleted:
        columns.append("deleted by")
    for col in columns:
        table.add_column(col)
    for a in items:
        row = [
            str(a.id),
            a.date.isoformat(),
            a.type,
            a.subject,
            ", ".join(a.actor_names or a.actors),
            a.outcome,
            a.created_by or "–",
        ]
        if deleted:
            row.append(f"{a.deleted_by} ({a.deleted_at:%Y-%m-%d %H:%M})" if a.deleted_at else "")
        table.add_row(*row)
    console.print(table)


YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (for scripts).")
]


@actions.command("remove")
def actions_remove(
    action_id: Annotated[int, typer.Argument(min=1, help="Id of the action (see 'actions list').")],
    yes: YesOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Delete a logged action, after confirmation. The deletion can be undone with
    'territoria actions undo ID' (the action stays in the knowledge base)."""
    from territoria.influence.actions import delete_action, get_action
    from territoria.kb.audit import current_actor

    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect()
        try:
            action = get_action(con, action_id)
            if not yes and action.deleted_at is None:
                question = (
                    f"Delete action {action.id} of {action.date} ({action.subject!r}, logged by "
                    f"{action.created_by or 'nobody recorded'})?"
                )
                if not typer.confirm(question, default=False):
                    err_console.print("nothing deleted")
                    raise typer.Exit(code=1)
            # whoever can open the knowledge base file administers it
            delete_action(con, action_id, user=current_actor(), admin=True)
        finally:
            con.close()
    if not ctx.quiet:
        console.print(
            f"action {action_id} deleted: 'territoria actions undo {action_id}' restores it",
            highlight=False,
        )


@actions.command("undo")
def actions_undo(
    action_id: Annotated[int, typer.Argument(min=1, help="Id of the deleted action.")],
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Restore a deleted action (see 'territoria actions list --deleted')."""
    from territoria.influence.actions import restore_action
    from territoria.kb.audit import current_actor

    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect()
        try:
            action = restore_action(con, action_id, user=current_actor(), admin=True)
        finally:
            con.close()
    if not ctx.quiet:
        console.print(f"action {action.id} restored ({action.subject})", highlight=False)


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
