"""``territoria watch alerts …`` and ``territoria watch digest``: alert subscriptions, the
delivery log, digests and sending."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from territoria.cli._common import (
    DbOption,
    QuietOption,
    chosen_level,
    console,
    context,
    open_kb,
    print_json,
)

if TYPE_CHECKING:
    from territoria.alerts.delivery import DeliveryReport

alerts = typer.Typer(
    help="Alerts: subscriptions (e-mail or webhook; at once, daily or weekly), the delivery "
    "log, sending.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
_FREQUENCY = {"immediate": "immédiate", "daily": "quotidienne", "weekly": "hebdomadaire"}
_STATUS = {"pending": "en attente", "retrying": "à réessayer", "sent": "envoyé", "failed": "échec"}
_CHANNEL = {"email": "e-mail", "webhook": "webhook"}


def register(watch: typer.Typer) -> None:
    """Add ``alerts`` and ``digest`` to ``territoria watch``."""
    watch.add_typer(alerts, name="alerts")
    watch.command("digest")(digest_command)


def _table(title: str, columns: str) -> Table:
    """A table with a French title and the comma-separated column names."""
    table = Table(title=title, title_justify="left")
    for column in columns.split(", "):
        table.add_column(column)
    return table


def _when(value: object) -> str:
    from datetime import datetime

    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M") + " UTC"
    return "—"


@alerts.command("add")
def add_command(
    email: Annotated[
        str | None, typer.Option("--email", help="Send to this e-mail address.")
    ] = None,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST JSON to this http(s) address.")
    ] = None,
    frequency: Annotated[
        str, typer.Option(help="immediate (each new item), daily or weekly (a digest).")
    ] = "immediate",
    topic: Annotated[
        list[int] | None,
        typer.Option("--topic", help="Only items of this topic id (repeat: any of them)."),
    ] = None,
    territory: Annotated[
        str | None,
        typer.Option(help="Only items linked to this territory or one inside it (35, 35238)."),
    ] = None,
    level: Annotated[str | None, typer.Option(help="Level of the territory code.")] = None,
    person: Annotated[
        str | None, typer.Option(help="Only items linked to this person (p-…).")
    ] = None,
    scope: Annotated[
        str | None, typer.Option(help="endogenous or exogenous (relative to 'watch home').")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A name for the subscription.")] = None,
    secret: Annotated[
        str | None,
        typer.Option(help="Webhook: HMAC-SHA256 key of the signature (default: generated)."),
    ] = None,
    language: Annotated[str, typer.Option(help="fr or en.")] = "fr",
    owner: Annotated[
        str | None, typer.Option(help="The user it belongs to (default: you, cli:NAME).")
    ] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Subscribe to watch alerts: every new item matching the filters at once, or a daily or
    weekly digest, by e-mail or webhook."""
    from territoria.alerts.watch import WatchFilters, add_watch_subscription
    from territoria.errors import InvalidSubscription
    from territoria.kb.audit import current_actor

    with open_kb(db, quiet) as con:
        if (email is None) == (webhook is None):
            msg = "give one of --email ADDRESS or --webhook URL"
            raise InvalidSubscription(msg)
        where = None
        if territory is not None:
            chosen = chosen_level(con, territory, level)
            where = (chosen or level or "", territory)
        filters = WatchFilters(tuple(topic or ()), where, person, scope)
        sub = add_watch_subscription(
            con,
            owner=owner or current_actor(),
            channel="email" if email else "webhook",
            target=email or webhook or "",
            frequency=frequency,
            filters=filters,
            secret=secret,
            language=language,
            name=name,
        )
    if json_output:
        print_json({**sub.to_dict(), "secret": sub.secret})
        return
    console.print(
        f"abonnement {sub.id} créé : « {sub.name} », {_CHANNEL[sub.channel]} vers {sub.target}, "
        f"fréquence {_FREQUENCY[sub.frequency]}",
        highlight=False,
    )
    if sub.secret:
        console.print(
            f"secret de signature (X-Territoria-Signature) : {sub.secret}\n"
            "notez-le : il ne sera plus affiché",
            highlight=False,
        )


