"""``territoria actions ...``: the lobbying actions log and the annual HATVP report."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from territoria.influence.agora_report import Exercise

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
        typer.Option(
            "--type",
            help="The register's type of action: meeting, third_party_meeting, event, "
            "correspondence, petition, public_campaign, hearing, information, drafting, other "
            "(see 'territoria actions vocabulary'; call, email, letter, consultation are "
            "recorded as the closest of these).",
        ),
    ] = "meeting",
    when: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default today)")] = None,
    policy_area: Annotated[list[str] | None, typer.Option("--policy-area")] = None,
    decision_type: Annotated[
        str,
        typer.Option(
            help="The register's type of decision: law, ordinance, regulatory, individual, "
            "public_procurement, concession, state_property_sale, long_lease, "
            "public_domain_occupation, sem, other."
        ),
    ] = "other",
    decision: Annotated[str, typer.Option(help="The public decision targeted.")] = "",
    hours: Annotated[float, typer.Option()] = 0.0,
    cost: Annotated[float, typer.Option(help="Money spent (EUR).")] = 0.0,
    outcome: Annotated[str, typer.Option(help="positive, neutral, negative, unknown")] = "unknown",
    notes: Annotated[str, typer.Option()] = "",
    client: Annotated[
        str | None,
        typer.Option(help="The tiers (client) for whom the action was done, if not for us."),
    ] = None,
    type_detail: Annotated[
        str, typer.Option(help="Your own words for the type (required with --type other).")
    ] = "",
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Log an action (meeting, correspondence ...) with the actors met."""
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
                client=client,
                type_detail=type_detail,
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
    columns = ["id", "date", "type", "subject", "actors", "for", "outcome", "logged by"]
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
            a.client or "us",
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
    year: Annotated[int, typer.Option(help="Year the exercise ends in.")],
    fmt: Annotated[str, typer.Option("--format", help="hatvp-json or csv")] = "hatvp-json",
    out: Annotated[Path | None, typer.Option("-o", help="Output file (default stdout).")] = None,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """The annual activity report of the HATVP register (AGORA) for the exercise ending in a
    year: only the actions towards officials the register covers (loi 3DS); the others are
    counted with their reason under 'horsChamp' (a summary is printed on stderr)."""
    from territoria.influence.agora_report import activity_report, report_csv, report_json

    ctx = context(db, quiet)
    with handle_errors():
        if fmt not in ("hatvp-json", "csv"):
            msg = f"unknown report format {fmt!r}: use hatvp-json or csv"
            raise typer.BadParameter(msg, param_hint="--format")
        con = ctx.connect()
        try:
            report = activity_report(con, year=year)
        finally:
            con.close()
        text = report_json(report) if fmt == "hatvp-json" else report_csv(report)
        if out:
            out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if not ctx.quiet:
        declared = sum(p.nombre_actions for a in report.activities for p in a.actions)
        err_console.print(
            f"exercise {year}: {len(report.activities)} activities, {declared} actions declared, "
            f"spend {report.montant_depense} ({report.montant_depense_origine}); "
            f"{report.excluded_actions} actions left out of the register",
            highlight=False,
            soft_wrap=True,
        )
        for reason, count in sorted(report.excluded_reasons.items(), key=lambda x: -x[1]):
            err_console.print(f"  {count} × {reason}", highlight=False, soft_wrap=True)


exercise = typer.Typer(
    help="The exercise of the HATVP register: dates, spend, staff, turnover, clients.",
    no_args_is_help=True,
)
actions.add_typer(exercise, name="exercise")


