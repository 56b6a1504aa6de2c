"""Change detection on web pages: the watched text of a page and its diff.

The watched text is the page's visible text (scripts, styles and forms left out), or only the
elements a CSS selector picks, one line per block (paragraph, heading, list item, cell …) with
spaces normalised, so that a change of markup alone is no change. Its SHA-256 tells whether it
changed; a change is shown as a unified diff of lines.
"""

from __future__ import annotations

import difflib
import hashlib

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector

__all__ = ["page_title", "text_diff", "text_hash", "watched_text"]

_DROPPED = ("script", "style", "noscript", "template", "svg", "iframe", "head")
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "header",
        "footer",
        "main",
        "aside",
        "nav",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "table",
        "tr",
        "td",
        "th",
        "thead",
        "tbody",
        "tfoot",
        "caption",
        "blockquote",
        "pre",
        "address",
        "figure",
        "figcaption",
        "br",
        "hr",
        "form",
        "fieldset",
        "legend",
        "details",
        "summary",
    ]
)


class SelectorMatchesNothing(ValueError):
    """The CSS selector picks no element of the page."""


def _root(html: str) -> lxml.html.HtmlElement:
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):  # an empty document
        return lxml.html.document_fromstring("<html><body></body></html>")


def page_title(html: str) -> str | None:
    """The page's ``<title>`` (None when it has none)."""
    title = _root(html).findtext(".//title")
    return " ".join(title.split()) or None if title else None


def _lines(element: lxml.html.HtmlElement) -> list[str]:
    for dropped in element.iter(*_DROPPED):
        dropped.drop_tree()
    for block in element.iter(*_BLOCKS):
        block.text = "\n" + (block.text or "")
        block.tail = "\n" + (block.tail or "")
    text = element.text_content()
    return [line for line in (" ".join(raw.split()) for raw in text.split("\n")) if line]


def watched_text(html: str, selector: str | None = None) -> str:
    """The page's watched text: every block's text on its own line.

    Raises
    ------
    SelectorMatchesNothing
        ``selector`` picks nothing (the page's layout may have changed).
    """
    root = _root(html)
    if selector is None:
        body = root.find("body")
        return "\n".join(_lines(body if body is not None else root))
    picked = CSSSelector(selector)(root)
    if not picked:
        msg = f"le sélecteur CSS {selector!r} ne désigne rien sur la page"
        raise SelectorMatchesNothing(msg)
    chosen = set(picked)
    lines: list[str] = []
    for element in picked:
        # an element inside another one picked is already in its text
        if not any(parent in chosen for parent in element.iterancestors()):
            lines.extend(_lines(element))
    return "\n".join(lines)


def text_hash(text: str) -> str:
    """SHA-256 of the watched text (hex)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_diff(before: str, after: str, *, name: str = "page") -> str:
    """The unified diff of the lines of ``before`` and ``after`` (two lines of context)."""
    return "\n".join(
        difflib.unified_diff(
            before.splitlines(),
            after.splitlines(),
            fromfile=f"{name} (avant)",
            tofile=f"{name} (après)",
            lineterm="",
            n=2,
        )
    )
