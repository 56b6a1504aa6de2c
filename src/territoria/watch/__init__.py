"""Watch (veille): sources, fetching, extraction, de-duplication, entity linking to the
knowledge base, topics and search, signals, alerts and digests.

Every item is linked to the territories, people, organisations and poles of the knowledge base
it speaks of, so that it can land in a dossier and open an influence plan.
"""

from __future__ import annotations

from territoria.watch._model import Document, Link

__all__ = ["Document", "Link"]
