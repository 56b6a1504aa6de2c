"""Analyses of territories: profiles, specialisation, related sectors and poles.

The economic analyses (specialisation, relatedness, poles) are imported when first used:
they need SciPy, NetworkX and Shapely, which the rest of Territoria does not load at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from territoria.analysis.profile import profile, render_profile, resolve_territory

if TYPE_CHECKING:
    from territoria.analysis.poles import (
        detect_poles,
        find_pole,
        pole_feature,
        pole_scopes,
        poles_geojson,
    )
    from territoria.analysis.relatedness import (
        Relatedness,
        colocation_relatedness,
        import_sector_groups,
        import_sector_links,
        load_sector_groups,
        relatedness_graph,
        sector_groups,
        sector_schemes,
    )
    from territoria.analysis.specialisation import (
        SectorMatrix,
        classify_sectors,
        economy_sources,
        gini_specialisation,
        has_establishments,
        herfindahl,
        krugman,
        location_quotients,
        sector_concentration,
        sector_matrix,
        shift_share,
        snapshot_date,
        specialisation_profile,
    )

_LAZY = {
    **dict.fromkeys(
        (
            "SectorMatrix",
            "classify_sectors",
            "economy_sources",
            "gini_specialisation",
            "has_establishments",
            "herfindahl",
            "krugman",
            "location_quotients",
            "sector_concentration",
            "sector_matrix",
            "shift_share",
            "snapshot_date",
            "specialisation_profile",
        ),
        "territoria.analysis.specialisation",
    ),
    **dict.fromkeys(
        (
            "Relatedness",
            "colocation_relatedness",
            "import_sector_groups",
            "import_sector_links",
            "load_sector_groups",
            "relatedness_graph",
            "sector_groups",
            "sector_schemes",
        ),
        "territoria.analysis.relatedness",
    ),
    **dict.fromkeys(
        ("detect_poles", "find_pole", "pole_feature", "pole_scopes", "poles_geojson"),
        "territoria.analysis.poles",
    ),
}

__all__ = [
    "Relatedness",
    "SectorMatrix",
    "classify_sectors",
    "colocation_relatedness",
    "detect_poles",
    "economy_sources",
    "find_pole",
    "gini_specialisation",
    "has_establishments",
    "herfindahl",
    "import_sector_groups",
    "import_sector_links",
    "krugman",
    "load_sector_groups",
    "location_quotients",
    "pole_feature",
    "pole_scopes",
    "poles_geojson",
    "profile",
    "relatedness_graph",
    "render_profile",
    "resolve_territory",
    "sector_concentration",
    "sector_groups",
    "sector_matrix",
    "sector_schemes",
    "shift_share",
    "snapshot_date",
    "specialisation_profile",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
