"""Extraction: from a fetched :class:`~territoria.watch._model.Document` to the text kept.

HTML goes through trafilatura (main text, title, author, date) after the page's own metadata
is read once from the same lxml tree: the canonical address (``rel=canonical``, then
``og:url``, then the address fetched), the language (``<html lang>``, ``og:locale``, then the
text's common words) and the published date (``article:published_time``, JSON-LD
``datePublished``, ``<time datetime>``, then trafilatura's htmldate). PDF files go through
pypdf (text of every page; title, author and date from the document information), plain text
files are kept as they are. A feed entry's full content is preferred to the page fetched, and
the page to the entry's summary.

Every address is canonicalised by :func:`canonical_url`: lower-case scheme and host, no
default port, no fragment, no tracking parameters (``utm_*``, ``fbclid``, ``gclid``,
``xtor`` …), the remaining query sorted.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from territoria.errors import ExtractionError
from territoria.watch._dates import parse_date
from territoria.watch._model import Document

__all__ = ["TRACKING_PARAMETERS", "Extracted", "canonical_url", "extract", "guess_language"]

#: Query parameters that only say where a reader came from (removed from canonical addresses).
TRACKING_PARAMETERS: Final = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "igshid", "twclid",
        "xtor", "xts", "xtref", "mc_cid", "mc_eid", "_ga", "_gl", "ocid", "cmpid",
        "at_medium", "at_campaign", "at_platform", "at_send_date", "at_creation",
        "at_recipient_id", "at_recipient_list", "at_ptr_name", "at_link_id", "at_format",
        "ns_campaign", "ns_mchannel", "ns_source", "ns_linkname", "ns_fee",
        "wt_mc", "wt.mc_id", "ito", "_hsenc", "_hsmi", "mkt_tok", "vero_id", "oly_enc_id",
    }
)  # fmt: skip
_TRACKING_PREFIXES: Final = ("utm_", "pk_", "mtm_", "hsa_")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def _tracking(name: str) -> bool:
    key = name.lower()
    return key in TRACKING_PARAMETERS or key.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str, *, base: str | None = None) -> str:
    """Return the canonical form of ``url`` (resolved against ``base`` when relative).

    Scheme and host in lower case, the default port dropped, an empty path as ``/``, no
    fragment, tracking parameters removed, the other parameters sorted (order kept among
    repeats of one name). The result is a fixed point: ``canonical_url(canonical_url(u)) ==
    canonical_url(u)``. A folder's file path (no scheme) is returned with its fragment removed.
    """
    text = url.strip()
    if base:
        text = urljoin(base, text)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if parts.username:
        user = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{user}@{netloc}"
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)]
    pairs.sort(key=lambda kv: kv[0])
    query = urlencode(pairs)
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


@dataclass(frozen=True)
class Extracted:
    """What extraction keeps of one document (the columns of ``watch_item`` it fills)."""

    source_id: int
    kind: Literal["article", "document", "change"]
    url: str
    canonical_url: str
    title: str
    text: str
    summary: str
    author: str | None
    language: str | None
    published: datetime | None  # UTC, aware
    fetched_at: datetime
    diff: str | None = None

    @property
    def full_text(self) -> str:
        """``title + "\\n\\n" + text``: what linking reads and link offsets point into."""
        return f"{self.title}\n\n{self.text}"


# --- language ------------------------------------------------------------------------------

_COMMON_WORDS: Final = {
    "fr": "le la les des une est dans pour sur avec par qui que pas sont aux du au ses cette "
    "été plus ont nous vous leur",
    "en": "the and of to in is that for with on are was this by from have has be it which their",
    "de": "der die das und ist nicht mit sich auf für ein eine dem den von zu im auch wird",
    "es": "el los las del que por con una para es su se como más al pero sus este",
    "it": "il di che della per con una sono gli nel alla anche come più dei non questo",
}
_STOPWORDS: Final = {lang: frozenset(text.split()) for lang, text in _COMMON_WORDS.items()}
_WORD = re.compile(r"[^\W\d_]+")


def guess_language(text: str) -> str | None:
    """Return the ISO 639-1 code whose common words the text uses most (fr, en, de, es, it),
    or None under 5 such words (too short to tell)."""
    counts = dict.fromkeys(_STOPWORDS, 0)
    for word in _WORD.findall(text[:5000].lower()):
        for lang, words in _STOPWORDS.items():
            if word in words:
                counts[lang] += 1
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] >= 5 else None


def _lang_code(value: str | None) -> str | None:
    if not value:
        return None
    code = re.split(r"[-_]", value.strip().lower())[0]
    return code if re.fullmatch(r"[a-z]{2}", code) else None


# --- decoding ------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _charset(content_type: str | None) -> str | None:
    if content_type and "charset=" in content_type.lower():
        return content_type.lower().split("charset=", 1)[1].split(";")[0].strip(" \"'") or None
    return None


def _decode(body: bytes, declared: Iterable[str | None], url: str) -> str:
    """Decode with the first declared encoding that works, else UTF-8; refuse the rest."""
    for encoding in [*declared, "utf-8"]:
        if not encoding:
            continue
        try:
            text = body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
        return text[1:] if text.startswith("\ufeff") else text
    msg = (
        f"{url}: undecodable bytes (neither the declared encoding nor UTF-8): "
        "check the source's charset"
    )
    raise ExtractionError(msg)


def _format(document: Document) -> Literal["html", "pdf", "text"]:
    ctype = (document.content_type or "").lower()
    head = (document.body or b"")[:1024].lstrip().lower()
    path = urlsplit(document.url).path.lower()
    if "pdf" in ctype or head.startswith(b"%pdf") or path.endswith(".pdf"):
        return "pdf"
    if "html" in ctype or "xml" in ctype or head.startswith((b"<!doctype", b"<html", b"<")):
        return "html"
    return "text"


# --- HTML ----------------------------------------------------------------------------------

_BLOCK_TAGS: Final = (
    "p div br li h1 h2 h3 h4 h5 h6 blockquote tr section article header footer ul ol"
)
_BLOCKS: Final = frozenset(_BLOCK_TAGS.split())
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (a feed entry's content or summary), paragraphs kept."""
    if "<" not in fragment:
        return _tidy(fragment)
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # lxml raises ParserError, XMLSyntaxError …: an empty or broken fragment
        return ""
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag in _BLOCKS:
            el.tail = "\n\n" + (el.tail or "")
    return _tidy(root.text_content())


