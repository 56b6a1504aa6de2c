"""``territoria watch sources add|list|remove|import|export`` and ``territoria watch fetch``:
the watch's sources and fetching them now."""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from territoria.cli._common import (
    DbOption,
    QuietOption,
    console,
    context,
    handle_errors,
    open_kb,
    print_json,
)

if TYPE_CHECKING:
    from territoria.watch.fetch import FetchReport, Target

sources = typer.Typer(
    help="The watch's sources: RSS/Atom feeds, web pages watched for changes, sitemaps, "
    "folders of HTML/PDF/text files; OPML import and export.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def register(watch: typer.Typer) -> None:
    """Add ``sources`` and ``fetch`` to ``territoria watch``."""
    watch.add_typer(sources, name="sources")
    watch.command("fetch")(fetch_command)


def _when(value: datetime | None) -> str:
    return value.strftime("%d/%m/%Y %H:%M UTC") if value else "—"


@sources.command("add")
def add_command(
    address: Annotated[str, typer.Argument(help="Feed, page or sitemap address, or a folder.")],
    kind: Annotated[
        str, typer.Option("--kind", "-k", help="feed (RSS/Atom), page, sitemap or folder.")
    ],
    name: Annotated[str | None, typer.Option(help="Name shown (default: the address).")] = None,
    selector: Annotated[
        str | None,
        typer.Option(help="page: CSS selector of the part watched (default: the whole page)."),
    ] = None,
    interval: Annotated[int, typer.Option(help="Minutes between two fetches.")] = 60,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="A tag (repeatable).")
    ] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Add a source; it is fetched by 'territoria watch fetch' and, while 'serve' runs, every
    INTERVAL minutes. A page's first fetch records its text; later changes become items."""
    from territoria.watch.sources import KIND_LABELS, add_source

    with open_kb(db) as con:
        source = add_source(
            con,
            address,
            kind=kind,
            name=name,
            selector=selector,
            interval=interval,
            tags=tag or (),
        )
    if json_output:
        print_json(source.to_dict())
        return
    console.print(
        f"source {source.id} ajoutée : {KIND_LABELS[source.kind]} « {source.name} », "
        f"collectée toutes les {source.interval_minutes} min",
        highlight=False,
    )


@sources.command("list")
def list_command(
    deleted: Annotated[bool, typer.Option("--deleted", help="List the removed ones.")] = False,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List the sources with their last status, consecutive failures and next fetch."""
    from territoria.watch.sources import KIND_LABELS, STATUS_LABELS, list_sources

    with open_kb(db, read_only=True) as con:
        found = list_sources(con, deleted=deleted)
    if json_output:
        print_json([s.to_dict() for s in found])
        return
    if not found:
        console.print("aucune source : ajoutez-en avec 'territoria watch sources add'")
        return
    table = Table(title="Sources supprimées" if deleted else "Sources de veille")
    for column in (
        "n°",
        "type",
        "nom",
        "adresse",
        "étiquettes",
        "dernière collecte",
        "échecs",
        "prochaine collecte",
    ):
        table.add_column(column)
    for s in found:
        status = STATUS_LABELS.get(s.last_status or "", s.last_status or "jamais collectée")
        if s.last_fetch_at:
            status = f"{status} ({_when(s.last_fetch_at)})"
        table.add_row(
            str(s.id),
            KIND_LABELS.get(s.kind, s.kind),
            s.name,
            s.url,
            ", ".join(s.tags),
            status,
            str(s.failures),
            _when(s.next_fetch_at) if s.next_fetch_at else "dès la prochaine collecte",
        )
    console.print(table)


@sources.command("remove")
def remove_command(
    source_id: Annotated[int, typer.Argument(help="Id of the source ('watch sources list').")],
    db: DbOption = None,
) -> None:
    """Remove a source: it is no longer fetched; its items stay (the removal is audited)."""
    from territoria.watch.sources import remove_source

    with open_kb(db) as con:
        source = remove_source(con, source_id)
    console.print(f"source {source.id} « {source.name} » supprimée", highlight=False)


@sources.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="OPML file (a feed reader's export).")],
    interval: Annotated[int, typer.Option(help="Minutes between two fetches.")] = 60,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Add the feeds of an OPML file (its folders and categories become tags); feeds already
    watched are skipped."""
    from territoria.watch.sources import import_opml

    with handle_errors():
        data = path.read_bytes()
    with open_kb(db) as con:
        done = import_opml(con, data, interval=interval)
    if json_output:
        print_json({"added": [s.to_dict() for s in done.added], "skipped": done.skipped})
        return
    console.print(f"{len(done.added)} flux ajouté(s), {len(done.skipped)} ignoré(s)")
    for line in done.skipped:
        console.print(f"  ignoré : {line}", highlight=False)


@sources.command("export")
def export_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write the feed sources as an OPML 2.0 file (tags as categories)."""
    from territoria.watch.sources import export_opml

    with open_kb(db, read_only=True) as con:
        text = export_opml(con)
    if output is None:
        typer.echo(text, nl=False)
        return
    with handle_errors():
        output.write_text(text, encoding="utf-8")
    console.print(f"flux écrits dans {output}", highlight=False)


def fetch_command(
    source: Annotated[
        int | None, typer.Option("--source", "-s", help="Fetch this source only (due or not).")
    ] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Fetch the due sources now (or one source), store their new items, and print per source
    the status, new items, duplicates and unchanged ones."""
    from territoria.cli._remote import current_session
    from territoria.watch.fetch import fetch_due, fetch_source

    ctx = context(db, quiet)
    session = current_session()
    with handle_errors(), contextlib.ExitStack() as stack:
        target: Target
        if session is not None:  # inside 'serve': its writer, not held while fetching
            served, actor = session.database, session.actor
            target = lambda: served.writer(actor=actor)  # noqa: E731
        else:
            con = ctx.connect()
            stack.callback(con.close)
            target = con
        if source is not None:
            report = fetch_source(target, source, settings=ctx.settings)
        else:
            report = fetch_due(target, settings=ctx.settings)
    if json_output:
        print_json(report.to_dict())
        return
    _print_report(report)


def _print_report(report: FetchReport) -> None:
    from territoria.watch.sources import STATUS_LABELS

    if not report.sources:
        console.print("aucune source à collecter maintenant")
        return
    table = Table(title="Collecte")
    for column in ("n°", "source", "état", "nouveaux", "doublons", "inchangés", "problème"):
        table.add_column(column)
    for s in report.sources:
        problem = s.error or "; ".join(s.errors[:3])
        table.add_row(
            str(s.source_id),
            s.name,
            STATUS_LABELS.get(s.status, s.status),
            str(s.new),
            str(s.duplicates),
            str(s.unchanged),
            problem,
        )
    console.print(table)
    console.print(
        f"{report.new} nouvel(s) élément(s), {report.duplicates} doublon(s), "
        f"{report.unchanged} inchangé(s)"
    )
