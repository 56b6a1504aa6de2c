"""``territoria incidents report|alert|deliveries``: an incident's situation report (PDF or
HTML), its alert list and dispatch, and the delivery log of its alerts.

The commands are added to the ``incidents`` sub-app of :mod:`territoria.cli._incidents`
(:func:`register`, called at the end of that module)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from territoria.cli._common import DbOption, QuietOption, console, context, open_kb, print_json

if TYPE_CHECKING:
    from territoria.alerts.crisis import CrisisDispatch

__all__ = ["register"]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
IncidentArg = Annotated[int, typer.Argument(help="The incident's id ('incidents list').")]
NetworkOption = Annotated[
    int | None,
    typer.Option("--network", help="Road network for isolation and detours (id from 'networks "
                 "list'; default: the incident's own or none)."),
]  # fmt: skip
_STATUS = {"pending": "en attente", "retrying": "à réessayer", "sent": "envoyé", "failed": "échec"}


def register(incidents: typer.Typer) -> None:
    """Add ``report``, ``alert`` and ``deliveries`` to ``territoria incidents``."""
    incidents.command("report")(report_command)
    incidents.command("alert")(alert_command)
    incidents.command("deliveries")(deliveries_command)


def report_command(
    incident_id: IncidentArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write: .pdf or .html.")],
    network: NetworkOption = None,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Write the situation report of an incident (French): map, figures with their sources,
    timeline, checklist, the officials to call with their town-hall contacts."""
    from territoria.errors import InvalidIncidentReport
    from territoria.reports.situation import situation, situation_html, situation_pdf

    suffix = output.suffix.lower()
    with open_kb(db, quiet, read_only=True) as con:
        if suffix not in (".pdf", ".html", ".htm"):
            msg = f"unknown report format {output.suffix!r} of {str(output)!r}: use .pdf or .html"
            raise InvalidIncidentReport(msg)
        if not output.parent.is_dir():
            msg = f"no folder {str(output.parent)!r} for the report: create it or change -o"
            raise InvalidIncidentReport(msg)
        sit = situation(con, incident_id, network_id=network)
        data = situation_pdf(sit) if suffix == ".pdf" else situation_html(sit).encode("utf-8")
        output.write_bytes(data)
    if not quiet:
        banner = " (EXERCICE)" if sit.exercise else ""
        console.print(f"point de situation de l'incident {incident_id}{banner} : {output}")


def alert_command(
    incident_id: IncidentArg,
    to: Annotated[
        list[str] | None,
        typer.Option("--to", help="Also alert this e-mail address or webhook URL (repeat)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the alert list; send and write nothing.")
    ] = False,
    network: NetworkOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Alert the officials of every affected territory (their town-hall e-mail) and the
    added recipients; each message is logged ('incidents deliveries')."""
    from territoria.alerts.crisis import dispatch, parse_recipient
    from territoria.crisis.impact import impact
    from territoria.kb.audit import current_actor

    ctx = context(db, quiet)
    with open_kb(db, quiet, read_only=dry_run) as con:
        extra = [parse_recipient(t) for t in to or ()]
        found = impact(con, incident_id, network_id=network)
        done = dispatch(con, found, user=current_actor(), settings=ctx.settings, extra=extra,
                        dry_run=dry_run)  # fmt: skip
    if as_json:
        print_json(done.to_dict())
        return
    _print_dispatch(done)


def _print_dispatch(done: CrisisDispatch) -> None:
    table = Table(title=done.subject, title_justify="left")
    for column in ("destinataire", "fonction", "territoire", "canal", "adresse"):
        table.add_column(column)
    for r in done.recipients:
        table.add_row(r.name, r.function, r.territory, r.channel, r.target)
    console.print(table)
    if done.without_address:
        console.print("sans adresse électronique : " + " ; ".join(done.without_address))
    if done.dry_run:
        console.print("essai à blanc : rien n'est envoyé ni écrit")
    elif done.delivery is not None:
        d = done.delivery
        console.print(
            f"{done.queued} message(s) mis en file ; envoyés {d.sent}, à réessayer "
            f"{d.retrying}, en échec {d.failed}, en attente {d.waiting}"
        )
        for note in d.notes:
            console.print(note)


def deliveries_command(
    incident_id: IncidentArg,
    as_json: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """The delivery log of an incident's alerts: each message, its status and attempts."""
    from territoria.alerts.crisis import crisis_deliveries

    with open_kb(db, quiet, read_only=True) as con:
        rows = crisis_deliveries(con, incident_id)
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    table = Table(title=f"alertes de l'incident {incident_id}", title_justify="left")
    for column in ("n°", "canal", "adresse", "état", "essais", "dernière erreur"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r.id), r.channel, r.target, _STATUS.get(r.status, r.status),
                      str(r.attempts), r.last_error or "")  # fmt: skip
    console.print(table)
