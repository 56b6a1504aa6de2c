"""``territoria audit``: who wrote what in the knowledge base, and when."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from territoria.cli._common import DbOption, console, context, handle_errors, print_json


def audit_command(
    actor: Annotated[
        str | None,
        typer.Option(help="Only the writes of this actor (web:alice, cli:root, system)."),
    ] = None,
    event: Annotated[
        str | None,
        typer.Option(help="Only events starting with this prefix (action., action.delete)."),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Only writes that touched this target (an action id).")
    ] = None,
    before: Annotated[
        int | None,
        typer.Option(min=1, help="Only entries older than this id (to page back)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Most entries shown.")] = 50,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Show the audit log, newest first: imports, accounts, actions deleted or restored ..."""
    from territoria.kb.audit import list_audit

    ctx = context(db)
    with handle_errors():
        con = ctx.connect(read_only=True)
        try:
            entries = list_audit(
                con, actor=actor, event=event, target=target, before=before, limit=limit
            )
        finally:
            con.close()
    if json_output:
        print_json([e.to_dict() for e in entries])
        return
    if not entries:
        console.print("no audit entries match", highlight=False)
        return
    table = Table(title="Audit log")
    for col in ("id", "at", "actor", "event", "target", "detail"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(
            str(e.id),
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.actor,
            e.event,
            e.target or "",
            json.dumps(e.detail, ensure_ascii=False) if e.detail else "",
        )
    console.print(table)
    if len(entries) == limit:
        console.print(f"older entries: --before {entries[-1].id}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``territoria audit`` to the application."""
    app.command("audit")(audit_command)
