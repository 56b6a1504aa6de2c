"""``territoria watch demo``: the watch's demo content (feeds written for the demo) fetched
into the knowledge base, with a home territory and three topics."""

from __future__ import annotations

from typing import Annotated

import typer

from territoria.cli._common import (
    DbOption,
    QuietOption,
    console,
    context,
    handle_errors,
    print_json,
)

_STATUS = {"ok": "collectée", "not_modified": "inchangée"}


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("x" if word.endswith("eau") else "s") * (n > 1)


def register(watch: typer.Typer) -> None:
    """Add ``watch demo`` to the ``watch`` group."""
    watch.command("demo")(demo)


def demo(
    port: Annotated[
        int,
        typer.Option(
            "--port",
            help="Port of 'territoria serve --demo', which serves the demo articles the items "
            "link to (the feeds are fetched from this port, or another free one if it is taken).",
            min=0,
            max=65535,
        ),
    ] = 8000,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Set up the watch's demo: four French feeds and a watched page WRITTEN FOR THE DEMO
    (labelled 'contenu de démonstration', dated up to today), served on 127.0.0.1 and fetched
    now; the home territory Ille-et-Vilaine; the topics 'Ligne Rennes–Saint-Malo', 'Appels à
    projets' and 'Santé'. Run it after 'territoria import france' and before 'territoria serve
    --demo'; run again, it fetches the feeds again (nothing is stored twice)."""
    from territoria.watch.demo import setup_demo

    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect()
        try:
            report = setup_demo(con, settings=ctx.settings, port=port)
        finally:
            con.close()
    if json_output:
        print_json(report.to_dict())
        return
    console.print(
        f"Veille de démonstration (contenu écrit pour la démonstration, servi depuis "
        f"{report.address}) :"
    )
    console.print(f"  territoire de référence : {report.home}")
    console.print(f"  sujets : {', '.join(report.topics)}")
    for f in report.fetches:
        status = _STATUS.get(f.status, f.status)
        counts = (_count(f.new, "nouveau"), _count(f.duplicates, "doublon"))
        line = f"  {f.name} : {status}, {counts[0]}, {counts[1]}, "
        line += _count(f.unchanged, "inchangé")
        if f.error:
            line += f" — {f.error}"
        console.print(line, highlight=False)
    console.print(
        f"  {report.items} articles, {report.links} liens vers la base de connaissances ; "
        "lisez-les sur /veille ('territoria serve --demo')."
    )
