"""The records the watch's stages hand each other (fetching → pipeline → linking → storage)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["Document", "Link", "LinkType", "SourceKind"]

SourceKind = Literal["feed", "page", "sitemap", "folder"]
LinkType = Literal["territory", "person", "organisation", "pole"]


@dataclass(frozen=True)
class Document:
    """One thing fetched from a source, before extraction.

    A feed gives one per entry (``entry`` holds what the feed says of it: title, summary,
    published, author, link, and content when the feed carries the full text); a page gives
    one per change (``kind='change'`` with ``diff``); a folder or a sitemap one per file or
    address. ``body`` is the raw bytes fetched (HTML, PDF, text), None when only the feed entry
    is known.
    """

    source_id: int
    kind: Literal["article", "document", "change"]
    url: str
    fetched_at: datetime
    body: bytes | None = None
    content_type: str | None = None
    encoding: str | None = None
    entry: dict[str, Any] = field(default_factory=dict)
    diff: str | None = None
    text: str | None = None  # already extracted text (a page change: the watched part)


@dataclass(frozen=True)
class Link:
    """A mention of the knowledge base in an item, resolved, with a confidence score."""

    type: LinkType
    code: str  # territory code, person id (p-…), organisation id, pole id
    name: str  # as the knowledge base writes it
    score: float  # in [0, 1]
    mention: str  # as the item writes it
    level: str | None = None  # a territory's level
    start: int | None = None  # offset of the first mention in title + "\n\n" + text
    end: int | None = None
    mentions: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The item's JSON link: ``type``, ``level`` (territories), ``code`` or ``id``, ``name``,
        ``score``."""
        out: dict[str, Any] = {"type": self.type}
        if self.type == "territory":
            out["level"] = self.level
            out["code"] = self.code
        else:
            out["id"] = self.code
        out.update(name=self.name, score=round(self.score, 3), mention=self.mention)
        return out