@dataclass
class _PageMeta:
    canonical: str | None = None
    language: str | None = None
    published: datetime | None = None
    author: str | None = None
    title: str | None = None


def _json_ld(root: Any) -> dict[str, Any]:
    for script in root.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            node = stack.pop(0)
            if isinstance(node, dict):
                if "datePublished" in node or "headline" in node:
                    return node
                stack.extend(v for v in node.values() if isinstance(v, list | dict))
            elif isinstance(node, list):
                stack.extend(node)
    return {}


def _first(root: Any, *xpaths: str) -> str | None:
    for xpath in xpaths:
        for value in root.xpath(xpath):
            text = str(value).strip()
            if text:
                return text
    return None


def _page_meta(root: Any, url: str) -> _PageMeta:
    meta = _PageMeta()
    href = _first(root, '//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content')
    if href:
        meta.canonical = canonical_url(href, base=url)
    meta.language = _lang_code(
        _first(
            root,
            "/html/@lang",
            "/html/@xml:lang",
            '//meta[@http-equiv="content-language"]/@content',
            '//meta[@property="og:locale"]/@content',
        )
    )
    ld = _json_ld(root)
    stated = _first(
        root,
        '//meta[@property="article:published_time"]/@content',
        '//meta[@itemprop="datePublished"]/@content',
        '//meta[@name="date"]/@content',
        '//meta[@name="dc.date"]/@content',
        '//meta[@name="DC.date.issued"]/@content',
        "//time[@datetime][1]/@datetime",
    ) or (str(ld["datePublished"]) if ld.get("datePublished") else None)
    meta.published = parse_date(stated)
    author = ld.get("author")
    if isinstance(author, list) and author:
        author = author[0]
    if isinstance(author, dict):
        author = author.get("name")
    meta.author = _first(
        root, '//meta[@name="author"]/@content', '//meta[@property="article:author"]/@content'
    ) or (str(author).strip() if author else None)
    if ld.get("headline"):
        meta.title = str(ld["headline"]).strip()
    return meta


