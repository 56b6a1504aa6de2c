"""``territoria dossiers ...``: lobbying dossiers, their stakeholders, calendar, plans, exports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from territoria.cli._common import (
    DbOption,
    QuietOption,
    chosen_level,
    console,
    open_kb,
    print_json,
    step_progress,
)

if TYPE_CHECKING:
    from territoria.influence.dossiers import Dossier

dossiers = typer.Typer(
    help="Dossiers: a lobbying project with its decision and calendar, stakeholders and their "
    "stances, plan versions, actions, next steps, links and notes.",
    no_args_is_help=True,
)
_groups = {
    "stakeholder": "Stakeholders and their stances (a new stance keeps the earlier ones).",
    "step": "Next steps, with who does them and by when.",
    "event": "The decision's calendar: deliberations, deadlines, consultations.",
    "link": "Links (URL and label).",
    "note": "Notes.",
    "partner": "Partner collectivities and poles.",
    "action": "Actions of the log linked to the dossier.",
    "item": "Delete or restore any item of a dossier.",
}
groups = {name: typer.Typer(help=text, no_args_is_help=True) for name, text in _groups.items()}
for _name, _group in groups.items():
    dossiers.add_typer(_group, name=_name)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DossierId = Annotated[int, typer.Argument(min=1, help="Id of the dossier ('dossiers list').")]
DateOption = Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD.")]


def register(app: typer.Typer) -> None:
    """Add ``territoria dossiers`` to the application."""
    app.add_typer(dossiers, name="dossiers")


def _done(message: str, quiet: bool, json_output: bool = False, data: object = None) -> None:
    if json_output:
        print_json(data)
    elif not quiet:
        console.print(message, highlight=False)


@dossiers.command("create")
def create_command(
    title: Annotated[str, typer.Option(help="Title of the project.")],
    theme: Annotated[str, typer.Option(help="Decision-map theme id ('influence themes').")],
    territory: Annotated[str, typer.Option(help="Code of the project's territory.")],
    level: Annotated[str | None, typer.Option(help="Level of the territory code.")] = None,
    objective: Annotated[str, typer.Option(help="What the project wants to obtain.")] = "",
    decision: Annotated[str, typer.Option(help="The public decision sought.")] = "",
    owner: Annotated[str | None, typer.Option(help="Who leads it (default: you).")] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Open a dossier on a project (a theme in a territory)."""
    from territoria.influence.dossiers import create_dossier

    with open_kb(db, quiet) as con:
        dossier_id = create_dossier(
            con,
            title=title,
            theme=theme,
            code=territory,
            level=chosen_level(con, territory, level),
            objective=objective,
            decision=decision,
            owner=owner,
        )
    _done(f"dossier {dossier_id} created", quiet, json_output, {"id": dossier_id})


