"""``territoria people ...``: the directory of elected officials and the merge report."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
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
    print_json,
)

if TYPE_CHECKING:
    import duckdb

    from territoria.cli._common import Context
    from territoria.kb.people import PersonMandate, PersonPage

people = typer.Typer(
    help="Elected officials: find a person, show her mandates, the merge report.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


@contextlib.contextmanager
def _reading(ctx: Context) -> Iterator[duckdb.DuckDBPyConnection]:
    """The knowledge base for reading names: inside the serving process (cli/_remote.py), its
    long-lived cursor, whose index of names is built already; otherwise the file itself."""
    from territoria.cli._remote import current_session

    session = current_session()
    if session is not None:
        with session.database.shared() as shared:
            yield shared
        return
    con = ctx.connect(read_only=True)
    try:
        yield con
    finally:
        con.close()


@people.command("search")
def people_search(
    name: Annotated[
        str, typer.Argument(help="Name or part of one: 'appere', 'Gatel', 'dadkha forough'.")
    ],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="Most hits.")] = 10,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Find elected officials by name, whatever the accents, case, order or typos.

    The whole name comes first, then the weight of the current mandates (a senator before a
    municipal councillor of the same name). Show one with 'territoria people show ID'.
    """
    from territoria.kb.people import search_persons

    ctx = context(db, quiet)
    with handle_errors(), _reading(ctx) as con:
        hits = search_persons(con, name, limit=limit)
    if json_output:
        print_json({"query": name, "hits": [h.to_dict() for h in hits]})
        return
    if not hits:
        err_console.print(f"no person is named like {name!r}", highlight=False)
        return
    if ctx.quiet:
        for hit in hits:
            typer.echo(f"{hit.id}\t{hit.name}\t{hit.birth_year or ''}")
        return
    table = Table(title=f"persons matching {name!r}", title_justify="left")
    for column in ("id", "name", "born", "current mandates"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        titles = "\n".join(t.text() for t in hit.titles) or "—"
        table.add_row(hit.id, hit.name, str(hit.birth_year or ""), titles)
    console.print(table)


def _dates(m: PersonMandate) -> str:
    def day(value: date | None) -> str:
        return value.isoformat() if value else "?"

    since = m.function_start_date if m.function else m.start_date
    text = f"since {day(since)}" if m.current else f"{day(m.start_date)} – {day(m.end_date)}"
    if m.date_flag == "day_month_swapped":
        original = m.function_start_date_source if m.function else m.start_date_source
        text += f" (corrected: day and month swapped in the source, {original or '?'})"
    elif m.date_flag == "implausible":
        text += " (implausible date, as in the source)"
    return text


def _mandates_table(title: str, mandates: list[PersonMandate]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("title", "body", "territory", "dates", "group / party", "source"):
        table.add_column(column, overflow="fold")
    for m in mandates:
        where = f"{m.territory} ({m.level} {m.code})" if m.territory else (m.code or "")
        table.add_row(
            m.function or m.role,
            m.body,
            where,
            _dates(m),
            " / ".join(x for x in (m.group, m.party) if x),
            f"{m.source} {m.source_version or ''}".strip(),
        )
    return table


def _print_person(page: PersonPage) -> None:
    born = page.birth_date.isoformat() if page.birth_date else "unknown"
    if page.birth_date_alt:
        born += f" (another source: {page.birth_date_alt.isoformat()}, day and month swapped)"
    console.print(f"[bold]{page.name}[/]  {page.id}", highlight=False)
    console.print(f"born {born}", highlight=False)
    if page.current:
        console.print(_mandates_table("current mandates", page.current))
    if page.past:
        console.print(_mandates_table("past mandates", page.past))
    for c in page.contacts:
        value = c.email or c.phone or c.website or c.address
        console.print(f"{c.kind}: {value}  (source: {c.source})", highlight=False)
    for g in page.merges:
        console.print(
            f"merged: {g.first_name} {g.last_name}, born {g.birth_date or '?'} "
            f"({g.reason}, {g.datasets})",
            highlight=False,
        )
    for a in page.actions:
        console.print(f"action {a.id}: {a.date} {a.type} — {a.subject}", highlight=False)
    for p in page.plans:
        console.print(
            f"plan {p.id}: {p.theme or ''} {p.level or ''} {p.code or ''} "
            f"({', '.join(p.roles)}, {p.status})",
            highlight=False,
        )


@people.command("show")
def people_show(
    person: Annotated[
        str, typer.Argument(help="Person id (p-…) or whole name ('Nathalie Appéré').")
    ],
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show a person: current and past mandates, contacts, merges, actions and plans.

    A name that fits several persons lists them (with their ids) and exits with code 2.
    """
    from territoria.errors import AmbiguousPerson
    from territoria.kb.people import resolve_person

    ctx = context(db)
    with handle_errors(), _reading(ctx) as con:
        try:
            page = resolve_person(con, person)
        except AmbiguousPerson as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            for line in exc.candidates:
                err_console.print(f"  {line}", highlight=False)
            raise typer.Exit(code=exc.exit_code) from None
    if json_output:
        print_json(page.to_dict())
        return
    _print_person(page)


@people.command("merges")
def people_merges(
    reason: Annotated[
        str | None,
        typer.Option(help="Only 'spelling' (case, accents) or 'day_month_swapped' merges."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Most rows.")] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The merge report: source rows that the import took for one person although their
    spelling or birth date differ (day and month swapped in one source)."""
    from territoria.kb.people import merges

    ctx = context(db)
    with handle_errors():
        con = ctx.connect(read_only=True)
        try:
            rows = merges(con, reason=reason, limit=limit)
        finally:
            con.close()
    if json_output:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    if not rows:
        console.print("no merge to report", highlight=False)
        return
    table = Table(title=f"{len(rows)} merged variants", title_justify="left")
    for column in ("person", "name", "as written", "born (as written)", "reason", "source"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r.person_id,
            r.name,
            f"{r.first_name} {r.last_name}",
            r.birth_date or "",
            r.reason,
            f"{r.datasets} ({r.mandates} mandates)",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``territoria people`` to the application."""
    app.add_typer(people, name="people")
