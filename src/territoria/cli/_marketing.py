"""``territoria practices ...``, ``territoria assets ...`` and ``territoria strengths``: the good
practices catalogue, learning from peers, the assets registry and a territory's strengths."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from territoria.cli._common import DbOption, QuietOption, chosen_level, console, open_kb, print_json
from territoria.marketing._entries import build

if TYPE_CHECKING:
    from territoria.marketing.practices import PracticeSearch

practices = typer.Typer(
    help="Good practices: import a catalogue (CSV/JSON), add, edit, delete, search in French, "
    "and learn from the territories most like yours.",
    no_args_is_help=True,
)
assets = typer.Typer(
    help="The assets registry (know-how, products, labels, flagship firms, infrastructures, "
    "universities, research centres, lycées, events).",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
LevelOption = Annotated[
    str | None, typer.Option("--level", help="Level of the territory code (when ambiguous).")
]
Id = Annotated[int, typer.Argument(min=1, help="Id ('list' shows them).")]
SourceName = Annotated[
    str | None,
    typer.Option(
        help="Source name (default: '<kind>:<file name>'; a re-import of "
        "the same name replaces its entries)."
    ),
]
Publisher = Annotated[str, typer.Option(help="Who publishes the catalogue.")]
Licence = Annotated[str, typer.Option(help="The catalogue's licence.")]
Synthetic = Annotated[bool, typer.Option(help="Flag the entries as synthetic (demo data).")]


def register(app: typer.Typer) -> None:
    """Add ``practices``, ``assets`` and ``strengths`` to the application."""
    app.add_typer(practices, name="practices")
    app.add_typer(assets, name="assets")
    app.command("strengths")(strengths_command)


def _demo_catalogue() -> Path:
    from territoria.marketing.practices import DEMO_CATALOGUE

    return Path(str(resources.files("territoria") / "data" / DEMO_CATALOGUE))


@practices.command("import")
def practices_import(
    file: Annotated[Path | None, typer.Argument(help="Catalogue, .csv or .json.")] = None,
    demo: Annotated[
        bool, typer.Option(help="Import the demo catalogue (exemples de démonstration, synthetic).")
    ] = False,
    source_name: SourceName = None,
    publisher: Publisher = "non précisé",
    licence: Licence = "non précisée",
    synthetic: Synthetic = False,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import a practices catalogue: columns title, code, level, themes (separated by ';'),
    description, results, contact, address, date, source. All or nothing."""
    from territoria.marketing.practices import DEMO_CATALOGUE, import_practices

    if (file is None) == (not demo):
        raise typer.BadParameter("give a FILE or --demo (one of them)")
    path = _demo_catalogue() if demo else file
    assert path is not None
    with open_kb(db, quiet) as con:
        count = import_practices(
            con,
            path,
            source_name=source_name or ("practices:demo" if demo else None),
            publisher="Territoria (exemples de démonstration)" if demo else publisher,
            licence="CC0-1.0" if demo else licence,
            synthetic=synthetic or demo,
            address=f"territoria/data/{DEMO_CATALOGUE} (package data)" if demo else None,
        )
    _done(
        f"{count} practices imported from {path.name}",
        quiet,
        json_output,
        {"imported": count, "file": str(path), "synthetic": synthetic or demo},
    )


def _done(message: str, quiet: bool, json_output: bool, data: object) -> None:
    if json_output:
        print_json(data)
    elif not quiet:
        console.print(message, highlight=False)


def _entry(**fields: object) -> dict[str, object]:
    return {k: v for k, v in fields.items() if v is not None}


ThemesOption = Annotated[str | None, typer.Option(help="Themes, separated by ';'.")]


