"""Territoria: territorial intelligence for French territories."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("territoria")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

from territoria._api import KnowledgeBase, Territory, open
from territoria.kb.search import SearchHit

__all__ = ["KnowledgeBase", "SearchHit", "Territory", "__version__", "open"]
