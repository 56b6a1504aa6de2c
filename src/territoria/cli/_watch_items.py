"""``territoria watch items``, ``watch item ID`` and ``watch home``: reading the watch and
setting the home territory its scope is relative to."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from territoria.cli._common import (
    DbOption,
    QuietOption,
    chosen_level,
    console,
    open_kb,
    print_json,
)

if TYPE_CHECKING:
    from territoria.watch.items import ItemView

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
LevelOption = Annotated[
    str | None,
    typer.Option(
        "--level",
        "-l",
        help="Level of the territory code: commune, epci, departement, region …",
        show_default=False,
    ),
]


def register(watch: typer.Typer) -> None:
    """Add ``items``, ``item`` and ``home`` to ``territoria watch``."""
    watch.command("items")(items_command)
    watch.command("item")(item_command)
    watch.command("home")(home_command)


def _when(value: datetime | None) -> str:
    """A UTC moment as Paris reads it: ``02/12/2026 07:45``."""
    if value is None:
        return "—"
    from territoria.watch._dates import PARIS

    return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def _names(item: ItemView, limit: int = 4) -> str:
    names = list(dict.fromkeys(str(k["name"]) for k in item.links))
    more = f" (+{len(names) - limit})" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more if names else "—"


def items_command(
    topic: Annotated[
        str | None, typer.Option("--topic", help="A saved topic's id or name.")
    ] = None,
    territory: Annotated[
        str | None,
        typer.Option(
            "--territory",
            "-t",
            help="Items linked to this territory or one inside it: 35047 (commune), "
            "243500139 (EPCI), 35 (département: its communes and EPCI too).",
        ),
    ] = None,
    level: LevelOption = None,
    person: Annotated[
        str | None, typer.Option("--person", help="Items linked to this person (p-…).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Published since: 2026-12-01 or '1er décembre 2026'."),
    ] = None,
    scope: Annotated[
        Literal["endogenous", "exogenous"] | None,
        typer.Option(
            "--scope", help="endogenous (about the home territory) or exogenous (the rest)."
        ),
    ] = None,
    duplicates: Annotated[
        bool, typer.Option("--duplicates/--no-duplicates", help="Keep the repeated stories.")
    ] = True,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """List the watch items, latest first, with their source, scope and links."""
    from territoria.kb.territories import find_territory
    from territoria.watch.items import list_items, parse_since, topic_id

    with open_kb(db, quiet, read_only=True) as con:
        area = None
        if territory is not None:
            found = find_territory(con, territory, level=chosen_level(con, territory, level))
            area = (found.level, found.code)
        result = list_items(
            con,
            topic=topic_id(con, topic) if topic is not None else None,
            territory=area,
            person=person,
            since=parse_since(since) if since is not None else None,
            scope=scope,
            include_duplicates=duplicates,
            limit=limit,
            offset=offset,
        )
    if json_output:
        print_json([item.to_dict() for item in result.items])
        return
    home = f" — territoire de référence : {result.home.name}" if result.home else ""
    table = Table(title=f"Veille : {result.total} article(s){home}", title_justify="left")
    for column in ("n°", "date", "titre", "source", "portée", "liens", "doublon de"):
        table.add_column(column)
    for item in result.items:
        table.add_row(
            str(item.id),
            _when(item.published or item.fetched_at),
            item.title,
            item.source.name,
            item.scope_label,
            _names(item),
            str(item.duplicate_of) if item.duplicate_of else "",
        )
    console.print(table)
    shown = result.offset + len(result.items)
    if shown < result.total:
        console.print(f"{shown} sur {result.total} : la suite avec --offset {shown}")


_TYPES = {"territory": "territoire", "person": "personne", "organisation": "organisation",
          "pole": "pôle"}  # fmt: skip


def item_command(
    item_id: Annotated[int, typer.Argument(min=1, help="Id of the item ('watch items').")],
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Show one watch item: its text, then the territories, persons and organisations it
    mentions, each with its score."""
    from territoria.watch.items import get_item

    with open_kb(db, quiet, read_only=True) as con:
        item = get_item(con, item_id)
    if json_output:
        data = item.to_dict()
        data["spans"] = [s.to_dict() for s in item.segments()]
        print_json(data)
        return
    console.print(f"[bold]{item.title}[/]", highlight=False)
    line = f"{item.source.name} · {_when(item.published or item.fetched_at)}"
    if item.author:
        line += f" · {item.author}"
    console.print(f"{line} · portée : {item.scope_label}", highlight=False)
    console.print(item.url, highlight=False, soft_wrap=True)
    if item.duplicate_of:
        score = f" (similarité {item.duplicate_score:.0%})" if item.duplicate_score else ""
        console.print(f"Reprend l'article n° {item.duplicate_of}{score}", highlight=False)
    if item.topics:
        console.print("Sujets : " + ", ".join(t.name for t in item.topics), highlight=False)
    console.print()
    console.print(item.text or item.summary, highlight=False, markup=False)
    if item.diff:
        console.print()
        console.print(item.diff, highlight=False, markup=False)
    table = Table(title="Liens vers la base de connaissances", title_justify="left")
    for column in ("type", "nom", "code", "mention", "mentions", "score"):
        table.add_column(column)
    for k in item.links:
        kind = _TYPES.get(str(k["type"]), str(k["type"]))
        code = f"{k['code']} ({k['level_label']})" if k["type"] == "territory" else str(k["id"])
        table.add_row(kind, k["name"], code, k["mention"], str(k["mentions"]), f"{k['score']:.2f}")
    console.print(table if item.links else "Aucun lien vers la base de connaissances.")


def home_command(
    code: Annotated[
        str | None,
        typer.Argument(help="Code of the home territory (none: show the current one)."),
    ] = None,
    level: LevelOption = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Show or set the home territory: items about it, a territory inside it, one of its
    officials or councils are endogenous, the others exogenous."""
    from territoria.watch.items import home, set_home

    with open_kb(db, quiet, read_only=code is None) as con:
        chosen = chosen_level(con, code, level) if code is not None else None
        current = home(con) if code is None else set_home(con, chosen, code)
    if json_output:
        print_json(current.to_dict() if current else None)
        return
    if current is None:
        console.print(
            "Aucun territoire de référence : définissez-le avec "
            "'territoria watch home CODE --level NIVEAU'",
            highlight=False,
        )
        return
    verb = "défini" if code is not None else "actuel"
    console.print(
        f"Territoire de référence {verb} : {current.name} ({current.level_label} "
        f"{current.code}), par {current.set_by} le {_when(current.set_at)}",
        highlight=False,
    )
