"""OPML 2.0, the list of feeds feed readers exchange: reading and writing it.

An ``outline`` with ``xmlUrl`` is a feed (``title`` or ``text`` its name, ``htmlUrl`` its site);
its ``category`` attribute (comma-separated, slash-delimited paths) and the ``text`` of the
outlines enclosing it (the reader's folders) become tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from lxml import etree

from territoria.errors import InvalidWatchSource

__all__ = ["Outline", "parse_opml", "write_opml"]


@dataclass(frozen=True)
class Outline:
    """A feed of an OPML file."""

    url: str
    title: str | None = None
    html_url: str | None = None
    tags: tuple[str, ...] = ()


def _categories(text: str | None) -> list[str]:
    tags = []
    for part in (text or "").split(","):
        tag = part.strip().strip("/").strip()
        if tag:
            tags.append(tag)
    return tags


def parse_opml(data: bytes) -> list[Outline]:
    """Return the feeds of an OPML document, in document order.

    The parser resolves no entity and reads nothing from the network (a file from elsewhere
    must not make the server read its own files).

    Raises
    ------
    InvalidWatchSource
        Not XML, or not OPML.
    """
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        msg = f"not an OPML file: the XML is malformed ({exc})"
        raise InvalidWatchSource(msg) from None
    if etree.QName(root).localname.lower() != "opml":
        msg = f"not an OPML file: its root element is <{etree.QName(root).localname}>, not <opml>"
        raise InvalidWatchSource(msg)
    body = root.find("body")
    if body is None:
        msg = "not an OPML file: it has no <body>"
        raise InvalidWatchSource(msg)
    found: list[Outline] = []

    def walk(element: etree._Element, folders: tuple[str, ...]) -> None:
        for child in element:
            if not isinstance(child.tag, str) or child.tag != "outline":
                continue
            url = (child.get("xmlUrl") or child.get("xmlurl") or "").strip()
            label = (child.get("title") or child.get("text") or "").strip() or None
            if url:
                tags = [*folders, *_categories(child.get("category"))]
                found.append(
                    Outline(
                        url=url,
                        title=label,
                        html_url=(child.get("htmlUrl") or "").strip() or None,
                        tags=tuple(dict.fromkeys(tags)),
                    )
                )
            walk(child, (*folders, label) if label and not url else folders)

    walk(body, ())
    return found


def write_opml(outlines: Sequence[Outline], *, title: str = "Territoria — veille") -> str:
    """Return an OPML 2.0 document listing ``outlines`` (tags as ``category``)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_text(title)}</title></head>",
        "  <body>",
    ]
    for outline in outlines:
        attrs = {"type": "rss", "text": outline.title or outline.url, "xmlUrl": outline.url}
        if outline.title:
            attrs["title"] = outline.title
        if outline.html_url:
            attrs["htmlUrl"] = outline.html_url
        if outline.tags:
            attrs["category"] = ",".join(outline.tags)
        rendered = " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())
        lines.append(f"    <outline {rendered}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
