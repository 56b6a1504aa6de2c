"""Reading RSS/Atom feeds (feedparser) and sitemaps (sitemap.xml and sitemap indexes).

The problems found are written in French: the fetch log shows them to users.

A feed's entries become what :class:`~territoria.watch._model.Document` carries in ``entry``
(title, link, id, summary, content, published, updated, author, tags, language): plain
strings and lists, JSON-able, no parser object. feedparser flags a malformed document with
``bozo``: a feed it could still read entries from is kept and the problem logged; one it could
read nothing from is ``malformed``.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from typing import Any

import feedparser
from lxml import etree

__all__ = ["ParsedFeed", "Sitemap", "parse_feed", "parse_sitemap"]


@dataclass(frozen=True)
class ParsedFeed:
    """A feed's entries, and what was wrong with it (None: nothing)."""

    entries: list[dict[str, Any]]
    problem: str | None = None
    title: str | None = None

    @property
    def malformed(self) -> bool:
        """Nothing could be read from it."""
        return self.problem is not None and not self.entries


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _entry(raw: Any, language: str | None) -> dict[str, Any] | None:
    # dict.get: feedparser's own get maps a missing 'updated' to 'published', with a warning
    link = _text(dict.get(raw, "link"))
    if link is None:  # an entry with no address cannot be read nor de-duplicated
        return None
    entry: dict[str, Any] = {"link": link}
    for key in ("title", "id", "summary", "published", "updated", "author"):
        value = _text(dict.get(raw, key))
        if value is not None:
            entry[key] = value
    content = [
        {"type": str(c.get("type") or "text/html"), "value": str(c.get("value") or "")}
        for c in raw.get("content") or []
        if c.get("value")
    ]
    if content:
        entry["content"] = content
    tags = [t for t in (_text(tag.get("term")) for tag in raw.get("tags") or []) if t]
    if tags:
        entry["tags"] = tags
    if language:
        entry["language"] = language
    return entry


def parse_feed(
    body: bytes, *, url: str, content_type: str | None = None, charset: str | None = None
) -> ParsedFeed:
    """Parse an RSS or Atom document; never raises.

    The HTTP charset is given to feedparser, which prefers it to the XML declaration (and
    detects the encoding when neither holds).
    """
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type + (f"; charset={charset}" if charset else "")
    try:
        parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    except Exception as exc:  # feedparser promises not to raise; a bug of it must not crash us
        return ParsedFeed(entries=[], problem=f"le flux n'a pu être lu ({exc})")
    language = _text(parsed.feed.get("language"))
    entries = [e for e in (_entry(raw, language) for raw in parsed.entries) if e is not None]
    problem = None
    if parsed.get("bozo"):
        reason = parsed.get("bozo_exception")
        kind = type(reason).__name__ if reason is not None else "error"
        problem = f"flux mal formé ({kind} : {reason})"
    if not entries and problem is None and not parsed.get("version"):
        problem = "ce n'est pas un flux RSS ou Atom : aucun élément de flux"
    return ParsedFeed(entries=entries, problem=problem, title=_text(parsed.feed.get("title")))


@dataclass(frozen=True)
class Sitemap:
    """A sitemap's addresses with their lastmod, or an index's child sitemaps."""

    urls: list[tuple[str, str | None]] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    problem: str | None = None


_SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def _ungzip(body: bytes, limit: int) -> bytes:
    if not body.startswith(b"\x1f\x8b"):
        return body
    # bounded: a small .xml.gz may expand to gigabytes
    out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, limit + 1)
    if len(out) > limit:
        raise ValueError(f"le plan de site décompressé dépasse {limit} octets")
    return out


def parse_sitemap(body: bytes, *, limit: int = 50_000_000) -> Sitemap:
    """Parse a sitemap (``urlset``) or a sitemap index (``sitemapindex``), gzipped or not;
    never raises (``problem`` says what was wrong)."""
    try:
        data = _ungzip(body, limit)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError, zlib.error, gzip.BadGzipFile) as exc:
        return Sitemap(problem=f"plan de site mal formé ({exc})")
    name = etree.QName(root).localname
    locs: list[tuple[str, str | None]] = []
    child_tag = "url" if name == "urlset" else "sitemap" if name == "sitemapindex" else None
    if child_tag is None:
        return Sitemap(problem=f"ce n'est pas un plan de site : son élément racine est <{name}>")
    for element in root:
        if not isinstance(element.tag, str) or etree.QName(element).localname != child_tag:
            continue
        loc = element.findtext(f"{_SM}loc") or element.findtext("loc")
        lastmod = element.findtext(f"{_SM}lastmod") or element.findtext("lastmod")
        if loc and loc.strip():
            locs.append((loc.strip(), lastmod.strip() if lastmod else None))
    if name == "sitemapindex":
        return Sitemap(children=[loc for loc, _ in locs])
    return Sitemap(urls=locs)
