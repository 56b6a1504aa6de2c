"""``territoria watch topics``, ``watch search``, ``watch signals`` and ``watch reindex``:
saved Boolean topics, French full-text search and the watch's signals."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from territoria.cli._common import (
    DbOption,
    QuietOption,
    chosen_level,
    console,
    open_kb,
    parse_date_option,
    print_json,
)

topics = typer.Typer(
    help='Saved topics: a Boolean query ("ligne Rennes Saint-Malo" AND (TER OR train) NOT '
    "bus), optional territory and person filters, tags. New items are filed under them.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
TerritoryOption = Annotated[
    str | None,
    typer.Option(
        "--territory",
        "-t",
        help="Only items linked to this territory or one inside it: 35238 (commune), "
        "243500139 (EPCI), 35 (département).",
        show_default=False,
    ),
]
LevelOption = Annotated[
    str | None,
    typer.Option(
        "--level", "-l", help="Level of an ambiguous code (53: departement or region).",
        show_default=False,
    ),
]  # fmt: skip
PersonOption = Annotated[
    str | None,
    typer.Option("--person", help="Only items linked to this person (p-… or a whole name).",
                 show_default=False),
]  # fmt: skip

QUERY_HELP = (
    'Words, "phrases", AND / OR / NOT (or ET / OU / SAUF, in capitals), parentheses; '
    "territoire:CODE and personne:ID filters. Accents and case are ignored, words match "
    "their French forms (trains: train)."
)


def register(watch: typer.Typer) -> None:
    """Add ``topics``, ``search``, ``signals`` and ``reindex`` to ``territoria watch``."""
    watch.add_typer(topics, name="topics")
    watch.command("search")(search_command)
    watch.command("signals")(signals_command)
    watch.command("reindex")(reindex_command)


@topics.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="The topic's name: 'Ligne Rennes–Saint-Malo'.")],
    query: Annotated[str, typer.Option("--query", "-q", help=QUERY_HELP)],
    territory: TerritoryOption = None,
    level: LevelOption = None,
    person: PersonOption = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="A label (repeat for several).")
    ] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Save a topic; the items already there that it matches are filed under it at once."""
    from territoria.watch.topics import add_topic

    with open_kb(db, quiet) as con:
        place = (chosen_level(con, territory, level), territory) if territory else None
        topic = add_topic(con, name, query, territory=place, person=person, tags=tag or ())
    if json_output:
        print_json(topic.to_dict())
    elif not quiet:
        console.print(
            f"thème n° {topic.id} « {escape(topic.name)} » enregistré : "
            f"{topic.items} article(s) déjà classé(s)",
            highlight=False,
        )


