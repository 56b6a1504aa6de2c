"""The marketing parts of a portrait: strengths, assets and poles.

Assets come from the registry (:func:`territoria.marketing.assets.list_assets`). Strengths come
from ``territoria.marketing.strengths`` once that module exists; until then they are derived
here from what the knowledge base holds (population growth against France, specialised sectors
of SIRENE). A function that exists and raises makes the portrait fail: nothing is silently
dropped.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import duckdb

from territoria import _formats
from territoria.analysis.poles import detect_poles
from territoria.analysis.specialisation import has_establishments, specialisation_profile
from territoria.marketing.assets import list_assets
from territoria.reports._portrait_model import PortraitAsset, PortraitPole, PortraitStrength

__all__ = ["assets_of", "poles_of", "strengths_of"]

#: Shortest specialised sector's employment to call it a strength (small numbers mislead).
MIN_EMPLOYMENT = 100.0
#: Smallest location quotient of a specialisation strength.
MIN_LQ = 1.5
#: Pole labels in French (the detection's keys).
POLE_LABELS = {"strong": "fort", "significant": "significatif", "minor": "mineur"}

_POPULATION_SQL = """
WITH own AS (
    SELECT period, value FROM indicator_value
    WHERE indicator = 'population' AND level = $level AND code = $code
), france AS (
    SELECT period, sum(value) AS value FROM indicator_value
    WHERE indicator = 'population' AND level = 'region' GROUP BY period
)
SELECT own.period, own.value, france.value FROM own JOIN france USING (period)
ORDER BY own.period
"""


def _fr(value: float | None, digits: int) -> str:
    return _formats.number(value, "fr_FR", digits)


def _marketing(module: str) -> Any | None:
    """The module ``territoria.marketing.<module>``, or None when it is not installed."""
    name = f"territoria.marketing.{module}"
    if importlib.util.find_spec("territoria.marketing") is None:
        return None
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


def _growth(con: duckdb.DuckDBPyConnection, level: str, code: str) -> list[PortraitStrength]:
    rows = con.execute(_POPULATION_SQL, {"level": level, "code": code}).fetchall()
    if len(rows) < 2:
        return []
    (first, own0, fr0), (last, own1, fr1) = rows[0], rows[-1]
    own, france = own1 / own0 - 1.0, fr1 / fr0 - 1.0
    if own <= max(france, 0.0):
        return []
    sign = "+" if france >= 0 else "−"
    text = (
        f"Population en hausse de {_fr(100 * own, 1)} % entre {first} et {last}, "
        f"plus vite que la France ({sign}{_fr(abs(100 * france), 1)} %)"
    )
    source = "populations légales (INSEE, decoupage-administratif)"
    return [PortraitStrength("croissance", text, round(100 * own, 2), str(last), source)]


def _specialisations(
    con: duckdb.DuckDBPyConnection, level: str, code: str
) -> list[PortraitStrength]:
    economy = specialisation_profile(con, code, level=level)
    if not economy.specialised:
        return []
    source = ", ".join(sorted({f"{s.name} {s.version or ''}".strip() for s in economy.sources}))
    found = []
    for sector in economy.specialised:
        if (sector.lq or 0.0) < MIN_LQ or sector.value < MIN_EMPLOYMENT:
            continue
        text = (
            f"Spécialisation : {sector.label or sector.sector} (indice de spécialisation "
            f"{_fr(sector.lq, 1)}, {_fr(sector.value, 0)} emplois)"
        )
        found.append(
            PortraitStrength(
                "spécialisation", text, sector.lq, economy.snapshot, source, economy.synthetic
            )
        )
    return found[:3]


def strengths_of(
    con: duckdb.DuckDBPyConnection, level: str, code: str
) -> tuple[list[PortraitStrength], str]:
    """The territory's strengths and where they come from (the marketing module or here)."""
    module = _marketing("strengths")
    if module is not None:
        found = module.strengths(con, code, level=level)
        return [
            PortraitStrength(
                str(s.kind), str(s.text), s.figure, None if s.year is None else str(s.year),
                str(s.source), bool(getattr(s, "synthetic", False)),
            )
            for s in found
        ], "marketing"  # fmt: skip
    found = _growth(con, level, code)
    if has_establishments(con):
        found += _specialisations(con, level, code)
    return found, "portrait"


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
            label=POLE_LABELS.get(str(p["label"]), str(p["label"])),
            establishments=int(p["establishments"]),
            employment=float(p["employment"]),
            lq=float(p["lq"]),
            emerging=bool(p["emerging"]),
            synthetic=bool(p["synthetic"]),
        )
        for p in detect_poles(con, region=region)
        if communes.intersection(p["communes"])
    ]
