"""Library capabilities the web application calls, imported when first needed.

The web application starts even when a capability is absent from this installation (a module
not written yet, an optional extra not installed); the routes that need it answer 503 with a
clear message instead.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from territoria.errors import CapabilityMissing

__all__ = ["available", "function"]

_WHAT = {
    "territoria.analysis.profile": "territory profiles",
    "territoria.analysis.specialisation": "economic profiles",
    "territoria.analysis.poles": "pole detection",
    "territoria.influence.poles": "poles in influence plans",
    "territoria.export": "exports",
    "territoria.influence.planner": "the influence planner",
    "territoria.influence.actions": "the actions log",
    "territoria.influence.decision": "the decision map",
}


def function(module: str, name: str) -> Callable[..., Any]:
    """Return ``module.name``.

    Raises
    ------
    CapabilityMissing
        When the module or the function is not installed.
    """
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            what = _WHAT.get(module, module)
            msg = f"{what} ({module}) is not available in this installation of Territoria"
            raise CapabilityMissing(msg) from None
        raise
    found = getattr(mod, name, None)
    if not callable(found):
        what = _WHAT.get(module, module)
        msg = f"{what} ({module}.{name}) is not available in this installation of Territoria"
        raise CapabilityMissing(msg)
    return found  # type: ignore[no-any-return]


def available(module: str, name: str) -> bool:
    """Return whether ``module.name`` can be called."""
    try:
        function(module, name)
    except CapabilityMissing:
        return False
    return True


def call(func: Callable[..., Any], *args: Any, **options: Any) -> Any:
    """Call ``func`` with the keyword options it accepts (unknown ones are dropped).

    Lets the application pass optional settings to library functions whose signature may
    not (yet) have them.
    """
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return func(*args, **options)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return func(*args, **options)
    return func(*args, **{k: v for k, v in options.items() if k in params})
