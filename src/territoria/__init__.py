"""Territoria: territorial intelligence for French territories."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from territoria._api import KnowledgeBase, Territory, open
    from territoria.kb.search import SearchHit

    __version__: str

__all__ = ["KnowledgeBase", "SearchHit", "Territory", "__version__", "open"]

# The public names are loaded when first used: the command line starts without NumPy,
# pydantic and DuckDB (``territoria --help`` needs none of them).
_LAZY = {
    "KnowledgeBase": "territoria._api",
    "Territory": "territoria._api",
    "open": "territoria._api",
    "SearchHit": "territoria.kb.search",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("territoria")
        except PackageNotFoundError:  # running from a source tree without installation
            value = "0.0.0"
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'territoria' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
