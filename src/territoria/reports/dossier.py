"""A dossier as a report: PDF (an HTML report printed by WeasyPrint) or CSV.

The CSV has one row per item (dossier, partner, stakeholder, event, step, action, plan
version, link, note) with the same columns, its cells neutralised against formula injection.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from territoria import _csv_safe
from territoria.errors import InvalidDossier
from territoria.influence._dossier_model import Dossier
from territoria.reports import render_html, render_pdf

__all__ = ["EXPORT_FORMATS", "dossier_csv", "dossier_html", "dossier_pdf", "export_dossier"]

#: Export formats and their media type.
EXPORT_FORMATS = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}

CSV_COLUMNS = (
    "rubrique", "date", "intitule", "detail", "position", "importance", "source", "etat", "par",
)  # fmt: skip


def dossier_html(dossier: Dossier, *, generated: dt.date | None = None) -> str:
    """The dossier's report as a self-contained HTML page (what the PDF prints)."""
    context = {
        "d": dossier,
        "timeline": dossier.timeline(),
        "generated": generated or dt.date.today(),
    }
    return render_html("dossier_report.html", context)


def dossier_pdf(dossier: Dossier, *, generated: dt.date | None = None) -> bytes:
    """The dossier's report as PDF.

    Raises
    ------
    ReportUnavailable
        WeasyPrint or pango is missing.
    """
    return render_pdf(dossier_html(dossier, generated=generated))


def _rows(d: Dossier) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [
        ("dossier", d.created_at.date(), d.title, f"{d.theme_label} · {d.territory}", "", "", "",
         d.status_label, d.created_by),
        ("objectif", "", d.objective, "", "", "", "", "", ""),
        ("décision", "", d.decision, "", "", "", "", "", ""),
    ]  # fmt: skip
    rows += [
        ("partenaire", "", p.label or p.code, "pôle" if p.kind == "pole" else "collectivité",
         "", "", "", "", p.created_by)
        for p in d.partners
    ]  # fmt: skip
    rows += [
        ("partie prenante", s.stance.date or "", s.name, s.title, s.stance.position_label,
         round(s.stance.salience, 2), s.stance.source, s.stance.camp_label or "",
         s.stance.created_by)
        for s in d.stakeholders
    ]  # fmt: skip
    rows += [
        ("calendrier", e.date, e.label, e.kind_label, "", "", "", e.status_label, e.created_by)
        for e in d.events
    ]
    rows += [
        ("étape", s.due_date or "", s.label, s.owner, "", "", "", s.status_label, s.created_by)
        for s in d.steps
    ]
    rows += [
        ("action", a.date, a.subject, ", ".join(a.actor_names), "", "", "", a.outcome_label,
         a.created_by)
        for a in d.actions
    ]  # fmt: skip
    rows += [
        ("plan", (p.finished_at or p.created_at).date(), f"version n° {p.id}",
         ", ".join(s["name"] for s in p.seeds),
         "", "" if p.estimate is None else round(p.estimate, 3), "", p.status_label, p.created_by)
        for p in d.plans
    ]  # fmt: skip
    rows += [("lien", "", k.label, k.url, "", "", "", "", k.created_by) for k in d.links]
    rows += [
        ("note", n.created_at.date(), n.text, "", "", "", "", "", n.created_by) for n in d.notes
    ]
    return rows


def dossier_csv(dossier: Dossier) -> str:
    """The dossier as CSV (UTF-8 text, one row per item; formula-injection safe)."""
    out = io.StringIO()
    writer = _csv_safe.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in _rows(dossier):
        writer.writerow([v.isoformat() if isinstance(v, dt.date) else v for v in row])
    return out.getvalue()


def export_dossier(dossier: Dossier, fmt: str) -> bytes:
    """The dossier in ``fmt`` (``pdf`` or ``csv``) as bytes.

    Raises
    ------
    InvalidDossier
        An unknown format.
    ReportUnavailable
        PDF without WeasyPrint or pango.
    """
    if fmt == "pdf":
        return dossier_pdf(dossier)
    if fmt == "csv":
        return dossier_csv(dossier).encode("utf-8")
    msg = f"unknown export format {fmt!r}: use {' or '.join(EXPORT_FORMATS)}"
    raise InvalidDossier(msg)
