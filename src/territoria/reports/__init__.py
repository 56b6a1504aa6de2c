"""HTML and PDF reports: dossiers today, territory portraits and situation reports tomorrow.

A report is an HTML page rendered from a Jinja template of ``territoria/reports/templates``
(autoescaped, French dates and numbers through Babel), then printed to PDF by WeasyPrint,
which needs pango (the ``pdf`` extra: ``pip install 'territoria[pdf]'``).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import jinja2

from territoria import _formats
from territoria.errors import ReportUnavailable

__all__ = ["ReportUnavailable", "render_html", "render_pdf"]

_LOCALE = "fr_FR"


def _date(value: dt.date | dt.datetime | str | None) -> str:
    return _formats.long_date(value, _LOCALE)


def _number(value: float | None, digits: int = 0) -> str:
    return _formats.number(value, _LOCALE, digits)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("territoria.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date_fr"] = _date
    env.filters["number_fr"] = _number
    return env


def render_html(template: str, context: dict[str, Any]) -> str:
    """Render the report template ``template`` (a file of ``reports/templates``) to HTML."""
    return _environment().get_template(template).render(**context)


def render_pdf(html: str, base_url: str | None = None) -> bytes:
    """Print an HTML report to PDF (A4 unless its CSS says otherwise).

    Parameters
    ----------
    html
        The report's HTML, styles included (``<style>`` or links resolved from ``base_url``).
    base_url
        Where relative links and images of the HTML are resolved from.

    Raises
    ------
    ReportUnavailable
        WeasyPrint or pango is missing.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: pango's library is missing
        msg = (
            f"PDF reports need WeasyPrint and pango ({exc}): pip install 'territoria[pdf]' and "
            "apt-get install libpango-1.0-0 libpangoft2-1.0-0, or export as CSV"
        )
        raise ReportUnavailable(msg) from None
    pdf: bytes = weasyprint.HTML(string=html, base_url=base_url).write_pdf()
    return pdf
