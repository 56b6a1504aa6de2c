"""The decision map's law: themes, sub-themes and the rules naming their competent bodies.

Read from ``competences.toml`` (its header documents every field). A :class:`Theme` is either
a theme (``subthemes`` set) or a sub-theme (``parent`` set); both have an id, labels, a legal
summary ``law`` and ``bodies`` (``(body key, weight)`` pairs, for listings). The rules of a
sub-theme are :class:`BodyRule` objects; :meth:`BodyRule.in_force` dates them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from territoria.errors import UnknownTheme

__all__ = [
    "LOCAL_BODIES",
    "PARLIAMENT_BODIES",
    "STATE_BODIES",
    "BodyRule",
    "Theme",
    "defaults",
    "get_theme",
    "themes",
]

#: Body keys resolved to councils of collectivities (through body_territory).
LOCAL_BODIES = ("commune", "epci", "departement", "region")
#: French names of the body keys, as the lists of competent bodies show them.
BODY_LABELS = {
    "commune": "conseil municipal",
    "epci": "conseil communautaire",
    "departement": "conseil départemental",
    "region": "conseil régional",
    "deputies": "députés",
    "senators": "sénateurs",
    "meps": "députés européens",
    "prefecture": "préfet de département",
    "prefecture_region": "préfet de région",
    "prefecture_police": "préfet de police",
    "rectorat": "recteur",
    "ars": "agence régionale de santé",
    "agence_eau": "agence de l'eau",
    "dreal": "DREAL",
    "ademe": "ADEME",
    "bpifrance": "Bpifrance",
    "anct": "ANCT",
    "sncf_reseau": "SNCF Réseau",
    "idfm": "Île-de-France Mobilités",
    "commission_europeenne": "Commission européenne",
}
#: Body keys resolved to parliamentarians.
PARLIAMENT_BODIES = ("deputies", "senators", "meps")
#: State services and agencies (organisations ``etat-…`` and ``ue-commission``).
STATE_BODIES = (
    "prefecture",
    "prefecture_region",
    "prefecture_police",
    "rectorat",
    "ars",
    "agence_eau",
    "dreal",
    "ademe",
    "bpifrance",
    "anct",
    "sncf_reseau",
    "idfm",
    "commission_europeenne",
)
EPCI_KINDS = ("ME", "CU", "CA", "CC", "MGP", "NONE")


# eq=False: rules are loaded once and compared by identity, which hashes fast (a regional
# map counts weights by rule for tens of thousands of targets)
@dataclass(frozen=True, eq=False)
class BodyRule:
    """One competent body of a sub-theme, with its conditions and legal basis."""

    body: str
    weight: float
    basis: str
    law: str
    epci_kinds: tuple[str, ...] = ()
    min_population: int | None = None
    regions: tuple[str, ...] = ()
    not_regions: tuple[str, ...] = ()
    departements: tuple[str, ...] = ()
    not_departements: tuple[str, ...] = ()
    in_force_from: date | None = None
    in_force_until: date | None = None
    note: str = ""

    def in_force(self, on: date) -> bool:
        """Whether the rule applies on ``on`` (from inclusive, until exclusive)."""
        if self.in_force_from is not None and on < self.in_force_from:
            return False
        return self.in_force_until is None or on < self.in_force_until

    @property
    def legal_basis(self) -> str:
        """The article and the law, as one line."""
        return f"{self.basis} ({self.law})" if self.law else self.basis

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (dates as ISO strings, empty conditions left out)."""
        out: dict[str, Any] = {
            "body": self.body,
            "weight": self.weight,
            "basis": self.basis,
            "law": self.law,
            "in_force_from": self.in_force_from.isoformat() if self.in_force_from else None,
            "in_force_until": self.in_force_until.isoformat() if self.in_force_until else None,
        }
        for key in ("epci_kinds", "regions", "not_regions", "departements", "not_departements"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.min_population is not None:
            out["min_population"] = self.min_population
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Theme:
    """A theme (grouping sub-themes) or a sub-theme of the decision map.

    ``bodies`` lists ``(body key, weight)``: a sub-theme's rules in force today, a theme's
    summed over its sub-themes (each body key once).
    """

    id: str
    label_fr: str
    label_en: str
    law: str
    bodies: tuple[tuple[str, float], ...]
    parent: str = ""
    rules: tuple[BodyRule, ...] = ()
    subthemes: tuple[Theme, ...] = field(default=())
    #: who may be the project's beneficiary (``levels``, ``max_population``, ``basis``,
    #: ``instead``): a DETR for a commune of more than 20,000 inhabitants is refused
    eligibility: dict[str, Any] | None = None

    @property
    def is_subtheme(self) -> bool:
        """Whether this is a sub-theme (it has rules, no sub-themes)."""
        return bool(self.parent)

    def leaves(self) -> tuple[Theme, ...]:
        """The sub-themes a project of this theme covers (itself for a sub-theme)."""
        return self.subthemes if self.subthemes else (self,)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: bodies as ``{"level", "weight"}``, sub-themes with their rules."""
        out: dict[str, Any] = {
            "id": self.id,
            "label_fr": self.label_fr,
            "label_en": self.label_en,
            "law": self.law,
            "bodies": [{"level": level, "weight": weight} for level, weight in self.bodies],
        }
        if self.is_subtheme:
            out["theme"] = self.parent
            out["rules"] = [r.to_dict() for r in self.rules]
        else:
            out["subthemes"] = [s.to_dict() for s in self.subthemes]
        return out


def _date(value: Any, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _rule(raw: dict[str, Any], where: str) -> BodyRule:
    body = str(raw["body"])
    if body not in (*LOCAL_BODIES, *PARLIAMENT_BODIES, *STATE_BODIES):
        msg = f"{where}: unknown body {body!r} in competences.toml"
        raise ValueError(msg)
    kinds = tuple(str(k) for k in raw.get("epci_kinds", ()))
    if set(kinds) - set(EPCI_KINDS):
        msg = f"{where}: unknown EPCI kind in {kinds!r}; use {EPCI_KINDS!r}"
        raise ValueError(msg)
    return BodyRule(
        body=body,
        weight=float(raw["weight"]),
        basis=str(raw["basis"]),
        law=str(raw.get("law", "")),
        epci_kinds=kinds,
        min_population=int(raw["min_population"]) if "min_population" in raw else None,
        regions=tuple(str(r) for r in raw.get("regions", ())),
        not_regions=tuple(str(r) for r in raw.get("not_regions", ())),
        departements=tuple(str(d) for d in raw.get("departements", ())),
        not_departements=tuple(str(d) for d in raw.get("not_departements", ())),
        in_force_from=_date(raw.get("in_force_from"), where),
        in_force_until=_date(raw.get("in_force_until"), where),
        note=str(raw.get("note", "")),
    )


def _summary(rules: tuple[BodyRule, ...], on: date) -> tuple[tuple[str, float], ...]:
    """``(body key, weight)`` of the rules in force: each key once, its largest weight."""
    best: dict[str, float] = {}
    for r in rules:
        if r.in_force(on):
            best[r.body] = max(best.get(r.body, 0.0), r.weight)
    return tuple(sorted(best.items(), key=lambda kv: (-kv[1], kv[0])))


@cache
def _load() -> tuple[tuple[Theme, ...], dict[str, float]]:
    text = (resources.files("territoria.influence") / "competences.toml").read_text("utf-8")
    data = tomllib.loads(text)
    today = date.today()
    by_theme: dict[str, list[Theme]] = {key: [] for key in data["themes"]}
    for key, value in data["subthemes"].items():
        parent = str(value["theme"])
        if parent not in by_theme:
            msg = f"sub-theme {key!r} names an unknown theme {parent!r} in competences.toml"
            raise ValueError(msg)
        rules = tuple(_rule(b, f"sub-theme {key!r}") for b in value["bodies"])
        # the sub-theme's law: that of its competent bodies (the heaviest rules in force)
        top = max((r.weight for r in rules if r.in_force(today)), default=0.0)
        laws = dict.fromkeys(r.legal_basis for r in rules if r.in_force(today) and r.weight == top)
        by_theme[parent].append(
            Theme(
                id=key,
                label_fr=str(value["label_fr"]),
                label_en=str(value["label_en"]),
                law="; ".join(laws),
                bodies=_summary(rules, today),
                parent=parent,
                rules=rules,
                eligibility=dict(value["eligibility"]) if "eligibility" in value else None,
            )
        )
    out = []
    for key, value in data["themes"].items():
        subs = tuple(by_theme[key])
        summed: dict[str, float] = {}
        for sub in subs:
            for body, weight in sub.bodies:
                summed[body] = summed.get(body, 0.0) + weight
        out.append(
            Theme(
                id=key,
                label_fr=str(value["label_fr"]),
                label_en=str(value["label_en"]),
                law=str(value["law"]),
                bodies=tuple(sorted(summed.items(), key=lambda kv: (-kv[1], kv[0]))),
                subthemes=subs,
            )
        )
    return tuple(out), {k: float(v) for k, v in data.get("defaults", {}).items()}


def themes() -> list[Theme]:
    """Every theme of the decision map (stable ids), each with its sub-themes."""
    return list(_load()[0])


def defaults() -> dict[str, float]:
    """The shares inside a body: ``executive``, ``deputies``, ``delegated``, ``council``."""
    return dict(_load()[1])


def get_theme(theme_id: str) -> Theme:
    """The theme or sub-theme ``theme_id``; raises :class:`UnknownTheme` with the known ids."""
    for theme in _load()[0]:
        if theme.id == theme_id:
            return theme
        for sub in theme.subthemes:
            if sub.id == theme_id:
                return sub
    known = ", ".join(t.id for t in _load()[0])
    msg = (
        f"unknown theme {theme_id!r}: choose a theme ({known}) or one of its sub-themes "
        "('territoria influence themes')"
    )
    raise UnknownTheme(msg)
