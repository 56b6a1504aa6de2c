"""What the planner page shows of a plan job: its progress in words, and the finished plan."""

from __future__ import annotations

from typing import Any

from territoria.api._i18n import Translator
from territoria.influence.planner import KIND_LABELS

__all__ = ["FRAGILE_BELOW", "plan_context", "status_labels", "step_labels"]

#: An actor kept by fewer re-plans than this share is labelled a fragile choice.
FRAGILE_BELOW = 0.25

# the steps plan_project reports (territoria.influence.planner), in words
_STEPS = {
    "graph": "chargement du graphe d'influence",
    "optimise": "choix des acteurs",
    "answers": "réponses directe et par relais",
    "explain": "chemins d'influence",
    "robustness": "re-calculs de robustesse",
    "coalition": "coalition de territoires",
    "co-signers": "co-signataires",
    "done": "terminé",
}
_STATUSES = {
    "queued": "En attente",
    "running": "En cours",
    "done": "Terminé",
    "failed": "Échec",
    "cancelled": "Annulé",
}


def step_labels(tr: Translator) -> dict[str, str]:
    """The plan's progress steps in the page's language."""
    return {key: tr.gettext(text) for key, text in _STEPS.items()}


def status_labels(tr: Translator) -> dict[str, str]:
    """A job's statuses in the page's language."""
    return {key: tr.gettext(text) for key, text in _STATUSES.items()}


def plan_context(tr: Translator, job: dict[str, Any] | None) -> dict[str, Any]:
    """The template context of a plan job (``job`` as ``Job.to_dict()``, or None)."""
    return {
        "plan_job": job,
        "step_labels": step_labels(tr),
        "status_labels": status_labels(tr),
        "fragile_below": FRAGILE_BELOW,
        "kind_labels": KIND_LABELS,
    }
