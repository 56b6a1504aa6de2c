"""Numbers and dates as French (or English) readers write them, for pages and reports alike.

Kept apart from the web application so that reports rendered from the CLI need not import it.
"""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date
from babel.numbers import format_decimal

__all__ = ["long_date", "number"]


def number(value: float | int | None, locale: str, digits: int = 0) -> str:
    """Format a number: ``66 501 649`` in French; ``–`` when there is none."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return str(format_decimal(value, format=pattern, locale=locale))


def long_date(value: date | datetime | str | None, locale: str) -> str:
    """Format a date in full: ``27 novembre 2026``; ``–`` when there is none, and a text that
    is not an ISO date as it is."""
    if value is None or value == "":
        return "–"
    day: date
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            return value
    elif isinstance(value, datetime):
        day = value.date()
    else:
        day = value
    return str(format_date(day, format="long", locale=locale))