@exercise.command("set")
def exercise_set(
    year: Annotated[int, typer.Argument(min=1990, max=2100, help="Year the exercise ends in.")],
    start: Annotated[
        str | None, typer.Option(help="First day, YYYY-MM-DD (default 1 January).")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last day, YYYY-MM-DD (default 31 December).")
    ] = None,
    spend: Annotated[
        str | None,
        typer.Option(
            help="Money spent on interest representation: an amount in euros (45000) or the "
            "register's bracket ('> = 25 000 euros et < 50 000 euros')."
        ),
    ] = None,
    staff: Annotated[
        int | None, typer.Option(min=0, help="Persons doing interest representation.")
    ] = None,
    fte: Annotated[float | None, typer.Option(min=0, help="Their full-time equivalent.")] = None,
    turnover: Annotated[
        str | None,
        typer.Option(help="Turnover (firms, consultancies): an amount in euros or a bracket."),
    ] = None,
    client: Annotated[
        list[str] | None,
        typer.Option(
            "--client",
            help="A client (tiers), repeatable, 'NAME' or 'NAME=SIREN'; replaces the list. "
            "--client '' clears it.",
        ),
    ] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Record the figures of an exercise (options left out keep their recorded value)."""
    from territoria.influence.agora_report import Client, set_exercise

    clients = None
    if client is not None:
        clients = [
            Client(name.strip(), ident.strip() or None)
            for name, _, ident in (c.partition("=") for c in client if c.strip())
        ]
    ctx = context(db, quiet)
    with handle_errors():
        first = parse_date_option(start, "--start")
        last = parse_date_option(end, "--end")
        con = ctx.connect()
        try:
            figures = set_exercise(
                con,
                year,
                start=first,
                end=last,
                spend=spend,
                staff=staff,
                fte=fte,
                turnover=turnover,
                clients=clients,
            )
        finally:
            con.close()
    if json_output:
        print_json(figures.to_dict())
    elif not ctx.quiet:
        _print_exercise(figures)


@exercise.command("show")
def exercise_show(
    year: Annotated[int, typer.Argument(min=1990, max=2100, help="Year the exercise ends in.")],
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show the recorded figures of an exercise."""
    from territoria.influence.agora_report import get_exercise

    ctx = context(db)
    with handle_errors():
        con = ctx.connect()
        try:
            figures = get_exercise(con, year)
        finally:
            con.close()
    if json_output:
        print_json(figures.to_dict())
    else:
        _print_exercise(figures)


def _print_exercise(figures: Exercise) -> None:
    from territoria.influence.agora import spend_bracket

    spend = figures.spend_bracket or (
        spend_bracket(figures.spend_eur) if figures.spend_eur is not None else None
    )
    lines = [
        f"exercise {figures.year}: {figures.start} to {figures.end}"
        + ("" if figures.declared else " (nothing recorded: the calendar year)"),
        f"spend: {spend or 'not recorded (the report estimates it from the log)'}",
        f"staff: {figures.staff if figures.staff is not None else '–'} persons, "
        f"{figures.fte if figures.fte is not None else '–'} FTE",
        f"turnover: {figures.turnover_bracket or '–'}",
        "clients: "
        + (
            ", ".join(
                c.name + (f" ({c.identifier})" if c.identifier else "") for c in figures.clients
            )
            or "–"
        ),
    ]
    console.print("\n".join(lines), highlight=False)


@actions.command("vocabulary")
def actions_vocabulary(json_output: JsonOption = False) -> None:
    """The register's types of action and of decision, and its categories of officials."""
    from territoria.influence.agora import ACTION_TYPES, CATEGORIES, DECISION_TYPES

    if json_output:
        print_json(
            {
                "action_types": ACTION_TYPES,
                "decision_types": DECISION_TYPES,
                "categories": CATEGORIES,
            }
        )
        return
    for title, items in (
        ("Types of action (--type)", ACTION_TYPES),
        ("Types of decision (--decision-type)", DECISION_TYPES),
        ("Categories of officials", CATEGORIES),
    ):
        table = Table(title=title)
        table.add_column("key")
        table.add_column("the register's label")
        for key, label in items.items():
            table.add_row(key, label)
        console.print(table)