@practices.command("add")
def practices_add(
    title: Annotated[str, typer.Option(help="Title of the practice.")],
    code: Annotated[str, typer.Option(help="Code of the territory that runs it.")],
    level: LevelOption = None,
    themes: ThemesOption = None,
    description: Annotated[str, typer.Option()] = "",
    results: Annotated[str, typer.Option()] = "",
    contact: Annotated[str, typer.Option()] = "",
    address: Annotated[str, typer.Option()] = "",
    date: Annotated[str, typer.Option(help="YYYY-MM-DD, YYYY-MM or YYYY.")] = "",
    reference: Annotated[str, typer.Option(help="Who reports it (the source).")] = "",
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Add a practice by hand."""
    from territoria.marketing.practices import PracticeIn, add_practice

    with open_kb(db, quiet) as con:
        entry = build(
            PracticeIn,
            title=title,
            code=code,
            level=level,
            themes=(themes or "").split(";"),
            description=description,
            results=results,
            contact=contact,
            address=address,
            date=date,
            reference=reference,
        )
        p = add_practice(con, entry)
    _done(f"practice {p.id} added ({p.territory})", quiet, json_output, p.model_dump())


@practices.command("edit")
def practices_edit(
    practice_id: Id,
    title: Annotated[str | None, typer.Option()] = None,
    code: Annotated[str | None, typer.Option()] = None,
    level: LevelOption = None,
    themes: ThemesOption = None,
    description: Annotated[str | None, typer.Option()] = None,
    results: Annotated[str | None, typer.Option()] = None,
    date: Annotated[str | None, typer.Option(help="YYYY-MM-DD, YYYY-MM or YYYY.")] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Change fields of a practice (the others are kept)."""
    from territoria.marketing.practices import PracticeIn, get_practice, update_practice

    with open_kb(db, quiet) as con:
        old = get_practice(con, practice_id)
        base = old.model_dump(include=set(PracticeIn.model_fields))
        base["level"] = old.level if code is None else level
        base.update(
            _entry(
                title=title,
                code=code,
                description=description,
                results=results,
                date=date,
                themes=None if themes is None else themes.split(";"),
            )
        )
        p = update_practice(con, practice_id, build(PracticeIn, **base))
    _done(f"practice {p.id} updated", quiet, json_output, p.model_dump())


@practices.command("delete")
def practices_delete(
    practice_id: Id,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Delete a practice (soft: kept in the knowledge base, out of lists and searches)."""
    from territoria.marketing.practices import delete_practice

    with open_kb(db, quiet) as con:
        p = delete_practice(con, practice_id)
    _done(f"practice {p.id} deleted ({p.title})", quiet, json_output, {"deleted": p.id})


@practices.command("show")
def practices_show(
    practice_id: Id,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Show a practice with its territory and source."""
    from territoria.marketing.practices import get_practice

    with open_kb(db, quiet, read_only=True) as con:
        p = get_practice(con, practice_id)
    if json_output:
        print_json(p.model_dump())
        return
    demo = " — exemple de démonstration (synthétique)" if p.source.synthetic else ""
    console.print(f"[bold]{p.title}[/bold]{demo}", highlight=False)
    console.print(
        f"{p.territory} ({p.level} {p.code}) · {', '.join(p.theme_labels)} · "
        f"{p.date or 'sans date'}",
        highlight=False,
    )
    for label, text in (
        ("", p.description),
        ("Résultats : ", p.results),
        ("Contact : ", p.contact),
    ):
        if text:
            console.print(f"{label}{text}", highlight=False)
    console.print(
        f"Source : {p.source.name} ({p.source.dataset}), {p.source.retrieved_at}"
        + (f" — {p.reference}" if p.reference else ""),
        highlight=False,
    )


def _print_search(found: PracticeSearch) -> None:
    table = Table("id", "practice", "territory", "themes", "date")
    for hit in found.hits:
        p = hit.practice
        title = "".join(
            f"[bold]{s['text']}[/bold]" if s["hit"] else s["text"] for s in hit.title_segments
        )
        table.add_row(
            str(p.id), title, f"{p.territory} ({p.code})", ", ".join(p.themes), p.date or ""
        )
    console.print(table)
    console.print(f"{found.total} practice(s)", highlight=False)


ThemeFilter = Annotated[str | None, typer.Option("--theme", help="A theme id or label.")]
LevelFilter = Annotated[str | None, typer.Option("--level", help="Territory level.")]
Limit = Annotated[int, typer.Option(min=1, max=500)]


@practices.command("search")
def practices_search(
    query: Annotated[str, typer.Argument(help="Words (accents, plurals ignored: all must occur).")],
    theme: ThemeFilter = None,
    level: LevelFilter = None,
    limit: Limit = 20,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Search the practices in French (stems: 'mobilites' finds 'mobilité')."""
    from territoria.marketing.practices import search_practices

    with open_kb(db, quiet, read_only=True) as con:
        found = search_practices(con, query, theme=theme, level=level, limit=limit)
    if json_output:
        print_json(found.model_dump())
    else:
        _print_search(found)


@practices.command("list")
def practices_list(
    theme: ThemeFilter = None,
    level: LevelFilter = None,
    limit: Limit = 50,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """List the practices, latest first."""
    practices_search(
        "", theme=theme, level=level, limit=limit, json_output=json_output, db=db, quiet=quiet
    )


@practices.command("themes")
def practices_themes(json_output: JsonOption = False) -> None:
    """The themes a catalogue may use (ids and French labels)."""
    from territoria.marketing._data import themes

    if json_output:
        print_json(themes())
        return
    for key, labels in themes().items():
        console.print(f"{key}\t{labels['fr']}", highlight=False)


@practices.command("learn")
def practices_learn(
    code: Annotated[str, typer.Argument(help="Territory code.")],
    level: LevelOption = None,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Number of peers.")] = 10,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Where the territory lags its peers, who does better, and their practices."""
    from territoria.marketing.learn import learn_from_peers

    with open_kb(db, quiet, read_only=True) as con:
        lesson = learn_from_peers(con, code, level=chosen_level(con, code, level), k=k)
    if json_output:
        print_json(lesson.model_dump())
        return
    console.print(
        f"[bold]{lesson.name}[/bold] and its {len(lesson.peers)} peers: "
        + ", ".join(p.name for p in lesson.peers),
        highlight=False,
    )
    for c in lesson.compared:
        mark = "lags" if c.lagging else "ok"
        console.print(
            f"- {c.label} ({c.period}): {c.value:.2f} {c.unit} vs peers' median "
            f"{c.peers_median:.2f} — rank {c.rank}/{c.among} [{mark}]",
            highlight=False,
        )
        if c.lagging:
            console.print(
                "  better placed: " + ", ".join(b.name for b in c.better_peers[:5]), highlight=False
            )
            for p in c.practices:
                console.print(f"  practice of a peer: {p.title} ({p.territory})", highlight=False)
            for p in c.elsewhere:
                console.print(f"  elsewhere: {p.title} ({p.territory})", highlight=False)


AssetKind = Annotated[
    str,
    typer.Option(
        help="savoir_faire, produit, label, entreprise_phare, "
        "infrastructure, universite, centre_recherche, "
        "evenement."
    ),
]


@assets.command("import")
def assets_import(
    file: Annotated[Path, typer.Argument(help="Catalogue, .csv or .json.")],
    source_name: SourceName = None,
    publisher: Publisher = "non précisé",
    licence: Licence = "non précisée",
    synthetic: Synthetic = False,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import an assets catalogue: columns name, kind, code, level, label, description,
    address, date, source. All or nothing."""
    from territoria.marketing.assets import import_assets

    with open_kb(db, quiet) as con:
        count = import_assets(
            con,
            file,
            source_name=source_name,
            publisher=publisher,
            licence=licence,
            synthetic=synthetic,
        )
    _done(f"{count} assets imported from {file.name}", quiet, json_output, {"imported": count})


@assets.command("add")
def assets_add(
    name: Annotated[str, typer.Option(help="Name of the asset.")],
    kind: AssetKind,
    code: Annotated[str, typer.Option(help="Code of its territory.")],
    level: LevelOption = None,
    label: Annotated[str, typer.Option(help="AOP, IGP, Label Rouge … (kind label).")] = "",
    description: Annotated[str, typer.Option()] = "",
    date: Annotated[str, typer.Option(help="YYYY-MM-DD, YYYY-MM or YYYY.")] = "",
    reference: Annotated[str, typer.Option(help="Who reports it (the source).")] = "",
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Add an asset by hand."""
    from territoria.marketing.assets import AssetIn, add_asset

    with open_kb(db, quiet) as con:
        entry = build(
            AssetIn,
            name=name,
            kind=kind,
            code=code,
            level=level,
            label=label,
            description=description,
            date=date,
            reference=reference,
        )
        a = add_asset(con, entry)
    _done(f"asset {a.id} added ({a.territory})", quiet, json_output, a.model_dump())


@assets.command("list")
def assets_list(
    code: Annotated[str, typer.Argument(help="Territory code.")],
    level: LevelOption = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind (lycee included).")] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """The assets of a territory and of the territories inside it, with its lycées."""
    from territoria.marketing.assets import list_assets

    with open_kb(db, quiet, read_only=True) as con:
        found = list_assets(con, code, chosen_level(con, code, level), kind=kind)
    if json_output:
        print_json([a.model_dump() for a in found])
        return
    table = Table("ref", "kind", "name", "territory", "date", "source")
    for a in found:
        table.add_row(
            a.ref,
            a.kind_label,
            a.name,
            a.territory,
            a.date or "",
            a.source.name + (" (synthétique)" if a.source.synthetic else ""),
        )
    console.print(table)


@assets.command("delete")
def assets_delete(
    asset_id: Id,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Delete a registered asset (soft)."""
    from territoria.marketing.assets import delete_asset

    with open_kb(db, quiet) as con:
        a = delete_asset(con, asset_id)
    _done(f"asset {a.id} deleted ({a.name})", quiet, json_output, {"deleted": a.id})


def strengths_command(
    code: Annotated[str, typer.Argument(help="Territory code.")],
    level: LevelOption = None,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Number of peers.")] = 10,
    poles: Annotated[bool, typer.Option(help="Detect the poles of its région.")] = True,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """The strengths a territory's data shows: growth, ranks among its peers, sector
    specialisations and poles, each with figure, year and source."""
    from territoria.marketing.strengths import strengths

    with open_kb(db, quiet, read_only=True) as con:
        found = strengths(con, code, level=chosen_level(con, code, level), k=k, poles=poles)
    if json_output:
        print_json([s.model_dump() for s in found])
        return
    if not found:
        console.print("no strength found in the data held", highlight=False)
    for s in found:
        console.print(f"- {s.text} ({s.year or 's. d.'} ; source : {s.source})", highlight=False)