def _html(document: Document, html: str) -> tuple[_PageMeta, str, str | None, str | None]:
    """The page's metadata, its main text, trafilatura's title and author."""
    import lxml.html
    import trafilatura

    try:
        root = lxml.html.document_fromstring(html)
    except Exception:  # lxml.etree.ParserError on a document with no element
        return _PageMeta(), "", None, None
    meta = _page_meta(root, document.url)
    if meta.published is None:  # a date the page writes near its top: "publié le 2 déc. 2026"
        meta.published = parse_date(_SPACES.sub(" ", root.text_content()[:3000]))
    found = trafilatura.bare_extraction(
        root,
        url=document.url,
        fast=True,
        include_comments=False,
        include_tables=True,
        with_metadata=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if found is None or isinstance(found, dict):
        return meta, "", None, None
    if meta.published is None and found.date:
        meta.published = parse_date(found.date)
    return meta, _tidy(found.text or ""), found.title, found.author


# --- PDF -----------------------------------------------------------------------------------

_PDF_DATE = re.compile(
    r"D:(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?([Zz+-])?(\d{2})?'?(\d{2})?"
)


def _pdf_date(value: Any) -> datetime | None:
    match = _PDF_DATE.match(str(value or ""))
    if not match:
        return None
    y, mo, d, h, mi, s, sign, tzh, tzm = match.groups()
    stamp = f"{y}-{mo}-{d}T{h or '00'}:{mi or '00'}:{s or '00'}"
    if sign in ("+", "-"):
        stamp += f"{sign}{tzh or '00'}:{tzm or '00'}"
    elif sign in ("Z", "z"):
        stamp += "+00:00"
    return parse_date(stamp)


def _pdf(body: bytes, url: str) -> tuple[str, str | None, str | None, datetime | None]:
    """Text, title, author and creation date of a PDF file."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(body))
        pages = [page.extract_text() or "" for page in reader.pages]
        info: dict[str, Any] = dict(reader.metadata or {})
    except (PyPdfError, ValueError, KeyError, OSError) as exc:
        msg = f"{url}: unreadable PDF file ({exc})"
        raise ExtractionError(msg) from exc
    title = str(info.get("/Title") or "").strip() or None
    author = str(info.get("/Author") or "").strip() or None
    return _tidy("\n\n".join(pages)), title, author, _pdf_date(info.get("/CreationDate"))


# --- feed entries --------------------------------------------------------------------------


def _entry_content(entry: dict[str, Any]) -> str:
    """The entry's full content (feedparser gives a list of {type, value}), as text."""
    content = entry.get("content")
    if isinstance(content, list):
        values = [c.get("value", "") for c in content if isinstance(c, dict)]
        content = max(values, key=len, default="")
    return html_to_text(str(content)) if content else ""


def _entry_date(entry: dict[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "published", "updated", "date"):
        value = entry.get(key)
        if value:
            found = parse_date(value)
            if found is not None:
                return found
    return None


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= limit else line[: limit - 1].rsplit(" ", 1)[0] + "…"


def _without_title(text: str, *titles: str | None) -> str:
    """The text without its first line when that line repeats a title (trafilatura keeps
    the page's ``<h1>``; a text file starts with its title)."""
    first, _, rest = text.partition("\n")
    heads = {_SPACES.sub(" ", t).strip().casefold() for t in titles if t}
    if first.strip().casefold() in heads and rest.strip():
        return rest.strip()
    return text


def extract(document: Document) -> Extracted:
    """Return the text, title, date, author, language and canonical address of a document.

    Raises
    ------
    ExtractionError
        The document has no text (an HTML page with no main content and no feed summary),
        its bytes cannot be decoded, or its PDF cannot be read. The message starts with the
        document's address.
    """
    entry = document.entry or {}
    url = document.url
    summary = html_to_text(str(entry.get("summary") or entry.get("description") or ""))
    text = document.text or _entry_content(entry)
    meta = _PageMeta()
    title: str | None = None
    author: str | None = None
    published = _entry_date(entry)
    language = _lang_code(entry.get("language"))
    if document.body is not None:
        kind = _format(document)
        if kind == "pdf":
            body_text, title, author, meta.published = _pdf(document.body, url)
        else:
            declared = [_charset(document.content_type), document.encoding]
            if kind == "html":
                sniffed = _META_CHARSET.search(document.body[:4096])
                declared.append(sniffed.group(1).decode("ascii") if sniffed else None)
            decoded = _decode(document.body, declared, url)
            if kind == "html":
                meta, body_text, title, author = _html(document, decoded)
            else:
                body_text = _tidy(decoded)
        text = text or body_text
    text = text or summary
    if not text.strip():
        msg = f"{url}: no text to keep (a page with no main content and no feed summary)"
        raise ExtractionError(msg)
    page_titles = (meta.title, title)
    title = str(entry.get("title") or "").strip() or meta.title or title or _first_line(text)
    title = _SPACES.sub(" ", html_to_text(title)).strip()
    text = _without_title(text, title, *page_titles)
    author = (
        author or meta.author or (str(entry["author"]).strip() if entry.get("author") else None)
    )
    return Extracted(
        source_id=document.source_id,
        kind=document.kind,
        url=url,
        canonical_url=meta.canonical or canonical_url(url),
        title=title,
        text=text,
        summary=summary or _first_line(text, 400),
        author=author or None,
        language=language or meta.language or guess_language(text),
        published=published or meta.published,
        fetched_at=document.fetched_at,
        diff=document.diff,
    )
