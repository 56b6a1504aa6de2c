"""Crisis management: incidents (CAP 1.2 in and out) and their impact on territories.

:mod:`.incidents` records incidents, :mod:`.cap` reads and writes CAP 1.2 alerts against the
official OASIS schema, :mod:`.impact` computes what an incident touches.
"""

from __future__ import annotations

from territoria.crisis._model import (
    AffectedTerritory,
    Establishment,
    Impact,
    Incident,
    Official,
    Service,
    Shock,
    SourceRef,
)

__all__ = [
    "AffectedTerritory",
    "Establishment",
    "Impact",
    "Incident",
    "Official",
    "Service",
    "Shock",
    "SourceRef",
]