@topics.command("list")
def list_command(
    deleted: Annotated[
        bool, typer.Option("--deleted", help="List the removed topics instead.")
    ] = False,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List the topics with their query, filters, tags and how many items they hold."""
    from territoria.watch.topics import list_topics

    with open_kb(db, read_only=True) as con:
        found = list_topics(con, deleted=deleted)
    if json_output:
        print_json([t.to_dict() for t in found])
        return
    table = Table(title="Thèmes supprimés" if deleted else "Thèmes de veille", title_justify="left")
    for column in ("n°", "nom", "requête", "territoire", "personne", "étiquettes", "articles"):
        table.add_column(column)
    for t in found:
        place = (
            f"{t.territory_name or t.territory_code} ({t.territory_code})"
            if t.territory_code
            else "—"
        )
        table.add_row(
            str(t.id),
            escape(t.name),
            escape(t.query),
            escape(place),
            escape(t.person_name or t.person_id or "—"),
            escape(", ".join(t.tags) or "—"),
            str(t.items),
        )
    console.print(table if found else "aucun thème : 'territoria watch topics add NOM --query …'")


@topics.command("remove")
def remove_command(
    topic_id: Annotated[int, typer.Argument(min=1, help="Id of the topic ('topics list').")],
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Remove a topic (kept as removed, with the items it held, in the audit log)."""
    from territoria.watch.topics import remove_topic

    with open_kb(db, quiet) as con:
        topic = remove_topic(con, topic_id)
    if not quiet:
        console.print(f"thème n° {topic.id} « {escape(topic.name)} » supprimé", highlight=False)


def _marked(text: str, marks: list[tuple[int, int]]) -> str:
    out, last = [], 0
    for a, b in marks:
        out += [escape(text[last:a]), f"[bold yellow]{escape(text[a:b])}[/]"]
        last = b
    return "".join(out) + escape(text[last:])


def search_command(
    query: Annotated[str, typer.Argument(help=QUERY_HELP)],
    territory: TerritoryOption = None,
    level: LevelOption = None,
    person: PersonOption = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Published since: 2026-12-01 or '1er décembre 2026'."),
    ] = None,
    duplicates: Annotated[
        bool, typer.Option("--duplicates", help="Also show the stories repeated by another.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Search the watch items in French (accents ignored, stemmed), best match first."""
    from territoria.kb.people import resolve_person
    from territoria.watch.items import parse_since
    from territoria.watch.search import search

    with open_kb(db, read_only=True) as con:
        place = (chosen_level(con, territory, level), territory) if territory else None
        result = search(
            con,
            query,
            territory=place,
            person=resolve_person(con, person).id if person else None,
            since=parse_since(since) if since else None,
            include_duplicates=duplicates,
            limit=limit,
            offset=offset,
        )
    if json_output:
        print_json(result.to_dict())
        return
    console.print(f"[bold]{result.total} article(s)[/] pour {escape(query)}", highlight=False)
    for rank, hit in enumerate(result.hits, start=result.offset + 1):
        day = f"{hit.published:%d/%m/%Y}" if hit.published else "sans date"
        score = f"{hit.score:.2f}".replace(".", ",")
        console.print(
            f"{rank}. [bold]{_marked(hit.title, hit.title_highlights)}[/] — "
            f"{escape(hit.source or '?')}, {day} (n° {hit.id}, score {score})",
            highlight=False,
        )
        if hit.snippet:
            console.print(f"   {_marked(hit.snippet, hit.highlights)}", highlight=False)
        console.print(f"   {escape(hit.url)}", highlight=False, style="dim")
    shown = result.offset + len(result.hits)
    if shown < result.total:
        console.print(f"{shown} sur {result.total} : la suite avec --offset {shown}")
    if result.unindexed:
        console.print(
            f"{result.unindexed} article(s) ne sont pas encore indexés : "
            "lancez 'territoria watch reindex'"
        )


_KIND_LABELS = {"topic": "thème", "territory": "territoire", "person": "personne",
                "term": "terme émergent"}  # fmt: skip


def signals_command(
    since: Annotated[
        str | None, typer.Option("--since", help="Start of the period: YYYY-MM-DD.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="End of the period: YYYY-MM-DD (default: latest item)."),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="topic, territory, person or term (repeat; default all)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 50,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show the bursts (topics, territories, persons at about twice their usual volume or
    more) and the terms emerging in a territory, each with the items behind it."""
    from territoria.watch.signals import KINDS, signals

    with open_kb(db, read_only=True) as con:
        result = signals(
            con,
            since=parse_date_option(since, "--since"),
            until=parse_date_option(until, "--until"),
            kinds=kind or KINDS,
            limit=limit,
        )
    if json_output:
        print_json(result.to_dict())
        return
    if result.start is None or result.end is None:
        console.print("aucun article : rien à analyser")
        return
    console.print(
        f"[bold]Signaux du {result.start:%d/%m/%Y} au {result.end:%d/%m/%Y}[/] "
        f"({result.items} articles originaux)",
        highlight=False,
    )
    if not result.signals:
        console.print("aucun pic ni terme émergent sur la période")
    for s in result.signals:
        ongoing = " [bold red](en cours)[/]" if s.ongoing and s.kind != "term" else ""
        console.print(
            f"• [bold]{_KIND_LABELS[s.kind]}[/]{ongoing} : {escape(s.summary)}", highlight=False
        )
        for item in s.items[:3]:
            console.print(f"    {item.day:%d/%m} {escape(item.title)}", highlight=False)
        if s.item_count > 3:
            console.print(f"    … et {s.item_count - 3} autre(s)", highlight=False)


def reindex_command(db: DbOption = None, quiet: QuietOption = False) -> None:
    """Index for search the items the index lacks, and rewrite the index in stem order."""
    from territoria.watch.search import reindex

    with open_kb(db, quiet) as con:
        done = reindex(con)
    if not quiet:
        console.print(f"{done} article(s) indexé(s) ; index réordonné", highlight=False)
