"""Sections other capabilities add to a territory's page, without editing its route.

A route module (api/routes/peers.py, marketing.py, networks.py …) registers a provider at import
time::

    from territoria.api._sections import territory_section

    @territory_section("peers", order=10, template="_territory_peers.html")
    def _peers_section(cur, cache, territory, lang):
        return {...}  # the template's context under ``section``; None hides the section

The territory page calls every provider in ``order`` and includes each template with
``section`` set to its provider's value. A provider's exception is not swallowed: a broken
section is a broken page (the error handler shows it), not a silently missing block.
Header buttons (``territory_button``) are (label, href) pairs shown beside the exports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Provider = Callable[[Any, Any, Any, str], Any]
ButtonProvider = Callable[[Any], "tuple[str, str] | None"]


@dataclass(frozen=True)
class Section:
    name: str
    order: int
    template: str
    provider: Provider


_SECTIONS: dict[str, Section] = {}
_BUTTONS: dict[str, tuple[int, ButtonProvider]] = {}


def territory_section(name: str, *, order: int, template: str) -> Callable[[Provider], Provider]:
    """Register ``provider`` as the territory-page section ``name`` (rendered by ``template``)."""

    def decorate(provider: Provider) -> Provider:
        _SECTIONS[name] = Section(name, order, template, provider)
        return provider

    return decorate


def territory_button(name: str, *, order: int) -> Callable[[ButtonProvider], ButtonProvider]:
    """Register a header button: ``provider(territory)`` gives (French label, href) or None."""

    def decorate(provider: ButtonProvider) -> ButtonProvider:
        _BUTTONS[name] = (order, provider)
        return provider

    return decorate


def sections_for(cur: Any, cache: Any, territory: Any, lang: str) -> list[dict[str, Any]]:
    """Every registered section's template and value for ``territory`` (None values dropped)."""
    out = []
    for section in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name)):
        value = section.provider(cur, cache, territory, lang)
        if value is not None:
            out.append({"name": section.name, "template": section.template, "section": value})
    return out


def buttons_for(territory: Any) -> list[tuple[str, str]]:
    """Every registered header button for ``territory``, in order."""
    out = []
    for _order, provider in sorted(_BUTTONS.values(), key=lambda b: b[0]):
        button = provider(territory)
        if button is not None:
            out.append(button)
    return out