@alerts.command("list")
def list_command(
    owner: Annotated[
        str | None, typer.Option(help="Only this user's subscriptions (default: all).")
    ] = None,
    removed: Annotated[bool, typer.Option("--removed", help="The removed ones instead.")] = False,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """List the alert subscriptions: channel, target, frequency, filters, last digest."""
    from territoria.alerts.subscriptions import list_subscriptions
    from territoria.alerts.watch import WatchFilters, describe_filters

    with open_kb(db, quiet) as con:
        subs = list_subscriptions(con, owner=owner, deleted=removed)
        said = {s.id: describe_filters(con, WatchFilters.from_dict(s.filters)) for s in subs}
    if json_output:
        print_json([s.to_dict() for s in subs])
        return
    if not subs:
        console.print("aucun abonnement : 'territoria watch alerts add --email ADRESSE'")
        return
    table = _table(
        "Abonnements aux alertes",
        "id, nom, propriétaire, canal, destinataire, fréquence, filtres, dernier résumé",
    )
    for s in subs:
        table.add_row(
            str(s.id),
            s.name,
            s.owner,
            _CHANNEL[s.channel],
            s.target,
            _FREQUENCY[s.frequency],
            said[s.id],
            _when(s.last_digest_at),
        )
    console.print(table)


@alerts.command("remove")
def remove_command(
    subscription_id: Annotated[int, typer.Argument(min=1, help="Id ('watch alerts list').")],
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Remove a subscription (soft, audited); its unsent messages are dropped."""
    from territoria.alerts.subscriptions import remove_subscription
    from territoria.kb.audit import current_actor

    with open_kb(db, quiet) as con:
        sub = remove_subscription(con, subscription_id, user=current_actor(), admin=True)
    if not quiet:
        console.print(f"abonnement {sub.id} supprimé : « {sub.name} »", highlight=False)


@alerts.command("deliveries")
def deliveries_command(
    status: Annotated[str | None, typer.Option(help="pending, retrying, sent or failed.")] = None,
    subscription: Annotated[
        int | None, typer.Option("--subscription", help="Only this subscription's.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="At most this many.")] = 50,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """The delivery log, newest first: each message, its status, attempts and last error."""
    from territoria.alerts.delivery import list_deliveries

    with open_kb(db, quiet) as con:
        rows = list_deliveries(con, status=status, subscription_id=subscription, limit=limit)
    if json_output:
        print_json([d.to_dict() for d in rows])
        return
    if not rows:
        console.print("aucun message dans le journal des envois")
        return
    table = _table(
        "Journal des envois",
        "id, abonnement, objet, statut, essais, prochain essai, envoyé le, dernière erreur",
    )
    for d in rows:
        table.add_row(
            str(d.id),
            str(d.subscription_id),
            d.subject,
            _STATUS.get(d.status, d.status),
            str(d.attempts),
            _when(d.next_attempt_at) if d.status in ("pending", "retrying") else "—",
            _when(d.sent_at),
            d.last_error or "",
        )
    console.print(table)


def _print_delivery(report: DeliveryReport) -> None:
    console.print(
        f"envois : {report.sent} envoyé(s), {report.retrying} à réessayer, "
        f"{report.failed} en échec",
        highlight=False,
    )
    for outcome in report.outcomes:
        if outcome.error:
            console.print(
                f"  message {outcome.delivery_id} ({outcome.target}) : "
                f"{_STATUS[outcome.status]} — {outcome.error}",
                highlight=False,
            )
    for note in report.notes:
        console.print(note, highlight=False)


@alerts.command("send")
def send_command(
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Send the messages that are due (new, or whose retry time has come)."""
    from territoria.alerts.delivery import deliver_pending

    settings = context(db, quiet).settings
    with open_kb(db, quiet) as con:
        report = deliver_pending(con, settings=settings)
    if json_output:
        print_json(report.to_dict())
    elif not quiet:
        _print_delivery(report)


def digest_command(
    frequency: Annotated[
        str | None, typer.Option(help="Only the daily or the weekly digests (default both).")
    ] = None,
    send: Annotated[
        bool, typer.Option("--send", help="Then send the messages that are due.")
    ] = False,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Build the digests that are due (daily, weekly) for every subscription; with --send,
    deliver them and every other message due."""
    from territoria.alerts.delivery import deliver_pending
    from territoria.alerts.digest import build_due_digests

    settings = context(db, quiet).settings
    with open_kb(db, quiet) as con:
        built = build_due_digests(con, hour=settings.alerts_digest_hour, frequency=frequency)
        report = deliver_pending(con, settings=settings) if send else None
    if json_output:
        print_json({"digests": built.to_dict(), "delivery": report.to_dict() if report else None})
        return
    if quiet:
        return
    console.print(
        f"résumés : {built.queued} prêt(s) à envoyer, {built.empty} sans nouvel article, "
        f"{built.not_due} pas encore dus",
        highlight=False,
    )
    for note in built.notes:
        console.print(f"  {note}", highlight=False)
    if report is not None:
        _print_delivery(report)
    elif built.queued:
        console.print("'territoria watch digest --send' ou 'watch alerts send' les envoie")
