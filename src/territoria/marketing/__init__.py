"""Benchmarking and territorial marketing: good practices, learning from peers, the assets
registry and the strengths a territory's data shows."""

from __future__ import annotations

from territoria.marketing.practices import (
    Practice,
    PracticeIn,
    PracticeSearch,
    add_practice,
    delete_practice,
    get_practice,
    import_practices,
    search_practices,
    update_practice,
)

__all__ = [
    "Practice",
    "PracticeIn",
    "PracticeSearch",
    "add_practice",
    "delete_practice",
    "get_practice",
    "import_practices",
    "search_practices",
    "update_practice",
]
