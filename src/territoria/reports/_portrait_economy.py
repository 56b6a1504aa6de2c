"""The marketing parts of a portrait: strengths, assets and poles.

Strengths come from :func:`territoria.marketing.strengths.strengths` (growth, ranks among
peers, specialisations; its pole strengths are left to the portrait's own table of poles),
assets from the registry (:func:`territoria.marketing.assets.list_assets`, lycées apart: the
portrait lists them in their own section), poles from
:func:`territoria.analysis.poles.detect_poles` over the territory's région. A function that
raises makes the portrait fail: nothing is silently dropped.
"""

from __future__ import annotations

import duckdb

from territoria.analysis.poles import detect_poles
from territoria.analysis.specialisation import has_establishments
from territoria.marketing.assets import list_assets
from territoria.marketing.strengths import strengths
from territoria.reports._portrait_model import PortraitAsset, PortraitPole, PortraitStrength

__all__ = ["POLE_LABELS", "assets_of", "poles_of", "strengths_of"]

#: Pole labels in French (the detection's European Cluster Observatory star ratings).
POLE_LABELS = {
    "3-star": "3 étoiles",
    "2-star": "2 étoiles",
    "1-star": "1 étoile",
    "0-star": "aucune étoile",
}


def strengths_of(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[PortraitStrength]:
    """The territory's strengths derived from the data, poles apart."""
    return [
        PortraitStrength(s.kind, s.text, s.figure, s.year, s.source, s.synthetic)
        for s in strengths(con, code, level=level, poles=False)
    ]


def assets_of(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[PortraitAsset]:
    """The registry's assets of the territory and of those inside it (lycées apart)."""
    return [
        PortraitAsset(
            kind=a.kind_label,
            name=a.name,
            detail=" · ".join(x for x in (a.label, a.territory, a.description) if x),
            source=f"{a.source.name}{' (données synthétiques)' if a.source.synthetic else ''}",
        )
        for a in list_assets(con, code, level, lycees=False)
    ]


def poles_of(
    con: duckdb.DuckDBPyConnection, region: str | None, communes: set[str]
) -> list[PortraitPole] | None:
    """The poles of the territory's région reaching into its communes (None without SIRENE)."""
    if region is None or not has_establishments(con):
        return None
    return [
        PortraitPole(
            name=str(p["name"]),
            label=POLE_LABELS[str(p["label"])],
            establishments=int(p["establishments"]),
            employment=float(p["employment"]),
            lq=float(p["lq"]),
            emerging=bool(p["emerging"]),
            synthetic=bool(p["synthetic"]),
        )
        for p in detect_poles(con, region=region)
        if communes.intersection(p["communes"])
    ]
