"""``territoria portrait``: a territory's portrait in French, as PDF or HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from territoria.cli._common import DbOption, QuietOption, chosen_level, console, open_kb
from territoria.errors import InvalidQuery

__all__ = ["register"]


def _format(output: Path) -> str:
    """The format named by the output file's extension (its folder must exist)."""
    fmt = output.suffix.lower().removeprefix(".")
    if fmt == "htm":
        return "html"
    if fmt not in ("pdf", "html"):
        msg = (
            f"cannot tell the portrait's format from {str(output)!r}: "
            "name the output file with .pdf or .html (e.g. -o rennes.pdf)"
        )
        raise InvalidQuery(msg)
    if not output.resolve().parent.is_dir():
        msg = f"the folder of {str(output)!r} does not exist: create it or write elsewhere"
        raise InvalidQuery(msg)
    return fmt


def portrait_command(
    code: Annotated[
        str,
        typer.Argument(
            help="Official code: commune 35238, EPCI 243500139, département 35, région 53 ..."
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The file to write: .pdf or .html.")
    ],
    level: Annotated[
        str | None, typer.Option(help="Level of the code when ambiguous (53: région or Mayenne).")
    ] = None,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Write a territory's portrait in French: map, key figures with year and source,
    population series, age and housing charts, strengths, assets, poles, officials, lycées,
    sources (synthetic data marked as such)."""
    from territoria.reports.portrait import export_portrait, portrait

    with open_kb(db, quiet, read_only=True) as con:
        fmt = _format(output)
        found = portrait(con, code, level=chosen_level(con, code, level))
        data = export_portrait(found, fmt)
        output.write_bytes(data)
    if not quiet:
        latest = found.latest_population
        figure = f"; population {latest.value} in {latest.year}" if latest else ""
        console.print(
            f"portrait of {found.name} ({found.level_label} {found.code}{figure}) "
            f"written to {output} ({len(data)} bytes)",
            highlight=False,
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    """Add ``territoria portrait`` to the application."""
    app.command("portrait")(portrait_command)