@dossiers.command("update")
def update_command(
    dossier_id: DossierId,
    title: Annotated[str | None, typer.Option()] = None,
    theme: Annotated[str | None, typer.Option()] = None,
    objective: Annotated[str | None, typer.Option()] = None,
    decision: Annotated[str | None, typer.Option()] = None,
    status: Annotated[
        str | None, typer.Option(help="actif, suspendu, gagne, perdu or clos.")
    ] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Change a dossier's title, theme, objective, decision, status or owner."""
    from territoria.influence.dossiers import update_dossier

    with open_kb(db, quiet) as con:
        d = update_dossier(
            con,
            dossier_id,
            title=title,
            theme=theme,
            objective=objective,
            decision=decision,
            status=status,
            owner=owner,
        )
    _done(f"dossier {d.id} updated ({d.status_label})", quiet, json_output, d.to_dict())


@dossiers.command("list")
def list_command(
    deleted: Annotated[
        bool, typer.Option("--deleted", help="List the deleted dossiers (to restore one).")
    ] = False,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List the dossiers (latest changed first) with their status and next deadline."""
    from territoria.influence.dossiers import list_dossiers

    with open_kb(db) as con:
        items = list_dossiers(con, deleted=deleted)
    if json_output:
        print_json([d.to_dict() for d in items])
        return
    table = Table(title="Dossiers supprimés" if deleted else "Dossiers")
    for col in ("n°", "titre", "thème", "territoire", "état", "responsable", "prochaine échéance"):
        table.add_column(col)
    for d in items:
        deadline = f"{d.next_deadline} {d.next_deadline_label}" if d.next_deadline else "–"
        row = [str(d.id), d.title, d.theme_label, d.territory, d.status_label, d.owner, deadline]
        table.add_row(*row)
    console.print(table)


def _print_dossier(d: Dossier) -> None:
    state = f" — supprimé par {d.deleted_by}" if d.deleted_at else ""
    console.print(f"[bold]Dossier n° {d.id} : {d.title}[/]{state}", highlight=False)
    console.print(
        f"{d.theme_label} · {d.territory} · {d.status_label} · responsable : {d.owner} · "
        f"ouvert le {d.created_at:%d/%m/%Y} par {d.created_by}",
        highlight=False,
    )
    if d.objective:
        console.print(f"Objectif : {d.objective}", highlight=False)
    if d.decision:
        console.print(f"Décision visée : {d.decision}", highlight=False)
    if d.partners:
        names = ", ".join(p.label or p.code for p in d.partners)
        console.print(f"Partenaires : {names}", highlight=False)
    if d.stakeholders:
        table = Table(title="Parties prenantes")
        for col in ("acteur", "fonction", "position", "importance", "source", "date"):
            table.add_column(col)
        for s in d.stakeholders:
            st = s.stance
            day = f"{st.date:%d/%m/%Y}" if st.date else "–"
            salience = f"{st.salience:.0%}"
            table.add_row(s.name, s.title, st.position_label, salience, st.source or "–", day)
        console.print(table)
    timeline = d.timeline()
    table = Table(title="Chronologie")
    for col in ("date", "nature", "intitulé", "détail"):
        table.add_column(col)
    for t in timeline:
        table.add_row(f"{t.date:%d/%m/%Y}", t.kind_label, t.label, t.detail)
    console.print(table if timeline else "Chronologie : rien encore.")
    for p in d.plans:
        seeds = ", ".join(s["name"] for s in p.seeds) or "–"
        estimate = f", estimation {p.estimate:.2f}" if p.estimate is not None else ""
        console.print(f"Plan n° {p.id} ({p.status_label}{estimate}) : {seeds}", highlight=False)
    for link in d.links:
        console.print(f"Lien : {link.label} — {link.url}", highlight=False)


@dossiers.command("show")
def show_command(
    dossier_id: DossierId, json_output: JsonOption = False, db: DbOption = None
) -> None:
    """Show a dossier: its header, stakeholders and their stances, and its timeline."""
    from territoria.influence.dossiers import get_dossier

    with open_kb(db) as con:
        d = get_dossier(con, dossier_id)
    if json_output:
        print_json(d.to_dict())
        return
    _print_dossier(d)


@dossiers.command("export")
def export_command(
    dossier_id: DossierId,
    out: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="pdf or csv.")] = "pdf",
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Export a dossier as a PDF report or as CSV (one row per item)."""
    from territoria.influence.dossiers import get_dossier
    from territoria.reports.dossier import export_dossier

    with open_kb(db, quiet) as con:
        data = export_dossier(get_dossier(con, dossier_id), fmt)
        out.write_bytes(data)
    written = {"dossier": dossier_id, "format": fmt, "path": str(out), "bytes": len(data)}
    _done(
        f"dossier {dossier_id} written to {out} ({len(data):,} bytes)", quiet, json_output, written
    )


@dossiers.command("plan")
def plan_command(
    dossier_id: DossierId,
    k: Annotated[int | None, typer.Option("--k", min=1, help="Actors to engage (10).")] = None,
    budget: Annotated[float | None, typer.Option(help="Budget (cost 1 per actor).")] = None,
    epsilon: Annotated[float, typer.Option(help="Approximation slack ε.")] = 0.1,
    seed: Annotated[int | None, typer.Option(help="Random seed (reproducible).")] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Compute a new version of the dossier's plan with its stakeholders' current stances."""
    from territoria.influence.dossiers import run_plan

    with open_kb(db, quiet) as con, step_progress(quiet or json_output) as progress:
        version = run_plan(
            con,
            dossier_id,
            k=k,
            budget=budget,
            epsilon=epsilon,
            seed=seed,
            progress=lambda step, *_: progress(str(step)),
        )
    seeds = ", ".join(s["name"] for s in version.seeds) or "–"
    estimate = f"{version.estimate:.2f}" if version.estimate is not None else "–"
    message = f"plan n° {version.id} of dossier {dossier_id}: {seeds} (estimate {estimate})"
    _done(message, quiet, json_output, version.to_dict())


@dossiers.command("delete")
def delete_command(
    dossier_id: DossierId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Delete a dossier (softly: 'territoria dossiers restore ID' brings it back)."""
    from territoria.influence.dossiers import delete_dossier, get_dossier
    from territoria.kb.audit import current_actor

    with open_kb(db, quiet) as con:
        d = get_dossier(con, dossier_id)
        if not yes and not typer.confirm(f"Delete dossier {d.id} ({d.title!r})?", default=False):
            console.print("nothing deleted")
            raise typer.Exit(code=1)
        # whoever can open the knowledge base file administers it
        deleted = delete_dossier(con, dossier_id, user=current_actor(), admin=True)
    message = f"dossier {dossier_id} deleted: 'territoria dossiers restore {dossier_id}'"
    _done(message, quiet, json_output, deleted.to_dict())


@dossiers.command("restore")
def restore_command(
    dossier_id: DossierId,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Restore a deleted dossier ('territoria dossiers list --deleted')."""
    from territoria.influence.dossiers import restore_dossier
    from territoria.kb.audit import current_actor

    with open_kb(db, quiet) as con:
        d = restore_dossier(con, dossier_id, user=current_actor(), admin=True)
    _done(f"dossier {d.id} restored ({d.title})", quiet, json_output, d.to_dict())


# ---------------------------------------------------------------------------- items


def _added(kind: str, item_id: int, dossier_id: int, quiet: bool, json_output: bool) -> None:
    data = {"dossier": dossier_id, "kind": kind, "id": item_id}
    _done(f"{kind} {item_id} added to dossier {dossier_id}", quiet, json_output, data)


@groups["stakeholder"].command("add")
def stakeholder_add(
    dossier_id: DossierId,
    actor: Annotated[
        str, typer.Option(help="A person's id or name ('Nathalie Appéré'), a council ('cr-53').")
    ],
    position: Annotated[str, typer.Option(help="soutien, oppose, indecis or inconnu.")],
    salience: Annotated[float, typer.Option(help="How much it matters to them, 0 to 1.")] = 1.0,
    source: Annotated[str, typer.Option(help="Where the stance is known from.")] = "",
    when: DateOption = None,
    camp: Annotated[str | None, typer.Option(help="majorite or opposition.")] = None,
    notes: Annotated[str, typer.Option()] = "",
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Record a stakeholder's stance (the earlier ones stay as its history)."""
    from territoria.influence.dossiers import add_stance
    from territoria.kb.people import actor_id

    with open_kb(db, quiet) as con:
        item = add_stance(
            con,
            dossier_id,
            actor=actor_id(con, actor),
            position=position,
            salience=salience,
            source=source,
            when=when,
            camp=camp,
            notes=notes,
        )
    _added("stakeholder", item, dossier_id, quiet, json_output)


@groups["step"].command("add")
def step_add(
    dossier_id: DossierId,
    label: Annotated[str, typer.Option(help="What is to be done.")],
    owner: Annotated[str, typer.Option(help="Who does it.")] = "",
    due: Annotated[str | None, typer.Option(help="Due date YYYY-MM-DD.")] = None,
    status: Annotated[str, typer.Option(help="a_faire, en_cours, fait, abandonne.")] = "a_faire",
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Add a next step."""
    from territoria.influence.dossiers import add_step

    with open_kb(db, quiet) as con:
        item = add_step(con, dossier_id, label=label, owner=owner, due=due, status=status)
    _added("step", item, dossier_id, quiet, json_output)


@groups["event"].command("add")
def event_add(
    dossier_id: DossierId,
    when: Annotated[str, typer.Option("--date", help="YYYY-MM-DD.")],
    label: Annotated[str, typer.Option(help="'Conseil métropolitain', 'Fin de la consultation'.")],
    kind: Annotated[
        str, typer.Option(help="deliberation, echeance, consultation, reunion, autre.")
    ] = "deliberation",
    status: Annotated[str, typer.Option(help="prevu, fait, reporte, annule.")] = "prevu",
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Add a date to the decision's calendar."""
    from territoria.influence.dossiers import add_event

    with open_kb(db, quiet) as con:
        item = add_event(con, dossier_id, when=when, label=label, kind=kind, status=status)
    _added("event", item, dossier_id, quiet, json_output)


@groups["link"].command("add")
def link_add(
    dossier_id: DossierId,
    url: Annotated[str, typer.Option(help="https://…")],
    label: Annotated[str, typer.Option()] = "",
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Add a link."""
    from territoria.influence.dossiers import add_link

    with open_kb(db, quiet) as con:
        item = add_link(con, dossier_id, url=url, label=label)
    _added("link", item, dossier_id, quiet, json_output)


@groups["note"].command("add")
def note_add(
    dossier_id: DossierId,
    text: Annotated[str, typer.Option(help="The note.")],
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Add a note."""
    from territoria.influence.dossiers import add_note

    with open_kb(db, quiet) as con:
        item = add_note(con, dossier_id, text=text)
    _added("note", item, dossier_id, quiet, json_output)


@groups["partner"].command("add")
def partner_add(
    dossier_id: DossierId,
    territory: Annotated[str | None, typer.Option(help="A partner collectivity's code.")] = None,
    level: Annotated[str | None, typer.Option(help="Level of the territory code.")] = None,
    pole: Annotated[str | None, typer.Option(help="A pole id ('poles detect').")] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Add a partner collectivity (--territory) or pole (--pole)."""
    from territoria.errors import InvalidDossier
    from territoria.influence.dossiers import add_partner

    with open_kb(db, quiet) as con:
        if (territory is None) == (pole is None):
            raise InvalidDossier("give --territory CODE or --pole ID (one of them)")
        if pole is not None:
            item = add_partner(con, dossier_id, code=pole, pole=True)
        else:
            assert territory is not None
            chosen = chosen_level(con, territory, level)
            item = add_partner(con, dossier_id, code=territory, level=chosen)
    _added("partner", item, dossier_id, quiet, json_output)


@groups["action"].command("link")
def action_link(
    dossier_id: DossierId,
    action_id: Annotated[int, typer.Argument(min=1, help="Id of the action ('actions list').")],
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Link an action of the log to the dossier."""
    from territoria.influence.dossiers import link_action

    with open_kb(db, quiet) as con:
        item = link_action(con, dossier_id, action_id)
    _added("action", item, dossier_id, quiet, json_output)


ItemKind = Annotated[
    str, typer.Argument(help="partner, stakeholder, event, step, link, note, action or plan.")
]
ItemId = Annotated[int, typer.Argument(min=1, help="Id of the item ('dossiers show ID --json').")]


@groups["item"].command("delete")
def item_delete(
    dossier_id: DossierId,
    kind: ItemKind,
    item_id: ItemId,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Delete an item (softly; a stakeholder's deleted stance brings back the one before)."""
    from territoria.influence.dossiers import delete_item
    from territoria.kb.audit import current_actor

    with open_kb(db, quiet) as con:
        delete_item(con, dossier_id, kind, item_id, user=current_actor(), admin=True)
    data = {"dossier": dossier_id, "kind": kind, "id": item_id, "deleted": True}
    _done(f"{kind} {item_id} of dossier {dossier_id} deleted", quiet, json_output, data)


@groups["item"].command("restore")
def item_restore(
    dossier_id: DossierId,
    kind: ItemKind,
    item_id: ItemId,
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Restore a deleted item."""
    from territoria.influence.dossiers import restore_item
    from territoria.kb.audit import current_actor

    with open_kb(db, quiet) as con:
        restore_item(con, dossier_id, kind, item_id, user=current_actor(), admin=True)
    data = {"dossier": dossier_id, "kind": kind, "id": item_id, "deleted": False}
    _done(f"{kind} {item_id} of dossier {dossier_id} restored", quiet, json_output, data)


@groups["item"].command("status")
def item_status(
    dossier_id: DossierId,
    kind: Annotated[str, typer.Argument(help="step or event.")],
    item_id: ItemId,
    status: Annotated[str, typer.Argument(help="fait, en_cours … (a step); reporte … (event)")],
    json_output: JsonOption = False,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Change the status of a step or an event."""
    from territoria.influence.dossiers import set_item_status

    with open_kb(db, quiet) as con:
        set_item_status(con, dossier_id, kind, item_id, status)
    data = {"dossier": dossier_id, "kind": kind, "id": item_id, "status": status}
    _done(f"{kind} {item_id} of dossier {dossier_id}: {status}", quiet, json_output, data)
