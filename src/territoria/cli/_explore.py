"""``territoria search`` and ``territoria profile``: find a territory, then read its profile."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from territoria.cli._common import (
    DbOption,
    QuietOption,
    chosen_level,
    console,
    context,
    err_console,
    handle_errors,
    print_json,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
LevelOption = Annotated[
    str | None,
    typer.Option(
        "--level",
        "-l",
        help="Level: commune, epci, departement, region, canton, circonscription, "
        "arrondissement_municipal ... (French labels accepted).",
        show_default=False,
    ),
]


def _thin(value: int | None) -> str:
    return "—" if value is None else f"{value:,}".replace(",", "\u202f")


def _print_persons(text: str, persons: list[Any]) -> None:
    table = Table(title=f"officials matching {text!r}", title_justify="left")
    table.add_column("id")
    table.add_column("name")
    table.add_column("current mandates", overflow="fold")
    for person in persons:
        titles = "; ".join(t.text() for t in person.titles[:2])
        table.add_row(person.id, person.name, titles)
    console.print(table)


def search_command(
    text: Annotated[str, typer.Argument(help="Name or code, e.g. 'St-Étienne', 'renn', '35238'.")],
    level: LevelOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Maximum hits.")] = 20,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Find territories (and elected officials) by name or code, whatever accents or typos.

    Exact codes come first, then exact names, names being typed, then near spellings.
    Use the code shown with 'territoria profile CODE'. Officials whose name matches closely
    are listed after the territories: those whose name holds every word typed (spelling
    mistakes and partial words: 'territoria people search NAME').
    """
    from territoria.kb.people import persons_with_words
    from territoria.kb.search import search

    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect(read_only=True)
        try:
            hits = search(con, text, level=level, limit=limit)
            persons = [] if level else persons_with_words(con, text, limit=5)
        finally:
            con.close()
    if json_output:
        print_json(
            {
                "query": text,
                "level": level,
                "hits": [h.to_dict() for h in hits],
                "persons": [p.to_dict() for p in persons],
            }
        )
        return
    if not hits:
        if persons and not ctx.quiet:
            _print_persons(text, persons)
        elif not persons:
            err_console.print(f"no territory nor official matches {text!r}", highlight=False)
        return
    if ctx.quiet:
        for hit in hits:
            typer.echo(f"{hit.code}\t{hit.level}\t{hit.name}")
        return
    table = Table(title=f"territories matching {text!r}", title_justify="left")
    table.add_column("code")
    table.add_column("level")
    table.add_column("name", overflow="fold")
    table.add_column("in", overflow="fold")
    table.add_column("population", justify="right")
    table.add_column("score", justify="right", style="dim")
    for hit in hits:
        table.add_row(
            hit.code,
            hit.level,
            hit.name,
            hit.parent or "",
            _thin(hit.population),
            f"{hit.score:.3f}",
        )
    console.print(table)
    if persons:
        _print_persons(text, persons)


def profile_command(
    code: Annotated[
        str,
        typer.Argument(help="Official code: 35238 (commune), 243500139 (EPCI), 35, 53, 35-08."),
    ],
    level: LevelOption = None,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show a territory's profile: figures, parents, neighbours, officials, town hall, sources.

    A code shared by several levels (53 is the département Mayenne and the région Bretagne)
    means the first in the order commune, département, région, EPCI ...; choose with --level.
    """
    from territoria.analysis.profile import profile, render_profile

    ctx = context(db)
    with handle_errors():
        con = ctx.connect(read_only=True)
        try:
            data = profile(con, code, level=chosen_level(con, code, level))
        finally:
            con.close()
    if json_output:
        print_json(data.to_dict())
        return
    console.print(render_profile(data))


def register(app: typer.Typer) -> None:
    """Add ``search`` and ``profile`` to the command-line application."""
    app.command("search")(search_command)
    app.command("profile")(profile_command)
